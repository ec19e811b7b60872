/**
 * A STAND-IN oVirt engine for the tests (no oVirt engine can run here): HTTPS servers on
 * 127.0.0.1 (node:https; a CA and a server certificate for 127.0.0.1 made with `openssl`) that
 * answer the part of the oVirt REST API (version 4, JSON) and of the imageio protocol that
 * -o rhv-upload uses, the way the real ones answer:
 *
 * - SSO: POST /ovirt-engine/sso/oauth/token (form: grant_type=password, scope=ovirt-app-api,
 *   username, password) → {"access_token"…}, or HTTP 400 {"error_code":"access_denied",
 *   "error":"Cannot authenticate user …"}; POST /ovirt-engine/services/sso-logout.
 * - /ovirt-engine/api/…: Bearer token required (401 otherwise); JSON with the engine's habits
 *   (scalars as strings, collections as {"disk":[…]}, {} when empty, faults as
 *   {"reason","detail"}): datacenters (search storage.name=), storagedomains (search name=),
 *   datacenters/ID/storagedomains and /clusters, clusters/ID, hosts (search), vms (search
 *   name=, POST with an OVA configuration and ?correlation_id=, GET, DELETE [detach_only]),
 *   disks (POST, GET, DELETE: 409 while locked), imagetransfers (POST, GET, /finalize,
 *   /cancel), jobs (search correlation_id=).
 * - Phases and statuses as the engine moves them: a new disk is "locked" for the first GET(s),
 *   then "ok"; a transfer is "initializing", then "transferring" (disk locked); finalize →
 *   "finalizing_success" → "finished_success" (disk ok); cancel → "cancelled_user", and the
 *   disk is removed by the engine a moment later; the VM import job is "started", then
 *   "finished".
 * - imageio: two servers, the host's daemon (transfer_url) and the engine's proxy (proxy_url),
 *   at /images/TICKET: OPTIONS (features zero/flush/extents, max_writers 8), PUT with
 *   Content-Range and ?flush=, PATCH zero/flush, GET with Range; 403 for a ticket that is not
 *   (or no longer) valid. Uploaded bytes land in one file per disk (dir/disk-ID.img).
 *
 * Every request is recorded. Knobs inject failures: failPutNumber (the Nth PUT answers 500),
 * noTransferUrl, jobStatus ("failed"), and the topology (storage domains, clusters, VMs and
 * disks that already exist) is fixed below.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { open, readFile, rm, writeFile } from "node:fs/promises";
import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { execa } from "execa";

export const USER = "admin@internal";
export const PASSWORD = "stand-in engine pässword";
export const DATA_CENTER = "Default";
export const STORAGE_DOMAIN = "data";
/** A storage domain that exists but is attached to no data center. */
export const UNATTACHED_DOMAIN = "unattached";
export const CLUSTER = "Default";
/** A cluster of another data center. */
export const OTHER_CLUSTER = "Other";
/** A VM that already exists. */
export const EXISTING_VM = "existing-vm";
/** A disk that already exists. */
export const EXISTING_DISK = "6d0b7a53-2d3e-4f8b-9c41-0f3a1b2c3d4e";

export interface RecordedCall {
  /** "engine" for the REST API and SSO, "imageio" or "proxy" for the imageio servers. */
  server: "engine" | "imageio" | "proxy";
  method: string;
  /** Path and query. */
  url: string;
  status: number;
  /** The parsed JSON body of an API request (never the SSO form), or imageio's PATCH body. */
  body?: unknown;
  /** For PUT: the byte range written. */
  range?: [number, number];
  /** The request's headers that matter (Version, Content-Type). */
  headers?: Record<string, string>;
}

export interface StandinKnobs {
  /** The Nth PUT (1-based) answers 500 Internal Server Error. */
  failPutNumber?: number;
  /** Transfers have no transfer_url (an engine older than 4.2). */
  noTransferUrl?: boolean;
  /** The status the VM import job ends in (default "finished"). */
  jobStatus?: string;
  /** GETs a new disk stays "locked" (default 1). */
  diskLockedPolls?: number;
}

