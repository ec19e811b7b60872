import assert from "node:assert/strict";
import test from "node:test";
import { UserError } from "@split-v2v/common";
import {
  driveIndex,
  parseDomainXml,
  uriQuote,
  type ParsedDomain,
  type VolumeXmlReader,
} from "../src/index.js";

interface Parsed {
  domain: ParsedDomain;
  warnings: string[];
}

async function parse(xml: string, readVolumeXml: VolumeXmlReader | null = null): Promise<Parsed> {
  const warnings: string[] = [];
  const domain = await parseDomainXml(xml, {
    label: "test.xml",
    readVolumeXml,
    warn: (text) => warnings.push(text),
  });
  return { domain, warnings };
}

const FILE_DISK = `<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/a.img'/><target dev='vda' bus='virtio'/></disk>`;

/** A domain with `devices` inside <devices> and `extra` beside it. */
function domain(devices: string, extra = "", type = "kvm"): string {
  return `<domain type='${type}'><name>guest</name>${extra}<devices>${devices}</devices></domain>`;
}

test("the domain's facts: hypervisor, name, genid, memory, CPU, features, and 2.2's defaults", async () => {
  const { domain: parsed, warnings } = await parse(
    domain(
      FILE_DISK,
      `<genid>43dc0cf8-809b-4adb-9bea-a9abb5f3d90d</genid><memory unit='KiB'>2097152</memory>
       <vcpu placement='static'>4</vcpu>
       <cpu><vendor>Intel</vendor><model>Broadwell</model><topology sockets='1' cores='2' threads='2'/></cpu>
       <features><acpi/><apic/><hyperv><relaxed state='on'/></hyperv></features>`,
    ),
  );
  assert.deepEqual(warnings, []);
  assert.deepEqual(parsed.source, {
    name: "guest",
    hypervisor: "kvm",
    genid: "43dc0cf8-809b-4adb-9bea-a9abb5f3d90d",
    memoryBytes: 2 * 1024 ** 3,
    vcpus: 4,
    cpuVendor: "Intel",
    cpuModel: "Broadwell",
    cpuTopology: { sockets: 1, cores: 2, threads: 2 },
    features: ["acpi", "apic", "hyperv"],
    firmware: "unknown",
    uefiSecureBoot: false,
    display: null,
    sound: null,
    removables: [],
    nics: [],
  });
  assert.deepEqual(parsed.vmware, { moref: null, datacenterPath: null });

  const bare = (await parse(domain(FILE_DISK, "<genid></genid>", "xen"))).domain.source;
  assert.equal(bare.hypervisor, "xen");
  assert.equal(bare.genid, null);
  assert.equal(bare.memoryBytes, 1024 ** 3, "1 GiB when <memory> is absent");
  assert.equal(bare.vcpus, 1);
  assert.equal(bare.cpuTopology, null);
  assert.deepEqual(bare.features, []);
  // Any type is kept as virt-v2v's OtherHV.
  assert.equal((await parse(domain(FILE_DISK, "", "bhyve"))).domain.source.hypervisor, "bhyve");
});

test("vCPUs come from the topology when <vcpu> is absent; a partial topology is none", async () => {
  const vcpus = async (topology: string) =>
    (await parse(domain(FILE_DISK, `<cpu>${topology}</cpu>`))).domain.source;
  assert.equal((await vcpus("<topology sockets='4' cores='8' threads='2'/>")).vcpus, 64);
  const partial = await vcpus("<topology sockets='2' cores='3'/>");
  assert.equal(partial.vcpus, 6);
  assert.equal(partial.cpuTopology, null);
});

test("numbers are read as OCaml reads them; a bad one is 2.2's error", async () => {
  assert.equal(
    (await parse(domain(FILE_DISK, "<memory>0x100000</memory>"))).domain.source.memoryBytes,
    1024 ** 3,
  );
  await assert.rejects(
    parse(domain(FILE_DISK, "<memory>lots</memory>")),
    (err: unknown) =>
      err instanceof UserError &&
      err.message ===
        "expecting XML expression to return an integer (expression: /domain/memory/text(), matching string: lots)",
  );
  await assert.rejects(
    parse(domain(FILE_DISK, "<vcpu>0</vcpu>")),
    /the number of vCPUs is 0: it must be a positive number/,
  );
});

