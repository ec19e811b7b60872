// Tests against real nbdkit servers on Unix sockets: no mocks.
import { randomBytes } from "node:crypto";
import { access, mkdtemp, open, rm } from "node:fs/promises";
import { constants, tmpdir } from "node:os";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";

import { execa } from "execa";

import { NbdConnection, NbdError, compareExports, libnbdVersion } from "../src/index.js";

const MiB = 1024 * 1024;

/**
 * What one test sets up, torn down in reverse order after it: connections are closed before their
 * servers are stopped (nbdkit waits for connected clients before it exits on SIGTERM).
 */
class Harness {
  readonly #cleanups: (() => unknown)[] = [];

  private constructor(readonly dir: string) {}

  static async create(t: TestContext): Promise<Harness> {
    const harness = new Harness(await mkdtemp(join(tmpdir(), "libnbd-test-")));
    harness.#cleanups.push(() => rm(harness.dir, { recursive: true, force: true }));
    t.after(async () => {
      for (const cleanup of harness.#cleanups.reverse()) await cleanup();
    });
    return harness;
  }

  /** Starts `nbdkit ARGS` on a Unix socket and waits for its pidfile. */
  async nbdkit(name: string, args: string[]) {
    const socket = join(this.dir, `${name}.sock`);
    const pidfile = join(this.dir, `${name}.pid`);
    const server = execa(
      "nbdkit",
      ["--exit-with-parent", "--foreground", "--unix", socket, "--pidfile", pidfile, ...args],
      { reject: false, stdin: "ignore", stdout: "ignore", stderr: "pipe" },
    );
    this.#cleanups.push(async () => {
      server.kill();
      await server;
    });
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        await access(pidfile);
        return { socket, uri: `nbd+unix:///?socket=${socket}`, server };
      } catch {
        if (server.exitCode !== null) {
          const result = await server;
          throw new Error(`nbdkit ${args.join(" ")} exited: ${String(result.stderr)}`);
        }
        if (Date.now() > deadline) throw new Error(`nbdkit ${args.join(" ")} did not start`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  }

  /** Registers an already open connection for closing after the test. */
  own(connection: NbdConnection): NbdConnection {
    this.#cleanups.push(() => connection.close());
    return connection;
  }

  async connect(socket: string, opts?: { exportName?: string }): Promise<NbdConnection> {
    return this.own(await NbdConnection.connectUnix(socket, opts));
  }
}

/** A 64 MiB sparse file with random data in two places; returns the path and what was written. */
async function makeSparseImage(dir: string) {
  const path = join(dir, "sparse.img");
  const file = await open(path, "w");
  const written = [
    { offset: 1 * MiB, data: randomBytes(64 * 1024) },
    { offset: 10 * MiB, data: randomBytes(4096) },
  ];
  try {
    await file.truncate(64 * MiB);
    for (const { offset, data } of written) await file.write(data, 0, data.length, offset);
  } finally {
    await file.close();
  }
  return { path, size: 64 * MiB, written };
}

test("libnbdVersion reports the installed libnbd", () => {
  assert.match(libnbdVersion(), /^1\.\d+\.\d+/);
});

test("a memory export: size, flags, pwrite then pread, flush", async (t) => {
  const h = await Harness.create(t);
  const { socket } = await h.nbdkit("mem", ["memory", "size=64M"]);
  const connection = await h.connect(socket);

  assert.equal(connection.size, 64n * BigInt(MiB));
  assert.equal(connection.isReadOnly(), false);
  assert.equal(connection.canFlush(), true);
  assert.equal(connection.canTrim(), true);
  assert.equal(connection.canZero(), true);
  assert.equal(connection.canMetaContext("base:allocation"), true);
  assert.equal(connection.canMetaContext("qemu:dirty-bitmap:x"), false);
  for (const flag of [connection.canFua(), connection.canCache(), connection.canMultiConn()]) {
    assert.equal(typeof flag, "boolean");
  }
  assert.equal(connection.canFastZero(), true);
  assert.equal(connection.exportName(), "");

  const data = randomBytes(3 * MiB + 17);
  await connection.pwrite(BigInt(MiB) + 3n, data);
  await connection.flush();
  assert.deepEqual(await connection.pread(BigInt(MiB) + 3n, data.length), data);
  assert.deepEqual(await connection.pread(0n, 16), Buffer.alloc(16));
  assert.equal((await connection.pread(0n, 0)).length, 0);
});

test("pread returns the bytes the server holds (data plugin), also through connectUri", async (t) => {
  const h = await Harness.create(t);
  const { uri } = await h.nbdkit("data", ["data", "raw=hello, split-v2v", "size=8192"]);
  const connection = h.own(await NbdConnection.connectUri(uri));

  assert.equal(connection.size, 8192n);
  assert.equal((await connection.pread(0n, 16)).toString("latin1"), "hello, split-v2v");
  assert.deepEqual(await connection.pread(8000n, 192), Buffer.alloc(192));
});

