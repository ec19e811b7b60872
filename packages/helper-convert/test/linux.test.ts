import { test } from "node:test";
import assert from "node:assert/strict";
import type { Application2 } from "@split-v2v/libguestfs";
import type { MetadataIn } from "@split-v2v/metadata-schema";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import {
  applianceDiskNames,
  commentOutStanzas,
  ifupdownStanza,
  networkManagerKeyfile,
  netplanFile,
  networkdFile,
  buildDeviceMap,
  configuredInterfaceNames,
  guestAgentInstallScript,
  linkFileText,
  pinNames,
  udevRuleLine,
  initramfsModules,
  packagesToRemove,
  remapDevice,
  remapKernelArguments,
} from "../src/index.js";

const source = (
  controllers: Array<MetadataIn["source"]["disks"][number]["controller"]>,
): MetadataIn["source"] => ({
  name: "g",
  hypervisor: "vmware",
  genid: null,
  memoryBytes: 1 << 30,
  vcpus: 1,
  cpuVendor: null,
  cpuModel: null,
  cpuTopology: null,
  features: [],
  firmware: "bios",
  uefiSecureBoot: false,
  display: null,
  sound: null,
  disks: controllers.map((controller, id) => ({
    id,
    socket: `in${id}`,
    virtualSize: 1,
    controller,
  })),
  removables: [],
  nics: [],
});

test("the device map follows the source controllers, in disk order", () => {
  const map = buildDeviceMap(source(["scsi", "ide", "nvme", "virtio-blk"]), "vd", "sd");
  assert.equal(map.get("sda"), "vda");
  assert.equal(map.get("sdb"), "vdb", "IDE disks are sdX under libata");
  assert.equal(map.get("nvme2n1"), "vdc");
  assert.equal(map.get("vdd"), "vdd");
  assert.equal(map.get("xvda"), "vda", "Xen's names map too");
  const ide = buildDeviceMap(source([null]), "hd", "hd");
  assert.equal(ide.get("hda"), "hda");
});

test("device names are rewritten; UUID=, LABEL= and LVM names are left alone; unknown disks warned", () => {
  const map = buildDeviceMap(source(["scsi", "scsi"]), "vd", "sd");
  const unknown: string[] = [];
  const warn = (device: string) => unknown.push(device);
  assert.equal(remapDevice("/dev/sda1", map, warn), "/dev/vda1");
  assert.equal(remapDevice("/dev/sdb", map, warn), "/dev/vdb");
  assert.equal(remapDevice("UUID=0b4d-11", map, warn), "UUID=0b4d-11");
  assert.equal(remapDevice("/dev/mapper/vg-root", map, warn), "/dev/mapper/vg-root");
  assert.equal(remapDevice("/dev/sr0", map, warn), "/dev/sr0");
  assert.equal(remapDevice("/dev/sdz3", map, warn), "/dev/sdz3");
  assert.deepEqual(unknown, ["sdz"]);
  assert.equal(
    remapKernelArguments('"quiet root=/dev/sda1 resume=/dev/sdb2 console=ttyS0"', map, warn),
    '"quiet root=/dev/vda1 resume=/dev/vdb2 console=ttyS0"',
  );
  assert.equal(
    remapKernelArguments("linux /vmlinuz-6.1.0-13-amd64 root=/dev/sda1 ro quiet\n", map, warn),
    "linux /vmlinuz-6.1.0-13-amd64 root=/dev/vda1 ro quiet\n",
  );
});

test("VMware, VirtualBox, Xen and Parallels tools are removed; open-vm-tools stays with ubuntu-server", () => {
  const app = (name: string) => ({ app2_name: name }) as Application2;
  const apps = [
    "bash",
    "open-vm-tools",
    "open-vm-tools-desktop",
    "vmware-tools-core",
    "vmware-tools-libraries-nox",
    "virtualbox-guest-utils",
    "xe-guest-utilities",
    "qemu-guest-agent",
  ].map(app);
  assert.deepEqual(packagesToRemove(apps, "debian"), [
    "open-vm-tools",
    "open-vm-tools-desktop",
    "virtualbox-guest-utils",
    "vmware-tools-core",
    "xe-guest-utilities",
  ]);
  assert.deepEqual(packagesToRemove([...apps, app("ubuntu-server")], "debian"), [
    "open-vm-tools-desktop",
    "virtualbox-guest-utils",
    "vmware-tools-core",
    "xe-guest-utilities",
  ]);
});

