/**
 * The source guest a .vmx file describes, derived key by key as virt-v2v does
 * (input/parse_domain_from_vmx.ml): name, generation ID, memory, vCPUs and topology, firmware
 * and secure boot, sound card, hard disks in controller order, IDE CD-ROMs and NICs.
 */
import path from "node:path";
import { UserError } from "@split-v2v/common";
import type { SourceController, SourceNic, SourceRemovable } from "@split-v2v/metadata-schema";
import { keyIn, type VmxFile } from "./vmx-file.js";

/** A hard disk named in the .vmx file, before it is served. */
export interface VmxDisk {
  controller: "scsi" | "nvme" | "sata" | "ide";
  /** Controller and target numbers: `scsi1:3` is controller 1, target 3. */
  bus: number;
  target: number;
  /** The fileName value as written: relative names are relative to the .vmx file's folder. */
  fileName: string;
}

export interface VmxGuest {
  name: string;
  genid: string | null;
  memoryBytes: number;
  vcpus: number;
  cpuTopology: { sockets: number; cores: number; threads: number } | null;
  firmware: "bios" | "uefi";
  uefiSecureBoot: boolean;
  sound: "sb16" | "es1370" | "ich6" | null;
  disks: VmxDisk[];
  removables: SourceRemovable[];
  nics: SourceNic[];
}

/**
 * `scsi%d:%d`, as OCaml's sscanf reads it: an optionally signed number (digits, `_` allowed
 * after the first), a colon, another number; whatever follows is not looked at.
 */
const SCANF_INT = "([+-]?[0-9][0-9_]*)";

function scanfInt(text: string): number | null {
  const value = Number(text.replace(/_/g, ""));
  // OCaml fails on numbers that do not fit an int; such a namespace is simply not a device.
  return Number.isSafeInteger(value) ? value : null;
}

function controllerTarget(prefix: string, namespace: string): [number, number] | null {
  const match = new RegExp(`^${prefix}${SCANF_INT}:${SCANF_INT}`).exec(namespace);
  if (!match) return null;
  const bus = scanfInt(match[1]!);
  const target = scanfInt(match[2]!);
  return bus === null || target === null ? null : [bus, target];
}

/** deviceType values that mark a hard disk on each controller (null: the key is absent). */
const DISK_DEVICE_TYPES: ReadonlyArray<[VmxDisk["controller"], ReadonlyArray<string | null>]> = [
  ["scsi", ["disk", "plaindisk", "rawdisk", "scsi-harddisk", null]],
  ["nvme", [null]],
  // Newer virt-v2v also takes "disk" here; other SATA device types are CD-ROMs.
  ["sata", ["disk", null]],
  ["ide", ["ata-harddisk"]],
];

function lowercaseOrNull(value: string | null): string | null {
  return value === null ? null : value.replace(/[A-Z]+/g, (upper) => upper.toLowerCase());
}

/** Hard disks: SCSI, then NVMe, then SATA, then IDE; by controller then target within each. */
export function findDisks(vmx: VmxFile): VmxDisk[] {
  const disks: VmxDisk[] = [];
  for (const [controller, deviceTypes] of DISK_DEVICE_TYPES) {
    const found: VmxDisk[] = [];
    for (const [name, namespace] of vmx.topNamespaces()) {
      const numbers = controllerTarget(controller, name);
      if (numbers === null) continue;
      if (!deviceTypes.includes(lowercaseOrNull(keyIn(namespace, "deviceType")))) continue;
      const fileName = keyIn(namespace, "fileName");
      if (fileName === null) continue;
      found.push({ controller, bus: numbers[0], target: numbers[1], fileName });
    }
    found.sort(
      (a, b) =>
        a.bus - b.bus ||
        a.target - b.target ||
        Buffer.compare(Buffer.from(a.fileName), Buffer.from(b.fileName)),
    );
    disks.push(...found);
  }
  return disks;
}

const CDROM_DEVICE_TYPES = ["atapi-cdrom", "cdrom-image", "cdrom-raw"];

/**
 * CD-ROMs: only IDE ones, as virt-v2v (SATA and SCSI CD-ROMs are left out). The slot assumes the
 * old master/slave arrangement: controller × 2 + target.
 */
export function findRemovables(vmx: VmxFile): SourceRemovable[] {
  const removables: SourceRemovable[] = [];
  for (const [name, namespace] of vmx.topNamespaces()) {
    const numbers = controllerTarget("ide", name);
    if (numbers === null) continue;
    const deviceType = lowercaseOrNull(keyIn(namespace, "deviceType"));
    if (deviceType === null || !CDROM_DEVICE_TYPES.includes(deviceType)) continue;
    const controller: SourceController = "ide";
    removables.push({ type: "cdrom", controller, slot: numbers[0] * 2 + numbers[1] });
  }
  return removables.sort((a, b) => (a.slot ?? 0) - (b.slot ?? 0));
}

const MAC_ADDRESS = /^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/;

/** NICs (ethernetN), by port: generated MAC, model, network name and whether it is bridged. */
export function findNics(vmx: VmxFile, warn: (text: string) => void): SourceNic[] {
  const nics: Array<[number, SourceNic]> = [];
  for (const [name, namespace] of vmx.topNamespaces()) {
    const match = new RegExp(`^ethernet${SCANF_INT}`).exec(name);
    if (!match) continue;
    const port = scanfInt(match[1]!);
    if (port === null) continue;
    let mac = keyIn(namespace, "generatedAddress");
    if (mac !== null && !MAC_ADDRESS.test(mac)) {
      warn(`${name}.generatedAddress "${mac}" is not a MAC address; the NIC's MAC is ignored`);
      mac = null;
    }
    const model = lowercaseOrNull(keyIn(namespace, "virtualDev"));
    const bridged = lowercaseOrNull(keyIn(namespace, "connectionType")) === "bridged";
    nics.push([
      port,
      {
        mac,
        model,
        network: keyIn(namespace, "networkName") ?? name,
        networkType: bridged ? "bridge" : "network",
      },
    ]);
  }
  return nics.sort((a, b) => a[0] - b[0]).map(([, nic]) => nic);
}