test("errors: not XML, no type, no name, no disk", async () => {
  await assert.rejects(parse("<domain"), (err: unknown) => {
    assert.ok(err instanceof UserError);
    assert.match(err.message, /^test\.xml is not well-formed XML: line 1:/);
    return true;
  });
  await assert.rejects(
    parse(`<domain><name>x</name><devices>${FILE_DISK}</devices></domain>`),
    /^UserError: in the libvirt XML metadata, <domain type='...'> is missing or empty$/,
  );
  await assert.rejects(
    parse(`<domain type='kvm'><name></name><devices>${FILE_DISK}</devices></domain>`),
    /^UserError: in the libvirt XML metadata, <name> is missing or empty$/,
  );
  await assert.rejects(
    parse(domain("<disk type='file' device='cdrom'><source file='/x.iso'/></disk>")),
    /^UserError: this guest has no non-removable disks$/,
  );
});

test("every disk type, with its controller and format", async () => {
  const { domain: parsed, warnings } = await parse(
    domain(
      `<controller type='scsi' model='virtio-scsi'/>
       <disk type='block' device='disk'><driver type='aio'/><source dev='/dev/vg/root'/><target bus='scsi'/></disk>
       <disk type='file' device='disk'><driver type='qcow2'/><source file='/b.qcow2'/><target bus='ide'/></disk>
       <disk type='file' device='disk'><source file='/c.img'/><target bus='sata'/></disk>
       <disk type='network' device='disk'><source protocol='nbd'><host name='localhost' port='10809'/></source><target bus='usb'/></disk>
       <disk type='network' device='disk'><driver type='raw'/><source protocol='https' name='/dir/my disk_1.img'><host name='web.example' port='443'/></source></disk>
       <disk type='network' device='disk'><source protocol='http' name='/d.img'><host name='web.example' port='8080'/></source></disk>
       <disk type='network' device='disk'><source protocol='http' name='/e.img'><host name='web.example' port='80'/></source></disk>
       <disk type='network' device='disk'><source protocol='http'><host name='web.example'/></source></disk>`,
    ),
  );
  assert.deepEqual(warnings, []);
  assert.deepEqual(parsed.disks, [
    { format: "raw", controller: "virtio-scsi", source: { kind: "block", path: "/dev/vg/root" } },
    { format: "qcow2", controller: "ide", source: { kind: "file", path: "/b.qcow2" } },
    { format: null, controller: "sata", source: { kind: "file", path: "/c.img" } },
    { format: null, controller: null, source: { kind: "nbd", host: "localhost", port: 10809 } },
    {
      format: "raw",
      controller: null,
      source: { kind: "http", url: "https://web.example/dir/my%20disk%5f1.img" },
    },
    {
      format: null,
      controller: null,
      source: { kind: "http", url: "http://web.example:8080/d.img" },
    },
    { format: null, controller: null, source: { kind: "http", url: "http://web.example/e.img" } },
    { format: null, controller: null, source: { kind: "http", url: "http://web.example" } },
  ]);
  // Without a virtio-scsi controller, bus='scsi' is plain SCSI.
  const scsi = await parse(
    domain("<disk type='file' device='disk'><source file='/a'/><target bus='scsi'/></disk>"),
  );
  assert.equal(scsi.domain.disks[0]!.controller, "scsi");
});

