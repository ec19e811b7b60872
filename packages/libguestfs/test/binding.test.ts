// The binding without an appliance: the call table against the real libguestfs.so and its
// header, configuration calls, errors, log capture, and what happens at process exit.
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import assert from "node:assert/strict";

import { execa } from "execa";

import { CALLS, Guestfs, GuestfsError, type CallName, type LogKind } from "../src/index.js";
import { bindingFor } from "../src/ffi.js";

const HEADER = "/usr/include/guestfs.h";
const callNames = Object.keys(CALLS) as CallName[];

test("every call in the table is declared, unchanged and not deprecated, in guestfs.h", (t) => {
  if (!existsSync(HEADER)) {
    t.skip(`${HEADER} is absent (libguestfs-dev not installed)`);
    return;
  }
  const header = readFileSync(HEADER, "utf8");
  for (const name of callNames) {
    const prototype = CALLS[name][1];
    const at = header.indexOf(`extern GUESTFS_DLL_PUBLIC ${prototype}`);
    assert.ok(at >= 0, `${name}: "${prototype}" not in ${HEADER}`);
    const declaration = header.slice(at, header.indexOf(";", at));
    assert.doesNotMatch(declaration, /DEPRECATED/, `${name} is deprecated`);
  }
});

test("every call in the table binds to libguestfs.so and has a Guestfs method", () => {
  const methods = Guestfs.prototype as unknown as Record<string, unknown>;
  for (const name of callNames) {
    assert.doesNotThrow(() => bindingFor(name), `${name} does not bind`);
    assert.equal(typeof methods[name], "function", `Guestfs has no method ${name}`);
  }
});

test("configuration calls are synchronous and read back what was set", async () => {
  const g = await Guestfs.create();
  const traces: string[] = [];
  g.onLog((_kind, text) => traces.push(text));
  try {
    assert.deepEqual(g.version(), { major: 1, minor: 48, release: g.version().release, extra: "" });
    g.setIdentifier("binding-test");
    assert.equal(g.getIdentifier(), "binding-test");
    g.setMemsize(g.getMemsize() * 2);
    assert.ok(g.getMemsize() >= 512);
    g.setSmp(2);
    assert.equal(g.getSmp(), 2);
    g.setBackendSettings(["force_tcg", "note=ü"]);
    assert.deepEqual(g.getBackendSettings(), ["force_tcg", "note=ü"]);
    g.setTrace(true);
    assert.equal(g.getTrace(), true);
    g.setNetwork(true);
    assert.equal(g.getNetwork(), true);
    assert.equal(typeof g.getBackend(), "string");
    assert.ok(g.getCachedir().startsWith("/"));
    assert.ok(traces.includes("get_network = 1"), "traced on the caller's thread");
  } finally {
    await g.close();
  }
});

test("failures throw GuestfsError with libguestfs's message, errno and the C call", async () => {
  const g = new Guestfs();
  try {
    assert.throws(
      () => g.setMemsize(1),
      (error: unknown) =>
        error instanceof GuestfsError &&
        error.call === "guestfs_set_memsize" &&
        /too small value for memsize/.test(error.message),
    );
    await assert.rejects(g.mount("/dev/sda1", "/"), (error: unknown) => {
      assert.ok(error instanceof GuestfsError);
      assert.equal(error.call, "guestfs_mount");
      assert.match(error.message, /call launch before using this function/);
      return true;
    });
    await assert.rejects(
      g.addDrive("/nonexistent/disk.img", { format: "raw" }),
      (error: unknown) => {
        assert.ok(error instanceof GuestfsError);
        assert.equal(error.code, "ENOENT");
        return true;
      },
    );
    // Mistakes in the arguments are the caller's, not libguestfs's.
    await assert.rejects(
      g.addDrive("disk.img", { readOnly: true } as unknown as { readonly: boolean }),
      TypeError,
    );
  } finally {
    await g.close();
  }
});

test("log messages of synchronous and worker calls reach onLog, in order", async () => {
  const g = new Guestfs();
  const messages: [LogKind, string][] = [];
  const detach = g.onLog((kind, text) => messages.push([kind, text]));
  try {
    g.setTrace(true);
    g.getMemsize();
    await g.exists("/").catch(() => undefined);
    await g.addDrive("", { format: "raw", protocol: "nbd", server: ["unix:/nonexistent.sock"] });
    const traces = messages.filter(([kind]) => kind === "trace").map(([, text]) => text);
    assert.deepEqual(traces.slice(0, 3), ["get_memsize", "get_memsize = 1280", 'exists "/"']);
    assert.ok(
      traces.includes('add_drive "" "format:raw" "protocol:nbd" "server:unix:/nonexistent.sock"'),
    );
    detach();
    const count = messages.length;
    g.getSmp();
    assert.equal(messages.length, count, "a detached listener hears nothing");
  } finally {
    await g.close();
  }
});

test("a synchronous call is refused while a worker call is in progress", async () => {
  const g = new Guestfs();
  try {
    const inProgress = g.exists("/").catch(() => undefined);
    assert.throws(() => g.getMemsize(), /in progress; await it first/);
    await inProgress;
    assert.equal(typeof g.getMemsize(), "number");
  } finally {
    await g.close();
  }
});

test("close is idempotent, and a closed handle refuses calls", async () => {
  const g = new Guestfs();
  await Promise.all([g.close(), g.close()]);
  await g.close();
  assert.throws(() => g.getMemsize(), /closed/);
  await assert.rejects(g.launch(), /closed/);
});

test("exiting with handles still open (idle or busy, with log listeners) exits cleanly", async () => {
  const dir = await mkdtemp(join(tmpdir(), "libguestfs-exit-test-"));
  try {
    const index = new URL("../src/index.js", import.meta.url).href;
    const script = join(dir, "exit.mjs");
    await writeFile(
      script,
      `import { Guestfs } from ${JSON.stringify(index)};
const idle = new Guestfs();
idle.onLog(() => {});
idle.setTrace(true);
const busy = new Guestfs();
busy.onLog(() => {});
busy.setTrace(true);
// No format given: libguestfs runs qemu-img to probe it, so the call takes a while.
busy.addDrive(${JSON.stringify(fileURLToPath(import.meta.url))}).catch(() => {});
setTimeout(() => process.exit(Number(process.argv[2])), Number(process.argv[3]));
`,
    );
    for (const delayMs of [0, 5, 50]) {
      const result = await execa("node", [script, "3", String(delayMs)], { reject: false });
      assert.equal(result.exitCode, 3, `exit after ${delayMs} ms: ${result.stderr}`);
      // libguestfs's own atexit close ran, with no callback left attached: its trace line.
      assert.match(result.stderr, /libguestfs: trace: close/);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
