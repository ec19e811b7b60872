/**
 * -i vmx: a VMware guest described by its .vmx file. Each hard disk is served on WORKDIR/inN
 * through a copy-on-write overlay, so the conversion never writes to the source:
 *   local file   qemu-nbd with qemu's vmdk decoder (which follows snapshot chains and every
 *                VMware descriptor type) and a protective snapshot (-s)
 *   -it ssh      nbdkit's ssh plugin on the disk's -flat.vmdk, under the retry and cow filters
 * and the source guest is described from the .vmx keys as virt-v2v does.
 */
import { access, constants, mkdir, readFile } from "node:fs/promises";
import {
  UserError,
  errnoReason,
  markerPath,
  metadataInPath,
  serveInputDisk,
  serverTmpDir,
  type ServerSpec,
} from "@split-v2v/common";
import { writeMetadata, type MetadataIn, type SourceDisk } from "@split-v2v/metadata-schema";
import {
  downloadRemoteFile,
  remoteFileExists,
  sshDiskSpec,
  type BandwidthLimit,
  type SshAccess,
} from "./ssh-files.js";
import { VmxValueError, parseVmx } from "./vmx-file.js";
import { guestFromVmx, type VmxDisk, type VmxGuest } from "./vmx-guest.js";
import { diskPathFor, flatVmdkPath, vmxSourceOfArg, type VmxSource } from "./vmx-source.js";

export interface InputVmxOptions {
  workdir: string;
  /** The arguments after `-i vmx`: exactly one .vmx file or ssh:// URI. */
  args: string[];
  /** -it: null (local file) or "ssh". */
  transport: string | null;
  /** -ip: password file for -it ssh. */
  passwordFile: string | null;
  /** --bandwidth / --bandwidth-file: a limit on the ssh transfer (null: none). */
  bandwidth: BandwidthLimit | null;
  verbose: boolean;
  log: (line: string) => void;
  /** virt-v2v's warnings (unparseable lines, unknown firmware…), shown to the user. */
  warn: (text: string) => void;
}

/** What virt-v2v prints after "Setting up the source:". */
export function describeInput(args: string[]): string {
  return ["-i vmx", ...args].join(" ");
}

function checkTransport(transport: string | null): "ssh" | null {
  if (transport === null || transport === "ssh") return transport;
  if (transport === "vddk") throw new UserError("-i vmx: cannot use -it vddk in this input mode");
  throw new UserError(`unknown input transport ‘-it ${transport}’`);
}

/** Users have been seen passing a disk image where the .vmx belongs: say so plainly. */
function rejectVmdk(content: Buffer): void {
  const start = content.subarray(0, 32).toString("latin1");
  if (
    start.startsWith("VMDK") ||
    start.startsWith("KDMV") ||
    start.startsWith("# Disk DescriptorFile\n")
  )
    throw new UserError(
      "input file is a VMDK (disk image), but we are expecting a VMX (VMware metadata)",
    );
}

async function readVmx(
  source: VmxSource,
  sshAccess: SshAccess | null,
  tmpDir: string,
  options: InputVmxOptions,
): Promise<Buffer> {
  if (source.kind === "file") {
    try {
      return await readFile(source.file);
    } catch (err: unknown) {
      throw new UserError(`-i vmx: cannot read the VMX file ${source.file}: ${errnoReason(err)}`);
    }
  }
  return downloadRemoteFile(sshAccess!, source.path, {
    tmpDir,
    label: "vmx-download",
    verbose: options.verbose,
    log: options.log,
  });
}

function parseGuest(content: Buffer, source: VmxSource, warn: (text: string) => void): VmxGuest {
  rejectVmdk(content);
  try {
    return guestFromVmx(
      parseVmx(content, warn),
      source.kind === "file" ? source.file : source.path,
      warn,
    );
  } catch (err: unknown) {
    if (err instanceof VmxValueError) throw new UserError(`-i vmx: ${err.message}`);
    throw err;
  }
}

/** A disk to serve: how, and what to record about it. */
interface PlannedDisk {
  disk: VmxDisk;
  spec: ServerSpec;
  format: string;
  location: string;
}

function deviceName(disk: VmxDisk): string {
  return `${disk.controller}${disk.bus}:${disk.target}`;
}

async function planLocalDisks(vmxFile: string, guest: VmxGuest): Promise<PlannedDisk[]> {
  const planned: PlannedDisk[] = [];
  for (const disk of guest.disks) {
    const file = diskPathFor(vmxFile, disk.fileName);
    try {
      await access(file, constants.R_OK);
    } catch (err: unknown) {
      throw new UserError(
        `-i vmx: cannot open the disk image ${file} (${deviceName(disk)}.fileName in the VMX file): ${errnoReason(err)}`,
      );
    }
    planned.push({
      disk,
      spec: { kind: "qemu-nbd", file, format: "vmdk", snapshot: true },
      format: "vmdk",
      location: file,
    });
  }
  return planned;
}