test("disks 2.2 ignores, each with its warning", async () => {
  const { domain: parsed, warnings } = await parse(
    domain(
      `${FILE_DISK}
       <disk device='disk'><source file='/no-type'/></disk>
       <disk type='file' device='disk'/>
       <disk type='network' device='disk'><source name='x'/></disk>
       <disk type='network' device='disk'><source protocol='nbd'><host name='remote' port='10809'/></source></disk>
       <disk type='network' device='disk'><source protocol='nbd'><host name='localhost'/></source></disk>
       <disk type='network' device='disk'><source protocol='rbd' name='pool/img'/></disk>
       <disk type='dir' device='disk'><source dir='/tmp'/></disk>`,
    ),
  );
  assert.equal(parsed.disks.length, 1);
  assert.deepEqual(warnings, [
    "<disk> element with no type attribute ignored",
    "<disk type='network'> was ignored",
    "<disk type='network'> with <source protocol='nbd'> was ignored",
    "<disk type='network'> with <source protocol='nbd'> was ignored",
    "<disk type='network'> with <source protocol='rbd'> was ignored",
    "<disk type='dir'> was ignored",
  ]);
  await assert.rejects(
    parse(
      domain(
        "<disk type='network' device='disk'><source protocol='http' name='/x'><host name='h' port='0'/></source></disk>",
      ),
    ),
    /^UserError: invalid port number in libvirt XML$/,
  );
});

test("volumes are read through the reader; without one, the user is told to use -i libvirt", async () => {
  const volumeDisk = `<disk type='volume' device='disk'><driver type='raw'/><source pool='default' volume='v1'/><target bus='virtio'/></disk>`;
  const asked: string[] = [];
  const reader: VolumeXmlReader = (pool, volume) => {
    asked.push(`${pool}/${volume}`);
    return Promise.resolve(
      volume === "v1"
        ? "<volume type='file'><target><path>/var/lib/libvirt/images/v1.qcow2</path><format type='qcow2'/></target></volume>"
        : "<volume type='block'><target><path>/dev/sdb</path></target></volume>",
    );
  };
  const { domain: parsed, warnings } = await parse(
    domain(
      `${volumeDisk}<disk type='volume' device='disk'><source pool='default' volume='lv'/></disk>
       <disk type='volume' device='disk'><source pool='default'/></disk>`,
    ),
    reader,
  );
  assert.deepEqual(asked, ["default/v1", "default/lv"]);
  assert.deepEqual(parsed.disks, [
    {
      format: "qcow2",
      controller: "virtio-blk",
      source: { kind: "file", path: "/var/lib/libvirt/images/v1.qcow2" },
    },
  ]);
  assert.deepEqual(warnings, ["<disk type='volume'> with <volume type='block'> was ignored"]);

  await assert.rejects(parse(domain(volumeDisk)), (err: unknown) => {
    assert.ok(err instanceof UserError);
    assert.equal(
      err.message,
      "test.xml: <disk type='volume'> (volume ‘v1’ in pool ‘default’) needs a libvirt connection to find the volume; use -i libvirt",
    );
    return true;
  });
});

test("CD-ROMs and floppies: controller and slot from the device name, with 2.2's warnings", async () => {
  const removable = (device: string, dev: string | null, bus: string | null) =>
    `<disk type='file' device='${device}'><target${dev === null ? "" : ` dev='${dev}'`}${bus === null ? "" : ` bus='${bus}'`}/></disk>`;
  const { domain: parsed, warnings } = await parse(
    domain(
      [
        FILE_DISK,
        "<controller type='scsi' model='virtio-scsi'/>",
        removable("cdrom", "hdc", "ide"),
        removable("cdrom", "sdb", "sata"),
        removable("cdrom", "sdaa", "scsi"),
        removable("cdrom", "sr1", null),
        removable("floppy", "fda", "fdc"),
        removable("cdrom", "xvdd", "xen"),
        removable("cdrom", "vdb", "virtio"),
        removable("cdrom", null, "ide"),
        removable("cdrom", "srx", "ide"),
        removable("cdrom", "hd1", "ide"),
        removable("cdrom", "hd", "ide"),
        removable("cdrom", "cdrom0", "ide"),
      ].join(""),
    ),
  );
  assert.deepEqual(parsed.source.removables, [
    { type: "cdrom", controller: "ide", slot: 2 },
    { type: "cdrom", controller: "sata", slot: 1 },
    { type: "cdrom", controller: "virtio-scsi", slot: 26 },
    { type: "cdrom", controller: null, slot: 1 },
    { type: "floppy", controller: null, slot: 0 },
    { type: "cdrom", controller: null, slot: 3 },
    { type: "cdrom", controller: "virtio-blk", slot: 1 },
    { type: "cdrom", controller: "ide", slot: null },
    { type: "cdrom", controller: "ide", slot: null },
    { type: "cdrom", controller: "ide", slot: null },
    { type: "cdrom", controller: "ide", slot: null },
    { type: "cdrom", controller: "ide", slot: null },
  ]);
  assert.deepEqual(warnings, [
    "could not parse device name ‘srx’ from the source libvirt XML",
    "could not parse device name ‘hd1’ from the source libvirt XML",
    "could not parse device name ‘hd’ from the source libvirt XML",
    "<target dev='cdrom0'> was ignored because the device name could not be recognized",
  ]);
});

