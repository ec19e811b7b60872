/**
 * -i disk: local disk images. Each is served on WORKDIR/inN through a copy-on-write overlay so
 * the conversion never writes to the source:
 *   raw      nbdkit file plugin under the cow filter (cache=none: a one-pass copy must not
 *            evict the host's page cache)
 *   others   qemu-nbd with its format decoder and a protective snapshot (-s)
 * and the source guest is described with virt-v2v 2.2's defaults for -i disk.
 */
import path from "node:path";
import { UserError, metadataInPath, serveInputDisk, type ServerSpec } from "@split-v2v/common";
import { writeMetadata, type MetadataIn } from "@split-v2v/metadata-schema";
import { checkReadable, inspectDiskImage, type DiskImageInfo } from "./disk-image.js";

export interface InputDiskOptions {
  workdir: string;
  disks: string[];
  /** -if: the format of every input disk, instead of probing. */
  inputFormat: string | null;
  verbose: boolean;
  log: (line: string) => void;
}

/** Formats the overlay can serve; anything qemu-img reads is passed to qemu-nbd. */
export function serverSpecFor(disk: DiskImageInfo): ServerSpec {
  if (disk.format === "raw") {
    return {
      kind: "nbdkit",
      plugin: "file",
      filters: ["cow"],
      params: [
        ["file", disk.path],
        ["cache", "none"],
      ],
    };
  }
  return { kind: "qemu-nbd", file: disk.path, format: disk.format, snapshot: true };
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

export async function setUpInputDisk(
  options: InputDiskOptions,
): Promise<{ sockets: string[]; metadata: MetadataIn }> {
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

  const sockets: string[] = [];
  for (const [index, image] of images.entries()) {
    const served = await serveInputDisk(options.workdir, index, serverSpecFor(image), options);
    if (served.virtualSize !== image.virtualSize) {
      options.log(
        `in${index}: serves ${served.virtualSize} bytes, qemu-img said ${image.virtualSize}; using the served size`,
      );
    }
    image.virtualSize = served.virtualSize;
    sockets.push(served.socket);
  }

  const metadata: MetadataIn = {
    schemaVersion: 1,
    kind: "metadata.in",
    input: { mode: "disk", description: describeInput(options.disks) },
    source: {
      name: sourceNameOf(options.disks[0]!),
      hypervisor: "unknownhv",
      genid: null,
      memoryBytes: 2048 * 1024 * 1024,
      vcpus: 1,
      cpuVendor: null,
      cpuModel: null,
      cpuTopology: null,
      features: ["acpi", "apic", "pae"],
      firmware: "unknown",
      uefiSecureBoot: false,
      display: {
        type: "window",
        keymap: null,
        password: null,
        listen: { kind: "none", value: null },
        port: null,
      },
      sound: null,
      disks: images.map((image, index) => ({
        id: index,
        socket: `in${index}`,
        virtualSize: image.virtualSize,
        controller: null,
        format: image.format,
        location: image.path,
      })),
      removables: [],
      nics: [{ mac: null, model: null, network: "default", networkType: "network" }],
    },
  };
  await writeMetadata("metadata.in", metadataInPath(options.workdir), metadata);
  return { sockets, metadata };
}