function sshUriOf(access: SshAccess, remotePath: string): string {
  const user = access.user === null ? "" : `${encodeURIComponent(access.user)}@`;
  const host = access.server.includes(":") ? `[${access.server}]` : access.server;
  const port = access.port === null ? "" : `:${access.port}`;
  return `ssh://${user}${host}${port}${encodeURI(remotePath)}`;
}

async function planSshDisks(
  source: Extract<VmxSource, { kind: "ssh" }>,
  sshAccess: SshAccess,
  guest: VmxGuest,
  workdir: string,
  tmpDir: string,
  options: InputVmxOptions,
): Promise<PlannedDisk[]> {
  const planned: PlannedDisk[] = [];
  for (const [index, disk] of guest.disks.entries()) {
    const flat = flatVmdkPath(diskPathFor(source.path, disk.fileName));
    // RHBZ#1774386: a snapshot's delta files cannot be read raw; only a flat extent can.
    const exists = await remoteFileExists(sshAccess, flat, {
      tmpDir,
      label: `ssh-probe${index}`,
      verbose: options.verbose,
      log: options.log,
    });
    if (!exists) {
      throw new UserError(
        'This transport does not support guests with snapshots. Either collapse the snapshots for this guest and try the conversion again, or use one of the alternate conversion methods described in virt-v2v-input-vmware(1) section "NOTES".',
      );
    }
    planned.push({
      disk,
      spec: sshDiskSpec(sshAccess, flat, markerPath(workdir, "convert"), options.bandwidth),
      format: "raw",
      location: sshUriOf(sshAccess, flat),
    });
  }
  return planned;
}

export async function setUpInputVmx(
  options: InputVmxOptions,
): Promise<{ sockets: string[]; metadata: MetadataIn }> {
  const transport = checkTransport(options.transport);
  if (options.args.length !== 1) throw new UserError("-i vmx: expecting a VMX file or ssh:// URI");
  if (options.bandwidth !== null && transport !== "ssh") {
    throw new UserError(
      "--bandwidth / --bandwidth-file: -i vmx reads local files here; the limit applies to a transfer over a network (-it ssh)",
    );
  }
  const source = vmxSourceOfArg(options.args[0]!, transport);

  let sshAccess: SshAccess | null = null;
  if (source.kind === "ssh") {
    if (options.passwordFile !== null) {
      try {
        await access(options.passwordFile, constants.R_OK);
      } catch (err: unknown) {
        throw new UserError(
          `-ip ${options.passwordFile}: cannot read the password file: ${errnoReason(err)}`,
        );
      }
    }
    sshAccess = { ...source.location, passwordFile: options.passwordFile };
  }

  const tmpDir = serverTmpDir(options.workdir);
  await mkdir(tmpDir, { recursive: true, mode: 0o700 });
  const content = await readVmx(source, sshAccess, tmpDir, options);
  const guest = parseGuest(content, source, options.warn);
  if (guest.disks.length === 0) {
    throw new UserError(
      `-i vmx: the VMX file ${options.args[0]!} names no hard disk (scsiN:M, nvmeN:M, sataN:M or ideN:M with a fileName); there is nothing to convert`,
    );
  }

  // Every disk is checked before any server starts: a missing one fails the run in seconds.
  const planned =
    source.kind === "file"
      ? await planLocalDisks(source.file, guest)
      : await planSshDisks(source, sshAccess!, guest, options.workdir, tmpDir, options);

  const sockets: string[] = [];
  const disks: SourceDisk[] = [];
  for (const [index, plan] of planned.entries()) {
    const { socket, virtualSize } = await serveInputDisk(
      options.workdir,
      index,
      plan.spec,
      options,
    );
    sockets.push(socket);
    disks.push({
      id: index,
      socket,
      virtualSize,
      controller: plan.disk.controller,
      format: plan.format,
      location: plan.location,
    });
  }

  const metadata: MetadataIn = {
    schemaVersion: 1,
    kind: "metadata.in",
    input: { mode: "vmx", description: describeInput(options.args) },
    source: {
      name: guest.name,
      hypervisor: "vmware",
      genid: guest.genid,
      memoryBytes: guest.memoryBytes,
      vcpus: guest.vcpus,
      cpuVendor: null,
      cpuModel: null,
      cpuTopology: guest.cpuTopology,
      features: [],
      firmware: guest.firmware,
      uefiSecureBoot: guest.uefiSecureBoot,
      display: null,
      sound: guest.sound,
      disks,
      removables: guest.removables,
      nics: guest.nics,
    },
  };
  await writeMetadata("metadata.in", metadataInPath(options.workdir), metadata);
  return { sockets, metadata };
}
