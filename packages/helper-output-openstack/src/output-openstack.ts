/**
 * -o openstack: the converted guest as Cinder volumes, one per disk, written by the conversion
 * appliance (the OpenStack VM this runs in) through the `openstack` client (virt-v2v 2.2's
 * output_openstack):
 *
 *   precheck  the options, the `openstack` program on $PATH, `openstack token issue` (the
 *             credentials work), before anything is converted
 *   setup     per disk `volume create` (size rounded up to GiB, a "temporary" description) and
 *             `volume show` until it is available; then per volume `server add volume` to the
 *             appliance and a wait for its link in /dev/disk/by-id; each device served raw by
 *             nbdkit's file plugin on WORKDIR/outN. When stopped, the volumes are detached
 *             (`server remove volume`); without WORKDIR/done they are deleted too.
 *   final     `volume set --bootable --image-property …` on the first volume, then each
 *             volume's final description and virt_v2v_* properties
 */
import { readFile, readdir, stat, truncate, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import {
  UserError,
  driveName,
  metadataInPath,
  metadataOutPath,
  onCleanup,
  outputStatePath,
  runSucceeded,
  serveExistingTargetDisk,
  type OutputRequest,
  type OutputStage,
} from "@split-v2v/common";
import { readMetadata } from "@split-v2v/metadata-schema";
import { createOpenstackImageProperties } from "@split-v2v/target-formats";
import {
  checkOutputOpenstackOptions,
  openstackGlobalArgs,
  type CheckedOpenstackOptions,
} from "./mode.js";
import {
  OPENSTACK_PROGRAM,
  OpenstackClient,
  jsonString,
  programOnPath,
  withClientError,
} from "./openstack-client.js";

export type { CheckedOpenstackOptions } from "./mode.js";

export interface StageContext {
  workdir: string;
  verbose: boolean;
  stage: OutputStage;
  /** The helper's debug log. */
  log: (line: string) => void;
  /** The openstack client's own messages. */
  report: (line: string) => void;
  /** Told the user (a volume that could not be deleted). */
  warn: (text: string) => void;
}

export interface CheckedOpenstack extends CheckedOpenstackOptions {
  client: OpenstackClient;
}

/** The volumes setup made, for final (WORKDIR/output-state.json). */
export interface OpenstackState {
  outputName: string;
  volumes: Array<{ id: string; device: string }>;
}

/** The version recorded on each volume (2.2: Config.package_version_full). */
export const VIRT_V2V_VERSION_FULL = "2.2.0-split-v2v";

const GiB = 1024 * 1024 * 1024;
/** How long a new volume may take to become available (backends may preallocate it). */
const AVAILABLE_TIMEOUT_S = 300;
const AVAILABLE_POLL_S = 2;
/** How long an attached volume may take to appear in /dev/disk/by-id. */
const ATTACH_TIMEOUT_S = 300;
const ATTACH_POLL_S = 5;
/** How long a detached volume may take to leave "in-use" before it is deleted anyway. */
const DETACH_TIMEOUT_S = 60;
const DETACH_POLL_S = 2;
/**
 * OpenStack gives the volume's serial as only its first 20 characters, and udev adds its own
 * prefix: the link in /dev/disk/by-id is found by the first 16 (2.2: "maybe 20, but be safe").
 */
const SERIAL_PREFIX_LENGTH = 16;

const sleep = (seconds: number) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));

/**
 * 2.2's with_timeout: calls `poll` until it answers, `sleepSeconds` apart; past `timeoutSeconds`
 * it fails with "OPERATION: operation timed out".
 */
async function withTimeout<T>(
  operation: string,
  timeoutSeconds: number,
  sleepSeconds: number,
  poll: () => Promise<T | null>,
): Promise<T> {
  const start = Date.now();
  for (;;) {
    if (Date.now() - start > timeoutSeconds * 1000) {
      throw new UserError(`${operation}: operation timed out`);
    }
    const answer = await poll();
    if (answer !== null) return answer;
    await sleep(sleepSeconds);
  }
}