test("a read-only server (-r) reports isReadOnly and writes are refused", async (t) => {
  const h = await Harness.create(t);
  const { socket } = await h.nbdkit("ro", ["-r", "memory", "size=1M"]);
  const connection = await h.connect(socket);

  assert.equal(connection.isReadOnly(), true);
  await assert.rejects(connection.pwrite(0n, Buffer.from("x")), (error: unknown) => {
    assert.ok(error instanceof NbdError);
    assert.match(error.message, /nbd_aio_pwrite/);
    return true;
  });
  // The refusal does not break the connection.
  assert.deepEqual(await connection.pread(0n, 4), Buffer.alloc(4));
});

test("the export name asked for is the one served", async (t) => {
  const h = await Harness.create(t);
  const { socket } = await h.nbdkit("named", ["memory", "size=1M"]);
  const connection = await h.connect(socket, { exportName: "disk0" });
  assert.equal(connection.exportName(), "disk0");
});

test("allocation() of a sparse file: written blocks allocated, the rest holes", async (t) => {
  const h = await Harness.create(t);
  const image = await makeSparseImage(h.dir);
  const { socket } = await h.nbdkit("file", ["-r", "file", `file=${image.path}`]);
  const connection = await h.connect(socket);

  const summary = await connection.allocation();
  const writtenBytes = image.written.reduce((sum, { data }) => sum + data.length, 0);
  assert.equal(summary.size, BigInt(image.size));
  // Filesystems allocate whole blocks: allow up to 64 KiB of slack around each written range.
  assert.ok(summary.allocatedBytes >= BigInt(writtenBytes), `${summary.allocatedBytes}`);
  assert.ok(
    summary.allocatedBytes <= BigInt(writtenBytes + image.written.length * 2 * 65536),
    `${summary.allocatedBytes}`,
  );
  assert.equal(summary.allocatedBytes + summary.holeBytes, summary.size);
  assert.ok(summary.zeroBytes >= summary.holeBytes);

  // The extents tile the export, and every written byte lies in an allocated extent.
  let position = 0n;
  for (const extent of summary.extents) {
    assert.equal(extent.offset, position);
    position += extent.length;
  }
  assert.equal(position, summary.size);
  for (const { offset, data } of image.written) {
    const start = BigInt(offset);
    const end = start + BigInt(data.length);
    const covering = summary.extents.filter(
      (extent) => extent.offset < end && extent.offset + extent.length > start,
    );
    assert.ok(covering.length > 0 && covering.every((extent) => !extent.hole && !extent.zero));
    assert.deepEqual(await connection.pread(start, data.length), data);
  }

  // One block status call: starts where asked, never goes past what was asked.
  const extents = await connection.blockStatus(BigInt(MiB) - 4096n, 8192n);
  assert.deepEqual(extents, [
    { offset: BigInt(MiB) - 4096n, length: 4096n, hole: true, zero: true },
    { offset: BigInt(MiB), length: 4096n, hole: false, zero: false },
  ]);
});

test("compareExports: same file equal, then finds the byte written through a cow overlay", async (t) => {
  const h = await Harness.create(t);
  const image = await makeSparseImage(h.dir);
  const plain = await h.nbdkit("plain", ["-r", "file", `file=${image.path}`]);
  const plain2 = await h.nbdkit("plain2", ["-r", "file", `file=${image.path}`]);
  const cow = await h.nbdkit("cow", ["--filter=cow", "file", `file=${image.path}`]);
  const a = await h.connect(plain.socket);
  const b = h.own(await NbdConnection.connectUri(plain2.uri));
  const overlay = await h.connect(cow.socket);

  assert.equal(await compareExports(a, b), null);
  assert.equal(await compareExports(a, overlay), null);

  // A byte in what is a hole in the base file, then an earlier one inside written data.
  const inHole = 30n * BigInt(MiB) + 7n;
  await overlay.pwrite(inHole, Buffer.from([0x5a]));
  assert.equal(await compareExports(a, overlay), inHole);

  const inData = 10n * BigInt(MiB) + 123n;
  const original = await a.pread(inData, 1);
  await overlay.pwrite(inData, Buffer.from([(original[0] ?? 0) ^ 0xff]));
  assert.equal(await compareExports(a, overlay), inData);

  // Ranges: one that avoids both changes is equal, one that starts after the first finds the second.
  assert.equal(
    await compareExports(a, overlay, { offset: 11n * BigInt(MiB), length: 10n * BigInt(MiB) }),
    null,
  );
  assert.equal(
    await compareExports(a, overlay, { offset: inData + 1n, length: 30n * BigInt(MiB) }),
    inHole,
  );
  // The base file itself is untouched by writes to the overlay.
  assert.equal(await compareExports(a, b), null);
});

