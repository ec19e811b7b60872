/**
 * Files on an SSH host, read through nbdkit's ssh plugin (libssh and SFTP): the disks of a guest
 * and, as newer virt-v2v does, the .vmx file itself and the check that a disk's flat file exists.
 * Going through nbdkit for all three means one way to authenticate: the user's SSH agent or
 * keys, or the password file of `-ip` (which scp could not use).
 */
import path from "node:path";
import { UserError, sshFileSpec, startServer, type SshAccess } from "@split-v2v/common";
import { NbdConnection } from "@split-v2v/libnbd";

// The ssh plugin's command line is built in @split-v2v/common, for every mode that reads over SSH.
export {
  sshDiskSpec,
  sshDiskPlan,
  sshFileSpec,
  type SshAccess,
  type BandwidthLimit,
} from "@split-v2v/common";

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
