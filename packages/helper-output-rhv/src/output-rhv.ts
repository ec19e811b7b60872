/**
 * -o rhv: the converted guest into an oVirt/RHV Export Storage Domain (ESD), as virt-v2v 2.2
 * lays it out, for the user to import from oVirt's Administration Portal:
 *
 *   ESD/<sd-uuid>/images/<image-uuid>/<vol-uuid>        one volume per disk (raw or qcow2)
 *   ESD/<sd-uuid>/images/<image-uuid>/<vol-uuid>.meta   its volume metadata
 *   ESD/<sd-uuid>/master/vms/<vm-uuid>/<vm-uuid>.ovf     the guest (OVF, export-domain flavour)
 *
 *   precheck  the options, and the domain where it can be reached (fail before the conversion)
 *   setup     mounts an NFS export for the run, creates the image directories, .meta files and
 *             volumes (owned 36:36 when root) and serves the volumes on WORKDIR/out0…; stopped
 *             before WORKDIR/done exists, it removes everything it created
 *   final     reads each volume's allocated size over NBD and writes the OVF
 */
import { randomUUID } from "node:crypto";
import { access, chmod, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import {
  metadataInPath,
  metadataOutPath,
  onCleanup,
  outputSocket,
  outputStatePath,
  runSucceeded,
  serveTargetDisk,
  type OutputRequest,
  type OutputStage,
} from "@split-v2v/common";
import { NbdConnection } from "@split-v2v/libnbd";
import { readMetadata, type MetadataIn } from "@split-v2v/metadata-schema";
import { createMetaFiles, createOvf, refuseTooManyOvirtDisks } from "@split-v2v/target-formats";
import { checkOutputRhvOptions, type CheckedRhvOptions } from "./mode.js";
import { VdsmOwnership, findStorageDomain, isDirectory, mountStorage } from "./storage-domain.js";

export type { CheckedRhvOptions } from "./mode.js";

const DOMAIN_CLASS = "Export Storage Domain";

export interface StageContext {
  workdir: string;
  verbose: boolean;
  log: (line: string) => void;
  warn: (text: string) => void;
}

/** What setup leaves for final, in WORKDIR/output-state.json. */
interface RhvState {
  mountpoint: string;
  storageDomainUuid: string;
  vmUuid: string;
  imageUuids: string[];
  volumeUuids: string[];
}

async function sourceOf(workdir: string): Promise<MetadataIn["source"] | null> {
  try {
    await access(metadataInPath(workdir));
  } catch {
    return null;
  }
  return (await readMetadata("metadata.in", metadataInPath(workdir))).source;
}

function refuseTooManyDisks(source: MetadataIn["source"]): void {
  refuseTooManyOvirtDisks(source.disks.length);
}

/**
 * The options, then (fail early) the disk count and, at the precheck stage, the domain itself:
 * a directory is checked in place; an NFS export is mounted, checked and unmounted again. (Setup
 * mounts and checks it for the run; final finds it where setup left it.)
 */
export async function precheckOutputRhv(
  request: OutputRequest,
  context: Pick<StageContext, "workdir" | "log"> & { stage: OutputStage },
): Promise<CheckedRhvOptions> {
  const checked = checkOutputRhvOptions(request);
  const source = await sourceOf(context.workdir);
  if (source !== null) refuseTooManyDisks(source);
  if (context.stage !== "precheck") return checked;
  const mounted = await mountStorage(DOMAIN_CLASS, checked.storage, context.log);
  try {
    await findStorageDomain(DOMAIN_CLASS, checked.storage, mounted.mountpoint);
  } finally {
    await mounted.release();
  }
  return checked;
}

export function volumePath(state: RhvState, disk: number): string {
  return path.join(
    state.mountpoint,
    state.storageDomainUuid,
    "images",
    state.imageUuids[disk]!,
    state.volumeUuids[disk]!,
  );
}

/** Creates the volumes and serves them; returns the socket names. */
export async function setUpOutputRhv(
  checked: CheckedRhvOptions,
  context: StageContext,
): Promise<string[]> {
  const source = (await readMetadata("metadata.in", metadataInPath(context.workdir))).source;
  refuseTooManyDisks(source);
  const mounted = await mountStorage(DOMAIN_CLASS, checked.storage, context.log);
  // Registered first, so it runs last: after the servers let go of the files on the export.
  onCleanup(`mount of ${checked.storage}`, () => mounted.release());
  const storageDomainUuid = await findStorageDomain(
    DOMAIN_CLASS,
    checked.storage,
    mounted.mountpoint,
  );
  context.log(`ESD mount point: ${mounted.mountpoint}; ESD UUID: ${storageDomainUuid}`);
  const ownership = new VdsmOwnership();
  await ownership.probe(path.join(mounted.mountpoint, storageDomainUuid), context.warn);

  const state: RhvState = {
    mountpoint: mounted.mountpoint,
    storageDomainUuid,
    vmUuid: randomUUID(),
    imageUuids: source.disks.map(() => randomUUID()),
    volumeUuids: source.disks.map(() => randomUUID()),
  };
  await writeFile(outputStatePath(context.workdir), JSON.stringify(state, null, 2));

  // Everything this run creates goes when it does not finish: the image directories (with the
  // volumes and .meta files in them) and the guest's OVF directory.
  const created = [
    ...state.imageUuids.map((image) =>
      path.join(mounted.mountpoint, storageDomainUuid, "images", image),
    ),
    vmDirectory(state),
  ];
  onCleanup("the guest's files in the Export Storage Domain", async () => {
    if (await runSucceeded(context.workdir)) return;
    for (const directory of created) {
      context.log(`run did not finish: removing ${directory}`);
      await rm(directory, { recursive: true, force: true });
    }
  });

  const metas = createMetaFiles({
    outputAllocation: checked.allocation,
    outputFormat: checked.format,
    storageDomainUuid,
    imageUuids: state.imageUuids,
    virtualSizes: source.disks.map((disk) => disk.virtualSize),
  });
  const sockets: string[] = [];
  for (const [index, disk] of source.disks.entries()) {
    const volume = volumePath(state, index);
    await ownership.mkdir(path.dirname(volume));
    await ownership.writeFile(`${volume}.meta`, metas[index]!);
    const socket = await serveTargetDisk(
      disk.id,
      {
        file: volume,
        format: checked.format,
        allocation: checked.allocation,
        size: disk.virtualSize,
      },
      context,
      async (file) => {
        await ownership.claim(file);
        // As 2.2: writable by whoever the NFS server maps the disk's server to.
        await chmod(file, 0o666);
      },
    );
    sockets.push(socket);
  }
  return sockets;
}

function vmDirectory(state: RhvState): string {
  return path.join(state.mountpoint, state.storageDomainUuid, "master", "vms", state.vmUuid);
}

/** Bytes the guest uses on a volume: what NBD block status says is not a hole (2.2's way). */
async function allocatedBytes(socket: string): Promise<number> {
  const connection = await NbdConnection.connectUnix(socket);
  try {
    return Number((await connection.allocation()).allocatedBytes);
  } finally {
    connection.close();
  }
}

/** Writes the OVF, with each volume's actual size read from the served volume. */
export async function finalizeOutputRhv(
  checked: CheckedRhvOptions,
  context: StageContext,
): Promise<string> {
  const metadataIn = await readMetadata("metadata.in", metadataInPath(context.workdir));
  const metadataOut = await readMetadata("metadata.out", metadataOutPath(context.workdir));
  const state = JSON.parse(await readFile(outputStatePath(context.workdir), "utf8")) as RhvState;
  const disks = [];
  for (const [index, disk] of metadataIn.source.disks.entries()) {
    disks.push({
      imageUuid: state.imageUuids[index]!,
      volumeUuid: state.volumeUuids[index]!,
      virtualSize: disk.virtualSize,
      actualSize: await allocatedBytes(outputSocket(context.workdir, disk.id)),
    });
  }
  const ovf = createOvf({
    source: metadataIn.source,
    converted: metadataOut,
    outputName: checked.name ?? metadataIn.source.name,
    outputFormat: checked.format,
    outputAllocation: checked.allocation,
    storageDomainUuid: state.storageDomainUuid,
    vmUuid: state.vmUuid,
    disks,
    flavour: "rhvexp",
    // 2.2 reads the sizes for this mode, and writes an empty one where it cannot.
    needActualSizes: true,
    warn: context.warn,
  });
  const ownership = new VdsmOwnership();
  const directory = vmDirectory(state);
  if (!(await isDirectory(directory))) await ownership.mkdir(directory);
  const file = path.join(directory, `${state.vmUuid}.ovf`);
  await ownership.writeFile(file, ovf);
  return file;
}
