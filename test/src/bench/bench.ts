/**
 * npm run bench: the same conversion by split-v2v and by Debian's virt-v2v 2.2, on the same input,
 * alternating, side by side. Prints wall time per stage (from the "[  12.3] …" messages both
 * print) and in all, bytes written to the target, peak memory of each tool's own processes (not
 * the appliance, which is the same qemu for both), and the ratios split-v2v / virt-v2v.
 *
 *   BENCH_ROUNDS=N       rounds per tool (default 1)
 *   BENCH_OUTPUT=local   -o local (default) or null
 */
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { debianGuest } from "../fixtures/debian-guest.js";
import { VIRT_V2V } from "../support/run.js";

const DEBIAN_VIRT_V2V = "/usr/bin/virt-v2v";

/** Stage boundaries, by the message that starts each stage (identical in both tools). */
const STAGES: Array<{ name: string; starts: RegExp }> = [
  { name: "input", starts: /^Setting up the source/ },
  { name: "convert", starts: /^Opening the source/ },
  { name: "output setup", starts: /^Setting up the destination/ },
  { name: "copy", starts: /^Copying disk 1\// },
  { name: "final", starts: /^Creating output metadata/ },
  { name: "finish", starts: /^Finishing off/ },
];

interface Measurement {
  tool: string;
  /** Warnings the tool printed (virt-v2v prints them on stdout). */
  warnings: string[];
  wallSeconds: number;
  stageSeconds: Record<string, number>;
  bytesWritten: number;
  peakRssBytes: number;
}

async function ensureDebianVirtV2v(): Promise<void> {
  try {
    await stat(DEBIAN_VIRT_V2V);
  } catch {
    console.log("bench: installing Debian's virt-v2v 2.2 for the comparison");
    await execa("apt-get", ["install", "-y", "-q", "--no-install-recommends", "virt-v2v"], {
      stdio: "inherit",
      env: { DEBIAN_FRONTEND: "noninteractive" },
    });
  }
}

/** RSS of `pid` and its descendants whose command is one of `names`. */
async function treeRss(pid: number, names: Set<string>): Promise<number> {
  const children = new Map<number, number[]>();
  const info = new Map<number, { comm: string; rss: number }>();
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const statText = await readFile(`/proc/${entry}/stat`, "utf8");
      const comm = statText.slice(statText.indexOf("(") + 1, statText.lastIndexOf(")"));
      const fields = statText.slice(statText.lastIndexOf(")") + 2).split(" ");
      const ppid = Number(fields[1]);
      const rssPages = Number(fields[21]);
      info.set(Number(entry), { comm, rss: rssPages * 4096 });
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone
    }
  }
  let total = 0;
  const stack = [pid];
  while (stack.length > 0) {
    const current = stack.pop()!;
    const entry = info.get(current);
    if (entry && names.has(entry.comm)) total += entry.rss;
    stack.push(...(children.get(current) ?? []));
  }
  return total;
}

async function directoryAllocatedBytes(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir)) total += (await stat(path.join(dir, name))).blocks * 512;
  return total;
}

async function measure(
  tool: "split-v2v" | "virt-v2v",
  image: string,
  outputMode: string,
): Promise<Measurement> {
  const outDir = await mkdtemp(path.join(os.tmpdir(), `bench-${tool}-`));
  const argv = [
    "-i",
    "disk",
    image,
    "-o",
    outputMode,
    ...(outputMode === "local" ? ["-os", outDir] : []),
  ];
  const command =
    tool === "split-v2v" ? [process.execPath, VIRT_V2V, ...argv] : [DEBIAN_VIRT_V2V, ...argv];
  // Our own processes are Node programs; virt-v2v's is the OCaml binary. nbdkit, qemu-nbd and
  // nbdcopy are counted for both: they are the data path each tool chose.
  const names = new Set(
    tool === "split-v2v"
      ? ["node", "nbdkit", "qemu-nbd", "nbdcopy"]
      : ["virt-v2v", "nbdkit", "qemu-nbd", "nbdcopy"],
  );
  const started = process.hrtime.bigint();
  const child = execa(command[0]!, command.slice(1), {
    reject: false,
    env: { LIBGUESTFS_BACKEND_SETTINGS: process.env.LIBGUESTFS_BACKEND_SETTINGS ?? "force_tcg" },
  });
  let peakRss = 0;
  const sampler = setInterval(() => {
    if (child.pid !== undefined)
      void treeRss(child.pid, names).then((rss) => (peakRss = Math.max(peakRss, rss)));
  }, 250);
  const result = await child;
  clearInterval(sampler);
  const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.exitCode !== 0)
    throw new Error(`${tool} failed (${result.exitCode}): ${String(result.stderr)}`);

  const stamps: Array<{ name: string; at: number }> = [];
  for (const line of String(result.stdout).split("\n")) {
    const match = /^\[ *(\d+\.\d)\] (.*)$/.exec(line);
    if (!match) continue;
    const stage = STAGES.find((candidate) => candidate.starts.test(match[2]!));
    if (stage && !stamps.some((s) => s.name === stage.name))
      stamps.push({ name: stage.name, at: Number(match[1]) });
  }
  const stageSeconds: Record<string, number> = {};
  stamps.forEach((stamp, index) => {
    const end = stamps[index + 1]?.at ?? wallSeconds;
    stageSeconds[stamp.name] = end - stamp.at;
  });
  const bytesWritten = outputMode === "local" ? await directoryAllocatedBytes(outDir) : 0;
  await rm(outDir, { recursive: true, force: true });
  const warnings = String(result.stdout)
    .split("\n")
    .filter((line) => line.startsWith("virt-v2v: warning: "));
  return { tool, warnings, wallSeconds, stageSeconds, bytesWritten, peakRssBytes: peakRss };
}

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
}

