/**
 * Target disks that are files on this host (virt-v2v's output_to_local_file): created with
 * qemu-img, then served on WORKDIR/outN for the copy. Every output mode that writes disk files
 * (-o local, -o rhv into an Export Storage Domain, -o vdsm into a data domain) creates and
 * serves them here, so that they are all made and served the same way.
 */
import { access, mkdir, rm } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { UserError } from "./errors.js";
import { onCleanup } from "./lifetime.js";
import { startServer, type ServerSpec } from "./servers.js";
import { markerPath, outputSocket, serverTmpDir } from "./workdir.js";

export type TargetFormat = "raw" | "qcow2";
export type TargetAllocation = "sparse" | "preallocated";

export interface LocalTargetDisk {
  file: string;
  format: TargetFormat;
  allocation: TargetAllocation;
  /** The virtual size in bytes. */
  size: number;
  /** qcow2 written through qemu's compress driver (-oo compressed). */
  compressed?: boolean;
  /** The qcow2 compatibility level (-oo vdsm-compat); qemu-img's default (1.1) when absent. */
  qcow2Compat?: "0.10" | "1.1";
}

/** `qemu-img create` for a target disk; a failure is the user's (a full or read-only target). */
export async function createTargetDisk(disk: LocalTargetDisk): Promise<void> {
  const args = ["create", "-q", "-f", disk.format];
  const creationOptions: string[] = [];
  if (disk.format === "qcow2") creationOptions.push(`compat=${disk.qcow2Compat ?? "1.1"}`);
  if (disk.allocation === "preallocated") creationOptions.push("preallocation=full");
  if (creationOptions.length > 0) args.push("-o", creationOptions.join(","));
  args.push(disk.file, String(disk.size));
  const result = await execa("qemu-img", args, { reject: false, env: { LANG: "C" } });
  if (result.exitCode !== 0) {
    throw new UserError(`cannot create target disk ${disk.file}: ${String(result.stderr).trim()}`);
  }
}

/**
 * The server for a target disk, as virt-v2v 2.2 chooses it: nbdkit's file plugin (without the
 * page cache) for raw, qemu-nbd for qcow2 (through the compress driver with -oo compressed).
 */
export function targetDiskServer(disk: LocalTargetDisk): ServerSpec {
  if (disk.format === "raw") {
    return {
      kind: "nbdkit",
      plugin: "file",
      filters: [],
      params: [
        ["file", disk.file],
        ["cache", "none"],
      ],
    };
  }
  if (disk.compressed) {
    // qemu's option syntax doubles a comma inside a value.
    const file = disk.file.replace(/,/g, ",,");
    return {
      kind: "qemu-nbd",
      file: `driver=compress,file.driver=qcow2,file.file.driver=file,file.file.filename=${file}`,
      format: null,
      snapshot: false,
      imageOpts: true,
    };
  }
  return { kind: "qemu-nbd", file: disk.file, format: "qcow2", snapshot: false };
}

export interface ServeTargetContext {
  workdir: string;
  verbose: boolean;
  log: (line: string) => void;
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

/** Whether the run finished: the supervisor writes WORKDIR/done after the output's final stage. */
export function runSucceeded(workdir: string): Promise<boolean> {
  return exists(markerPath(workdir, "done"));
}

/**
 * Creates target disk `diskId` (after `prepare`, which may write files beside it or change its
 * owner) and serves it on WORKDIR/out<diskId> until the helper stops. The disk is removed when the
 * helper stops before the run is done: its removal is registered before it is created, so a
 * failure half-way through removes it too. Returns the socket's name in the work dir.
 */
export async function serveTargetDisk(
  diskId: number,
  disk: LocalTargetDisk,
  context: ServeTargetContext,
  prepare: (file: string) => Promise<void> = async () => {},
): Promise<string> {
  const tmpDir = serverTmpDir(context.workdir);
  await mkdir(tmpDir, { recursive: true, mode: 0o700 });
  context.log(`creating ${disk.file} (${disk.format}, ${disk.allocation}, ${disk.size} bytes)`);
  onCleanup(`target disk ${disk.file}`, async () => {
    if (!(await runSucceeded(context.workdir))) {
      context.log(`run did not finish: removing ${disk.file}`);
      await rm(disk.file, { force: true });
    }
  });
  await createTargetDisk(disk);
  await prepare(disk.file);
  // Registered after the disk's removal, so it runs first: the server has let go of the file
  // (and of an NFS mount under it) before the file is removed.
  return serveExistingTargetDisk(diskId, disk, context);
}

/**
 * Serves a target that already exists (a disk the user made, -o kubevirt -oo create=false; an
 * attached Cinder volume, -o openstack) on WORKDIR/out<diskId> until the helper stops, and
 * leaves the file itself alone: what happens to it on failure is its owner's business.
 * Returns the socket's name in the work dir.
 */
export async function serveExistingTargetDisk(
  diskId: number,
  disk: LocalTargetDisk,
  context: ServeTargetContext,
): Promise<string> {
  const tmpDir = serverTmpDir(context.workdir);
  await mkdir(tmpDir, { recursive: true, mode: 0o700 });
  const socket = outputSocket(context.workdir, diskId);
  const server = await startServer(targetDiskServer(disk), {
    socket,
    pidfile: path.join(tmpDir, `out${diskId}.pid`),
    tmpDir,
    verbose: context.verbose,
    log: context.log,
  });
  onCleanup(`server for out${diskId}`, () => server.stop());
  return path.basename(socket);
}
