/**
 * oVirt/RHV storage domains as files: finding the domain in a mount point, mounting an NFS
 * export for the run, and writing files as VDSM's user (UID:GID 36:36), which oVirt needs to
 * read them. Used by -o rhv (an Export Storage Domain); -o vdsm writes into directories VDSM made.
 */
import { randomBytes } from "node:crypto";
import {
  chmod,
  chown,
  mkdir,
  mkdtemp,
  readdir,
  rm,
  rmdir,
  stat,
  writeFile,
} from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { UserError } from "@split-v2v/common";

/** oVirt's vdsm user and kvm group own everything in a storage domain. */
export const VDSM_UID = 36;
export const VDSM_GID = 36;

/** The -os of -o rhv: an NFS export to mount (`SERVER:/EXPORT`) or an ESD directory. */
export type StorageLocation =
  { kind: "nfs"; server: string; exportPath: string } | { kind: "directory"; directory: string };

/** As virt-v2v 2.2 splits -os: at the first ":/", a directory when there is none. */
export function storageLocationOf(storage: string): StorageLocation {
  const separator = storage.indexOf(":/");
  if (separator < 0) return { kind: "directory", directory: storage };
  return {
    kind: "nfs",
    server: storage.slice(0, separator),
    exportPath: storage.slice(separator + 1),
  };
}

/** A storage domain's UUID directory name: 36 characters with dashes where a UUID has them. */
export function looksLikeUuid(name: string): boolean {
  return (
    name.length === 36 &&
    name[8] === "-" &&
    name[13] === "-" &&
    name[18] === "-" &&
    name[23] === "-"
  );
}

/**
 * The storage domain in a mount point: exactly one UUID directory, attached to a data center
 * (its master/vms exists). virt-v2v 2.2's checks and words, each error on one line.
 */
export async function findStorageDomain(
  domainClass: string,
  storage: string,
  mountpoint: string,
): Promise<string> {
  let entries: string[];
  try {
    entries = await readdir(mountpoint);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new UserError(
      `could not read the ${domainClass} specified by the '-os ${storage}' parameter on the command line.  Is it really an OVirt or RHV-M ${domainClass}?  The original error is: ${reason}`,
    );
  }
  const uuids = entries.filter(looksLikeUuid);
  if (uuids.length === 0) {
    throw new UserError(
      `there are no UUIDs in the ${domainClass} (${storage}).  Is it really an OVirt or RHV-M ${domainClass}?`,
    );
  }
  if (uuids.length > 1) {
    throw new UserError(
      `there are multiple UUIDs in the ${domainClass} (${storage}).  This is unexpected, and may be a bug in virt-v2v or OVirt.`,
    );
  }
  const uuid = uuids[0]!;
  const masterVms = path.join(mountpoint, uuid, "master", "vms");
  if (!(await isDirectory(masterVms))) {
    throw new UserError(
      `${masterVms} does not exist or is not a directory.  Most likely cause: Either the ${domainClass} (${storage}) has not been attached to any Data Center, or the path ${storage} is not an ${domainClass} at all.  You have to attach the ${domainClass} to a Data Center using the RHV-M / OVirt user interface first.`,
    );
  }
  return uuid;
}

export async function isDirectory(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isDirectory();
  } catch {
    return false;
  }
}

export interface MountedStorage {
  mountpoint: string;
  /** Unmounts an export this run mounted (nothing for a directory the user gave). */
  release(): Promise<void>;
}

/**
 * The storage domain's mount point for the run: the directory itself, or an NFS export mounted
 * on a fresh directory under $TMPDIR (mode 0755, so that VDSM's user can write below it).
 */
export async function mountStorage(
  domainClass: string,
  storage: string,
  log: (line: string) => void,
): Promise<MountedStorage> {
  const location = storageLocationOf(storage);
  if (location.kind === "directory") {
    return { mountpoint: path.resolve(location.directory), release: async () => {} };
  }
  const mountpoint = await mkdtemp(path.join(process.env.TMPDIR ?? os.tmpdir(), "v2v."));
  await chmod(mountpoint, 0o755);
  const source = `${location.server}:${location.exportPath}`;
  log(`mounting ${source} on ${mountpoint}`);
  const result = await execa("mount", [source, mountpoint], {
    reject: false,
    env: { LANG: "C" },
  });
  if (result.exitCode !== 0) {
    await rmdir(mountpoint).catch(() => {});
    const detail = String(result.stderr).trim().split("\n").at(-1) ?? "";
    throw new UserError(
      `mount command failed${detail === "" ? "" : ` (${detail})`}.  This probably means you didn't specify the right ${domainClass} path [-os ${storage}], or else you need to rerun virt-v2v as root.`,
    );
  }
  return {
    mountpoint,
    release: async () => {
      log(`unmounting ${mountpoint}`);
      await execa("umount", [mountpoint], { reject: false, env: { LANG: "C" } });
      await rmdir(mountpoint).catch(() => {});
    },
  };
}

/**
 * Files and directories as oVirt needs them: owned by 36:36. virt-v2v 2.2 switches to that user
 * to create them, which fails wherever the directory above is not writable by that user (as in
 * its own test, run as root). Creating them as ourselves and then handing them to 36:36 works in
 * both cases; on an NFS export that squashes root, the server already makes them 36:36.
 */
export class VdsmOwnership {
  readonly asRoot = process.geteuid?.() === 0;

  /** Gives `file` to 36:36 when running as root (a squashed NFS export may refuse: that is fine). */
  async claim(file: string): Promise<void> {
    if (this.asRoot) await chown(file, VDSM_UID, VDSM_GID).catch(() => {});
  }

  async mkdir(directory: string): Promise<void> {
    await mkdir(directory, { mode: 0o755 });
    await this.claim(directory);
  }

  async writeFile(file: string, content: string): Promise<void> {
    await writeFile(file, content);
    await this.claim(file);
  }

  /**
   * virt-v2v 2.2's probe: a test file in the domain must come out as 36:36, else oVirt will not
   * be able to import the guest; the warning (2.2's words) says what to do.
   */
  async probe(domainDirectory: string, warn: (text: string) => void): Promise<void> {
    const testFile = path.join(domainDirectory, randomBytes(4).toString("hex"));
    await this.writeFile(testFile, "");
    const { uid, gid } = await stat(testFile);
    await rm(testFile, { force: true });
    if (uid === VDSM_UID && gid === VDSM_GID) return;
    warn(
      this.asRoot
        ? `cannot write files to the NFS server as ${VDSM_UID}:${VDSM_GID}, even though we appear to be running as root. This probably means the NFS client or idmapd is not configured properly.  You will have to chown the files that virt-v2v creates after the run, otherwise RHV-M will not be able to import the VM.`
        : `cannot write files to the NFS server as ${VDSM_UID}:${VDSM_GID}. You might want to stop virt-v2v (^C) and rerun it as root.`,
    );
  }
}
