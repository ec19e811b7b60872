/**
 * The Linux conversion on the other layouts a VMware guest comes in, all in one guest so the
 * suite pays for one conversion (about four minutes under TCG): UEFI with the loader only in
 * \EFI\debian, root on LVM, /boot named by UUID=, the ESP and a second (data) disk named
 * /dev/sdX in fstab. The converted guest boots under OVMF with an empty variable store (as a
 * new libvirt guest has it) on virtio-blk; the boot marker says where each filesystem came from.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { bootGuest, debianGuest } from "../fixtures/debian-guest.js";
import { guestfishEnvironment } from "../fixtures/guests.js";
import { leftovers, makeSandbox, sha256, virtV2v } from "../support/run.js";

test("the uefi Debian guest (LVM root, UUID= /boot, data disk) converts and boots on virtio under OVMF", async (t) => {
  const guest = await debianGuest("uefi");
  const sandbox = await makeSandbox("variant-uefi");
  t.after(() => sandbox.dispose());
  const sums = await Promise.all(guest.paths.map(sha256));
  const result = await virtV2v(
    ["-i", "disk", ...guest.paths, "-o", "local", "-os", sandbox.out, "-on", "uefi"],
    sandbox,
  );
  assert.equal(result.exitCode, 0, `${result.stdout}\n${result.stderr}`);
  assert.match(result.stdout, /This guest requires UEFI on the target to boot\./);
  assert.match(result.stdout, /Fixing UEFI bootloader\./);
  assert.deepEqual(await Promise.all(guest.paths.map(sha256)), sums, "the sources are unchanged");
  assert.deepEqual(await leftovers(sandbox), { processes: [], workdirs: [] });

  const xml = await readFile(path.join(sandbox.out, "uefi.xml"), "utf8");
  assert.match(xml, /<loader readonly='yes' type='pflash'>[^<]*OVMF_CODE[^<]*<\/loader>/);

  const disks = guest.paths.map((_disk, index) =>
    path.join(sandbox.out, `uefi-sd${String.fromCharCode(97 + index)}`),
  );
  // The fallback loader is a copy of the guest's own grub; \EFI\debian is left as it was.
  const esp = await execa(
    "guestfish",
    ["--ro", "--format=raw", "-a", disks[0]!, "run", ":", "mount-ro", "/dev/sda1", "/"].concat(
      [":", "ls", "/EFI/BOOT", ":", "checksum", "sha256", "/EFI/BOOT/BOOTX64.EFI"],
      [":", "checksum", "sha256", "/EFI/debian/grubx64.efi"],
    ),
    { env: guestfishEnvironment() },
  );
  const [listing, fallbackSum, grubSum] = String(esp.stdout).split(/\n(?=[0-9a-f]{64}$)/m);
  assert.deepEqual(listing?.trim().split("\n"), ["BOOTX64.EFI"]);
  assert.equal(fallbackSum?.trim(), grubSum?.trim(), "BOOTX64.EFI is the guest's grubx64.efi");

  const boot = await bootGuest({
    disks,
    bus: "virtio",
    firmware: "uefi",
    timeoutMs: 8 * 60 * 1000,
  });
  const { root, boot: bootDevice, data, efi, state, vmtools } = boot.mounts;
  const context = `console ends with:\n${boot.console.slice(-1500)}`;
  assert.deepEqual(
    { root, boot: bootDevice, data, efi },
    {
      root: "/dev/mapper/debian--vg-root",
      boot: "/dev/vda2",
      data: "/dev/vdb1",
      efi: "/dev/vda1",
    },
    context,
  );
  assert.equal(state, "running", context);
  assert.equal(vmtools, "absent", context);
  t.diagnostic(`booted in ${boot.seconds.toFixed(0)} s`);
});
