import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { UserError } from "@split-v2v/common";
import { parseOvf, type OvfGuest } from "../src/index.js";
import { UPSTREAM_MISSING, upstreamOvaDir } from "./ova-builder.js";

async function parse(text: string): Promise<{ guest: OvfGuest; warnings: string[] }> {
  const warnings: string[] = [];
  const guest = await parseOvf(text, "test.ovf", (warning) => warnings.push(warning));
  return { guest, warnings };
}

/** A VMware-style OVF with the given Items inside VirtualHardwareSection. */
function descriptor(options: {
  items: string;
  name?: string | null;
  files?: string;
  disks?: string;
  extra?: string;
}): string {
  const name = options.name === undefined ? "guest" : options.name;
  return `<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vmw="http://www.vmware.com/schema/ovf">
  <References>${options.files ?? '<File ovf:href="disk1.vmdk" ovf:id="file1"/>'}</References>
  <DiskSection>${options.disks ?? '<Disk ovf:diskId="vmdisk1" ovf:fileRef="file1"/>'}</DiskSection>
  <VirtualSystem ovf:id="vm">
    ${name === null ? "" : `<Name>${name}</Name>`}
    <VirtualHardwareSection>
      ${options.items}
      ${options.extra ?? ""}
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
`;
}

const SCSI = `<Item><rasd:ElementName>SCSI controller 0</rasd:ElementName><rasd:InstanceID>3</rasd:InstanceID><rasd:ResourceType>6</rasd:ResourceType></Item>`;
const DISK = `<Item><rasd:ElementName>Hard disk 1</rasd:ElementName><rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource><rasd:InstanceID>9</rasd:InstanceID><rasd:Parent>3</rasd:Parent><rasd:ResourceType>17</rasd:ResourceType></Item>`;

test("upstream VMware descriptors are read as virt-v2v reads them", async (t) => {
  const directory = upstreamOvaDir();
  if (directory === null) {
    t.skip(UPSTREAM_MISSING);
    return;
  }
  const read = async (name: string) => parse(await readFile(path.join(directory, name), "utf8"));

  const tar = await read("test-i-ova-tar.ovf");
  assert.deepEqual(tar.warnings, []);
  assert.deepEqual(tar.guest, {
    name: "2K8R2EESP1_2_Medium",
    memoryBytes: 1024 * 1024 * 1024,
    vcpus: 1,
    cpuTopology: null,
    firmware: "uefi",
    disks: [
      {
        id: 0,
        controller: "scsi",
        href: "disk1.vmdk",
        compressed: false,
        item: 'Item "Hard disk 1"',
      },
    ],
    removables: [{ type: "cdrom", controller: "ide", slot: 0 }],
    nics: [{ mac: null, model: "e1000", network: "PG-VLAN60", networkType: "bridge" }],
  });

  const gz = await read("test-i-ova-gz.ovf");
  assert.equal(gz.guest.firmware, "bios");
  assert.deepEqual(
    gz.guest.disks.map((disk) => [disk.href, disk.compressed]),
    [["disk1.vmdk.gz", true]],
  );

  const two = await read("test-i-ova-two-disks.ovf");
  assert.deepEqual(
    two.guest.disks.map((disk) => [disk.id, disk.href, disk.controller]),
    [
      [0, "disk1.vmdk", "scsi"],
      [1, "disk2.vmdk", "scsi"],
    ],
  );

  // CRLF line endings, no vmw namespace, no firmware key, no NIC.
  const checksums = await read("test-i-ova-checksums.ovf");
  assert.deepEqual(checksums.warnings, []);
  assert.equal(checksums.guest.name, "ova-test");
  assert.equal(checksums.guest.memoryBytes, 4096 * 1024 * 1024);
  assert.equal(checksums.guest.vcpus, 2);
  assert.equal(checksums.guest.firmware, "unknown");
  assert.deepEqual(checksums.guest.removables, [{ type: "cdrom", controller: "ide", slot: 1 }]);
  assert.deepEqual(checksums.guest.nics, []);
});

test("CPU topology, NICs, floppies and SATA as in VMware exports", async () => {
  const { guest, warnings } = await parse(
    descriptor({
      items: `${SCSI}
        <Item><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>8</rasd:VirtualQuantity><vmw:CoresPerSocket ovf:required="false">4</vmw:CoresPerSocket></Item>
        <Item><rasd:AllocationUnits>byte * 2^30</rasd:AllocationUnits><rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>3</rasd:VirtualQuantity></Item>
        <Item><rasd:InstanceID>4</rasd:InstanceID><rasd:ResourceType>20</rasd:ResourceType></Item>
        ${DISK}
        <Item><rasd:AddressOnParent>1</rasd:AddressOnParent><rasd:InstanceID>10</rasd:InstanceID><rasd:Parent>4</rasd:Parent><rasd:ResourceType>16</rasd:ResourceType></Item>
        <Item><rasd:AddressOnParent>0</rasd:AddressOnParent><rasd:InstanceID>11</rasd:InstanceID><rasd:ResourceType>14</rasd:ResourceType></Item>
        <Item><rasd:Address>00:50:56:aa:bb:cc</rasd:Address><rasd:Connection>VM Network</rasd:Connection><rasd:InstanceID>12</rasd:InstanceID><rasd:ResourceSubType>VmxNet3</rasd:ResourceSubType><rasd:ResourceType>10</rasd:ResourceType></Item>
        <Item><rasd:InstanceID>13</rasd:InstanceID><rasd:ResourceType>10</rasd:ResourceType></Item>`,
      extra: `<vmw:Config ovf:required="false" vmw:key="firmware" vmw:value="bios"/>`,
    }),
  );
  assert.deepEqual(warnings, []);
  assert.deepEqual(guest.cpuTopology, { sockets: 2, cores: 4, threads: 1 });
  assert.equal(guest.vcpus, 8);
  assert.equal(guest.memoryBytes, 3 * 1024 ** 3);
  assert.equal(guest.firmware, "bios");
  assert.deepEqual(guest.removables, [
    { type: "cdrom", controller: "sata", slot: 1 },
    { type: "floppy", controller: null, slot: 0 },
  ]);
  assert.deepEqual(guest.nics, [
    { mac: "00:50:56:aa:bb:cc", model: "vmxnet3", network: "VM Network", networkType: "bridge" },
    // No Connection: virt-v2v names the network after the NIC's index.
    { mac: null, model: null, network: "eth1", networkType: "network" },
  ]);
});

