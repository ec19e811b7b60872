/**
 * Ctrl-C or SIGTERM at any stage: every helper, server and copy stops, the work dir goes, nothing
 * is kept on the target, the logs are kept and their path printed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import readline from "node:readline";
import { linuxGuest } from "../fixtures/guests.js";
import {
  leftovers,
  makeSandbox,
  processesMentioning,
  sha256,
  startVirtV2v,
  type Sandbox,
} from "../support/run.js";

/** Resolves once a process of the run whose command line has `program` is running. */
async function waitForProcess(sandbox: Sandbox, program: string): Promise<boolean> {
  for (let attempt = 0; attempt < 600; attempt++) {
    const running = await processesMentioning(sandbox.tmp);
    if (
      running.some((line) =>
        line
          .split(" ")
          .slice(1)
          .some((word) => word.endsWith(program)),
      )
    ) {
      return true;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

/**
 * Runs a conversion and sends `signal` once `message` is printed, and, with `whileRunning`,
 * once that program of the run (nbdcopy) is seen running: the signal then provably lands while
 * it works.
 */
async function interruptAt(
  message: RegExp,
  signal: "SIGTERM" | "SIGINT",
  label: string,
  whileRunning?: string,
): Promise<void> {
  const sandbox = await makeSandbox(label);
  try {
    const guest = await linuxGuest("deleted-1g");
    const before = await sha256(guest.path);
    const child = startVirtV2v(
      ["-i", "disk", guest.path, "-o", "local", "-os", sandbox.out],
      sandbox,
    );
    let sent = false;
    let programWasRunning: boolean | null = null;
    readline.createInterface({ input: child.stdout! }).on("line", (line) => {
      if (!sent && message.test(line)) {
        sent = true;
        void (async () => {
          if (whileRunning !== undefined) {
            programWasRunning = await waitForProcess(sandbox, whileRunning);
          }
          child.kill(signal);
        })();
      }
    });
    const result = await child;
    assert.ok(sent, `the run reached ${message}: ${String(result.stdout)}`);
    if (whileRunning !== undefined) {
      assert.equal(programWasRunning, true, `${whileRunning} was running when ${signal} came`);
    }
    assert.notEqual(result.exitCode, 0);
    assert.match(String(result.stderr), new RegExp(`virt-v2v: error: interrupted by ${signal}`));
    assert.match(String(result.stderr), /the logs of this run are kept in /);
    assert.deepEqual(await leftovers(sandbox), { processes: [], workdirs: [] });
    assert.deepEqual(await readdir(sandbox.out), [], "nothing kept on the target");
    assert.equal(await sha256(guest.path), before);
  } finally {
    await sandbox.dispose();
  }
}

test("SIGTERM during the copy stops everything and removes the target disk", () =>
  interruptAt(/Copying disk 1\/1/, "SIGTERM", "sigterm-copy", "nbdcopy"));

test("Ctrl-C (SIGINT) during inspection stops the appliance and the servers", () =>
  interruptAt(/Inspecting the source/, "SIGINT", "sigint-inspect"));
