// The raw libnbd and libc entry points, declared once through koffi and given TypeScript types.
//
// Only the non-blocking (aio) half of libnbd is used for I/O. libnbd keeps its error text and errno
// in thread-local storage, so a blocking call run through koffi's `.async` on a worker thread loses
// its error message before the main thread can read it. Instead every libnbd call runs on the main
// thread and never blocks, and the only thing that runs on a worker thread is libc's poll(2) on
// the handle's socket, which touches no libnbd state. See README.md, "Threading".

import koffi from "koffi";

/** An opaque `struct nbd_handle *` as koffi hands it out. */
export type NbdHandlePointer = object;
/** A native pointer owned by koffi (from `koffi.alloc`). */
export type NativePointer = object;
/** A JS function registered with koffi as a C function pointer. */
export type RegisteredCallback = koffi.IKoffiRegisteredCallback;

/** The JS side of `nbd_extent_callback.callback`. */
export type ExtentCallback = (
  userData: unknown,
  metacontext: string,
  offset: number | bigint,
  entries: unknown,
  entryCount: number | bigint,
  error: unknown,
) => number;

/** A C struct passed by value for libnbd's `nbd_*_callback` closures. */
interface NbdClosure {
  callback: RegisteredCallback | null;
  user_data: null;
  free: null;
}

/** `struct pollfd`; koffi writes `revents` back because the parameter is declared _Inout_. */
export interface PollFd {
  fd: number;
  events: number;
  revents: number;
}

export const LIBNBD_AIO_DIRECTION_READ = 1;
export const LIBNBD_AIO_DIRECTION_WRITE = 2;
export const LIBNBD_STATE_HOLE = 1;
export const LIBNBD_STATE_ZERO = 2;
export const LIBNBD_SIZE_MAXIMUM = 2;
export const BASE_ALLOCATION = "base:allocation";

export const POLLIN = 0x001;
export const POLLOUT = 0x004;
export const POLLERR = 0x008;
export const POLLHUP = 0x010;
export const POLLNVAL = 0x020;

const libnbd = koffi.load("libnbd.so.0");
const libc = koffi.load("libc.so.6");

koffi.opaque("nbd_handle");
const extentCallbackType = koffi.proto(
  "int nbd_extent_cb(void *user_data, const char *metacontext, uint64_t offset, " +
    "uint32_t *entries, size_t nr_entries, int *error)",
);
const completionCallbackType = koffi.proto("int nbd_completion_cb(void *user_data, int *error)");
koffi.struct("nbd_extent_callback", {
  callback: koffi.pointer(extentCallbackType),
  user_data: "void *",
  free: "void *",
});
koffi.struct("nbd_completion_callback", {
  callback: koffi.pointer(completionCallbackType),
  user_data: "void *",
  free: "void *",
});
koffi.struct("pollfd", { fd: "int", events: "short", revents: "short" });