test("defaults and virt-v2v's warnings", async () => {
  const { guest, warnings } = await parse(
    descriptor({
      name: null,
      items: `${SCSI}
        <Item><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>2</rasd:VirtualQuantity><vmw:CoresPerSocket>4</vmw:CoresPerSocket></Item>
        <Item><rasd:HostResource>/disk/vmdisk1</rasd:HostResource><rasd:InstanceID>9</rasd:InstanceID><rasd:Parent>77</rasd:Parent><rasd:ResourceType>17</rasd:ResourceType></Item>
        <Item><rasd:InstanceID>8</rasd:InstanceID><rasd:ResourceType>1</rasd:ResourceType></Item>
        <Item><rasd:InstanceID>10</rasd:InstanceID><rasd:Parent>8</rasd:Parent><rasd:ResourceType>15</rasd:ResourceType></Item>`,
    }),
  );
  assert.equal(guest.name, null);
  assert.equal(guest.memoryBytes, 1024 ** 3);
  assert.equal(guest.cpuTopology, null);
  assert.equal(guest.firmware, "unknown");
  assert.deepEqual(guest.disks[0]?.controller, null);
  assert.deepEqual(warnings, [
    "invalid vmw:CoresPerSocket < number of cores",
    "ova disk has no parent controller, please report this as a bug supplying the *.ovf file extracted from the ova",
    "ova disk has an unknown VMware controller type (1), please report this as a bug supplying the *.ovf file extracted from the ova",
  ]);
});

test("a malformed OVF is a clear error naming what is wrong", async () => {
  const rejects = async (text: string, message: RegExp) => {
    await assert.rejects(parse(text), (err: unknown) => {
      assert.ok(err instanceof UserError, `a UserError, not ${String(err)}`);
      assert.match(err.message, message);
      return true;
    });
  };
  await rejects(
    descriptor({ items: DISK }).replace("</VirtualSystem>", "</VirtualSystm>"),
    /^-i ova: the OVF file test\.ovf is not well-formed XML: line 11: parser error : Opening and ending tag mismatch: VirtualSystem line 5 and VirtualSystm$/,
  );
  await rejects(
    descriptor({
      items: `<Item><rasd:ElementName>Memory</rasd:ElementName><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>lots</rasd:VirtualQuantity></Item>`,
    }),
    /^-i ova: invalid OVF: rasd:VirtualQuantity of Item "Memory" is not an integer: "lots"/,
  );
  await rejects(
    descriptor({ items: DISK, extra: `<vmw:Config vmw:key="firmware" vmw:value="coreboot"/>` }),
    /unknown Config:firmware value coreboot \(expected "bios" or "efi"\)/,
  );
  await rejects(
    descriptor({ items: DISK.replace("ovf:/disk/vmdisk1", "vmdisk1") }),
    /could not parse disk rasd:HostResource from OVF document: "vmdisk1" in Item "Hard disk 1"/,
  );
  await rejects(
    descriptor({ items: DISK, disks: '<Disk ovf:diskId="other" ovf:fileRef="file1"/>' }),
    /error parsing disk fileRef: no <DiskSection><Disk ovf:diskId="vmdisk1">/,
  );
  await rejects(
    descriptor({ items: DISK, files: '<File ovf:id="file2" ovf:href="x.vmdk"/>' }),
    /no href in ovf:File \(id=file1\)/,
  );
  await rejects(
    descriptor({
      items: DISK,
      files: '<File ovf:id="file1" ovf:href="x.vmdk" ovf:compression="bzip2"/>',
    }),
    /unsupported compression in OVF: bzip2/,
  );
  await rejects(
    `<?xml version="1.0"?><Domain/>`,
    /test\.ovf has the root element <Domain>, not <Envelope>/,
  );
});

test("non-ASCII and markup characters in values come back intact", async () => {
  const { guest } = await parse(
    descriptor({
      name: "Gäst &amp; ‘co’ :12:",
      items: `${SCSI}${DISK}<Item><rasd:Connection>réseau 𝄞</rasd:Connection><rasd:ResourceType>10</rasd:ResourceType></Item>`,
    }),
  );
  assert.equal(guest.name, "Gäst & ‘co’ :12:");
  assert.equal(guest.nics[0]?.network, "réseau 𝄞");
});
