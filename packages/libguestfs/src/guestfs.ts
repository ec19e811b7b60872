/**
 * `Guestfs`: one libguestfs handle, usable from an event loop without blocking it.
 *
 * Calls that may take time (launch, inspection, mounts, file and command calls, augeas,
 * hivex…) run on a worker thread dedicated to the handle (worker.ts), one at a time, and
 * return Promises. Configuration getters and setters, which never reach the appliance, run
 * synchronously on the caller's thread. See README.md for the threading rules and why.
 */
import { Worker } from "node:worker_threads";
import koffi from "koffi";
import type { CallName, CallResult, DecodedStruct } from "./calls.js";
import { GuestfsError } from "./errors.js";
import { CallFailure, GuestfsHandle, type LogSink } from "./ffi.js";
import type { LogKind, WireError, WorkerReply, WorkerRequest, WorkerStart } from "./protocol.js";

export type { LogKind } from "./protocol.js";

export type LogListener = (kind: LogKind, text: string) => void;
/** guestfs_add_drive_opts optional arguments (names as in guestfs.h). */
export interface AddDriveOptions {
  readonly?: boolean;
  format?: string;
  iface?: string;
  name?: string;
  label?: string;
  /** "file" (default), "nbd", "ssh", … */
  protocol?: string;
  /** For network protocols, e.g. ["unix:/run/disk.sock"] or ["tcp:host:10809"]. */
  server?: string[];
  username?: string;
  secret?: string;
  cachemode?: "writeback" | "unsafe";
  discard?: "disable" | "enable" | "besteffort";
  copyonread?: boolean;
  blocksize?: number;
}

export interface FstrimOptions {
  offset?: number | bigint;
  length?: number | bigint;
  minimumfreeextent?: number | bigint;
}

export interface HivexOpenOptions {
  write?: boolean;
  verbose?: boolean;
  debug?: boolean;
  unsafe?: boolean;
}

export interface MkfsOptions {
  blocksize?: number;
  features?: string;
  inode?: number;
  sectorsize?: number;
  label?: string;
}

export interface GuestfsVersion {
  major: number;
  minor: number;
  release: number;
  extra: string;
}

/** statvfs(3) of a mounted path. Counts are numbers; `fsid` is an identifier, kept exact. */
export interface Statvfs {
  bsize: number;
  frsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  favail: number;
  fsid: bigint;
  flag: number;
  namemax: number;
}

/** One partition of guestfs_part_list; byte offsets and sizes. */
export interface Partition {
  part_num: number;
  part_start: number;
  part_end: number;
  part_size: number;
}

/** One installed application, as guestfs_inspect_list_applications2 reports it. */
export interface Application2 {
  app2_name: string;
  app2_display_name: string;
  app2_epoch: number;
  app2_version: string;
  app2_release: string;
  app2_arch: string;
  app2_install_path: string;
  app2_trans_path: string;
  app2_publisher: string;
  app2_url: string;
  app2_source_package: string;
  app2_summary: string;
  app2_description: string;
}

/** aug_init flags (augeas AUG_* values, as documented for guestfs_aug_init). */
export const AugFlags = {
  SAVE_BACKUP: 1,
  SAVE_NEWFILE: 2,
  TYPE_CHECK: 4,
  NO_STDINC: 8,
  SAVE_NOOP: 16,
  NO_LOAD: 32,
} as const;

/** Windows registry value types (hive_type in hivex.h). */
export const HiveType = {
  NONE: 0,
  SZ: 1,
  EXPAND_SZ: 2,
  BINARY: 3,
  DWORD: 4,
  DWORD_BIG_ENDIAN: 5,
  LINK: 6,
  MULTI_SZ: 7,
  RESOURCE_LIST: 8,
  FULL_RESOURCE_DESCRIPTOR: 9,
  RESOURCE_REQUIREMENTS_LIST: 10,
  QWORD: 11,
} as const;

