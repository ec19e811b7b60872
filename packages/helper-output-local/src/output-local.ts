/**
 * -o local (alias -o disk): target disks `DIR/NAME-sdX` and a libvirt XML `DIR/NAME.xml`.
 *
 *   precheck  validates the options before anything is converted (fail early)
 *   setup     creates the target disks and serves them on WORKDIR/out0… until stopped; when
 *             stopped without the run's `done` marker, removes the disks it created
 *   final     writes NAME.xml once the copy is done
 */
import { access, constants, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import {
  UserError,
  driveName,
  metadataInPath,
  metadataOutPath,
  serveTargetDisk,
  type LocalTargetDisk,
} from "@split-v2v/common";
import { readMetadata, type MetadataIn } from "@split-v2v/metadata-schema";
import { createLibvirtXml, findUefiFirmware, targetFeaturesFor } from "@split-v2v/target-formats";
import {
  checkOutputLocalOptions,
  type CheckedOutputLocal,
  type OutputLocalOptions,
} from "./mode.js";

export type { CheckedOutputLocal, OutputLocalOptions } from "./mode.js";

/** All option errors, before anything is converted or created. */
export async function precheckOutputLocal(
  options: OutputLocalOptions,
): Promise<CheckedOutputLocal> {
  const { mode, format, allocation, compressed } = checkOutputLocalOptions(options);
  if (options.outputStorage === undefined) {
    throw new UserError(`-o ${mode}: output directory was not specified, use '-os /dir'`);
  }
  const directory = path.resolve(options.outputStorage);
  let isDirectory = false;
  try {
    isDirectory = (await stat(directory)).isDirectory();
  } catch {
    isDirectory = false;
  }
  if (!isDirectory)
    throw new UserError(
      `-os ${options.outputStorage}: output directory does not exist or is not a directory`,
    );
  try {
    await access(directory, constants.W_OK);
  } catch {
    throw new UserError(`-os ${options.outputStorage}: output directory is not writable`);
  }
  const name = options.outputName;
  if (name !== undefined && (name === "" || name.includes("/"))) {
    throw new UserError(`-on ${name}: the output name must be non-empty and must not contain '/'`);
  }
  return { directory, format, allocation, compressed, name };
}

export function outputNameOf(checked: CheckedOutputLocal, source: MetadataIn["source"]): string {
  return checked.name ?? source.name;
}

export function targetDiskPath(
  checked: CheckedOutputLocal,
  name: string,
  diskIndex: number,
): string {
  return path.join(checked.directory, `${name}-sd${driveName(diskIndex)}`);
}

export interface SetupContext {
  workdir: string;
  verbose: boolean;
  log: (line: string) => void;
}

/** Creates and serves the target disks; returns the socket names. */
export async function setUpOutputLocal(
  checked: CheckedOutputLocal,
  context: SetupContext,
): Promise<string[]> {
  const metadataIn = await readMetadata("metadata.in", metadataInPath(context.workdir));
  const metadataOut = await readMetadata("metadata.out", metadataOutPath(context.workdir));
  // A UEFI guest cannot boot here without firmware: say so before creating anything.
  if (metadataOut.target.firmware === "uefi") await findUefiFirmware(metadataOut.guestcaps.arch);
  const name = outputNameOf(checked, metadataIn.source);
  const sockets: string[] = [];
  for (const disk of metadataIn.source.disks) {
    const target: LocalTargetDisk = {
      file: targetDiskPath(checked, name, disk.id),
      format: checked.format,
      allocation: checked.allocation,
      size: disk.virtualSize,
      compressed: checked.compressed,
    };
    sockets.push(await serveTargetDisk(disk.id, target, context));
  }
  return sockets;
}

/** Writes NAME.xml. */
export async function finalizeOutputLocal(
  checked: CheckedOutputLocal,
  context: SetupContext & { warn: (line: string) => void },
): Promise<string> {
  const metadataIn = await readMetadata("metadata.in", metadataInPath(context.workdir));
  const metadataOut = await readMetadata("metadata.out", metadataOutPath(context.workdir));
  const name = outputNameOf(checked, metadataIn.source);
  const uefi =
    metadataOut.target.firmware === "uefi"
      ? await findUefiFirmware(metadataOut.guestcaps.arch)
      : null;
  const xml = createLibvirtXml({
    source: metadataIn.source,
    converted: metadataOut,
    outputName: name,
    outputFormat: checked.format,
    diskSource: (diskId) => ({ file: targetDiskPath(checked, name, diskId) }),
    targetFeatures: targetFeaturesFor(metadataOut.guestcaps.arch),
    uefi,
    warn: context.warn,
  });
  const file = path.join(checked.directory, `${name}.xml`);
  await writeFile(file, xml);
  return file;
}
