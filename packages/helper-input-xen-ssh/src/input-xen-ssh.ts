/**
 * -i libvirt -ic xen+ssh://[user@]host[:port]: a guest of a Xen host. Its description comes from
 * the host's libvirt (the domain XML), and each of its disks, a file on the host, is read over
 * SSH by nbdkit's ssh plugin and served on WORKDIR/inN through a copy-on-write overlay (virt-v2v
 * 2.2's input_xen_ssh.ml and nbdkit_ssh.ml). The plans here read the disks as they are;
 * serveInputDisks adds the overlay.
 */
import { mkdir } from "node:fs/promises";
import {
  UserError,
  checkPasswordFile,
  describeLibvirtInput,
  libvirtGuestArg,
  markerPath,
  parseLibvirtUri,
  serverTmpDir,
  sshDiskPlan,
  sshUriOf,
  type BandwidthLimit,
  type InputDiskPlan,
  type LibvirtUri,
  type SshAccess,
} from "@split-v2v/common";
import { fetchRemoteDomain, serveDomain, type DomainDisk } from "@split-v2v/libvirt-domain";
import type { MetadataIn } from "@split-v2v/metadata-schema";

export interface InputXenSshCheckOptions {
  /** The arguments after `-i libvirt`: the guest's name. */
  args: string[];
  /** -ic: the xen+ssh:// URI. */
  connection: string | null;
  /** -ip: the SSH password (for libvirt's connection and for the disks). */
  passwordFile: string | null;
  /** --bandwidth / --bandwidth-file (null: no limit). */
  bandwidth: BandwidthLimit | null;
  warn: (text: string) => void;
}

export interface InputXenSshOptions extends InputXenSshCheckOptions {
  workdir: string;
  /** Serve through an overlay (the default). In-place is refused, as by virt-v2v. */
  overlay?: boolean;
  verbose: boolean;
  log: (line: string) => void;
}

/** What the precheck found: the guest's name, the URI and how to reach the host's files. */
export interface CheckedXenSsh {
  guest: string;
  uri: LibvirtUri;
  sshAccess: SshAccess;
}

/**
 * Every check that needs no connection: the guest's name, the -ic URI (a host name in it) and the
 * password file. Starts nothing, writes nothing.
 */
export async function precheckInputXenSsh(
  options: InputXenSshCheckOptions,
): Promise<CheckedXenSsh> {
  const guest = libvirtGuestArg(options.args);
  if (options.connection === null)
    throw new UserError("-i libvirt: expecting -ic parameter for Xen over SSH connection");
  const uri = parseLibvirtUri(options.connection);
  if (uri.server === null)
    throw new UserError(`‘-ic ${options.connection}’ URL does not contain a host name field`);
  if (options.passwordFile !== null) await checkPasswordFile(options.passwordFile);
  return {
    guest,
    uri,
    sshAccess: {
      server: uri.server,
      // The ssh plugin's default is 22: virt-v2v leaves the parameter out for it.
      port: uri.port === null || uri.port === 22 ? null : uri.port,
      user: uri.user,
      passwordFile: options.passwordFile,
    },
  };
}

/** How one disk of the domain XML is read over SSH; a block device cannot be. */
export function xenSshDiskPlan(
  disk: DomainDisk,
  sshAccess: SshAccess,
  cowOnReadMarker: string,
  bandwidth: BandwidthLimit | null,
): InputDiskPlan {
  switch (disk.source.kind) {
    case "file":
      return sshDiskPlan(sshAccess, disk.source.path, cowOnReadMarker, bandwidth);
    case "block":
      // OpenSSH's sftp server cannot tell the size of a block device.
      throw new UserError(
        'input from xen over ssh does not support disks stored on remote block devices.  See virt-v2v-input-xen(1) section "Xen or ssh conversions from block devices".',
      );
    case "nbd":
    case "http":
      // A Xen host's libvirt reports files and block devices only.
      throw new Error(`a Xen guest's disk of kind ${disk.source.kind}`);
  }
}

/** Serves the guest's disks on WORKDIR/in0… and writes metadata.in (prechecks first if needed). */
export async function setUpInputXenSsh(
  options: InputXenSshOptions,
  checked?: CheckedXenSsh,
): Promise<{ sockets: string[]; metadata: MetadataIn }> {
  if (options.overlay === false)
    throw new UserError("in-place mode does not work with Xen over SSH source");
  const found = checked ?? (await precheckInputXenSsh(options));
  // A Xen host's guests name files and block devices, not storage pool volumes.
  const domain = await fetchRemoteDomain(found.uri.uri, found.guest, {
    passwordFile: options.passwordFile,
    warn: options.warn,
  });
  const marker = markerPath(options.workdir, "convert");
  // Every disk is planned before any server starts: a block device fails the run at once.
  const plans = domain.disks.map((disk) =>
    xenSshDiskPlan(disk, found.sshAccess, marker, options.bandwidth),
  );
  await mkdir(serverTmpDir(options.workdir), { recursive: true, mode: 0o700 });
  return serveDomain(domain, {
    mode: "libvirt",
    description: describeLibvirtInput(found.uri.uri, options.args),
    workdir: options.workdir,
    verbose: options.verbose,
    log: options.log,
    planDisk: (_disk, index) => plans[index]!,
    // The file's own format as libvirt names it; nbdkit serves its bytes as they are.
    diskFormat: (disk) => disk.format ?? "raw",
    diskLocation: (disk) =>
      sshUriOf(found.sshAccess, disk.source.kind === "file" ? disk.source.path : ""),
  });
}
