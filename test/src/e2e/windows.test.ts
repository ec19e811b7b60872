/**
 * Windows conversion, end to end, on upstream virt-v2v's phony Windows guests with its fake
 * virtio-win and fake tools: `virt-v2v -i disk GUEST -o local`, then the converted disk read
 * back as upstream's own tests read it (guestfish) plus the registry read with hivex, the XML,
 * the messages, the source untouched and nothing left behind. One conversion per variant (each
 * costs an appliance under TCG), one read-back session per converted disk.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdir, readFile, readdir, symlink, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { execa } from "execa";

import {
  phonyWindowsGuest,
  phonyWindowsUnavailableReason,
  quoteForGuestfish,
  runGuestfish,
  type WindowsGuestVariant,
} from "../fixtures/guests.js";
import {
  expectedVirtioListing,
  fakeVirtToolsDir,
  fakeVirtioWinIso,
  fakeVirtioWinIsoUnavailableReason,
  fakeVirtioWinTree,
  fakeVirtioWinUnavailableReason,
} from "../fixtures/virtio-win.js";
import {
  errorLines,
  leftovers,
  makeSandbox,
  runEnvironment,
  sha256,
  VIRT_V2V,
  type Sandbox,
} from "../support/run.js";

const FIRSTBOOT = "/Program Files/Guestfs/Firstboot";
const VIRTIO_DIR = "/Windows/Drivers/VirtIO";
const SYSTEM_HIVE = "/Windows/System32/Config/SYSTEM";

function unavailable(): string | null {
  return phonyWindowsUnavailableReason() ?? fakeVirtioWinUnavailableReason();
}

interface Conversion {
  sandbox: Sandbox;
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  /** The converted disk and its XML (when the run succeeded). */
  disk: string;
  xml: string;
  sourceUnchanged: boolean;
  /** The process argument lists seen during the run that held the source's password. */
  secretSeenIn: string[];
}

/** The virt-v2v arguments (and environment) that give it the guest's disks. */
interface SourceArgs {
  args: string[];
  env?: Record<string, string>;
  /** A password the source needs, which no process's argument list may show. */
  secret?: string;
}

type GuestSource = (name: string, disks: string[], fixtures: string) => Promise<SourceArgs>;

const diskSource: GuestSource = (_name, disks) =>
  Promise.resolve({ args: ["-i", "disk", ...disks] });

/**
 * -i libvirt through libvirt's test driver (no daemon): a node file with the guest defined as
 * on a KVM host that has it on IDE, with a CD-ROM on the second IDE bus, a NIC with its MAC and
 * a sound card. virt-v2v must keep the MAC and the CD-ROM's place (as a SATA one on q35).
 */
const libvirtTestDriverSource: GuestSource = async (name, disks, fixtures) => {
  const node = path.join(fixtures, "libvirt-node.xml");
  await writeFile(
    node,
    `<node>
  <domain type='test'>
    <name>${name}</name>
    <memory>2097152</memory>
    <vcpu>2</vcpu>
    <os><type>hvm</type><boot dev='hd'/></os>
    <devices>
${disks
  .map(
    (disk, index) => `      <disk type='file' device='disk'>
        <driver name='qemu' type='raw'/>
        <source file='${disk}'/>
        <target dev='hd${String.fromCharCode(97 + index)}' bus='ide'/>
      </disk>`,
  )
  .join("\n")}
      <disk type='file' device='cdrom'>
        <driver name='qemu' type='raw'/>
        <target dev='hdc' bus='ide'/>
      </disk>
      <interface type='network'>
        <mac address='52:54:00:12:34:56'/>
        <source network='default'/>
        <model type='e1000'/>
      </interface>
      <sound model='ich6'/>
    </devices>
  </domain>
</node>
`,
  );
  return { args: ["-i", "libvirt", "-ic", `test://${node}`, name] };
};

const require = createRequire(import.meta.url);

