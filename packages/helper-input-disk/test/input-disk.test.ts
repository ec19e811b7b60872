import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { NbdConnection, compareExports } from "@split-v2v/libnbd";
import { serve, sha256 } from "@split-v2v/helper-test-kit";
import { readMetadata } from "@split-v2v/metadata-schema";

const helper = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "src", "cli.js");

test("raw, qcow2 and vmdk sources are served through overlays; writes never reach the sources", async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "input-disk-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  // A raw disk with recognisable data, and the same disk as qcow2 and vmdk (converted by qemu-img).
  const raw = path.join(dir, "guest.img");
  await execa("qemu-img", ["create", "-q", "-f", "raw", raw, "64M"]);
  await execa("qemu-io", [
    "-f",
    "raw",
    "-c",
    "write -P 0x5a 1M 3M",
    "-c",
    "write -P 0xa5 40M 1M",
    raw,
  ]);
  const copies: Record<string, string> = {};
  for (const format of ["qcow2", "vmdk"]) {
    copies[format] = path.join(dir, `guest.${format}`);
    await execa("qemu-img", ["convert", "-q", "-f", "raw", "-O", format, raw, copies[format]!]);
  }
  const before = new Map<string, string>();
  for (const file of [raw, ...Object.values(copies)]) before.set(file, await sha256(file));

  for (const [format, source] of [
    ["raw", raw],
    ["qcow2", copies.qcow2!],
    ["vmdk", copies.vmdk!],
  ] as const) {
    const workdir = await mkdtemp(path.join(dir, `work-${format}-`));
    const { child, events } = await serve(helper, [workdir, source]);
    try {
      assert.deepEqual(events.at(-1), { event: "ready", sockets: ["in0"] });
      const metadata = await readMetadata("metadata.in", path.join(workdir, "metadata.in"));
      assert.equal(metadata.source.name, "guest");
      assert.equal(metadata.source.disks[0]!.format, format);
      assert.equal(metadata.source.disks[0]!.virtualSize, 64 * 1024 * 1024);
      assert.equal(metadata.input.description, `-i disk ${source}`);

      // The overlay serves exactly the source's content …
      const reference = execa("nbdkit", [
        "--exit-with-parent",
        "-f",
        "-r",
        "-U",
        path.join(dir, `ref-${format}`),
        "file",
        raw,
      ]);
      const overlay = await NbdConnection.connectUnix(path.join(workdir, "in0"));
      const original = await connectWhenListening(path.join(dir, `ref-${format}`));
      try {
        assert.equal(await compareExports(overlay, original), null);
        // … and takes writes, which land in the overlay only.
        assert.equal(overlay.isReadOnly(), false);
        await overlay.pwrite(1024n * 1024n, Buffer.alloc(4096, 0x11));
        await overlay.flush();
        assert.deepEqual(await overlay.pread(1024n * 1024n, 2), Buffer.from([0x11, 0x11]));
      } finally {
        overlay.close();
        original.close();
        reference.kill();
        await reference.catch(() => {});
      }
    } finally {
      child.kill("SIGTERM");
      const result = await child;
      assert.equal(result.exitCode, 0, "the helper stops cleanly on SIGTERM");
    }
    // Sockets and server files are gone; only the metadata stays for whoever owns the work dir.
    assert.deepEqual(
      (await readdir(workdir)).filter((name) => name !== "tmp"),
      ["metadata.in"],
    );
  }
  for (const [file, sum] of before) assert.equal(await sha256(file), sum, `${file} is unchanged`);
});

test("-if overrides probing, and mixed formats or a missing file are clear errors", async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "input-disk-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const raw = path.join(dir, "a.img");
  const qcow2 = path.join(dir, "b.qcow2");
  await writeFile(raw, Buffer.alloc(1024 * 1024));
  await execa("qemu-img", ["create", "-q", "-f", "qcow2", qcow2, "1M"]);
  const mixed = await execa(process.execPath, [helper, dir, raw, qcow2], { reject: false });
  assert.equal(mixed.exitCode, 1);
  assert.match(
    String(mixed.stderr),
    /^helper-v2v-input-disk: error: -i disk: the input disks have different formats \(raw, qcow2\)/m,
  );
  assert.match(String(mixed.stdout), /"event":"error"/);
  const missing = await execa(process.execPath, [helper, dir, path.join(dir, "nope.img")], {
    reject: false,
  });
  assert.equal(missing.exitCode, 1);
  assert.match(
    String(missing.stderr),
    /cannot read disk image .*nope\.img: No such file or directory/,
  );
  // Forced to raw, the qcow2 file is served as its raw bytes: the export starts with qcow2's
  // magic and is as long as the file, not the 1 MiB disk qcow2 describes.
  const forcedDir = path.join(dir, "forced");
  await execa("mkdir", [forcedDir]);
  const { child, events } = await serve(helper, ["-if", "raw", forcedDir, qcow2]);
  try {
    assert.ok(events.some((event) => event.event === "ready"));
    const served = await NbdConnection.connectUnix(path.join(forcedDir, "in0"));
    try {
      assert.deepEqual(await served.pread(0n, 4), Buffer.from("QFI\xfb", "latin1"));
      assert.equal(served.size, BigInt((await stat(qcow2)).size));
    } finally {
      served.close();
    }
  } finally {
    child.kill("SIGTERM");
    await child;
  }
});

/** Connects to a server started a moment ago, retrying while its socket is not there yet. */
async function connectWhenListening(socket: string): Promise<NbdConnection> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await NbdConnection.connectUnix(socket);
    } catch (error: unknown) {
      if (attempt >= 100) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

test("--precheck: a missing disk is refused and a good one passes, with nothing started or written", async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "input-disk-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const workdir = path.join(dir, "work");
  await execa("mkdir", [workdir]);
  const raw = path.join(dir, "a.img");
  await writeFile(raw, Buffer.alloc(1024 * 1024));

  const missing = await execa(
    process.execPath,
    [helper, "--precheck", workdir, "--", raw, path.join(dir, "nope.img")],
    { reject: false },
  );
  assert.equal(missing.exitCode, 1);
  assert.match(
    String(missing.stderr),
    /^helper-v2v-input-disk: error: -i disk: cannot read disk image .*nope\.img: No such file or directory/m,
  );
  assert.deepEqual(await readdir(workdir), [], "nothing in the work dir");

  const good = await execa(process.execPath, [helper, "--precheck", workdir, "--", raw], {
    reject: false,
  });
  assert.equal(good.exitCode, 0, String(good.stderr));
  assert.equal(String(good.stdout), "", "no event: nothing is served");
  assert.deepEqual(await readdir(workdir), [], "nothing in the work dir");
  const servers = await execa("pgrep", ["-f", raw], { reject: false });
  assert.equal(String(servers.stdout), "", "no server reads the disk");
});
