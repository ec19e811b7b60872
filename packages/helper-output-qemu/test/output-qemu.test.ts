/**
 * -o qemu: the script as virt-v2v 2.2 writes it (from metadata, compared with 2.2's own output
 * for the same guests), the option errors in 2.2's order and words, and helper-v2v-output-qemu
 * stage by stage with a converted guest's metadata written by hand (no conversion): real
 * nbdkit and qemu-nbd serve the disks, nbdcopy fills one, and real qemu runs the script.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { access, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import type { OutputRequest } from "@split-v2v/common";
import type { MetadataIn, MetadataOut } from "@split-v2v/metadata-schema";
import { createQemuScript, type UefiFirmware } from "@split-v2v/target-formats";
import {
  runOutputHelperToEnd,
  convertedWindowsGuest,
  freePort,
  runHelper,
  serve,
  writeConvertedGuest,
  type ConvertedGuest,
} from "@split-v2v/helper-test-kit";
import { kvmUnusable, outputQemuMode } from "../src/index.js";

const helper = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "src", "cli.js");
const MiB = 1024 * 1024;

/** The OVMF pair of libguestfs's table that 2.2 found first on the machine it ran on. */
const OVMF: UefiFirmware = {
  code: "/usr/share/OVMF/OVMF_CODE.fd",
  vars: "/usr/share/OVMF/OVMF_VARS.fd",
  secureBootRequired: false,
};

/**
 * A Debian 12 guest as virt-v2v 2.2 saw it through -i libvirtxml (one SCSI disk, an IDE CD-ROM
 * on hdc, a floppy, a virtio NIC with a MAC on a bridge, a SPICE display, 2 vCPUs), converted
 * for virtio.
 */
function convertedLinuxGuest(diskSizes: readonly number[], name = "debian-bios"): ConvertedGuest {
  const metadataIn: MetadataIn = {
    schemaVersion: 1,
    kind: "metadata.in",
    input: { mode: "libvirtxml", description: "-i libvirtxml deb.xml" },
    source: {
      name,
      hypervisor: "kvm",
      genid: "0b7b7c52-5c9d-4f1e-9d51-6a3b9e1c2d3f",
      memoryBytes: 1024 * MiB,
      vcpus: 2,
      cpuVendor: null,
      cpuModel: null,
      cpuTopology: null,
      features: ["acpi", "apic"],
      firmware: "bios",
      uefiSecureBoot: false,
      display: {
        type: "spice",
        keymap: null,
        password: null,
        listen: { kind: "none" },
        // <graphics type='spice' port='5930'/>: 2.2 reads a port only with autoport='no'.
        port: null,
      },
      sound: null,
      disks: diskSizes.map((virtualSize, id) => ({
        id,
        socket: `in${id}`,
        virtualSize,
        controller: "scsi" as const,
      })),
      removables: [
        { type: "cdrom", controller: "ide", slot: 2 },
        { type: "floppy", controller: null, slot: 0 },
      ],
      nics: [{ mac: "52:54:00:aa:bb:cc", model: "virtio", network: "br0", networkType: "bridge" }],
    },
  };
  const metadataOut: MetadataOut = {
    schemaVersion: 1,
    kind: "metadata.out",
    inspection: {
      root: "/dev/sda1",
      type: "linux",
      distro: "debian",
      osinfo: "debian12",
      arch: "x86_64",
      majorVersion: 12,
      minorVersion: 2,
      packageFormat: "deb",
      packageManagement: "apt",
      productName: "Debian GNU/Linux 12 (bookworm)",
      productVariant: "unknown",
      hostname: "debian12-vmware",
      mountpoints: [{ mountpoint: "/", device: "/dev/sda1" }],
      firmware: { type: "bios", espDevices: [] },
      windows: null,
    },
    guestcaps: {
      blockBus: "virtio-blk",
      netBus: "virtio-net",
      virtioRng: true,
      virtioBalloon: true,
      isaPvpanic: true,
      virtioSocket: true,
      machine: "q35",
      arch: "x86_64",
      acpi: true,
      virtio10: true,
      defaultCpu: true,
    },
    target: {
      firmware: "bios",
      buses: {
        virtioBlk: diskSizes.map((_, disk) => ({ disk })),
        ide: [null, null, { removable: 0 }],
        scsi: [],
        floppy: [{ removable: 1 }],
      },
      nics: metadataIn.source.nics.map((nic) => ({ ...nic, targetModel: "virtio-net" as const })),
    },
    conversion: { family: "linux", converter: "debian", changes: [], warnings: [] },
  };
  return { metadataIn, metadataOut };
}

