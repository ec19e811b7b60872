/**
 * The shell script that boots a converted guest in qemu (virt-v2v 2.2's -o qemu writes it as
 * DIR/NAME.sh), argument for argument, in 2.2's order and with its shell and qemu comma quoting
 * (libguestfs-common's qemuopts: one option per line, a value quoted only when it has a
 * character outside the safe set).
 *
 * One addition: the accelerator in `-machine …,accel=` is `${V2V_QEMU_ACCEL:-kvm:tcg}`, so that
 * the guest can be booted with V2V_QEMU_ACCEL=tcg where KVM is present but does not work (qemu
 * would take KVM and hang, or abort). A guest that needs the host's CPU model (`-cpu host`,
 * which only KVM offers) is then given qemu's "max" model instead.
 */
import type { MetadataIn, MetadataOut, BusSlot } from "@split-v2v/metadata-schema";
import type { UefiFirmware } from "./uefi.js";

/** The environment variable the script reads its accelerator from. */
export const QEMU_ACCEL_VARIABLE = "V2V_QEMU_ACCEL";
/** The accelerator 2.2 writes, and the script's default. */
export const DEFAULT_QEMU_ACCEL = "kvm:tcg";

export interface QemuScriptInput {
  source: MetadataIn["source"];
  converted: MetadataOut;
  outputName: string;
  outputFormat: string;
  /** The path of target disk `diskId` as qemu opens it (2.2: absolute). */
  diskPath: (diskId: number) => string;
  /** The UEFI firmware when the target firmware is UEFI (findUefiFirmware), else null. */
  uefi: UefiFirmware | null;
  /**
   * The guest CID of the vhost-vsock device. The script cannot choose a free one as libvirt
   * does, so 2.2 takes its own PID, most likely unused (at least 3: 0–2 are reserved).
   */
  vsockGuestCid: number;
  /** Told when the machine (virt) has no controller for the guest's IDE disks or floppies. */
  warn: (line: string) => void;
}

/** Shell text written as it is (a variable's expansion), not quoted. */
interface ShellText {
  shell: string;
}

type ListItem = string | ShellText;

type QemuOption =
  | { kind: "flag"; flag: string }
  | { kind: "arg"; flag: string; value: string }
  | { kind: "noquote"; flag: string; value: string }
  | { kind: "list"; flag: string; values: readonly ListItem[] };

const SHELL_SAFE = /^[a-zA-Z0-9.\-_=,:/]*$/;
const SHELL_AND_COMMA_SAFE = /^[a-zA-Z0-9.\-_=:/]*$/;

/** qemuopts' shell_quote: as it is when every character is safe, else double-quoted. */
function shellQuote(text: string): string {
  if (SHELL_SAFE.test(text)) return text;
  return `"${text.replace(/[$`\\"]/g, "\\$&")}"`;
}

/** qemuopts' shell_and_comma_quote: as shellQuote, and a comma doubled as qemu reads it. */
function shellAndCommaQuote(text: string): string {
  if (SHELL_AND_COMMA_SAFE.test(text)) return text;
  return `"${text.replace(/[$`\\"]/g, "\\$&").replace(/,/g, ",,")}"`;
}

/** OCaml's Filename.quote, which 2.2 uses for the UEFI vars template: always single-quoted. */
function singleQuote(text: string): string {
  return `'${text.replace(/'/g, "'\\''")}'`;
}

/** qemuopts_to_channel: the binary, then one option per continued line. */
function commandText(binary: string, options: readonly QemuOption[]): string {
  const newline = " \\\n    ";
  let text = shellQuote(binary);
  for (const option of options) {
    switch (option.kind) {
      case "flag":
        text += `${newline}${option.flag}`;
        break;
      case "noquote":
        text += `${newline}${option.flag} ${option.value}`;
        break;
      case "arg":
        text += `${newline}${option.flag} ${shellAndCommaQuote(option.value)}`;
        break;
      case "list":
        text += `${newline}${option.flag} ${option.values
          .map((value) => (typeof value === "string" ? shellAndCommaQuote(value) : value.shell))
          .join(",")}`;
        break;
    }
  }
  return `${text}\n`;
}

/** qemu's -device (and other) names of the sound cards (2.2: PCSpeaker is not qdev-ified). */
const SOUND_OPTIONS: Record<NonNullable<MetadataIn["source"]["sound"]>, [string, string][]> = {
  ac97: [["-device", "AC97"]],
  es1370: [["-device", "ES1370"]],
  ich6: [
    ["-device", "intel-hda"],
    ["-device", "hda-duplex"],
  ],
  // ich9 is a q35-only device (2.2 adds it whatever the machine).
  ich9: [["-device", "ich9-intel-hda"]],
  pcspk: [["-soundhw", "pcspk"]],
  sb16: [["-device", "sb16"]],
  usb: [["-device", "usb-audio"]],
};