interface DiskRecord {
  id: string;
  name: string;
  format: string;
  sparse: boolean;
  provisionedSize: number;
  initialSize: number | null;
  status: string;
  imageId: string;
  file: string;
  lockedPolls: number;
  vmId: string | null;
}

interface TransferRecord {
  id: string;
  diskId: string;
  ticket: string;
  phase: string;
  polls: number;
  hostId: string | null;
  format: string | null;
}

interface VmRecord {
  id: string;
  name: string;
  clusterId: string;
  ovf: string;
  diskIds: string[];
}

interface JobRecord {
  id: string;
  correlationId: string;
  description: string;
  status: string;
  polls: number;
}

export interface StandinOvirt {
  /** The -oc URL (with the user). */
  apiUrl: string;
  port: number;
  imageioPort: number;
  proxyPort: number;
  /** The CA that signed the servers' certificate (for -oo rhv-cafile). */
  caFile: string;
  calls: RecordedCall[];
  knobs: StandinKnobs;
  disks: Map<string, DiskRecord>;
  transfers: Map<string, TransferRecord>;
  vms: Map<string, VmRecord>;
  /** The uploaded bytes of a disk. */
  diskContent(id: string): Promise<Buffer>;
  close(): Promise<void>;
}

const DC_ID = "5849b030-626e-47cb-ad90-3ce782d831b3";
const OTHER_DC_ID = "a7f3c0de-1b2c-4d5e-8f90-123456789abc";
const SD_ID = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const UNATTACHED_SD_ID = "1b2c3d4e-5f6a-4b7c-9d8e-0f1a2b3c4d5e";
const CLUSTER_ID = "b8f6a6d4-0a5b-11ef-8c4b-525400123456";
const OTHER_CLUSTER_ID = "c9a7b7e5-1b6c-42f0-9d5c-636511234567";
const HOST_ID = "d0b8c8f6-2c7d-43a1-8e6d-747622345678";
const API = "/ovirt-engine/api";

/** A CA and a server certificate for 127.0.0.1 signed by it. */
async function makeCertificates(dir: string) {
  const file = (name: string) => path.join(dir, name);
  await execa("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    file("ca.key"),
    "-out",
    file("ca.pem"),
    "-days",
    "1",
    "-subj",
    "/CN=stand-in oVirt CA",
  ]);
  await execa("openssl", [
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    file("server.key"),
    "-out",
    file("server.csr"),
    "-subj",
    "/CN=127.0.0.1",
  ]);
  await writeFile(file("server.ext"), "subjectAltName=IP:127.0.0.1\n");
  await execa("openssl", [
    "x509",
    "-req",
    "-in",
    file("server.csr"),
    "-CA",
    file("ca.pem"),
    "-CAkey",
    file("ca.key"),
    "-CAcreateserial",
    "-out",
    file("server.pem"),
    "-days",
    "1",
    "-extfile",
    file("server.ext"),
  ]);
  return {
    ca: file("ca.pem"),
    key: await readFile(file("server.key")),
    cert: await readFile(file("server.pem")),
  };
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks)));
    request.on("error", reject);
  });
}

/** The engine's lenient reading of a JSON scalar (strings or numbers/booleans). */
function scalar(value: unknown): string | null {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return null;
}

type Json = Record<string, unknown>;

function objectAt(value: unknown, key: string): Json | null {
  if (typeof value !== "object" || value === null) return null;
  const inner = (value as Json)[key];
  return typeof inner === "object" && inner !== null ? (inner as Json) : null;
}

/** The value of a "key=value" search. */
function searchValue(url: URL, key: string): string | null {
  const search = url.searchParams.get("search");
  if (search === null) return null;
  const match = new RegExp(`(?:^|\\s)${key.replace(/\./g, "\\.")}=(\\S+)`).exec(search);
  return match === null ? null : match[1]!;
}