// Functions returning a malloc'd `char *` are declared as `void *` so the string can be freed.
const fn = {
  create: libnbd.func("nbd_handle *nbd_create(void)"),
  close: libnbd.func("void nbd_close(nbd_handle *h)"),
  getError: libnbd.func("const char *nbd_get_error(void)"),
  getErrno: libnbd.func("int nbd_get_errno(void)"),
  getVersion: libnbd.func("const char *nbd_get_version(nbd_handle *h)"),
  setExportName: libnbd.func("int nbd_set_export_name(nbd_handle *h, const char *name)"),
  setFullInfo: libnbd.func("int nbd_set_full_info(nbd_handle *h, bool request)"),
  addMetaContext: libnbd.func("int nbd_add_meta_context(nbd_handle *h, const char *name)"),
  aioConnectUnix: libnbd.func("int nbd_aio_connect_unix(nbd_handle *h, const char *path)"),
  aioConnectUri: libnbd.func("int nbd_aio_connect_uri(nbd_handle *h, const char *uri)"),
  getSize: libnbd.func("int64_t nbd_get_size(nbd_handle *h)"),
  getBlockSize: libnbd.func("int64_t nbd_get_block_size(nbd_handle *h, int size_type)"),
  getCanonicalExportName: libnbd.func("void *nbd_get_canonical_export_name(nbd_handle *h)"),
  isReadOnly: libnbd.func("int nbd_is_read_only(nbd_handle *h)"),
  canFlush: libnbd.func("int nbd_can_flush(nbd_handle *h)"),
  canFua: libnbd.func("int nbd_can_fua(nbd_handle *h)"),
  canTrim: libnbd.func("int nbd_can_trim(nbd_handle *h)"),
  canZero: libnbd.func("int nbd_can_zero(nbd_handle *h)"),
  canFastZero: libnbd.func("int nbd_can_fast_zero(nbd_handle *h)"),
  canMultiConn: libnbd.func("int nbd_can_multi_conn(nbd_handle *h)"),
  canCache: libnbd.func("int nbd_can_cache(nbd_handle *h)"),
  canMetaContext: libnbd.func("int nbd_can_meta_context(nbd_handle *h, const char *name)"),
  aioPread: libnbd.func(
    "int64_t nbd_aio_pread(nbd_handle *h, void *buf, size_t count, uint64_t offset, " +
      "nbd_completion_callback completion, uint32_t flags)",
  ),
  aioPwrite: libnbd.func(
    "int64_t nbd_aio_pwrite(nbd_handle *h, const void *buf, size_t count, uint64_t offset, " +
      "nbd_completion_callback completion, uint32_t flags)",
  ),
  aioFlush: libnbd.func(
    "int64_t nbd_aio_flush(nbd_handle *h, nbd_completion_callback completion, uint32_t flags)",
  ),
  aioBlockStatus: libnbd.func(
    "int64_t nbd_aio_block_status(nbd_handle *h, uint64_t count, uint64_t offset, " +
      "nbd_extent_callback extent, nbd_completion_callback completion, uint32_t flags)",
  ),
  aioGetFd: libnbd.func("int nbd_aio_get_fd(nbd_handle *h)"),
  aioGetDirection: libnbd.func("unsigned int nbd_aio_get_direction(nbd_handle *h)"),
  aioNotifyRead: libnbd.func("int nbd_aio_notify_read(nbd_handle *h)"),
  aioNotifyWrite: libnbd.func("int nbd_aio_notify_write(nbd_handle *h)"),
  aioIsReady: libnbd.func("int nbd_aio_is_ready(nbd_handle *h)"),
  aioIsDead: libnbd.func("int nbd_aio_is_dead(nbd_handle *h)"),
  aioIsClosed: libnbd.func("int nbd_aio_is_closed(nbd_handle *h)"),
  aioCommandCompleted: libnbd.func("int nbd_aio_command_completed(nbd_handle *h, uint64_t cookie)"),
  poll: libc.func("int poll(_Inout_ pollfd *fds, unsigned long nfds, int timeout)"),
  free: libc.func("void free(void *ptr)"),
};

const NULL_COMPLETION: NbdClosure = { callback: null, user_data: null, free: null };

function asNumber(value: unknown, what: string): number {
  if (typeof value === "number") return value;
  if (typeof value === "bigint") return Number(value);
  throw new TypeError(`${what}: expected a number from koffi, got ${typeof value}`);
}

function asBigInt(value: unknown, what: string): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value === "number") return BigInt(value);
  throw new TypeError(`${what}: expected an integer from koffi, got ${typeof value}`);
}

function asStringOrNull(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}

function asPointerOrNull(value: unknown): NativePointer | null {
  return typeof value === "object" && value !== null ? value : null;
}

