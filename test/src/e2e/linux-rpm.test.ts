/**
 * The Linux conversion on an rpm-family guest (RHEL 9 as installed on VMware): the dracut, rpm
 * and grub paths. The guest's rpm database is real; dracut, grub2-mkconfig and grubby are the
 * fixture's stand-ins, which log every call inside the guest, so the test sees exactly what the
 * converter ran and what it changed in the converted image.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { guestfishEnvironment } from "../fixtures/guests.js";
import { phonyToolCalls } from "../fixtures/phony-tools.js";
import {
  PHONY_TOOL_LOG,
  RPM_GUEST_BLS_ENTRY,
  RPM_GUEST_KERNEL,
  RPM_GUEST_VMWARE_UNINSTALLER,
  phonyInitramfsModules,
  rpmGuest,
  rpmGuestUnavailableReason,
} from "../fixtures/rpm-guest.js";
import { leftovers, makeSandbox, sha256, virtV2v } from "../support/run.js";

test("a RHEL 9 guest from VMware: rpm -e and the tarball uninstaller, dracut with virtio, devices renamed, grub regenerated, aliases, X driver, console, relabel", async (t) => {
  const unavailable = rpmGuestUnavailableReason();
  if (unavailable !== null) {
    t.skip(unavailable);
    return;
  }
  const guest = await rpmGuest("rhel9");
  const sandbox = await makeSandbox("rpm");
  t.after(() => sandbox.dispose());
  const before = await sha256(guest.path);
  const result = await virtV2v(
    ["-i", "disk", guest.path, "-o", "local", "-os", sandbox.out, "-on", "rhel9"],
    sandbox,
  );
  assert.equal(result.exitCode, 0, `${result.stdout}\n${result.stderr}`);
  assert.match(
    result.stdout,
    /^\[ *\d+\.\d\] Converting Red Hat Enterprise Linux 9\.3 \(Plow\) to run on KVM$/m,
  );
  assert.equal(await sha256(guest.path), before, "the source is unchanged");
  assert.deepEqual(await leftovers(sandbox), { processes: [], workdirs: [] });

  // RHEL 9 needs x86-64-v2: virt-v2v asks for the host's CPU rather than qemu's default model.
  const xml = await readFile(path.join(sandbox.out, "rhel9.xml"), "utf8");
  assert.match(xml, /<cpu mode='host-passthrough'\/>/);
  assert.match(xml, /<libosinfo:os id='http:\/\/redhat.com\/rhel\/9.3'\/>/);

  const disk = path.join(sandbox.out, "rhel9-sda");
  const initramfs = `/boot/initramfs-${RPM_GUEST_KERNEL}.img`;
  const marker = "=====";
  const files = [
    PHONY_TOOL_LOG,
    "/etc/fstab",
    "/etc/default/grub",
    RPM_GUEST_BLS_ENTRY,
    "/boot/grub2/grub.cfg",
    initramfs,
    "/etc/modprobe.conf",
    "/etc/X11/xorg.conf",
    "/etc/inittab",
  ];
  const script = [
    ...files.flatMap((file) => [`echo "${marker} ${file}"`, `cat ${file}`]),
    `echo "${marker} checks"`,
    `is-file ${initramfs}.pre-v2v`,
    "is-file /usr/bin/vmtoolsd",
    "ls /usr/lib/virt-sysprep/scripts",
    `echo "${marker} more checks"`,
    "is-file /.autorelabel",
    `is-file ${RPM_GUEST_VMWARE_UNINSTALLER}`,
  ].join("\n");
  const output = String(
    (
      await execa("guestfish", ["--ro", "--format=raw", "-a", disk, "-i"], {
        input: script,
        env: guestfishEnvironment(),
      })
    ).stdout,
  );
  const sections = new Map<string, string>();
  for (const part of output.split(`${marker} `).slice(1)) {
    const newline = part.indexOf("\n");
    sections.set(part.slice(0, newline), part.slice(newline + 1));
  }
  const log = sections.get(PHONY_TOOL_LOG) ?? "";
  assert.deepEqual(
    phonyToolCalls(log, "rpm").filter((args) => args[0] === "-e"),
    [["-e", "--allmatches", "open-vm-tools"]],
  );
  const dracut = phonyToolCalls(log, "dracut");
  assert.equal(dracut.length, 1, `dracut ran once: ${log}`);
  assert.deepEqual(dracut[0]!.slice(0, 2), [
    "--add-drivers",
    "virtio virtio_ring virtio_blk virtio_scsi virtio_net virtio_pci xts",
  ]);
  assert.deepEqual(dracut[0]!.slice(2), [initramfs, RPM_GUEST_KERNEL]);
  assert.ok(
    phonyInitramfsModules(sections.get(initramfs) ?? "").includes("virtio_blk"),
    "virtio_blk is in the new initramfs",
  );
  assert.equal(
    phonyToolCalls(log, "grub2-mkconfig").length,
    1,
    "grub's configuration was regenerated",
  );

  assert.match(sections.get("/etc/fstab") ?? "", /^\/dev\/vda2\s+\/\s/m);
  assert.match(sections.get("/etc/fstab") ?? "", /^\/dev\/vda1\s+\/boot\s/m);
  assert.doesNotMatch(sections.get("/etc/fstab") ?? "", /\/dev\/sd/);
  assert.match(sections.get("/etc/default/grub") ?? "", /resume=\/dev\/vda3/);
  assert.match(sections.get(RPM_GUEST_BLS_ENTRY) ?? "", /root=\/dev\/vda2/);
  assert.doesNotMatch(sections.get("/boot/grub2/grub.cfg") ?? "", /root=\/dev\/sd/);
  const checks = sections.get("checks") ?? "";
  assert.match(checks, /^true\nfalse\n/, "the old initramfs is kept as .pre-v2v; vmtoolsd is gone");
  assert.match(checks, /install-qemu-guest-agent/);

  // VMware's tarball uninstaller ran once, as itself (it removes itself, as the real one does).
  assert.deepEqual(
    phonyToolCalls(log, "vmware-uninstall-tools.pl"),
    [[]],
    "the tarball uninstaller ran once",
  );
  assert.deepEqual(
    (sections.get("more checks") ?? "").trim().split("\n"),
    ["true", "false"],
    "SELinux relabel scheduled (/.autorelabel); the uninstaller removed itself",
  );
  assert.deepEqual((sections.get("/etc/modprobe.conf") ?? "").trim().split("\n"), [
    "alias eth0 virtio_net",
    "alias scsi_hostadapter virtio_blk",
  ]);
  assert.match(sections.get("/etc/X11/xorg.conf") ?? "", /Driver\s+"modesetting"/);
  assert.doesNotMatch(sections.get("/etc/X11/xorg.conf") ?? "", /"vmware"/);
  assert.match(sections.get("/etc/inittab") ?? "", /agetty ttyS0 9600/);
  assert.doesNotMatch(sections.get("/etc/inittab") ?? "", /xvc0/);
});
