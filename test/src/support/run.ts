/**
 * Running the product as a user does, and checking what a user would check afterwards: exit
 * status, messages, files, and that nothing was left behind (processes, sockets, temp dirs).
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import net from "node:net";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { execa, type ResultPromise } from "execa";

const require = createRequire(import.meta.url);

/** The executable of a workspace package (its package.json "bin"), run with this Node. */
export function packageBin(packageName: string): string {
  const manifestPath = require.resolve(`${packageName}/package.json`);
  const manifest = require(manifestPath) as { bin?: Record<string, string> };
  const bin = Object.values(manifest.bin ?? {})[0];
  if (bin === undefined) throw new Error(`${packageName} has no bin`);
  return path.join(path.dirname(manifestPath), bin);
}

export const VIRT_V2V = packageBin("@split-v2v/supervisor");

export interface Sandbox {
  /** TMPDIR for the run: the work dir and kept logs land here, so leftovers are easy to see. */
  tmp: string;
  /** An output directory for -o local. */
  out: string;
  dispose(): Promise<void>;
}

export async function makeSandbox(label: string): Promise<Sandbox> {
  const root = await mkdtemp(path.join(os.tmpdir(), `split-v2v-test-${label}-`));
  const tmp = path.join(root, "tmp");
  const out = path.join(root, "out");
  await execa("mkdir", ["-p", tmp, out]);
  return { tmp, out, dispose: () => rm(root, { recursive: true, force: true }) };
}

export interface V2vResult {
  exitCode: number | undefined;
  signal: string | undefined;
  stdout: string;
  stderr: string;
}

/** The environment of a run: the sandbox's TMPDIR, and TCG unless the caller's env decides. */
export function runEnvironment(sandbox: Sandbox): Record<string, string> {
  return { TMPDIR: sandbox.tmp, LANG: "C" };
}

export function startVirtV2v(args: string[], sandbox: Sandbox) {
  return execa(process.execPath, [VIRT_V2V, ...args], {
    env: runEnvironment(sandbox),
    reject: false,
    // Exact output: tests compare virt-v2v's text to the byte.
    stripFinalNewline: false,
    stdin: "ignore",
    all: false,
  });
}

export async function virtV2v(args: string[], sandbox: Sandbox): Promise<V2vResult> {
  const result = await startVirtV2v(args, sandbox);
  return {
    exitCode: result.exitCode,
    signal: result.signal,
    stdout: String(result.stdout),
    stderr: String(result.stderr),
  };
}

export async function sha256(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Bytes the file really occupies on disk (its allocated blocks). */
export async function allocatedBytes(file: string): Promise<number> {
  return (await stat(file)).blocks * 512;
}

/** Processes whose command line mentions `needle` (a sandbox path): servers, helpers, copies. */
export async function processesMentioning(needle: string): Promise<string[]> {
  const result = await execa("pgrep", ["-a", "-f", needle], { reject: false });
  return String(result.stdout)
    .split("\n")
    .filter((line) => line.trim() !== "" && !line.includes("pgrep"));
}

/** Work dirs (v2v.*) left in the sandbox's TMPDIR. */
export async function leftoverWorkdirs(sandbox: Sandbox): Promise<string[]> {
  return (await readdir(sandbox.tmp)).filter((name) => name.startsWith("v2v."));
}

/** Everything that must be gone after a run, success or failure. */
export async function leftovers(
  sandbox: Sandbox,
): Promise<{ processes: string[]; workdirs: string[] }> {
  return {
    processes: await processesMentioning(sandbox.tmp),
    workdirs: await leftoverWorkdirs(sandbox),
  };
}

/** Lines that are virt-v2v's error lines. */
export function errorLines(stderr: string): string[] {
  return stderr.split("\n").filter((line) => line.startsWith("virt-v2v: error: "));
}

/** A TCP port on 127.0.0.1 that nothing listens on right now (for a test's own server). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** Starts a serving helper and resolves once it prints its ready event. */
export async function startServing(
  script: string,
  args: string[],
): Promise<{ process: ResultPromise }> {
  const child = execa(process.execPath, [script, ...args], {
    stdout: "pipe",
    stderr: "pipe",
    buffer: false,
    reject: false,
  });
  const lines = readline.createInterface({ input: child.stdout! });
  const stderr: string[] = [];
  readline.createInterface({ input: child.stderr! }).on("line", (line) => stderr.push(line));
  await new Promise<void>((resolve, reject) => {
    lines.on("line", (line) => {
      if (line.includes('"event":"ready"')) resolve();
    });
    void child.then(() =>
      reject(new Error(`${path.basename(script)} exited before ready: ${stderr.join("\n")}`)),
    );
  });
  // Wrapped: an execa child is a thenable, which an async function would unwrap into its result.
  return { process: child };
}
