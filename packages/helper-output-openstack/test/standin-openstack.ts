/**
 * A STAND-IN for the `openstack` command-line client (the real one needs an OpenStack cloud,
 * and the conversion appliance a VM in it): a small Node program the tests write into a
 * directory they put first on $PATH, as upstream's test-v2v-o-openstack.sh does with its fake
 * shell script. It logs every call (its arguments as a JSON array, one line each) and keeps a
 * pretend Cinder in a state directory:
 *
 * - `volume create -f json --size N … NAME` makes a volume: a sparse N GiB file
 *   cinder/ID (or, with loop devices, that file behind a loop device) and prints
 *   {"id": …, "status": "creating"|"available", …} as the real client's -f json does;
 * - `volume show -f json ID` prints its status ("creating" once when asked to, then
 *   "available"; "in-use" while attached);
 * - `server add volume SERVER ID` attaches it: the link BY-ID/virtio-<first 20 characters of
 *   ID> appears, to the file or the loop device, as udev makes it for a virtio disk whose
 *   serial OpenStack cut to 20 characters; `server remove volume` removes the link;
 * - `volume delete ID` removes the volume (refused while attached, as Cinder refuses);
 * - `token issue`, `volume set` succeed.
 *
 * A failure is injected with FAIL ("server add volume#2": the second call starting with these
 * words exits 1 with an error message on stderr, as the client does).
 */
import { mkdir, readFile, writeFile, chmod } from "node:fs/promises";
import path from "node:path";

export interface StandinOpenstack {
  /** The directory to put first on $PATH. */
  binDir: string;
  /** Where the pretend volumes are (cinder/ID). */
  cinderDir: string;
  /** The stand-in for /dev/disk/by-id (-oo dev-disk-by-id). */
  byIdDir: string;
  /** The calls so far, each the client's arguments. */
  calls(): Promise<string[][]>;
  /** The environment for a helper that is to find the stand-in. */
  env(options?: { fail?: string; creatingOnce?: boolean; loop?: boolean }): NodeJS.ProcessEnv;
  /** The pretend volumes: id → loop device ("" for a plain file). */
  volumes(): Promise<Record<string, { loop: string; attached: boolean }>>;
}

