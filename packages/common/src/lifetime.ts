/**
 * Process lifetime: nothing split-v2v starts may outlive the run.
 *
 * - A process-wide cleanup stack (last registered, first run) that runs on normal exit, on error
 *   and on SIGINT/SIGTERM/SIGHUP.
 * - `exitWithParent()`: the kernel sends us SIGTERM when our parent dies (prctl PR_SET_PDEATHSIG),
 *   so a helper whose supervisor was SIGKILLed still stops its servers. nbdkit does the same with
 *   --exit-with-parent, and qemu-nbd gets it through setpriv(1) (see servers.ts).
 */
import { readFileSync, readdirSync } from "node:fs";
import koffi from "koffi";

export type CleanupHandler = () => Promise<void> | void;

interface RegisteredCleanup {
  label: string;
  handler: CleanupHandler;
}

const cleanupStack: RegisteredCleanup[] = [];
let cleanupRunning: Promise<void> | null = null;

/** Registers `handler`; returns a function that unregisters it (when the resource is already gone). */
export function onCleanup(label: string, handler: CleanupHandler): () => void {
  const entry: RegisteredCleanup = { label, handler };
  cleanupStack.push(entry);
  return () => {
    const index = cleanupStack.indexOf(entry);
    if (index >= 0) cleanupStack.splice(index, 1);
  };
}

/**
 * Runs every registered handler once, newest first. A failing handler is reported through
 * `report` and does not stop the others: a half-done cleanup is worse than a noisy one.
 */
export function runCleanup(report: (line: string) => void = () => {}): Promise<void> {
  if (cleanupRunning) return cleanupRunning;
  cleanupRunning = (async () => {
    while (cleanupStack.length > 0) {
      const entry = cleanupStack.pop()!;
      try {
        await entry.handler();
      } catch (err) {
        report(
          `cleanup of ${entry.label} failed: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
    }
  })();
  return cleanupRunning;
}

export type StopSignal = "SIGINT" | "SIGTERM" | "SIGHUP";
const STOP_SIGNALS: readonly StopSignal[] = ["SIGINT", "SIGTERM", "SIGHUP"];
const SIGNAL_NUMBERS: Record<StopSignal, number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

/** The conventional exit status of a process stopped by `signal` (128 + its number). */
export function exitStatusForSignal(signal: StopSignal): number {
  return 128 + SIGNAL_NUMBERS[signal];
}

/**
 * Calls `onStop` on the first SIGINT/SIGTERM/SIGHUP. Further signals are ignored while the
 * cleanup runs (a second Ctrl-C must not abandon half-stopped servers), except that a third one
 * exits at once, for a user who really means it.
 */
export function onStopSignal(onStop: (signal: StopSignal) => void): void {
  let received = 0;
  for (const signal of STOP_SIGNALS) {
    process.on(signal, () => {
      received++;
      if (received === 1) onStop(signal);
      else if (received >= 3) process.exit(exitStatusForSignal(signal));
    });
  }
}

const PR_SET_PDEATHSIG = 1;
const SIGTERM_NUMBER = 15;
type Prctl = (option: number, a2: number, a3: number, a4: number, a5: number) => number;
let prctl: Prctl | null = null;

/**
 * Asks the kernel to send SIGTERM to this process when its parent dies. Returns false when the
 * parent is already gone (we were re-parented before the request took effect): the caller should
 * then stop at once.
 */
export function exitWithParent(): boolean {
  const parentAtStart = process.ppid;
  if (prctl === null) {
    const libc = koffi.load("libc.so.6");
    prctl = libc.func(
      "int prctl(int option, unsigned long arg2, unsigned long arg3, unsigned long arg4, unsigned long arg5)",
    ) as unknown as Prctl;
  }
  if (prctl(PR_SET_PDEATHSIG, SIGTERM_NUMBER, 0, 0, 0) !== 0) {
    throw new Error("prctl(PR_SET_PDEATHSIG) failed");
  }
  // process.ppid is read afresh on each access; 1 (or a subreaper) means the parent already died.
  return process.ppid === parentAtStart && process.ppid !== 1;
}

/**
 * SIGKILLs every direct child of this process (found in /proc). For a helper being stopped while
 * a library call runs on another thread (a libguestfs launch, say): the library's own clean-up
 * cannot run concurrently with that call, but its child processes (the appliance) can be ended,
 * which also makes the call return.
 */
export function killChildProcesses(): number[] {
  const killed: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // exited meanwhile
    }
    // Field 4 (ppid) follows the command name in parentheses, which may itself contain spaces.
    const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (parent !== process.pid) continue;
    try {
      process.kill(Number(entry), "SIGKILL");
      killed.push(Number(entry));
    } catch {
      // already gone
    }
  }
  return killed;
}
