/**
 * -i ova: a VMware OVA (tar, tar.gz, tar.xz, zip, or an unpacked directory), in virt-v2v 2.2's
 * order (input/input_ova.ml): open the OVA, find its one OVF, check every manifest, parse the
 * OVF, locate each disk, then serve each on WORKDIR/inN with qemu-nbd and its protective snapshot
 * overlay, and write metadata.in. Everything that can fail happens before the helper says it is
 * ready, so before any conversion or copy.
 */
import { access, constants } from "node:fs/promises";
import path from "node:path";
import { UserError, errnoReason, metadataInPath, serveInputDisk } from "@split-v2v/common";
import { writeMetadata, type MetadataIn, type SourceDisk } from "@split-v2v/metadata-schema";
import { largeScratchDir, openOva, type OvaArchive } from "./archive.js";
import { locateDiskFile, prepareDisk, type ServableDisk } from "./disks.js";
import { verifyManifests } from "./manifest.js";
import { parseOvf, type OvfGuest } from "./ovf.js";

export interface InputOvaOptions {
  workdir: string;
  /** The command-line arguments after WORKDIR: exactly one OVA file or directory. */
  args: string[];
  verbose: boolean;
  log: (line: string) => void;
  warn: (text: string) => void;
  /** Tells the user something they should know (an OVA being unpacked). */
  info: (text: string) => void;
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

/** Opens and checks the OVA, and reads its OVF: everything but serving the disks. */
export async function readOva(
  ova: string,
  options: Pick<InputOvaOptions, "log" | "warn" | "info">,
): Promise<{ archive: OvaArchive; ovf: string; guest: OvfGuest }> {
  await checkReadable(ova);
  const archive = await openOva(ova, options);
  options.log(
    `ova: ${archive.origin} read as ${archive.kind}${archive.unpackedInto ? ` (unpacked into ${archive.unpackedInto})` : ""}; files: ${archive.files.join(", ")}`,
  );
  const ovf = findOvf(archive);
  await verifyManifests(
    archive,
    archive.files.filter((name) => hasExtension(name, ".mf")),
    options.warn,
    options.log,
  );
  const ovfFile = await archive.lookup(ovf);
  if (ovfFile === null) throw new Error(`${ovf} vanished from ${ova}`);
  const guest = await parseOvf((await archive.read(ovfFile)).toString("utf8"), ovf, options.warn);
  return { archive, ovf, guest };
}

export async function setUpInputOva(
  options: InputOvaOptions,
): Promise<{ sockets: string[]; metadata: MetadataIn }> {
  if (options.args.length !== 1) {
    throw new UserError("-i ova: expecting an OVA file name on the command line");
  }
  const ova = options.args[0]!;
  // qemu-nbd wants absolute socket paths.
  const workdir = path.resolve(options.workdir);
  const { archive, ovf, guest } = await readOva(ova, options);

  let name = guest.name;
  if (name === null) {
    options.warn("could not parse ovf:Name from OVF document");
    name = nameFromOvaPath(ova);
  }
  if (guest.disks.length === 0) {
    throw new UserError(
      `-i ova: the OVF file ${ovf} describes no hard disk (no Item with rasd:ResourceType 17); there is nothing to convert`,
    );
  }

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

  const sockets: string[] = [];
  const disks: SourceDisk[] = [];
  for (const [index, disk] of servable.entries()) {
    const { socket, virtualSize } = await serveInputDisk(workdir, index, disk.spec, options);
    if (virtualSize !== disk.virtualSize)
      options.log(`in${index}: serves ${virtualSize} bytes, qemu-img said ${disk.virtualSize}`);
    sockets.push(socket);
    const ovfDisk = guest.disks[index]!;
    disks.push({
      id: ovfDisk.id,
      socket,
      virtualSize,
      controller: ovfDisk.controller,
      format: disk.format,
      location: disk.location,
    });
  }

  const metadata: MetadataIn = {
    schemaVersion: 1,
    kind: "metadata.in",
    input: { mode: "ova", description: describeInput(options.args) },
    source: {
      name,
      hypervisor: "vmware",
      genid: null,
      memoryBytes: guest.memoryBytes,
      vcpus: guest.vcpus,
      cpuVendor: null,
      cpuModel: null,
      cpuTopology: guest.cpuTopology,
      features: [],
      firmware: guest.firmware,
      uefiSecureBoot: false,
      display: null,
      sound: null,
      disks,
      removables: guest.removables,
      nics: guest.nics,
    },
  };
  await writeMetadata("metadata.in", metadataInPath(workdir), metadata);
  return { sockets, metadata };
}