function row(label: string, ours: number, theirs: number, unit: (v: number) => string): string {
  const ratio = theirs > 0 ? (ours / theirs).toFixed(2) : "n/a";
  return `${label.padEnd(16)} ${unit(ours).padStart(12)} ${unit(theirs).padStart(12)} ${ratio.padStart(8)}`;
}

async function main(): Promise<void> {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 1);
  const outputMode = process.env.BENCH_OUTPUT ?? "local";
  await ensureDebianVirtV2v();
  const guest = await debianGuest("bios");
  console.log(
    `bench: ${rounds} round(s) per tool, -i disk ${guest.path} -o ${outputMode}, alternating`,
  );
  const results: Record<string, Measurement[]> = { "split-v2v": [], "virt-v2v": [] };
  for (let round = 0; round < rounds; round++) {
    // Alternate who goes first, so neither always gets the warm page cache.
    const order: Array<"split-v2v" | "virt-v2v"> =
      round % 2 === 0 ? ["split-v2v", "virt-v2v"] : ["virt-v2v", "split-v2v"];
    for (const tool of order) {
      const measurement = await measure(tool, guest.path, outputMode);
      console.log(`bench: round ${round + 1} ${tool}: ${measurement.wallSeconds.toFixed(1)} s`);
      results[tool]!.push(measurement);
    }
  }
  const ours = results["split-v2v"]!;
  const theirs = results["virt-v2v"]!;
  const seconds = (v: number) => `${v.toFixed(1)} s`;
  const mebibytes = (v: number) => `${(v / 2 ** 20).toFixed(1)} MiB`;
  console.log(
    `\n${"".padEnd(16)} ${"split-v2v".padStart(12)} ${"virt-v2v 2.2".padStart(12)} ${"ratio".padStart(8)}`,
  );
  for (const stage of STAGES) {
    const a = mean(ours.map((m) => m.stageSeconds[stage.name] ?? 0));
    const b = mean(theirs.map((m) => m.stageSeconds[stage.name] ?? 0));
    console.log(row(`stage ${stage.name}`, a, b, seconds));
  }
  console.log(
    row(
      "total wall time",
      mean(ours.map((m) => m.wallSeconds)),
      mean(theirs.map((m) => m.wallSeconds)),
      seconds,
    ),
  );
  console.log(
    row(
      "bytes written",
      mean(ours.map((m) => m.bytesWritten)),
      mean(theirs.map((m) => m.bytesWritten)),
      mebibytes,
    ),
  );
  console.log(
    row(
      "peak memory",
      mean(ours.map((m) => m.peakRssBytes)),
      mean(theirs.map((m) => m.peakRssBytes)),
      mebibytes,
    ),
  );
  console.log("\n(ratio < 1: split-v2v is faster / smaller)");
  // A ratio is only fair when both did the same work: say so when ours did less.
  const skipped = ours
    .flatMap((m) => m.warnings)
    .filter((line) => /does not yet modify/.test(line));
  if (skipped.length > 0) {
    console.log(
      "note: split-v2v did not make all of virt-v2v's guest changes in this version (see its warning below);\n" +
        "      the convert stage and the total are not comparable yet:\n      " +
        [...new Set(skipped)].join("\n      "),
    );
  }
}

main().catch((err: unknown) => {
  console.error(`bench: error: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
