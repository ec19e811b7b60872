#!/usr/bin/env node
/**
 * The test suite, as `npm test` runs it: every *.test.js under test/dist and each package's dist/test,
 * with Node's test runner, in two lanes (two cores; each appliance or guest boot takes both). Node
 * 20 sorts the files it is given by name, whatever their order, so a 13-minute file whose name
 * sorts last would start last; instead the files are dealt into two lanes by the durations
 * measured in test/durations.json, longest first, each to the lane with less work so far, and
 * each lane is one `node --test` run of its files, one at a time. Files not in the table count
 * as short until measured. The lanes' lines are printed as they come, prefixed [1] or [2]; the
 * exit status is 0 only if both lanes pass.
 *
 *   node scripts/run-tests.mjs [--list]     --list prints the lanes and runs nothing
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/** Every *.test.js below `dir`, as paths relative to the repository root. */
function testFiles(dir) {
  if (!existsSync(path.join(root, dir))) return [];
  return readdirSync(path.join(root, dir), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".test.js"))
    .map((entry) => path.relative(root, path.join(entry.parentPath ?? entry.path, entry.name)));
}

const packageDirs = readdirSync(path.join(root, "packages")).map((name) =>
  path.join("packages", name, "dist", "test"),
);
const files = [...testFiles(path.join("test", "dist")), ...packageDirs.flatMap(testFiles)].sort();

/** Seconds per test file (its source path, .ts), from a full run on this kind of machine. */
const durations = JSON.parse(readFileSync(path.join(root, "test", "durations.json"), "utf8"));
const secondsOf = (file) => {
  const source = file.replace("/dist/", "/").replace(/^test\/(?!src\/)/, "test/src/");
  return durations.seconds[source.replace(/\.js$/, ".ts")] ?? 0;
};
const ordered = [...files].sort((a, b) => secondsOf(b) - secondsOf(a) || a.localeCompare(b));
const LANES = 2;
const lanes = Array.from({ length: LANES }, () => ({ seconds: 0, files: [] }));
for (const file of ordered) {
  const lane = lanes.reduce((least, each) => (each.seconds < least.seconds ? each : least));
  lane.files.push(file);
  lane.seconds += secondsOf(file);
}

if (process.argv.includes("--list")) {
  for (const [index, lane] of lanes.entries()) {
    console.log(`lane ${index + 1}: ${lane.seconds} s measured`);
    for (const file of lane.files) console.log(`${String(secondsOf(file)).padStart(5)}  ${file}`);
  }
  process.exit(0);
}

const statuses = await Promise.all(
  lanes.map(
    (lane, index) =>
      new Promise((resolve) => {
        const child = spawn(
          process.execPath,
          ["--test", "--test-concurrency=1", "--test-reporter=tap", ...lane.files],
          { cwd: root, stdio: ["ignore", "pipe", "pipe"] },
        );
        for (const stream of [child.stdout, child.stderr]) {
          readline
            .createInterface({ input: stream, crlfDelay: Infinity })
            .on("line", (line) => process.stdout.write(`[${index + 1}] ${line}\n`));
        }
        child.on("close", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
      }),
  ),
);
console.log(`lanes: ${statuses.map((status, i) => `[${i + 1}] exit ${status}`).join(", ")}`);
process.exit(statuses.every((status) => status === 0) ? 0 : 1);
