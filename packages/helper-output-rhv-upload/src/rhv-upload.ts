/**
 * -o rhv-upload: the guest uploaded to a running oVirt/RHV engine, as virt-v2v 2.2's
 * output_rhv_upload.ml and its Python scripts (rhv-upload-precheck, -vmcheck, -transfer,
 * -plugin, -finalize, -createvm, -cancel) do it, with the engine's REST API spoken directly
 * (ovirt-api.ts) and imageio written through nbdkit's sh plugin (imageio.ts).
 *
 *   precheck  the options; the password file; login; the storage domain, its data center, the
 *             cluster in it and its architecture; the -oo rhv-disk-uuid disks absent; with
 *             metadata.in, the disk count (≤ 23), one UUID per disk, and no VM of the name
 *   setup     per disk: create it, wait until OK, open an upload transfer, wait until
 *             TRANSFERRING, serve it on WORKDIR/outN; stopped without WORKDIR/done, it cancels
 *             the transfers and deletes the disks (and the VM final created)
 *   final     finalize the transfers (FINISHED_SUCCESS, disks OK), then create the VM from the
 *             oVirt-flavoured OVF in the cluster and wait for the import job
 */
import { randomUUID } from "node:crypto";
import { access, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import {
  UserError,
  markerPath,
  metadataInPath,
  metadataOutPath,
  onCleanup,
  outputSocket,
  outputStatePath,
  serverTmpDir,
  startServer,
  type OutputStage,
} from "@split-v2v/common";
import { readMetadata, type MetadataIn } from "@split-v2v/metadata-schema";
import { createOvf, refuseTooManyOvirtDisks } from "@split-v2v/target-formats";
import { imageioOptions, imageioWriterSpec, redactTicket, writeUrlConfig } from "./imageio.js";
import { checkRhvUploadOptions, type RhvUploadOptions, type RhvUploadRequest } from "./mode.js";
import { EngineError, OvirtEngine, objectOf, stringOf, type ApiObject } from "./ovirt-api.js";

export type { RhvUploadOptions, RhvUploadRequest } from "./mode.js";

/** How long to wait for a disk or a transfer to change state (2.2: 5 minutes). */
const STATE_TIMEOUT_MS = 5 * 60 * 1000;
/** How long to wait for the VM import job (2.2: 3 minutes). */
const VM_TIMEOUT_MS = 3 * 60 * 1000;
/** How long a failed run waits for a cancelled transfer's disk to go, before deleting it. */
const REMOVE_TIMEOUT_MS = 60 * 1000;

/** What precheck found on the engine. */
export interface RhvUploadTarget {
  dataCenterId: string;
  dataCenterName: string;
  storageDomainId: string;
  clusterId: string;
  clusterName: string;
  /** The cluster's CPU architecture as the engine names it (x86_64, ppc64, …). */
  clusterArch: string;
}

export interface CheckedRhvUpload {
  options: RhvUploadOptions;
  /** A logged-in session, closed (logged out) when the helper exits. */
  engine: OvirtEngine;
  target: RhvUploadTarget;
  /** The CA bundle's contents (-oo rhv-cafile), for the imageio OPTIONS request. */
  ca: Buffer | null;
}

export interface StageContext {
  workdir: string;
  verbose: boolean;
  stage: OutputStage;
  /** The helper's debug log: never a password, never a ticket. */
  log: (line: string) => void;
  warn?: (line: string) => void;
}

/** One uploaded disk, as setup leaves it for final (and for its own clean-up). */
export interface UploadedDisk {
  /** The source disk's id (WORKDIR/outN). */
  index: number;
  /** The oVirt disk's id (-oo rhv-disk-uuid or a fresh UUID, as 2.2 generates them). */
  diskId: string;
  name: string;
  virtualSize: number;
  transferId: string | null;
}

/** WORKDIR/output-state.json: written by setup and final, read by final and the clean-up. */
export interface UploadState {
  target: RhvUploadTarget;
  disks: UploadedDisk[];
  /** The VM final created, until the run is done. */
  vmId: string | null;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `step` until it returns a value, sleeping 0.25 s, 0.5 s, … up to `maxDelayMs`. */
async function pollUntil<T>(
  timeoutMs: number,
  maxDelayMs: number,
  step: () => Promise<T | undefined>,
  onTimeout: () => Promise<never> | never,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let delay = 250;
  for (;;) {
    await sleep(delay);
    const value = await step();
    if (value !== undefined) return value;
    if (Date.now() > deadline) return onTimeout();
    delay = Math.min(delay * 2, maxDelayMs);
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

async function readState(workdir: string): Promise<UploadState> {
  const file = outputStatePath(workdir);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new UserError(
      `${file} is missing: the setup stage of -o rhv-upload must run (and still serve) before final`,
    );
  }
  return JSON.parse(text) as UploadState;
}

async function writeState(workdir: string, state: UploadState): Promise<void> {
  const file = outputStatePath(workdir);
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  await rename(temporary, file);
}

/** The VM's name: -on, else the source's. */
export function outputNameOf(options: RhvUploadOptions, source: MetadataIn["source"]): string {
  return options.name ?? source.name;
}

/** 2.2's disk names: "NAME-000", "NAME-001", … by source disk index. */
export function diskNameOf(outputName: string, index: number): string {
  return `${outputName}-${String(index).padStart(3, "0")}`;
}

async function readSecretFile(file: string, what: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(`${what} ${file}: cannot read it${code === undefined ? "" : ` (${code})`}`);
  }
}

/**
 * rhv-upload-precheck.py: the storage domain's data center (search storage.name=SD), the
 * storage domain in it, the cluster in the same data center, its CPU architecture.
 */
async function findTarget(
  engine: OvirtEngine,
  options: RhvUploadOptions,
): Promise<RhvUploadTarget> {
  const storage = options.storage;
  const dataCenters = await engine.list("datacenters", "data_center", {
    search: `storage.name=${storage}`,
    case_sensitive: "true",
  });
  const dataCenter = dataCenters[0];
  if (dataCenter === undefined) {
    const domains = await engine.list("storagedomains", "storage_domain", {
      search: `name=${storage}`,
      case_sensitive: "true",
    });
    if (domains.length === 0) throw new UserError(`The storage domain ‘${storage}’ does not exist`);
    throw new UserError(`The storage domain ‘${storage}’ is not attached to a DC`);
  }
  const dataCenterId = stringOf(dataCenter, "id") ?? "";
  const dataCenterName = stringOf(dataCenter, "name") ?? dataCenterId;
  const domains = await engine.list(`datacenters/${dataCenterId}/storagedomains`, "storage_domain");
  const domain = domains.find((candidate) => stringOf(candidate, "name") === storage);
  if (domain === undefined) throw new UserError(`The storage domain ‘${storage}’ does not exist`);
  const clusters = await engine.list(`datacenters/${dataCenterId}/clusters`, "cluster");
  const cluster = clusters.find((candidate) => stringOf(candidate, "name") === options.cluster);
  if (cluster === undefined) {
    throw new UserError(
      `The cluster ‘${options.cluster}’ is not part of the DC ‘${dataCenterName}’, where the storage domain ‘${storage}’ is`,
    );
  }
  const cpu = objectOf(cluster, "cpu");
  const clusterArch = cpu === null ? null : stringOf(cpu, "architecture");
  if (clusterArch === null || clusterArch === "undefined") {
    throw new UserError(`The cluster ‘${options.cluster}’ has an unknown architecture`);
  }
  return {
    dataCenterId,
    dataCenterName,
    storageDomainId: stringOf(domain, "id") ?? "",
    clusterId: stringOf(cluster, "id") ?? "",
    clusterName: options.cluster,
    clusterArch,
  };
}

/** rhv-upload-vmcheck.py: no VM of that name yet. */
async function checkNoVm(engine: OvirtEngine, name: string): Promise<void> {
  const vms = await engine.list("vms", "vm", { search: `name=${name}` });
  const vm = vms[0];
  if (vm !== undefined) {
    throw new UserError(`VM already exists with name ‘${name}’, id ‘${stringOf(vm, "id") ?? "?"}’`);
  }
}

/** The guest's checks that need metadata.in: disk count, one UUID per disk, the VM's name. */
async function checkAgainstSource(
  checked: CheckedRhvUpload,
  source: MetadataIn["source"],
): Promise<void> {
  const count = source.disks.length;
  refuseTooManyOvirtDisks(count);
  const uuids = checked.options.diskUuids;
  if (uuids !== null && uuids.length !== count) {
    throw new UserError(
      `the number of ‘-oo rhv-disk-uuid’ parameters passed on the command line has to match the number of guest disk images (for this guest: ${count})`,
    );
  }
  await checkNoVm(checked.engine, outputNameOf(checked.options, source));
}

/**
 * Every stage's first step. precheck and setup also check what must not exist yet (the
 * rhv-disk-uuid disks, the VM); final only needs the session and the target.
 */
export async function precheckRhvUpload(
  request: RhvUploadRequest,
  context: StageContext,
): Promise<CheckedRhvUpload> {
  const options = checkRhvUploadOptions(request);
  const password = (await readSecretFile(options.passwordFile, "-op")).toString("utf8").trimEnd();
  const ca =
    options.cafile === null ? null : await readSecretFile(options.cafile, "-oo rhv-cafile");
  const engine = new OvirtEngine({
    apiUrl: options.apiUrl,
    username: options.username,
    password,
    ca,
    insecure: !options.verifyPeer,
    log: context.log,
  });
  onCleanup("oVirt engine session", () => engine.close());
  await engine.login();
  const target = await findTarget(engine, options);
  context.log(
    `storage domain ${options.storage} (${target.storageDomainId}) in data center ${target.dataCenterName}, cluster ${target.clusterName} (${target.clusterId}, ${target.clusterArch})`,
  );
  const checked: CheckedRhvUpload = { options, engine, target, ca };
  if (context.stage === "final") return checked;
  for (const uuid of options.diskUuids ?? []) {
    if ((await engine.find(`disks/${uuid}`)) !== null) {
      throw new UserError(`Disk with the UUID '${uuid}' already exists`);
    }
  }
  // The input helper wrote metadata.in before the output's precheck runs; setup needs it.
  const metadataIn = metadataInPath(context.workdir);
  if (context.stage === "setup" || (await exists(metadataIn))) {
    const source = (await readMetadata("metadata.in", metadataIn)).source;
    await checkAgainstSource(checked, source);
  }
  return checked;
}

/** 2.2 checks this in finalize; setup checks it too, before anything is uploaded. */
function checkArchitecture(target: RhvUploadTarget, guestArch: string): void {
  if (target.clusterArch !== guestArch) {
    throw new UserError(
      `the cluster ‘${target.clusterName}’ does not support the architecture ${guestArch} but ${target.clusterArch}`,
    );
  }
}

/** The host virt-v2v runs on, when it is an oVirt host of the data center (transfer's find_host). */
async function findHost(engine: OvirtEngine, target: RhvUploadTarget, log: (line: string) => void) {
  let vdsmId: string;
  try {
    vdsmId = (await readFile("/etc/vdsm/vdsm.id", "utf8")).split("\n")[0]!.trim();
  } catch {
    log("not an oVirt host (no /etc/vdsm/vdsm.id): the engine chooses the host");
    return null;
  }
  const hosts = await engine.list("hosts", "host", {
    search: `hw_id=${vdsmId} and datacenter=${target.dataCenterName} and status=Up`,
    case_sensitive: "true",
  });
  const host = hosts[0];
  if (host === undefined) {
    log(
      `cannot find a running host with hw_id=${vdsmId} in data center ${target.dataCenterName}: the engine chooses the host`,
    );
    return null;
  }
  return stringOf(host, "id");
}

/** rhv-upload-transfer.py's create_disk: add the disk, wait until it is OK. */
async function createDisk(
  checked: CheckedRhvUpload,
  disk: UploadedDisk,
  log: (line: string) => void,
): Promise<void> {
  const { engine, options } = checked;
  const size = String(disk.virtualSize);
  await engine.call("POST", "disks", {
    body: {
      id: disk.diskId,
      name: disk.name,
      description: "Uploaded by virt-v2v",
      format: options.format === "raw" ? "raw" : "cow",
      // 2.2: "XXX For qcow2 disk on block storage, we should use the estimated size".
      initial_size: size,
      provisioned_size: size,
      // 2.2 always asks for a sparse disk; here -oa preallocated asks for a preallocated one.
      sparse: options.allocation === "sparse",
      storage_domains: { storage_domain: [{ name: options.storage }] },
    },
  });
  log(`disk ${disk.name} (${disk.diskId}) created, ${size} bytes, waiting until it is OK`);
  await pollUntil(
    STATE_TIMEOUT_MS,
    1000,
    async () => {
      const current = await engine.find(`disks/${disk.diskId}`);
      if (current === null) throw new UserError(`disk ${disk.diskId} was removed by the engine`);
      return stringOf(current, "status") === "ok" ? true : undefined;
    },
    () => {
      throw new UserError(`timed out waiting for disk ${disk.diskId} to become unlocked`);
    },
  );
}

/** rhv-upload-transfer.py's create_transfer: an upload transfer, waited for until TRANSFERRING. */
async function createTransfer(
  checked: CheckedRhvUpload,
  disk: UploadedDisk,
  hostId: string | null,
  created: (transferId: string) => Promise<void>,
): Promise<ApiObject> {
  const { engine } = checked;
  const transfer = await engine.call("POST", "imagetransfers", {
    body: {
      disk: { id: disk.diskId },
      ...(hostId === null ? {} : { host: { id: hostId } }),
      direction: "upload",
      inactivity_timeout: "3600",
      // The NBD backend of imageio: guest data, whatever the disk's format (oVirt ≥ 4.3).
      format: "raw",
    },
  });
  const id = stringOf(transfer, "id");
  if (id === null) throw new UserError("the engine created an image transfer without an id");
  // From here the transfer owns the disk: cancelling it deletes the disk.
  await created(id);
  const cancel = () => engine.request("POST", `imagetransfers/${id}/cancel`, { body: {} });
  return pollUntil(
    STATE_TIMEOUT_MS,
    1000,
    async () => {
      const current = await engine.find(`imagetransfers/${id}`);
      if (current === null) throw new UserError(`transfer ${id} was removed`);
      const phase = stringOf(current, "phase");
      if (phase === "finished_failure") throw new UserError(`transfer ${id} has failed`);
      if (phase === "paused_system") {
        await cancel();
        throw new UserError(`transfer ${id} was paused by system`);
      }
      if (phase === "transferring") return current;
      if (phase !== "initializing") {
        await cancel();
        throw new UserError(`unexpected transfer ${id} phase ${phase ?? "(none)"}`);
      }
      return undefined;
    },
    async () => {
      await cancel();
      throw new UserError(`timed out waiting for transfer ${id}`);
    },
  );
}

/** rhv-upload-transfer.py's get_transfer_url: the host's imageio, or the engine's proxy. */
function transferUrlOf(transfer: ApiObject, direct: boolean): string {
  if (direct) {
    const url = stringOf(transfer, "transfer_url");
    if (url === null) {
      throw new UserError(
        "direct upload to host not supported, requires ovirt-engine >= 4.2 and only works when virt-v2v is run within the oVirt/RHV environment, eg. on an oVirt node.",
      );
    }
    return url;
  }
  const url = stringOf(transfer, "proxy_url");
  if (url === null) {
    throw new UserError("the engine gave no imageio proxy URL for the transfer (-oo rhv-proxy)");
  }
  return url;
}

/**
 * rhv-upload-cancel.py, for a run that did not finish: the VM final created (if any), then
 * every transfer cancelled (which makes the engine delete its disk), then every disk deleted
 * as a last resort, once it is no longer locked by its cancelled transfer. Errors are logged
 * and do not stop the rest.
 */
export async function removeUploads(
  engine: OvirtEngine,
  state: UploadState,
  log: (line: string) => void,
): Promise<void> {
  const attempt = async (what: string, action: () => Promise<unknown>) => {
    try {
      await action();
    } catch (err) {
      log(`${what}: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  if (state.vmId !== null) {
    const vmId = state.vmId;
    await attempt(`removing VM ${vmId}`, () => engine.request("DELETE", `vms/${vmId}`));
  }
  for (const disk of state.disks) {
    const transferId = disk.transferId;
    if (transferId === null) continue;
    await attempt(`cancelling transfer ${transferId}`, async () => {
      const response = await engine.request("POST", `imagetransfers/${transferId}/cancel`, {
        body: {},
      });
      log(`cancel transfer ${transferId}: HTTP status ${response.status}`);
    });
  }
  for (const disk of state.disks) {
    await attempt(`removing disk ${disk.diskId}`, async () => {
      const deadline = Date.now() + REMOVE_TIMEOUT_MS;
      for (;;) {
        const current = await engine.find(`disks/${disk.diskId}`);
        if (current === null) return;
        if (stringOf(current, "status") !== "locked") {
          const response = await engine.request("DELETE", `disks/${disk.diskId}`);
          if (response.status === 404 || (response.status >= 200 && response.status <= 299)) {
            log(`disk ${disk.diskId} removed`);
            return;
          }
        }
        if (Date.now() > deadline) {
          throw new UserError(
            `disk ${disk.diskId} (${disk.name}) is still there; remove it in oVirt`,
          );
        }
        await sleep(500);
      }
    });
  }
}

/**
 * Creates and serves the target disks; returns the sockets. Stopped without WORKDIR/done, it
 * removes what the run created on the engine.
 */
export async function setUpRhvUpload(
  checked: CheckedRhvUpload,
  context: StageContext,
): Promise<string[]> {
  const { engine, options, target } = checked;
  const workdir = context.workdir;
  const metadataIn = await readMetadata("metadata.in", metadataInPath(workdir));
  const metadataOut = await readMetadata("metadata.out", metadataOutPath(workdir));
  checkArchitecture(target, metadataOut.guestcaps.arch);
  const outputName = outputNameOf(options, metadataIn.source);
  const state: UploadState = { target, disks: [], vmId: null };
  const tmpDir = serverTmpDir(workdir);
  await mkdir(tmpDir, { recursive: true, mode: 0o700 });
  // Registered before anything is created, so that a failure half-way removes what exists.
  onCleanup("oVirt disks and transfers", async () => {
    if (await exists(markerPath(workdir, "done"))) return;
    let latest = state;
    try {
      latest = { ...state, vmId: (await readState(workdir)).vmId };
    } catch {
      // final never ran
    }
    context.log("run did not finish: cancelling the transfers and removing the disks");
    await removeUploads(engine, latest, context.log);
  });
  const sockets: string[] = [];
  for (const [position, source] of metadataIn.source.disks.entries()) {
    const disk: UploadedDisk = {
      index: source.id,
      // 2.2 makes the UUIDs itself: simpler than reading back the ones oVirt would choose.
      diskId: options.diskUuids?.[position] ?? randomUUID(),
      name: diskNameOf(outputName, source.id),
      virtualSize: source.virtualSize,
      transferId: null,
    };
    state.disks.push(disk);
    await writeState(workdir, state);
    await createDisk(checked, disk, context.log);
    const hostId = options.direct ? await findHost(engine, target, context.log) : null;
    const transfer = await createTransfer(checked, disk, hostId, async (transferId) => {
      disk.transferId = transferId;
      await writeState(workdir, state);
    });
    const url = transferUrlOf(transfer, options.direct);
    context.log(`transfer ${disk.transferId ?? "?"} is ready at ${redactTicket(url)}`);
    const tls = { ca: checked.ca, cafile: options.cafile, insecure: !options.verifyPeer };
    const features = await imageioOptions(url, tls);
    context.log(
      `imageio features: zero=${features.canZero} flush=${features.canFlush} max_writers=${features.maxWriters}`,
    );
    const urlConfig = path.join(tmpDir, `out${source.id}.imageio`);
    onCleanup(`imageio URL file ${urlConfig}`, () => rm(urlConfig, { force: true }));
    await writeUrlConfig(urlConfig, url);
    const server = await startServer(
      imageioWriterSpec({ urlConfig, size: source.virtualSize, tls, features }),
      {
        socket: outputSocket(workdir, source.id),
        pidfile: path.join(tmpDir, `out${source.id}.pid`),
        tmpDir,
        verbose: context.verbose,
        log: context.log,
      },
    );
    onCleanup(`server for out${source.id}`, () => server.stop());
    sockets.push(path.basename(server.socket));
  }
  return sockets;
}

/**
 * rhv-upload-finalize.py's finalize_transfer: FINISHED_SUCCESS (or, on engines before 4.4.7
 * that remove the transfer at once, the disk OK), then the disk OK.
 */
async function finalizeTransfer(
  engine: OvirtEngine,
  transferId: string,
  diskId: string,
  log: (line: string) => void,
): Promise<void> {
  const start = Date.now();
  log(`finalizing transfer ${transferId}`);
  await engine.call("POST", `imagetransfers/${transferId}/finalize`, { body: {} });
  let lastPhase = "?";
  await pollUntil(
    STATE_TIMEOUT_MS,
    1000,
    async () => {
      const transfer = await engine.find(`imagetransfers/${transferId}`);
      if (transfer === null) {
        const disk = await engine.find(`disks/${diskId}`);
        if (disk === null) {
          throw new UserError(`transfer ${transferId} failed: disk ${diskId} was removed`);
        }
        const status = stringOf(disk, "status") ?? "?";
        if (status === "ok") return true;
        throw new UserError(`transfer ${transferId} failed: disk is ${status}`);
      }
      lastPhase = stringOf(transfer, "phase") ?? "?";
      if (lastPhase === "finished_success") return true;
      if (lastPhase === "finished_failure")
        throw new UserError(`transfer ${transferId} has failed`);
      if (lastPhase === "paused_system") {
        throw new UserError(`transfer ${transferId} was paused by system`);
      }
      return undefined;
    },
    () => {
      throw new UserError(
        `timed out waiting for transfer ${transferId} to finalize, transfer is ${lastPhase}`,
      );
    },
  );
  await pollUntil(
    STATE_TIMEOUT_MS,
    1000,
    async () => {
      const disk = await engine.find(`disks/${diskId}`);
      if (disk === null)
        throw new UserError(`transfer ${transferId} failed: disk ${diskId} was removed`);
      const status = stringOf(disk, "status");
      if (status === "ok") return true;
      if (status === "illegal")
        throw new UserError(`transfer ${transferId} failed: disk is illegal`);
      return undefined;
    },
    () => {
      throw new UserError(`timed out waiting for disk ${diskId} to become unlocked`);
    },
  );
  log(`transfer ${transferId} finalized in ${((Date.now() - start) / 1000).toFixed(3)} seconds`);
}

/** rhv-upload-createvm.py's jobs_completed loop for the VM's correlation id. */
async function waitForJobs(
  engine: OvirtEngine,
  correlationId: string,
  log: (line: string) => void,
) {
  await pollUntil(
    VM_TIMEOUT_MS,
    10000,
    async () => {
      let jobs: ApiObject[];
      try {
        jobs = await engine.list("jobs", "job", { search: `correlation_id=${correlationId}` });
      } catch (err) {
        // 2.2: "We don't know, assume that jobs did not complete yet."
        log(`error searching for jobs with correlation id ${correlationId}: ${String(err)}`);
        return undefined;
      }
      const described = jobs.map(
        (job) => `(${stringOf(job, "description") ?? "?"}, ${stringOf(job, "status") ?? "?"})`,
      );
      if (jobs.some((job) => stringOf(job, "status") === "started")) {
        log(`some jobs with correlation id ${correlationId} are running: ${described.join(", ")}`);
        return undefined;
      }
      const failed = jobs.filter((job) => stringOf(job, "status") !== "finished");
      if (failed.length > 0) {
        throw new UserError(
          `Failed to create a VM! Failed jobs: ${failed
            .map(
              (job) =>
                `(${stringOf(job, "description") ?? "?"}, ${stringOf(job, "status") ?? "?"})`,
            )
            .join(", ")}`,
        );
      }
      return true;
    },
    () => {
      throw new UserError(
        `Timed out waiting for VM creation! Jobs still running for correlation id ${correlationId}`,
      );
    },
  );
}

/**
 * Finalizes the transfers and creates the VM; returns its id. On failure the VM it created is
 * removed (its disks are left to setup's clean-up, which owns them).
 */
export async function finalizeRhvUpload(
  checked: CheckedRhvUpload,
  context: StageContext,
): Promise<string> {
  const { engine, options } = checked;
  const workdir = context.workdir;
  const state = await readState(workdir);
  const target = state.target;
  const metadataIn = await readMetadata("metadata.in", metadataInPath(workdir));
  const metadataOut = await readMetadata("metadata.out", metadataOutPath(workdir));
  checkArchitecture(target, metadataOut.guestcaps.arch);
  // 2.2 kills its nbdkit processes first (imageio cannot finalize while connections are open):
  // the writer here makes one HTTP connection per request, closed when the request ends, so
  // once the copy is over no connection to imageio is left, though setup still serves.
  for (const disk of state.disks) {
    if (disk.transferId === null) throw new UserError(`disk ${disk.diskId} has no transfer`);
    await finalizeTransfer(engine, disk.transferId, disk.diskId, context.log);
  }
  const ovfDisks = [];
  for (const disk of state.disks) {
    const current = await engine.call("GET", `disks/${disk.diskId}`);
    ovfDisks.push({
      imageUuid: disk.diskId,
      // 2.2 makes the volume UUIDs up; the engine knows the real one, so that one is used.
      volumeUuid: stringOf(current, "image_id") ?? randomUUID(),
      virtualSize: disk.virtualSize,
      actualSize: null,
    });
  }
  const outputName = outputNameOf(options, metadataIn.source);
  const ovf = createOvf({
    source: metadataIn.source,
    converted: metadataOut,
    outputName,
    outputFormat: options.format,
    outputAllocation: options.allocation,
    storageDomainUuid: target.storageDomainId,
    vmUuid: randomUUID(),
    disks: ovfDisks,
    flavour: "ovirt",
    ...(context.warn === undefined ? {} : { warn: context.warn }),
  });
  await writeFile(path.join(workdir, "vm.ovf"), ovf, { mode: 0o600 });
  // createvm.py takes the cluster as the engine describes it.
  const cluster = await engine.call("GET", `clusters/${target.clusterId}`);
  const correlationId = randomUUID();
  const vm = await engine.call("POST", "vms", {
    query: { correlation_id: correlationId },
    body: {
      cluster: { id: stringOf(cluster, "id") ?? target.clusterId },
      initialization: { configuration: { type: "ova", data: ovf } },
    },
  });
  const vmId = stringOf(vm, "id");
  if (vmId === null) throw new UserError("the engine created the VM without an id");
  context.log(`VM ${outputName} (${vmId}) created, waiting for its import job`);
  await writeState(workdir, { ...state, vmId });
  const unregister = onCleanup(`VM ${vmId}`, async () => {
    context.log(`removing VM ${vmId}, which final did not finish`);
    const response = await engine.request("DELETE", `vms/${vmId}`, {
      query: { detach_only: "true" },
    });
    if (response.status !== 404 && (response.status < 200 || response.status > 299)) {
      throw new EngineError("DELETE", `vms/${vmId}`, response.status, response.body);
    }
  });
  await waitForJobs(engine, correlationId, context.log);
  if ((await engine.find(`vms/${vmId}`)) === null) {
    throw new UserError(`the VM ${outputName} (${vmId}) was not created`);
  }
  unregister();
  return vmId;
}
