/**
 * The helper kit's command-line frame, run as programs: an input helper's --precheck and setup,
 * an output helper's stages.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { execa } from "execa";

async function scratch(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "common-kit-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}
/** A helper program built on the kit, in a file of its own (the kit parses process.argv). */
async function fixtureHelper(dir: string, kind: "input" | "output"): Promise<string> {
  const kit = new URL("../src/index.js", import.meta.url).href;
  const file = path.join(dir, `${kind}-helper.mjs`);
  const input = `
import { access, writeFile } from "node:fs/promises";
import path from "node:path";
import { UserError, defineInputHelper } from ${JSON.stringify(kit)};
defineInputHelper({
  mode: {
    kind: "input", name: "fixture", aliases: [], program: "helper-v2v-input-fixture",
    helperPackage: "none", summary: "a test", usage: "-i fixture FILE", options: [],
    transports: [], bandwidth: false, capabilities: [],
    helperArgs: (request) => ["--", ...request.args], description: () => "-i fixture",
  },
  argsSynopsis: "FILE",
  help: "Serves nothing.",
  options: { flavour: { type: "string", describe: "A mode option" } },
  async precheck(request) {
    try { await access(request.args[0] ?? "", 4); }
    catch { throw new UserError("-i fixture: cannot read " + request.args[0]); }
    return { file: request.args[0], stage: request.stage, flavour: request.options.flavour ?? null };
  },
  async setup(checked, request) {
    await writeFile(path.join(request.workdir, "setup"), JSON.stringify({ checked, overlay: request.overlay }));
    setInterval(() => {}, 1000); // a server would keep the helper alive until it is stopped
    return { sockets: ["in0"] };
  },
});
`;
  const output = `
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { UserError, defineOutputHelper } from ${JSON.stringify(kit)};
const note = (request, what) => writeFile(path.join(request.workdir, what), "");
defineOutputHelper({
  mode: {
    kind: "output", name: "fixture", aliases: [], program: "helper-v2v-output-fixture",
    helperPackage: "none", summary: "a test", usage: "-o fixture", options: [], capabilities: [],
    stages: ["precheck", "setup", "final"], targetIsZero: true,
    helperArgs: () => [], description: () => "-o fixture",
  },
  help: "Writes nothing.",
  options: { os: { type: "string" } },
  async precheck(request) {
    if (request.options.os === "bad") throw new UserError("-os bad: refused");
    await note(request, "prechecked");
    return "checked";
  },
  async setup(checked, request) {
    await note(request, "setup-" + checked);
    setInterval(() => {}, 1000);
    return [];
  },
  async final(checked, request) { await note(request, "final-" + checked); },
});
`;
  await writeFile(file, kind === "input" ? input : output);
  return file;
}

type Events = Array<Record<string, unknown>>;

/** Runs a helper to its end (a serving one is stopped with SIGTERM once ready). */
async function runToEnd(program: string, args: string[], cwd: string) {
  const child = execa(process.execPath, [program, ...args], { cwd, reject: false, buffer: false });
  const events: Events = [];
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  readline.createInterface({ input: child.stdout! }).on("line", (line) => {
    const event = JSON.parse(line) as Record<string, unknown>;
    events.push(event);
    if (event.event === "ready") child.kill("SIGTERM");
  });
  const result = await child;
  return { exitCode: result.exitCode, events, stderr };
}