interface PendingCall {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

// At process exit libguestfs closes every open handle from an atexit() handler, on the main
// thread, after Node has stopped the workers. Close fires log events; a callback still
// attached by a worker (one whose call was running when the process began to exit) would
// then enter a dead JS engine and crash the process. So, from the 'exit' listener: tell the
// workers to start no more calls, and detach every callback of every open handle.
const openHandles = new Set<Guestfs>();
const exiting = new SharedArrayBuffer(4);
let exitHookInstalled = false;
const MAX_EVENT_HANDLES = 64;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  const deleteEventCallback = koffi
    .load("libguestfs.so.0")
    .func("void guestfs_delete_event_callback(void *g, int event_handle)");
  process.on("exit", () => {
    Atomics.store(new Int32Array(exiting), 0, 1);
    for (const g of openHandles) {
      // Event handles are small slot numbers; deleting an unused one is a no-op. This takes
      // the handle lock, so it waits for a call in progress to return.
      for (let slot = 0; slot < MAX_EVENT_HANDLES; slot++) {
        deleteEventCallback(g.handleAddress, slot);
      }
    }
  });
}

function toError(error: WireError): Error {
  return error.kind === "guestfs"
    ? new GuestfsError(error.call, error.message, error.errno)
    : new TypeError(error.message);
}

/** structured clone turns a Buffer into a plain Uint8Array; give callers a Buffer back. */
function asBuffer(value: unknown): Buffer {
  if (value instanceof Uint8Array) {
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  }
  throw new TypeError("expected binary data from libguestfs");
}

function num(value: DecodedStruct[string]): number {
  return typeof value === "bigint" || typeof value === "number" ? Number(value) : 0;
}

function big(value: DecodedStruct[string]): bigint {
  return typeof value === "bigint" ? value : BigInt(num(value));
}

function str(value: DecodedStruct[string]): string {
  return typeof value === "string" ? value : "";
}

export class Guestfs {
  private readonly local: GuestfsHandle;
  private readonly worker: Worker;
  private readonly pending = new Map<number, PendingCall>();
  private readonly logListeners = new Set<LogListener>();
  private readonly dispatchLog: LogSink = (kind, text) => {
    for (const listener of this.logListeners) listener(kind, text);
  };
  private nextId = 1;
  private closed = false;
  private closing: Promise<void> | null = null;
  private workerGone: Error | null = null;
  /** Address of the C handle (for the exit hook). */
  readonly handleAddress: bigint;

  /** guestfs_create(): a new handle that honours the LIBGUESTFS_* environment variables. */
  constructor() {
    installExitHook();
    this.local = GuestfsHandle.create();
    this.handleAddress = this.local.address;
    const start: WorkerStart = { address: this.handleAddress, exiting };
    this.worker = new Worker(new URL("./worker.js", import.meta.url), { workerData: start });
    this.worker.on("message", (message: WorkerReply) => this.onReply(message));
    this.worker.on("error", (error: Error) => this.onWorkerGone(error));
    this.worker.on("exit", () => this.onWorkerGone(new Error("libguestfs worker thread exited")));
    // An idle handle must not keep the process alive; one with a call in progress must.
    this.worker.unref();
    openHandles.add(this);
  }

  /** `new Guestfs()` as a Promise, for callers that prefer to await the creation. */
  static async create(): Promise<Guestfs> {
    return new Guestfs();
  }

  private onReply(message: WorkerReply): void {
    if (message.type === "log") {
      this.dispatchLog(message.kind, message.text);
      return;
    }
    const call = this.pending.get(message.id);
    if (!call) return;
    this.pending.delete(message.id);
    if (this.pending.size === 0) this.worker.unref();
    if (message.type === "result") call.resolve(message.value);
    else call.reject(toError(message.error));
  }

  private onWorkerGone(error: Error): void {
    this.workerGone ??= error;
    for (const call of this.pending.values()) call.reject(error);
    this.pending.clear();
  }