/**
 * A Windows 10 guest as virt-v2v 2.2 saw it through -i libvirtxml (UEFI, a genid, 4 vCPUs in
 * 1×2×2, a SCSI disk, a SATA CD-ROM, an e1000 NIC, VNC, ich6 sound), converted without virtio
 * drivers: IDE disk, rtl8139, the CD-ROM on the SCSI bus.
 */
function convertedWindowsUefiGuest(diskSizes: readonly number[], name = "win10-uefi") {
  const guest = convertedWindowsGuest(diskSizes, name);
  const source = guest.metadataIn.source;
  source.genid = "e37c5e24-9a1b-4a0e-8bcb-1b2a3c4d5e6f";
  source.vcpus = 4;
  source.cpuTopology = { sockets: 1, cores: 2, threads: 2 };
  source.firmware = "uefi";
  source.display = {
    type: "vnc",
    keymap: null,
    password: null,
    listen: { kind: "none" },
    port: 5901,
  };
  source.sound = "ich6";
  source.removables = [{ type: "cdrom", controller: "sata", slot: 1 }];
  source.nics = [
    { mac: "52:54:00:12:34:56", model: "e1000", network: "default", networkType: "network" },
  ];
  const converted = guest.metadataOut;
  converted.inspection.firmware = { type: "uefi", espDevices: ["/dev/sda1"] };
  Object.assign(converted.guestcaps, {
    blockBus: "ide",
    netBus: "rtl8139",
    virtioRng: false,
    virtioBalloon: false,
    isaPvpanic: false,
    virtioSocket: false,
  });
  converted.target = {
    firmware: "uefi",
    buses: {
      virtioBlk: [],
      ide: diskSizes.map((_, disk) => ({ disk })),
      scsi: [null, { removable: 0 }],
      floppy: [],
    },
    nics: source.nics.map((nic) => ({ ...nic, targetModel: "rtl8139" as const })),
  };
  return guest;
}

/** What split-v2v adds to 2.2's script: the accelerator override, said in a comment. */
const ACCEL_COMMENT = `# split-v2v: V2V_QEMU_ACCEL chooses qemu's accelerator (default kvm:tcg);
# V2V_QEMU_ACCEL=tcg boots the guest without KVM, where KVM does not work.
`;

test("the script of a Linux BIOS guest is 2.2's, with the accelerator override", () => {
  const { metadataIn, metadataOut } = convertedLinuxGuest([3 * 1024 * MiB]);
  const warnings: string[] = [];
  const script = createQemuScript({
    source: metadataIn.source,
    converted: metadataOut,
    outputName: "debian-bios",
    outputFormat: "qcow2",
    diskPath: (disk) => `/tmp/qemu-probe/lin/debian-bios-sd${"abc"[disk]}`,
    uefi: null,
    vsockGuestCid: 31234,
    warn: (line) => warnings.push(line),
  });
  // virt-v2v 2.2 (Debian's 2.2.0) wrote the same for this guest, but for the override and the
  // guest CID (its PID).
  assert.equal(
    script,
    `#!/bin/sh -

${ACCEL_COMMENT}
qemu-system-x86_64 \\
    -no-user-config \\
    -nodefaults \\
    -name debian-bios \\
    -device vmgenid,guid=0b7b7c52-5c9d-4f1e-9d51-6a3b9e1c2d3f,id=vmgenid0 \\
    -machine q35,accel="\${V2V_QEMU_ACCEL:-kvm:tcg}" \\
    -m 1024 \\
    -smp 2 \\
    -device isa-fdc,id=floppy-bus \\
    -drive file=/tmp/qemu-probe/lin/debian-bios-sda,format=qcow2,if=none,id=drive-vblk-0,media=disk \\
    -device virtio-blk-pci,drive=drive-vblk-0 \\
    -drive if=none,id=drive-ide-2,media=cdrom \\
    -device ide-cd,bus=ide.2,unit=0,drive=drive-ide-2 \\
    -drive if=none,id=drive-floppy-0,media=disk \\
    -device floppy,bus=floppy-bus.0,unit=0,drive=drive-floppy-0 \\
    -netdev user,id=net0 \\
    -device virtio-net-pci,netdev=net0,mac=52:54:00:aa:bb:cc \\
    -spice port=5900,addr=127.0.0.1 \\
    -vga std \\
    -object rng-random,filename=/dev/urandom,id=rng0 \\
    -device virtio-rng-pci,rng=rng0 \\
    -device virtio-balloon \\
    -device pvpanic,ioport=0x505 \\
    -device vhost-vsock-pci,guest-cid=31234 \\
    -serial stdio
`,
  );
  assert.deepEqual(warnings, []);
});

