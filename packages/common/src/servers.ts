/**
 * NBD servers: the one place that builds nbdkit and qemu-nbd command lines, starts them, waits
 * until they serve, and stops them.
 *
 * nbdkit composes a plugin with filters on its command line (`--filter=cow --filter=tar file …`);
 * a spec here is that composition written as data, outermost filter first, exactly in the order of
 * the command line. qemu-nbd is used where a disk format needs qemu's own decoder (qcow2, vmdk…).
 */
import { access, readFile, rm } from "node:fs/promises";
import net from "node:net";
import readline from "node:readline";
import type { Readable } from "node:stream";
import { execa, type ResultPromise } from "execa";
import { UserError } from "./errors.js";

export interface NbdkitSpec {
  kind: "nbdkit";
  /** The plugin: file, null, nbd, ssh, curl, vddk… */
  plugin: string;
  /** Plugin and filter parameters, `key=value`, in command-line order. */
  params: ReadonlyArray<readonly [string, string]>;
  /** Filters as on the command line: the first is outermost (nearest the client). */
  filters: readonly string[];
  /** Export read-only to clients (nbdkit -r). */
  readonly?: boolean;
  /** Extra `-D` debug flags. */
  debugFlags?: readonly string[];
  /**
   * nbdkit --threads: requests served at once per connection (default 16). Lower for a plugin
   * whose backend takes only a few requests at a time (imageio's writers).
   */
  threads?: number;
}

export interface QemuNbdSpec {
  kind: "qemu-nbd";
  /** A file name, or a `json:{…}` pseudo-file (offset/size views of a file). */
  file: string;
  /** The image format; qemu probes when absent (never for raw, which would be unsafe). */
  format: string | null;
  /** Protective snapshot overlay (-s): writes land in a throw-away qcow2, never in `file`. */
  snapshot: boolean;
  /** `file` is a qemu --image-opts option string rather than a file name. */
  imageOpts?: boolean;
}

export type ServerSpec = NbdkitSpec | QemuNbdSpec;

export interface ServerLaunch {
  socket: string;
  pidfile: string;
  verbose?: boolean;
}

/** Full argv (program first) for nbdkit, following virt-v2v's lib/nbdkit.ml conventions. */
export function nbdkitArgv(spec: NbdkitSpec, launch: ServerLaunch): string[] {
  const argv = [
    "nbdkit",
    "--exit-with-parent",
    "--foreground",
    "--pidfile",
    launch.pidfile,
    "--unix",
    launch.socket,
    "--threads",
    String(spec.threads ?? 16),
    // The datapath debug lines would flood the log with every request.
    "-D",
    "nbdkit.backend.datapath=0",
  ];
  for (const flag of spec.debugFlags ?? []) argv.push("-D", flag);
  if (spec.readonly) argv.push("--readonly");
  if (launch.verbose) argv.push("--verbose");
  for (const filter of spec.filters) argv.push(`--filter=${filter}`);
  argv.push(spec.plugin);
  for (const [key, value] of spec.params) argv.push(`${key}=${value}`);
  return argv;
}

/**
 * Full argv for qemu-nbd. `setpriv --pdeathsig TERM` makes the kernel stop qemu-nbd when the
 * process that started it dies, which qemu-nbd cannot ask for itself (nbdkit's --exit-with-parent).
 */
export function qemuNbdArgv(spec: QemuNbdSpec, launch: ServerLaunch): string[] {
  const argv = [
    "setpriv",
    "--pdeathsig",
    "TERM",
    "--",
    "qemu-nbd",
    "--persistent",
    "--shared=0",
    "--discard=unmap",
    "--pid-file",
    launch.pidfile,
    "--socket",
    launch.socket,
  ];
  if (spec.snapshot) argv.push("--snapshot");
  if (spec.imageOpts) argv.push("--image-opts");
  if (spec.format !== null) argv.push("--format", spec.format);
  argv.push(spec.file);
  return argv;
}

export function serverArgv(spec: ServerSpec, launch: ServerLaunch): string[] {
  return spec.kind === "nbdkit" ? nbdkitArgv(spec, launch) : qemuNbdArgv(spec, launch);
}

