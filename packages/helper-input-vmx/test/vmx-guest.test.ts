import { test } from "node:test";
import assert from "node:assert/strict";
import {
  diskPathFor,
  flatVmdkPath,
  genidFromVmx,
  guestFromVmx,
  nameFromFile,
  parseVmx,
  vmxSourceOfArg,
} from "../src/index.js";

function guestOf(lines: string[], file = "/vms/guest.vmx") {
  const warnings: string[] = [];
  const warn = (warning: string) => warnings.push(warning);
  const guest = guestFromVmx(parseVmx(Buffer.from(lines.join("\n")), warn), file, warn);
  return { guest, warnings };
}

test("a minimal file gets VMware's defaults: 32 MiB, 1 vCPU, BIOS, named after the file", () => {
  const { guest, warnings } = guestOf(['scsi0:0.fileName = "a.vmdk"'], "/vms/My Guest.vmx");
  assert.equal(guest.name, "My Guest");
  assert.equal(guest.memoryBytes, 32 * 1024 * 1024);
  assert.equal(guest.vcpus, 1);
  assert.equal(guest.cpuTopology, null);
  assert.equal(guest.firmware, "bios");
  assert.equal(guest.uefiSecureBoot, false);
  assert.equal(guest.sound, null);
  assert.equal(guest.genid, null);
  assert.deepEqual(warnings, ["no displayName key found in VMX file"]);
});

test("the generation ID is laid out from vm.genid and vm.genidX as virt-v2v does", () => {
  // The values of two real VMware files and the IDs virt-v2v prints for them.
  assert.equal(
    genidFromVmx(-570734802784577186n, -5042519231342505152n),
    "8312995e-57b8-f814-4013-c1ba795f05ba",
  );
  assert.equal(
    genidFromVmx(-802103094701856339n, -5104727847056752683n),
    "2f0de9ad-5b7c-f4de-d53f-23b1115d28b9",
  );
  const { guest } = guestOf([
    'displayName = "g"',
    'vm.genid = "-802103094701856339"',
    'vm.genidX = "-5104727847056752683"',
  ]);
  assert.equal(guest.genid, "2f0de9ad-5b7c-f4de-d53f-23b1115d28b9");
  // One half alone is no ID.
  assert.equal(guestOf(['displayName = "g"', 'vm.genid = "1"']).guest.genid, null);
});

test("memory, vCPUs, topology, firmware, secure boot and sound", () => {
  const { guest, warnings } = guestOf([
    'displayName = "g"',
    'memsize = "4096"',
    'numvcpus = "4"',
    'cpuid.coresPerSocket = "2"',
    'firmware = "efi"',
    'uefi.secureBoot.enabled = "TRUE"',
    'sound.virtualDev = "hdaudio"',
  ]);
  assert.deepEqual(warnings, []);
  assert.equal(guest.memoryBytes, 4096 * 1024 * 1024);
  assert.equal(guest.vcpus, 4);
  assert.deepEqual(guest.cpuTopology, { sockets: 2, cores: 2, threads: 1 });
  assert.equal(guest.firmware, "uefi");
  assert.equal(guest.uefiSecureBoot, true);
  assert.equal(guest.sound, "ich6");
  assert.equal(guestOf(['displayName = "g"', 'sound.virtualDev = "es1371"']).guest.sound, "es1370");
  assert.equal(guestOf(['displayName = "g"', 'sound.virtualDev = "sb16"']).guest.sound, "sb16");
});

test("odd values are warned about, as virt-v2v does", () => {
  const { guest, warnings } = guestOf([
    'displayName = "g"',
    'numvcpus = "2"',
    'cpuid.coresPerSocket = "4"',
    'firmware = "EFI"',
    'sound.virtualDev = "ac97"',
  ]);
  assert.equal(guest.cpuTopology, null);
  assert.equal(guest.firmware, "bios");
  assert.equal(guest.sound, null);
  assert.deepEqual(warnings, [
    "invalid cpuid.coresPerSocket < number of vCPUs",
    "unknown firmware value 'EFI', assuming BIOS",
    "unknown sound device 'ac97' ignored",
  ]);
});

