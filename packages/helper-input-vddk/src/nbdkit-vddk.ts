/**
 * How one guest disk is read through nbdkit's vddk plugin, as virt-v2v 2.2's
 * Nbdkit_vddk.create_vddk builds it, written as an InputDiskPlan (serveInputDisks adds the
 * overlay). The command line, inner to outer:
 *
 *   vddk plugin     server= user= password=+FILE thumbprint= vm=moref=M file="[ds] path.vmdk"
 *                   and the passthrough settings (compression config cookie libdir nfchostport
 *                   port snapshot transports)
 *   retry           rides out brief interruptions of service (next to the plugin)
 *   cacheextents    qemu-img's and nbdcopy's repeated block-status requests are answered once
 *   blocksize       minblock=512 maxdata=2M: no request so large that the server runs out of memory
 *   cow             the overlay (serveInputDisks), cow-block-size=4096, cow-on-read=WORKDIR/convert
 *   multi-conn      multi-conn-mode=disable: cow advertises multi-conn, and several VDDK handles
 *                   on one disk slow each other down 2 to 7 times
 *   rate            --bandwidth, outermost so that it limits what the client reads, not nbdkit
 *
 * -D vddk.datapath=0 keeps every request out of the log, -D vddk.stats=1 puts VDDK's call
 * statistics in it.
 */
import { access, constants } from "node:fs/promises";
import path from "node:path";
import {
  rateParams,
  type BandwidthLimit,
  type InputDiskPlan,
  type NbdkitSpec,
} from "@split-v2v/common";
import type { VcenterAccess, VddkOptions } from "./mode.js";

/**
 * Tests only: instead of nbdkit's vddk plugin (which needs VMware's VDDK, not here), nbdkit's sh
 * plugin runs this script with exactly the same parameters and filters. Named as a stand-in.
 */
export const VDDK_STANDIN_ENV = "SPLIT_V2V_STANDIN_NBDKIT_VDDK";

/** The stand-in script, when the environment names one. */
export function vddkStandin(env: NodeJS.ProcessEnv = process.env): string | null {
  const script = env[VDDK_STANDIN_ENV];
  return script === undefined || script === "" ? null : path.resolve(script);
}

/** The optional filters of the vddk command line that this nbdkit has (virt-v2v probes them). */
export interface VddkFilters {
  retry: boolean;
  cacheextents: boolean;
  blocksize: boolean;
  multiConn: boolean;
}

/** --bandwidth / --bandwidth-file: common's, re-exported for this package's users. */
export type { BandwidthLimit };

export interface VddkDisk {
  access: VcenterAccess;
  /** The guest's <vmware:moref>. */
  moref: string;
  /** The disk as VDDK names it: the XML's "[datastore1] guest/guest.vmdk", or -io vddk-file. */
  file: string;
  /** -ip: nbdkit reads the password from it (password=+FILE), never from its command line. */
  passwordFile: string;
  thumbprint: string;
  options: VddkOptions;
  bandwidth: BandwidthLimit | null;
  /** The work dir's `convert` marker: what the conversion reads is kept in the overlay. */
  cowOnReadMarker: string;
  filters: VddkFilters;
  /** VDDK_STANDIN_ENV's script, or null for the real plugin. */
  standinScript: string | null;
}

/** The vddk plugin's own parameters, in virt-v2v's order. */
function pluginParams(disk: VddkDisk): Array<[string, string]> {
  const params: Array<[string, string]> = [
    ["server", disk.access.server],
    ["vm", `moref=${disk.moref}`],
    ["file", disk.file],
    ["user", disk.access.user],
  ];
  const passthrough = (name: string, value: string | null) => {
    if (value !== null) params.push([name, value]);
  };
  const { options } = disk;
  passthrough("compression", options.compression);
  passthrough("config", options.config);
  // virt-v2v 2.2 accepts -io vddk-cookie but drops it on the way to nbdkit; newer virt-v2v passes it.
  passthrough("cookie", options.cookie);
  passthrough("libdir", options.libdir);
  passthrough("nfchostport", options.nfchostport);
  passthrough("port", options.port);
  passthrough("snapshot", options.snapshot);
  params.push(["thumbprint", disk.thumbprint]);
  passthrough("transports", options.transports);
  return params;
}

/** The plan of one disk: what serveInputDisks serves under the overlay. */
export function vddkDiskPlan(disk: VddkDisk): InputDiskPlan {
  // Filters outermost first, as on nbdkit's command line.
  const innerFilters = [
    ...(disk.filters.blocksize ? ["blocksize"] : []),
    ...(disk.filters.cacheextents ? ["cacheextents"] : []),
    ...(disk.filters.retry ? ["retry"] : []),
  ];
  const params: Array<[string, string]> = [...pluginParams(disk)];
  if (disk.filters.blocksize) params.push(["minblock", "512"], ["maxdata", "2M"]);
  if (disk.filters.multiConn) params.push(["multi-conn-mode", "disable"]);
  const { bandwidth } = disk;
  params.push(...rateParams(bandwidth));
  // Last, as in virt-v2v: a file name, so that the password never shows in a process listing.
  params.push(["password", `+${path.resolve(disk.passwordFile)}`]);

  const server: NbdkitSpec = {
    kind: "nbdkit",
    plugin: disk.standinScript === null ? "vddk" : "sh",
    filters: innerFilters,
    params: disk.standinScript === null ? params : [["script", disk.standinScript], ...params],
    // virt-v2v adds them in this order and lib/nbdkit.ml writes them out reversed.
    debugFlags: ["vddk.stats=1", "vddk.datapath=0"],
  };
  const outerFilters = [
    ...(bandwidth === null ? [] : ["rate"]),
    ...(disk.filters.multiConn ? ["multi-conn"] : []),
  ];
  return {
    server,
    cowOnRead: disk.cowOnReadMarker,
    cowBlockSize: 4096,
    ...(outerFilters.length === 0 ? {} : { outerFilters }),
  };
}

/** Whether the file exists and can be run (the stand-in script). */
export async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
