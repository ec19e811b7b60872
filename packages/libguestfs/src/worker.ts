/**
 * The thread that runs the long calls of one libguestfs handle (launch, mount, inspect…).
 * `Guestfs` (guestfs.ts) starts one per handle and sends it requests; they are handled one
 * at a time, each as a synchronous C call, so calls are serialised and the caller's event
 * loop never blocks.
 *
 * Why a dedicated thread rather than koffi's `.async`: `.async` runs each call on whichever
 * libuv pool thread is free, but libguestfs keeps the last error and the error handler in
 * thread-local storage, so the error of a failed call could not be read back reliably, and
 * the default handler would print it on stderr. Log events also fire on the calling thread;
 * here that thread has its own JS engine, so the log callback runs in place.
 */
import { parentPort, workerData } from "node:worker_threads";
import { CallFailure, GuestfsHandle, type LogSink } from "./ffi.js";
import type { WireError, WorkerReply, WorkerRequest, WorkerStart } from "./protocol.js";

const port = parentPort;
if (!port) throw new Error("worker.js must run as a worker thread");
const start = workerData as WorkerStart;
const exiting = new Int32Array(start.exiting);
const handle = GuestfsHandle.attach(start.address);

function reply(message: WorkerReply): void {
  port?.postMessage(message);
}

const logSink: LogSink = (kind, text) => reply({ type: "log", kind, text });

function toWireError(call: string, error: unknown): WireError {
  if (error instanceof CallFailure) return error.wire;
  return {
    kind: "usage",
    call,
    message: error instanceof Error ? error.message : String(error),
    errno: 0,
  };
}

port.on("message", (request: WorkerRequest) => {
  const call = request.type === "call" ? request.name : "close";
  try {
    // The caller's thread detaches log callbacks at exit; a call started after that would
    // attach one again, to a JS engine about to disappear.
    if (Atomics.load(exiting, 0) === 1) throw new Error(`${call}: the process is exiting`);
    let value: unknown;
    if (request.type === "call") {
      value = handle.call(request.name, request.args, request.captureLogs ? logSink : null);
    } else {
      handle.close(request.captureLogs ? logSink : null);
    }
    reply({ type: "result", id: request.id, value });
  } catch (error) {
    reply({ type: "failure", id: request.id, error: toWireError(call, error) });
  }
  if (request.type === "close") port.close();
});