test("initramfs modules: virt-v2v's list in its order, limited to the kernel's modules", () => {
  const kernel = (modules: string[]) => ({
    version: "6.1",
    vmlinuz: "",
    initrd: "",
    modules: new Set(modules),
    config: new Map<string, string>(),
  });
  assert.deepEqual(
    initramfsModules(kernel(["virtio_pci", "virtio_blk", "virtio_net", "bochs", "ext4"])),
    ["virtio_blk", "virtio_net", "virtio_pci", "bochs"],
  );
  assert.deepEqual(initramfsModules(kernel(["ext4"])), ["sym53c8xx"]);
});

test("the guest agent's firstboot script is valid sh, detaches from the boot and bounds every network step", async () => {
  for (const [family, manager] of [
    ["debian", "apt-get"],
    ["rhel", "$manager"],
    ["suse", "zypper"],
  ] as const) {
    const script = guestAgentInstallScript(family, family === "rhel" ? "rhel" : family, 9);
    await execa("sh", ["-n"], { input: script }); // throws on a syntax error
    // Under systemd it hands itself to a transient unit, so the first boot does not wait on it.
    assert.match(script, /exec systemd-run --no-block .*--setenv=V2V_DETACHED=1/s, family);
    // A bounded wait for a route, then give up with a reason instead of retrying.
    assert.match(script, /give_up "no default route after 30 s"/, family);
    assert.match(script, new RegExp(`bounded 900 ${manager.replace("$", "\\$")} `), family);
    assert.doesNotMatch(script, /seq 1 120/, family);
  }
  const debian = guestAgentInstallScript("debian", "debian", 12);
  assert.match(debian, /Acquire::Retries=0/);
  assert.match(debian, /Acquire::http::Timeout=15/);
  assert.match(debian, /bounded 15 getent hosts "\$host"/);
  assert.match(
    guestAgentInstallScript("rhel", "rhel", 9),
    /--setopt=retries=0 --setopt=timeout=15/,
  );
});

test("the Debian script finds every repository host of sources.list, .list and deb822 .sources", async () => {
  const script = guestAgentInstallScript("debian", "debian", 12);
  // Run the script's own host-finding sed program against sample files.
  const sedLines = /sed -n (-e '[^']*' \\\n\s*-e '[^']*') \\/.exec(script);
  assert.ok(sedLines?.[1], "the script extracts hosts with sed");
  const expressions = [...sedLines[1].matchAll(/-e '([^']*)'/g)].map((match) => match[1] ?? "");
  const input = [
    "deb http://deb.debian.org/debian bookworm main",
    "deb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] https://security.debian.org:443/debian-security bookworm-security main",
    "# deb http://commented.example.org/debian bookworm main",
    "deb-src http://src.example.org/debian bookworm main",
    "Types: deb",
    "URIs: http://ftp.example.net/debian",
  ].join("\n");
  const result = await execa("sed", ["-n", ...expressions.flatMap((e) => ["-e", e])], { input });
  assert.deepEqual(String(result.stdout).split("\n").sort(), [
    "deb.debian.org",
    "ftp.example.net",
    "security.debian.org",
    "src.example.org",
  ]);
});

