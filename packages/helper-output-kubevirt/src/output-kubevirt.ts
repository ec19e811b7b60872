/**
 * -o kubevirt: the converted guest as local disk files and a KubeVirt YAML document
 * (virt-v2v's output_kubevirt):
 *
 *   DIR/NAME-sda, NAME-sdb…   one disk per source disk (raw or qcow2), or the -oo disk= files
 *   DIR/NAME.yaml             the VirtualMachine (or with -oo yaml=vmi 2.2's VirtualMachineInstance)
 *
 *   precheck  the options, -os, the guest's name, the -oo disk count (before conversion)
 *   setup     creates the disks (not with -oo create=false) and serves them on WORKDIR/out0…;
 *             stopped before WORKDIR/done exists, it removes the disks it created and the YAML
 *   final     writes the YAML
 */
import { access, constants, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import {
  UserError,
  metadataInPath,
  metadataOutPath,
  onCleanup,
  runSucceeded,
  serveExistingTargetDisk,
  serveTargetDisk,
  type LocalTargetDisk,
  type OutputRequest,
} from "@split-v2v/common";
import { readMetadata, type MetadataIn } from "@split-v2v/metadata-schema";
import { createKubevirtYaml, kubevirtDiskName } from "@split-v2v/target-formats";
import {
  checkKubevirtName,
  checkOutputKubevirtOptions,
  type CheckedKubevirtOptions,
} from "./mode.js";

export type { CheckedKubevirtOptions, KubevirtForm } from "./mode.js";

export interface StageContext {
  workdir: string;
  verbose: boolean;
  log: (line: string) => void;
  warn: (text: string) => void;
}

export interface CheckedKubevirt extends CheckedKubevirtOptions {
  /** -os as an absolute path. */
  directory: string;
}

type Source = MetadataIn["source"];

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

async function sourceOf(workdir: string): Promise<Source | null> {
  if (!(await exists(metadataInPath(workdir)))) return null;
  return (await readMetadata("metadata.in", metadataInPath(workdir))).source;
}

/** The guest's name on the target: -on, else the source's. */
export function outputNameOf(checked: CheckedKubevirt, source: Source): string {
  return checked.name ?? source.name;
}

/**
 * Where each target disk is, by disk id: the -oo disk= files in disk order (as given, as newer
 * virt-v2v writes them into the YAML), else DIR/NAME-sdX.
 */
export function targetDiskPaths(checked: CheckedKubevirt, source: Source): Map<number, string> {
  const name = outputNameOf(checked, source);
  return new Map(
    source.disks.map((disk, index) => [
      disk.id,
      checked.disks?.[index] ?? path.join(checked.directory, kubevirtDiskName(name, disk.id)),
    ]),
  );
}

export function yamlPath(checked: CheckedKubevirt, source: Source): string {
  return path.join(checked.directory, `${outputNameOf(checked, source)}.yaml`);
}

/** The checks that need the source: its name, the -oo disk count, the disks -oo create=false names. */
async function checkAgainstSource(checked: CheckedKubevirt, source: Source): Promise<void> {
  checkKubevirtName(outputNameOf(checked, source));
  if (checked.disks !== null && checked.disks.length !== source.disks.length) {
    throw new UserError(
      `incorrect number of '-oo disk' parameters.  This guest has ${source.disks.length} disks, but the parameter was used ${checked.disks.length} times.`,
    );
  }
  if (!checked.create) {
    for (const file of targetDiskPaths(checked, source).values()) {
      if (!(await exists(file))) {
        throw new UserError(
          `-oo create=false: the output disk ${file} does not exist; create it first, or leave out -oo create=false`,
        );
      }
    }
  }
}

/** Everything that can be checked before the conversion. */
export async function precheckOutputKubevirt(
  request: OutputRequest,
  context: Pick<StageContext, "workdir">,
): Promise<CheckedKubevirt> {
  const options = checkOutputKubevirtOptions(request);
  const directory = path.resolve(options.storage);
  let isDirectory = false;
  try {
    isDirectory = (await stat(directory)).isDirectory();
  } catch {
    isDirectory = false;
  }
  if (!isDirectory) {
    throw new UserError(
      `-os ${options.storage}: output directory does not exist or is not a directory`,
    );
  }
  try {
    await access(directory, constants.W_OK);
  } catch {
    throw new UserError(`-os ${options.storage}: output directory is not writable`);
  }
  const checked: CheckedKubevirt = { ...options, directory };
  const source = await sourceOf(context.workdir);
  if (source !== null) await checkAgainstSource(checked, source);
  else if (checked.name !== undefined) checkKubevirtName(checked.name);
  return checked;
}

/**
 * Serves a disk someone else created (-oo create=false) as serveTargetDisk serves the disks it
 * creates, and leaves the file alone when the run fails: it is not ours.
 */
async function serveExistingDisk(
  diskId: number,
  disk: LocalTargetDisk,
  context: StageContext,
): Promise<string> {
  context.log(`serving ${disk.file} (${disk.format}, not created: -oo create=false)`);
  return serveExistingTargetDisk(diskId, disk, context);
}

/** Creates (unless -oo create=false) and serves the target disks; returns the socket names. */
export async function setUpOutputKubevirt(
  checked: CheckedKubevirt,
  context: StageContext,
): Promise<string[]> {
  const source = (await readMetadata("metadata.in", metadataInPath(context.workdir))).source;
  await checkAgainstSource(checked, source);
  // final writes the YAML while this stage still serves the disks: if the run does not finish,
  // this stage removes it with the disks.
  const yaml = yamlPath(checked, source);
  onCleanup(`YAML ${yaml}`, async () => {
    if (!(await runSucceeded(context.workdir))) await rm(yaml, { force: true });
  });
  const paths = targetDiskPaths(checked, source);
  const sockets: string[] = [];
  for (const disk of source.disks) {
    const target: LocalTargetDisk = {
      file: paths.get(disk.id)!,
      format: checked.format,
      allocation: checked.allocation,
      size: disk.virtualSize,
      compressed: checked.compressed,
    };
    sockets.push(
      checked.create
        ? await serveTargetDisk(disk.id, target, context)
        : await serveExistingDisk(disk.id, target, context),
    );
  }
  return sockets;
}

/** Writes DIR/NAME.yaml; returns its path and text. */
export async function finalizeOutputKubevirt(
  checked: CheckedKubevirt,
  context: StageContext,
): Promise<{ file: string; yaml: string }> {
  const metadataIn = await readMetadata("metadata.in", metadataInPath(context.workdir));
  const metadataOut = await readMetadata("metadata.out", metadataOutPath(context.workdir));
  const source = metadataIn.source;
  const paths = targetDiskPaths(checked, source);
  const yaml = createKubevirtYaml({
    source,
    converted: metadataOut,
    outputName: outputNameOf(checked, source),
    diskPath: (diskId) => paths.get(diskId)!,
    form: checked.form,
    warn: context.warn,
  });
  const file = yamlPath(checked, source);
  await writeFile(file, yaml);
  return { file, yaml };
}
