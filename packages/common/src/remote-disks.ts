/**
 * Source disks read over a network by an nbdkit plugin (ssh, curl): the filters virt-v2v 2.2
 * puts around such a plugin (its Nbdkit_ssh.create_ssh and Nbdkit_curl.create_curl), and the one
 * place that builds the ssh plugin's parameters, for every mode that reads files over SSH
 * (-i vmx -it ssh, -i libvirt -ic xen+ssh://).
 *
 * virt-v2v's order, inner to outer: the plugin, retry (rides out brief network trouble; it must be
 * next to the plugin), cacheextents (qemu-img's many block-status requests are answered from the
 * cache), cow (the overlay, added by serveInputDisks with cow-on-read), rate (--bandwidth: outside
 * the overlay, so that it limits everything the copy reads).
 */
import { access, constants } from "node:fs/promises";
import path from "node:path";
import { UserError } from "./errors.js";
import { errnoReason, type InputDiskPlan } from "./input-disks.js";
import type { NbdkitSpec } from "./servers.js";
import type { InputRequest } from "./modes.js";

/**
 * --bandwidth and --bandwidth-file: nbdkit's rate filter, in bits per second ("10M"); the file,
 * when given, is re-read by nbdkit while the copy runs, so the limit can change underway.
 */
export interface BandwidthLimit {
  rate: string | null;
  rateFile: string | null;
}

/** --bandwidth and --bandwidth-file as the helpers' parsed options have them. */
export interface BandwidthArguments {
  bandwidth: string | undefined;
  "bandwidth-file": string | undefined;
}

const LIMIT_HELP = "limit the transfer to this many bits per second (10M, 1G…)";
const LIMIT_FILE_HELP = "read the limit from this file, again whenever it changes";

function sentence(text: string, condition: string | undefined): string {
  return condition === undefined
    ? text.charAt(0).toUpperCase() + text.slice(1)
    : `${condition}: ${text}`;
}

/**
 * The remote input helpers' --bandwidth and --bandwidth-file options (yargs specs);
 * `condition` words when they apply, for a mode that reads over a network only sometimes
 * ("With -it ssh").
 */
export function bandwidthOptions(condition?: string) {
  return {
    bandwidth: { type: "string", describe: sentence(LIMIT_HELP, condition) },
    "bandwidth-file": { type: "string", describe: sentence(LIMIT_FILE_HELP, condition) },
  } as const;
}

/** -ic URI, the libvirt connection (yargs spec); what the URI names is the helper's to say. */
export function connectionOption(describe: string) {
  return { ic: { type: "string", describe } } as const;
}

/** -ip FILE, the password file (yargs spec); whose password it is is the helper's to say. */
export function passwordFileOption(describe: string) {
  return { ip: { type: "string", describe } } as const;
}

/** The bandwidth limit of --bandwidth and --bandwidth-file (null: neither given). */
export function bandwidthLimitOf(options: BandwidthArguments): BandwidthLimit | null {
  const rate = options.bandwidth ?? null;
  const rateFile = options["bandwidth-file"] ?? null;
  return rate === null && rateFile === null ? null : { rate, rateFile };
}

/** The supervisor's --bandwidth and --bandwidth-file, as a helper's arguments. */
export function bandwidthHelperArgs(
  request: Pick<InputRequest, "bandwidth" | "bandwidthFile">,
): string[] {
  return [
    ...(request.bandwidth ? ["--bandwidth", request.bandwidth] : []),
    ...(request.bandwidthFile ? ["--bandwidth-file", request.bandwidthFile] : []),
  ];
}

/** The rate filter's parameters for a bandwidth limit (none without one). */
export function rateParams(bandwidth: BandwidthLimit | null): Array<[string, string]> {
  const params: Array<[string, string]> = [];
  if (bandwidth !== null && bandwidth.rate !== null) params.push(["rate", bandwidth.rate]);
  if (bandwidth !== null && bandwidth.rateFile !== null)
    params.push(["rate-file", bandwidth.rateFile]);
  return params;
}

/** The filters under the overlay of a disk read over a network, outermost first. */
export const REMOTE_DISK_FILTERS: readonly string[] = ["cacheextents", "retry"];

