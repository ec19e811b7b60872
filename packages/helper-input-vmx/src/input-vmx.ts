/**
 * -i vmx: a VMware guest described by its .vmx file. Each hard disk is served on WORKDIR/inN
 * through a copy-on-write overlay, so the conversion never writes to the source:
 *   local file   qemu-nbd with qemu's vmdk decoder (which follows snapshot chains and every
 *                VMware descriptor type) and a protective snapshot (-s)
 *   -it ssh      nbdkit's ssh plugin on the disk's -flat.vmdk, under the retry filter (and the
 *                rate filter for --bandwidth), and the cow filter outermost with cow-on-read
 * and the source guest is described from the .vmx keys as virt-v2v does. (The plans here read
 * the disks as they are; serveInputDisks adds the overlay.)
 */
import { access, constants, mkdir, readFile } from "node:fs/promises";
import {
  UserError,
  buildMetadataIn,
  checkPasswordFile,
  errnoReason,
  markerPath,
  metadataInPath,
  serveInputDisks,
  serverTmpDir,
  sshDiskPlan,
  sshUriOf,
  type BandwidthLimit,
  type InputDiskPlan,
  type SshAccess,
} from "@split-v2v/common";
import { writeMetadata, type MetadataIn } from "@split-v2v/metadata-schema";
import { checkVmxTransport } from "./mode.js";
import { downloadRemoteFile, remoteFileExists } from "./ssh-files.js";
import { VmxValueError, parseVmx } from "./vmx-file.js";
import { guestFromVmx, type VmxDisk, type VmxGuest } from "./vmx-guest.js";
import { diskPathFor, flatVmdkPath, vmxSourceOfArg, type VmxSource } from "./vmx-source.js";

export interface InputVmxCheckOptions {
  /** The arguments after `-i vmx`: exactly one .vmx file or ssh:// URI. */
  args: string[];
  /** -it: null (local file) or "ssh". */
  transport: string | null;
  /** -ip: password file for -it ssh. */
  passwordFile: string | null;
  /** --bandwidth / --bandwidth-file: a limit on the ssh transfer (null: none). */
  bandwidth: BandwidthLimit | null;
  /** virt-v2v's warnings (unparseable lines, unknown firmware…), shown to the user. */
  warn: (text: string) => void;
}

export interface InputVmxOptions extends InputVmxCheckOptions {
  workdir: string;
  /** Serve through an overlay (the default): the source disks are never written. */
  overlay?: boolean;
  verbose: boolean;
  log: (line: string) => void;
}

/** A disk to serve: how, and what to record about it. */
interface PlannedDisk {
  disk: VmxDisk;
  plan: InputDiskPlan;
  format: string;
  location: string;
}

/**
 * What the precheck found. A local guest is checked through: its .vmx read and parsed, each
 * disk readable. Over SSH only the options are (reading the .vmx needs a server).
 */
export type CheckedVmx =
  | {
      kind: "file";
      source: Extract<VmxSource, { kind: "file" }>;
      guest: VmxGuest;
      planned: PlannedDisk[];
    }
  | { kind: "ssh"; source: Extract<VmxSource, { kind: "ssh" }>; sshAccess: SshAccess };

/** What virt-v2v prints after "Setting up the source:". */
export function describeInput(args: string[]): string {
  return ["-i vmx", ...args].join(" ");
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

async function readLocalVmx(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err: unknown) {
    throw new UserError(`-i vmx: cannot read the VMX file ${file}: ${errnoReason(err)}`);
  }
}

/** The guest of a .vmx, which must name a disk. */
function parseGuest(
  content: Buffer,
  source: VmxSource,
  arg: string,
  warn: (text: string) => void,
): VmxGuest {
  rejectVmdk(content);
  let guest: VmxGuest;
  try {
    guest = guestFromVmx(
      parseVmx(content, warn),
      source.kind === "file" ? source.file : source.path,
      warn,
    );
  } catch (err: unknown) {
    if (err instanceof VmxValueError) throw new UserError(`-i vmx: ${err.message}`);
    throw err;
  }
  if (guest.disks.length === 0) {
    throw new UserError(
      `-i vmx: the VMX file ${arg} names no hard disk (scsiN:M, nvmeN:M, sataN:M or ideN:M with a fileName); there is nothing to convert`,
    );
  }
  return guest;
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
      // qemu's vmdk decoder follows snapshot chains and every VMware descriptor type.
      plan: { server: { kind: "qemu-nbd", file, format: "vmdk" } },
      format: "vmdk",
      location: file,
    });
  }
  return planned;
}