test("network names: every stack's configuration is read; aliases, VLANs, eth* and lo are not pinned", () => {
  const names = configuredInterfaceNames([
    {
      path: "/etc/network/interfaces",
      text: "auto lo\niface lo inet loopback\n\nallow-hotplug ens192\niface ens192 inet static\n  address 10.1.2.3/24\n# iface ens999 inet dhcp\n",
    },
    {
      path: "/etc/network/interfaces.d/vlan",
      text: "auto ens224.100\niface ens224.100 inet dhcp\niface ens192:1 inet static\n",
    },
    {
      path: "/etc/NetworkManager/system-connections/Wired.nmconnection",
      text: "[connection]\nid=Wired\ntype=ethernet\ninterface-name=ens256\n",
    },
    {
      path: "/etc/sysconfig/network-scripts/ifcfg-ens161",
      text: 'DEVICE="ens161"\nBOOTPROTO=dhcp\n',
    },
    { path: "/etc/sysconfig/network-scripts/ifcfg-eth0", text: "DEVICE=eth0\n" },
    {
      path: "/etc/netplan/50-cloud-init.yaml",
      text: [
        "network:",
        "  version: 2",
        "  ethernets:",
        "    ens33:",
        "      dhcp4: true",
        "    lan:",
        "      match:",
        "        macaddress: 00:50:56:00:00:01",
        "      set-name: lan0",
        "  bridges:",
        "    br0:",
        "      interfaces: [ens33]",
      ].join("\n"),
    },
    {
      path: "/etc/systemd/network/20-wired.network",
      text: "[Match]\nName=enp11s0 en*\n\n[Network]\nDHCP=yes\n",
    },
  ]);
  assert.deepEqual(names, ["enp11s0", "ens33", "ens161", "ens192", "ens224", "ens256"]);
  // A lone eth0 (net.ifnames=0, or udev's old persistent rules) is kept; several are not.
  const eth = (text: string) =>
    configuredInterfaceNames([{ path: "/etc/network/interfaces", text }]);
  assert.deepEqual(eth("auto eth0\niface eth0 inet dhcp\n"), ["eth0"]);
  assert.deepEqual(eth("iface eth0 inet dhcp\niface eth1 inet dhcp\n"), []);
});

test("network names are paired with the source NICs in order, by MAC; one MAC-less NIC by driver", () => {
  const nic = (mac: string | null) => ({
    mac,
    model: "vmxnet3",
    network: "VM Network",
    networkType: "network" as const,
  });
  assert.deepEqual(
    pinNames(["ens192", "ens224"], [nic("00:50:56:AA:BB:01"), nic("00:50:56:aa:bb:02")]),
    {
      pinned: [
        { name: "ens192", mac: "00:50:56:aa:bb:01" },
        { name: "ens224", mac: "00:50:56:aa:bb:02" },
      ],
      unpaired: [],
    },
  );
  assert.deepEqual(pinNames(["ens192", "ens224"], [nic("00:50:56:aa:bb:01")]), {
    pinned: [{ name: "ens192", mac: "00:50:56:aa:bb:01" }],
    unpaired: ["ens224"],
  });
  assert.deepEqual(pinNames(["ens192"], [nic(null)]), {
    pinned: [{ name: "ens192", mac: null }],
    unpaired: [],
  });

  const link = linkFileText({ name: "ens192", mac: "00:50:56:aa:bb:01" }, "virtio_net");
  assert.match(
    link,
    /^\[Match\]\nMACAddress=00:50:56:aa:bb:01\nDriver=virtio_net\n\n\[Link\]\nName=ens192\n$/m,
  );
  assert.doesNotMatch(linkFileText({ name: "ens192", mac: null }, "virtio_net"), /MACAddress/);
  assert.equal(
    udevRuleLine({ name: "ens192", mac: "00:50:56:aa:bb:01" }, "virtio_net"),
    'SUBSYSTEM=="net", ACTION=="add", DRIVERS=="?*", ATTR{address}=="00:50:56:aa:bb:01", ATTR{type}=="1", NAME="ens192"',
  );
});

test("the appliance's disk names follow the SCSI target libguestfs gave each disk, in any kernel order", () => {
  const sys = "/sys/devices/pci0000:00/0000:00:03.0/virtio1/host2";
  // The kernel enumerated the second disk first and the appliance's own disk (target 2) between.
  const listing = [
    `sda ${sys}/target2:0:1/2:0:1:0`,
    `sdb ${sys}/target2:0:2/2:0:2:0`,
    `sdc ${sys}/target2:0:0/2:0:0:0`,
  ].join("\n");
  assert.deepEqual(
    [...(applianceDiskNames(listing, ["vda", "vdb"]) ?? [])],
    [
      ["sda", "vdb"],
      ["sdc", "vda"],
    ],
  );
  // A disk missing from the listing: no map (the caller falls back).
  assert.equal(applianceDiskNames(`sda ${sys}/target2:0:0/2:0:0:0`, ["vda", "vdb"]), null);
});

