/**
 * A STAND-IN for the `glance` command-line client (the real one needs an OpenStack cloud's
 * Glance service): a small Node program the tests write into a directory they put first on
 * $PATH, as upstream's test-v2v-o-glance.sh does (it uses `echo`). It logs every call (its
 * arguments as a JSON array, one line each) and keeps a pretend Glance in a state directory:
 *
 * - `image-list` prints an empty table; `--version` prints a version;
 * - `image-create … --file FILE …` stores a copy of FILE as images/ID (the bytes Glance would
 *   have received) and prints the image as the real client does, a Property/Value table whose
 *   "id" row names it;
 * - `image-delete ID` removes it.
 *
 * A failure is injected with FAIL ("image-create#2": the second image-create exits 1 with an
 * error message on stderr).
 */
import { chmod, mkdir, readFile, readdir, writeFile } from "node:fs/promises";
import path from "node:path";

export interface StandinGlance {
  binDir: string;
  /** The uploaded images, images/ID. */
  imagesDir: string;
  calls(): Promise<string[][]>;
  env(options?: { fail?: string }): NodeJS.ProcessEnv;
  /** The ids of the images Glance holds. */
  images(): Promise<string[]>;
}

const PROGRAM = String.raw`
const fs = require("node:fs");
const path = require("node:path");
const dir = process.env.STANDIN_GLANCE_DIR;
const argv = process.argv.slice(2);
fs.appendFileSync(path.join(dir, "log"), JSON.stringify(argv) + "\n");
const counterFile = path.join(dir, "counts.json");
const counts = JSON.parse(fs.readFileSync(counterFile, "utf8"));
const command = argv[0];
counts[command] = (counts[command] || 0) + 1;
fs.writeFileSync(counterFile, JSON.stringify(counts));
const injected = process.env.FAIL;
if (injected) {
  const [what, nth] = injected.split("#");
  if (command === what && counts[command] === Number(nth || 1)) {
    process.stderr.write("HTTP 500 Internal Server Error: injected failure of " + what + "\n");
    process.exit(1);
  }
}
const option = (name) => argv[argv.indexOf(name) + 1];
const table = (rows) => {
  const width = Math.max(8, ...rows.map(([key]) => key.length));
  const valueWidth = Math.max(5, ...rows.map(([, value]) => value.length));
  const rule = "+-" + "-".repeat(width) + "-+-" + "-".repeat(valueWidth) + "-+";
  const line = ([key, value]) => "| " + key.padEnd(width) + " | " + value.padEnd(valueWidth) + " |";
  return [rule, line(["Property", "Value"]), rule, ...rows.map(line), rule].join("\n") + "\n";
};
if (command === "image-list") {
  process.stdout.write("+----+------+\n| ID | Name |\n+----+------+\n+----+------+\n");
} else if (command === "--version") {
  process.stdout.write("4.3.0\n");
} else if (command === "image-create") {
  const id = "61a9ce0" + counts[command] + "-1111-4222-8333-" + String(counts[command]).padStart(12, "0");
  fs.copyFileSync(option("--file"), path.join(dir, "images", id));
  const format = argv.find((word) => word.startsWith("--disk-format=")).split("=")[1];
  process.stdout.write(table([
    ["container_format", "bare"],
    ["disk_format", format],
    ["id", id],
    ["min_ram", option("--min-ram")],
    ["name", option("--name")],
    ["size", String(fs.statSync(option("--file")).size)],
    ["status", "active"],
  ]));
} else if (command === "image-delete") {
  fs.rmSync(path.join(dir, "images", argv[1]));
} else {
  process.stderr.write("error: argument <subcommand>: invalid choice: '" + command + "'\n");
  process.exit(2);
}
`;

export async function standinGlance(dir: string): Promise<StandinGlance> {
  const binDir = path.join(dir, "bin");
  const imagesDir = path.join(dir, "images");
  for (const directory of [binDir, imagesDir]) await mkdir(directory, { recursive: true });
  const program = path.join(binDir, "glance");
  // CommonJS, so that it runs wherever the file is (no package.json says "module" there).
  await writeFile(program, `#!${process.execPath}\n"use strict";\n${PROGRAM}`);
  await chmod(program, 0o755);
  await writeFile(path.join(dir, "counts.json"), "{}");
  await writeFile(path.join(dir, "log"), "");
  return {
    binDir,
    imagesDir,
    async calls() {
      return (await readFile(path.join(dir, "log"), "utf8"))
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => JSON.parse(line) as string[]);
    },
    env(options = {}) {
      return {
        PATH: `${binDir}:${process.env.PATH ?? ""}`,
        STANDIN_GLANCE_DIR: dir,
        FAIL: options.fail ?? "",
      };
    },
    async images() {
      return (await readdir(imagesDir)).sort();
    },
  };
}