test("the script of a Windows UEFI guest is 2.2's, with the accelerator override", () => {
  const { metadataIn, metadataOut } = convertedWindowsUefiGuest([512 * MiB]);
  const script = createQemuScript({
    source: metadataIn.source,
    converted: metadataOut,
    outputName: "win10-uefi",
    outputFormat: "raw",
    diskPath: () => "/tmp/qemu-probe/win/win10-uefi-sda",
    uefi: OVMF,
    vsockGuestCid: 1,
    warn: (line) => assert.fail(line),
  });
  // virt-v2v 2.2 (Debian's 2.2.0) wrote the same for this guest, but for the override.
  assert.equal(
    script,
    `#!/bin/sh -

${ACCEL_COMMENT}
# Make a copy of the UEFI variables template
uefi_vars="$(mktemp)"
cp '/usr/share/OVMF/OVMF_VARS.fd' "$uefi_vars"

qemu-system-x86_64 \\
    -no-user-config \\
    -nodefaults \\
    -name win10-uefi \\
    -device vmgenid,guid=e37c5e24-9a1b-4a0e-8bcb-1b2a3c4d5e6f,id=vmgenid0 \\
    -machine q35,accel="\${V2V_QEMU_ACCEL:-kvm:tcg}" \\
    -drive if=pflash,format=raw,file=/usr/share/OVMF/OVMF_CODE.fd,readonly=on \\
    -drive if=pflash,format=raw,file="$uefi_vars" \\
    -m 2048 \\
    -smp cpus=4,sockets=1,cores=2,threads=2 \\
    -device virtio-scsi-pci,id=scsi0 \\
    -drive file=/tmp/qemu-probe/win/win10-uefi-sda,format=raw,if=none,id=drive-ide-0,media=disk \\
    -device ide-hd,bus=ide.0,unit=0,drive=drive-ide-0 \\
    -drive if=none,id=drive-scsi-1,media=cdrom \\
    -device scsi-cd,bus=scsi0.0,lun=1,drive=drive-scsi-1 \\
    -netdev user,id=net0 \\
    -device rtl8139,netdev=net0,mac=52:54:00:12:34:56 \\
    -display vnc=:0 \\
    -vga std \\
    -device intel-hda \\
    -device hda-duplex
`,
  );
});

