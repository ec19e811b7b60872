import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { UserError, nbdkitArgv, qemuNbdArgv, startServer } from "../src/index.js";

async function scratch(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "common-servers-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function alive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
    const state = (await execa("ps", ["-o", "stat=", "-p", String(pid)], { reject: false })).stdout;
    return String(state).trim() !== "" && !String(state).startsWith("Z");
  } catch {
    return false;
  }
}

test("nbdkit command lines put filters in command-line order, outermost first", () => {
  const argv = nbdkitArgv(
    {
      kind: "nbdkit",
      plugin: "file",
      filters: ["cow", "tar"],
      params: [
        ["file", "a.ova"],
        ["tar-entry", "disk.vmdk"],
      ],
    },
    { socket: "/w/in0", pidfile: "/w/tmp/in0.pid" },
  );
  assert.deepEqual(argv.slice(argv.indexOf("--filter=cow")), [
    "--filter=cow",
    "--filter=tar",
    "file",
    "file=a.ova",
    "tar-entry=disk.vmdk",
  ]);
  assert.ok(argv.includes("--exit-with-parent") && argv.includes("--foreground"));
  const qemu = qemuNbdArgv(
    { kind: "qemu-nbd", file: "d.vmdk", format: "vmdk", snapshot: true },
    { socket: "/w/in0", pidfile: "/w/p" },
  );
  assert.deepEqual(qemu.slice(0, 5), ["setpriv", "--pdeathsig", "TERM", "--", "qemu-nbd"]);
  assert.deepEqual(qemu.slice(-4), ["--snapshot", "--format", "vmdk", "d.vmdk"]);
});

test("a server serves once started, and stop() ends it and removes its socket", async (t) => {
  const dir = await scratch(t);
  const server = await startServer(
    { kind: "nbdkit", plugin: "memory", filters: [], params: [["size", "1M"]] },
    { socket: path.join(dir, "s"), pidfile: path.join(dir, "p"), tmpDir: dir, log: () => {} },
  );
  const info = await execa("nbdinfo", ["--size", `nbd+unix:///?socket=${server.socket}`]);
  assert.equal(String(info.stdout).trim(), "1048576");
  await server.stop();
  await assert.rejects(stat(server.socket));
  assert.equal(await alive(server.pid), false);
});

test("a server that cannot start gives its own reason as a UserError", async (t) => {
  const dir = await scratch(t);
  await assert.rejects(
    startServer(
      { kind: "qemu-nbd", file: path.join(dir, "missing.qcow2"), format: "qcow2", snapshot: true },
      { socket: path.join(dir, "s"), pidfile: path.join(dir, "p"), tmpDir: dir, log: () => {} },
    ),
    (err: unknown) =>
      err instanceof UserError &&
      /qemu-nbd could not serve .*missing\.qcow2: .*No such file or directory/.test(err.message),
  );
});

test("servers die with the process that started them, even when it is SIGKILLed", async (t) => {
  const dir = await scratch(t);
  // A small program that starts one nbdkit and one qemu-nbd, prints their pids, then waits.
  const script = path.join(dir, "starter.mjs");
  const common = path.resolve(
    path.dirname(new URL(import.meta.url).pathname),
    "..",
    "src",
    "index.js",
  );
  await execa("qemu-img", ["create", "-q", "-f", "qcow2", path.join(dir, "d.qcow2"), "1M"]);
  await writeFile(
    script,
    `import { startServer } from ${JSON.stringify(common)};
const opts = (n) => ({ socket: ${JSON.stringify(dir)} + "/s" + n, pidfile: ${JSON.stringify(dir)} + "/p" + n, tmpDir: ${JSON.stringify(dir)}, log: () => {} });
const a = await startServer({ kind: "nbdkit", plugin: "memory", filters: [], params: [["size", "1M"]] }, opts(1));
const b = await startServer({ kind: "qemu-nbd", file: ${JSON.stringify(path.join(dir, "d.qcow2"))}, format: "qcow2", snapshot: true }, opts(2));
console.log(JSON.stringify([a.pid, b.pid]));
setInterval(() => {}, 1000);
`,
  );
  const starter = execa(process.execPath, [script], { reject: false, buffer: false });
  const pids = await new Promise<number[]>((resolve) =>
    starter.stdout!.once("data", (chunk: Buffer) =>
      resolve(JSON.parse(chunk.toString()) as number[]),
    ),
  );
  // qemu-nbd runs under setpriv, which execs it: the pid is qemu-nbd's own.
  for (const pid of pids) assert.equal(await alive(pid), true);
  starter.kill("SIGKILL");
  await starter;
  for (let i = 0; i < 50 && (await Promise.all(pids.map(alive))).some(Boolean); i++)
    await new Promise((r) => setTimeout(r, 100));
  for (const pid of pids)
    assert.equal(await alive(pid), false, `server ${pid} outlived its parent`);
});