test("--mac MAC:ip:… for Linux: each network stack's configuration, matched by MAC", async () => {
  const ip = {
    mac: "00:50:56:AA:BB:01",
    address: "192.168.122.10",
    gateway: "192.168.122.1",
    prefixLength: 24,
    nameservers: ["192.168.122.1", "9.9.9.9"],
  };
  const keyfile = networkManagerKeyfile(ip);
  assert.match(keyfile, /^\[ethernet\]\nmac-address=00:50:56:AA:BB:01$/m);
  assert.match(
    keyfile,
    /^\[ipv4\]\nmethod=manual\naddress1=192\.168\.122\.10\/24,192\.168\.122\.1\ndns=192\.168\.122\.1;9\.9\.9\.9;$/m,
  );
  assert.match(
    networkdFile(ip),
    /^\[Match\]\nMACAddress=00:50:56:aa:bb:01\n\n\[Network\]\nAddress=192\.168\.122\.10\/24\nGateway=192\.168\.122\.1\nDNS=192\.168\.122\.1\nDNS=9\.9\.9\.9$/m,
  );
  const netplan = netplanFile(ip);
  assert.match(netplan, /macaddress: "00:50:56:aa:bb:01"/);
  assert.match(netplan, /addresses: \["192\.168\.122\.10\/24"\]/);
  assert.match(netplan, /via: "192\.168\.122\.1"/);
  // netplan's own parser is not here; the YAML is at least well-formed for a YAML reader's
  // indentation rules: every line's indent is a multiple of two.
  for (const line of netplan.split("\n"))
    assert.equal((/^ */.exec(line)?.[0].length ?? 0) % 2, 0, line);

  const interfaces = [
    "source /etc/network/interfaces.d/*",
    "",
    "auto lo",
    "iface lo inet loopback",
    "",
    "allow-hotplug ens192",
    "iface ens192 inet dhcp",
    "    hostname guest",
    "iface ens192 inet6 auto",
    "",
  ].join("\n");
  assert.equal(
    commentOutStanzas(interfaces, "ens192", "inet"),
    interfaces
      .replace("iface ens192 inet dhcp", "# (virt-v2v) iface ens192 inet dhcp")
      .replace("    hostname guest", "# (virt-v2v)     hostname guest"),
  );
  assert.equal(
    ifupdownStanza("ens192", ip),
    [
      "# Static address set by virt-v2v (split-v2v): --mac 00:50:56:AA:BB:01:ip:…",
      "allow-hotplug ens192",
      "iface ens192 inet static",
      "    address 192.168.122.10/24",
      "    gateway 192.168.122.1",
      "    dns-nameservers 192.168.122.1 9.9.9.9",
      "",
    ].join("\n"),
  );
  // ifupdown itself reads the result as intended (Debian's ifquery, installed by setup.sh).
  const text = `${commentOutStanzas(interfaces, "ens192", "inet").replace("source /etc/network/interfaces.d/*", "")}\n${ifupdownStanza("ens192", ip)}`;
  const scratch = await mkdtemp(path.join(os.tmpdir(), "v2v-ifquery-"));
  const file = path.join(scratch, "interfaces");
  await writeFile(file, text);
  const result = await execa("ifquery", [`--interfaces=${file}`, "ens192"], { reject: false });
  await rm(scratch, { recursive: true, force: true });
  assert.equal(result.exitCode, 0, String(result.stderr));
  assert.match(String(result.stdout), /^address: 192\.168\.122\.10$/m);
  assert.match(String(result.stdout), /^netmask: 255\.255\.255\.0$/m);
  assert.match(String(result.stdout), /^gateway: 192\.168\.122\.1$/m);
});