/**
 * -i libvirt -ic vpx://… -it vddk through the two STAND-INS of helper-input-vddk's tests (no
 * vCenter and no VDDK can exist here): the guest's XML as libvirt's ESX driver gives it (read
 * from SPLIT_V2V_STANDIN_DOMAIN_XML), and nbdkit's sh plugin running the stand-in script with
 * the vddk plugin's parameters (SPLIT_V2V_STANDIN_NBDKIT_VDDK), serving the datastore's
 * -flat.vmdk. nbdkit, its filters, the overlay and the rest of the conversion are real.
 */
const vddkStandinSource: GuestSource = async (name, disks, fixtures) => {
  const vddkPackage = path.dirname(require.resolve("@split-v2v/helper-input-vddk/package.json"));
  const datastore = path.join(fixtures, "datastores", "datastore1", name);
  await mkdir(datastore, { recursive: true });
  const paths: string[] = [];
  for (const [index, disk] of disks.entries()) {
    const base = index === 0 ? name : `${name}_${index}`;
    await symlink(disk, path.join(datastore, `${base}-flat.vmdk`));
    paths.push(`[datastore1] ${name}/${base}.vmdk`);
  }
  const xml = path.join(fixtures, "vcenter-guest.xml");
  await writeFile(
    xml,
    `<domain type='vmware' xmlns:vmware='http://libvirt.org/schemas/domain/vmware/1.0'>
  <name>${name}</name>
  <memory unit='KiB'>4194304</memory>
  <vcpu placement='static'>2</vcpu>
  <os firmware='efi'><type arch='x86_64'>hvm</type></os>
  <devices>
${paths
  .map(
    (file, index) => `    <disk type='file' device='disk'>
      <source file='${file}'/>
      <target dev='sd${String.fromCharCode(97 + index)}' bus='scsi'/>
    </disk>`,
  )
  .join("\n")}
    <controller type='scsi' index='0' model='lsisas1068'/>
    <interface type='bridge'>
      <mac address='00:50:56:9a:11:22' type='generated'/>
      <source bridge='VM Network'/>
      <model type='vmxnet3'/>
    </interface>
  </devices>
  <vmware:datacenterpath>Datacenter</vmware:datacenterpath>
  <vmware:moref>vm-2183</vmware:moref>
</domain>
`,
  );
  const password = `vddk-${randomBytes(8).toString("hex")}`;
  const passwordFile = path.join(fixtures, "vcenter-password");
  await writeFile(passwordFile, password, { mode: 0o600 });
  const expected = path.join(fixtures, "vcenter-expected-password");
  await writeFile(expected, password, { mode: 0o600 });
  const libdir = path.join(fixtures, "vmware-vix-disklib-distrib");
  await mkdir(path.join(libdir, "lib64"), { recursive: true });
  await writeFile(path.join(libdir, "lib64", "libvixDiskLib.so.8"), "");
  return {
    args: [
      "-ic",
      "vpx://administrator%40vsphere.local@vcenter.example.com/Datacenter/esxi?no_verify=1",
      "-it",
      "vddk",
      "-ip",
      passwordFile,
      "--vddk-libdir",
      libdir,
      "-io",
      "vddk-thumbprint=51:5E:3C:1D:44:0A:EF:1F:87:43:B5:2E:80:EF:8A:20:A0:54:F4:0C",
      name,
    ],
    env: {
      SPLIT_V2V_STANDIN_NBDKIT_VDDK: path.join(vddkPackage, "test", "vddk-standin.sh"),
      SPLIT_V2V_STANDIN_DOMAIN_XML: xml,
      VDDK_STANDIN_DATASTORES: path.join(fixtures, "datastores"),
      VDDK_STANDIN_PASSWORD_FILE: expected,
    },
    secret: password,
  };
};

