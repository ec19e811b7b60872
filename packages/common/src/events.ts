/**
 * The helper event protocol: every helper writes one JSON object per line on stdout, and only
 * that; human-oriented logging goes to stderr. The supervisor (or any other program driving the
 * helpers) reads these lines to print messages, relay warnings and learn when servers are ready.
 */

export type HelperEvent =
  /** A stage message: virt-v2v prints it as "[  12.3] text". */
  | { event: "message"; text: string }
  /** An informational line: virt-v2v prints it as "virt-v2v: text". */
  | { event: "info"; text: string }
  | { event: "warning"; text: string }
  /** The fatal error, also printed on stderr; the helper exits non-zero after it. `bug` is true
   *  when it is not a problem the user can fix (worth reporting with -v -x). */
  | { event: "error"; text: string; bug?: boolean }
  /** Servers are listening on these sockets (names in the work dir) and metadata is written. */
  | { event: "ready"; sockets: string[] };

const EVENT_NAMES = new Set(["message", "info", "warning", "error", "ready"]);

/** Parses one stdout line of a helper; returns null for anything that is not a known event. */
export function parseHelperEvent(line: string): HelperEvent | null {
  const trimmed = line.trim();
  if (!trimmed.startsWith("{")) return null;
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const record = value as Record<string, unknown>;
  if (typeof record.event !== "string" || !EVENT_NAMES.has(record.event)) return null;
  if (record.event === "ready") {
    const sockets = record.sockets;
    if (!Array.isArray(sockets) || !sockets.every((s) => typeof s === "string")) return null;
    return { event: "ready", sockets: sockets as string[] };
  }
  if (typeof record.text !== "string") return null;
  if (record.event === "error")
    return { event: "error", text: record.text, bug: record.bug === true };
  return { event: record.event as "message" | "info" | "warning", text: record.text };
}

export function formatHelperEvent(event: HelperEvent): string {
  return JSON.stringify(event);
}