/** The typed surface of libnbd used by this package. Every function here returns promptly. */
export const nbd = {
  create: (): NbdHandlePointer | null => asPointerOrNull(fn.create()),
  close: (h: NbdHandlePointer): void => {
    fn.close(h);
  },
  getError: (): string | null => asStringOrNull(fn.getError()),
  getErrno: (): number => asNumber(fn.getErrno(), "nbd_get_errno"),
  getVersion: (h: NbdHandlePointer): string | null => asStringOrNull(fn.getVersion(h)),
  setExportName: (h: NbdHandlePointer, name: string): number =>
    asNumber(fn.setExportName(h, name), "nbd_set_export_name"),
  setFullInfo: (h: NbdHandlePointer, request: boolean): number =>
    asNumber(fn.setFullInfo(h, request), "nbd_set_full_info"),
  addMetaContext: (h: NbdHandlePointer, name: string): number =>
    asNumber(fn.addMetaContext(h, name), "nbd_add_meta_context"),
  aioConnectUnix: (h: NbdHandlePointer, path: string): number =>
    asNumber(fn.aioConnectUnix(h, path), "nbd_aio_connect_unix"),
  aioConnectUri: (h: NbdHandlePointer, uri: string): number =>
    asNumber(fn.aioConnectUri(h, uri), "nbd_aio_connect_uri"),
  getSize: (h: NbdHandlePointer): bigint => asBigInt(fn.getSize(h), "nbd_get_size"),
  getBlockSize: (h: NbdHandlePointer, sizeType: number): bigint =>
    asBigInt(fn.getBlockSize(h, sizeType), "nbd_get_block_size"),
  /** Returns null when libnbd fails (the error is then readable with getError). */
  getCanonicalExportName: (h: NbdHandlePointer): string | null => {
    const pointer = asPointerOrNull(fn.getCanonicalExportName(h));
    if (pointer === null) return null;
    try {
      const decoded: unknown = koffi.decode(pointer, "char", -1);
      return typeof decoded === "string" ? decoded : "";
    } finally {
      fn.free(pointer);
    }
  },
  flag: {
    isReadOnly: (h: NbdHandlePointer): number => asNumber(fn.isReadOnly(h), "nbd_is_read_only"),
    canFlush: (h: NbdHandlePointer): number => asNumber(fn.canFlush(h), "nbd_can_flush"),
    canFua: (h: NbdHandlePointer): number => asNumber(fn.canFua(h), "nbd_can_fua"),
    canTrim: (h: NbdHandlePointer): number => asNumber(fn.canTrim(h), "nbd_can_trim"),
    canZero: (h: NbdHandlePointer): number => asNumber(fn.canZero(h), "nbd_can_zero"),
    canFastZero: (h: NbdHandlePointer): number => asNumber(fn.canFastZero(h), "nbd_can_fast_zero"),
    canMultiConn: (h: NbdHandlePointer): number =>
      asNumber(fn.canMultiConn(h), "nbd_can_multi_conn"),
    canCache: (h: NbdHandlePointer): number => asNumber(fn.canCache(h), "nbd_can_cache"),
  },
  canMetaContext: (h: NbdHandlePointer, name: string): number =>
    asNumber(fn.canMetaContext(h, name), "nbd_can_meta_context"),
  /** `buffer` must stay valid until the command completes: pass memory from `koffi.alloc`. */
  aioPread: (h: NbdHandlePointer, buffer: NativePointer, count: number, offset: bigint): bigint =>
    asBigInt(fn.aioPread(h, buffer, count, offset, NULL_COMPLETION, 0), "nbd_aio_pread"),
  aioPwrite: (h: NbdHandlePointer, buffer: NativePointer, count: number, offset: bigint): bigint =>
    asBigInt(fn.aioPwrite(h, buffer, count, offset, NULL_COMPLETION, 0), "nbd_aio_pwrite"),
  aioFlush: (h: NbdHandlePointer): bigint =>
    asBigInt(fn.aioFlush(h, NULL_COMPLETION, 0), "nbd_aio_flush"),
  aioBlockStatus: (
    h: NbdHandlePointer,
    count: bigint,
    offset: bigint,
    extentCallback: RegisteredCallback,
  ): bigint => {
    const extent: NbdClosure = { callback: extentCallback, user_data: null, free: null };
    return asBigInt(
      fn.aioBlockStatus(h, count, offset, extent, NULL_COMPLETION, 0),
      "nbd_aio_block_status",
    );
  },
  aioGetFd: (h: NbdHandlePointer): number => asNumber(fn.aioGetFd(h), "nbd_aio_get_fd"),
  aioGetDirection: (h: NbdHandlePointer): number =>
    asNumber(fn.aioGetDirection(h), "nbd_aio_get_direction"),
  aioNotifyRead: (h: NbdHandlePointer): number =>
    asNumber(fn.aioNotifyRead(h), "nbd_aio_notify_read"),
  aioNotifyWrite: (h: NbdHandlePointer): number =>
    asNumber(fn.aioNotifyWrite(h), "nbd_aio_notify_write"),
  aioIsReady: (h: NbdHandlePointer): number => asNumber(fn.aioIsReady(h), "nbd_aio_is_ready"),
  aioIsDead: (h: NbdHandlePointer): number => asNumber(fn.aioIsDead(h), "nbd_aio_is_dead"),
  aioIsClosed: (h: NbdHandlePointer): number => asNumber(fn.aioIsClosed(h), "nbd_aio_is_closed"),
  aioCommandCompleted: (h: NbdHandlePointer, cookie: bigint): number =>
    asNumber(fn.aioCommandCompleted(h, cookie), "nbd_aio_command_completed"),
};

