/**
 * -o qemu: target disks `DIR/NAME-sdX` and the executable script `DIR/NAME.sh` that boots them
 * in qemu (virt-v2v 2.2's output_qemu).
 *
 *   precheck  validates the options and -os before anything is converted (fail early); with
 *             the converted guest known (setup, final), also that a UEFI guest has firmware here
 *   setup     creates the target disks and serves them on WORKDIR/out0… until stopped; when
 *             stopped without the run's `done` marker, removes the disks and NAME.sh
 *   final     writes NAME.sh (mode 0755); with -oo qemu-boot, starts it in the background
 */
import { closeSync, constants, openSync } from "node:fs";
import { access, chmod, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { spawn } from "node:child_process";
import {
  UserError,
  driveName,
  metadataInPath,
  metadataOutPath,
  onCleanup,
  runSucceeded,
  serveTargetDisk,
  type OutputRequest,
} from "@split-v2v/common";
import { readMetadata, type MetadataIn, type MetadataOut } from "@split-v2v/metadata-schema";
import { QEMU_ACCEL_VARIABLE, createQemuScript, findUefiFirmware } from "@split-v2v/target-formats";
import { checkOutputQemuFormat, checkOutputQemuOptions, type QemuRequestOptions } from "./mode.js";

export type { QemuRequestOptions } from "./mode.js";

export interface CheckedQemu extends Omit<QemuRequestOptions, "format"> {
  /** -os made absolute: 2.2 names the disks by absolute path in the script. */
  directory: string;
  format: "raw" | "qcow2";
}

export interface StageContext {
  workdir: string;
  verbose: boolean;
  log: (line: string) => void;
  warn: (text: string) => void;
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

async function convertedGuest(workdir: string): Promise<MetadataOut | null> {
  const file = metadataOutPath(workdir);
  return (await exists(file)) ? readMetadata("metadata.out", file) : null;
}

/** Every option error, in 2.2's order and words, before anything is converted or created. */
export async function precheckOutputQemu(
  request: OutputRequest,
  context: Pick<StageContext, "workdir">,
): Promise<CheckedQemu> {
  const options = checkOutputQemuOptions(request);
  let isDirectory = false;
  try {
    isDirectory = (await stat(options.storage)).isDirectory();
  } catch {
    isDirectory = false;
  }
  if (!isDirectory) {
    throw new UserError(
      `-os ${options.storage}: output directory does not exist or is not a directory`,
    );
  }
  const format = checkOutputQemuFormat(options);
  // 2.2 finds this out after the copy; once the converted guest is known, say it first.
  const converted = await convertedGuest(context.workdir);
  if (converted?.target.firmware === "uefi") await findUefiFirmware(converted.guestcaps.arch);
  return { ...options, format, directory: path.resolve(options.storage) };
}

export function outputNameOf(checked: CheckedQemu, source: MetadataIn["source"]): string {
  return checked.name ?? source.name;
}

/** DIR/NAME-sdX, absolute. */
export function targetDiskPath(checked: CheckedQemu, name: string, diskId: number): string {
  return path.join(checked.directory, `${name}-sd${driveName(diskId)}`);
}

export function scriptPath(checked: CheckedQemu, name: string): string {
  return path.join(checked.directory, `${name}.sh`);
}

/** Creates and serves the target disks; returns the socket names. */
export async function setUpOutputQemu(
  checked: CheckedQemu,
  context: StageContext,
): Promise<string[]> {
  const { source } = await readMetadata("metadata.in", metadataInPath(context.workdir));
  const name = outputNameOf(checked, source);
  // final writes the script while this stage still serves the disks: if the run does not
  // finish, this stage removes it with them.
  const script = scriptPath(checked, name);
  onCleanup(`script ${script}`, async () => {
    if (!(await runSucceeded(context.workdir))) await rm(script, { force: true });
  });
  const sockets: string[] = [];
  for (const disk of source.disks) {
    sockets.push(
      await serveTargetDisk(
        disk.id,
        {
          file: targetDiskPath(checked, name, disk.id),
          format: checked.format,
          allocation: checked.allocation,
          size: disk.virtualSize,
          compressed: checked.compressed,
        },
        context,
      ),
    );
  }
  return sockets;
}

/** Writes NAME.sh (mode 0755) and, with -oo qemu-boot, starts it; returns its path. */
export async function finalizeOutputQemu(
  checked: CheckedQemu,
  context: StageContext,
): Promise<string> {
  const { source } = await readMetadata("metadata.in", metadataInPath(context.workdir));
  const converted = await readMetadata("metadata.out", metadataOutPath(context.workdir));
  const name = outputNameOf(checked, source);
  const uefi =
    converted.target.firmware === "uefi" ? await findUefiFirmware(converted.guestcaps.arch) : null;
  const text = createQemuScript({
    source,
    converted,
    outputName: name,
    outputFormat: checked.format,
    diskPath: (diskId) => targetDiskPath(checked, name, diskId),
    uefi,
    vsockGuestCid: process.pid,
    warn: context.warn,
  });
  const script = scriptPath(checked, name);
  await writeFile(script, text);
  await chmod(script, 0o755);
  if (checked.qemuBoot) await bootInBackground(script, context);
  return script;
}

/** Why KVM cannot be used to boot the guest here, or null when nothing says so. */
export async function kvmUnusable(
  env: NodeJS.ProcessEnv = process.env,
  kvmDevice = "/dev/kvm",
): Promise<string | null> {
  const settings = env.LIBGUESTFS_BACKEND_SETTINGS;
  if (settings !== undefined && settings.split(":").includes("force_tcg"))
    return `LIBGUESTFS_BACKEND_SETTINGS=${settings}`;
  try {
    await access(kvmDevice, constants.R_OK | constants.W_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === "ENOENT"
      ? `${kvmDevice} does not exist`
      : `${kvmDevice} is not usable by this user (${code ?? "error"})`;
  }
  // The conversion probes KVM (helper-convert's accel.ts) and keeps its verdict here.
  const cache = path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "split-v2v");
  try {
    const verdict = JSON.parse(
      await readFile(path.join(cache, "accel-verdict.json"), "utf8"),
    ) as unknown;
    if (typeof verdict === "object" && verdict !== null) {
      const { accel, reason } = verdict as { accel?: unknown; reason?: unknown };
      if (accel === "tcg") return typeof reason === "string" ? reason : "the KVM probe failed";
    }
  } catch {
    // no verdict: nothing says KVM does not work
  }
  return null;
}

/**
 * One of this process's parent's standard streams, for the guest: 2.2 starts the script from
 * virt-v2v itself, so the guest's serial console and qemu's messages go where virt-v2v's own
 * output goes. Here virt-v2v (the supervisor) reads this helper's stdout and stderr, and
 * would wait for them to close; so the script gets the supervisor's streams, not this
 * helper's. "ignore" when they cannot be opened.
 */
function parentStream(fd: 1 | 2): number | "ignore" {
  try {
    return openSync(`/proc/${process.ppid}/fd/${fd}`, "a");
  } catch {
    return "ignore";
  }
}

/**
 * -oo qemu-boot: 2.2 runs `'DIR/NAME.sh' &` through the shell, in the background, and ignores
 * its status; the guest outlives virt-v2v. Here the script is started in the background once
 * virt-v2v (this helper's parent) has exited, because until then the disks are still served
 * (qemu-nbd holds a qcow2 disk's lock, which qemu would fail to take). When KVM does not work
 * here, the script is told to use TCG.
 */
export async function bootInBackground(script: string, context: StageContext): Promise<number> {
  const env: Record<string, string> = {};
  if (process.env[QEMU_ACCEL_VARIABLE] === undefined) {
    const reason = await kvmUnusable();
    if (reason !== null) {
      env[QEMU_ACCEL_VARIABLE] = "tcg";
      context.warn(
        `-oo qemu-boot: KVM does not work on this host (${reason}): booting the guest with ${QEMU_ACCEL_VARIABLE}=tcg (software emulation, slower)`,
      );
    }
  }
  const parent = process.ppid;
  const stdout = parentStream(1);
  const stderr = parentStream(2);
  // A fixed script; the PID and the path are its arguments, never part of its text.
  const waiter = spawn(
    "sh",
    [
      "-c",
      'while kill -0 "$1" 2>/dev/null; do sleep 0.2; done; exec "$2"',
      "v2v-qemu-boot",
      String(parent),
      script,
    ],
    { env: { ...process.env, ...env }, detached: true, stdio: ["ignore", stdout, stderr] },
  );
  // The child has its own copies of the streams now.
  for (const stream of [stdout, stderr]) if (typeof stream === "number") closeSync(stream);
  // Its status is not waited for, as 2.2 does not wait for it.
  waiter.on("error", (error) => context.log(`qemu-boot: cannot start sh: ${error.message}`));
  waiter.unref();
  context.log(`qemu-boot: ${script} starts when process ${parent} has exited (pid ${waiter.pid})`);
  return waiter.pid ?? -1;
}