export interface RunningServer {
  readonly socket: string;
  readonly pid: number;
  readonly argv: readonly string[];
  /** Stops the server (SIGTERM, then SIGKILL after a grace period) and removes its socket. */
  stop(): Promise<void>;
}

export interface StartOptions extends ServerLaunch {
  /** Where servers put their temporary files (qemu-nbd snapshots, cow overlays): the work dir's. */
  tmpDir: string;
  /** Receives each line the server writes on stderr/stdout, and our own notes about it. */
  log: (line: string) => void;
  startTimeoutMs?: number;
}

function forEachLine(stream: Readable | null | undefined, onLine: (line: string) => void): void {
  if (!stream) return;
  readline.createInterface({ input: stream, crlfDelay: Infinity }).on("line", onLine);
}

async function fileHasContent(file: string): Promise<boolean> {
  try {
    return (await readFile(file, "utf8")).trim().length > 0;
  } catch {
    return false;
  }
}

function socketAccepts(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const connection = net.connect(socket);
    connection.once("connect", () => {
      connection.destroy();
      resolve(true);
    });
    connection.once("error", () => resolve(false));
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts a server and resolves once its socket accepts connections. If the server exits first,
 * the error carries the last lines it printed (nbdkit and qemu-nbd say clearly what is wrong).
 */
export async function startServer(spec: ServerSpec, options: StartOptions): Promise<RunningServer> {
  const argv = serverArgv(spec, options);
  const program = spec.kind;
  options.log(`starting ${program}: ${argv.join(" ")}`);
  const recentOutput: string[] = [];
  const remember = (line: string) => {
    options.log(`${program}: ${line}`);
    recentOutput.push(line);
    if (recentOutput.length > 20) recentOutput.shift();
  };
  const child: ResultPromise = execa(argv[0]!, argv.slice(1), {
    env: { LANG: "C", TMPDIR: options.tmpDir },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    reject: false,
    buffer: false,
  });
  forEachLine(child.stdout, remember);
  forEachLine(child.stderr, remember);
  let exited = false;
  const exit = child.then((result) => {
    exited = true;
    options.log(
      `${program} (pid ${child.pid ?? "?"}) exited: ${result.exitCode ?? result.signal ?? "?"}`,
    );
    return result;
  });

  const stop = async (): Promise<void> => {
    if (!exited) {
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exit;
      clearTimeout(killer);
    }
    await rm(options.socket, { force: true });
    await rm(options.pidfile, { force: true });
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 30000);
  for (;;) {
    if (exited) {
      await stop();
      const detail = recentOutput
        .filter((line) => line.trim() !== "")
        .slice(-3)
        .join("; ");
      throw new UserError(
        `${program} could not serve ${describeSpec(spec)}: ${detail || "it exited at start"}`,
      );
    }
    // nbdkit writes its pidfile once it listens; qemu-nbd may write it a moment before, so for
    // it the socket must also accept (a probe nbdkit would log as a broken handshake).
    if (
      (await fileHasContent(options.pidfile)) &&
      (spec.kind === "nbdkit" || (await socketAccepts(options.socket)))
    )
      break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(
        `${program} did not start up within ${Math.round((options.startTimeoutMs ?? 30000) / 1000)} s (command: ${argv.join(" ")})`,
      );
    }
    await sleep(50);
  }
  await access(options.socket);
  return { socket: options.socket, pid: child.pid ?? -1, argv, stop };
}

function describeSpec(spec: ServerSpec): string {
  if (spec.kind === "qemu-nbd") return spec.file;
  const file = spec.params.find(([key]) => key === "file");
  return file ? file[1] : `the ${spec.plugin} plugin`;
}

/**
 * Whether nbdkit has this filter (virt-v2v's Nbdkit.probe_filter: `nbdkit null --filter=F
 * --version` succeeds), for the filters virt-v2v adds only when they exist (retry, cacheextents).
 */
export async function nbdkitHasFilter(filter: string): Promise<boolean> {
  const result = await execa("nbdkit", ["null", `--filter=${filter}`, "--version"], {
    env: { LANG: "C" },
    stdin: "ignore",
    reject: false,
  });
  return result.exitCode === 0;
}
