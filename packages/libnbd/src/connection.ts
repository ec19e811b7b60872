import { constants } from "node:os";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";

import { NbdError } from "./errors.js";
import {
  BASE_ALLOCATION,
  LIBNBD_AIO_DIRECTION_READ,
  LIBNBD_AIO_DIRECTION_WRITE,
  LIBNBD_SIZE_MAXIMUM,
  LIBNBD_STATE_HOLE,
  LIBNBD_STATE_ZERO,
  NativeBuffer,
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLNVAL,
  POLLOUT,
  decodeUint32Array,
  nbd,
  pollNow,
  pollOnWorker,
  registerExtentCallback,
  unregisterCallback,
  type RegisteredCallback,
  type NbdHandlePointer,
  type PollFd,
} from "./ffi.js";

/** One extent of the "base:allocation" meta context (NBD_STATE_HOLE = 1, NBD_STATE_ZERO = 2). */
export interface NbdExtent {
  offset: bigint;
  length: bigint;
  /** Not allocated on the server (writes there may allocate). Does not by itself mean zero. */
  hole: boolean;
  /** Reads as zeroes. */
  zero: boolean;
}

/** Where a whole export's bytes are, by block status. allocatedBytes + holeBytes = size. */
export interface AllocationSummary {
  size: bigint;
  /** Bytes not flagged as holes. */
  allocatedBytes: bigint;
  /** Bytes flagged as reading as zeroes, whether holes or allocated. */
  zeroBytes: bigint;
  /** Bytes flagged as holes. */
  holeBytes: bigint;
  /** Adjacent extents with equal flags are merged. */
  extents: NbdExtent[];
}

/** The NBD protocol's block status length is a uint32 in libnbd 1.14; stay below 4 GiB, 1 MiB aligned. */
const MAX_BLOCK_STATUS_LENGTH = (1n << 32n) - (1n << 20n);
/** The NBD spec lets servers refuse requests over 32 MiB unless they advertise a larger maximum. */
const MAX_REQUEST_BYTES = 32 * 1024 * 1024;
/**
 * How long one poll(2) holds a libuv threadpool thread (4 by default, shared with fs and dns):
 * short, so many connections waiting at once take turns, and a socket released by close() is
 * let go of quickly.
 */
const POLL_TIMEOUT_MS = 100;
/** When the socket is always ready, still let timers and signals run now and then. */
const READY_STEPS_BEFORE_YIELD = 64;
/** poll(2) failing this many times in a row (it only should on EINTR) means something is broken. */
const MAX_CONSECUTIVE_POLL_FAILURES = 100;

type ExtentSink = (metacontext: string, offset: bigint, entries: number[]) => void;

/**
 * A connection to one NBD export through one libnbd handle.
 *
 * Operations are queued so only one runs on the handle at a time; each waits for the server on a
 * worker thread, so the event loop stays free while the server answers.
 */
