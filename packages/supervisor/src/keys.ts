/**
 * --key and --keys-from-stdin (virt-v2v 2.2's, from libguestfs-common): the keys of encrypted
 * guest devices. They are gathered here, before anything starts (a missing key file fails
 * at once), and handed to helper-v2v-convert on its stdin, never on a command line or in a log.
 */
import { readFile } from "node:fs/promises";
import { UserError } from "@split-v2v/common";

/** One --key, as virt-v2v takes it: ID:key:KEY_STRING, ID:file:FILENAME or ID:clevis. */
export type KeySelector =
  | { id: string; method: "key"; key: string }
  | { id: string; method: "file"; file: string }
  | { id: string; method: "clevis" };

export function parseKeySelector(text: string): KeySelector {
  const first = text.indexOf(":");
  const second = first < 0 ? -1 : text.indexOf(":", first + 1);
  const id = first < 0 ? "" : text.slice(0, first);
  const method =
    first < 0 ? "" : second < 0 ? text.slice(first + 1) : text.slice(first + 1, second);
  const rest = second < 0 ? null : text.slice(second + 1);
  if (id === "")
    throw new UserError(
      `invalid selector string for --key: ${text.replace(/:key:.*/, ":key:…")}: it must start with a device name or a LUKS UUID (or "all")`,
    );
  if (method === "key" && rest !== null) return { id, method, key: rest };
  if (method === "file" && rest !== null && rest !== "") return { id, method, file: rest };
  if (method === "clevis" && rest === null) return { id, method };
  // The passphrase of a malformed selector is not repeated back.
  throw new UserError(
    `invalid selector string for --key: ${id}:${method}…: expected ${id}:key:PASSPHRASE, ${id}:file:FILENAME or ${id}:clevis`,
  );
}

/** The document helper-v2v-convert reads with --keys-from-stdin. */
export interface ConvertKeys {
  keys: Array<{ id: string; key: string }>;
  passphrases: string[];
}

/**
 * Reads every key now: file keys (their first line, as virt-v2v reads them) and, with
 * --keys-from-stdin, every line of stdin, one passphrase each.
 */
export async function gatherKeys(
  selectors: readonly KeySelector[],
  fromStdin: boolean,
): Promise<ConvertKeys | null> {
  if (selectors.length === 0 && !fromStdin) return null;
  const keys: ConvertKeys["keys"] = [];
  for (const selector of selectors) {
    if (selector.method === "clevis") {
      throw new UserError(
        `--key ${selector.id}:clevis: Clevis (network-bound) unlocking needs a libguestfs with clevis_luks_unlock, which Debian 12's libguestfs 1.48 lacks; give the passphrase with --key ${selector.id}:key:… or :file:… instead`,
      );
    }
    if (selector.method === "key") {
      keys.push({ id: selector.id, key: selector.key });
      continue;
    }
    let text: string;
    try {
      text = await readFile(selector.file, "utf8");
    } catch (error) {
      const reason = error instanceof Error && "code" in error ? String(error.code) : String(error);
      throw new UserError(
        `--key ${selector.id}:file:${selector.file}: cannot read the key file (${reason}); check the file name`,
      );
    }
    keys.push({ id: selector.id, key: text.split("\n")[0] ?? "" });
  }
  const passphrases: string[] = [];
  if (fromStdin) {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    for (const line of text.split("\n")) if (line !== "") passphrases.push(line.replace(/\r$/, ""));
  }
  return { keys, passphrases };
}
