/**
 * What every input helper does with the source disks once its mode has planned how to read each
 * one: start a server per disk on WORKDIR/inN, with or without the overlay, and ask the endpoint
 * its size. The served size is what the copy will copy, whatever the image's header said
 * (qemu-img rounds a raw file up to whole sectors; nbdkit serves its exact length).
 *
 * The overlay ("never touch the source") is added here and nowhere else: a mode's plan says how
 * to read its disk as it is, and `serveInputDisks` puts nbdkit's cow filter on top, or asks
 * qemu-nbd for its protective snapshot. Without the overlay (the in-place mode, to come) the
 * same plans serve the source disks themselves, writable.
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { NbdConnection } from "@split-v2v/libnbd";
import { onCleanup } from "./lifetime.js";
import { startServer, type NbdkitSpec, type QemuNbdSpec, type ServerSpec } from "./servers.js";
import { inputSocket, serverTmpDir } from "./workdir.js";

/** qemu-nbd reading a source disk as it is: the snapshot is the overlay's business. */
export type SourceQemuNbdSpec = Omit<QemuNbdSpec, "snapshot">;

/** How to read one source disk, without any overlay. */
export interface InputDiskPlan {
  /** nbdkit without the cow filter, or qemu-nbd without --snapshot. */
  server: NbdkitSpec | SourceQemuNbdSpec;
  /**
   * nbdkit only: with the overlay, also keep in it what is read while this file exists (the cow
   * filter's cow-on-read=FILE; the work dir's `convert` marker), so that the copy does not fetch
   * again from a slow source what the conversion read.
   */
  cowOnRead?: string;
  /**
   * nbdkit only: with the overlay, the cow filter's block size (cow-block-size=N, bytes). A
   * slow remote source is better read in small blocks: virt-v2v 2.2 sets 4096 for VDDK, where
   * the default (64K) fragments reads and extents.
   */
  cowBlockSize?: number;
  /**
   * nbdkit only: filters that sit above the overlay, nearest the client, in command-line order.
   * The bandwidth limit (`rate`) goes here: virt-v2v 2.2 puts it outside cow, so that it limits
   * everything the copy reads, also what cow-on-read already holds.
   */
  outerFilters?: readonly string[];
}

/**
 * How a local file or block device is read as it is: raw with nbdkit's file plugin (cache=none:
 * a one-pass copy must not evict the host's page cache), any other format with qemu-nbd and
 * qemu's decoder (format null: qemu probes).
 */
export function localDiskPlan(file: string, format: string | null): InputDiskPlan {
  if (format === "raw") {
    return {
      server: {
        kind: "nbdkit",
        plugin: "file",
        filters: [],
        params: [
          ["file", file],
          ["cache", "none"],
        ],
      },
    };
  }
  return { server: { kind: "qemu-nbd", file, format } };
}

export interface ServeInputDisksOptions {
  /**
   * true (every mode today): writes land in a throw-away overlay in WORKDIR/tmp, the source is
   * never touched. false: the source disks themselves are served, writable (in-place).
   */
  overlay: boolean;
  verbose: boolean;
  log: (line: string) => void;
}

export interface ServedInputDisk {
  /** The socket's name in the work dir ("in0", "in1" …), as metadata.in records it. */
  socket: string;
  /** Bytes the endpoint serves. */
  virtualSize: number;
  /** Whether writes land in an overlay (metadata.in's `disks[].overlay`). */
  overlay: boolean;
}

/**
 * The server that serves a plan: with the overlay, nbdkit's cow filter right under the plan's
 * outer filters (outermost when it has none), or qemu-nbd's --snapshot; without it, the plan as
 * it is. virt-v2v 2.2's order for remote disks, inner to outer: retry, cow, rate.
 */
export function inputDiskServerSpec(plan: InputDiskPlan, overlay: boolean): ServerSpec {
  const { server } = plan;
  if (server.kind === "qemu-nbd") {
    if ("snapshot" in server) throw new Error("an input disk plan names no qemu-nbd snapshot");
    if (
      plan.cowOnRead !== undefined ||
      plan.cowBlockSize !== undefined ||
      plan.outerFilters !== undefined
    )
      throw new Error("cow-on-read, cow-block-size and outer filters are nbdkit's");
    return { ...server, snapshot: overlay };
  }
  if (server.filters.includes("cow")) {
    throw new Error("an input disk plan names no cow filter: serveInputDisks adds the overlay");
  }
  const outer = plan.outerFilters ?? [];
  if (outer.includes("cow")) {
    throw new Error("an input disk plan names no cow filter: serveInputDisks adds the overlay");
  }
  if (!overlay) return { ...server, filters: [...outer, ...server.filters] };
  return {
    ...server,
    filters: [...outer, "cow", ...server.filters],
    params: [
      ...(plan.cowOnRead === undefined ? [] : [["cow-on-read", plan.cowOnRead] as const]),
      ...(plan.cowBlockSize === undefined
        ? []
        : [["cow-block-size", String(plan.cowBlockSize)] as const]),
      ...server.params,
    ],
  };
}

async function serveOne(
  workdir: string,
  index: number,
  spec: ServerSpec,
  options: ServeInputDisksOptions,
): Promise<{ socket: string; virtualSize: number }> {
  const tmpDir = serverTmpDir(workdir);
  await mkdir(tmpDir, { recursive: true, mode: 0o700 });
  const socket = inputSocket(workdir, index);
  const server = await startServer(spec, {
    socket,
    pidfile: path.join(tmpDir, `in${index}.pid`),
    tmpDir,
    verbose: options.verbose,
    log: options.log,
  });
  onCleanup(`server for in${index}`, () => server.stop());
  const connection = await NbdConnection.connectUnix(socket);
  try {
    return { socket: path.basename(socket), virtualSize: Number(connection.size) };
  } finally {
    connection.close();
  }
}

/**
 * Serves plan N on WORKDIR/inN, one after the other, each stopped at the helper's cleanup. The
 * work dir is made absolute first (qemu-nbd wants absolute socket paths).
 */
export async function serveInputDisks(
  workdir: string,
  plans: readonly InputDiskPlan[],
  options: ServeInputDisksOptions,
): Promise<ServedInputDisk[]> {
  const absolute = path.resolve(workdir);
  const served: ServedInputDisk[] = [];
  for (const [index, plan] of plans.entries()) {
    const spec = inputDiskServerSpec(plan, options.overlay);
    served.push({ ...(await serveOne(absolute, index, spec, options)), overlay: options.overlay });
  }
  return served;
}

/** The words the C library gives an errno code, for the one-line errors about input files. */
export function errnoReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "No such file or directory";
  if (code === "EACCES") return "Permission denied";
  if (code === "EISDIR") return "Is a directory";
  return code ?? String(err);
}