export async function startStandinOvirt(
  dir: string,
  knobs: StandinKnobs = {},
): Promise<StandinOvirt> {
  const certificates = await makeCertificates(dir);
  const tokens = new Set<string>();
  const calls: RecordedCall[] = [];
  const disks = new Map<string, DiskRecord>();
  const transfers = new Map<string, TransferRecord>();
  const vms = new Map<string, VmRecord>();
  const jobs: JobRecord[] = [];
  let putCount = 0;
  const ports = { engine: 0, imageio: 0, proxy: 0 };

  vms.set("e1f2a3b4-c5d6-47e8-9f0a-1b2c3d4e5f60", {
    id: "e1f2a3b4-c5d6-47e8-9f0a-1b2c3d4e5f60",
    name: EXISTING_VM,
    clusterId: CLUSTER_ID,
    ovf: "",
    diskIds: [],
  });
  disks.set(EXISTING_DISK, {
    id: EXISTING_DISK,
    name: "someone-elses-disk",
    format: "raw",
    sparse: true,
    provisionedSize: 1048576,
    initialSize: null,
    status: "ok",
    imageId: randomUUID(),
    file: path.join(dir, `disk-${EXISTING_DISK}.img`),
    lockedPolls: 0,
    vmId: null,
  });
  await writeFile(path.join(dir, `disk-${EXISTING_DISK}.img`), Buffer.alloc(0));

  const dataCenters = [
    { id: DC_ID, name: DATA_CENTER, domains: [SD_ID], clusters: [CLUSTER_ID] },
    { id: OTHER_DC_ID, name: "Other", domains: [], clusters: [OTHER_CLUSTER_ID] },
  ];
  const storageDomains = [
    { id: SD_ID, name: STORAGE_DOMAIN },
    { id: UNATTACHED_SD_ID, name: UNATTACHED_DOMAIN },
  ];
  const clusters = [
    { id: CLUSTER_ID, name: CLUSTER, dc: DC_ID },
    { id: OTHER_CLUSTER_ID, name: OTHER_CLUSTER, dc: OTHER_DC_ID },
  ];

  const dcJson = (dc: (typeof dataCenters)[number]) => ({
    name: dc.name,
    local: "false",
    status: "up",
    storage_format: "v5",
    href: `${API}/datacenters/${dc.id}`,
    id: dc.id,
    link: [
      { href: `${API}/datacenters/${dc.id}/clusters`, rel: "clusters" },
      { href: `${API}/datacenters/${dc.id}/storagedomains`, rel: "storagedomains" },
    ],
  });
  const sdJson = (sd: (typeof storageDomains)[number]) => ({
    name: sd.name,
    available: "107374182400",
    committed: "0",
    master: "true",
    status: "active",
    storage: { type: "nfs" },
    type: "data",
    href: `${API}/storagedomains/${sd.id}`,
    id: sd.id,
  });
  const clusterJson = (cluster: (typeof clusters)[number]) => ({
    name: cluster.name,
    cpu: { architecture: "x86_64", type: "Intel Nehalem Family" },
    data_center: { href: `${API}/datacenters/${cluster.dc}`, id: cluster.dc },
    href: `${API}/clusters/${cluster.id}`,
    id: cluster.id,
  });
  const diskJson = (disk: DiskRecord) => ({
    name: disk.name,
    description: "Uploaded by virt-v2v",
    actual_size: "0",
    content_type: "data",
    format: disk.format,
    image_id: disk.imageId,
    provisioned_size: String(disk.provisionedSize),
    ...(disk.initialSize === null ? {} : { initial_size: String(disk.initialSize) }),
    sparse: String(disk.sparse),
    status: disk.status,
    storage_type: "image",
    storage_domains: { storage_domain: [{ href: `${API}/storagedomains/${SD_ID}`, id: SD_ID }] },
    href: `${API}/disks/${disk.id}`,
    id: disk.id,
  });
  const transferJson = (transfer: TransferRecord) => ({
    active: "false",
    direction: "upload",
    format: transfer.format ?? "cow",
    inactivity_timeout: "3600",
    phase: transfer.phase,
    shallow: "false",
    ...(transfer.phase === "transferring" || transfer.phase === "initializing"
      ? {
          proxy_url: `https://127.0.0.1:${ports.proxy}/images/${transfer.ticket}`,
          ...(knobs.noTransferUrl
            ? {}
            : { transfer_url: `https://127.0.0.1:${ports.imageio}/images/${transfer.ticket}` }),
        }
      : {}),
    disk: { href: `${API}/disks/${transfer.diskId}`, id: transfer.diskId },
    host: { href: `${API}/hosts/${transfer.hostId ?? HOST_ID}`, id: transfer.hostId ?? HOST_ID },
    href: `${API}/imagetransfers/${transfer.id}`,
    id: transfer.id,
  });
  const vmJson = (vm: VmRecord) => ({
    name: vm.name,
    status: "down",
    cluster: { href: `${API}/clusters/${vm.clusterId}`, id: vm.clusterId },
    href: `${API}/vms/${vm.id}`,
    id: vm.id,
  });

  const handleEngine = async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? "/", "https://127.0.0.1");
    const method = request.method ?? "GET";
    const body = await readBody(request);
    const call: RecordedCall = {
      server: "engine",
      method,
      url: `${url.pathname}${url.search}`,
      status: 0,
      headers: {
        version: String(request.headers.version ?? ""),
        "content-type": String(request.headers["content-type"] ?? ""),
      },
    };
    calls.push(call);
    const send = (status: number, json: unknown) => {
      call.status = status;
      const text = JSON.stringify(json, null, 2);
      response.writeHead(status, {
        "Content-Type": "application/json",
        "Content-Length": Buffer.byteLength(text),
      });
      response.end(text);
    };
    const fault = (status: number, detail: string) =>
      send(status, { reason: "Operation Failed", detail });
    const notFound = () => {
      call.status = 404;
      response.writeHead(404, { "Content-Length": 0 });
      response.end();
    };

    if (url.pathname === "/ovirt-engine/sso/oauth/token" && method === "POST") {
      const form = new URLSearchParams(body.toString("utf8"));
      if (form.get("grant_type") !== "password" || form.get("scope") !== "ovirt-app-api") {
        send(400, { error_code: "invalid_request", error: "bad grant or scope" });
        return;
      }
      if (form.get("username") !== USER || form.get("password") !== PASSWORD) {
        send(400, {
          error_code: "access_denied",
          error: `Cannot authenticate user '${form.get("username") ?? ""}': The username or password is incorrect..`,
        });
        return;
      }
      const token = randomBytes(24).toString("base64url");
      tokens.add(token);
      send(200, {
        access_token: token,
        scope: "ovirt-app-api ovirt-ext=token-info:authz-search",
        exp: String(Date.now() + 3600000),
        token_type: "bearer",
      });
      return;
    }
    if (url.pathname === "/ovirt-engine/services/sso-logout" && method === "POST") {
      tokens.delete(new URLSearchParams(body.toString("utf8")).get("token") ?? "");
      send(200, {});
      return;
    }
    if (!url.pathname.startsWith(`${API}/`)) {
      notFound();
      return;
    }
    const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? "");
    if (bearer === null || !tokens.has(bearer[1]!)) {
      call.status = 401;
      response.writeHead(401, {
        "WWW-Authenticate": 'Bearer realm="RESTAPI"',
        "Content-Length": 0,
      });
      response.end();
      return;
    }
    if (request.headers.accept !== "application/json") {
      fault(406, "this stand-in answers application/json only");
      return;
    }
    let json: Json = {};
    if (body.length > 0) {
      if (!String(request.headers["content-type"] ?? "").startsWith("application/json")) {
        fault(415, "Content-Type must be application/json");
        return;
      }
      try {
        json = JSON.parse(body.toString("utf8")) as Json;
      } catch {
        fault(400, "Cannot parse the request body");
        return;
      }
      call.body = json;
    }
    const parts = url.pathname.slice(API.length + 1).split("/");
    const [collection, id, action] = parts;
    const route = `${method} ${collection}${id === undefined ? "" : "/ID"}${action === undefined ? "" : `/${action}`}`;

    switch (route) {
      case "GET datacenters": {
        const storage = searchValue(url, "storage.name");
        const found = dataCenters.filter((dc) =>
          dc.domains.some((sd) => storageDomains.find((d) => d.id === sd)?.name === storage),
        );
        send(200, found.length === 0 ? {} : { data_center: found.map(dcJson) });
        return;
      }
      case "GET datacenters/ID/storagedomains":
      case "GET datacenters/ID/clusters": {
        const dc = dataCenters.find((candidate) => candidate.id === id);
        if (dc === undefined) return notFound();
        if (action === "storagedomains") {
          const found = storageDomains.filter((sd) => dc.domains.includes(sd.id));
          send(200, found.length === 0 ? {} : { storage_domain: found.map(sdJson) });
        } else {
          const found = clusters.filter((cluster) => dc.clusters.includes(cluster.id));
          send(200, found.length === 0 ? {} : { cluster: found.map(clusterJson) });
        }
        return;
      }
      case "GET storagedomains": {
        const name = searchValue(url, "name");
        const found = storageDomains.filter((sd) => sd.name === name);
        send(200, found.length === 0 ? {} : { storage_domain: found.map(sdJson) });
        return;
      }
      case "GET clusters/ID": {
        const cluster = clusters.find((candidate) => candidate.id === id);
        if (cluster === undefined) return notFound();
        send(200, clusterJson(cluster));
        return;
      }
      case "GET hosts": {
        send(200, {});
        return;
      }
      case "GET vms": {
        const name = searchValue(url, "name");
        const found = [...vms.values()].filter((vm) => vm.name === name);
        send(200, found.length === 0 ? {} : { vm: found.map(vmJson) });
        return;
      }
      case "GET vms/ID": {
        const vm = vms.get(id!);
        if (vm === undefined) return notFound();
        send(200, vmJson(vm));
        return;
      }
      case "DELETE vms/ID": {
        const vm = vms.get(id!);
        if (vm === undefined) return notFound();
        vms.delete(vm.id);
        for (const diskId of vm.diskIds) {
          const disk = disks.get(diskId);
          if (disk === undefined) continue;
          disk.vmId = null;
          if (url.searchParams.get("detach_only") !== "true") {
            disks.delete(diskId);
            await rm(disk.file, { force: true });
          }
        }
        send(200, { status: "complete" });
        return;
      }
      case "POST vms": {
        const clusterId = scalar(objectAt(json, "cluster")?.id);
        const cluster = clusters.find((candidate) => candidate.id === clusterId);
        if (cluster === undefined) return fault(400, "[Cannot add VM. Cluster does not exist.]");
        const configuration = objectAt(objectAt(json, "initialization"), "configuration");
        const ovf = scalar(configuration?.data);
        if (scalar(configuration?.type) !== "ova" || ovf === null) {
          return fault(400, "[Cannot add VM. The configuration is missing or not of type ova.]");
        }
        const name = /<Name>([^<]*)<\/Name>/.exec(ovf)?.[1];
        if (name === undefined) return fault(400, "[Failed to parse the OVF configuration.]");
        if ([...vms.values()].some((vm) => vm.name === name)) {
          return fault(409, "[Cannot add VM. The VM name is already in use.]");
        }
        const diskIds: string[] = [];
        // oVirt's OVF names each disk by its id (ovf:diskId), its volume by ovf:fileRef.
        for (const match of ovf.matchAll(/<Disk\b[^>]*\bovf:diskId=["']([^"']+)["']/g)) {
          const disk = disks.get(match[1]!);
          if (disk === undefined || disk.status !== "ok" || disk.vmId !== null) {
            return fault(400, `[Cannot add VM. Disk ${match[1]!} is not available.]`);
          }
          diskIds.push(disk.id);
        }
        const vm: VmRecord = { id: randomUUID(), name, clusterId: cluster.id, ovf, diskIds };
        vms.set(vm.id, vm);
        for (const diskId of diskIds) disks.get(diskId)!.vmId = vm.id;
        jobs.push({
          id: randomUUID(),
          correlationId: url.searchParams.get("correlation_id") ?? "",
          description: `Adding VM ${name}`,
          status: "started",
          polls: 0,
        });
        send(201, vmJson(vm));
        return;
      }
      case "GET jobs": {
        const correlationId = searchValue(url, "correlation_id");
        const found = jobs.filter((job) => job.correlationId === correlationId);
        for (const job of found) {
          job.polls++;
          if (job.status === "started" && job.polls > 1) job.status = knobs.jobStatus ?? "finished";
        }
        send(
          200,
          found.length === 0
            ? {}
            : {
                job: found.map((job) => ({
                  description: job.description,
                  status: job.status,
                  href: `${API}/jobs/${job.id}`,
                  id: job.id,
                })),
              },
        );
        return;
      }
      case "POST disks": {
        const name = scalar(json.name);
        const size = Number(scalar(json.provisioned_size));
        const format = scalar(json.format);
        const domain = objectAt(json, "storage_domains")?.storage_domain;
        const domainName = Array.isArray(domain)
          ? scalar((domain[0] as Json | undefined)?.name)
          : null;
        if (name === null || !Number.isSafeInteger(size) || size <= 0) {
          return fault(400, "[Cannot add Virtual Disk. Missing name or provisioned_size.]");
        }
        if (format !== "raw" && format !== "cow")
          return fault(400, `Invalid value '${format}' for format`);
        if (domainName !== STORAGE_DOMAIN) {
          return fault(
            400,
            `[Cannot add Virtual Disk. Storage Domain ${domainName ?? "?"} is not usable.]`,
          );
        }
        const requestedId = scalar(json.id);
        if (requestedId !== null && disks.has(requestedId)) {
          return fault(409, "[Cannot add Virtual Disk. The disk already exists.]");
        }
        const disk: DiskRecord = {
          id: requestedId ?? randomUUID(),
          name,
          format,
          sparse: scalar(json.sparse) !== "false",
          provisionedSize: size,
          initialSize:
            scalar(json.initial_size) === null ? null : Number(scalar(json.initial_size)),
          status: "locked",
          imageId: randomUUID(),
          file: "",
          lockedPolls: knobs.diskLockedPolls ?? 1,
          vmId: null,
        };
        disk.file = path.join(dir, `disk-${disk.id}.img`);
        const handle = await open(disk.file, "w");
        await handle.truncate(size);
        await handle.close();
        disks.set(disk.id, disk);
        send(201, diskJson(disk));
        return;
      }
      case "GET disks/ID": {
        const disk = disks.get(id!);
        if (disk === undefined) return notFound();
        const busy = [...transfers.values()].some(
          (transfer) =>
            transfer.diskId === disk.id &&
            ["initializing", "transferring", "finalizing_success", "cancelled_user"].includes(
              transfer.phase,
            ),
        );
        if (disk.status === "locked" && !busy) {
          if (disk.lockedPolls <= 0) disk.status = "ok";
          disk.lockedPolls--;
        }
        send(200, diskJson(disk));
        return;
      }
      case "DELETE disks/ID": {
        const disk = disks.get(id!);
        if (disk === undefined) return notFound();
        if (disk.status === "locked") {
          return fault(
            409,
            "[Cannot remove Virtual Disk. Related operation is currently in progress. Please try again later.]",
          );
        }
        if (disk.vmId !== null)
          return fault(409, "[Cannot remove Virtual Disk. Disk is attached to a VM.]");
        disks.delete(disk.id);
        await rm(disk.file, { force: true });
        send(200, { status: "complete" });
        return;
      }
      case "POST imagetransfers": {
        const diskId = scalar(objectAt(json, "disk")?.id);
        const disk = diskId === null ? undefined : disks.get(diskId);
        if (disk === undefined) return fault(404, "Entity not found: disk");
        if (disk.status !== "ok") {
          return fault(
            409,
            "[Cannot transfer Virtual Disk: Disk is locked. Please try again later.]",
          );
        }
        if (scalar(json.direction) !== null && scalar(json.direction) !== "upload") {
          return fault(400, "this stand-in takes uploads only");
        }
        disk.status = "locked";
        const transfer: TransferRecord = {
          id: randomUUID(),
          diskId: disk.id,
          ticket: randomUUID(),
          phase: "initializing",
          polls: 0,
          hostId: scalar(objectAt(json, "host")?.id),
          format: scalar(json.format),
        };
        transfers.set(transfer.id, transfer);
        send(201, transferJson(transfer));
        return;
      }
      case "GET imagetransfers/ID": {
        const transfer = transfers.get(id!);
        if (transfer === undefined) return notFound();
        transfer.polls++;
        if (transfer.phase === "initializing" && transfer.polls >= 1)
          transfer.phase = "transferring";
        else if (transfer.phase === "finalizing_success") {
          transfer.phase = "finished_success";
          const disk = disks.get(transfer.diskId);
          if (disk !== undefined) disk.status = "ok";
        }
        send(200, transferJson(transfer));
        return;
      }
      case "POST imagetransfers/ID/finalize": {
        const transfer = transfers.get(id!);
        if (transfer === undefined) return notFound();
        if (transfer.phase !== "transferring") {
          return fault(409, `[Cannot finalize a transfer in phase ${transfer.phase}.]`);
        }
        transfer.phase = "finalizing_success";
        send(200, { status: "complete" });
        return;
      }
      case "POST imagetransfers/ID/cancel": {
        const transfer = transfers.get(id!);
        if (transfer === undefined) return notFound();
        if (
          !["initializing", "transferring", "paused_system", "paused_user"].includes(transfer.phase)
        ) {
          return fault(409, `[Cannot cancel a transfer in phase ${transfer.phase}.]`);
        }
        transfer.phase = "cancelled_user";
        // The engine removes an upload's disk once the transfer is cancelled.
        setTimeout(() => {
          transfer.phase = "finished_failure";
          const disk = disks.get(transfer.diskId);
          if (disk !== undefined) {
            disks.delete(disk.id);
            void rm(disk.file, { force: true });
          }
        }, 300);
        send(200, { status: "complete" });
        return;
      }
      default:
        fault(404, `this stand-in does not serve ${method} ${url.pathname}`);
    }
  };

  const handleImageio =
    (server: "imageio" | "proxy") => async (request: IncomingMessage, response: ServerResponse) => {
      const url = new URL(request.url ?? "/", "https://127.0.0.1");
      const method = request.method ?? "GET";
      const body = await readBody(request);
      const call: RecordedCall = { server, method, url: `${url.pathname}${url.search}`, status: 0 };
      calls.push(call);
      const answer = (status: number, text = "", headers: Record<string, string | number> = {}) => {
        call.status = status;
        response.writeHead(status, { "Content-Length": Buffer.byteLength(text), ...headers });
        response.end(text);
      };
      const ticket = /^\/images\/([^/]+)$/.exec(url.pathname)?.[1];
      const transfer = [...transfers.values()].find(
        (candidate) => candidate.ticket === ticket && candidate.phase === "transferring",
      );
      if (transfer === undefined) {
        answer(403, `You are not allowed to access this resource: No such ticket ${ticket ?? ""}`);
        return;
      }
      const disk = disks.get(transfer.diskId)!;
      const size = disk.provisionedSize;
      switch (method) {
        case "OPTIONS": {
          const text = JSON.stringify({
            unix_socket: "\u0000/org/ovirt/imageio",
            features: ["extents", "zero", "flush"],
            max_readers: 8,
            max_writers: 8,
          });
          answer(200, text, { Allow: "GET,PUT,PATCH,OPTIONS", "Content-Type": "application/json" });
          return;
        }
        case "PUT": {
          putCount++;
          const range = /^bytes (\d+)-(\d+)\/\*$/.exec(
            String(request.headers["content-range"] ?? ""),
          );
          const length = Number(request.headers["content-length"] ?? -1);
          const start = range === null ? 0 : Number(range[1]);
          call.range = [start, start + body.length - 1];
          if (length !== body.length) return answer(400, "Content-Length is required");
          if (start + body.length > size) {
            return answer(416, "Requested range not satisfiable", {
              "Content-Range": `bytes */${size}`,
            });
          }
          if (knobs.failPutNumber !== undefined && putCount === knobs.failPutNumber) {
            return answer(500, "Internal server error: stand-in failure injected");
          }
          const handle = await open(disk.file, "r+");
          await handle.write(body, 0, body.length, start);
          await handle.close();
          answer(200);
          return;
        }
        case "PATCH": {
          let op: Json;
          try {
            op = JSON.parse(body.toString("utf8")) as Json;
          } catch {
            return answer(400, "Invalid JSON");
          }
          call.body = op;
          if (op.op === "flush") return answer(200);
          if (op.op !== "zero") return answer(400, `Unsupported operation ${String(op.op)}`);
          if (typeof op.size !== "number") return answer(400, "Missing required value for 'size'");
          const offset = typeof op.offset === "number" ? op.offset : 0;
          if (offset + op.size > size) return answer(416, "Requested range not satisfiable");
          const handle = await open(disk.file, "r+");
          const zeroes = Buffer.alloc(Math.min(op.size, 1024 * 1024));
          for (let done = 0; done < op.size; done += zeroes.length) {
            const count = Math.min(zeroes.length, op.size - done);
            await handle.write(zeroes, 0, count, offset + done);
          }
          await handle.close();
          answer(200);
          return;
        }
        case "GET": {
          const range = /^bytes=(\d+)-(\d+)$/.exec(request.headers.range ?? "");
          const start = range === null ? 0 : Number(range[1]);
          const end = range === null ? size - 1 : Math.min(Number(range[2]), size - 1);
          const handle = await open(disk.file, "r");
          const data = Buffer.alloc(end - start + 1);
          await handle.read(data, 0, data.length, start);
          await handle.close();
          call.status = range === null ? 200 : 206;
          response.writeHead(call.status, {
            "Content-Type": "application/octet-stream",
            "Content-Length": data.length,
            ...(range === null ? {} : { "Content-Range": `bytes ${start}-${end}/*` }),
          });
          response.end(data);
          return;
        }
        default:
          answer(405, "Method not allowed");
      }
    };

  const tls = { key: certificates.key, cert: certificates.cert };
  const wrap =
    (handler: (request: IncomingMessage, response: ServerResponse) => Promise<void>) =>
    (request: IncomingMessage, response: ServerResponse) => {
      handler(request, response).catch((err: unknown) => {
        response.writeHead(500);
        response.end(String(err));
      });
    };
  const servers = [
    https.createServer(tls, wrap(handleEngine)),
    https.createServer(tls, wrap(handleImageio("imageio"))),
    https.createServer(tls, wrap(handleImageio("proxy"))),
  ];
  for (const server of servers) {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  }
  const portOf = (index: number) => (servers[index]!.address() as AddressInfo).port;
  ports.engine = portOf(0);
  ports.imageio = portOf(1);
  ports.proxy = portOf(2);

  return {
    apiUrl: `https://${encodeURIComponent(USER)}@127.0.0.1:${ports.engine}${API}`,
    port: ports.engine,
    imageioPort: ports.imageio,
    proxyPort: ports.proxy,
    caFile: certificates.ca,
    calls,
    knobs,
    disks,
    transfers,
    vms,
    diskContent: async (id) => readFile(disks.get(id)!.file),
    close: async () => {
      await Promise.all(
        servers.map(
          (server) =>
            new Promise<void>((resolve) => {
              server.closeAllConnections();
              server.close(() => resolve());
            }),
        ),
      );
    },
  };
}