test("the script: Secure Boot firmware forces q35 with SMM; quoting; the host CPU; pc's IDE units", () => {
  const { metadataIn, metadataOut } = convertedWindowsUefiGuest([MiB, MiB, MiB], "win,10 $x");
  metadataOut.guestcaps.machine = "i440fx";
  metadataOut.guestcaps.defaultCpu = false;
  metadataIn.source.display = null;
  metadataIn.source.sound = "pcspk";
  const script = createQemuScript({
    source: metadataIn.source,
    converted: metadataOut,
    outputName: "win,10 $x",
    outputFormat: "raw",
    diskPath: (disk) => `/dir/it's/win,10 $x-sd${"abc"[disk]}`,
    uefi: {
      code: "/usr/share/OVMF/OVMF_CODE.secboot.fd",
      vars: "/usr/share/OVMF/it's VARS.fd",
      secureBootRequired: true,
    },
    vsockGuestCid: 1,
    warn: (line) => assert.fail(line),
  });
  const lines = script.split("\n");
  assert.ok(lines.includes(`cp '/usr/share/OVMF/it'\\''s VARS.fd' "$uefi_vars"`), script);
  // qemuopts: a value with an unsafe character is double-quoted, its commas doubled.
  assert.ok(lines.includes('    -name "win,,10 \\$x" \\'), script);
  assert.ok(
    lines.includes('    -machine q35,smm=on,accel="${V2V_QEMU_ACCEL:-kvm:tcg}" \\'),
    script,
  );
  assert.ok(lines.includes("    -global driver=cfi.pflash01,property=secure,value=on \\"), script);
  assert.ok(
    lines.includes(
      `    -drive "file=/dir/it's/win,,10 \\$x-sdb",format=raw,if=none,id=drive-ide-1,media=disk \\`,
    ),
    script,
  );
  // q35 (forced): one unit per IDE bus.
  assert.ok(lines.includes("    -device ide-hd,bus=ide.2,unit=0,drive=drive-ide-2 \\"), script);
  assert.ok(lines.includes("    -soundhw pcspk"), script);
  // The host's CPU model needs KVM: the script takes "max" under any other accelerator.
  assert.ok(lines.includes('    -cpu "$v2v_cpu" \\'), script);
  assert.ok(
    lines.includes(
      'case "${V2V_QEMU_ACCEL:-kvm:tcg}" in kvm*) v2v_cpu=host ;; *) v2v_cpu=max ;; esac',
    ),
    script,
  );

  // On pc (no Secure Boot), two units per IDE bus.
  const pc = createQemuScript({
    source: metadataIn.source,
    converted: metadataOut,
    outputName: "pc",
    outputFormat: "raw",
    diskPath: (disk) => `/d/pc-sd${"abc"[disk]}`,
    uefi: OVMF,
    vsockGuestCid: 1,
    warn: (line) => assert.fail(line),
  });
  assert.match(pc, /^ {4}-machine pc,accel=/m);
  assert.match(pc, /^ {4}-device ide-hd,bus=ide\.0,unit=1,drive=drive-ide-1 \\$/m);
  assert.match(pc, /^ {4}-device ide-hd,bus=ide\.1,unit=0,drive=drive-ide-2 \\$/m);
  assert.doesNotMatch(pc, /-global|smm=on/);
});

test("the script: the virt machine warns about IDE and floppies as 2.2 does", () => {
  const { metadataIn, metadataOut } = convertedLinuxGuest([MiB]);
  metadataOut.guestcaps.machine = "virt";
  metadataOut.guestcaps.arch = "aarch64";
  const warnings: string[] = [];
  const script = createQemuScript({
    source: metadataIn.source,
    converted: metadataOut,
    outputName: "arm",
    outputFormat: "raw",
    diskPath: () => "/d/arm-sda",
    uefi: null,
    vsockGuestCid: 1,
    warn: (line) => warnings.push(line),
  });
  assert.match(script, /^qemu-system-aarch64 \\$/m);
  assert.match(script, /-machine virt,accel=/);
  assert.deepEqual(warnings, [
    'The Virt machine has no support for IDE. Please report a bug for virt-v2v -- refer to virt-v2v(1) section "BUGS".',
    'The Virt machine has no support for floppies. Please report a bug for virt-v2v -- refer to virt-v2v(1) section "BUGS".',
  ]);
});

function request(overrides: Partial<OutputRequest>): OutputRequest {
  return {
    mode: "qemu",
    storage: "/tmp",
    format: undefined,
    allocation: undefined,
    name: undefined,
    connection: undefined,
    password: undefined,
    options: [],
    ...overrides,
  };
}