test("compareExports refuses exports of different sizes", async (t) => {
  const h = await Harness.create(t);
  const small = await h.nbdkit("small", ["memory", "size=1M"]);
  const large = await h.nbdkit("large", ["memory", "size=2M"]);
  const a = await h.connect(small.socket);
  const b = await h.connect(large.socket);
  await assert.rejects(compareExports(a, b), /sizes differ/);
  assert.equal(await compareExports(a, b, { offset: 0n, length: BigInt(MiB) }), null);
});

test("connecting to a missing socket throws NbdError naming the problem", async (t) => {
  const h = await Harness.create(t);
  await assert.rejects(NbdConnection.connectUnix(join(h.dir, "missing.sock")), (error: unknown) => {
    assert.ok(error instanceof NbdError);
    assert.match(error.message, /connect: No such file or directory/);
    assert.equal(error.errno, constants.errno.ENOENT);
    assert.equal(error.nbdCall, "nbd_aio_connect_unix");
    return true;
  });
});

test("a server error fails that call only; the connection stays usable", async (t) => {
  const h = await Harness.create(t);
  const { socket } = await h.nbdkit("eio", [
    "--filter=error",
    "memory",
    "size=1M",
    "error-pread=EIO",
    "error-pread-rate=100%",
  ]);
  const connection = await h.connect(socket);
  await assert.rejects(connection.pread(0n, 512), (error: unknown) => {
    assert.ok(error instanceof NbdError);
    assert.equal(error.errno, constants.errno.EIO);
    assert.match(error.message, /Input\/output error/);
    return true;
  });
  await connection.pwrite(0n, Buffer.from("still connected"));
  await connection.flush();
});

test("waiting for a slow server does not block the event loop", async (t) => {
  const h = await Harness.create(t);
  const { socket } = await h.nbdkit("slow", [
    "--filter=delay",
    "memory",
    "size=1M",
    "rdelay=500ms",
  ]);
  const connection = await h.connect(socket);
  let ticks = 0;
  const timer = setInterval(() => ticks++, 10);
  try {
    await connection.pread(0n, 4096);
  } finally {
    clearInterval(timer);
  }
  assert.ok(ticks >= 20, `only ${ticks} timer ticks during a 500 ms read`);

  // close() does not wait for the server: the read waiting on it rejects.
  const pending = connection.pread(0n, 4096);
  await new Promise((resolve) => setTimeout(resolve, 50));
  connection.close();
  await assert.rejects(pending, (error: unknown) => {
    assert.ok(error instanceof NbdError);
    assert.match(error.message, /closed by close\(\)/);
    return true;
  });
});

test("eight connections can wait on a slow server at the same time", async (t) => {
  const h = await Harness.create(t);
  const { socket } = await h.nbdkit("slow", [
    "--filter=delay",
    "memory",
    "size=1M",
    "rdelay=300ms",
  ]);
  const connections = await Promise.all(Array.from({ length: 8 }, () => h.connect(socket)));
  const started = Date.now();
  await Promise.all(connections.map((connection) => connection.pread(0n, 512)));
  // Waiting in turn would take 8 x 300 ms; libuv's 4 threads shared in 100 ms polls do not.
  assert.ok(Date.now() - started < 1200, `took ${Date.now() - started} ms`);
});

test("concurrent calls on one connection are serialised and all succeed", async (t) => {
  const h = await Harness.create(t);
  const { socket } = await h.nbdkit("mem", ["memory", "size=8M"]);
  const connection = await h.connect(socket);
  const blocks = Array.from({ length: 32 }, (_, index) => ({
    offset: BigInt(index) * 65536n,
    data: randomBytes(65536),
  }));
  await Promise.all(blocks.map(({ offset, data }) => connection.pwrite(offset, data)));
  const [readBack, extents] = await Promise.all([
    Promise.all(blocks.map(({ offset }) => connection.pread(offset, 65536))),
    connection.blockStatus(0n, connection.size),
  ]);
  readBack.forEach((data, index) => assert.deepEqual(data, blocks[index]?.data));
  assert.equal(extents[0]?.offset, 0n);
});

test("close() is idempotent; later calls and a server that goes away reject with NbdError", async (t) => {
  const h = await Harness.create(t);
  const { socket, server } = await h.nbdkit("mem", ["memory", "size=1M"]);
  const connection = await h.connect(socket);
  const second = await h.connect(socket);

  connection.close();
  connection.close();
  await assert.rejects(connection.pread(0n, 1), (error: unknown) => {
    assert.ok(error instanceof NbdError);
    assert.match(error.message, /closed/);
    return true;
  });
  assert.throws(() => connection.isReadOnly(), NbdError);

  // SIGKILL: the server dies without a goodbye, as a crashed helper would.
  server.kill("SIGKILL");
  await server;
  await assert.rejects(second.pread(0n, 1), (error: unknown) => {
    assert.ok(error instanceof NbdError);
    assert.equal(error.errno, constants.errno.ENOTCONN);
    return true;
  });
  await assert.rejects(second.pread(0n, 1), /closed/);
});
