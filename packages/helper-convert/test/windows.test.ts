// The Windows converter's decisions that need no appliance: which virtio-win files suit a
// guest (checked against upstream virt-v2v's own expected listings), the registry edits of the
// boot driver, the first-boot script texts, --mac ip parsing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { UserError } from "@split-v2v/common";
import {
  appendToDevicePath,
  bootDriverEdits,
  driverPathMatchesGuest,
  guestAgentInstallerMatches,
  isAntivirus,
  isGroupPolicyGuid,
  kvmArch,
  ntfsHeadsForDiskSize,
  quietUninstallCommand,
  sanitizeScriptName,
  staticIpScript,
  targetFileName,
  vmwareUninstallCommand,
  windowsMachine,
  windowsReleaseFromBuild,
  xenPvUninstallCommand,
  VIOSTOR_PCI_IDS,
} from "../src/families/windows/index.js";
import { parseNetworkMapping } from "../src/index.js";

/** ../shared/testdata/virt-v2v-upstream beside the repository, or null. */
function upstreamTestdata(): string | null {
  let directory = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(directory, "packages"))) {
    const parent = path.dirname(directory);
    if (parent === directory) return null;
    directory = parent;
  }
  const data = path.resolve(directory, "..", "shared", "testdata", "virt-v2v-upstream");
  return existsSync(data) ? data : null;
}

/** What a conversion copies from a tree listing: matching names, qemufwcfg dropped for fwcfg. */
function chosenNames(listing: readonly string[], arch: string, osinfo: string): string[] {
  const names = new Set(
    listing.filter((file) => driverPathMatchesGuest(file, { arch, osinfo })).map(targetFileName),
  );
  if (names.has("fwcfg.inf") && names.has("qemufwcfg.inf"))
    for (const name of [...names]) if (name.startsWith("qemufwcfg.")) names.delete(name);
  return [...names].sort();
}

function lines(file: string): string[] {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line !== "");
}

