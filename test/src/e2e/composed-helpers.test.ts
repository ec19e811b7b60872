/**
 * The helpers composed by hand, as a custom supervisor would run them, with a measuring proxy
 * between the overlay and the copy. Proves three principles on a guest that carries 1 GiB of
 * deleted data:
 *  - never touch the source (checksum),
 *  - copy only what the guest uses (fstrim through the overlay: the target allocates ≥ 1 GiB less
 *    than the source and holds none of the deleted data; no read request of nbdcopy lies inside a
 *    hole: it reads in requests of up to 256 KiB, which may cover a hole's edge),
 *  - the target is exactly the converted overlay (libnbd byte comparison).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa, type ResultPromise } from "execa";
import { compareExports, NbdConnection } from "@split-v2v/libnbd";
import { readMetadata } from "@split-v2v/metadata-schema";
import { DELETED_DATA_BYTES, DELETED_DATA_TEXT, linuxGuest } from "../fixtures/guests.js";
import {
  allocatedBytes,
  packageBin,
  processesMentioning,
  sha256,
  startServing,
} from "../support/run.js";

/** Bytes read, from nbdkit-stats-filter's report ("read: 40 ops, 0.005 s, 10.00 MiB, …"; no line: none). */
function parseStatsBytesRead(stats: string): number {
  const match = /^read: \d+ ops, [\d.]+ s, ([\d.]+) (bytes|KiB|MiB|GiB|TiB)/m.exec(stats);
  if (!match) return 0;
  const units: Record<string, number> = {
    bytes: 1,
    KiB: 2 ** 10,
    MiB: 2 ** 20,
    GiB: 2 ** 30,
    TiB: 2 ** 40,
  };
  return Number(match[1]) * units[match[2]!]!;
}

/** The reads nbdkit's log filter recorded ("… Read id=1 offset=0x0 count=0x40000 …"). */
function parseReads(log: string): Array<{ offset: bigint; count: bigint }> {
  return [...log.matchAll(/ Read id=\d+ offset=(0x[0-9a-f]+) count=(0x[0-9a-f]+)/g)].map(
    (match) => ({ offset: BigInt(match[1]!), count: BigInt(match[2]!) }),
  );
}

async function stopServing(child: ResultPromise): Promise<void> {
  child.kill("SIGTERM");
  await child;
}

