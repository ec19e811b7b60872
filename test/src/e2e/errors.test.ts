/**
 * Bad input gets a clear error: one "virt-v2v: error:" line saying what is wrong and what to do,
 * a non-zero exit, nothing written to the target, no process, socket or work dir left behind.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { blankDisk } from "../fixtures/guests.js";
import {
  errorLines,
  leftovers,
  makeSandbox,
  sha256,
  virtV2v,
  type Sandbox,
} from "../support/run.js";

async function expectCleanFailure(
  sandbox: Sandbox,
  args: string[],
  message: RegExp,
): Promise<string> {
  const result = await virtV2v(args, sandbox);
  assert.equal(result.exitCode, 1, `exit status (stderr: ${result.stderr})`);
  const errors = errorLines(result.stderr);
  assert.equal(errors.length, 1, `exactly one error line in:\n${result.stderr}`);
  assert.match(errors[0]!, message);
  assert.deepEqual(await readdir(sandbox.out), [], "nothing written to the target");
  assert.deepEqual(await leftovers(sandbox), { processes: [], workdirs: [] });
  return result.stderr;
}

test("a missing disk image is a clear error and nothing is left behind", async (t) => {
  const sandbox = await makeSandbox("missing");
  t.after(() => sandbox.dispose());
  const missing = path.join(sandbox.tmp, "no-such-disk.img");
  const stderr = await expectCleanFailure(
    sandbox,
    ["-i", "disk", missing, "-o", "local", "-os", sandbox.out],
    /^virt-v2v: error: -i disk: cannot read disk image .*no-such-disk\.img: No such file or directory; check the path/,
  );
  // The logs of a failed run are kept, and their path is printed.
  const kept = /the logs of this run are kept in (\S+)/.exec(stderr);
  assert.ok(kept, "path of the kept logs is printed");
  assert.ok(
    (await readdir(kept[1]!)).some((name) => name.startsWith("1-input")),
    "the input stage's log is kept",
  );
});

test("unknown modes and bad options are refused before anything starts", async (t) => {
  const sandbox = await makeSandbox("options");
  t.after(() => sandbox.dispose());
  const disk = path.join(sandbox.tmp, "disk.img");
  await writeFile(disk, Buffer.alloc(1024 * 1024));
  await expectCleanFailure(
    sandbox,
    ["-i", "bogus", disk, "-o", "null"],
    /^virt-v2v: error: unknown -i option: bogus$/,
  );
  await expectCleanFailure(
    sandbox,
    ["-i", "disk", disk, "-o", "bogus"],
    /^virt-v2v: error: unknown -o option: bogus$/,
  );
  await expectCleanFailure(
    sandbox,
    ["-i", "disk", disk, "-o", "null", "-on", "a", "-on", "b"],
    /^virt-v2v: error: -on option used more than once on the command line$/,
  );
  await expectCleanFailure(
    sandbox,
    ["-i", "disk", disk, "-o", "local"],
    /^virt-v2v: error: -o local: output directory was not specified, use '-os \/dir'$/,
  );
  await expectCleanFailure(
    sandbox,
    ["-i", "disk", disk, "-o", "local", "-os", path.join(sandbox.tmp, "nowhere")],
    /output directory does not exist or is not a directory$/,
  );
  await expectCleanFailure(
    sandbox,
    ["-i", "disk", disk, "-o", "local", "-os", sandbox.out, "-of", "vmdk"],
    /-of vmdk: only raw and qcow2 output formats are supported$/,
  );
  await expectCleanFailure(
    sandbox,
    ["-i", "libvirtxml", disk, "-o", "null"],
    /^virt-v2v: error: -i libvirtxml: .* is not well-formed XML: /,
  );

  const unknownOption = await virtV2v(["--frobnicate"], sandbox);
  assert.equal(unknownOption.exitCode, 1);
  assert.equal(
    unknownOption.stderr,
    "virt-v2v: unrecognized option '--frobnicate'\nTry ‘virt-v2v --help’ or consult virt-v2v(1) for more information.\n",
  );
});

test("a blank disk fails at inspection, before any copy, with virt-v2v's reason", async (t) => {
  const sandbox = await makeSandbox("blank");
  t.after(() => sandbox.dispose());
  const blank = await blankDisk();
  const before = await sha256(blank.path);
  await expectCleanFailure(
    sandbox,
    ["-i", "disk", blank.path, "-o", "local", "-os", sandbox.out],
    /^virt-v2v: error: inspection could not detect the source guest \(or physical machine\): no operating system was found/,
  );
  assert.equal(await sha256(blank.path), before, "the source is untouched");
});
