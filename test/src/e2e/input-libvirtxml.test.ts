/**
 * -i libvirtxml --print-source, side by side with Debian's virt-v2v 2.2 on the same domain XML:
 * what tools parse (the "Source guest information" text) and the warnings must be the same, to
 * the byte. The XML holds every kind of device 2.2 reads from a local file: raw, qcow2 and
 * block disks on each bus, CD-ROMs and floppies in their slots, NICs (network, bridge, an empty
 * bridge, a zero MAC, a direct one), graphics, sound, CPU and firmware, and a host device.
 * Nothing is converted: --print-source stops after the source is set up.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { access, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { makeSandbox, runEnvironment, virtV2v } from "../support/run.js";

const DEBIAN_VIRT_V2V = "/usr/bin/virt-v2v";

function domainXml(disks: { raw: string; qcow2: string; block: string; cdrom: string }): string {
  return `<domain type='kvm'>
  <name>every-device</name>
  <genid>43dc0cf8-809b-4adb-9bea-a9abb5f3d90d</genid>
  <memory unit='KiB'>3145728</memory>
  <vcpu>4</vcpu>
  <cpu mode='custom'>
    <vendor>AMD</vendor>
    <model>EPYC</model>
    <topology sockets='2' cores='2' threads='1'/>
  </cpu>
  <features><acpi/><apic/><hyperv/></features>
  <os firmware='efi'><type>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='${disks.raw}'/>
      <target dev='sda' bus='scsi'/>
    </disk>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='${disks.qcow2}'/>
      <target dev='vdb' bus='virtio'/>
    </disk>
    <disk type='block' device='disk'>
      <driver name='qemu' type='raw'/>
      <source dev='${disks.block}'/>
      <target dev='hdb' bus='ide'/>
    </disk>
    <disk type='file' device='disk'>
      <source file='${disks.raw}'/>
      <target dev='sdb' bus='sata'/>
    </disk>
    <disk type='file' device='cdrom'>
      <source file='${disks.cdrom}'/>
      <target dev='hdc' bus='ide'/>
    </disk>
    <disk type='file' device='cdrom'>
      <target dev='sdd' bus='sata'/>
    </disk>
    <disk type='file' device='floppy'>
      <target dev='fda'/>
    </disk>
    <controller type='scsi' index='0' model='virtio-scsi'/>
    <interface type='network'>
      <mac address='52:54:00:01:02:03'/>
      <source network='default'/>
      <model type='virtio'/>
    </interface>
    <interface type='bridge'>
      <mac address='00:00:00:00:00:00'/>
      <source bridge='br0'/>
      <model type='e1000'/>
    </interface>
    <interface type='bridge'>
      <source bridge=''/>
      <model type='rtl8139'/>
    </interface>
    <interface type='direct'>
      <source dev='eth0' mode='bridge'/>
    </interface>
    <graphics type='vnc' port='5901' autoport='no' keymap='de' passwd='secret'>
      <listen type='address' address='127.0.0.1'/>
    </graphics>
    <sound model='es1370'/>
    <hostdev mode='subsystem' type='usb'/>
  </devices>
</domain>
`;
}

/** The lines tools read: the source text, and each warning; the timed progress lines left out. */
function comparable(stdout: string, stderr: string): string[] {
  const warnings = stderr.split("\n").filter((line) => line.startsWith("virt-v2v: warning:"));
  const text = stdout
    .split("\n")
    .filter((line) => !/^\[ *\d+\.\d\] /.test(line))
    .filter((line) => !line.startsWith("virt-v2v: warning:"));
  const stdoutWarnings = stdout.split("\n").filter((line) => line.startsWith("virt-v2v: warning:"));
  return [...text, "--- warnings", ...[...stdoutWarnings, ...warnings].sort()];
}

test("-i libvirtxml --print-source says what Debian's virt-v2v 2.2 says, for every device kind", async (t) => {
  try {
    await access(DEBIAN_VIRT_V2V);
  } catch {
    return t.skip(`${DEBIAN_VIRT_V2V} (Debian's virt-v2v 2.2) is not installed`);
  }
  const sandbox = await makeSandbox("libvirtxml-print-source");
  t.after(() => sandbox.dispose());
  const dir = path.dirname(sandbox.out);
  const disks = {
    raw: path.join(dir, "disk.raw"),
    qcow2: path.join(dir, "disk.qcow2"),
    block: path.join(dir, "disk-as-block.raw"),
    cdrom: path.join(dir, "cd.iso"),
  };
  await execa("qemu-img", ["create", "-q", "-f", "raw", disks.raw, "8M"]);
  await execa("qemu-img", ["create", "-q", "-f", "qcow2", disks.qcow2, "8M"]);
  await execa("qemu-img", ["create", "-q", "-f", "raw", disks.block, "8M"]);
  await execa("qemu-img", ["create", "-q", "-f", "raw", disks.cdrom, "1M"]);
  const xml = path.join(dir, "every-device.xml");
  await writeFile(xml, domainXml(disks));
  const args = ["-i", "libvirtxml", xml, "-o", "null", "--print-source"];

  const ours = await virtV2v(args, sandbox);
  assert.equal(ours.exitCode, 0, ours.stderr);
  const theirs = await execa(DEBIAN_VIRT_V2V, args, {
    env: runEnvironment(sandbox),
    reject: false,
    stdin: "ignore",
    stripFinalNewline: false,
  });
  assert.equal(theirs.exitCode, 0, String(theirs.stderr));
  assert.deepEqual(
    comparable(ours.stdout, ours.stderr),
    comparable(String(theirs.stdout), String(theirs.stderr)),
  );
  // What the comparison stands on: the text names each device the XML has.
  assert.match(ours.stdout, /^\tCD-ROM \[ide\] in slot 2$/m);
  assert.match(ours.stdout, /^\tFloppy in slot 0$/m);
  assert.match(ours.stdout, /^\tBridge "eth2" \[rtl8139\]$/m);
  assert.match(
    ours.stdout,
    /^        display: vnc de with password listening on address 127\.0\.0\.1$/m,
  );
});
