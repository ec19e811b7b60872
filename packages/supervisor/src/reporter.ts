/**
 * What the user sees, as virt-v2v 2.2 prints it:
 *   stage messages on stdout       "[  12.3] Copying disk 1/2"
 *   info and warnings on stdout    "virt-v2v: warning: …" (virt-v2v 2.2 prints them there too)
 *   the error on stderr            "virt-v2v: error: …"
 * and, with --machine-readable, the same as JSON lines
 *   { "message": …, "timestamp": "RFC 3339 with ns", "type": "message|info|warning|error" }
 * on the chosen stream (stdout by default), plus "progress" lines during the copy.
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { UserError } from "@split-v2v/common";

export type MachineReadableTarget = { kind: "fd"; fd: number; close: boolean } | null;

/** Parses --machine-readable's optional value: stream:stdout|stream:stderr|file:PATH|fd:N. */
export function openMachineReadable(value: string | undefined): MachineReadableTarget {
  if (value === undefined) return null;
  if (value === "" || value === "stream:stdout") return { kind: "fd", fd: 1, close: false };
  if (value === "stream:stderr") return { kind: "fd", fd: 2, close: false };
  if (value.startsWith("file:"))
    return { kind: "fd", fd: openSync(value.slice(5), "w"), close: true };
  if (/^fd:\d+$/.test(value)) return { kind: "fd", fd: Number(value.slice(3)), close: false };
  throw new UserError(`invalid output for --machine-readable: ${value}`);
}

/** RFC 3339 with nanoseconds and a numeric zone, as virt-v2v stamps its JSON messages. */
function timestamp(): string {
  const now = new Date();
  const nanos = String(
    now.getUTCMilliseconds() * 1_000_000 + Number(process.hrtime.bigint() % 1_000_000n),
  ).padStart(9, "0");
  return now.toISOString().replace(/\.\d{3}Z$/, `.${nanos}+00:00`);
}

export class Reporter {
  private readonly started = process.hrtime.bigint();
  private progressLines = 0;

  constructor(
    private readonly options: {
      quiet: boolean;
      machineReadable: MachineReadableTarget;
      program: string;
    },
  ) {}

  elapsedSeconds(): number {
    return Number(process.hrtime.bigint() - this.started) / 1e9;
  }

  private machine(type: string, message: string, extra: Record<string, unknown> = {}): void {
    const target = this.options.machineReadable;
    if (target === null) return;
    const fields = [
      `"message": ${JSON.stringify(message)}`,
      `"timestamp": "${timestamp()}"`,
      `"type": "${type}"`,
    ];
    for (const [key, value] of Object.entries(extra))
      fields.push(`${JSON.stringify(key)}: ${JSON.stringify(value)}`);
    try {
      writeSync(target.fd, `{ ${fields.join(", ")} }\n`);
    } catch {
      // The reader of the machine-readable stream went away; the human output goes on.
    }
  }

  /** Whoever prints a full line must first take any progress bars off the screen. */
  private beforeLine(): void {
    if (this.progressLines > 0) this.clearProgress();
  }

  message(text: string): void {
    this.machine("message", text);
    if (this.options.quiet) return;
    this.beforeLine();
    process.stdout.write(`[${this.elapsedSeconds().toFixed(1).padStart(6)}] ${text}\n`);
  }

  info(text: string): void {
    this.machine("info", text);
    if (this.options.quiet) return;
    this.beforeLine();
    process.stdout.write(`${this.options.program}: ${text}\n`);
  }

  warning(text: string): void {
    this.machine("warning", text);
    this.beforeLine();
    process.stdout.write(`${this.options.program}: warning: ${text}\n`);
  }

  error(text: string, bug: boolean): void {
    this.machine("error", text);
    this.beforeLine();
    process.stderr.write(`${this.options.program}: error: ${text}\n`);
    if (bug) {
      process.stderr.write(
        `\nIf reporting bugs, run ${this.options.program} with debugging enabled and include the complete output:\n\n  ${this.options.program} -v -x [...]\n`,
      );
    }
  }

  /** Machine-readable copy progress (one line per change of percentage). */
  progress(disk: number, disks: number, percent: number): void {
    this.machine("progress", `Copying disk ${disk}/${disks}`, { disk, disks, percent });
  }

  /** Draws one bar per disk in place on a terminal. */
  drawProgress(bars: ReadonlyArray<{ label: string; percent: number }>): void {
    if (this.options.quiet || !process.stdout.isTTY) return;
    this.clearProgress();
    const width = Math.max(10, Math.min(50, (process.stdout.columns ?? 80) - 30));
    for (const bar of bars) {
      const filled = Math.round((bar.percent / 100) * width);
      process.stdout.write(
        `${bar.label} ${"█".repeat(filled)}${"░".repeat(width - filled)} ${String(bar.percent).padStart(3)}%\n`,
      );
    }
    this.progressLines = bars.length;
  }

  /** Leaves the bars on screen as they are (the copy's final state), as virt-v2v's bar stays. */
  keepProgress(): void {
    this.progressLines = 0;
  }

  clearProgress(): void {
    if (this.progressLines === 0 || !process.stdout.isTTY) return;
    process.stdout.write(`\x1b[${this.progressLines}A\x1b[J`);
    this.progressLines = 0;
  }

  close(): void {
    const target = this.options.machineReadable;
    if (target?.close) closeSync(target.fd);
  }
}