/** poll(2) on one descriptor without blocking the calling (main) thread's caller: returns 0 at once. */
export function pollNow(pollFd: PollFd): number {
  return asNumber(fn.poll(pollFd, 1, 0), "poll");
}

/** poll(2) on one descriptor on a koffi worker thread, so the event loop keeps running. */
export function pollOnWorker(pollFd: PollFd, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    fn.poll.async(pollFd, 1, timeoutMs, (err: unknown, result: unknown) => {
      if (err) reject(err instanceof Error ? err : new Error(String(err)));
      else resolve(asNumber(result, "poll"));
    });
  });
}

/** Registers a JS function as a C `nbd_extent_callback`; release it with `unregisterCallback`. */
export function registerExtentCallback(callback: ExtentCallback): RegisteredCallback {
  return koffi.register(callback, koffi.pointer(extentCallbackType));
}

export function unregisterCallback(callback: RegisteredCallback): void {
  koffi.unregister(callback);
}

/** Decodes the `uint32_t entries[count]` array an extent callback receives. */
export function decodeUint32Array(pointer: unknown, count: number): number[] {
  const decoded: unknown = koffi.decode(pointer, "uint32_t", count);
  // koffi decodes number arrays to typed arrays; accept a plain array too.
  if (decoded instanceof Uint32Array) return Array.from(decoded);
  if (Array.isArray(decoded)) return decoded.map((entry: unknown) => asNumber(entry, "extent"));
  throw new TypeError("koffi.decode did not return an array of uint32_t");
}

/** Native memory that stays put while libnbd holds a pointer to it across several calls. */
export class NativeBuffer {
  readonly pointer: NativePointer;
  private freed = false;

  constructor(readonly length: number) {
    this.pointer = asPointerOrNull(koffi.alloc("uint8_t", length)) ?? fail("koffi.alloc failed");
  }

  /** A view of the native memory; valid only until `free()`. */
  view(): Buffer {
    return Buffer.from(koffi.view(this.pointer, this.length));
  }

  free(): void {
    if (this.freed) return;
    this.freed = true;
    koffi.free(this.pointer);
  }
}

function fail(message: string): never {
  throw new Error(message);
}
