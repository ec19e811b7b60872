/**
 * The Linux conversion on the other layouts a VMware guest comes in: a second (data) disk, root
 * on LVM, fstab by UUID. Each variant is converted once (about four minutes under TCG) and
 * booted on virtio-blk; the boot marker says where each filesystem came from.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { bootGuest, debianGuest, type DebianGuestVariant } from "../fixtures/debian-guest.js";
import { leftovers, makeSandbox, sha256, virtV2v } from "../support/run.js";

const variants: Array<{
  variant: DebianGuestVariant;
  booted: Record<string, string>;
  why: string;
}> = [
  {
    variant: "two-disks",
    booted: { root: "/dev/vda1", data: "/dev/vdb1" },
    why: "the second disk's sdb1 in fstab becomes vdb1",
  },
  {
    variant: "lvm",
    booted: { root: "/dev/mapper/debian--vg-root", boot: "/dev/vda1" },
    why: "the LVM root keeps its name; /boot's sda1 becomes vda1",
  },
  {
    variant: "uuid",
    booted: { root: "/dev/vda1" },
    why: "UUID= names survive; only the initramfs must change",
  },
];

for (const { variant, booted, why } of variants) {
  test(`the ${variant} Debian guest converts and boots on virtio (${why})`, async (t) => {
    const guest = await debianGuest(variant);
    const sandbox = await makeSandbox(`variant-${variant}`);
    t.after(() => sandbox.dispose());
    const sums = await Promise.all(guest.paths.map(sha256));
    const result = await virtV2v(
      ["-i", "disk", ...guest.paths, "-o", "local", "-os", sandbox.out, "-on", variant],
      sandbox,
    );
    assert.equal(result.exitCode, 0, `${result.stdout}\n${result.stderr}`);
    assert.deepEqual(await Promise.all(guest.paths.map(sha256)), sums, "the sources are unchanged");
    assert.deepEqual(await leftovers(sandbox), { processes: [], workdirs: [] });
    const disks = guest.paths.map((_disk, index) =>
      path.join(sandbox.out, `${variant}-sd${String.fromCharCode(97 + index)}`),
    );
    const boot = await bootGuest({ disks, bus: "virtio", timeoutMs: 6 * 60 * 1000 });
    assert.deepEqual(boot.mounts, booted, `console ends with:\n${boot.console.slice(-1500)}`);
    t.diagnostic(`booted in ${boot.seconds.toFixed(0)} s`);
  });
}
