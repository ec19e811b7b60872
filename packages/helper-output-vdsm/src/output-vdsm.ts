/**
 * -o vdsm: the converted guest into directories VDSM prepared in a data domain, with the UUIDs
 * VDSM chose (virt-v2v 2.2's output_vdsm):
 *
 *   MOUNTPOINT/SD-UUID/images/IMAGE-UUID/VOL-UUID        one volume per disk (raw or qcow2)
 *   MOUNTPOINT/SD-UUID/images/IMAGE-UUID/VOL-UUID.meta   its volume metadata
 *   OVF-OUTPUT/VM-UUID.ovf                               the guest
 *
 *   precheck  the options, -os, the image directories and the OVF directory (before conversion)
 *   setup     writes the .meta files, creates the volumes and serves them on WORKDIR/out0…;
 *             stopped before WORKDIR/done exists, it removes the files it wrote (the
 *             directories are VDSM's and stay)
 *   final     writes the OVF
 */
import { access, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import {
  UserError,
  metadataInPath,
  metadataOutPath,
  onCleanup,
  runSucceeded,
  serveTargetDisk,
  type OutputRequest,
} from "@split-v2v/common";
import { readMetadata, type MetadataIn } from "@split-v2v/metadata-schema";
import { createMetaFiles, createOvf, refuseTooManyOvirtDisks } from "@split-v2v/target-formats";
import { checkOutputVdsmOptions, type CheckedVdsmOptions } from "./mode.js";

export type { CheckedVdsmOptions } from "./mode.js";

export interface StageContext {
  workdir: string;
  verbose: boolean;
  log: (line: string) => void;
  warn: (text: string) => void;
}

export interface CheckedVdsm extends CheckedVdsmOptions {
  /** -os split as 2.2 does: the mount point and the data domain's UUID (its last element). */
  mountpoint: string;
  storageDomainUuid: string;
}

async function isDirectory(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isDirectory();
  } catch {
    return false;
  }
}

async function sourceOf(workdir: string): Promise<MetadataIn["source"] | null> {
  try {
    await access(metadataInPath(workdir));
  } catch {
    return null;
  }
  return (await readMetadata("metadata.in", metadataInPath(workdir))).source;
}

/** The disks fit the UUIDs given (2.2 checks this in setup, after the conversion). */
function checkDiskCount(checked: CheckedVdsmOptions, source: MetadataIn["source"]): void {
  const disks = source.disks.length;
  refuseTooManyOvirtDisks(disks);
  if (checked.imageUuids.length !== disks || checked.volumeUuids.length !== disks) {
    throw new UserError(
      `the number of ‘-oo vdsm-image-uuid’ and ‘-oo vdsm-vol-uuid’ parameters passed on the command line has to match the number of guest disk images (for this guest: ${disks})`,
    );
  }
}

/** Everything that can be checked before the conversion, in 2.2's words. */
export async function precheckOutputVdsm(
  request: OutputRequest,
  context: Pick<StageContext, "workdir">,
): Promise<CheckedVdsm> {
  const checked = checkOutputVdsmOptions(request);
  if (!(await isDirectory(checked.storage))) {
    throw new UserError(
      `-os ${checked.storage}: output directory does not exist or is not a directory`,
    );
  }
  // "…/data-center/SD-UUID" (a trailing slash allowed): the UUID is the last element.
  const fields = checked.storage.split("/");
  while (fields.length > 0 && fields.at(-1) === "") fields.pop();
  const storageDomainUuid = fields.pop();
  if (storageDomainUuid === undefined || storageDomainUuid.length !== 36) {
    throw new UserError(
      `vdsm: invalid -os parameter does not contain a valid UUID: ${checked.storage}`,
    );
  }
  const mountpoint = fields.join("/");
  const source = await sourceOf(context.workdir);
  if (source !== null) checkDiskCount(checked, source);
  // VDSM makes these directories; virt-v2v only writes into them.
  for (const image of checked.imageUuids) {
    const directory = path.join(mountpoint, storageDomainUuid, "images", image);
    if (!(await isDirectory(directory))) {
      throw new UserError(`image directory (${directory}) does not exist or is not a directory`);
    }
  }
  if (!(await isDirectory(checked.ovfOutput))) {
    throw new UserError(
      `OVF (metadata) directory (${checked.ovfOutput}) does not exist or is not a directory`,
    );
  }
  return { ...checked, mountpoint, storageDomainUuid };
}

export function volumePath(checked: CheckedVdsm, disk: number): string {
  return path.join(
    checked.mountpoint,
    checked.storageDomainUuid,
    "images",
    checked.imageUuids[disk]!,
    checked.volumeUuids[disk]!,
  );
}

function ovfPath(checked: CheckedVdsm): string {
  return path.join(checked.ovfOutput, `${checked.vmUuid}.ovf`);
}

/** Writes the .meta files, creates the volumes and serves them; returns the socket names. */
export async function setUpOutputVdsm(
  checked: CheckedVdsm,
  context: StageContext,
): Promise<string[]> {
  const source = (await readMetadata("metadata.in", metadataInPath(context.workdir))).source;
  checkDiskCount(checked, source);
  const metas = createMetaFiles({
    outputAllocation: checked.allocation,
    outputFormat: checked.format,
    storageDomainUuid: checked.storageDomainUuid,
    imageUuids: checked.imageUuids,
    virtualSizes: source.disks.map((disk) => disk.virtualSize),
  });
  // final writes the OVF while this stage still serves the volumes: if the run does not finish,
  // this stage removes it with the rest.
  const ovf = ovfPath(checked);
  onCleanup(`OVF ${ovf}`, async () => {
    if (!(await runSucceeded(context.workdir))) await rm(ovf, { force: true });
  });
  const sockets: string[] = [];
  for (const [index, disk] of source.disks.entries()) {
    const volume = volumePath(checked, index);
    const meta = `${volume}.meta`;
    onCleanup(`volume metadata ${meta}`, async () => {
      if (!(await runSucceeded(context.workdir))) await rm(meta, { force: true });
    });
    await writeFile(meta, metas[index]!);
    sockets.push(
      await serveTargetDisk(
        disk.id,
        {
          file: volume,
          format: checked.format,
          allocation: checked.allocation,
          size: disk.virtualSize,
          qcow2Compat: checked.compat,
        },
        context,
      ),
    );
  }
  return sockets;
}

/** Writes OVF-OUTPUT/VM-UUID.ovf. */
export async function finalizeOutputVdsm(
  checked: CheckedVdsm,
  context: StageContext,
): Promise<string> {
  const metadataIn = await readMetadata("metadata.in", metadataInPath(context.workdir));
  const metadataOut = await readMetadata("metadata.out", metadataOutPath(context.workdir));
  const ovf = createOvf({
    source: metadataIn.source,
    converted: metadataOut,
    outputName: checked.name ?? metadataIn.source.name,
    outputFormat: checked.format,
    outputAllocation: checked.allocation,
    storageDomainUuid: checked.storageDomainUuid,
    vmUuid: checked.vmUuid,
    disks: metadataIn.source.disks.map((disk, index) => ({
      imageUuid: checked.imageUuids[index]!,
      volumeUuid: checked.volumeUuids[index]!,
      virtualSize: disk.virtualSize,
      // VDSM reads the sizes itself (2.2 leaves them out of this mode's OVF).
      actualSize: null,
    })),
    flavour: checked.ovfFlavour,
    warn: context.warn,
  });
  const file = ovfPath(checked);
  await writeFile(file, ovf);
  return file;
}