test("NICs: network and bridge, MACs, models, empty bridges named by position", async () => {
  const { domain: parsed, warnings } = await parse(
    domain(
      `${FILE_DISK}
       <interface type='bridge'><mac address='00:00:00:00:00:00'/><source bridge='VM Network'/><model type='e1000'/></interface>
       <interface type='direct'><source dev='eth0' mode='bridge'/></interface>
       <interface type='bridge'><source bridge=''/><model type='vmxnet3'/></interface>
       <interface type='network'><model type='virtio'/><source network='default'/><mac address='52:54:00:01:02:03'/></interface>
       <interface type='user'><mac address='52:54:00:01:02:04'/></interface>
       <interface type='network'><mac address='52:54:00:01:02:05'/></interface>`,
    ),
  );
  assert.deepEqual(parsed.source.nics, [
    { mac: null, model: "e1000", network: "VM Network", networkType: "bridge" },
    { mac: null, model: "vmxnet3", network: "eth2", networkType: "bridge" },
    { mac: "52:54:00:01:02:03", model: "virtio", network: "default", networkType: "network" },
  ]);
  assert.deepEqual(warnings, ["this guest has a direct network interface which will be ignored"]);
});

test("host devices and direct interfaces: singular and plural warnings", async () => {
  const { warnings } = await parse(
    domain(
      `${FILE_DISK}<hostdev mode='subsystem' type='pci'/><hostdev mode='subsystem' type='usb'/>
       <interface type='direct'/><interface type='direct'/>`,
    ),
  );
  assert.deepEqual(warnings, [
    "this guest has passthrough host devices which will be ignored",
    "this guest has direct network interfaces which will be ignored",
  ]);
  const single = await parse(domain(`${FILE_DISK}<hostdev mode='subsystem' type='pci'/>`));
  assert.deepEqual(single.warnings, [
    "this guest has a passthrough host device which will be ignored",
  ]);
});

test("sound: the first model, unknown ones warned about", async () => {
  const sound = async (devices: string) => parse(domain(`${FILE_DISK}${devices}`));
  assert.equal(
    (await sound("<sound model='ich9'/><sound model='ac97'/>")).domain.source.sound,
    "ich9",
  );
  assert.equal((await sound("<sound/>")).domain.source.sound, null);
  const unknown = await sound("<sound model='ich7'/>");
  assert.equal(unknown.domain.source.sound, null);
  assert.deepEqual(unknown.warnings, ["unknown sound model ich7 ignored"]);
});

