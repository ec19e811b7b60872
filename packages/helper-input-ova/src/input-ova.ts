/**
 * -i ova: a VMware OVA (tar, tar.gz, tar.xz, zip, or an unpacked directory), in virt-v2v 2.2's
 * order (input/input_ova.ml): open the OVA, find its one OVF, check every manifest, parse the
 * OVF, locate each disk, then serve each on WORKDIR/inN with qemu-nbd and its protective snapshot
 * overlay, and write metadata.in. Everything that can fail happens before the helper says it is
 * ready, so before any conversion or copy.
 */
import { access, constants } from "node:fs/promises";
import path from "node:path";
import {
  UserError,
  buildMetadataIn,
  errnoReason,
  metadataInPath,
  serveInputDisks,
} from "@split-v2v/common";
import { writeMetadata, type MetadataIn } from "@split-v2v/metadata-schema";
import {
  largeScratchDir,
  openOva,
  ovaPackaging,
  type OvaArchive,
  type OvaPackaging,
} from "./archive.js";
import { locateDiskFile, prepareDisk, type ServableDisk } from "./disks.js";
import { verifyManifests } from "./manifest.js";
import { parseOvf, type OvfGuest } from "./ovf.js";

export interface InputOvaCheckOptions {
  /** The command-line arguments after WORKDIR: exactly one OVA file or directory. */
  args: string[];
  log: (line: string) => void;
  warn: (text: string) => void;
  /** Tells the user something they should know (an OVA being unpacked). */
  info: (text: string) => void;
}

export interface InputOvaOptions extends InputOvaCheckOptions {
  workdir: string;
  /** Serve through an overlay (the default): the OVA is never written. */
  overlay?: boolean;
  verbose: boolean;
}

/** What the precheck found. */
export interface CheckedOva {
  ova: string;
  packaging: OvaPackaging;
  /**
   * A directory or a plain tar, opened where it is (listing it is cheap), and its one OVF; null
   * for an OVA that must be unpacked first, which is setup's work.
   */
  opened: { archive: OvaArchive; ovf: string } | null;
}

export function describeInput(args: readonly string[]): string {
  return ["-i ova", ...args].join(" ");
}

/**
 * virt-v2v's name_from_disk: the base name without a disk-image extension, for an OVF that has no
 * VirtualSystem/Name.
 */
export function nameFromOvaPath(ova: string): string {
  const base = path.basename(ova);
  const suffix = [".img", ".ova", ".qcow2", ".raw", ".vmdk", ".vmx", "-sda"].find((candidate) =>
    base.endsWith(candidate),
  );
  const name = suffix === undefined ? base : base.slice(0, -suffix.length);
  if (name === "") throw new UserError(`invalid input filename (${ova})`);
  return name;
}

function hasExtension(name: string, extension: string): boolean {
  // Mac tar adds "._name" resource files beside each file: never descriptors (newer virt-v2v).
  return name.toLowerCase().endsWith(extension) && !path.posix.basename(name).startsWith("._");
}

/** The one OVF of the OVA, in any folder. */
export function findOvf(archive: OvaArchive): string {
  const ovfs = archive.files.filter((name) => hasExtension(name, ".ovf"));
  if (ovfs.length === 0) {
    throw new UserError(
      `-i ova: no .ovf file was found in ${archive.origin}; an OVA must contain the virtual machine's OVF descriptor`,
    );
  }
  if (ovfs.length > 1) {
    throw new UserError(
      `-i ova: more than one .ovf file was found in ${archive.origin} (${ovfs.join(", ")}); an OVA must describe exactly one virtual machine`,
    );
  }
  return ovfs[0]!;
}

async function checkReadable(ova: string): Promise<void> {
  try {
    await access(ova, constants.R_OK);
  } catch (err) {
    throw new UserError(
      `-i ova: cannot read ${ova}: ${errnoReason(err)}; check the path of the OVA and its permissions`,
    );
  }
}

function logArchive(archive: OvaArchive, log: (line: string) => void): void {
  log(
    `ova: ${archive.origin} read as ${archive.kind}${archive.unpackedInto ? ` (unpacked into ${archive.unpackedInto})` : ""}; files: ${archive.files.join(", ")}`,
  );
}

async function parseOvfOf(
  archive: OvaArchive,
  ovf: string,
  warn: (text: string) => void,
): Promise<OvfGuest> {
  const ovfFile = await archive.lookup(ovf);
  if (ovfFile === null) throw new Error(`${ovf} vanished from ${archive.origin}`);
  return parseOvf((await archive.read(ovfFile)).toString("utf8"), ovf, warn);
}

/** The guest's name (warning when the OVF has none), and the check that it has a disk. */
function checkGuest(guest: OvfGuest, ova: string, ovf: string, warn: (text: string) => void) {
  let name = guest.name;
  if (name === null) {
    warn("could not parse ovf:Name from OVF document");
    name = nameFromOvaPath(ova);
  }
  if (guest.disks.length === 0) {
    throw new UserError(
      `-i ova: the OVF file ${ovf} describes no hard disk (no Item with rasd:ResourceType 17); there is nothing to convert`,
    );
  }
  return name;
}