async function planSshDisks(
  source: Extract<VmxSource, { kind: "ssh" }>,
  sshAccess: SshAccess,
  guest: VmxGuest,
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
      plan: sshDiskPlan(sshAccess, flat, markerPath(options.workdir, "convert"), options.bandwidth),
      format: "raw",
      location: sshUriOf(sshAccess, flat),
    });
  }
  return planned;
}

/**
 * Every check that needs no server: the options, and for a local .vmx the file itself, its guest
 * and each disk it names (read access). Writes nothing.
 */
export async function precheckInputVmx(options: InputVmxCheckOptions): Promise<CheckedVmx> {
  const transport = checkVmxTransport(options.transport, options.bandwidth !== null);
  if (options.args.length !== 1) throw new UserError("-i vmx: expecting a VMX file or ssh:// URI");
  const source = vmxSourceOfArg(options.args[0]!, transport);
  if (source.kind === "file") {
    const guest = parseGuest(
      await readLocalVmx(source.file),
      source,
      options.args[0]!,
      options.warn,
    );
    // Every disk is checked before any server starts: a missing one fails the run in seconds.
    return { kind: "file", source, guest, planned: await planLocalDisks(source.file, guest) };
  }
  if (options.passwordFile !== null) await checkPasswordFile(options.passwordFile);
  return {
    kind: "ssh",
    source,
    sshAccess: { ...source.location, passwordFile: options.passwordFile },
  };
}

/** Serves the guest's disks on WORKDIR/in0… and writes metadata.in (prechecks first if needed). */
export async function setUpInputVmx(
  options: InputVmxOptions,
  checked?: CheckedVmx,
): Promise<{ sockets: string[]; metadata: MetadataIn }> {
  const found = checked ?? (await precheckInputVmx(options));
  let guest: VmxGuest;
  let planned: PlannedDisk[];
  if (found.kind === "file") {
    ({ guest, planned } = found);
  } else {
    const tmpDir = serverTmpDir(options.workdir);
    await mkdir(tmpDir, { recursive: true, mode: 0o700 });
    const content = await downloadRemoteFile(found.sshAccess, found.source.path, {
      tmpDir,
      label: "vmx-download",
      verbose: options.verbose,
      log: options.log,
    });
    guest = parseGuest(content, found.source, options.args[0]!, options.warn);
    // Every disk is checked before any server starts: a missing one fails the run in seconds.
    planned = await planSshDisks(found.source, found.sshAccess, guest, tmpDir, options);
  }

  const served = await serveInputDisks(
    options.workdir,
    planned.map((disk) => disk.plan),
    { overlay: options.overlay ?? true, verbose: options.verbose, log: options.log },
  );
  const metadata = buildMetadataIn({
    mode: "vmx",
    description: describeInput(options.args),
    source: {
      name: guest.name,
      hypervisor: "vmware",
      genid: guest.genid,
      memoryBytes: guest.memoryBytes,
      vcpus: guest.vcpus,
      cpuTopology: guest.cpuTopology,
      features: [],
      firmware: guest.firmware,
      uefiSecureBoot: guest.uefiSecureBoot,
      display: null,
      sound: guest.sound,
      removables: guest.removables,
      nics: guest.nics,
    },
    disks: planned.map((plan, index) => ({
      served: served[index]!,
      id: index,
      controller: plan.disk.controller,
      format: plan.format,
      location: plan.location,
    })),
  });
  await writeMetadata("metadata.in", metadataInPath(options.workdir), metadata);
  return { sockets: served.map((disk) => disk.socket), metadata };
}