const PROGRAM = String.raw`
const fs = require("node:fs");
const path = require("node:path");
const { execFileSync } = require("node:child_process");
const dir = process.env.STANDIN_OPENSTACK_DIR;
const argv = process.argv.slice(2);
fs.appendFileSync(path.join(dir, "log"), JSON.stringify(argv) + "\n");
const stateFile = path.join(dir, "state.json");
const state = JSON.parse(fs.readFileSync(stateFile, "utf8"));
const save = () => fs.writeFileSync(stateFile, JSON.stringify(state));
// The global options (--os-…=…, --insecure) come before the subcommand.
const words = argv.slice(argv.findIndex((word) => !word.startsWith("--")));
const fail = (message) => {
  save();
  process.stderr.write(message + "\n");
  process.exit(1);
};
const command = words.slice(0, 3).join(" ");
state.counts[command] = (state.counts[command] || 0) + 1;
const injected = process.env.FAIL;
if (injected) {
  const [what, nth] = injected.split("#");
  if (words.join(" ").startsWith(what) && state.counts[command] === Number(nth || 1))
    fail("Injected failure of " + what + " (HTTP 500) (Request-ID: req-standin)");
}
const option = (name) => words[words.indexOf(name) + 1];
const volumeOf = (id) => {
  const volume = state.volumes[id];
  if (!volume) fail("No volume with a name or ID of '" + id + "' exists.");
  return volume;
};
const link = (id) => path.join(dir, "by-id", "virtio-" + id.slice(0, 20));
if (command === "token issue") {
  process.stdout.write("| expires | 2030-01-01T00:00:00+0000 |\n| id | gAAAAAB-standin-token |\n");
} else if (command === "volume create -f") {
  state.counter++;
  const id = "5tand1n" + state.counter + "-0000-4000-8000-" + String(state.counter).padStart(12, "0");
  const file = path.join(dir, "cinder", id);
  fs.writeFileSync(file, "");
  fs.truncateSync(file, Number(option("--size")) * 1024 * 1024 * 1024);
  let loop = "";
  if (process.env.STANDIN_LOOP === "1")
    loop = execFileSync("losetup", ["-f", "--show", file], { encoding: "utf8" }).trim();
  const status = process.env.CREATING_ONCE === "1" ? "creating" : "available";
  state.volumes[id] = { status, attached: false, loop, name: words.at(-1) };
  process.stdout.write(JSON.stringify({ id, status, size: Number(option("--size")), name: words.at(-1) }) + "\n");
} else if (command === "volume show -f") {
  const id = words.at(-1);
  const volume = volumeOf(id);
  const status = volume.attached ? "in-use" : volume.status;
  if (volume.status === "creating") volume.status = "available";
  process.stdout.write(JSON.stringify({ id, status, name: volume.name }) + "\n");
} else if (command === "server add volume") {
  const id = words[4];
  const volume = volumeOf(id);
  volume.attached = true;
  fs.symlinkSync(volume.loop || path.join(dir, "cinder", id), link(id));
} else if (command === "server remove volume") {
  const id = words[4];
  const volume = volumeOf(id);
  volume.attached = false;
  fs.rmSync(link(id), { force: true });
} else if (words.slice(0, 2).join(" ") === "volume set") {
  volumeOf(words.at(-1));
} else if (command.startsWith("volume delete")) {
  const id = words[2];
  const volume = volumeOf(id);
  if (volume.attached)
    fail("Invalid volume: Volume status must be available or error or error_restoring or error_extending or error_managing and must not be migrating, attached, belong to a group, have snapshots, awaiting a transfer, or be disassociated from snapshots after volume transfer. (HTTP 400)");
  if (volume.loop) execFileSync("losetup", ["-d", volume.loop]);
  fs.rmSync(path.join(dir, "cinder", id));
  delete state.volumes[id];
} else {
  fail("openstack: '" + words.join(" ") + "' is not an openstack command. See 'openstack --help'.");
}
save();
`;

/** Writes the stand-in into `dir` (bin/openstack, its state, cinder/, by-id/). */
export async function standinOpenstack(dir: string): Promise<StandinOpenstack> {
  const binDir = path.join(dir, "bin");
  const cinderDir = path.join(dir, "cinder");
  const byIdDir = path.join(dir, "by-id");
  for (const directory of [binDir, cinderDir, byIdDir]) await mkdir(directory, { recursive: true });
  const program = path.join(binDir, "openstack");
  // CommonJS, so that it runs wherever the file is (no package.json says "module" there).
  await writeFile(program, `#!${process.execPath}\n"use strict";\n${PROGRAM}`);
  await chmod(program, 0o755);
  await writeFile(
    path.join(dir, "state.json"),
    JSON.stringify({ counter: 0, volumes: {}, counts: {} }),
  );
  await writeFile(path.join(dir, "log"), "");
  const readState = async () =>
    JSON.parse(await readFile(path.join(dir, "state.json"), "utf8")) as {
      volumes: Record<string, { loop: string; attached: boolean }>;
    };
  return {
    binDir,
    cinderDir,
    byIdDir,
    async calls() {
      return (await readFile(path.join(dir, "log"), "utf8"))
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => JSON.parse(line) as string[]);
    },
    env(options = {}) {
      return {
        PATH: `${binDir}:${process.env.PATH ?? ""}`,
        STANDIN_OPENSTACK_DIR: dir,
        FAIL: options.fail ?? "",
        CREATING_ONCE: options.creatingOnce ? "1" : "",
        STANDIN_LOOP: options.loop ? "1" : "",
      };
    },
    async volumes() {
      return (await readState()).volumes;
    },
  };
}