const NET_DEVICES: Record<MetadataOut["guestcaps"]["netBus"], string> = {
  "virtio-net": "virtio-net-pci",
  e1000: "e1000",
  rtl8139: "rtl8139",
};

/** The text of DIR/NAME.sh (to be written with mode 0755). */
export function createQemuScript(input: QemuScriptInput): string {
  const { source, converted, warn } = input;
  const { guestcaps } = converted;
  const buses = converted.target.buses;
  if (converted.target.firmware === "uefi" && input.uefi === null)
    throw new Error("createQemuScript: a UEFI guest needs the UEFI firmware");
  const uefi = converted.target.firmware === "uefi" ? input.uefi : null;
  // Q35 when the firmware only boots with Secure Boot (PC cannot do it).
  const secureBootRequired = uefi?.secureBootRequired ?? false;
  const machine = secureBootRequired ? "q35" : guestcaps.machine;

  const options: QemuOption[] = [];
  const flag = (name: string) => options.push({ kind: "flag", flag: name });
  const arg = (name: string, value: string) => options.push({ kind: "arg", flag: name, value });
  const argList = (name: string, values: readonly ListItem[]) =>
    options.push({ kind: "list", flag: name, values });

  flag("-no-user-config");
  flag("-nodefaults");
  arg("-name", input.outputName);
  if (source.genid !== null) argList("-device", ["vmgenid", `guid=${source.genid}`, "id=vmgenid0"]);
  argList("-machine", [
    machine === "i440fx" ? "pc" : machine,
    ...(secureBootRequired ? ["smm=on"] : []),
    { shell: `accel="\${${QEMU_ACCEL_VARIABLE}:-${DEFAULT_QEMU_ACCEL}}"` },
  ]);
  if (uefi !== null) {
    if (secureBootRequired)
      argList("-global", ["driver=cfi.pflash01", "property=secure", "value=on"]);
    argList("-drive", ["if=pflash", "format=raw", `file=${uefi.code}`, "readonly=on"]);
    options.push({
      kind: "noquote",
      flag: "-drive",
      value: 'if=pflash,format=raw,file="$uefi_vars"',
    });
  }
  arg("-m", String(Math.floor(source.memoryBytes / 1024 / 1024)));

  // The host's CPU model only exists under KVM: with another accelerator, qemu's "max".
  const hostCpu = source.cpuModel === null && !guestcaps.defaultCpu;
  if (hostCpu) options.push({ kind: "noquote", flag: "-cpu", value: '"$v2v_cpu"' });
  else if (source.cpuModel !== null) arg("-cpu", source.cpuModel);

  if (source.vcpus > 1) {
    const topology = source.cpuTopology;
    if (topology === null) arg("-smp", String(source.vcpus));
    else
      argList("-smp", [
        `cpus=${source.vcpus}`,
        `sockets=${topology.sockets}`,
        `cores=${topology.cores}`,
        `threads=${topology.threads}`,
      ]);
  }

  // IDE, SCSI and floppy devices need a host bus adapter: some machine types have one built
  // in (despite -nodefaults), some do not.
  const removableType = (slot: BusSlot): "cdrom" | "floppy" | null =>
    slot !== null && "removable" in slot
      ? (source.removables[slot.removable]?.type ?? "cdrom")
      : null;
  const diskOrCdrom = (slot: BusSlot) =>
    (slot !== null && "disk" in slot) || removableType(slot) === "cdrom";
  const ideControllerNeeded = buses.ide.some(diskOrCdrom);
  const scsiControllerNeeded = buses.scsi.some(diskOrCdrom);
  const floppyControllerNeeded = buses.floppy.some((slot) => removableType(slot) === "floppy");
  // pc has piix3-ide (ide.0 and ide.1, two units each), q35 has ich9-ahci (ide.0 to ide.5).
  if (ideControllerNeeded && machine === "virt") {
    warn(
      'The Virt machine has no support for IDE. Please report a bug for virt-v2v -- refer to virt-v2v(1) section "BUGS".',
    );
  }
  // The bus of this controller is scsi0.0, on every machine type.
  if (scsiControllerNeeded) argList("-device", ["virtio-scsi-pci", "id=scsi0"]);
  if (floppyControllerNeeded) {
    // pc has isa-fdc built in (floppy-bus.0); q35 needs it added (".0" is appended to the id).
    if (machine === "q35") argList("-device", ["isa-fdc", "id=floppy-bus"]);
    else if (machine === "virt") {
      warn(
        'The Virt machine has no support for floppies. Please report a bug for virt-v2v -- refer to virt-v2v(1) section "BUGS".',
      );
    }
  }

  const diskBackend = (diskId: number, backend: string) =>
    argList("-drive", [
      `file=${input.diskPath(diskId)}`,
      `format=${input.outputFormat}`,
      "if=none",
      `id=${backend}`,
      "media=disk",
    ]);
  const cdromBackend = (backend: string) =>
    argList("-drive", ["if=none", `id=${backend}`, "media=cdrom"]);

  buses.virtioBlk.forEach((slot, index) => {
    if (slot === null || !("disk" in slot)) return;
    const backend = `drive-vblk-${index}`;
    diskBackend(slot.disk, backend);
    argList("-device", ["virtio-blk-pci", `drive=${backend}`]);
  });
  buses.ide.forEach((slot, index) => {
    if (!diskOrCdrom(slot)) return;
    const backend = `drive-ide-${index}`;
    const [bus, unit] =
      machine === "i440fx"
        ? [Math.floor(index / 2), index % 2]
        : machine === "q35"
          ? [index, 0]
          : [0, 0];
    const common = [`bus=ide.${bus}`, `unit=${unit}`, `drive=${backend}`];
    if (slot !== null && "disk" in slot) {
      diskBackend(slot.disk, backend);
      argList("-device", ["ide-hd", ...common]);
    } else {
      cdromBackend(backend);
      argList("-device", ["ide-cd", ...common]);
    }
  });
  buses.scsi.forEach((slot, index) => {
    if (!diskOrCdrom(slot)) return;
    const backend = `drive-scsi-${index}`;
    const common = ["bus=scsi0.0", `lun=${index}`, `drive=${backend}`];
    if (slot !== null && "disk" in slot) {
      diskBackend(slot.disk, backend);
      argList("-device", ["scsi-hd", ...common]);
    } else {
      cdromBackend(backend);
      argList("-device", ["scsi-cd", ...common]);
    }
  });
  buses.floppy.forEach((slot, index) => {
    if (removableType(slot) !== "floppy") return;
    const backend = `drive-floppy-${index}`;
    argList("-drive", ["if=none", `id=${backend}`, "media=disk"]);
    argList("-device", ["floppy", "bus=floppy-bus.0", `unit=${index}`, `drive=${backend}`]);
  });

  const netDevice = NET_DEVICES[guestcaps.netBus];
  converted.target.nics.forEach((nic, index) => {
    argList("-netdev", ["user", `id=net${index}`]);
    argList("-device", [
      netDevice,
      `netdev=net${index}`,
      ...(nic.mac === null ? [] : [`mac=${nic.mac}`]),
    ]);
  });

  const display = source.display;
  if (display !== null) {
    if (display.type === "window") arg("-display", "gtk");
    else if (display.type === "vnc") arg("-display", "vnc=:0");
    else argList("-spice", [`port=${display.port ?? 5900}`, "addr=127.0.0.1"]);
    arg("-vga", "std");
  }

  if (source.sound !== null)
    for (const [name, value] of SOUND_OPTIONS[source.sound]) arg(name, value);

  if (guestcaps.virtioRng) {
    argList("-object", ["rng-random", "filename=/dev/urandom", "id=rng0"]);
    argList("-device", ["virtio-rng-pci", "rng=rng0"]);
  }
  if (guestcaps.virtioBalloon) arg("-device", "virtio-balloon");
  if (guestcaps.isaPvpanic) argList("-device", ["pvpanic", "ioport=0x505"]);
  if (guestcaps.virtioSocket) {
    argList("-device", ["vhost-vsock-pci", `guest-cid=${Math.max(3, input.vsockGuestCid)}`]);
  }
  if (converted.inspection.type === "linux") arg("-serial", "stdio");

  const accel = `\${${QEMU_ACCEL_VARIABLE}:-${DEFAULT_QEMU_ACCEL}}`;
  let text = "#!/bin/sh -\n\n";
  text +=
    `# split-v2v: ${QEMU_ACCEL_VARIABLE} chooses qemu's accelerator (default ${DEFAULT_QEMU_ACCEL});\n` +
    `# ${QEMU_ACCEL_VARIABLE}=tcg boots the guest without KVM, where KVM does not work.\n`;
  if (hostCpu) {
    text +=
      `# The host's CPU model exists under KVM only: under another accelerator, qemu's "max".\n` +
      `case "${accel}" in kvm*) v2v_cpu=host ;; *) v2v_cpu=max ;; esac\n`;
  }
  text += "\n";
  if (uefi !== null) {
    text +=
      "# Make a copy of the UEFI variables template\n" +
      'uefi_vars="$(mktemp)"\n' +
      `cp ${singleQuote(uefi.vars)} "$uefi_vars"\n` +
      "\n";
  }
  return text + commandText(`qemu-system-${guestcaps.arch}`, options);
}
