/**
 * The optional third command of the README: scripts/install.sh puts virt-v2v, the helpers and
 * their manual pages into a prefix, where a shell that never saw the checkout finds them; its
 * --uninstall removes exactly what it installed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { repositoryRoot } from "../fixtures/shared-testdata.js";
import { linuxGuest } from "../fixtures/guests.js";

const INSTALL = path.join(repositoryRoot(), "scripts", "install.sh");

test("installed into a prefix, the programs and man pages work from anywhere; uninstall leaves nothing", async (t) => {
  const scratch = await mkdtemp(path.join(os.tmpdir(), "split-v2v-install-"));
  t.after(() => rm(scratch, { recursive: true, force: true }));
  const prefix = path.join(scratch, "prefix");
  const installed = await execa("bash", [INSTALL, "--prefix", prefix], { reject: false });
  assert.equal(installed.exitCode, 0, String(installed.stderr));

  // A shell that has not seen the checkout: another directory, a minimal environment.
  const shell = (script: string) =>
    execa("bash", ["-c", script], {
      cwd: "/",
      env: { PATH: `${prefix}/bin:/usr/bin:/bin`, HOME: scratch, LANG: "C", MANPAGER: "cat" },
      extendEnv: false,
      reject: false,
    });
  const version = await shell("virt-v2v --version");
  assert.equal(String(version.stdout), "virt-v2v 2.2.0");
  const guest = await linuxGuest("plain");
  const printed = await shell(`virt-v2v -i disk '${guest.path}' -o null --print-source`);
  assert.equal(printed.exitCode, 0, String(printed.stderr));
  assert.match(String(printed.stdout), /^Source guest information \(--print-source option\):$/m);
  for (const page of ["virt-v2v", "helper-v2v-convert", "helper-v2v-input-vmx"]) {
    const man = await shell(`MANPATH='${prefix}/share/man' man ${page}`);
    assert.equal(man.exitCode, 0, `man ${page}: ${String(man.stderr)}`);
    assert.match(String(man.stdout), new RegExp(`^NAME\\n +${page} +- `, "m"));
    assert.equal(String(man.stderr), "", `man ${page} renders without warnings`);
  }
  // The man page is generated from the program's own help: the mode lines are there.
  const manual = await shell(`MANPATH='${prefix}/share/man' man virt-v2v`);
  assert.match(String(manual.stdout), /-i <disk\|local\|libvirt\|libvirtxml\|ova\|vmx>/);

  const removed = await execa("bash", [INSTALL, "--prefix", prefix, "--uninstall"], {
    reject: false,
  });
  assert.equal(removed.exitCode, 0, String(removed.stderr));
  assert.equal(existsSync(prefix), false, "the prefix the install created is gone");
  assert.deepEqual(await readdir(scratch), []);
});