/**
 * The checks of -i ova that cost little, in virt-v2v's order: one argument, a readable file of a
 * packaging we read, and for a directory or a plain tar its one OVF. `thorough` (the precheck
 * stage alone) goes on to parse the OVF and find each disk (and probe those not compressed):
 * when setup runs, that comes after the manifests are checked, as virt-v2v orders it, and the
 * manifests (which hash every disk) are setup's.
 */
export async function precheckInputOva(
  options: InputOvaCheckOptions,
  thorough = false,
): Promise<CheckedOva> {
  if (options.args.length !== 1) {
    throw new UserError("-i ova: expecting an OVA file name on the command line");
  }
  const ova = options.args[0]!;
  await checkReadable(ova);
  const packaging = await ovaPackaging(ova, options);
  if (packaging !== "directory" && packaging !== "tar") return { ova, packaging, opened: null };
  const archive = await openOva(ova, options, packaging);
  logArchive(archive, options.log);
  const ovf = findOvf(archive);
  if (thorough) {
    const guest = await parseOvfOf(archive, ovf, options.warn);
    checkGuest(guest, ova, ovf, options.warn);
    const ovfFolder = path.posix.dirname(ovf);
    for (const disk of guest.disks) {
      const file = await locateDiskFile(archive, ovfFolder, disk.href);
      if (disk.compressed) continue;
      await prepareDisk(file, false, disk.id, {
        archive,
        archiveTop: archive.kind === "directory" ? (archive.unpackedInto ?? ova) : null,
        scratchDir: () => Promise.reject(new Error("no scratch space in a precheck")),
        info: options.info,
      });
    }
  }
  return { ova, packaging, opened: { archive, ovf } };
}

/**
 * Opens and checks the OVA, and reads its OVF: everything but serving the disks. Continues from
 * what precheckInputOva found when given it.
 */
export async function readOva(
  ova: string,
  options: Pick<InputOvaOptions, "log" | "warn" | "info">,
  checked?: CheckedOva,
): Promise<{ archive: OvaArchive; ovf: string; guest: OvfGuest }> {
  let opened = checked?.opened ?? null;
  if (opened === null) {
    if (checked === undefined) await checkReadable(ova);
    const archive = await openOva(ova, options, checked?.packaging);
    logArchive(archive, options.log);
    opened = { archive, ovf: findOvf(archive) };
  }
  const { archive, ovf } = opened;
  await verifyManifests(
    archive,
    archive.files.filter((name) => hasExtension(name, ".mf")),
    options.warn,
    options.log,
  );
  const guest = await parseOvfOf(archive, ovf, options.warn);
  return { archive, ovf, guest };
}

/** Serves the OVA's disks on WORKDIR/in0… and writes metadata.in (prechecks first if needed). */
export async function setUpInputOva(
  options: InputOvaOptions,
  checked?: CheckedOva,
): Promise<{ sockets: string[]; metadata: MetadataIn }> {
  const found = checked ?? (await precheckInputOva(options));
  const ova = found.ova;
  const { archive, ovf, guest } = await readOva(ova, options, found);
  const name = checkGuest(guest, ova, ovf, options.warn);

  let scratch: string | null = null;
  const scratchDir = async () => (scratch ??= await largeScratchDir());
  const ovfFolder = path.posix.dirname(ovf);
  const servable: ServableDisk[] = [];
  for (const disk of guest.disks) {
    const file = await locateDiskFile(archive, ovfFolder, disk.href);
    options.log(`ova: disk ${disk.id} (${disk.item}): ${disk.href} → ${file.name}`);
    servable.push(
      await prepareDisk(file, disk.compressed, disk.id, {
        archive,
        archiveTop: archive.kind === "directory" ? (archive.unpackedInto ?? ova) : null,
        scratchDir,
        info: options.info,
      }),
    );
  }

  const served = await serveInputDisks(
    options.workdir,
    servable.map((disk) => disk.plan),
    { overlay: options.overlay ?? true, verbose: options.verbose, log: options.log },
  );
  for (const [index, disk] of servable.entries()) {
    if (served[index]!.virtualSize !== disk.virtualSize)
      options.log(
        `in${index}: serves ${served[index]!.virtualSize} bytes, qemu-img said ${disk.virtualSize}`,
      );
  }

  const metadata = buildMetadataIn({
    mode: "ova",
    description: describeInput(options.args),
    source: {
      name,
      hypervisor: "vmware",
      memoryBytes: guest.memoryBytes,
      vcpus: guest.vcpus,
      cpuTopology: guest.cpuTopology,
      features: [],
      firmware: guest.firmware,
      display: null,
      removables: guest.removables,
      nics: guest.nics,
    },
    disks: servable.map((disk, index) => ({
      served: served[index]!,
      id: guest.disks[index]!.id,
      controller: guest.disks[index]!.controller,
      format: disk.format,
      location: disk.location,
    })),
  });
  await writeMetadata("metadata.in", metadataInPath(options.workdir), metadata);
  return { sockets: served.map((disk) => disk.socket), metadata };
}
