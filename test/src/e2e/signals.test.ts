/**
 * Ctrl-C or SIGTERM at any stage: every helper, server and copy stops, the work dir goes, nothing
 * is kept on the target, the logs are kept and their path printed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import readline from "node:readline";
import { linuxGuest } from "../fixtures/guests.js";
import { leftovers, makeSandbox, sha256, startVirtV2v } from "../support/run.js";

async function interruptAt(
  message: RegExp,
  signal: "SIGTERM" | "SIGINT",
  label: string,
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
    readline.createInterface({ input: child.stdout! }).on("line", (line) => {
      if (!sent && message.test(line)) {
        sent = true;
        child.kill(signal);
      }
    });
    const result = await child;
    assert.ok(sent, `the run reached ${message}: ${String(result.stdout)}`);
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
  interruptAt(/Copying disk 1\/1/, "SIGTERM", "sigterm-copy"));

test("Ctrl-C (SIGINT) during inspection stops the appliance and the servers", () =>
  interruptAt(/Inspecting the source/, "SIGINT", "sigint-inspect"));