test("graphics: the first device, its keymap, password, listen and fixed port", async () => {
  const display = async (graphics: string) =>
    parse(domain(`${FILE_DISK}${graphics}<graphics type='spice'/>`));
  assert.deepEqual(
    (
      await display(
        "<graphics type='vnc' port='5901' autoport='no' keymap='fr' passwd='secret' listen='0.0.0.0'/>",
      )
    ).domain.source.display,
    {
      type: "vnc",
      keymap: "fr",
      password: "secret",
      listen: { kind: "address", value: "0.0.0.0" },
      port: 5901,
    },
  );
  const listen = async (element: string) =>
    (await display(`<graphics type='spice' autoport='yes' port='5900'>${element}</graphics>`))
      .domain.source.display;
  assert.deepEqual(await listen(""), {
    type: "spice",
    keymap: null,
    password: null,
    listen: { kind: "none", value: null },
    port: null,
  });
  assert.deepEqual((await listen("<listen type='address' address='::1'/>"))?.listen, {
    kind: "address",
    value: "::1",
  });
  assert.deepEqual((await listen("<listen type='address'/>"))?.listen, {
    kind: "none",
    value: null,
  });
  assert.deepEqual((await listen("<listen type='network' network='net1'/>"))?.listen, {
    kind: "network",
    value: "net1",
  });
  assert.deepEqual((await listen("<listen type='socket' socket='/run/s'/>"))?.listen, {
    kind: "socket",
    value: "/run/s",
  });
  assert.deepEqual((await listen("<listen type='socket'/>"))?.listen, {
    kind: "socket",
    value: null,
  });
  assert.deepEqual((await listen("<listen type='none'/>"))?.listen, {
    kind: "private-fd",
    value: null,
  });
  const odd = await display("<graphics type='vnc'><listen type='odd'/></graphics>");
  assert.deepEqual(odd.domain.source.display?.listen, { kind: "none", value: null });
  assert.deepEqual(odd.warnings, ["<listen type='odd'> in the input libvirt XML was ignored"]);

  const local = await display("<graphics type='sdl'/>");
  assert.equal(local.domain.source.display, null);
  assert.deepEqual(local.warnings, [
    "virt-v2v does not support local displays, so <graphics type='sdl'> in the input libvirt XML was ignored",
  ]);
  const rdp = await display("<graphics type='rdp'/>");
  assert.deepEqual(rdp.warnings, [
    "display <graphics type='rdp'> in the input libvirt XML was ignored",
  ]);
  assert.equal((await display("<graphics/>")).domain.source.display, null);
});

test("firmware and secure boot", async () => {
  const os = async (element: string) =>
    (await parse(domain(FILE_DISK, `<os${element}`))).domain.source;
  assert.equal((await os(" firmware='efi'><type>hvm</type></os>")).firmware, "uefi");
  assert.equal((await os(" firmware='bios'/>")).firmware, "bios");
  assert.equal((await os(" firmware='odd'><loader type='pflash'/></os>")).firmware, "unknown");
  assert.equal(
    (await os("><loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE.fd</loader></os>"))
      .firmware,
    "uefi",
  );
  assert.equal((await os("><loader type='rom'/></os>")).firmware, "unknown");
  assert.equal((await os("/>")).firmware, "unknown");
  const secure = await os(
    " firmware='efi'><firmware><feature enabled='yes' name='secure-boot'/></firmware></os>",
  );
  assert.equal(secure.uefiSecureBoot, true);
  assert.equal((await os("><loader type='pflash' secure='yes'/></os>")).uefiSecureBoot, true);
  assert.equal(
    (
      await os(
        " firmware='efi'><firmware><feature enabled='no' name='secure-boot'/></firmware></os>",
      )
    ).uefiSecureBoot,
    false,
  );
});

test("the vmware namespace: moref and datacenter path, whatever the prefix", async () => {
  const { domain: parsed } = await parse(
    `<domain type='vmware' xmlns:v='http://libvirt.org/schemas/domain/vmware/1.0'><name>esx</name>
       <v:datacenterpath>Datacenter/folder</v:datacenterpath><v:moref>vm-42</v:moref>
       <moref>not-this-one</moref>
       <devices>${FILE_DISK}</devices></domain>`,
  );
  assert.deepEqual(parsed.vmware, { moref: "vm-42", datacenterPath: "Datacenter/folder" });
});

test("driveIndex and uriQuote", () => {
  assert.equal(driveIndex("a"), 0);
  assert.equal(driveIndex("c"), 2);
  assert.equal(driveIndex("z"), 25);
  assert.equal(driveIndex("aa"), 26);
  assert.equal(driveIndex("ab"), 27);
  for (const bad of ["", "A", "a1", "-"]) assert.equal(driveIndex(bad), null);
  assert.equal(uriQuote("/a-b.c/d e_f~ü"), "/a-b.c/d%20e%5ff%7e%c3%bc");
});