/** A disk read over a network by `plugin`, as it is: under retry and cacheextents, with the
 * rate filter's parameters for --bandwidth (the filter itself sits above the overlay). */
export function remoteDiskSpec(
  plugin: string,
  pluginParams: ReadonlyArray<readonly [string, string]>,
  bandwidth: BandwidthLimit | null,
): NbdkitSpec {
  return {
    kind: "nbdkit",
    plugin,
    filters: REMOTE_DISK_FILTERS,
    params: [...pluginParams, ...rateParams(bandwidth)],
  };
}

/**
 * How a disk read over a network by `plugin` is served: remoteDiskSpec; with the
 * overlay (serveInputDisks) cow-on-read keyed on the work dir's `convert` marker, so that what the
 * conversion reads is kept and the copy does not fetch those blocks again; and the rate filter
 * above the overlay for --bandwidth.
 */
export function remoteDiskPlan(
  plugin: string,
  pluginParams: ReadonlyArray<readonly [string, string]>,
  cowOnReadMarker: string,
  bandwidth: BandwidthLimit | null,
): InputDiskPlan {
  return {
    server: remoteDiskSpec(plugin, pluginParams, bandwidth),
    cowOnRead: cowOnReadMarker,
    ...(bandwidth === null ? {} : { outerFilters: ["rate"] }),
  };
}

/** An SSH server as a URI names it. */
export interface SshLocation {
  server: string;
  /** null: the plugin's default (22). */
  port: number | null;
  /** null: libssh's default (the local user). */
  user: string | null;
}

export interface SshAccess extends SshLocation {
  /** -ip: a file holding the password; otherwise libssh uses the agent or the user's keys. */
  passwordFile: string | null;
}

/**
 * The nbdkit ssh plugin's parameters for one remote file, in virt-v2v's order: host, path, port,
 * user, and the password as "+FILE", so that nbdkit reads it from the file and it never shows in
 * a process listing.
 */
export function sshPluginParams(access: SshAccess, remotePath: string): Array<[string, string]> {
  const params: Array<[string, string]> = [
    ["host", access.server],
    ["path", remotePath],
  ];
  if (access.port !== null) params.push(["port", String(access.port)]);
  if (access.user !== null) params.push(["user", access.user]);
  if (access.passwordFile !== null)
    params.push(["password", `+${path.resolve(access.passwordFile)}`]);
  return params;
}

/** A guest disk over SSH, read as it is (retry and cacheextents; the rate parameters). */
export function sshDiskSpec(
  access: SshAccess,
  remotePath: string,
  bandwidth: BandwidthLimit | null = null,
): NbdkitSpec {
  return remoteDiskSpec("ssh", sshPluginParams(access, remotePath), bandwidth);
}

/** How a guest disk over SSH is served (remoteDiskPlan with the ssh plugin). */
export function sshDiskPlan(
  access: SshAccess,
  remotePath: string,
  cowOnReadMarker: string,
  bandwidth: BandwidthLimit | null = null,
): InputDiskPlan {
  return remoteDiskPlan("ssh", sshPluginParams(access, remotePath), cowOnReadMarker, bandwidth);
}

/** A read-only view of one remote file, without retries: a missing file must fail at once. */
export function sshFileSpec(access: SshAccess, remotePath: string): NbdkitSpec {
  return {
    kind: "nbdkit",
    plugin: "ssh",
    filters: [],
    readonly: true,
    params: sshPluginParams(access, remotePath),
  };
}

/** `ssh://[user@]host[:port]/path`: where a file over SSH is, for metadata.in and messages. */
export function sshUriOf(access: SshLocation, remotePath: string): string {
  const user = access.user === null ? "" : `${encodeURIComponent(access.user)}@`;
  const host = access.server.includes(":") ? `[${access.server}]` : access.server;
  const port = access.port === null ? "" : `:${access.port}`;
  return `ssh://${user}${host}${port}${encodeURI(remotePath)}`;
}

/** -ip: the password file must be readable (checked before anything starts). */
export async function checkPasswordFile(passwordFile: string): Promise<void> {
  try {
    await access(passwordFile, constants.R_OK);
  } catch (err: unknown) {
    throw new UserError(`-ip ${passwordFile}: cannot read the password file: ${errnoReason(err)}`);
  }
}
