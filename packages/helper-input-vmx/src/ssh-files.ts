/**
 * Files on an SSH host, read through nbdkit's ssh plugin (libssh and SFTP): the disks of a guest
 * and, as newer virt-v2v does, the .vmx file itself and the check that a disk's flat file exists.
 * Going through nbdkit for all three means one way to authenticate: the user's SSH agent or
 * keys, or the password file of `-ip` (which scp could not use).
 */
import path from "node:path";
import { UserError, startServer, type InputDiskPlan, type NbdkitSpec } from "@split-v2v/common";
import { NbdConnection } from "@split-v2v/libnbd";
import type { SshLocation } from "./vmx-source.js";

export interface SshAccess extends SshLocation {
  /** -ip: a file holding the password; otherwise libssh uses the agent or the user's keys. */
  passwordFile: string | null;
}

/** The nbdkit ssh plugin's parameters for one remote file, in virt-v2v's order. */
function sshParams(access: SshAccess, remotePath: string): Array<[string, string]> {
  const params: Array<[string, string]> = [
    ["host", access.server],
    ["path", remotePath],
  ];
  if (access.port !== null) params.push(["port", String(access.port)]);
  if (access.user !== null) params.push(["user", access.user]);
  return params;
}

function passwordParam(access: SshAccess): Array<[string, string]> {
  // "+FILE": nbdkit reads the password from the file, so it never shows in a process listing.
  return access.passwordFile === null
    ? []
    : [["password", `+${path.resolve(access.passwordFile)}`]];
}

/**
 * --bandwidth and --bandwidth-file: nbdkit's rate filter, in bits per second ("10M"); the file,
 * when given, is re-read by nbdkit while the copy runs, so the limit can change underway.
 */
export interface BandwidthLimit {
  rate: string | null;
  rateFile: string | null;
}

/**
 * A guest disk over SSH, read as it is: the retry filter next to the plugin rides out brief
 * network trouble. The rate parameters of --bandwidth are here; the rate filter itself sits above
 * the overlay (sshDiskPlan's outer filters), where virt-v2v 2.2 puts it.
 */
export function sshDiskSpec(
  access: SshAccess,
  remotePath: string,
  bandwidth: BandwidthLimit | null = null,
): NbdkitSpec {
  const rateParams: Array<[string, string]> = [];
  if (bandwidth !== null && bandwidth.rate !== null) rateParams.push(["rate", bandwidth.rate]);
  if (bandwidth !== null && bandwidth.rateFile !== null) {
    rateParams.push(["rate-file", bandwidth.rateFile]);
  }
  return {
    kind: "nbdkit",
    plugin: "ssh",
    filters: ["retry"],
    params: [...sshParams(access, remotePath), ...passwordParam(access), ...rateParams],
  };
}

/**
 * How a guest disk over SSH is served: sshDiskSpec, and with the overlay cow-on-read keyed on
 * the work dir's `convert` marker, so that what the conversion reads is kept and the copy does not
 * fetch those blocks again.
 */
export function sshDiskPlan(
  access: SshAccess,
  remotePath: string,
  cowOnReadMarker: string,
  bandwidth: BandwidthLimit | null = null,
): InputDiskPlan {
  return {
    server: sshDiskSpec(access, remotePath, bandwidth),
    cowOnRead: cowOnReadMarker,
    ...(bandwidth === null ? {} : { outerFilters: ["rate"] }),
  };
}

/** A read-only view of one remote file, without retries: a missing file must fail at once. */
export function sshFileSpec(access: SshAccess, remotePath: string): NbdkitSpec {
  return {
    kind: "nbdkit",
    plugin: "ssh",
    filters: [],
    readonly: true,
    params: [...sshParams(access, remotePath), ...passwordParam(access)],
  };
}

export interface RemoteFileOptions {
  /** Folder for the temporary socket and pid file (the work dir's server tmp dir). */
  tmpDir: string;
  /** Distinguishes the sockets of successive probes. */
  label: string;
  verbose: boolean;
  log: (line: string) => void;
}

/** What the user needs from nbdkit's log when the ssh plugin could not open a file. */
export class RemoteFileError extends Error {
  override readonly name = "RemoteFileError";
}

/**
 * Serves one remote file for the time of `use`, then stops the server. The ssh plugin connects
 * when a client does, so failures (authentication, host key, missing file) surface at connect;
 * they are reported with the plugin's own words, which otherwise only go to the log.
 */
async function withRemoteFile<T>(
  access: SshAccess,
  remotePath: string,
  options: RemoteFileOptions,
  use: (connection: NbdConnection) => Promise<T>,
): Promise<T> {
  const errors: string[] = [];
  const server = await startServer(sshFileSpec(access, remotePath), {
    socket: path.join(options.tmpDir, `${options.label}.sock`),
    pidfile: path.join(options.tmpDir, `${options.label}.pid`),
    tmpDir: options.tmpDir,
    verbose: options.verbose,
    log: (line) => {
      options.log(line);
      const error = /\berror: (.*)$/.exec(line);
      if (error) errors.push(error[1]!);
    },
  });
  try {
    let connection: NbdConnection;
    try {
      connection = await NbdConnection.connectUnix(server.socket);
    } catch (err: unknown) {
      const reason = errors.at(-1) ?? (err instanceof Error ? err.message : String(err));
      throw new RemoteFileError(reason);
    }
    try {
      return await use(connection);
    } finally {
      connection.close();
    }
  } finally {
    await server.stop();
  }
}

/** The whole content of a small remote file (the .vmx). */
export async function downloadRemoteFile(
  access: SshAccess,
  remotePath: string,
  options: RemoteFileOptions,
): Promise<Buffer> {
  try {
    return await withRemoteFile(access, remotePath, options, (connection) =>
      connection.pread(0n, Number(connection.size)),
    );
  } catch (err: unknown) {
    if (err instanceof RemoteFileError) {
      throw new UserError(`could not copy the VMX file from the remote server: ${err.message}`);
    }
    throw err;
  }
}

/** Whether the remote file can be opened: its size can be read. */
export async function remoteFileExists(
  access: SshAccess,
  remotePath: string,
  options: RemoteFileOptions,
): Promise<boolean> {
  try {
    await withRemoteFile(access, remotePath, options, async (connection) => connection.size);
    return true;
  } catch (err: unknown) {
    if (err instanceof RemoteFileError) {
      options.log(`ssh: ${remotePath} cannot be opened: ${err.message}`);
      return false;
    }
    throw err;
  }
}
