/**
 * What must be installed before a vddk server can start, checked first so that a missing piece
 * is one clear line rather than nbdkit's exit at start: nbdkit, its vddk plugin (which Debian
 * does not ship: it is built from nbdkit's sources against VMware's proprietary VDDK), the
 * VDDK library under -io vddk-libdir, and the filters the command line uses.
 */
import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { UserError } from "@split-v2v/common";
import { isExecutable, type VddkFilters } from "./nbdkit-vddk.js";

/** VDDK keeps its libraries in lib64/ (lib32/ on 32-bit hosts) under its distribution directory. */
export const VDDK_LIBRARY_DIR = "lib64";

async function succeeds(program: string, args: string[]): Promise<boolean> {
  const result = await execa(program, args, {
    env: { LANG: "C" },
    reject: false,
    stdin: "ignore",
  });
  return result.exitCode === 0;
}

/** nbdkit's probe of a filter, as virt-v2v's Nbdkit.probe_filter does it. */
export function probeFilter(name: string): Promise<boolean> {
  return succeeds("nbdkit", ["null", `--filter=${name}`, "--version"]);
}

/**
 * -io vddk-libdir: a directory with VDDK's library in lib64/, which the plugin loads from there
 * (virt-v2v checks only the directory, and explains the library when the plugin fails to load).
 */
export async function checkVddkLibdir(libdir: string): Promise<void> {
  const isDirectory = await stat(libdir).then(
    (info) => info.isDirectory(),
    () => false,
  );
  if (!isDirectory) {
    throw new UserError(
      `‘-io vddk-libdir=${libdir}’ does not point to a directory.  See the virt-v2v-input-vmware(1) manual.`,
    );
  }
  const libraries = await readdir(path.join(libdir, VDDK_LIBRARY_DIR)).catch(() => []);
  if (!libraries.some((name) => name.startsWith("libvixDiskLib.so."))) {
    throw new UserError(
      `-io vddk-libdir=${libdir}: there is no ${VDDK_LIBRARY_DIR}/libvixDiskLib.so.* under it; give the directory where VMware's VDDK (vmware-vix-disklib-distrib) was unpacked.  See the virt-v2v-input-vmware(1) manual.`,
    );
  }
}

/**
 * nbdkit's vddk plugin, working (or the stand-in script and nbdkit's sh plugin that runs it).
 * The plugin's own error tells a missing plugin from one that cannot load VDDK.
 */
export async function checkVddkPlugin(standinScript: string | null): Promise<void> {
  if (!(await succeeds("nbdkit", ["--version"])))
    throw new UserError("nbdkit is not installed or not working");
  if (standinScript !== null) {
    if (!(await isExecutable(standinScript)))
      throw new UserError(
        `the stand-in for nbdkit's vddk plugin ${standinScript} is not executable`,
      );
    if (!(await succeeds("nbdkit", ["sh", "--dump-plugin"])))
      throw new UserError("nbdkit's sh plugin (which runs the stand-in for VDDK) is not installed");
    return;
  }
  const dump = await execa("nbdkit", ["vddk", "--dump-plugin"], {
    env: { LANG: "C" },
    reject: false,
    stdin: "ignore",
  });
  if (dump.exitCode === 0) return;
  if (/nbdkit-vddk-plugin\.so/.test(dump.stderr)) {
    throw new UserError(
      "nbdkit's vddk plugin is not installed; -it vddk needs it.  Debian has no package of it: it is built from nbdkit's sources (plugins/vddk/README.VDDK) and needs VMware's proprietary VDDK library, which you download from VMware and name with -io vddk-libdir.  See the virt-v2v-input-vmware(1) manual, which also describes the other ways to convert a VMware guest.",
    );
  }
  if (/cannot open shared object file/.test(dump.stderr)) {
    throw new UserError(
      `nbdkit VDDK plugin is not installed or not working.  It looks like you did not set the right path in the ‘-io vddk-libdir’ option, or your copy of the VDDK directory is incomplete.  There should be a library called ’<libdir>/${VDDK_LIBRARY_DIR}/libvixDiskLib.so.?’.  See also the virt-v2v-input-vmware(1) manual.`,
    );
  }
  const reason = dump.stderr.split("\n").find((line) => line.trim() !== "") ?? "";
  throw new UserError(
    `nbdkit VDDK plugin is not installed or not working (${reason.trim()}).  See the virt-v2v-input-vmware(1) manual.`,
  );
}

/**
 * The filters: cow is required (the overlay), rate when there is a bandwidth limit; the others
 * are used when present, as virt-v2v does.
 */
export async function probeVddkFilters(bandwidth: boolean): Promise<VddkFilters> {
  const [cow, rate, retry, cacheextents, blocksize, multiConn] = await Promise.all(
    ["cow", "rate", "retry", "cacheextents", "blocksize", "multi-conn"].map(probeFilter),
  );
  if (!cow) throw new UserError("nbdkit-cow-filter is not installed or not working");
  if (bandwidth && !rate) {
    throw new UserError(
      "--bandwidth / --bandwidth-file: nbdkit-rate-filter is not installed or not working",
    );
  }
  return {
    retry: retry!,
    cacheextents: cacheextents!,
    blocksize: blocksize!,
    multiConn: multiConn!,
  };
}
