import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { NbdConnection } from "@split-v2v/libnbd";
import { qemuIo, serve, serversMentioning, sha256 } from "@split-v2v/helper-test-kit";
import { readMetadata } from "@split-v2v/metadata-schema";

const helper = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "src", "cli.js");
const MIB = 1024n * 1024n;

/** What VMware ESXi writes for a disk on VMFS: a text descriptor naming a raw -flat extent. */
function esxiDescriptor(flatName: string, sectors: number): string {
  return [
    "# Disk DescriptorFile",
    "version=1",
    'encoding="UTF-8"',
    "CID=fffffffe",
    "parentCID=ffffffff",
    'createType="vmfs"',
    "",
    "# Extent description",
    `RW ${sectors} VMFS "${flatName}"`,
    "",
    "# The Disk Data Base",
    "#DDB",
    "",
    'ddb.adapterType = "lsilogic"',
    'ddb.virtualHWVersion = "13"',
    "",
  ].join("\n");
}

test("a guest's disks (snapshot chain, ESXi descriptor in a subfolder, absolute path) are served through overlays", async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "input-vmx-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const guestDir = path.join(dir, "My Guest");
  await mkdir(path.join(guestDir, "disks"), { recursive: true });
  await mkdir(path.join(dir, "elsewhere"));

  // Disk 0: a base disk and a snapshot on top of it; the guest runs on the snapshot.
  const base = path.join(guestDir, "guest.vmdk");
  const snapshot = path.join(guestDir, "guest-000001.vmdk");
  await execa("qemu-img", ["create", "-q", "-f", "vmdk", base, "64M"]);
  await qemuIo("vmdk", base, "write -P 0x11 1M 1M");
  await execa("qemu-img", [
    "create",
    "-q",
    "-f",
    "vmdk",
    "-b",
    "guest.vmdk",
    "-F",
    "vmdk",
    snapshot,
  ]);
  await qemuIo("vmdk", snapshot, "write -P 0x22 2M 1M");
  // Disk 1: an ESXi-style descriptor and its flat extent, in a subfolder.
  const esxi = path.join(guestDir, "disks", "data.vmdk");
  const flat = path.join(guestDir, "disks", "data-flat.vmdk");
  await writeFile(esxi, esxiDescriptor("data-flat.vmdk", 32 * 2048));
  await execa("truncate", ["-s", "32M", flat]);
  await qemuIo("raw", flat, "write -P 0x33 0 64k");
  // Disk 2: a stream-optimized (OVF export) disk named by an absolute path.
  const raw = path.join(dir, "elsewhere", "src.img");
  const streamOptimized = path.join(dir, "elsewhere", "abs.vmdk");
  await execa("qemu-img", ["create", "-q", "-f", "raw", raw, "16M"]);
  await qemuIo("raw", raw, "write -P 0x44 4M 64k");
  await execa("qemu-img", [
    "convert",
    "-q",
    "-O",
    "vmdk",
    "-o",
    "subformat=streamOptimized",
    raw,
    streamOptimized,
  ]);

  const vmx = path.join(guestDir, "My Guest.vmx");
  await writeFile(
    vmx,
    [
      '.encoding = "UTF-8"',
      'displayName = "My |22Guest|22"',
      'memSize = "3072"',
      'numvcpus = "2"',
      'scsi0.present = "TRUE"',
      'scsi0.virtualDev = "pvscsi"',
      'scsi0:0.present = "TRUE"',
      'scsi0:0.fileName = "guest-000001.vmdk"',
      'scsi0:1.present = "TRUE"',
      'scsi0:1.deviceType = "scsi-hardDisk"',
      'scsi0:1.fileName = "disks/data.vmdk"',
      'sata0:0.present = "TRUE"',
      `sata0:0.fileName = "${streamOptimized}"`,
      'ide1:0.present = "TRUE"',
      'ide1:0.deviceType = "cdrom-image"',
      'ide1:0.fileName = "/vmfs/volumes/ds/iso/boot.iso"',
      'ethernet0.present = "TRUE"',
      'ethernet0.virtualDev = "e1000"',
      'ethernet0.networkName = "VM Network"',
      'ethernet0.generatedAddress = "00:0c:29:11:22:33"',
      "",
    ].join("\n"),
  );
  const sources = [base, snapshot, esxi, flat, streamOptimized];
  const before = new Map<string, string>();
  for (const file of sources) before.set(file, await sha256(file));

  const workdir = await mkdtemp(path.join(dir, "work-"));
  const { child, events } = await serve(helper, [workdir, vmx]);
  try {
    assert.deepEqual(events.at(-1), { event: "ready", sockets: ["in0", "in1", "in2"] });
    const metadata = await readMetadata("metadata.in", path.join(workdir, "metadata.in"));
    assert.equal(metadata.input.mode, "vmx");
    assert.equal(metadata.input.description, `-i vmx ${vmx}`);
    const source = metadata.source;
    assert.equal(source.name, 'My "Guest"');
    assert.equal(source.hypervisor, "vmware");
    assert.equal(source.memoryBytes, 3072 * 1024 * 1024);
    assert.equal(source.vcpus, 2);
    assert.deepEqual(
      source.disks.map((disk) => [disk.socket, disk.controller, disk.virtualSize, disk.location]),
      [
        ["in0", "scsi", 64 * 1024 * 1024, snapshot],
        ["in1", "scsi", 32 * 1024 * 1024, esxi],
        ["in2", "sata", 16 * 1024 * 1024, streamOptimized],
      ],
    );
    assert.deepEqual(source.removables, [{ type: "cdrom", controller: "ide", slot: 2 }]);
    assert.deepEqual(source.nics, [
      { mac: "00:0c:29:11:22:33", model: "e1000", network: "VM Network", networkType: "network" },
    ]);

    // Each endpoint serves what qemu reads from the source: the snapshot chain as one disk, …
    for (const [index, file] of [snapshot, esxi, streamOptimized].entries()) {
      const compare = await execa(
        "qemu-img",
        [
          "compare",
          "-f",
          "raw",
          "-F",
          "vmdk",
          `nbd+unix:///?socket=${path.join(workdir, `in${index}`)}`,
          file,
        ],
        { reject: false },
      );
      assert.equal(compare.exitCode, 0, `in${index} = ${file}: ${compare.stdout}${compare.stderr}`);
    }
    const disk0 = await NbdConnection.connectUnix(path.join(workdir, "in0"));
    try {
      assert.deepEqual(await disk0.pread(1n * MIB, 2), Buffer.from([0x11, 0x11]), "base data");
      assert.deepEqual(await disk0.pread(2n * MIB, 2), Buffer.from([0x22, 0x22]), "snapshot data");
      // … and takes the conversion's writes, which land in the overlay only.
      await disk0.pwrite(0n, Buffer.alloc(1024 * 1024, 0x99));
      await disk0.flush();
      assert.deepEqual(await disk0.pread(0n, 2), Buffer.from([0x99, 0x99]));
    } finally {
      disk0.close();
    }
    const disk1 = await NbdConnection.connectUnix(path.join(workdir, "in1"));
    try {
      assert.deepEqual(await disk1.pread(0n, 2), Buffer.from([0x33, 0x33]), "flat extent data");
      await disk1.pwrite(0n, Buffer.alloc(65536, 0));
      await disk1.flush();
    } finally {
      disk1.close();
    }
  } finally {
    child.kill("SIGTERM");
    const result = await child;
    assert.equal(result.exitCode, 0, "the helper stops cleanly on SIGTERM");
  }
  assert.deepEqual(
    (await readdir(workdir)).filter((name) => name !== "tmp"),
    ["metadata.in"],
    "the sockets are gone",
  );
  assert.deepEqual(await serversMentioning(dir), [], "no server is left running");
  for (const [file, sum] of before) assert.equal(await sha256(file), sum, `${file} is unchanged`);
});