test("the drivers chosen from the fake virtio-win tree are upstream's expected listings", (t) => {
  const upstream = upstreamTestdata();
  if (upstream === null) return t.skip("../shared/testdata/virt-v2v-upstream is absent");
  // Paths relative to VIRTIO_WIN, which upstream's tests point at the tree's drivers/.
  const tree = lines(path.join(upstream, "fake-virtio-win", "virtio-win-drivers-list.txt")).map(
    (file) => file.replace(/^drivers\//, ""),
  );
  for (const os of ["win2k22", "win10"]) {
    assert.deepEqual(
      chosenNames(tree, "x86_64", os),
      lines(path.join(upstream, "expected", `test-phony-${os}-ls.txt`)),
      os,
    );
  }
  // The ISO's layout (NetKVM/2k22/amd64/…, amd64/2k22/…) gives the same drivers.
  const iso = lines(path.join(upstream, "fake-virtio-win", "virtio-win-iso-list.txt")).map((file) =>
    file.replace(/^cd\//, ""),
  );
  const fromIso = chosenNames(iso, "x86_64", "win2k22");
  for (const driver of ["viostor.sys", "netkvm.inf", "balloon.inf", "viorng.inf", "pvpanic.inf"])
    assert.ok(fromIso.includes(driver), `${driver} from the ISO`);
});

test("driver files are chosen by architecture, release (client or server) and kind", () => {
  const win10 = { arch: "x86_64", osinfo: "win10" };
  assert.ok(driverPathMatchesGuest("by-os/amd64/w10/viostor.sys", win10));
  assert.ok(driverPathMatchesGuest("./viostor/w10/amd64/viostor.sys", win10));
  assert.ok(driverPathMatchesGuest("NetKVM/W10/AMD64/netkvm.inf", win10), "case does not matter");
  assert.ok(!driverPathMatchesGuest("viostor/w10/x86/viostor.sys", win10), "32-bit driver");
  assert.ok(!driverPathMatchesGuest("viostor/2k16/amd64/viostor.sys", win10), "server release");
  assert.ok(!driverPathMatchesGuest("viostor/w11/amd64/viostor.sys", win10), "newer release");
  assert.ok(!driverPathMatchesGuest("amd64/Win10/viostor.sys", win10), "old layout: no release");
  assert.ok(!driverPathMatchesGuest("viostor/w10/amd64/viostor.pdb", win10), "debug symbols");
  assert.ok(!driverPathMatchesGuest("by-os/amd64/w10/vioprot.inf", win10), "SR-IOV protocol");
  assert.ok(!driverPathMatchesGuest("sriov/w10/amd64/vioprot.sys", win10), "SR-IOV");
  assert.ok(!driverPathMatchesGuest("viostor/w10.txt", win10), "no architecture");

  const win7x86 = { arch: "i386", osinfo: "win7" };
  assert.ok(driverPathMatchesGuest("viostor/w7/x86/viostor.sys", win7x86));
  assert.ok(driverPathMatchesGuest("i386/w7/viostor.sys", win7x86));
  assert.ok(!driverPathMatchesGuest("viostor/w7/amd64/viostor.sys", win7x86));
  // Vista shares Server 2008's drivers.
  assert.ok(
    driverPathMatchesGuest("viostor/2k8/x86/viostor.sys", { arch: "i386", osinfo: "winvista" }),
  );
  assert.ok(
    !driverPathMatchesGuest("viostor/2k8r2/amd64/viostor.sys", {
      arch: "x86_64",
      osinfo: "win2k8",
    }),
  );
});

test("the guest agent installer is chosen by architecture", () => {
  assert.ok(guestAgentInstallerMatches("guest-agent/qemu-ga-x86_64.msi", "x86_64"));
  assert.ok(guestAgentInstallerMatches("guest-agent/QEMU-GA-X64.MSI", "x86_64"));
  assert.ok(guestAgentInstallerMatches("guest-agent/qemu-ga-i386.msi", "i386"));
  assert.ok(!guestAgentInstallerMatches("guest-agent/qemu-ga-i386.msi", "x86_64"));
  assert.ok(!guestAgentInstallerMatches("virtio-win-gt-x64.msi", "x86_64"));
  assert.equal(targetFileName("by-os/amd64/2k22/Readme.md"), "readme.md");
});

test("viostor boots through the CriticalDeviceDatabase, or the DriverDatabase where there is one", () => {
  const [legacy] = VIOSTOR_PCI_IDS;
  const cdb = bootDriverEdits("viostor", legacy, "ControlSet001", "x86_64", false);
  assert.deepEqual(
    cdb.map((edit) => edit.path.join("\\")),
    [
      "ControlSet001\\Control\\CriticalDeviceDatabase\\PCI#VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00",
      "ControlSet001\\Services\\viostor",
    ],
  );
  assert.deepEqual(cdb[1]!.values, [
    ["Type", { type: "dword", value: 1 }],
    ["Start", { type: "dword", value: 0 }],
    ["Group", { type: "sz", value: "SCSI miniport" }],
    ["ErrorControl", { type: "dword", value: 1 }],
    ["ImagePath", { type: "expand-sz", value: "system32\\drivers\\viostor.sys" }],
  ]);
  const ddb = bootDriverEdits("viostor", legacy, "ControlSet001", "i386", true);
  assert.deepEqual(
    ddb.map((edit) => edit.path.join("\\")),
    [
      "DriverDatabase\\DriverInfFiles\\guestor.inf",
      "DriverDatabase\\DeviceIds\\PCI\\VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00",
      "DriverDatabase\\DriverPackages\\guestor.inf_x86_0000000000000000",
      "DriverDatabase\\DriverPackages\\guestor.inf_x86_0000000000000000\\Configurations\\guestor_conf",
      "DriverDatabase\\DriverPackages\\guestor.inf_x86_0000000000000000\\Descriptors\\PCI\\VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00",
      "ControlSet001\\Services\\viostor",
    ],
  );
  const version = ddb[2]!.values[0]![1];
  assert.ok(version.type === "binary" && version.value.length === 48);
});

test("the machine type: q35 from NT 6 (2007) on, i440fx before; x86 guests on x86_64", () => {
  assert.equal(kvmArch("i386"), "x86_64");
  assert.equal(kvmArch("x86_64"), "x86_64");
  assert.equal(kvmArch("aarch64"), "aarch64");
  assert.equal(windowsMachine({ arch: "x86_64", majorVersion: 10 }), "q35");
  assert.equal(windowsMachine({ arch: "i386", majorVersion: 6 }), "q35");
  assert.equal(windowsMachine({ arch: "i386", majorVersion: 5 }), "i440fx");
  assert.equal(windowsMachine({ arch: "aarch64", majorVersion: 10 }), "virt");
});

test("uninstall commands of the other hypervisors' tools, run quietly at first boot", () => {
  assert.equal(
    vmwareUninstallCommand("MsiExec.exe /I{4D2B8E0B-1C6A-4B2D-9A6E-1D4B1F4C2E7A}"),
    "MsiExec.exe /x{4D2B8E0B-1C6A-4B2D-9A6E-1D4B1F4C2E7A}",
  );
  assert.equal(vmwareUninstallCommand('"C:\\tools\\setup.exe" /i'), '"C:\\tools\\setup.exe" /i');
  assert.equal(
    quietUninstallCommand("MsiExec.exe /x{GUID}", ""),
    'MsiExec.exe /x{GUID} /quiet /norestart /l*v+ "%~dpn0.log" REBOOT=ReallySuppress REMOVE=ALL ',
  );
  assert.equal(
    xenPvUninstallCommand("C:\\Program Files\\Xen\\uninst.exe"),
    "C:\\Program Files\\Xen\\_uninst.exe",
  );
  assert.ok(isAntivirus({ app2_name: "Kaspersky Endpoint Security", app2_publisher: "" }));
  assert.ok(isAntivirus({ app2_name: "Agent", app2_publisher: "AVG Technologies CZ" }));
  assert.ok(!isAntivirus({ app2_name: "test1", app2_publisher: "" }));
  assert.ok(isGroupPolicyGuid("{31B2F340-016D-11D2-945F-00C04FB984F9}"));
  assert.ok(!isGroupPolicyGuid("{}"));
  assert.ok(!isGroupPolicyGuid("Local"));
});

test("DevicePath gains the driver directory once", () => {
  const utf16 = (text: string) => Buffer.from(text, "utf16le");
  const original = Buffer.concat([utf16("%SystemRoot%\\inf"), Buffer.alloc(2)]);
  const updated = appendToDevicePath(original);
  assert.ok(updated !== null);
  assert.equal(updated.toString("utf16le"), "%SystemRoot%\\inf;%SystemRoot%\\Drivers\\VirtIO\0");
  assert.equal(appendToDevicePath(updated), null);
});

test("--mac MAC:ip: becomes a PowerShell script that waits for netkvm", () => {
  const mapping = parseNetworkMapping(
    [],
    [],
    [
      "52:54:00:AA:BB:CC:ip:10.0.0.5,10.0.0.1,16,10.0.0.53,10.0.0.54",
      "52:54:00:00:00:01:ip:fd00::5",
    ],
  );
  assert.deepEqual(mapping.macs, []);
  assert.deepEqual(mapping.staticIps, [
    {
      mac: "52:54:00:AA:BB:CC",
      address: "10.0.0.5",
      gateway: "10.0.0.1",
      prefixLength: 16,
      nameservers: ["10.0.0.53", "10.0.0.54"],
    },
    {
      mac: "52:54:00:00:00:01",
      address: "fd00::5",
      gateway: null,
      prefixLength: null,
      nameservers: [],
    },
  ]);
  const script = staticIpScript(mapping.staticIps, true).join("\n");
  assert.match(script, /While \(-Not \$adapters\)/);
  assert.match(script, /\$mac_address = '52-54-00-AA-BB-CC'/);
  assert.match(
    script,
    /New-NetIPAddress -InterfaceIndex \$ifindex -IPAddress '10\.0\.0\.5' -DefaultGateway '10\.0\.0\.1' -PrefixLength 16/,
  );
  assert.match(
    script,
    /Set-DnsClientServerAddress -InterfaceIndex \$ifindex -ServerAddresses \('10\.0\.0\.53','10\.0\.0\.54'\)/,
  );
  assert.match(script, /New-NetIPAddress -InterfaceIndex \$ifindex -IPAddress 'fd00::5'$/m);
  assert.doesNotMatch(staticIpScript(mapping.staticIps, false).join("\n"), /netkvm/);

  const refused = (value: string, message: RegExp) =>
    assert.throws(
      () => parseNetworkMapping([], [], [value]),
      (err: unknown) => err instanceof UserError && message.test(err.message),
    );
  refused("52:54:00:00:00:01:ip:", /doesn’t look like “” is an IP address/);
  refused("52:54:00:00:00:01:ip:10.0.0.5,gw", /cannot parse --mac ip gw/);
  refused("52:54:00:00:00:01:ip:10.0.0.5,10.0.0.1,x", /prefix length field as an integer: x/);
  refused("52:54:00:00:00:01:ip:10.0.0.5,10.0.0.1,129", /prefix length field is out of range/);
});

test("small rules: script names, NTFS heads for XP", () => {
  assert.equal(
    sanitizeScriptName("install-qemu-ga-x86_64.msi.ps1"),
    "install-qemu-ga-x86_64-msi-ps1",
  );
  assert.equal(sanitizeScriptName("wait pnp"), "wait-pnp");
  assert.equal(sanitizeScriptName("x".repeat(80)).length, 60);
  assert.equal(ntfsHeadsForDiskSize(1 << 30), 0x40);
  assert.equal(ntfsHeadsForDiskSize(3 * (1 << 30)), 0x80);
  assert.equal(ntfsHeadsForDiskSize(64 * (1 << 30)), 0xff);
});

test("the Windows release comes from the build number: Windows 11 and Server 2019/2022/2025", () => {
  const nt10 = (productVariant: string, productName: string) => ({
    majorVersion: 10,
    minorVersion: 0,
    productVariant,
    productName,
  });
  // Windows 11 keeps "Windows 10" in ProductName; libguestfs 1.48 says win10.
  assert.deepEqual(windowsReleaseFromBuild(nt10("Client", "Windows 10 Home"), 22631), {
    osinfo: "win11",
    productName: "Windows 11 Home",
  });
  assert.deepEqual(windowsReleaseFromBuild(nt10("Client", "Windows 10 Pro"), 22000), {
    osinfo: "win11",
    productName: "Windows 11 Pro",
  });
  assert.equal(windowsReleaseFromBuild(nt10("Client", "Windows 10 Pro"), 19045)?.osinfo, "win10");
  const server = (build: number) =>
    windowsReleaseFromBuild(nt10("Server", "Windows Server 2025 Datacenter"), build)?.osinfo;
  assert.equal(server(26100), "win2k25");
  assert.equal(server(20348), "win2k22");
  assert.equal(server(17763), "win2k19");
  assert.equal(server(14393), "win2k16");
  assert.equal(
    windowsReleaseFromBuild(nt10("Server Core", "Windows Server 2025"), 26100)?.osinfo,
    "win2k25",
  );
  // Nothing to decide: another NT version, or no build number.
  assert.equal(
    windowsReleaseFromBuild(
      { ...nt10("Client", "Windows 8.1"), majorVersion: 6, minorVersion: 3 },
      9600,
    ),
    null,
  );
  assert.equal(windowsReleaseFromBuild(nt10("Client", "Windows 10 Pro"), null), null);
});