/** Polls `ps` while a run goes on, keeping every argument list that holds `secret`. */
function watchProcessArguments(secret: string): { stop: () => Promise<string[]> } {
  const seen = new Set<string>();
  let running = true;
  const loop = (async () => {
    while (running) {
      const ps = await execa("ps", ["-eo", "args"], { reject: false });
      for (const line of String(ps.stdout).split("\n"))
        if (line.includes(secret) && !line.startsWith("ps ")) seen.add(line);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return [...seen];
    },
  };
}

/** Converts one phony guest with VIRTIO_WIN (and the fake tools) set as given. */
async function convert(
  t: { after: (fn: () => Promise<void>) => void },
  variant: WindowsGuestVariant,
  /** Makes the virtio-win to use in a scratch directory; returns what VIRTIO_WIN names. */
  virtioWin: (scratch: string) => Promise<string>,
  extraArgs: string[] = [],
  /** More disks of the guest, after its system disk (made in the sandbox's fixtures dir). */
  extraDisks: (fixtures: string) => Promise<string[]> = () => Promise.resolve([]),
  /** How the guest is given to virt-v2v (default: -i disk GUEST.img and the extra disks). */
  source: GuestSource = diskSource,
): Promise<Conversion> {
  const guest = await phonyWindowsGuest(variant);
  if (guest === null) throw new Error("phony Windows guest unavailable");
  const sandbox = await makeSandbox(`windows-${variant}`);
  t.after(() => sandbox.dispose());
  const fixtures = path.join(path.dirname(sandbox.out), "fixtures");
  await mkdir(fixtures);
  const before = await sha256(guest.path);
  const moreDisks = await extraDisks(fixtures);
  const input = await source(variant, [guest.path, ...moreDisks], fixtures);
  const watch = input.secret === undefined ? null : watchProcessArguments(input.secret);
  const result = await execa(
    process.execPath,
    [VIRT_V2V, ...input.args, "-o", "local", "-os", sandbox.out, "-on", variant, ...extraArgs],
    {
      env: {
        ...runEnvironment(sandbox),
        VIRTIO_WIN: await virtioWin(fixtures),
        VIRT_TOOLS_DATA_DIR: fakeVirtToolsDir() ?? "/nonexistent",
        ...input.env,
      },
      reject: false,
      stdin: "ignore",
    },
  );
  const secretSeenIn = watch === null ? [] : await watch.stop();
  const stdout = String(result.stdout);
  const stderr = String(result.stderr);
  const xmlFile = path.join(sandbox.out, `${variant}.xml`);
  return {
    sandbox,
    exitCode: result.exitCode,
    stdout,
    stderr,
    disk: path.join(sandbox.out, `${variant}-sda`),
    xml: result.exitCode === 0 ? await readFile(xmlFile, "utf8") : "",
    sourceUnchanged: (await sha256(guest.path)) === before,
    secretSeenIn,
  };
}

/**
 * Reads the converted disk back in one read-only appliance: each question's answer under its
 * name. Also downloads the SYSTEM hive to `hiveCopy`, to be read with hivex on the host.
 */
async function readBack(
  disk: string,
  questions: Record<string, string>,
  hiveCopy: string,
): Promise<Record<string, string>> {
  const commands = ["inspect-os", "mount-ro /dev/sda2 /"];
  for (const [name, command] of Object.entries(questions))
    commands.push(`echo ${quoteForGuestfish(`@@ ${name}`)}`, command);
  commands.push(`download ${SYSTEM_HIVE} ${quoteForGuestfish(hiveCopy)}`);
  const output = await runGuestfish({
    drives: [{ path: disk, format: "raw", readonly: true }],
    commands,
    purpose: `reading back ${disk}`,
  });
  const answers: Record<string, string> = {};
  for (const section of output.split(/^@@ /m).slice(1)) {
    const newline = section.indexOf("\n");
    answers[section.slice(0, newline)] = section.slice(newline + 1).trimEnd();
  }
  return answers;
}

/** One registry value of a hive file on the host, as hivexget prints it (null: absent). */
async function registryValue(hive: string, key: string, name: string): Promise<string | null> {
  const result = await execa("hivexget", [hive, key, name], { reject: false });
  return result.exitCode === 0 ? String(result.stdout) : null;
}

async function registryKeyExists(hive: string, key: string): Promise<boolean> {
  const result = await execa("hivexget", [hive, key], { reject: false });
  return result.exitCode === 0;
}

function messages(stdout: string): string[] {
  return stdout
    .split("\n")
    .filter((line) => /^\[ *\d+\.\d\] /.test(line))
    .map((line) => line.replace(/^\[ *\d+\.\d\] /, ""));
}

test("Windows Server 2022 (BIOS) with the virtio-win tree: drivers, boot driver, firstboot, static IP", async (t) => {
  const reason = unavailable();
  if (reason !== null) return t.skip(reason);
  const run = await convert(t, "win2k22", fakeVirtioWinTree, [
    "--mac",
    "52:54:00:12:34:56:ip:192.168.122.10,192.168.122.1,24,192.168.122.1",
  ]);
  assert.equal(run.exitCode, 0, `${run.stdout}\n${run.stderr}`);
  assert.ok(run.sourceUnchanged, "the source image is unchanged");
  assert.deepEqual(await leftovers(run.sandbox), { processes: [], workdirs: [] });
  assert.ok(
    messages(run.stdout).includes("Converting Windows Server 2022 Phony Edition to run on KVM"),
  );
  assert.match(run.stdout, /This guest has virtio drivers installed\./);
  // The tree has no guest agent installer.
  assert.match(
    run.stdout,
    /virt-v2v: warning: QEMU Guest Agent MSI not found on tools ISO\/directory/,
  );
  assert.ok(messages(run.stdout).includes("Copying disk 1/1"));

  const hive = path.join(path.dirname(run.sandbox.out), "SYSTEM");
  const answers = await readBack(
    run.disk,
    {
      firstbootDir: `is-dir ${quoteForGuestfish(FIRSTBOOT)}`,
      firstbootBat: `is-file ${quoteForGuestfish(`${FIRSTBOOT}/firstboot.bat`)}`,
      scriptsDir: `is-dir ${quoteForGuestfish(`${FIRSTBOOT}/scripts`)}`,
      scripts: `ls ${quoteForGuestfish(`${FIRSTBOOT}/scripts`)}`,
      firstbootFiles: `ls ${quoteForGuestfish(FIRSTBOOT)}`,
      drivers: `ls ${VIRTIO_DIR}`,
      bootDriver: "is-file /Windows/System32/Drivers/viostor.sys",
      osinfo: "inspect-get-osinfo /dev/sda2",
      networkScript: "cat /Windows/TEMP/v2vnetcf.ps1",
    },
    hive,
  );
  assert.equal(answers.firstbootDir, "true");
  assert.equal(answers.firstbootBat, "true");
  assert.equal(answers.scriptsDir, "true");
  assert.deepEqual(answers.firstbootFiles?.split("\n"), [
    "firstboot.bat",
    "pnp_wait.exe",
    "rhsrvany.exe",
    "scripts",
  ]);
  assert.deepEqual(answers.scripts?.split("\n"), [
    "2500-0004-v2vnetcf-ps1.bat",
    "5000-0001-wait-pnp.bat",
    "5000-0002-configure-vmdp.bat",
    "5000-0003-finish-vmdp-setup.bat",
  ]);
  assert.deepEqual(answers.drivers?.split("\n"), await expectedVirtioListing("win2k22"));
  assert.equal(answers.bootDriver, "true");
  assert.equal(answers.osinfo, "win2k22");
  assert.match(answers.networkScript ?? "", /\$mac_address = '52-54-00-12-34-56'/);
  assert.match(
    answers.networkScript ?? "",
    /New-NetIPAddress -InterfaceIndex \$ifindex -IPAddress '192\.168\.122\.10' -DefaultGateway '192\.168\.122\.1' -PrefixLength 24/,
  );
  assert.match(answers.networkScript ?? "", /Where DriverFileName -eq "netkvm.sys"/);

  // viostor is a boot-start service, bound to virtio-blk's PCI ids (no DriverDatabase in this
  // hive, so through the CriticalDeviceDatabase, as virt-v2v 2.2 does it).
  const viostor = "ControlSet001\\Services\\viostor";
  assert.equal(await registryValue(hive, viostor, "Start"), "0");
  assert.equal(await registryValue(hive, viostor, "Type"), "1");
  assert.equal(await registryValue(hive, viostor, "ImagePath"), "system32\\drivers\\viostor.sys");
  assert.equal(await registryValue(hive, viostor, "Group"), "SCSI miniport");
  for (const pciId of [
    "VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00",
    "VEN_1AF4&DEV_1042&SUBSYS_11001AF4&REV_01",
  ]) {
    const key = `ControlSet001\\Control\\CriticalDeviceDatabase\\PCI#${pciId}`;
    assert.equal(await registryValue(hive, key, "Service"), "viostor");
  }
  const firstbootService = "ControlSet001\\Services\\firstboot";
  assert.equal(await registryValue(hive, firstbootService, "Start"), "2");
  assert.equal(
    await registryValue(hive, `${firstbootService}\\Parameters`, "CommandLine"),
    'cmd /c "C:\\Program Files\\Guestfs\\Firstboot\\firstboot.bat"',
  );

  assert.match(run.xml, /<type arch='x86_64' machine='q35'>hvm<\/type>/);
  assert.match(run.xml, /<target dev='vda' bus='virtio'\/>/);
  assert.match(run.xml, /<model type='virtio'\/>/);
  assert.match(run.xml, /<rng model='virtio'>/);
  assert.match(run.xml, /<memballoon model='virtio'\/>/);
  assert.match(run.xml, /<panic model='isa'>/);
  assert.match(run.xml, /<libosinfo:os id='http:\/\/microsoft.com\/win\//);
});

test("Windows 10 from libvirt (-i libvirt, test driver) with the virtio-win ISO: drivers and the guest agent from the ISO, its MAC and CD-ROM kept", async (t) => {
  const reason = unavailable() ?? (await fakeVirtioWinIsoUnavailableReason());
  if (reason !== null) return t.skip(reason);
  const run = await convert(t, "win10", fakeVirtioWinIso, [], undefined, libvirtTestDriverSource);
  assert.equal(run.exitCode, 0, `${run.stdout}\n${run.stderr}`);
  assert.match(
    run.stdout,
    /Setting up the source: -ic test:\/\/\S+\/libvirt-node\.xml -i libvirt win10\n/,
  );
  // What the domain XML said, carried to the target: memory, vCPUs, the NIC's MAC, the sound
  // card, the CD-ROM in its slot (hdc: the second IDE bus's master, sdc on q35's SATA).
  assert.match(run.xml, /<memory unit='KiB'>2097152<\/memory>/);
  assert.match(run.xml, /<vcpu>2<\/vcpu>/);
  assert.match(run.xml, /<mac address='52:54:00:12:34:56'\/>/);
  assert.match(run.xml, /<sound model='ich6'\/>/);
  assert.match(
    run.xml,
    /<disk device='cdrom' type='file'>\s*<driver name='qemu' type='raw'\/>\s*<target dev='sdc' bus='sata'\/>/,
  );
  assert.match(run.xml, /<target dev='vda' bus='virtio'\/>/);
  assert.ok(run.sourceUnchanged, "the source image is unchanged");
  assert.deepEqual(await leftovers(run.sandbox), { processes: [], workdirs: [] });
  assert.doesNotMatch(run.stdout, /QEMU Guest Agent MSI not found/);
  assert.match(run.stdout, /This guest has virtio drivers installed\./);

  const hive = path.join(path.dirname(run.sandbox.out), "SYSTEM");
  const answers = await readBack(
    run.disk,
    {
      firstbootBat: `is-file ${quoteForGuestfish(`${FIRSTBOOT}/firstboot.bat`)}`,
      scripts: `ls ${quoteForGuestfish(`${FIRSTBOOT}/scripts`)}`,
      drivers: `ls ${VIRTIO_DIR}`,
      bootDriver: "is-file /Windows/System32/Drivers/viostor.sys",
      agent: "is-file /qemu-ga-x86_64.msi",
      agentScript: "cat /Windows/TEMP/install-qemu-ga-x86_64.msi.ps1",
      osinfo: "inspect-get-osinfo /dev/sda2",
    },
    hive,
  );
  assert.equal(answers.firstbootBat, "true");
  assert.deepEqual(answers.scripts?.split("\n"), [
    "5000-0001-wait-pnp.bat",
    "5000-0002-configure-vmdp.bat",
    "5000-0003-finish-vmdp-setup.bat",
    "5000-0004-install-qemu-ga-x86_64-msi-ps1.bat",
  ]);
  assert.deepEqual(answers.drivers?.split("\n"), await expectedVirtioListing("win10"));
  assert.equal(answers.bootDriver, "true");
  assert.equal(answers.agent, "true");
  assert.match(answers.agentScript ?? "", /\/TR "C:\\qemu-ga-x86_64\.msi \/forcerestart/);
  assert.equal(answers.osinfo, "win10");
  assert.equal(await registryValue(hive, "ControlSet001\\Services\\viostor", "Start"), "0");
  assert.match(run.xml, /<libosinfo:os id='http:\/\/microsoft.com\/win\/10'\/>/);
  assert.match(run.xml, /<type arch='x86_64' machine='q35'>hvm<\/type>/);
});

test("UEFI Windows from vCenter through VDDK (stand-ins) with no matching drivers: the warning, SATA and rtl8139, UEFI firmware, no password in any process", async (t) => {
  const reason = unavailable();
  if (reason !== null) return t.skip(reason);
  // A virtio-win holding only other Windows releases' drivers.
  const onlyWindows7 = async (fixtures: string): Promise<string> => {
    const tree = await fakeVirtioWinTree(fixtures);
    await execa("find", [tree, "-type", "f", "!", "-path", "*/w7/*", "-delete"]);
    return tree;
  };
  const run = await convert(t, "win2k22-uefi", onlyWindows7, [], undefined, vddkStandinSource);
  assert.equal(run.exitCode, 0, `${run.stdout}\n${run.stderr}`);
  assert.match(
    run.stdout,
    /Setting up the source: -i libvirt -ic vpx:\/\/administrator%40vsphere\.local@vcenter\.example\.com\/Datacenter\/esxi\?no_verify=1 -it vddk win2k22-uefi\n/,
  );
  assert.deepEqual(run.secretSeenIn, [], "the vCenter password is in no process's arguments");
  // The NIC of the vCenter guest, with its MAC, on the bridge it named.
  assert.match(run.xml, /<mac address='00:50:56:9a:11:22'\/>/);
  assert.ok(run.sourceUnchanged, "the source image is unchanged");
  assert.deepEqual(await leftovers(run.sandbox), { processes: [], workdirs: [] });
  assert.match(
    run.stdout,
    /virt-v2v: warning: there are no virtio drivers available for this version of Windows \(10\.0 x86_64 Server win2k22\)/,
  );
  assert.match(run.stdout, /This guest does not have virtio drivers installed\./);
  assert.match(run.stdout, /This guest requires UEFI on the target to boot\./);

  assert.match(run.xml, /<target dev='sda' bus='sata'\/>/);
  assert.doesNotMatch(run.xml, /bus='virtio'/);
  assert.match(run.xml, /<model type='rtl8139'\/>/);
  assert.match(run.xml, /<memballoon model='none'\/>/);
  assert.doesNotMatch(run.xml, /<rng /);
  assert.match(run.xml, /<loader readonly='yes' type='pflash'>/);

  const hive = path.join(path.dirname(run.sandbox.out), "SYSTEM");
  const answers = await readBack(
    run.disk,
    {
      firstbootBat: `is-file ${quoteForGuestfish(`${FIRSTBOOT}/firstboot.bat`)}`,
      drivers: `ls ${VIRTIO_DIR}`,
      osinfo: "inspect-get-osinfo /dev/sda2",
    },
    hive,
  );
  assert.equal(answers.firstbootBat, "true");
  assert.equal(answers.drivers, "");
  assert.equal(answers.osinfo, "win2k22");
  assert.equal(await registryKeyExists(hive, "ControlSet001\\Services\\viostor"), false);
});

test("a damaged registry hive stops the conversion with a clear error, before any copy", async (t) => {
  const reason = unavailable();
  if (reason !== null) return t.skip(reason);
  const run = await convert(t, "win2k22-damaged-hive", fakeVirtioWinTree);
  assert.equal(run.exitCode, 1, run.stdout);
  assert.ok(run.sourceUnchanged, "the source image is unchanged");
  const errors = errorLines(run.stderr);
  assert.equal(errors.length, 1, run.stderr);
  t.diagnostic(errors[0]!);
  assert.match(
    errors[0]!,
    /^virt-v2v: error: the Windows registry hive \/Windows\/System32\/Config\/SYSTEM in the guest is damaged and cannot be read \(.+\); repair/,
  );
  assert.ok(!messages(run.stdout).some((line) => line.startsWith("Copying disk")));
  assert.deepEqual(await readdir(run.sandbox.out), [], "nothing written to the output");
  assert.deepEqual(await leftovers(run.sandbox), { processes: [], workdirs: [] });
});

test("Windows 11 (build 22631) gets Windows 11's drivers; data disks without a partition table are copied as they are", async (t) => {
  const reason = unavailable() ?? (await expectedVirtioListingUnavailable("win10"));
  if (reason !== null) return t.skip(reason);
  // Two data disks that libguestfs 1.48's inspection (and so virt-v2v 2.2) stops on: raw
  // application data, and NTFS on the whole disk (mkntfs from ntfs-3g).
  const dataDisks = async (fixtures: string): Promise<string[]> => {
    const raw = path.join(fixtures, "database-volume.img");
    await writeFile(raw, randomBytes(8 * 1024 * 1024));
    const ntfs = path.join(fixtures, "whole-disk-ntfs.img");
    await writeFile(ntfs, Buffer.alloc(0));
    await execa("truncate", ["-s", "64M", ntfs]);
    await execa("mkntfs", ["--fast", "--force", "--quiet", "--label", "DATA", ntfs]);
    return [raw, ntfs];
  };
  let dataSources: string[] = [];
  const run = await convert(t, "win11", fakeVirtioWinTree, [], async (fixtures) => {
    dataSources = await dataDisks(fixtures);
    return dataSources;
  });
  assert.equal(run.exitCode, 0, `${run.stdout}\n${run.stderr}`);
  assert.ok(run.sourceUnchanged, "the source image is unchanged");
  assert.deepEqual(await leftovers(run.sandbox), { processes: [], workdirs: [] });
  for (const disk of [2, 3]) {
    assert.match(
      run.stdout,
      new RegExp(
        `^virt-v2v: warning: disk ${disk} has no partition table \\(raw data, or a filesystem on the whole disk\\): it is copied unmodified`,
        "m",
      ),
    );
  }
  assert.ok(messages(run.stdout).includes("Converting Windows 11 Pro to run on KVM"), run.stdout);
  assert.ok(messages(run.stdout).includes("Copying disk 3/3"));
  // The data disks arrive byte for byte as they were.
  for (const [index, letter] of ["b", "c"].entries()) {
    const target = path.join(run.sandbox.out, `win11-sd${letter}`);
    assert.equal(await sha256(target), await sha256(dataSources[index]!), `disk ${index + 2}`);
  }
  // Windows 11's driver set is Windows 10's without the QXL display driver (virtio-win has no
  // w11 build of it) and with the SM bus driver (w11 only): upstream's test-phony-win11-ls.txt.
  const win10 = (await expectedVirtioListing("win10")) ?? [];
  const expected = [
    ...win10.filter((name) => !name.startsWith("qxldod.")),
    "smbus.cat",
    "smbus.inf",
  ];
  const hive = path.join(path.dirname(run.sandbox.out), "SYSTEM");
  const answers = await readBack(run.disk, { drivers: `ls ${VIRTIO_DIR}` }, hive);
  assert.deepEqual(answers.drivers?.split("\n"), expected.sort());
  assert.match(run.xml, /<libosinfo:os id='http:\/\/microsoft.com\/win\/11'\/>/);
  assert.equal((run.xml.match(/<disk type='file' device='disk'>/g) ?? []).length, 3);
});

async function expectedVirtioListingUnavailable(os: string): Promise<string | null> {
  return (await expectedVirtioListing(os)) === null
    ? `upstream's expected listing test-phony-${os}-ls.txt is not in ../shared/testdata`
    : null;
}