test("-o qemu's descriptor: -oo ? and the description as 2.2 prints them, its option errors in 2.2's order", () => {
  assert.equal(
    outputQemuMode.optionsHelp,
    `Output options (-oo) which can be used with -o qemu:

  -oo compressed      Compress the output file (used only with -of qcow2)
  -oo qemu-boot       Boot the guest in qemu after conversion
`,
  );
  assert.equal(
    outputQemuMode.description(request({ storage: "/var/tmp" })),
    "-o qemu -os /var/tmp",
  );
  assert.equal(outputQemuMode.description(request({ storage: undefined })), "-o qemu");
  assert.deepEqual(
    outputQemuMode.helperArgs(request({ options: ["qemu-boot"], connection: "qemu:///x" })),
    ["-os", "/tmp", "-oc", "qemu:///x", "-oo", "qemu-boot"],
  );
  const cases: Array<[Partial<OutputRequest>, string]> = [
    [
      { password: "/pw", options: ["bogus"], storage: undefined },
      "-o qemu: -op option cannot be used in this output mode",
    ],
    [{ options: ["compressed", "bogus=1"] }, "-o qemu: unknown output option ‘-oo bogus’"],
    [{ options: ["qemu-boot=yes"] }, "-o qemu: -oo qemu-boot=yes: the value must be true or false"],
    [{ options: ["bogus"], storage: undefined }, "-o qemu: unknown output option ‘-oo bogus’"],
    [{ storage: undefined }, "-o qemu: output directory was not specified, use '-os /dir'"],
    [
      { allocation: "thin" },
      "-oa thin: unknown output allocation mode; use -oa sparse or -oa preallocated",
    ],
  ];
  for (const [overrides, message] of cases) {
    assert.throws(() => outputQemuMode.helperArgs(request(overrides)), { message });
  }
});