/**
 * Everything checked before the conversion: the options, the openstack program, and (in the
 * precheck stage, once per run as 2.2 does) that the credentials get a token.
 */
export async function precheckOutputOpenstack(
  request: OutputRequest,
  context: StageContext,
): Promise<CheckedOpenstack> {
  const checked = checkOutputOpenstackOptions(request);
  if (!(await programOnPath(OPENSTACK_PROGRAM))) {
    throw new UserError(
      `the ‘${OPENSTACK_PROGRAM}’ program is not available.  It is needed to communicate with OpenStack.`,
    );
  }
  const client = new OpenstackClient({
    globalArgs: openstackGlobalArgs(checked),
    log: context.log,
    report: context.report,
  });
  if (context.stage === "precheck") {
    const result = await client.run(["token", "issue"]);
    if (!result.ok) {
      throw new UserError(
        withClientError(
          "openstack: precheck failed, there may be a problem with authentication, see earlier error messages",
          result,
        ),
      );
    }
  }
  return { ...checked, client };
}

interface Volume {
  id: string;
  /** `server add volume` was run for it (it may be attached, so it is detached at the end). */
  attachTried: boolean;
}

/** Creates a volume of `size` bytes (rounded up to GiB) and returns its id. */
async function createVolume(
  checked: CheckedOpenstack,
  name: string,
  description: string,
  size: number,
): Promise<string> {
  // Cinder allocates volumes in whole GiB.
  const sizeGiB = Math.ceil(size / GiB);
  const args = ["volume", "create", "-f", "json", "--size", String(sizeGiB)];
  args.push("--description", description);
  if (checked.volumeType !== null) args.push("--type", checked.volumeType);
  args.push(name);
  const { json, result } = await checked.client.runJson(args);
  if (json === null) {
    throw new UserError(
      withClientError(
        "openstack: failed to create a cinder volume, see earlier error messages",
        result,
      ),
    );
  }
  return jsonString(json, "id", "volume create");
}

async function volumeStatus(checked: CheckedOpenstack, id: string) {
  const { json, result } = await checked.client.runJson(["volume", "show", "-f", "json", id]);
  return { status: json === null ? null : jsonString(json, "status", "volume show"), result };
}

/** Waits until a new volume is "available" (it is "creating" meanwhile). */
async function waitUntilAvailable(checked: CheckedOpenstack, id: string): Promise<void> {
  await withTimeout(
    'wait for cinder volume status to change to "available"',
    AVAILABLE_TIMEOUT_S,
    AVAILABLE_POLL_S,
    async () => {
      const { status, result } = await volumeStatus(checked, id);
      if (status === null) {
        throw new UserError(
          withClientError(
            "openstack: failed to query cinder volume status, see earlier error messages",
            result,
          ),
        );
      }
      if (status === "creating") return null;
      if (status === "available") return true;
      throw new UserError(
        `openstack: unknown volume status "${status}": expected "creating" or "available"`,
      );
    },
  );
}

/** Attaches a volume to the appliance and returns the device link that appears for it. */
async function attachVolume(checked: CheckedOpenstack, id: string): Promise<string> {
  const result = await checked.client.run(["server", "add", "volume", checked.serverId, id]);
  if (!result.ok) {
    throw new UserError(
      withClientError(
        "openstack: failed to attach cinder volume to VM, see earlier error messages",
        result,
      ),
    );
  }
  const prefix = id.slice(0, SERIAL_PREFIX_LENGTH);
  return withTimeout(
    `waiting for cinder volume ${id} to attach to the conversion appliance`,
    ATTACH_TIMEOUT_S,
    ATTACH_POLL_S,
    async () => {
      let entries: string[];
      try {
        entries = await readdir(checked.devDiskById);
      } catch {
        // udev makes /dev/disk/by-id on demand: it may not exist yet.
        entries = [];
      }
      const found = entries.filter((entry) => entry.includes(prefix)).sort()[0];
      return found === undefined ? null : path.join(checked.devDiskById, found);
    },
  );
}