test("helpers composed by hand: trim skips deleted data, the copy never reads holes, target equals overlay", async (t) => {
  const guest = await linuxGuest("deleted-1g");
  const before = await sha256(guest.path);
  const workdir = await mkdtemp(path.join(os.tmpdir(), "split-v2v-compose-"));
  const outdir = path.join(workdir, "target");
  await execa("mkdir", [outdir]);
  const children: ResultPromise[] = [];
  t.after(async () => {
    for (const child of children.reverse()) child.kill("SIGTERM");
    await Promise.allSettled(children);
    await rm(workdir, { recursive: true, force: true });
  });

  // 1. Input: the source served through a copy-on-write overlay on WORKDIR/in0.
  children.push(
    (await startServing(packageBin("@split-v2v/helper-input-disk"), [workdir, guest.path])).process,
  );
  const metadataIn = await readMetadata("metadata.in", path.join(workdir, "metadata.in"));
  assert.equal(metadataIn.source.disks.length, 1);

  // 2. Conversion, including fstrim, writing only into the overlay.
  const convert = await execa(
    process.execPath,
    [packageBin("@split-v2v/helper-convert"), workdir],
    { reject: false },
  );
  assert.equal(convert.exitCode, 0, String(convert.stderr));
  const metadataOut = await readMetadata("metadata.out", path.join(workdir, "metadata.out"));
  assert.equal(metadataOut.inspection.distro, "debian");
  assert.deepEqual(metadataOut.target.buses.virtioBlk, [{ disk: 0 }]);

  // 3. Output: a fresh raw disk served on WORKDIR/out0.
  const outputArgs = [workdir, "-os", outdir, "-on", "guest"];
  children.push(
    (await startServing(packageBin("@split-v2v/helper-output-local"), ["setup", ...outputArgs]))
      .process,
  );

  // 4. The copy, reading through nbdkit's stats and log filters to see what nbdcopy really reads.
  const statsFile = path.join(workdir, "read-stats");
  const readLog = path.join(workdir, "read-log");
  const proxySocket = path.join(workdir, "measured-in0");
  const proxy = execa(
    "nbdkit",
    [
      "--exit-with-parent",
      "--foreground",
      "--unix",
      proxySocket,
      "--filter=stats",
      "--filter=log",
      "nbd",
      `socket=${path.join(workdir, "in0")}`,
      `statsfile=${statsFile}`,
      `logfile=${readLog}`,
    ],
    { reject: false },
  );
  children.push(proxy);
  for (let i = 0; i < 100; i++) {
    try {
      await stat(proxySocket);
      break;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  // The overlay's map as nbdcopy will see it. (Taken now: cow blocks that fstrim covered only in
  // part are zero-filled data until read, and may report as holes afterwards.)
  const overlay = await (async () => {
    const connection = await NbdConnection.connectUnix(path.join(workdir, "in0"));
    try {
      return await connection.allocation();
    } finally {
      connection.close();
    }
  })();
  const copy = await execa(
    "nbdcopy",
    [
      `nbd+unix:///?socket=${proxySocket}`,
      `nbd+unix:///?socket=${path.join(workdir, "out0")}`,
      "--flush",
      "--target-is-zero",
    ],
    {
      reject: false,
    },
  );
  assert.equal(copy.exitCode, 0, String(copy.stderr));
  proxy.kill("SIGTERM");
  await proxy;
  const bytesRead = parseStatsBytesRead(await readFile(statsFile, "utf8"));
  t.diagnostic(
    `nbdcopy read ${bytesRead} bytes; the overlay held ${overlay.allocatedBytes} bytes of data`,
  );

  // What the source allocates includes the deleted gigabyte; the trimmed overlay does not.
  const input = await NbdConnection.connectUnix(path.join(workdir, "in0"));
  const output = await NbdConnection.connectUnix(path.join(workdir, "out0"));
  try {
    const holes = overlay.extents.filter((extent) => extent.hole);
    const reads = parseReads(await readFile(readLog, "utf8"));
    // Both reports were understood: the log lists the reads whose bytes the stats add up.
    assert.ok(reads.length > 0, "nbdkit's log filter recorded nbdcopy's reads");
    assert.ok(bytesRead > 0, "nbdkit's stats filter counted the bytes read");
    const loggedBytes = reads.reduce((sum, read) => sum + Number(read.count), 0);
    assert.ok(
      Math.abs(loggedBytes - bytesRead) <= 0.01 * bytesRead + 1024,
      `the log's reads (${loggedBytes} bytes) are what the stats counted (${bytesRead})`,
    );
    const readsInsideHoles = reads.filter((read) =>
      holes.some(
        (hole) =>
          read.offset >= hole.offset && read.offset + read.count <= hole.offset + hole.length,
      ),
    );
    assert.deepEqual(readsInsideHoles, [], "no read request lies inside a hole");
    // The target is byte for byte the converted overlay.
    assert.equal(await compareExports(input, output), null);
  } finally {
    input.close();
    output.close();
  }

  // 5. Final: the libvirt XML.
  const final = await execa(
    process.execPath,
    [packageBin("@split-v2v/helper-output-local"), "final", ...outputArgs],
    { reject: false },
  );
  assert.equal(final.exitCode, 0, String(final.stderr));
  await stat(path.join(outdir, "guest.xml"));

  const target = path.join(outdir, "guest-sda");
  // The deleted file's text is all over the source's free blocks, and nowhere in the target.
  assert.equal(
    (await execa("grep", ["-q", "-a", DELETED_DATA_TEXT, guest.path], { reject: false })).exitCode,
    0,
  );
  assert.equal(
    (await execa("grep", ["-q", "-a", DELETED_DATA_TEXT, target], { reject: false })).exitCode,
    1,
    "no block of the deleted data reached the target",
  );
  assert.ok(
    (await allocatedBytes(guest.path)) - (await allocatedBytes(target)) >= DELETED_DATA_BYTES,
    "the target allocates at least 1 GiB less than the source",
  );

  // Stopping the helpers stops every server; without the run's "done" marker, output-local removes its disk.
  for (const child of children.splice(0).reverse()) await stopServing(child);
  assert.deepEqual(await processesMentioning(workdir), []);
  await assert.rejects(stat(target), "an unfinished run leaves no target disk");
  assert.equal(await sha256(guest.path), before, "the source is unchanged");
});
