/**
 * Messages between a `Guestfs` object (caller's thread) and the worker thread that runs its
 * long calls. Everything here survives structured cloning (bigint, Uint8Array, plain
 * objects), which is how worker_threads copies messages.
 */
import type { CallName } from "./calls.js";

/** Where a libguestfs log message came from (GUESTFS_EVENT_APPLIANCE, _LIBRARY, _TRACE, _WARNING). */
export type LogKind = "appliance" | "library" | "trace" | "warning";

/** What the worker is started with (worker_threads `workerData`). */
export interface WorkerStart {
  /** The C handle, created by the caller's thread. */
  address: bigint;
  /** Int32 slot set to 1 when the process is exiting: start no more calls. */
  exiting: SharedArrayBuffer;
}

export type WorkerRequest =
  /** `captureLogs`: attach a log callback for this call and send its messages back. */
  | { type: "call"; id: number; name: CallName; args: unknown[]; captureLogs: boolean }
  | { type: "close"; id: number; captureLogs: boolean };

/** An error as it crosses threads; `kind: "guestfs"` means libguestfs itself reported it. */
export interface WireError {
  kind: "guestfs" | "usage";
  call: string;
  message: string;
  errno: number;
}

export type WorkerReply =
  | { type: "result"; id: number; value: unknown }
  | { type: "failure"; id: number; error: WireError }
  | { type: "log"; kind: LogKind; text: string };
