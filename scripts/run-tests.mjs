#!/usr/bin/env node
/**
 * The test suite, as `npm test` runs it: every *.test.js under test/dist and each package's dist/test,
 * with Node's test runner, two files at a time (two cores; each appliance or guest boot takes
 * both). Files start longest first, by the durations measured in test/durations.json, so that
 * no long file starts when the rest are almost done (with two lanes, a 13-minute file started last
 * adds its whole length to the run). Files not in the table start after the listed ones, in name
 * order: new tests are short until measured.
 *
 *   node scripts/run-tests.mjs [--list]     --list prints the order and runs nothing
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
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

if (process.argv.includes("--list")) {
  for (const file of ordered) console.log(`${String(secondsOf(file)).padStart(5)}  ${file}`);
  process.exit(0);
}
const result = spawnSync(process.execPath, ["--test", "--test-concurrency=2", ...ordered], {
  cwd: root,
  stdio: "inherit",
});
process.exit(result.status ?? 1);