test("a missing disk is a clear error before any server starts", async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "input-vmx-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await execa("qemu-img", ["create", "-q", "-f", "vmdk", path.join(dir, "present.vmdk"), "1M"]);
  const vmx = path.join(dir, "guest.vmx");
  await writeFile(
    vmx,
    [
      'displayName = "guest"',
      'scsi0:0.fileName = "present.vmdk"',
      'scsi0:1.fileName = "snapshot-000002.vmdk"',
    ].join("\n"),
  );
  const workdir = await mkdtemp(path.join(dir, "work-"));
  const result = await execa(process.execPath, [helper, workdir, vmx], { reject: false });
  assert.equal(result.exitCode, 1);
  assert.equal(
    String(result.stderr).trim().split("\n").at(-1),
    `helper-v2v-input-vmx: error: -i vmx: cannot open the disk image ${path.join(dir, "snapshot-000002.vmdk")} (scsi0:1.fileName in the VMX file): No such file or directory`,
  );
  assert.match(String(result.stdout), /"event":"error"/);
  assert.deepEqual(
    (await readdir(workdir)).filter((name) => name !== "tmp"),
    [],
  );
  assert.deepEqual(await serversMentioning(dir), []);
});

test("bad arguments and files get virt-v2v's messages", async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "input-vmx-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const disk = path.join(dir, "guest.vmdk");
  await execa("qemu-img", ["create", "-q", "-f", "vmdk", disk, "1M"]);
  const noDisks = path.join(dir, "nodisks.vmx");
  await writeFile(noDisks, 'displayName = "x"\nmemSize = "1024"\n');
  const badNumber = path.join(dir, "bad.vmx");
  await writeFile(badNumber, 'memSize = "1G"\nscsi0:0.fileName = "guest.vmdk"\n');
  const cases: Array<[string[], string]> = [
    [[disk], "input file is a VMDK (disk image), but we are expecting a VMX (VMware metadata)"],
    [
      [path.join(dir, "none.vmx")],
      `-i vmx: cannot read the VMX file ${path.join(dir, "none.vmx")}: No such file or directory`,
    ],
    [[], "-i vmx: expecting a VMX file or ssh:// URI"],
    [["a.vmx", "b.vmx"], "-i vmx: expecting a VMX file or ssh:// URI"],
    [["-it", "vddk", "a.vmx"], "-i vmx: cannot use -it vddk in this input mode"],
    [["-it", "ftp", "a.vmx"], "unknown input transport ‘-it ftp’"],
    [["-it", "ssh", "https://esx/a.vmx"], "vmx URI start with ‘ssh://...’"],
    [["-it", "ssh", "ssh://esx/"], "vmx URI path component looks incorrect"],
    [[badNumber], '-i vmx: memSize = "1G" in the VMX file is not an integer'],
    [
      [noDisks],
      `-i vmx: the VMX file ${noDisks} names no hard disk (scsiN:M, nvmeN:M, sataN:M or ideN:M with a fileName); there is nothing to convert`,
    ],
  ];
  for (const [args, message] of cases) {
    const workdir = await mkdtemp(path.join(dir, "work-"));
    const result = await execa(process.execPath, [helper, workdir, ...args], { reject: false });
    assert.equal(result.exitCode, 1, args.join(" "));
    assert.equal(
      String(result.stderr).trim().split("\n").at(-1),
      `helper-v2v-input-vmx: error: ${message}`,
    );
  }
});
