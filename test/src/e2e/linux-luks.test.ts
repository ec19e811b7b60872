/**
 * Encrypted Linux guests (virt-v2v 2.2's --key and --keys-from-stdin), on the phony Debian
 * guest whose root volume group lives inside LUKS on /dev/sda2 (crypttab names /dev/sda2):
 * without a key the run stops before any copy with one line naming the device and what to
 * give; with a key (on the command line, from a file, or on stdin) it converts, and the
 * passphrase appears in no log, not even with -v -x.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { linuxGuest, runGuestfish } from "../fixtures/guests.js";
import { LUKS_PASSPHRASE } from "../fixtures/linux-guest.js";
import { PHONY_TOOL_LOG } from "../fixtures/phony-tools.js";
import {
  errorLines,
  leftovers,
  makeSandbox,
  runEnvironment,
  sha256,
  VIRT_V2V,
  virtV2v,
} from "../support/run.js";

function copied(stdout: string): boolean {
  return /^\[ *\d+\.\d\] Copying disk/m.test(stdout);
}

test("an encrypted guest without its key: one error line naming the device, nothing copied", async (t) => {
  const guest = await linuxGuest("luks");
  const sandbox = await makeSandbox("luks-nokey");
  t.after(() => sandbox.dispose());
  const result = await virtV2v(
    ["-i", "disk", guest.path, "-o", "local", "-os", sandbox.out],
    sandbox,
  );
  assert.equal(result.exitCode, 1, result.stdout);
  const errors = errorLines(result.stderr);
  assert.equal(errors.length, 1, result.stderr);
  assert.match(
    errors[0]!,
    /^virt-v2v: error: could not find key to open LUKS encrypted \/dev\/sda2: give one with --key \/dev\/sda2:key:PASSPHRASE/,
  );
  assert.ok(!copied(result.stdout));
  assert.deepEqual(await readdir(sandbox.out), [], "nothing written to the output");
  assert.deepEqual(await leftovers(sandbox), { processes: [], workdirs: [] });
});

test("--key (a wrong one for all, the right one from a file) converts the encrypted guest; the key is in no log", async (t) => {
  const guest = await linuxGuest("luks");
  const before = await sha256(guest.path);
  const sandbox = await makeSandbox("luks-key");
  t.after(() => sandbox.dispose());
  const keyFile = path.join(path.dirname(sandbox.out), "passphrase");
  await writeFile(keyFile, `${LUKS_PASSPHRASE}\n`, { mode: 0o600 });
  const result = await virtV2v(
    [
      "-i",
      "disk",
      guest.path,
      "-o",
      "local",
      "-os",
      sandbox.out,
      "-on",
      "luks",
      "--key",
      "all:key:not the passphrase",
      "--key",
      `/dev/sda2:file:${keyFile}`,
      "-v",
      "-x",
    ],
    sandbox,
  );
  assert.equal(result.exitCode, 0, `${result.stdout}\n${result.stderr.slice(-3000)}`);
  assert.ok(copied(result.stdout));
  assert.equal(await sha256(guest.path), before, "the source image is unchanged");
  assert.deepEqual(await leftovers(sandbox), { processes: [], workdirs: [] });
  // -v prints every stage's log, with libguestfs's trace (-x): the passphrase is in none of it.
  assert.ok(result.stderr.includes("cryptsetup_open"), "the trace shows the call");
  assert.ok(
    !`${result.stdout}${result.stderr}`.includes(LUKS_PASSPHRASE),
    "no passphrase in the logs",
  );

  // The converted disk opens with the same passphrase; the encrypted device is renamed in
  // crypttab (as in fstab), so the guest finds it on virtio.
  const output = await runGuestfish({
    drives: [{ path: path.join(sandbox.out, "luks-sda"), format: "raw", readonly: true }],
    commands: [
      "cryptsetup-open /dev/sda2 sda2_crypt readonly:true",
      "vg-activate-all true",
      "mount-ro /dev/luksvg/root /",
      "mount-ro /dev/sda1 /boot",
      "cat /etc/crypttab",
      "cat /etc/fstab",
      `cat ${PHONY_TOOL_LOG}`,
    ],
    purpose: "reading back the converted encrypted guest",
    keys: [LUKS_PASSPHRASE],
  });
  assert.match(output, /^sda2_crypt \/dev\/vda2 none luks,discard$/m, output);
  assert.match(output, /^\/dev\/mapper\/luksvg-root\s+\/\s/m);
  assert.match(output, /^\/dev\/vda1\s+\/boot\s/m);
  assert.match(output, /update-initramfs/, "the initramfs was rebuilt");
});

test("--keys-from-stdin: the passphrase on stdin converts the encrypted guest", async (t) => {
  const guest = await linuxGuest("luks");
  const sandbox = await makeSandbox("luks-stdin");
  t.after(() => sandbox.dispose());
  const result = await execa(
    process.execPath,
    [VIRT_V2V, "-i", "disk", guest.path, "-o", "null", "--keys-from-stdin"],
    { env: runEnvironment(sandbox), reject: false, input: `${LUKS_PASSPHRASE}\n` },
  );
  assert.equal(result.exitCode, 0, `${result.stdout}\n${result.stderr}`);
  assert.ok(copied(String(result.stdout)));
  assert.deepEqual(await leftovers(sandbox), { processes: [], workdirs: [] });
});
