/**
 * KVM that does not work → TCG, decided quickly and remembered.
 *
 * On some hosts /dev/kvm exists but guests cannot run under it: qemu aborts at start (seen
 * here with libguestfs's `-cpu max`: "failed to set MSR 0x10a"), or the guest runs about a
 * thousand times slower than under TCG, so a kernel seems to hang and libguestfs never
 * finishes launching. The probe boots a 512-byte guest that does what a kernel does first
 * (real mode → protected mode → long mode with paging) and then counts down a 50-million
 * iteration loop, and checks that it finishes in time under KVM. If it does not, the same
 * guest must run under TCG (else the probe itself is what failed, and nothing is decided).
 */
import { constants } from "node:fs";
import { access, mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";

export interface AccelVerdict {
  accel: "kvm" | "tcg";
  reason: string;
  /** ISO time of the probe (or of this decision, when nothing was probed). */
  checkedAt: string;
  /** What the verdict depends on: kernel release, qemu binary (path, size, mtime), /dev/kvm. */
  key: string;
}

export interface EnsureWorkingAccelOptions {
  /** Where the verdict is cached (created if missing). */
  cacheDir: string;
  /** Told once per call when KVM is present but unusable (TCG is much slower). */
  warn: (line: string) => void;
  log?: (line: string) => void;
  /**
   * For the tests of this decision on any host: the KVM device to check (default /dev/kvm)
   * and the probe to run (default runAccelProbe), so that a working, a missing and a broken
   * KVM can each be shown where the machine has only one of them.
   */
  kvmDevice?: string;
  probe?: (accel: "kvm" | "tcg", options: AccelProbeOptions) => Promise<AccelProbeResult>;
}

export interface AccelProbeResult {
  accel: "kvm" | "tcg";
  /** The guest reached 64-bit code and finished its loop within the budget. */
  ok: boolean;
  /** Milliseconds from starting qemu to the guest's first byte; null if it never came. */
  startMs: number | null;
  /** Milliseconds the loop took; null if it did not finish in time. */
  runMs: number | null;
  /** One line saying what happened. */
  detail: string;
}

export interface AccelProbeOptions {
  /** qemu binary (default: $LIBGUESTFS_HV, else qemu-system-x86_64, as libguestfs). */
  qemu?: string;
  /** How long qemu may take to start the guest (KVM start-up alone took 2.7 s here). */
  startTimeoutMs?: number;
  /** How long the loop may take once started: ~0.03 s under working KVM, ~0.3 s under TCG. */
  runBudgetMs?: number;
  /** qemu -cpu model; default "max", the one libguestfs 1.48 uses. */
  cpu?: string;
}

const START_TIMEOUT_MS = 10_000;
const RUN_BUDGET_MS = 2_000;
const CACHE_FILE = "accel-verdict.json";
const SETTINGS_VARIABLE = "LIBGUESTFS_BACKEND_SETTINGS";
const FORCE_TCG = "force_tcg";

/**
 * The probe guest, instruction by instruction ([machine code, GNU as source]); assembled
 * with `as --64` and linked at 0x7c00. The guest writes "S" to COM1 once 64-bit code runs,
 * then "DONE\n" after the loop.
 */
// prettier-ignore
const PROBE_CODE: readonly (readonly [string, string])[] = [
  // _start (16-bit real mode, loaded at 0x7c00): load the GDT, enter protected mode
  ["fa", "cli"],
  ["31c0", "xor %ax,%ax"],
  ["8ed8", "mov %ax,%ds"],
  ["8ec0", "mov %ax,%es"],
  ["8ed0", "mov %ax,%ss"],
  ["bc007c", "mov $0x7c00,%sp"],
  ["660f0116d07c", "lgdtl gdtr"],
  ["0f20c0", "mov %cr0,%eax"],
  ["6683c801", "or $1,%eax"],
  ["0f22c0", "mov %eax,%cr0"],
  ["66ea247c00000800", "ljmpl $0x08,$pm32"],
  // pm32: flat segments; identity-map the first 2 MiB (PML4 0x1000, PDPT 0x2000, PD 0x3000)
  ["66b81000", "mov $0x10,%ax"],
  ["8ed8", "mov %ax,%ds"],
  ["8ec0", "mov %ax,%es"],
  ["8ed0", "mov %ax,%ss"],
  ["bf00100000", "mov $0x1000,%edi"],
  ["31c0", "xor %eax,%eax"],
  ["b9000c0000", "mov $0xc00,%ecx"],
  ["f3ab", "rep stosl"],
  ["c7050010000003200000", "movl $0x2003,0x1000"],
  ["c7050020000003300000", "movl $0x3003,0x2000"],
  ["c7050030000083000000", "movl $0x83,0x3000"],
  ["b800100000", "mov $0x1000,%eax"],
  ["0f22d8", "mov %eax,%cr3"],
  ["0f20e0", "mov %cr4,%eax"],
  ["83c820", "or $0x20,%eax"],
  ["0f22e0", "mov %eax,%cr4"],
  ["b9800000c0", "mov $0xC0000080,%ecx"],
  ["0f32", "rdmsr"],
  ["0d00010000", "or $0x100,%eax"],
  ["0f30", "wrmsr"],
  ["0f20c0", "mov %cr0,%eax"],
  ["0d00000080", "or $0x80000000,%eax"],
  ["0f22c0", "mov %eax,%cr0"],
  ["ea8b7c00001800", "ljmp $0x18,$lm64"],
  // lm64: 64-bit code. Say "S" on COM1, count down, say "DONE\n", halt
  ["66baf803", "mov $0x3f8,%dx"],
  ["b053", "mov $'S',%al"],
  ["ee", "out %al,%dx"],
  ["b980f0fa02", "mov $50000000,%ecx"],
  ["ffc9", "dec %ecx"],
  ["75fc", "jnz 1b"],
  ["488d3534000000", "lea msg(%rip),%rsi"],
  ["ac", "lodsb"],
  ["84c0", "test %al,%al"],
  ["7403", "jz 3f"],
  ["ee", "out %al,%dx"],
  ["ebf8", "jmp 2b"],
  ["fa", "cli"],
  ["f4", "hlt"],
  ["ebfc", "jmp 3b"],
  // data: GDT (null, code32, data32, code64), its descriptor, the message
  ["6690", ".align 8"],
  ["0000000000000000ffff0000009acf00ffff00000092cf00ffff0000009aaf00", ".quad 0, 0x00CF9A000000FFFF, 0x00CF92000000FFFF, 0x00AF9A000000FFFF"],
  ["1f00", ".word gdtr-gdt-1"],
  ["b07c0000", ".long gdt"],
  ["444f4e450a00", ".asciz \"DONE\\n\""],
];

/** The probe as a bootable 512-byte disk image (code, zero padding, 0x55 0xAA). */
export function accelProbeImage(): Buffer {
  const image = Buffer.alloc(512);
  Buffer.from(PROBE_CODE.map(([hex]) => hex).join(""), "hex").copy(image);
  image[510] = 0x55;
  image[511] = 0xaa;
  return image;
}

function defaultQemu(): string {
  return process.env.LIBGUESTFS_HV ?? "qemu-system-x86_64";
}

/** The qemu binary's path and identity (size, mtime): changes when qemu is upgraded. */
async function qemuIdentity(qemu: string): Promise<string | null> {
  const candidates = qemu.includes("/")
    ? [qemu]
    : (process.env.PATH ?? "").split(":").map((dir) => path.join(dir || ".", qemu));
  for (const candidate of candidates) {
    try {
      await access(candidate, constants.X_OK);
      const info = await stat(candidate);
      if (info.isFile()) return `${candidate} size=${info.size} mtime=${info.mtime.toISOString()}`;
    } catch {
      // not this one
    }
  }
  return null;
}

/** The line of qemu's stderr that explains a failure (its error, else its last line). */
function explainStderr(stderr: string): string {
  const lines = stderr
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.includes("terminating on signal"));
  const line = lines.find((l) => /error/i.test(l)) ?? lines[lines.length - 1] ?? "";
  return line.replace(/^[^:\s]*qemu[^:\s]*: /, "").replace(/^error: /, "");
}