test("input frame: --precheck checks and exits, writing nothing; without it, precheck then setup", async (t) => {
  const dir = await scratch(t);
  const helper = await fixtureHelper(dir, "input");
  const workdir = path.join(dir, "work");
  await mkdir(workdir);
  const source = path.join(dir, "source");
  await writeFile(source, "x");

  const missing = await runToEnd(helper, ["--precheck", workdir, path.join(dir, "nope")], dir);
  assert.equal(missing.exitCode, 1);
  assert.match(missing.stderr, /^helper-v2v-input-fixture: error: -i fixture: cannot read /m);
  assert.deepEqual(missing.events, [
    { event: "error", text: `-i fixture: cannot read ${path.join(dir, "nope")}`, bug: false },
  ]);
  assert.deepEqual(await readdir(workdir), [], "nothing in the work dir");

  const good = await runToEnd(helper, ["--precheck", "--flavour", "x", workdir, source], dir);
  assert.equal(good.exitCode, 0, good.stderr);
  assert.deepEqual(good.events, []);
  assert.deepEqual(await readdir(workdir), [], "setup did not run");

  // Today's command line: setup (after the precheck, whose result it gets), served until stopped.
  const setup = await runToEnd(helper, [workdir, "--flavour", "y", "--", source], dir);
  assert.equal(setup.exitCode, 0, setup.stderr);
  assert.deepEqual(setup.events, [{ event: "ready", sockets: ["in0"] }]);
  assert.deepEqual(JSON.parse(await readFile(path.join(workdir, "setup"), "utf8")), {
    checked: { file: source, stage: "setup", flavour: "y" },
    overlay: true,
  });

  // A work dir literally named "precheck" is a work dir, as it always was.
  await mkdir(path.join(dir, "precheck"));
  const named = await runToEnd(helper, ["precheck", "source"], dir);
  assert.equal(named.exitCode, 0, named.stderr);
  assert.deepEqual(named.events, [{ event: "ready", sockets: ["in0"] }]);
  assert.ok((await readdir(path.join(dir, "precheck"))).includes("setup"));

  const described = await execa(process.execPath, [helper, "--describe"]);
  assert.equal(JSON.parse(described.stdout).name, "fixture");
  const help = await execa(process.execPath, [helper, "--help"]);
  assert.match(help.stdout, /^helper-v2v-input-fixture \[--precheck\] \[options\] WORKDIR FILE$/m);
  assert.match(help.stdout, /--flavour/);
  assert.match(help.stdout, /--exit-with-parent/);
  const unknown = await runToEnd(helper, ["--bogus", workdir, source], dir);
  assert.equal(unknown.exitCode, 1);
  assert.match(unknown.stderr, /Unknown argument: bogus/);
});

test("output frame: the precheck before every stage, the stage named first, an unknown one refused", async (t) => {
  const dir = await scratch(t);
  const helper = await fixtureHelper(dir, "output");
  const workdir = path.join(dir, "work");
  await mkdir(workdir);
  const files = async () => (await readdir(workdir)).sort();

  assert.equal((await runToEnd(helper, ["precheck", workdir], dir)).exitCode, 0);
  assert.deepEqual(await files(), ["prechecked"]);
  const setup = await runToEnd(helper, ["setup", workdir, "-os", "dir"], dir);
  assert.deepEqual(setup.events, [{ event: "ready", sockets: [] }]);
  assert.equal((await runToEnd(helper, ["final", workdir], dir)).exitCode, 0);
  assert.deepEqual(await files(), ["final-checked", "prechecked", "setup-checked"]);

  await rm(workdir, { recursive: true });
  await mkdir(workdir);
  const refused = await runToEnd(helper, ["setup", workdir, "-os", "bad"], dir);
  assert.equal(refused.exitCode, 1);
  assert.deepEqual(refused.events, [{ event: "error", text: "-os bad: refused", bug: false }]);
  assert.deepEqual(await files(), [], "setup never ran");
  const unknown = await runToEnd(helper, ["serve", workdir], dir);
  assert.equal(unknown.exitCode, 1);
  assert.match(unknown.stderr, /unknown stage 'serve': expected precheck, setup or final/);
  assert.deepEqual(await files(), [], "nor the precheck");
  const help = await execa(process.execPath, [helper, "--help"]);
  assert.match(
    help.stdout,
    /^helper-v2v-output-fixture precheck\|setup\|final WORKDIR \[options\]$/m,
  );
});