async function setUp(t: test.TestContext, guest: ConvertedGuest) {
  const dir = await mkdtemp(path.join(os.tmpdir(), "output-qemu-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const out = path.join(dir, "out");
  await mkdir(out);
  const workdir = await mkdtemp(path.join(dir, "work-"));
  await writeConvertedGuest(workdir, guest);
  return { dir, out, workdir };
}

test("helper-v2v-output-qemu refuses bad options in one line before creating anything", async (t) => {
  const { dir, out, workdir } = await setUp(t, convertedLinuxGuest([8 * MiB]));
  const file = path.join(dir, "file");
  await writeFile(file, "");
  const cases: Array<[string[], RegExp]> = [
    [["-os", out, "-op", "/pw"], /-o qemu: -op option cannot be used in this output mode$/],
    [["-os", out, "-oo", "colour=red"], /-o qemu: unknown output option ‘-oo colour’$/],
    [[], /-o qemu: output directory was not specified, use '-os \/dir'$/],
    [
      ["-os", path.join(dir, "missing")],
      /-os .*missing: output directory does not exist or is not a directory$/,
    ],
    [["-os", file], /-os .*file: output directory does not exist or is not a directory$/],
    [
      ["-os", out, "-oo", "compressed"],
      /‘-oo compressed’ is only allowed when the output format is a local qcow2-format file, i\.e\. ‘-of qcow2’$/,
    ],
    [
      ["-os", out, "-of", "vmdk"],
      /output mode only supports raw or qcow2 format \(format: vmdk\)$/,
    ],
  ];
  for (const [options, message] of cases) {
    const result = await runHelper(helper, ["precheck", workdir, ...options]);
    assert.equal(result.exitCode, 1, options.join(" "));
    const errors = String(result.stderr)
      .split("\n")
      .filter((line) => line.includes("error:"));
    assert.equal(errors.length, 1, String(result.stderr));
    assert.match(errors[0]!, message);
  }
  // -oc is not refused (2.2 ignores it in this mode); precheck creates nothing.
  const precheck = await runHelper(helper, ["precheck", workdir, "-os", out, "-oc", "qemu:///x"]);
  assert.equal(precheck.exitCode, 0, String(precheck.stderr));
  assert.deepEqual(await readdir(out), []);
});

/**
 * Runs a generated script with V2V_QEMU_ACCEL=tcg for `seconds`: qemu must still be running
 * then (it refuses a bad argument at once). Kills the script's process group.
 */
async function runScriptBriefly(script: string, seconds: number, env: NodeJS.ProcessEnv = {}) {
  const child = execa(script, [], {
    env: { ...env, V2V_QEMU_ACCEL: "tcg" },
    detached: true,
    stdin: "ignore",
    reject: false,
  });
  const exited = await Promise.race([
    child.then(() => true),
    new Promise<false>((resolve) => setTimeout(() => resolve(false), seconds * 1000)),
  ]);
  if (!exited) process.kill(-child.pid!, "SIGKILL");
  const result = await child;
  return { exited, stderr: String(result.stderr), exitCode: result.exitCode };
}

/** qemu cannot create vhost-vsock-pci without the host's /dev/vhost-vsock. */
async function hostHasVhostVsock(): Promise<boolean> {
  try {
    await access("/dev/vhost-vsock");
    return true;
  } catch {
    return false;
  }
}

test("-o qemu: raw disks DIR/NAME-sdX and an executable DIR/NAME.sh that qemu runs", async (t) => {
  const guest = convertedLinuxGuest([32 * MiB, 16 * MiB], "linux-guest");
  // A display qemu can open where nothing else listens (2.2 writes the source's port).
  guest.metadataIn.source.display!.port = await freePort();
  const vsock = await hostHasVhostVsock();
  guest.metadataOut.guestcaps.virtioSocket = vsock;
  const { dir, out, workdir } = await setUp(t, guest);
  const source = path.join(dir, "source.img");
  await execa("qemu-img", ["create", "-q", "-f", "raw", source, "32M"]);
  await execa("qemu-io", ["-f", "raw", "-c", "write -P 0x5a 1M 2M", source]);

  const options = ["-os", out];
  await runOutputHelperToEnd(helper, workdir, options, {
    sources: [source],
    sockets: ["out0", "out1"],
    after: (cleanup) => t.after(cleanup),
  });

  assert.deepEqual((await readdir(out)).sort(), [
    "linux-guest-sda",
    "linux-guest-sdb",
    "linux-guest.sh",
  ]);
  assert.deepEqual(await readFile(path.join(out, "linux-guest-sda")), await readFile(source));
  assert.equal((await stat(path.join(out, "linux-guest-sdb"))).size, 16 * MiB);
  const script = path.join(out, "linux-guest.sh");
  assert.equal((await stat(script)).mode & 0o777, 0o755);
  const text = await readFile(script, "utf8");
  await execa("sh", ["-n", script]);
  assert.match(text, /^#!\/bin\/sh -\n/);
  assert.ok(
    text.includes(
      `    -drive file=${out}/linux-guest-sdb,format=raw,if=none,id=drive-vblk-1,media=disk \\\n    -device virtio-blk-pci,drive=drive-vblk-1 \\\n`,
    ),
    text,
  );
  assert.equal(text.includes("-device vhost-vsock-pci,guest-cid="), vsock);
  assert.match(text, / {4}-serial stdio\n$/);

  // Real qemu takes every argument: it is still running after a few seconds.
  const run = await runScriptBriefly(script, 5);
  assert.equal(run.exited, false, `qemu exited (${String(run.exitCode)}): ${run.stderr}`);
  if (!vsock) {
    // Where the host cannot give the guest a vsock, the device and its property exist.
    const help = await execa("qemu-system-x86_64", ["-device", "vhost-vsock-pci,help"]);
    assert.match(String(help.stdout), /guest-cid=/);
  }
});

test("-o qemu -of qcow2 -oo compressed: a UEFI guest's script boots OVMF on the qcow2 disk", async (t) => {
  const guest = convertedWindowsUefiGuest([16 * MiB], "uefi-guest");
  guest.metadataIn.source.display = {
    type: "spice",
    keymap: null,
    password: null,
    listen: { kind: "none" },
    port: await freePort(),
  };
  const { out, workdir } = await setUp(t, guest);
  const options = ["-os", out, "-of", "qcow2", "-oo", "compressed"];
  const setup = await serve(helper, ["setup", workdir, ...options]);
  let stopped = false;
  t.after(() => {
    if (!stopped) setup.child.kill("SIGTERM");
  });
  const final = await runHelper(helper, ["final", workdir, ...options]);
  assert.equal(final.exitCode, 0, String(final.stderr));
  await writeFile(path.join(workdir, "done"), "");
  setup.child.kill("SIGTERM");
  stopped = true;
  await setup.child;

  const info = await execa("qemu-img", ["info", "--output=json", path.join(out, "uefi-guest-sda")]);
  assert.equal((JSON.parse(String(info.stdout)) as { format: string }).format, "qcow2");
  const script = path.join(out, "uefi-guest.sh");
  const text = await readFile(script, "utf8");
  await execa("sh", ["-n", script]);
  assert.match(text, /^uefi_vars="\$\(mktemp\)"$/m);
  assert.match(text, /format=qcow2,if=none,id=drive-ide-0,media=disk/);
  // The script copies the vars template to a file of its own (in TMPDIR) on every run.
  const tmp = path.join(path.dirname(out), "tmp");
  await mkdir(tmp);
  const run = await runScriptBriefly(script, 5, { TMPDIR: tmp });
  assert.equal(run.exited, false, `qemu exited (${String(run.exitCode)}): ${run.stderr}`);
  assert.equal((await readdir(tmp)).length, 1);
});

test("-o qemu: a run that did not finish leaves neither disks nor script", async (t) => {
  const { out, workdir } = await setUp(t, convertedLinuxGuest([8 * MiB], "unfinished"));
  const options = ["-os", out, "-on", "renamed"];
  const setup = await serve(helper, ["setup", workdir, ...options]);
  t.after(() => setup.child.kill("SIGTERM"));
  assert.deepEqual(await readdir(out), ["renamed-sda"]);
  const final = await runHelper(helper, ["final", workdir, ...options]);
  assert.equal(final.exitCode, 0, String(final.stderr));
  assert.deepEqual((await readdir(out)).sort(), ["renamed-sda", "renamed.sh"]);
  assert.match(await readFile(path.join(out, "renamed.sh"), "utf8"), /-name renamed \\/);
  // No WORKDIR/done: the run did not finish.
  setup.child.kill("SIGTERM");
  await setup.child;
  assert.deepEqual(await readdir(out), []);
});

/** The PIDs of processes whose command line mentions `needle`. */
async function pidsMentioning(needle: string): Promise<number[]> {
  const result = await execa("pgrep", ["-f", needle], { reject: false });
  return String(result.stdout)
    .split("\n")
    .filter((line) => line !== "")
    .map(Number);
}

test("-oo qemu-boot: the script starts in the background once virt-v2v has exited, with TCG where KVM does not work", async (t) => {
  const guest = convertedLinuxGuest([8 * MiB], "booted");
  guest.metadataIn.source.display = null;
  guest.metadataOut.guestcaps.virtioSocket = await hostHasVhostVsock();
  const { dir, out, workdir } = await setUp(t, guest);
  const options = ["-os", out, "-oo", "qemu-boot"];
  const setup = await serve(helper, ["setup", workdir, ...options]);
  await writeFile(path.join(workdir, "done"), "");
  setup.child.kill("SIGTERM");
  await setup.child;

  const script = path.join(out, "booted.sh");
  t.after(async () => {
    // Only what this test started: the script's process group.
    for (const pid of await pidsMentioning(script)) {
      const pgid = Number(
        String(
          (await execa("ps", ["-o", "pgid=", "-p", String(pid)], { reject: false })).stdout,
        ).trim(),
      );
      if (pgid > 1) process.kill(-pgid, "SIGKILL");
    }
  });
  // The helper as virt-v2v runs it: its parent (here a shell) stays while final runs, and the
  // guest's console goes where the parent's output goes.
  const console = path.join(dir, "console.log");
  const parent = await execa(
    "sh",
    ["-c", '"$@"; exit $?', "sh", process.execPath, helper, "final", workdir, ...options],
    { stdout: { file: console }, reject: false },
  );
  assert.equal(parent.exitCode, 0, String(parent.stderr));
  const reason = await kvmUnusable();
  const warnings = (await readFile(console, "utf8"))
    .split("\n")
    .filter((line) => line.startsWith('{"event":"warning"'));
  if (reason === null) assert.deepEqual(warnings, []);
  else
    assert.match(
      warnings[0] ?? "",
      /-oo qemu-boot: KVM does not work on this host .*V2V_QEMU_ACCEL=tcg/,
    );

  // The guest comes up: its qemu runs, named as the script says, and keeps running.
  let qemu: number[] = [];
  for (let tries = 0; tries < 50 && qemu.length === 0; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    qemu = await pidsMentioning(`qemu-system-x86_64 .*-name booted`);
  }
  assert.equal(qemu.length, 1, "qemu started");
  await new Promise((resolve) => setTimeout(resolve, 3000));
  assert.deepEqual(
    await pidsMentioning(`qemu-system-x86_64 .*-name booted`),
    qemu,
    "qemu still runs",
  );
  const environ = await readFile(`/proc/${qemu[0]}/environ`, "utf8");
  assert.equal(
    environ.split("\0").includes("V2V_QEMU_ACCEL=tcg"),
    reason !== null,
    "the accelerator override is set exactly when KVM does not work",
  );
});