/** Boots the probe guest under one accelerator and times it. Always kills its qemu. */
export async function runAccelProbe(
  accel: "kvm" | "tcg",
  options: AccelProbeOptions = {},
): Promise<AccelProbeResult> {
  const startTimeoutMs = options.startTimeoutMs ?? START_TIMEOUT_MS;
  const runBudgetMs = options.runBudgetMs ?? RUN_BUDGET_MS;
  const dir = await mkdtemp(path.join(os.tmpdir(), "split-v2v-accel-"));
  try {
    const image = path.join(dir, "probe.img");
    await writeFile(image, accelProbeImage());
    // libguestfs 1.48 runs qemu with -cpu max; some KVM hosts fail only with that model.
    const args = [
      ...["-accel", accel, "-cpu", options.cpu ?? "max", "-machine", "pc", "-m", "16"],
      ...["-nodefaults", "-no-user-config", "-display", "none", "-no-reboot"],
      ...["-serial", "stdio", "-drive", `file=${image},format=raw,if=ide`],
    ];
    const startedAt = performance.now();
    const qemu = execa(options.qemu ?? defaultQemu(), args, {
      stdin: "ignore",
      buffer: false,
      reject: false,
      // A backstop only: the timers below end the probe long before.
      timeout: startTimeoutMs + runBudgetMs + 5_000,
      killSignal: "SIGKILL",
    });
    let serial = "";
    let stderr = "";
    let startMs: number | null = null;
    let runMs: number | null = null;
    const timers: NodeJS.Timeout[] = [];
    const outcome = await new Promise<"done" | "noStart" | "tooSlow" | "exited">((resolve) => {
      timers.push(setTimeout(() => resolve("noStart"), startTimeoutMs));
      qemu.stdout?.on("data", (chunk: Buffer) => {
        serial += chunk.toString("latin1");
        const now = performance.now() - startedAt;
        if (startMs === null && serial.includes("S")) {
          startMs = now;
          clearTimeout(timers[0]);
          timers.push(setTimeout(() => resolve("tooSlow"), runBudgetMs));
        }
        if (startMs !== null && serial.includes("DONE\n")) {
          runMs = now - startMs;
          resolve("done");
        }
      });
      qemu.stderr?.on("data", (chunk: Buffer) => {
        stderr += chunk.toString("utf8");
      });
      qemu.on("exit", () => resolve("exited"));
      qemu.on("error", () => resolve("exited"));
    });
    for (const timer of timers) clearTimeout(timer);
    qemu.kill("SIGKILL");
    const result = await qemu;
    const label = accel.toUpperCase();
    switch (outcome) {
      case "done":
        return {
          accel,
          ok: true,
          startMs,
          runMs,
          detail: `the probe guest ran under ${label} (started in ${Math.round(startMs ?? 0)} ms, loop took ${Math.round(runMs ?? 0)} ms)`,
        };
      case "tooSlow":
        return {
          accel,
          ok: false,
          startMs,
          runMs: null,
          detail: `guests hang under ${label} (the probe guest started but did not finish its loop within ${runBudgetMs} ms)`,
        };
      case "noStart":
        return {
          accel,
          ok: false,
          startMs: null,
          runMs: null,
          detail: `guests do not start under ${label} (no output from the probe guest within ${startTimeoutMs} ms)`,
        };
      case "exited": {
        const why = explainStderr(stderr) || result.shortMessage || "no message";
        return {
          accel,
          ok: false,
          startMs,
          runMs: null,
          detail: `qemu fails under ${label} (${why})`,
        };
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Records the value split-v2v itself put in LIBGUESTFS_BACKEND_SETTINGS, to tell it from the
 * user's own. An environment variable, so that helpers started afterwards know it too.
 */
export const ACCEL_APPLIED_VARIABLE = "SPLIT_V2V_ACCEL_APPLIED";

function applyTcg(): void {
  process.env[SETTINGS_VARIABLE] = FORCE_TCG;
  process.env[ACCEL_APPLIED_VARIABLE] = FORCE_TCG;
}

function tcgWarning(reason: string): string {
  return `KVM is present but does not work on this host: ${reason}; using software emulation (TCG), which is slower`;
}

async function readCachedVerdict(file: string, key: string): Promise<AccelVerdict | null> {
  try {
    const parsed: unknown = JSON.parse(await readFile(file, "utf8"));
    if (typeof parsed !== "object" || parsed === null) return null;
    const v = parsed as Partial<AccelVerdict>;
    if (v.key !== key || (v.accel !== "kvm" && v.accel !== "tcg")) return null;
    if (typeof v.reason !== "string" || typeof v.checkedAt !== "string") return null;
    return { accel: v.accel, reason: v.reason, checkedAt: v.checkedAt, key: v.key };
  } catch {
    return null; // absent or unreadable: probe again
  }
}

async function writeCachedVerdict(file: string, verdict: AccelVerdict): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  // Write then rename, so a concurrent reader never sees half a file.
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(verdict, null, 2)}\n`);
  await rename(temporary, file);
}

/**
 * Decides how libguestfs must run qemu here. If LIBGUESTFS_BACKEND_SETTINGS is set by the
 * user it wins (nothing probed). Otherwise: no usable /dev/kvm → TCG (logged, no warning);
 * else the probe verdict, cached in cacheDir under kernel release + qemu binary identity
 * (path, size, mtime) + /dev/kvm presence. When KVM does not work, sets LIBGUESTFS_BACKEND_SETTINGS=force_tcg (read by every
 * libguestfs handle created afterwards) and calls warn() with one line.
 */
export async function ensureWorkingAccel(
  options: EnsureWorkingAccelOptions,
): Promise<AccelVerdict> {
  const log = options.log ?? (() => undefined);
  const now = (): string => new Date().toISOString();

  const userSettings = process.env[SETTINGS_VARIABLE];
  if (userSettings !== undefined && userSettings !== process.env[ACCEL_APPLIED_VARIABLE]) {
    const accel = userSettings.split(":").includes(FORCE_TCG) ? "tcg" : "kvm";
    const reason = `${SETTINGS_VARIABLE}=${userSettings} was set by the user`;
    log(`accel: ${reason}; not probing`);
    return { accel, reason, checkedAt: now(), key: "user-setting" };
  }

  if (process.arch !== "x64") {
    const reason = `the KVM probe exists for x86-64 hosts only; libguestfs chooses on ${process.arch}`;
    log(`accel: ${reason}`);
    return { accel: "kvm", reason, checkedAt: now(), key: `arch=${process.arch}` };
  }

  const kvmDevice = options.kvmDevice ?? "/dev/kvm";
  const probe = options.probe ?? runAccelProbe;
  try {
    await access(kvmDevice, constants.R_OK | constants.W_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === "ENOENT"
        ? `${kvmDevice} does not exist`
        : `${kvmDevice} is not usable by this user (${code ?? "error"})`;
    applyTcg();
    log(`accel: ${reason}; using TCG`);
    return { accel: "tcg", reason, checkedAt: now(), key: "kvm=absent" };
  }

  const qemu = defaultQemu();
  // Identified by file, not by running `qemu --version`: a cached verdict starts no qemu.
  const qemuId = await qemuIdentity(qemu);
  if (qemuId === null) {
    const reason = `cannot find ${qemu} to probe KVM`;
    log(`accel: ${reason}; leaving the choice to libguestfs`);
    return { accel: "kvm", reason, checkedAt: now(), key: "qemu=absent" };
  }
  const key = `kernel=${os.release()}; qemu=${qemuId}; kvm=present`;
  const cacheFile = path.join(options.cacheDir, CACHE_FILE);

  let verdict = await readCachedVerdict(cacheFile, key);
  if (verdict) {
    log(
      `accel: ${verdict.accel} (cached in ${cacheFile} at ${verdict.checkedAt}: ${verdict.reason})`,
    );
  } else {
    const kvm = await probe("kvm", { qemu });
    log(`accel: KVM probe: ${kvm.detail}`);
    if (kvm.ok) {
      verdict = { accel: "kvm", reason: kvm.detail, checkedAt: now(), key };
    } else {
      // The same guest must run under TCG, or the probe (not KVM) is what failed.
      // A sanity check, not a race: give TCG time even on a loaded host.
      const tcg = await probe("tcg", { qemu, runBudgetMs: 10_000 });
      log(`accel: TCG probe: ${tcg.detail}`);
      if (!tcg.ok) {
        const reason = `probe inconclusive (${kvm.detail}; ${tcg.detail})`;
        log(`accel: ${reason}; leaving the choice to libguestfs`);
        return { accel: "kvm", reason, checkedAt: now(), key };
      }
      verdict = { accel: "tcg", reason: kvm.detail, checkedAt: now(), key };
    }
    try {
      await writeCachedVerdict(cacheFile, verdict);
    } catch (error) {
      log(`accel: cannot cache the verdict in ${cacheFile}: ${String(error)}`);
    }
  }
  if (verdict.accel === "tcg") {
    applyTcg();
    options.warn(tcgWarning(verdict.reason));
  }
  return verdict;
}