test("hard disks: SCSI, NVMe, SATA, IDE, each by controller and target", () => {
  const { guest } = guestOf([
    'displayName = "g"',
    'ide0:0.deviceType = "ata-hardDisk"',
    'ide0:0.fileName = "ide.vmdk"',
    'ide1:0.deviceType = "cdrom-image"',
    'ide1:0.fileName = "boot.iso"',
    'sata0:1.fileName = "sata1.vmdk"',
    'sata0:0.deviceType = "cdrom-raw"',
    'sata0:0.fileName = "emptyBackingString"',
    'sata0:2.deviceType = "disk"',
    'sata0:2.fileName = "sata2.vmdk"',
    'nvme0:0.fileName = "nvme.vmdk"',
    'scsi1:0.fileName = "scsi10.vmdk"',
    'scsi0:10.deviceType = "scsi-hardDisk"',
    'scsi0:10.fileName = "scsi010.vmdk"',
    'scsi0:2.deviceType = "plainDisk"',
    'scsi0:2.fileName = "scsi02.vmdk"',
    'scsi0:3.deviceType = "cdrom-image"',
    'scsi0:3.fileName = "scsi-cd.iso"',
    'scsi0:4.present = "FALSE"',
    'scsi0:4.fileName = "absent.vmdk"',
    'scsi0:5.deviceType = "scsi-hardDisk"',
  ]);
  assert.deepEqual(
    guest.disks.map((disk) => [disk.controller, disk.bus, disk.target, disk.fileName]),
    [
      ["scsi", 0, 2, "scsi02.vmdk"],
      ["scsi", 0, 10, "scsi010.vmdk"],
      ["scsi", 1, 0, "scsi10.vmdk"],
      ["nvme", 0, 0, "nvme.vmdk"],
      ["sata", 0, 1, "sata1.vmdk"],
      ["sata", 0, 2, "sata2.vmdk"],
      ["ide", 0, 0, "ide.vmdk"],
    ],
  );
  // Only IDE CD-ROMs are listed; the slot is controller × 2 + target.
  assert.deepEqual(guest.removables, [{ type: "cdrom", controller: "ide", slot: 2 }]);
});

test("NICs by port: generated MAC, model, network or bridge", () => {
  const { guest } = guestOf([
    'displayName = "g"',
    'ethernet1.virtualDev = "E1000"',
    'ethernet1.connectionType = "bridged"',
    'ethernet1.generatedAddress = "00:0c:29:bf:e4:5d"',
    'ethernet0.virtualDev = "vmxnet3"',
    'ethernet0.networkName = "VM Network"',
    'ethernet0.connectionType = "nat"',
    'ethernet0.address = "00:50:56:00:00:01"',
    'ethernet2.present = "FALSE"',
  ]);
  assert.deepEqual(guest.nics, [
    { mac: null, model: "vmxnet3", network: "VM Network", networkType: "network" },
    { mac: "00:0c:29:bf:e4:5d", model: "e1000", network: "ethernet1", networkType: "bridge" },
  ]);
});

test("the guest name falls back on the file name without a disk-image suffix", () => {
  assert.equal(nameFromFile("/a/b/guest.vmx"), "guest");
  assert.equal(nameFromFile("guest.qcow2"), "guest");
  assert.equal(nameFromFile("guest.vmx.bak"), "guest.vmx.bak");
  assert.throws(() => nameFromFile("/a/.vmx"), /invalid input filename \(\/a\/\.vmx\)/);
});

test("disk paths are relative to the .vmx file's folder; flat extents are -flat.vmdk", () => {
  assert.equal(diskPathFor("/vms/g/g.vmx", "g.vmdk"), "/vms/g/g.vmdk");
  assert.equal(diskPathFor("/vms/g/g.vmx", "sub/g_1.vmdk"), "/vms/g/sub/g_1.vmdk");
  assert.equal(diskPathFor("/vms/g/g.vmx", "/vmfs/volumes/ds/x.vmdk"), "/vmfs/volumes/ds/x.vmdk");
  assert.equal(diskPathFor("g.vmx", "g.vmdk"), `${process.cwd()}/g.vmdk`);
  assert.equal(flatVmdkPath("/vmfs/volumes/ds/g/g.vmdk"), "/vmfs/volumes/ds/g/g-flat.vmdk");
  assert.equal(flatVmdkPath("/vmfs/volumes/ds/g/g.raw"), "/vmfs/volumes/ds/g/g.raw");
});

test("ssh:// URIs are checked with virt-v2v's messages", () => {
  assert.deepEqual(
    vmxSourceOfArg("ssh://root@esx.example.com:2222/vmfs/volumes/ds/My%20VM/My%20VM.vmx", "ssh"),
    {
      kind: "ssh",
      uri: "ssh://root@esx.example.com:2222/vmfs/volumes/ds/My%20VM/My%20VM.vmx",
      location: { server: "esx.example.com", port: 2222, user: "root" },
      path: "/vmfs/volumes/ds/My VM/My VM.vmx",
    },
  );
  assert.deepEqual(vmxSourceOfArg("ssh://esx/g.vmx", "ssh"), {
    kind: "ssh",
    uri: "ssh://esx/g.vmx",
    location: { server: "esx", port: null, user: null },
    path: "/g.vmx",
  });
  assert.deepEqual(vmxSourceOfArg("guest.vmx", null), { kind: "file", file: "guest.vmx" });
  assert.throws(
    () => vmxSourceOfArg("http://esx/g.vmx", "ssh"),
    /^UserError: vmx URI start with ‘ssh:\/\/\.\.\.’$/,
  );
  assert.throws(() => vmxSourceOfArg("/vms/g.vmx", "ssh"), /vmx URI remote server name omitted/);
  assert.throws(() => vmxSourceOfArg("ssh:///g.vmx", "ssh"), /vmx URI remote server name omitted/);
  assert.throws(
    () => vmxSourceOfArg("ssh://esx/", "ssh"),
    /vmx URI path component looks incorrect/,
  );
  assert.throws(() => vmxSourceOfArg("ssh://esx", "ssh"), /vmx URI path component looks incorrect/);
});