export class NbdConnection {
  #handle: NbdHandlePointer | null;
  #closedBecause: string | null = null;
  #size = 0n;
  #maxRequestBytes = MAX_REQUEST_BYTES;
  #extentCallback: RegisteredCallback | null;
  #extentSink: ExtentSink | null = null;
  #extentCallbackError: unknown = null;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(handle: NbdHandlePointer) {
    this.#handle = handle;
    // One registered callback per connection, released by close(): libnbd only calls it from
    // nbd_aio_notify_read on the main thread, while a block status command of this handle runs.
    this.#extentCallback = registerExtentCallback(
      (_userData, metacontext, offset, entries, entryCount) => {
        try {
          this.#extentSink?.(
            metacontext,
            BigInt(offset),
            decodeUint32Array(entries, Number(entryCount)),
          );
        } catch (error: unknown) {
          this.#extentCallbackError = error;
        }
        return 0;
      },
    );
  }

  /** Connects to a server's Unix socket (the default export unless `exportName` is given). */
  static connectUnix(socketPath: string, opts?: { exportName?: string }): Promise<NbdConnection> {
    return NbdConnection.#open(
      "nbd_aio_connect_unix",
      (h) => nbd.aioConnectUnix(h, socketPath),
      opts?.exportName,
    );
  }

  /** Connects to an NBD URI, e.g. "nbd+unix:///?socket=/tmp/x/in0" or "nbd+unix:///exp?socket=…". */
  static connectUri(uri: string): Promise<NbdConnection> {
    return NbdConnection.#open("nbd_aio_connect_uri", (h) => nbd.aioConnectUri(h, uri), undefined);
  }

  static async #open(
    connectCall: string,
    startConnect: (h: NbdHandlePointer) => number,
    exportName: string | undefined,
  ): Promise<NbdConnection> {
    const handle = nbd.create();
    if (handle === null) throw NbdError.fromLastError("nbd_create");
    const connection = new NbdConnection(handle);
    try {
      // full_info asks the server for the canonical export name that exportName() reports.
      check(nbd.setFullInfo(handle, true), "nbd_set_full_info");
      check(nbd.addMetaContext(handle, BASE_ALLOCATION), "nbd_add_meta_context");
      if (exportName !== undefined) {
        check(nbd.setExportName(handle, exportName), "nbd_set_export_name");
      }
      check(startConnect(handle), connectCall);
      await connection.#drive("connect", (h) => {
        if (nbd.aioIsReady(h) === 1) return true;
        if (nbd.aioIsDead(h) === 1 || nbd.aioIsClosed(h) === 1) {
          throw new NbdError(
            `${connectCall}: the connection ended during the handshake`,
            constants.errno.ECONNRESET,
            connectCall,
          );
        }
        return false;
      });
      const size = nbd.getSize(handle);
      if (size < 0n) throw NbdError.fromLastError("nbd_get_size");
      connection.#size = size;
      const maximum = nbd.getBlockSize(handle, LIBNBD_SIZE_MAXIMUM);
      if (maximum > 0n && maximum < BigInt(MAX_REQUEST_BYTES)) {
        connection.#maxRequestBytes = Number(maximum);
      }
      return connection;
    } catch (error: unknown) {
      connection.close();
      throw error;
    }
  }

  /** The export size in bytes (nbd_get_size, read once after connecting). */
  get size(): bigint {
    return this.#size;
  }

  isReadOnly(): boolean {
    return this.#flag("nbd_is_read_only", nbd.flag.isReadOnly);
  }
  canFlush(): boolean {
    return this.#flag("nbd_can_flush", nbd.flag.canFlush);
  }
  canTrim(): boolean {
    return this.#flag("nbd_can_trim", nbd.flag.canTrim);
  }
  canZero(): boolean {
    return this.#flag("nbd_can_zero", nbd.flag.canZero);
  }
  canFastZero(): boolean {
    return this.#flag("nbd_can_fast_zero", nbd.flag.canFastZero);
  }
  canMultiConn(): boolean {
    return this.#flag("nbd_can_multi_conn", nbd.flag.canMultiConn);
  }
  canCache(): boolean {
    return this.#flag("nbd_can_cache", nbd.flag.canCache);
  }
  canFua(): boolean {
    return this.#flag("nbd_can_fua", nbd.flag.canFua);
  }
  /** Whether the server agreed to this meta context (only "base:allocation" is requested). */
  canMetaContext(name: string): boolean {
    return this.#flag("nbd_can_meta_context", (h) => nbd.canMetaContext(h, name));
  }

  /** The server's canonical export name, or "" when the server did not say. */
  exportName(): string {
    const handle = this.#liveHandle("exportName");
    return nbd.getCanonicalExportName(handle) ?? "";
  }

  /** Reads `length` bytes at `offset` (split into requests the server accepts). */
  async pread(offset: bigint, length: number): Promise<Buffer> {
    checkOffset("pread", offset);
    if (!Number.isSafeInteger(length) || length < 0) {
      throw new RangeError(`pread: length must be a non-negative integer, got ${length}`);
    }
    return this.#serialise(async () => {
      this.#liveHandle("pread");
      const result = Buffer.allocUnsafe(length);
      if (length === 0) return result;
      const native = new NativeBuffer(Math.min(length, this.#maxRequestBytes));
      try {
        for (let done = 0; done < length;) {
          const count = Math.min(this.#maxRequestBytes, length - done);
          const at = offset + BigInt(done);
          await this.#runCommand("pread", "nbd_aio_pread", (h) =>
            nbd.aioPread(h, native.pointer, count, at),
          );
          native.view().copy(result, done, 0, count);
          done += count;
        }
      } finally {
        // Safe even when the command is still queued: #runCommand closes the handle (which
        // retires every command) before it lets an unfinished command's error through.
        native.free();
      }
      return result;
    });
  }

  /** Writes `data` at `offset` (split into requests the server accepts). */
  async pwrite(offset: bigint, data: Buffer): Promise<void> {
    checkOffset("pwrite", offset);
    return this.#serialise(async () => {
      this.#liveHandle("pwrite");
      if (data.length === 0) return;
      const native = new NativeBuffer(Math.min(data.length, this.#maxRequestBytes));
      try {
        for (let done = 0; done < data.length;) {
          const count = Math.min(this.#maxRequestBytes, data.length - done);
          data.copy(native.view(), 0, done, done + count);
          const at = offset + BigInt(done);
          await this.#runCommand("pwrite", "nbd_aio_pwrite", (h) =>
            nbd.aioPwrite(h, native.pointer, count, at),
          );
          done += count;
        }
      } finally {
        native.free();
      }
    });
  }

  async flush(): Promise<void> {
    return this.#serialise(() => this.#runCommand("flush", "nbd_aio_flush", nbd.aioFlush));
  }

  /**
   * One block status request for "base:allocation" over [offset, offset+length), the length
   * clamped below 4 GiB and to the export end. The server may describe less than asked for: the
   * extents returned start at `offset`, are contiguous, and are clipped to the range asked for.
   * A server without "base:allocation" gets one extent saying "allocated data", which is what
   * NBD's absence of block status information means.
   */
  async blockStatus(offset: bigint, length: bigint): Promise<NbdExtent[]> {
    checkOffset("blockStatus", offset);
    if (length < 0n) throw new RangeError(`blockStatus: negative length ${length}`);
    return this.#serialise(async () => {
      const handle = this.#liveHandle("blockStatus");
      const count = minBigInt(length, MAX_BLOCK_STATUS_LENGTH, this.#size - offset);
      if (count <= 0n) return [];
      if (nbd.canMetaContext(handle, BASE_ALLOCATION) !== 1) {
        return [{ offset, length: count, hole: false, zero: false }];
      }
      const end = offset + count;
      const extents: NbdExtent[] = [];
      this.#extentSink = (metacontext, extentOffset, entries) => {
        if (metacontext !== BASE_ALLOCATION) return;
        let position = extentOffset;
        for (let i = 0; i + 1 < entries.length && position < end; i += 2) {
          const extentLength = BigInt(entries[i] ?? 0);
          const flags = entries[i + 1] ?? 0;
          const stop = minBigInt(position + extentLength, end);
          if (stop > position) {
            extents.push({
              offset: position,
              length: stop - position,
              hole: (flags & LIBNBD_STATE_HOLE) !== 0,
              zero: (flags & LIBNBD_STATE_ZERO) !== 0,
            });
          }
          position += extentLength;
        }
      };
      this.#extentCallbackError = null;
      const extentCallback = this.#extentCallback;
      if (extentCallback === null) throw NbdError.closed("blockStatus");
      try {
        await this.#runCommand("blockStatus", "nbd_aio_block_status", (h) =>
          nbd.aioBlockStatus(h, count, offset, extentCallback),
        );
      } finally {
        this.#extentSink = null;
      }
      if (this.#extentCallbackError !== null) throw this.#extentCallbackError;
      return extents;
    });
  }

  /** Walks the whole export with block status and sums what is allocated, zero and a hole. */
  async allocation(): Promise<AllocationSummary> {
    const size = this.#size;
    const extents: NbdExtent[] = [];
    let position = 0n;
    while (position < size) {
      const batch = await this.blockStatus(position, size - position);
      const first = batch[0];
      if (first === undefined || first.offset !== position) {
        throw new NbdError(
          `nbd_block_status: the server described no extent at offset ${position}`,
          constants.errno.EPROTO,
          "nbd_block_status",
        );
      }
      for (const extent of batch) {
        const previous = extents.at(-1);
        if (previous && previous.hole === extent.hole && previous.zero === extent.zero) {
          previous.length += extent.length;
        } else {
          extents.push({ ...extent });
        }
        position = extent.offset + extent.length;
      }
    }
    let allocatedBytes = 0n;
    let zeroBytes = 0n;
    let holeBytes = 0n;
    for (const extent of extents) {
      if (extent.hole) holeBytes += extent.length;
      else allocatedBytes += extent.length;
      if (extent.zero) zeroBytes += extent.length;
    }
    return { size, allocatedBytes, zeroBytes, holeBytes, extents };
  }

  /**
   * Closes the handle (nbd_close) at once; idempotent. An operation still waiting on the server
   * rejects with an NbdError saying the connection is closed.
   */
  close(): void {
    this.#closeBecause("closed by close()");
  }

  #closeBecause(reason: string): void {
    const handle = this.#handle;
    if (handle === null) return;
    this.#handle = null;
    this.#closedBecause = reason;
    nbd.close(handle);
    // Only after nbd_close: libnbd can no longer call the extent callback.
    if (this.#extentCallback !== null) {
      unregisterCallback(this.#extentCallback);
      this.#extentCallback = null;
    }
  }

  #liveHandle(method: string): NbdHandlePointer {
    if (this.#handle === null) {
      const error = NbdError.closed(method);
      if (this.#closedBecause !== null) error.message += ` (${this.#closedBecause})`;
      throw error;
    }
    return this.#handle;
  }

  #flag(nbdCall: string, read: (h: NbdHandlePointer) => number): boolean {
    const result = read(this.#liveHandle(nbdCall));
    if (result < 0) throw NbdError.fromLastError(nbdCall);
    return result === 1;
  }

  /** Runs `operation` after every operation queued before it has settled. */
  #serialise<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(
      () => operation(),
      () => operation(),
    );
    this.#queue = result.catch(() => undefined);
    return result;
  }

  /** Issues one aio command and waits until the server has answered it. */
  async #runCommand(
    method: string,
    nbdCall: string,
    issue: (h: NbdHandlePointer) => bigint,
  ): Promise<void> {
    const cookie = issue(this.#liveHandle(method));
    if (cookie < 0n) throw NbdError.fromLastError(nbdCall);
    // A failed command (the server's error reply) leaves the connection usable, so it is
    // reported after #drive rather than thrown inside it (which would close the handle).
    const outcome: { error: NbdError | null } = { error: null };
    await this.#drive(method, (h) => {
      const completed = nbd.aioCommandCompleted(h, cookie);
      if (completed < 0) outcome.error = NbdError.fromLastError("nbd_aio_command_completed");
      return completed !== 0;
    });
    if (outcome.error !== null) {
      // Commands also fail when the transport died under them; the handle is useless then.
      const handle = this.#handle;
      if (handle !== null && nbd.aioIsDead(handle) === 1) {
        this.#closeBecause(outcome.error.message);
      }
      throw outcome.error;
    }
  }

  /**
   * Runs libnbd's state machine until `isDone` says so: poll(2) the socket (at once when it is
   * ready, otherwise on a worker thread), then let libnbd read or write on the main thread. A
   * transport failure leaves the handle useless, so it is closed, which also guarantees libnbd
   * holds no pointer to a buffer or callback the caller is about to release.
   */
  async #drive(method: string, isDone: (h: NbdHandlePointer) => boolean): Promise<void> {
    try {
      let readySteps = 0;
      let pollFailures = 0;
      for (;;) {
        const handle = this.#liveHandle(method);
        if (isDone(handle)) return;
        const fd = nbd.aioGetFd(handle);
        if (fd < 0) throw NbdError.fromLastError("nbd_aio_get_fd");
        const direction = nbd.aioGetDirection(handle);
        const events =
          ((direction & LIBNBD_AIO_DIRECTION_READ) !== 0 ? POLLIN : 0) |
          ((direction & LIBNBD_AIO_DIRECTION_WRITE) !== 0 ? POLLOUT : 0);
        if (events === 0) {
          throw new NbdError(
            `${method}: libnbd is waiting for nothing but the command has not finished`,
            constants.errno.EPROTO,
            method,
          );
        }
        const pollFd: PollFd = { fd, events, revents: 0 };
        let ready = pollNow(pollFd);
        if (ready === 0) {
          readySteps = 0;
          ready = await pollOnWorker(pollFd, POLL_TIMEOUT_MS);
        } else if (++readySteps >= READY_STEPS_BEFORE_YIELD) {
          readySteps = 0;
          await yieldToEventLoop();
        }
        // close() may have run while we waited; the descriptor then belongs to nobody.
        const liveHandle = this.#liveHandle(method);
        if (ready < 0) {
          if (++pollFailures >= MAX_CONSECUTIVE_POLL_FAILURES) {
            throw new NbdError(`${method}: poll on the NBD socket keeps failing`, 0, "poll");
          }
          continue;
        }
        pollFailures = 0;
        if (ready === 0) continue;
        // Like nbd_poll: one notification per wakeup, reads first, since a notification can
        // change what the handle waits for.
        if ((pollFd.revents & (POLLIN | POLLHUP)) !== 0) {
          if (nbd.aioNotifyRead(liveHandle) < 0) {
            throw NbdError.fromLastError("nbd_aio_notify_read");
          }
        } else if ((pollFd.revents & POLLOUT) !== 0) {
          if (nbd.aioNotifyWrite(liveHandle) < 0) {
            throw NbdError.fromLastError("nbd_aio_notify_write");
          }
        } else if ((pollFd.revents & (POLLERR | POLLNVAL)) !== 0) {
          throw new NbdError(
            `${method}: server closed socket unexpectedly`,
            constants.errno.ENOTCONN,
            method,
          );
        }
      }
    } catch (error: unknown) {
      this.#closeBecause(error instanceof Error ? error.message : String(error));
      throw error;
    }
  }
}

function check(result: number, nbdCall: string): void {
  if (result < 0) throw NbdError.fromLastError(nbdCall);
}

function checkOffset(method: string, offset: bigint): void {
  if (offset < 0n) throw new RangeError(`${method}: negative offset ${offset}`);
}

function minBigInt(first: bigint, ...rest: bigint[]): bigint {
  return rest.reduce((smallest, value) => (value < smallest ? value : smallest), first);
}

/** libnbd's version string (nbd_get_version), e.g. "1.14.2". */
export function libnbdVersion(): string {
  const handle = nbd.create();
  if (handle === null) throw NbdError.fromLastError("nbd_create");
  try {
    const version = nbd.getVersion(handle);
    if (version === null) throw NbdError.fromLastError("nbd_get_version");
    return version;
  } finally {
    nbd.close(handle);
  }
}
