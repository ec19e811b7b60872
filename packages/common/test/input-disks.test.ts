/**
 * serveInputDisks: the overlay added in one place (nbdkit's cow filter outermost, qemu-nbd's
 * snapshot), and left off for an in-place conversion.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { NbdConnection } from "@split-v2v/libnbd";
import {
  inputDiskServerSpec,
  runCleanup,
  serveInputDisks,
  serverArgv,
  type InputDiskPlan,
} from "../src/index.js";

const launch = { socket: "/w/in0", pidfile: "/w/tmp/in0.pid" };

async function scratch(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "common-kit-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}
const rawPlan: InputDiskPlan = {
  server: {
    kind: "nbdkit",
    plugin: "file",
    filters: [],
    params: [
      ["file", "/src/disk.img"],
      ["cache", "none"],
    ],
  },
};

test("overlay: nbdkit gets the cow filter outermost, qemu-nbd --snapshot; without it the source as it is", () => {
  const withOverlay = serverArgv(inputDiskServerSpec(rawPlan, true), launch);
  assert.deepEqual(withOverlay.slice(withOverlay.indexOf("--filter=cow")), [
    "--filter=cow",
    "file",
    "file=/src/disk.img",
    "cache=none",
  ]);
  const inPlace = serverArgv(inputDiskServerSpec(rawPlan, false), launch);
  assert.ok(!inPlace.some((word) => word.startsWith("--filter")), inPlace.join(" "));
  assert.ok(!inPlace.includes("--readonly"));
  assert.deepEqual(inPlace.slice(inPlace.indexOf("file")), [
    "file",
    "file=/src/disk.img",
    "cache=none",
  ]);

  // A remote source: cow between the plan's outer filters (rate) and its own (retry), as in
  // virt-v2v 2.2, and cow-on-read only with the overlay.
  const remote: InputDiskPlan = {
    outerFilters: ["rate"],
    server: {
      kind: "nbdkit",
      plugin: "ssh",
      filters: ["retry"],
      params: [
        ["host", "h"],
        ["path", "/d-flat.vmdk"],
        ["rate", "10M"],
      ],
    },
    cowOnRead: "/w/convert",
  };
  const served = serverArgv(inputDiskServerSpec(remote, true), launch);
  assert.deepEqual(served.slice(served.indexOf("--filter=rate")), [
    "--filter=rate",
    "--filter=cow",
    "--filter=retry",
    "ssh",
    "cow-on-read=/w/convert",
    "host=h",
    "path=/d-flat.vmdk",
    "rate=10M",
  ]);
  const remoteInPlace = serverArgv(inputDiskServerSpec(remote, false), launch);
  assert.deepEqual(remoteInPlace.slice(remoteInPlace.indexOf("--filter=rate")), [
    "--filter=rate",
    "--filter=retry",
    "ssh",
    "host=h",
    "path=/d-flat.vmdk",
    "rate=10M",
  ]);

  const qcow2: InputDiskPlan = {
    server: { kind: "qemu-nbd", file: "/src/d.qcow2", format: "qcow2" },
  };
  const snapshot = serverArgv(inputDiskServerSpec(qcow2, true), launch);
  assert.deepEqual(snapshot.slice(-4), ["--snapshot", "--format", "qcow2", "/src/d.qcow2"]);
  const writable = serverArgv(inputDiskServerSpec(qcow2, false), launch);
  assert.ok(!writable.includes("--snapshot"));
  assert.deepEqual(writable.slice(-3), ["--format", "qcow2", "/src/d.qcow2"]);
});

test("a plan that brings its own overlay is refused: the kit is the only place that adds one", () => {
  const cow: InputDiskPlan = {
    server: { ...rawPlan.server, filters: ["cow"] } as InputDiskPlan["server"],
  };
  assert.throws(() => inputDiskServerSpec(cow, true), /no cow filter/);
  const snapshot = {
    server: { kind: "qemu-nbd", file: "d", format: "qcow2", snapshot: true },
  } as InputDiskPlan;
  assert.throws(() => inputDiskServerSpec(snapshot, false), /no qemu-nbd snapshot/);
});

test("serveInputDisks: with the overlay writes stay off the source; without it they land in it", async (t) => {
  const dir = await scratch(t);
  for (const overlay of [true, false]) {
    const source = path.join(dir, `source-${overlay}.img`);
    await writeFile(source, Buffer.alloc(1024 * 1024));
    const workdir = path.join(dir, `work-${overlay}`);
    await mkdir(workdir);
    const plan: InputDiskPlan = {
      server: { kind: "nbdkit", plugin: "file", filters: [], params: [["file", source]] },
    };
    const [served] = await serveInputDisks(workdir, [plan], {
      overlay,
      verbose: false,
      log: () => {},
    });
    assert.deepEqual(served, { socket: "in0", virtualSize: 1024 * 1024, overlay });
    const connection = await NbdConnection.connectUnix(path.join(workdir, "in0"));
    try {
      await connection.pwrite(4096n, Buffer.alloc(512, 0x5a));
      await connection.flush();
    } finally {
      connection.close();
    }
    const written = (await readFile(source))[4096];
    assert.equal(written, overlay ? 0 : 0x5a, `overlay ${overlay}`);
  }
  // The servers stop at the helper's cleanup (here: this test process's, which runs once).
  await runCleanup();
  assert.deepEqual(
    (await readdir(path.join(dir, "work-true"))).filter((name) => name === "in0"),
    [],
  );
});
