/**
 * -i disk: local disk images. Each is served on WORKDIR/inN through a copy-on-write overlay so
 * the conversion never writes to the source:
 *   raw      nbdkit file plugin under the cow filter (cache=none: a one-pass copy must not
 *            evict the host's page cache)
 *   others   qemu-nbd with its format decoder and a protective snapshot (-s)
 * and the source guest is described with virt-v2v 2.2's defaults for -i disk. (The plans here
 * read the disks as they are; serveInputDisks adds the overlay.)
 */
import path from "node:path";
import {
  UserError,
  buildMetadataIn,
  localDiskPlan,
  metadataInPath,
  serveInputDisks,
  type InputDiskPlan,
} from "@split-v2v/common";
import { writeMetadata, type MetadataIn } from "@split-v2v/metadata-schema";
import { checkReadable, inspectDiskImage, type DiskImageInfo } from "./disk-image.js";

export interface InputDiskCheckOptions {
  disks: string[];
  /** -if: the format of every input disk, instead of probing. */
  inputFormat: string | null;
}

export interface InputDiskOptions extends InputDiskCheckOptions {
  workdir: string;
  /** Serve through an overlay (the default): the sources are never written. */
  overlay?: boolean;
  verbose: boolean;
  log: (line: string) => void;
}

/** The disks as the precheck found them: readable, of one format, their sizes as qemu-img says. */
export interface CheckedInputDisk {
  disks: string[];
  images: DiskImageInfo[];
}

/**
 * How each disk is read: raw with nbdkit's file plugin (cache=none: a one-pass copy must not
 * evict the host's page cache), anything else qemu-img reads with qemu-nbd and its decoder.
 */
export function diskPlanFor(disk: DiskImageInfo): InputDiskPlan {
  return localDiskPlan(disk.path, disk.format);
}

/** The source name virt-v2v derives for -i disk: the first file's base name without extension. */
export function sourceNameOf(firstDisk: string): string {
  const base = path.basename(firstDisk);
  const dot = base.lastIndexOf(".");
  return dot > 0 ? base.slice(0, dot) : base;
}

export function describeInput(disks: string[]): string {
  return ["-i disk", ...disks].join(" ");
}

/** Every disk given, readable, and of one format: all of -i disk's checks, no server started. */
export async function precheckInputDisk(options: InputDiskCheckOptions): Promise<CheckedInputDisk> {
  if (options.disks.length === 0) {
    throw new UserError("-i disk: expecting a disk image (filename) on the command line");
  }
  for (const disk of options.disks) await checkReadable(disk);
  const images: DiskImageInfo[] = [];
  for (const disk of options.disks)
    images.push(await inspectDiskImage(path.resolve(disk), options.inputFormat));
  const formats = new Set(images.map((image) => image.format));
  if (formats.size > 1) {
    throw new UserError(
      `-i disk: the input disks have different formats (${[...formats].join(", ")}); give one format with -if, or convert them to one format first`,
    );
  }
  return { disks: options.disks, images };
}

/** Serves the checked disks on WORKDIR/in0… and writes metadata.in (prechecks first if needed). */
export async function setUpInputDisk(
  options: InputDiskOptions,
  checked?: CheckedInputDisk,
): Promise<{ sockets: string[]; metadata: MetadataIn }> {
  const { disks, images } = checked ?? (await precheckInputDisk(options));
  const served = await serveInputDisks(options.workdir, images.map(diskPlanFor), {
    overlay: options.overlay ?? true,
    verbose: options.verbose,
    log: options.log,
  });
  for (const [index, image] of images.entries()) {
    if (served[index]!.virtualSize !== image.virtualSize) {
      options.log(
        `in${index}: serves ${served[index]!.virtualSize} bytes, qemu-img said ${image.virtualSize}; using the served size`,
      );
    }
  }

  const metadata = buildMetadataIn({
    mode: "disk",
    description: describeInput(disks),
    // Nothing but the disks is known: the rest is virt-v2v's defaults for -i disk.
    source: { name: sourceNameOf(disks[0]!) },
    disks: images.map((image, index) => ({
      served: served[index]!,
      id: index,
      controller: null,
      format: image.format,
      location: image.path,
    })),
  });
  await writeMetadata("metadata.in", metadataInPath(options.workdir), metadata);
  return { sockets: served.map((disk) => disk.socket), metadata };
}
