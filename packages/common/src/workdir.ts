/**
 * The work dir contract: what each stage creates and reads (see the README's "Work dir").
 * Every name used by more than one program is defined here and nowhere else.
 */
import path from "node:path";

export const WORKDIR_MODE = 0o700;

/** NBD Unix socket serving source disk `index` through its copy-on-write overlay. */
export function inputSocket(workdir: string, index: number): string {
  return path.join(workdir, `in${index}`);
}

/** NBD Unix socket serving target disk `index`. */
export function outputSocket(workdir: string, index: number): string {
  return path.join(workdir, `out${index}`);
}

export function metadataInPath(workdir: string): string {
  return path.join(workdir, "metadata.in");
}

export function metadataOutPath(workdir: string): string {
  return path.join(workdir, "metadata.out");
}

/**
 * What an output's setup stage leaves for its final stage (the UUIDs it chose, where it mounted
 * the target): JSON of the output's own shape, written and read by the same helper.
 */
export function outputStatePath(workdir: string): string {
  return path.join(workdir, "output-state.json");
}

/**
 * Marker files, as virt-v2v 2.2 uses them: `convert` exists while the conversion runs (nbdkit's
 * cow-on-read keys on it), `copy` while disks are copied, `done` once the run succeeded (output
 * helpers read it at exit to choose between keeping and removing what they created).
 */
export type StageMarker = "convert" | "copy" | "done";
export function markerPath(workdir: string, marker: StageMarker): string {
  return path.join(workdir, marker);
}

/** Per-stage log files written by the supervisor. */
export function logsDir(workdir: string): string {
  return path.join(workdir, "logs");
}

/** Scratch space for servers' own temporary files (qemu-nbd -s snapshots, nbdkit cow overlays). */
export function serverTmpDir(workdir: string): string {
  return path.join(workdir, "tmp");
}

/** NBD URI of a Unix socket, as nbdcopy and nbdinfo take it. */
export function nbdUnixUri(socket: string): string {
  return `nbd+unix:///?socket=${socket}`;
}

/** a, b, …, z, aa, ab, …: the letters of a disk's name (sda, vdb), as Linux assigns them. */
export function driveName(index: number): string {
  let name = "";
  let n = index;
  do {
    name = String.fromCharCode(97 + (n % 26)) + name;
    n = Math.floor(n / 26) - 1;
  } while (n >= 0);
  return name;
}
