/**
 * Tests only: the plumbing the helper programs' package tests share (see README.md).
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import net from "node:net";
import readline from "node:readline";
import { execa, type ResultPromise } from "execa";
import { NbdConnection } from "@split-v2v/libnbd";

/** One JSON event line of a helper's stdout. */
export type HelperEvent = Record<string, unknown>;

/** A helper's output, collected as it comes (also after it said ready). */
export interface HelperOutput {
  /** Its stdout's event lines. */
  events: HelperEvent[];
  /** Its stderr (the human log), line by line. */
  log: string[];
}

/** A running helper's output, and whether it said ready (false: it exited first). */
export interface WatchedHelper extends HelperOutput {
  ready: Promise<boolean>;
}

/** A helper that said ready, still running. */
export interface ServingHelper extends HelperOutput {
  child: ResultPromise<{ buffer: false; reject: false }>;
}

/** Collects a started helper's events and log; `ready` settles at its ready line or its exit. */
export function watchHelper(child: ResultPromise): WatchedHelper {
  const events: HelperEvent[] = [];
  const log: string[] = [];
  readline.createInterface({ input: child.stderr! }).on("line", (line) => log.push(line));
  const ready = new Promise<boolean>((resolve) => {
    readline.createInterface({ input: child.stdout! }).on("line", (line) => {
      const event = JSON.parse(line) as HelperEvent;
      events.push(event);
      if (event.event === "ready") resolve(true);
    });
    void child.then(() => resolve(false));
  });
  return { events, log, ready };
}

/** Waits for a started helper's ready line; throws if it exits first, with its exit code and log. */
export async function untilReady(child: ResultPromise): Promise<HelperOutput> {
  const { events, log, ready } = watchHelper(child);
  if (!(await ready)) {
    const result = await child;
    throw new Error(`helper exited: ${String(result.exitCode)}\n${log.join("\n")}`);
  }
  return { events, log };
}

/** Runs `node helper ...args` until it is ready; returns its process, its events and its log. */
export async function serve(
  helper: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv } = {},
): Promise<ServingHelper> {
  const child = execa(process.execPath, [helper, ...args], {
    env: options.env,
    buffer: false,
    reject: false,
  });
  return { child, ...(await untilReady(child)) };
}

/** Runs `node helper ...args` to its end (a --precheck, an error), its output collected. */
export function runHelper(
  helper: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv } = {},
) {
  return execa(process.execPath, [helper, ...args], { env: options.env, reject: false });
}

/** `pgrep -a -f needle`'s lines of the servers (qemu-nbd, nbdkit) whose command line has needle. */
export async function serversMentioning(
  needle: string,
  servers: RegExp = /qemu-nbd|nbdkit/,
): Promise<string[]> {
  const result = await execa("pgrep", ["-a", "-f", needle], { reject: false });
  return String(result.stdout)
    .split("\n")
    .filter((line) => servers.test(line) && !line.includes("pgrep"));
}

/** The nbdkit processes whose command line has needle. */
export function nbdkitsMentioning(needle: string): Promise<string[]> {
  return serversMentioning(needle, /nbdkit/);
}

/** Reads `length` bytes at `offset` of the disk served on `socket`. */
export async function readServed(socket: string, offset: number, length: number): Promise<Buffer> {
  const connection = await NbdConnection.connectUnix(socket);
  try {
    return await connection.pread(BigInt(offset), length);
  } finally {
    connection.close();
  }
}

/** The whole export of an open connection, read 1 MiB at a time. */
export async function readAll(connection: NbdConnection): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const step = 1024 * 1024;
  const size = Number(connection.size);
  for (let offset = 0; offset < size; offset += step)
    chunks.push(await connection.pread(BigInt(offset), Math.min(step, size - offset)));
  return Buffer.concat(chunks);
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function sha256(file: string): Promise<string> {
  return createHash("sha256")
    .update(await readFile(file))
    .digest("hex");
}

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Runs one qemu-io command on a disk image. */
export async function qemuIo(format: string, file: string, command: string): Promise<void> {
  await execa("qemu-io", ["-f", format, "-c", command, file]);
}
export * from "./output-metadata.js";