/**
 * Readies an attached volume for the copy as 2.2's disk_create does with an existing target: a
 * block device's blocks are discarded where it can (not relied upon: the copy writes zeroes);
 * a plain file (a stand-in for a device) is emptied and sized as the disk.
 */
async function prepareDevice(device: string, size: number, log: (line: string) => void) {
  const info = await stat(device);
  if (info.isBlockDevice()) {
    const result = await execa("blkdiscard", [device], { reject: false, stdin: "ignore" });
    if (result.exitCode !== 0)
      log(`blkdiscard ${device} failed (ignored): ${String(result.stderr).trim()}`);
  } else if (info.isFile()) {
    await truncate(device, 0);
    await truncate(device, size);
  } else {
    throw new UserError(`openstack: ${device} is neither a block device nor a file`);
  }
}

/**
 * What happens to the volumes when setup stops: each one `server add volume` was run for is
 * detached; unless the run is done, every volume created is deleted, once it has left
 * "in-use" (2.2 deletes at once, which Cinder refuses while the detach is under way).
 */
async function releaseVolumes(
  checked: CheckedOpenstack,
  volumes: readonly Volume[],
  context: StageContext,
): Promise<void> {
  for (const volume of volumes) {
    if (!volume.attachTried) continue;
    await checked.client.run(["server", "remove", "volume", checked.serverId, volume.id]);
  }
  if (await runSucceeded(context.workdir)) return;
  for (const volume of volumes) {
    if (volume.attachTried) {
      try {
        await withTimeout(
          `detaching cinder volume ${volume.id}`,
          DETACH_TIMEOUT_S,
          DETACH_POLL_S,
          async () => {
            const { status } = await volumeStatus(checked, volume.id);
            return status !== null &&
              ["in-use", "detaching", "attaching", "reserved"].includes(status)
              ? null
              : true;
          },
        );
      } catch (err) {
        context.log(`${err instanceof Error ? err.message : String(err)}; deleting it anyway`);
      }
    }
    const result = await checked.client.run(["volume", "delete", volume.id]);
    if (!result.ok) {
      context.warn(
        withClientError(
          `openstack: could not delete cinder volume ${volume.id}; delete it with ‘openstack volume delete ${volume.id}’`,
          result,
        ),
      );
    }
  }
}

/** Creates and attaches the volumes and serves them; returns the socket names. */
export async function setUpOutputOpenstack(
  checked: CheckedOpenstack,
  context: StageContext,
): Promise<string[]> {
  const source = (await readMetadata("metadata.in", metadataInPath(context.workdir))).source;
  const outputName = checked.name ?? source.name;
  // A known description until final succeeds, so that the volumes of a conversion that died
  // can be found and collected.
  const description = `virt-v2v temporary volume for ${outputName}`;
  const volumes: Volume[] = [];
  // Registered first, so that it runs last: after every server let go of its device.
  onCleanup("cinder volumes", () => releaseVolumes(checked, volumes, context));

  for (const [index, disk] of source.disks.entries()) {
    // Cinder volume names need not be unique: one related to the guest's name will do.
    const name = `${outputName}-sd${driveName(index)}`;
    const id = await createVolume(checked, name, description, disk.virtualSize);
    // Kept from the moment it exists, so that a volume that never becomes available is
    // deleted too.
    volumes.push({ id, attachTried: false });
    await waitUntilAvailable(checked, id);
  }

  const devices: string[] = [];
  for (const volume of volumes) {
    volume.attachTried = true;
    devices.push(await attachVolume(checked, volume.id));
  }

  const state: OpenstackState = {
    outputName,
    volumes: volumes.map((volume, index) => ({ id: volume.id, device: devices[index]! })),
  };
  await writeFile(outputStatePath(context.workdir), `${JSON.stringify(state, null, 2)}\n`);

  const sockets: string[] = [];
  for (const [index, disk] of source.disks.entries()) {
    const device = devices[index]!;
    context.log(`writing disk ${disk.id} to cinder volume ${volumes[index]!.id} (${device})`);
    await prepareDevice(device, disk.virtualSize, context.log);
    sockets.push(
      await serveExistingTargetDisk(
        disk.id,
        { file: device, format: "raw", allocation: "sparse", size: disk.virtualSize },
        context,
      ),
    );
  }
  return sockets;
}