  private request(request: WorkerRequest): Promise<unknown> {
    if (this.workerGone) return Promise.reject(this.workerGone);
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(request.id, { resolve, reject });
      this.worker.postMessage(request);
    });
  }

  /** A table call (calls.ts) on the worker thread, after the calls already queued. */
  private async call<K extends CallName>(name: K, ...args: unknown[]): Promise<CallResult<K>> {
    if (this.closed || this.closing) throw new Error(`${name}: the libguestfs handle is closed`);
    const captureLogs = this.logListeners.size > 0;
    const request: WorkerRequest = { type: "call", id: this.nextId++, name, args, captureLogs };
    return (await this.request(request)) as CallResult<K>;
  }

  /**
   * A table call on this thread, now. Only for calls that never reach the appliance. Refused
   * while a worker call is queued or running: it would wait for the handle lock (freezing
   * this event loop) or overtake the queued calls.
   */
  private callSync<K extends CallName>(name: K, ...args: unknown[]): CallResult<K> {
    if (this.closed || this.closing) throw new Error(`${name}: the libguestfs handle is closed`);
    if (this.pending.size > 0) {
      throw new Error(
        `${name}: another call on this libguestfs handle is in progress; await it first`,
      );
    }
    try {
      const sink = this.logListeners.size > 0 ? this.dispatchLog : null;
      return this.local.call(name, args, sink) as CallResult<K>;
    } catch (error) {
      throw error instanceof CallFailure ? toError(error.wire) : error;
    }
  }

  /**
   * Receives libguestfs messages: "appliance" (the appliance console, one line each, when
   * verbose), "library" (debug, when verbose), "trace" (when trace is on), "warning". While
   * a listener is attached libguestfs does not print them on stderr. Returns a function
   * that detaches the listener.
   */
  onLog(listener: LogListener): () => void {
    this.logListeners.add(listener);
    return () => {
      this.logListeners.delete(listener);
    };
  }

  /**
   * guestfs_close: stops the appliance if it runs (call shutdown() first to see write
   * errors), frees the handle and ends its thread. Waits for calls already queued. Never
   * rejects, so it may be left un-awaited.
   */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closing ??= this.closeNow();
    return this.closing;
  }

  private async closeNow(): Promise<void> {
    const captureLogs = this.logListeners.size > 0;
    try {
      if (this.pending.size === 0 || this.workerGone) {
        this.local.close(captureLogs ? this.dispatchLog : null);
      } else {
        // Queued behind the calls in progress; the worker closes the handle itself.
        await this.request({ type: "close", id: this.nextId++, captureLogs }).catch(
          () => undefined,
        );
      }
    } finally {
      this.closed = true;
      openHandles.delete(this);
      await this.worker.terminate();
    }
  }

  // ---- configuration (synchronous: these never reach the appliance) ------------------------
  setIdentifier(identifier: string): void {
    this.callSync("setIdentifier", identifier);
  }
  getIdentifier(): string {
    return this.callSync("getIdentifier") ?? "";
  }
  setTrace(trace: boolean): void {
    this.callSync("setTrace", trace);
  }
  getTrace(): boolean {
    return this.callSync("getTrace");
  }
  setVerbose(verbose: boolean): void {
    this.callSync("setVerbose", verbose);
  }
  getVerbose(): boolean {
    return this.callSync("getVerbose");
  }
  /** Appliance memory in MiB. */
  getMemsize(): number {
    return this.callSync("getMemsize");
  }
  setMemsize(memsizeMiB: number): void {
    this.callSync("setMemsize", memsizeMiB);
  }
  getSmp(): number {
    return this.callSync("getSmp");
  }
  setSmp(vcpus: number): void {
    this.callSync("setSmp", vcpus);
  }
  setNetwork(network: boolean): void {
    this.callSync("setNetwork", network);
  }
  getNetwork(): boolean {
    return this.callSync("getNetwork");
  }
  setBackendSettings(settings: string[]): void {
    this.callSync("setBackendSettings", settings);
  }
  getBackendSettings(): string[] {
    return this.callSync("getBackendSettings");
  }
  getBackend(): string {
    return this.callSync("getBackend");
  }
  setBackend(backend: string): void {
    this.callSync("setBackend", backend);
  }
  setProgram(program: string): void {
    this.callSync("setProgram", program);
  }
  getProgram(): string {
    return this.callSync("getProgram") ?? "";
  }
  setAutosync(autosync: boolean): void {
    this.callSync("setAutosync", autosync);
  }
  /** Put qemu in its own process group, so a terminal ^C reaches only the caller. */
  setPgroup(pgroup: boolean): void {
    this.callSync("setPgroup", pgroup);
  }
  getTmpdir(): string {
    return this.callSync("getTmpdir");
  }
  getCachedir(): string {
    return this.callSync("getCachedir");
  }
  /** The libguestfs library version (no appliance needed). */
  version(): GuestfsVersion {
    const v = this.callSync("version");
    return {
      major: num(v.major),
      minor: num(v.minor),
      release: num(v.release),
      extra: str(v.extra),
    };
  }

  // ---- drives and the appliance -----------------------------------------------------------
  addDrive(filename: string, options: AddDriveOptions = {}): Promise<void> {
    return this.call("addDrive", filename, options);
  }
  /** Starts the appliance (20-40 s under TCG). */
  launch(): Promise<void> {
    return this.call("launch");
  }
  /** Syncs and stops the appliance cleanly; reports write errors that close() would hide. */
  shutdown(): Promise<void> {
    return this.call("shutdown");
  }
  /** Throws GuestfsError unless every group (e.g. "ntfs3g") is available in the appliance. */
  available(groups: string[]): Promise<void> {
    return this.call("available", groups);
  }
  featureAvailable(groups: string[]): Promise<boolean> {
    return this.call("featureAvailable", groups);
  }

  // ---- inspection -------------------------------------------------------------------------
  /** Root devices of the operating systems found; [] when there are none. */
  inspectOs(): Promise<string[]> {
    return this.call("inspectOs");
  }
  inspectGetRoots(): Promise<string[]> {
    return this.call("inspectGetRoots");
  }
  inspectGetType(root: string): Promise<string> {
    return this.call("inspectGetType", root);
  }
  inspectGetDistro(root: string): Promise<string> {
    return this.call("inspectGetDistro", root);
  }
  inspectGetProductName(root: string): Promise<string> {
    return this.call("inspectGetProductName", root);
  }
  inspectGetProductVariant(root: string): Promise<string> {
    return this.call("inspectGetProductVariant", root);
  }
  inspectGetMajorVersion(root: string): Promise<number> {
    return this.call("inspectGetMajorVersion", root);
  }
  inspectGetMinorVersion(root: string): Promise<number> {
    return this.call("inspectGetMinorVersion", root);
  }
  inspectGetArch(root: string): Promise<string> {
    return this.call("inspectGetArch", root);
  }
  inspectGetOsinfo(root: string): Promise<string> {
    return this.call("inspectGetOsinfo", root);
  }
  inspectGetPackageFormat(root: string): Promise<string> {
    return this.call("inspectGetPackageFormat", root);
  }
  inspectGetPackageManagement(root: string): Promise<string> {
    return this.call("inspectGetPackageManagement", root);
  }
  inspectGetHostname(root: string): Promise<string> {
    return this.call("inspectGetHostname", root);
  }
  /** Mount point → device, e.g. { "/": "/dev/sda2", "/boot": "/dev/sda1" }. */
  inspectGetMountpoints(root: string): Promise<Record<string, string>> {
    return this.call("inspectGetMountpoints", root);
  }
  inspectGetFilesystems(root: string): Promise<string[]> {
    return this.call("inspectGetFilesystems", root);
  }
  inspectGetWindowsSystemroot(root: string): Promise<string> {
    return this.call("inspectGetWindowsSystemroot", root);
  }
  inspectGetWindowsSoftwareHive(root: string): Promise<string> {
    return this.call("inspectGetWindowsSoftwareHive", root);
  }
  inspectGetWindowsSystemHive(root: string): Promise<string> {
    return this.call("inspectGetWindowsSystemHive", root);
  }
  inspectGetWindowsCurrentControlSet(root: string): Promise<string> {
    return this.call("inspectGetWindowsCurrentControlSet", root);
  }
  /** Windows drive letter → device, e.g. { C: "/dev/sda2" }. */
  inspectGetDriveMappings(root: string): Promise<Record<string, string>> {
    return this.call("inspectGetDriveMappings", root);
  }
  async inspectListApplications2(root: string): Promise<Application2[]> {
    const apps = await this.call("inspectListApplications2", root);
    return apps.map((a) => ({
      app2_name: str(a.app2_name),
      app2_display_name: str(a.app2_display_name),
      app2_epoch: num(a.app2_epoch),
      app2_version: str(a.app2_version),
      app2_release: str(a.app2_release),
      app2_arch: str(a.app2_arch),
      app2_install_path: str(a.app2_install_path),
      app2_trans_path: str(a.app2_trans_path),
      app2_publisher: str(a.app2_publisher),
      app2_url: str(a.app2_url),
      app2_source_package: str(a.app2_source_package),
      app2_summary: str(a.app2_summary),
      app2_description: str(a.app2_description),
    }));
  }

  // ---- devices, partitions, filesystems ---------------------------------------------------
  listDevices(): Promise<string[]> {
    return this.call("listDevices");
  }
  listPartitions(): Promise<string[]> {
    return this.call("listPartitions");
  }
  /** Device → filesystem type ("ext4", "ntfs", "swap", "unknown", …). */
  listFilesystems(): Promise<Record<string, string>> {
    return this.call("listFilesystems");
  }
  listDmDevices(): Promise<string[]> {
    return this.call("listDmDevices");
  }
  vfsType(mountable: string): Promise<string> {
    return this.call("vfsType", mountable);
  }
  vfsLabel(mountable: string): Promise<string> {
    return this.call("vfsLabel", mountable);
  }
  vfsUuid(mountable: string): Promise<string> {
    return this.call("vfsUuid", mountable);
  }
  /**
   * Opens an encrypted device as /dev/mapper/MAPNAME. The key never reaches a log: libguestfs
   * prints key arguments as "***" in its trace.
   */
  cryptsetupOpen(
    device: string,
    key: string,
    mapname: string,
    options: { readonly?: boolean; crypttype?: string } = {},
  ): Promise<void> {
    return this.call("cryptsetupOpen", device, key, mapname, options);
  }
  luksUuid(device: string): Promise<string> {
    return this.call("luksUuid", device);
  }
  /** Rescans for volume groups (after opening encrypted PVs), activating them when asked. */
  lvmScan(activate: boolean): Promise<void> {
    return this.call("lvmScan", activate ? 1 : 0);
  }
  /** Logical volumes, as /dev/VG/LV. */
  lvs(): Promise<string[]> {
    return this.call("lvs");
  }
  /** An empty partition table on the device; parttype "mbr"/"msdos" or "gpt". */
  partInit(device: string, parttype: string): Promise<void> {
    return this.call("partInit", device, parttype);
  }
  /** One partition over the whole device; parttype "mbr"/"msdos" or "gpt". */
  partDisk(device: string, parttype: string): Promise<void> {
    return this.call("partDisk", device, parttype);
  }
  partGetParttype(device: string): Promise<string> {
    return this.call("partGetParttype", device);
  }
  partGetGptType(device: string, partnum: number): Promise<string> {
    return this.call("partGetGptType", device, partnum);
  }
  partToDev(partition: string): Promise<string> {
    return this.call("partToDev", partition);
  }
  /** The index (0, 1 …) of a whole device in the order the drives were added. */
  deviceIndex(device: string): Promise<number> {
    return this.call("deviceIndex", device);
  }
  partToPartnum(partition: string): Promise<number> {
    return this.call("partToPartnum", partition);
  }
  async partList(device: string): Promise<Partition[]> {
    const parts = await this.call("partList", device);
    return parts.map((p) => ({
      part_num: num(p.part_num),
      part_start: num(p.part_start),
      part_end: num(p.part_end),
      part_size: num(p.part_size),
    }));
  }
  mkfs(fstype: string, device: string, options: MkfsOptions = {}): Promise<void> {
    return this.call("mkfs", fstype, device, options);
  }
  /** Size of a block device in bytes. */
  blockdevGetsize64(device: string): Promise<number> {
    return this.call("blockdevGetsize64", device);
  }
  blockdevGetss(device: string): Promise<number> {
    return this.call("blockdevGetss", device);
  }
  /** True for a whole disk (/dev/sda), false for a partition or other mountable. */
  isWholeDevice(device: string): Promise<boolean> {
    return this.call("isWholeDevice", device);
  }
  /** Reads up to `count` bytes of a device at `offset`. */
  async preadDevice(device: string, count: number, offset: number): Promise<Buffer> {
    return asBuffer(await this.call("preadDevice", device, count, offset));
  }
  /** Writes `content` to a device at `offset`; resolves to the number of bytes written. */
  pwriteDevice(device: string, content: Buffer, offset: number): Promise<number> {
    return this.call("pwriteDevice", device, content, offset);
  }

  // ---- mounting ---------------------------------------------------------------------------
  mount(mountable: string, mountpoint: string): Promise<void> {
    return this.call("mount", mountable, mountpoint);
  }
  mountOptions(options: string, mountable: string, mountpoint: string): Promise<void> {
    return this.call("mountOptions", options, mountable, mountpoint);
  }
  mountRo(mountable: string, mountpoint: string): Promise<void> {
    return this.call("mountRo", mountable, mountpoint);
  }
  umount(pathOrDevice: string): Promise<void> {
    return this.call("umount", pathOrDevice);
  }
  umountAll(): Promise<void> {
    return this.call("umountAll");
  }
  sync(): Promise<void> {
    return this.call("sync");
  }
  /** Discards unused blocks of the filesystem mounted at `mountpoint`. */
  fstrim(mountpoint: string, options: FstrimOptions = {}): Promise<void> {
    return this.call("fstrim", mountpoint, options);
  }
  async statvfs(path: string): Promise<Statvfs> {
    const s = await this.call("statvfs", path);
    return {
      bsize: num(s.bsize),
      frsize: num(s.frsize),
      blocks: num(s.blocks),
      bfree: num(s.bfree),
      bavail: num(s.bavail),
      files: num(s.files),
      ffree: num(s.ffree),
      favail: num(s.favail),
      fsid: big(s.fsid),
      flag: num(s.flag),
      namemax: num(s.namemax),
    };
  }

  // ---- files ------------------------------------------------------------------------------
  exists(path: string): Promise<boolean> {
    return this.call("exists", path);
  }
  isFile(path: string): Promise<boolean> {
    return this.call("isFile", path);
  }
  isDir(path: string): Promise<boolean> {
    return this.call("isDir", path);
  }
  isSymlink(path: string): Promise<boolean> {
    return this.call("isSymlink", path);
  }
  ls(directory: string): Promise<string[]> {
    return this.call("ls", directory);
  }
  ll(directory: string): Promise<string> {
    return this.call("ll", directory);
  }
  find(directory: string): Promise<string[]> {
    return this.call("find", directory);
  }
  globExpand(pattern: string): Promise<string[]> {
    return this.call("globExpand", pattern);
  }
  /** Whole file as bytes (libguestfs limits one message to a few MiB; use download beyond). */
  async readFile(path: string): Promise<Buffer> {
    return asBuffer(await this.call("readFile", path));
  }
  readLines(path: string): Promise<string[]> {
    return this.call("readLines", path);
  }
  cat(path: string): Promise<string> {
    return this.call("cat", path);
  }
  write(path: string, content: Buffer | string): Promise<void> {
    return this.call("write", path, typeof content === "string" ? Buffer.from(content) : content);
  }
  writeAppend(path: string, content: Buffer | string): Promise<void> {
    return this.call(
      "writeAppend",
      path,
      typeof content === "string" ? Buffer.from(content) : content,
    );
  }
  /** Copies a local file into the guest. */
  upload(localPath: string, remotePath: string): Promise<void> {
    return this.call("upload", localPath, remotePath);
  }
  /** Copies a guest file to a local path. */
  download(remotePath: string, localPath: string): Promise<void> {
    return this.call("download", remotePath, localPath);
  }
  mkdir(path: string): Promise<void> {
    return this.call("mkdir", path);
  }
  mkdirP(path: string): Promise<void> {
    return this.call("mkdirP", path);
  }
  rm(path: string): Promise<void> {
    return this.call("rm", path);
  }
  rmRf(path: string): Promise<void> {
    return this.call("rmRf", path);
  }
  cp(src: string, dest: string): Promise<void> {
    return this.call("cp", src, dest);
  }
  cpA(src: string, dest: string): Promise<void> {
    return this.call("cpA", src, dest);
  }
  mv(src: string, dest: string): Promise<void> {
    return this.call("mv", src, dest);
  }
  chmod(mode: number, path: string): Promise<void> {
    return this.call("chmod", mode, path);
  }
  chown(owner: number, group: number, path: string): Promise<void> {
    return this.call("chown", owner, group, path);
  }
  ln(target: string, linkname: string): Promise<void> {
    return this.call("ln", target, linkname);
  }
  lnSf(target: string, linkname: string): Promise<void> {
    return this.call("lnSf", target, linkname);
  }
  realpath(path: string): Promise<string> {
    return this.call("realpath", path);
  }
  /** The real spelling of a case-insensitive (Windows) path, e.g. "/windows/system32". */
  caseSensitivePath(path: string): Promise<string> {
    return this.call("caseSensitivePath", path);
  }
  touch(path: string): Promise<void> {
    return this.call("touch", path);
  }
  /** Creates a directory from a template ending in XXXXXX; resolves to its name. */
  mkdtemp(template: string): Promise<string> {
    return this.call("mkdtemp", template);
  }
  rmdir(path: string): Promise<void> {
    return this.call("rmdir", path);
  }
  /** True when the two guest files have the same content. */
  equal(file1: string, file2: string): Promise<boolean> {
    return this.call("equal", file1, file2);
  }

  // ---- commands in the guest --------------------------------------------------------------
  /** Runs argv inside the mounted guest (no shell); resolves to its stdout. */
  command(argv: string[]): Promise<string> {
    return this.call("command", argv);
  }
  commandLines(argv: string[]): Promise<string[]> {
    return this.call("commandLines", argv);
  }
  /** Runs `/bin/sh -c command` inside the mounted guest; resolves to its stdout. */
  sh(command: string): Promise<string> {
    return this.call("sh", command);
  }
  shLines(command: string): Promise<string[]> {
    return this.call("shLines", command);
  }

  // ---- augeas -----------------------------------------------------------------------------
  /** Opens augeas on the guest tree at `root`; flags from AugFlags. */
  augInit(root: string, flags: number): Promise<void> {
    return this.call("augInit", root, flags);
  }
  augClose(): Promise<void> {
    return this.call("augClose");
  }
  augGet(augpath: string): Promise<string> {
    return this.call("augGet", augpath);
  }
  augSet(augpath: string, value: string): Promise<void> {
    return this.call("augSet", augpath, value);
  }
  /** Removes matching nodes; resolves to how many were removed. */
  augRm(augpath: string): Promise<number> {
    return this.call("augRm", augpath);
  }
  augMatch(augpath: string): Promise<string[]> {
    return this.call("augMatch", augpath);
  }
  /**
   * Writes every changed file. augeas itself reports a failed save only as "No error"; the
   * reasons are in its tree (/augeas/files/PATH/error), so a failure is rethrown naming each
   * file that could not be written and why, as virt-v2v's augeas error report does.
   */
  async augSave(): Promise<void> {
    try {
      await this.call("augSave");
    } catch (error) {
      if (!(error instanceof GuestfsError)) throw error;
      const reasons = await this.augErrors().catch(() => []);
      if (reasons.length === 0) throw error;
      throw new GuestfsError(
        error.call,
        `augeas could not save ${reasons.join("; ")}`,
        error.errno,
      );
    }
  }

  /** augeas's error reports, one line each ("/etc/fstab: put_failed: …"), for saves and loads. */
  async augErrors(): Promise<string[]> {
    const reasons: string[] = [];
    for (const node of await this.augMatch("/augeas/files//error")) {
      const file = node.replace(/^\/augeas\/files/, "").replace(/\/error$/, "");
      const field = (name: string): Promise<string | null> =>
        this.augGet(`${node}/${name}`).catch(() => null);
      const kind = await field(".");
      const message = await field("message");
      const line = await field("line");
      const lens = await field("lens");
      let text = `${file}: ${kind ?? "error"}`;
      if (message !== null) text += `: ${message}`;
      if (line !== null) text += ` (line ${line})`;
      if (lens !== null) text += ` [lens ${lens}]`;
      reasons.push(text);
    }
    return reasons;
  }
  augLoad(): Promise<void> {
    return this.call("augLoad");
  }
  /** Defines $name (expr null undefines it); resolves to the number of nodes it matches. */
  augDefvar(name: string, expr: string | null): Promise<number> {
    return this.call("augDefvar", name, expr);
  }
  augInsert(augpath: string, label: string, before: boolean): Promise<void> {
    return this.call("augInsert", augpath, label, before);
  }

  // ---- Windows registry (hivex, inside the appliance) -------------------------------------
  /** Opens a hive file of the mounted guest; one hive per handle at a time. */
  hivexOpen(filename: string, options: HivexOpenOptions = {}): Promise<void> {
    return this.call("hivexOpen", filename, options);
  }
  hivexClose(): Promise<void> {
    return this.call("hivexClose");
  }
  /** Writes the changes back (filename null) or to another guest file. */
  hivexCommit(filename: string | null): Promise<void> {
    return this.call("hivexCommit", filename);
  }
  hivexRoot(): Promise<bigint> {
    return this.call("hivexRoot");
  }
  /** The named child node, or null when there is none. */
  hivexNodeGetChild(node: bigint, name: string): Promise<bigint | null> {
    return this.call("hivexNodeGetChild", node, name);
  }
  async hivexNodeChildren(node: bigint): Promise<bigint[]> {
    const nodes = await this.call("hivexNodeChildren", node);
    return nodes.map((n) => big(n.hivex_node_h));
  }
  hivexNodeName(node: bigint): Promise<string> {
    return this.call("hivexNodeName", node);
  }
  async hivexNodeValues(node: bigint): Promise<bigint[]> {
    const values = await this.call("hivexNodeValues", node);
    return values.map((v) => big(v.hivex_value_h));
  }
  /** The named value of a node ("" is the default value), or null when there is none. */
  hivexNodeGetValue(node: bigint, key: string): Promise<bigint | null> {
    return this.call("hivexNodeGetValue", node, key);
  }
  hivexNodeParent(node: bigint): Promise<bigint> {
    return this.call("hivexNodeParent", node);
  }
  hivexNodeAddChild(parent: bigint, name: string): Promise<bigint> {
    return this.call("hivexNodeAddChild", parent, name);
  }
  hivexNodeDeleteChild(node: bigint): Promise<void> {
    return this.call("hivexNodeDeleteChild", node);
  }
  /** Sets (or replaces) a value; type from HiveType, data already encoded (UTF-16LE for SZ). */
  hivexNodeSetValue(node: bigint, key: string, type: number, data: Buffer): Promise<void> {
    return this.call("hivexNodeSetValue", node, key, type, data);
  }
  hivexValueKey(value: bigint): Promise<string> {
    return this.call("hivexValueKey", value);
  }
  hivexValueType(value: bigint): Promise<number> {
    return this.call("hivexValueType", value);
  }
  async hivexValueValue(value: bigint): Promise<Buffer> {
    return asBuffer(await this.call("hivexValueValue", value));
  }
  /** A string value (REG_SZ / EXPAND_SZ) decoded from UTF-16LE to a JS string. */
  hivexValueString(value: bigint): Promise<string> {
    return this.call("hivexValueString", value);
  }
}
