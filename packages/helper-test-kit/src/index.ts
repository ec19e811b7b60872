/**
 * Tests only: the plumbing the helper programs' package tests share (see README.md).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
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

/**
 * An output helper's whole successful run, as the supervisor drives it: precheck; setup until it
 * is ready with `sockets`; each of `sources` copied by nbdcopy to out0, out1…; final; the run's
 * `done` marker; setup stopped (exit 0) with no server left. `afterPrecheck` sees the target
 * between precheck and setup (to assert that precheck created nothing). A setup still running
 * when the test ends (an assertion failed) is stopped by `after`.
 */
export async function runOutputHelperToEnd(
  helper: string,
  workdir: string,
  options: readonly string[],
  run: {
    sources: readonly string[];
    sockets: readonly string[];
    env?: NodeJS.ProcessEnv;
    afterPrecheck?: () => Promise<void>;
    after: (cleanup: () => void) => void;
  },
): Promise<void> {
  const env = run.env === undefined ? {} : { env: run.env };
  const precheck = await runHelper(helper, ["precheck", workdir, ...options], env);
  assert.equal(precheck.exitCode, 0, String(precheck.stderr));
  await run.afterPrecheck?.();
  const setup = await serve(helper, ["setup", workdir, ...options], env);
  let stopped = false;
  run.after(() => {
    if (!stopped) setup.child.kill("SIGTERM");
  });
  assert.deepEqual(setup.events.at(-1), { event: "ready", sockets: [...run.sockets] });
  for (const [index, source] of run.sources.entries())
    await execa("nbdcopy", [source, `nbd+unix:///?socket=${path.join(workdir, `out${index}`)}`]);
  const final = await runHelper(helper, ["final", workdir, ...options], env);
  assert.equal(final.exitCode, 0, String(final.stderr));
  await writeFile(path.join(workdir, "done"), "");
  setup.child.kill("SIGTERM");
  stopped = true;
  assert.equal((await setup.child).exitCode, 0);
  assert.deepEqual(await serversMentioning(workdir), [], "no server left");
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