/** 2.2's conversion date: UTC, "YYYY/MM/DD HH:MM:SS". */
export function conversionDate(date: Date): string {
  const two = (n: number) => String(n).padStart(2, "0");
  return (
    `${date.getUTCFullYear()}/${two(date.getUTCMonth() + 1)}/${two(date.getUTCDate())} ` +
    `${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())}`
  );
}

interface VolumeUpdate {
  bootable?: boolean;
  description?: string;
  imageProperties?: ReadonlyArray<readonly [string, string]>;
  volumeProperties?: ReadonlyArray<readonly [string, string]>;
}

/** `openstack volume set` with 2.2's arguments in 2.2's order. */
async function updateVolume(checked: CheckedOpenstack, id: string, update: VolumeUpdate) {
  const args = ["volume", "set"];
  if (update.bootable !== undefined) args.push(update.bootable ? "--bootable" : "--non-bootable");
  if (update.description !== undefined) args.push("--description", update.description);
  for (const [key, value] of update.imageProperties ?? [])
    args.push("--image-property", `${key}=${value}`);
  for (const [key, value] of update.volumeProperties ?? [])
    args.push("--property", `${key}=${value}`);
  args.push(id);
  const result = await checked.client.run(args);
  if (!result.ok) {
    throw new UserError(
      withClientError(
        "openstack: failed to set image properties on cinder volume, see earlier error messages",
        result,
      ),
    );
  }
}

async function readState(workdir: string): Promise<OpenstackState> {
  let text: string;
  try {
    text = await readFile(outputStatePath(workdir), "utf8");
  } catch {
    throw new UserError(
      `openstack: ${outputStatePath(workdir)} is missing: the final stage runs after setup`,
    );
  }
  return JSON.parse(text) as OpenstackState;
}

/**
 * Sets the first volume bootable with the guest's image properties (how Nova will run it), and
 * gives every volume its final description and virt_v2v_* properties.
 */
export async function finalizeOutputOpenstack(
  checked: CheckedOpenstack,
  context: StageContext,
  now: Date = new Date(),
): Promise<OpenstackState> {
  const state = await readState(context.workdir);
  const metadataIn = await readMetadata("metadata.in", metadataInPath(context.workdir));
  const converted = await readMetadata("metadata.out", metadataOutPath(context.workdir));
  const source = metadataIn.source;
  const imageProperties = createOpenstackImageProperties({ source, converted });
  // Image properties on the first disk only, which is also the one made bootable (2.2 notes
  // this is not always right: RHBZ#1308535).
  await updateVolume(checked, state.volumes[0]!.id, { bootable: true, imageProperties });
  const count = state.volumes.length;
  const date = conversionDate(now);
  for (const [index, volume] of state.volumes.entries()) {
    const volumeProperties: Array<[string, string]> = [
      ["virt_v2v_version", VIRT_V2V_VERSION_FULL],
      ["virt_v2v_conversion_date", date],
      ["virt_v2v_guest_name", state.outputName],
      ["virt_v2v_disk_index", `${index + 1}/${count}`],
    ];
    if (source.genid !== null) volumeProperties.push(["virt_v2v_vm_generation_id", source.genid]);
    if (checked.guestId !== null) volumeProperties.push(["virt_v2v_guest_id", checked.guestId]);
    await updateVolume(checked, volume.id, {
      description: `${state.outputName} disk ${index + 1}/${count} converted by virt-v2v`,
      volumeProperties,
    });
  }
  return state;
}