const DISK_IMAGE_SUFFIXES = [".img", ".ova", ".qcow2", ".raw", ".vmdk", ".vmx", "-sda"];

/** virt-v2v's name_from_disk: the base name without a disk-image suffix. */
export function nameFromFile(file: string): string {
  const base = path.posix.basename(file);
  const suffix = DISK_IMAGE_SUFFIXES.find((candidate) => base.endsWith(candidate));
  const name = suffix === undefined ? base : base.slice(0, -suffix.length);
  if (name === "") throw new UserError(`invalid input filename (${file})`);
  return name;
}

/** The 64-bit two's complement of `value` as 16 hex digits (OCaml's %016Lx). */
function hex64(value: bigint): string {
  return BigInt.asUintN(64, value).toString(16).padStart(16, "0");
}

/**
 * The VM generation ID from vm.genid (low) and vm.genidX (high), laid out as virt-v2v does
 * (docs/vm-generation-id-across-hypervisors.txt): the first three groups are read as
 * big-endian fields of the low half, the last two byte-swapped from the high half.
 */
export function genidFromVmx(low: bigint, high: bigint): string {
  const hex = hex64(low) + hex64(high);
  const at = (offset: number, length: number) => hex.slice(offset, offset + length);
  return [
    at(8, 8),
    at(4, 4),
    at(0, 4),
    at(30, 2) + at(28, 2),
    at(26, 2) + at(24, 2) + at(22, 2) + at(20, 2) + at(18, 2) + at(16, 2),
  ].join("-");
}

function toNumber(value: bigint, what: string, raw: string): number {
  const result = Number(value);
  if (!Number.isSafeInteger(result) || result < 1) {
    throw new UserError(`-i vmx: ${what} = "${raw}" in the VMX file is out of range`);
  }
  return result;
}

const SOUND_MODELS = new Map<string, VmxGuest["sound"]>([
  ["sb16", "sb16"],
  // The nearest model qemu has.
  ["es1371", "es1370"],
  ["hdaudio", "ich6"],
]);

/**
 * Everything virt-v2v reads from the .vmx file. `vmxPath` (the local file or the remote path)
 * names the guest when displayName is absent.
 */
export function guestFromVmx(
  vmx: VmxFile,
  vmxPath: string,
  warn: (text: string) => void,
): VmxGuest {
  let name = vmx.getString(["displayName"]);
  if (name === null) {
    warn("no displayName key found in VMX file");
    name = nameFromFile(vmxPath);
  } else if (name === "") {
    // A guest needs a name; the file's is the one virt-v2v falls back on.
    warn("the displayName in the VMX file is empty; the guest is named after the file");
    name = nameFromFile(vmxPath);
  }

  const genidLow = vmx.getInt64(["vm", "genid"]);
  const genidHigh = vmx.getInt64(["vm", "genidX"]);
  const genid = genidLow !== null && genidHigh !== null ? genidFromVmx(genidLow, genidHigh) : null;

  // VMware's default really is 32 MiB.
  const memoryMib = vmx.getInt64(["memSize"]) ?? 32n;
  const memoryBytes = toNumber(
    BigInt.asIntN(64, memoryMib * 1024n * 1024n),
    "memSize",
    vmx.getString(["memSize"]) ?? "",
  );

  const vcpus = toNumber(
    vmx.getInt(["numvcpus"]) ?? 1n,
    "numvcpus",
    vmx.getString(["numvcpus"]) ?? "",
  );

  let cpuTopology: VmxGuest["cpuTopology"] = null;
  const coresPerSocket = vmx.getInt(["cpuid", "coresPerSocket"]);
  if (coresPerSocket !== null) {
    // Integer division, as OCaml's: 3 vCPUs of 2 cores make 1 socket.
    const sockets = coresPerSocket > 0n ? BigInt(vcpus) / coresPerSocket : 0n;
    if (sockets <= 0n) warn("invalid cpuid.coresPerSocket < number of vCPUs");
    else cpuTopology = { sockets: Number(sockets), cores: Number(coresPerSocket), threads: 1 };
  }

  let firmware: VmxGuest["firmware"] = "bios";
  const firmwareValue = vmx.getString(["firmware"]);
  if (firmwareValue === "efi") firmware = "uefi";
  else if (firmwareValue !== null) warn(`unknown firmware value '${firmwareValue}', assuming BIOS`);

  const uefiSecureBoot = vmx.getBool(["uefi", "secureBoot", "enabled"]) ?? false;

  let sound: VmxGuest["sound"] = null;
  const soundDevice = vmx.getString(["sound", "virtualDev"]);
  if (soundDevice !== null) {
    sound = SOUND_MODELS.get(soundDevice) ?? null;
    if (sound === null) warn(`unknown sound device '${soundDevice}' ignored`);
  }

  return {
    name,
    genid,
    memoryBytes,
    vcpus,
    cpuTopology,
    firmware,
    uefiSecureBoot,
    sound,
    disks: findDisks(vmx),
    removables: findRemovables(vmx),
    nics: findNics(vmx, warn),
  };
}
