/**
 * The helper as a program: what it serves, what it writes, what it leaves behind.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { NbdConnection } from "@split-v2v/libnbd";
import { readMetadata } from "@split-v2v/metadata-schema";
import { digest, minimalOvf, scratch } from "./ova-builder.js";

const helper = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "src", "cli.js");

type HelperEvent = Record<string, unknown> & { event: string };

/** Starts the helper; resolves once it is ready or has exited, with its events so far. */
async function start(workdir: string, ova: string, largeTmp: string) {
  const child = execa(process.execPath, [helper, workdir, ova], {
    buffer: false,
    reject: false,
    stderr: "pipe",
    env: { VIRT_V2V_TMPDIR: largeTmp },
  });
  const events: HelperEvent[] = [];
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const ready = await new Promise<boolean>((resolve) => {
    readline.createInterface({ input: child.stdout! }).on("line", (line) => {
      const event = JSON.parse(line) as HelperEvent;
      events.push(event);
      if (event.event === "ready") resolve(true);
    });
    void child.then(() => resolve(false));
  });
  return { child, events, ready, stderr: () => stderr };
}

async function qemuNbdProcessesFor(file: string): Promise<string[]> {
  const result = await execa("pgrep", ["-a", "-f", file], { reject: false });
  return String(result.stdout)
    .split("\n")
    .filter((line) => line.includes("qemu-nbd"));
}

/** A 64 MiB raw disk with recognisable data, and the same as a streamOptimized VMDK. */
async function sourceDisks(dir: string): Promise<{ raw: string; vmdk: string }> {
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
  const vmdk = path.join(dir, "disk1.vmdk");
  await execa("qemu-img", [
    "convert",
    "-q",
    "-f",
    "raw",
    "-O",
    "vmdk",
    "-o",
    "subformat=streamOptimized",
    raw,
    vmdk,
  ]);
  return { raw, vmdk };
}

test("a VMDK inside a plain tar is served in place: same content, writes kept off the OVA, nothing unpacked", async (t) => {
  const { dir, dispose } = await scratch("serve");
  t.after(dispose);
  const { raw, vmdk } = await sourceDisks(dir);
  await writeFile(path.join(dir, "guest.ovf"), minimalOvf([{ href: "disk1.vmdk" }]));
  await writeFile(
    path.join(dir, "guest.mf"),
    `SHA256(disk1.vmdk)= ${await digest(vmdk, "sha256")}\n`,
  );
  const ova = path.join(dir, "guest.ova");
  await execa("tar", ["-cf", ova, "guest.ovf", "disk1.vmdk", "guest.mf"], { cwd: dir });
  const before = await digest(ova, "sha256");
  const large = path.join(dir, "large");
  const workdir = path.join(dir, "work");
  await mkdir(large);
  await mkdir(workdir);

  const run = await start(workdir, ova, large);
  try {
    assert.ok(run.ready, `the helper is ready (stderr: ${run.stderr()})`);
    assert.deepEqual(run.events, [{ event: "ready", sockets: ["in0"] }], "no warning, no info");
    const metadata = await readMetadata("metadata.in", path.join(workdir, "metadata.in"));
    assert.equal(metadata.input.mode, "ova");
    assert.equal(metadata.input.description, `-i ova ${ova}`);
    assert.equal(metadata.source.name, "test-guest");
    assert.equal(metadata.source.hypervisor, "vmware");
    const [disk] = metadata.source.disks;
    assert.equal(disk?.format, "vmdk");
    assert.equal(disk?.virtualSize, 64 * 1024 * 1024);
    assert.equal(disk?.controller, "scsi");

    // qemu-nbd decodes the VMDK from an offset/size view of the OVA itself: no copy anywhere.
    const servers = await qemuNbdProcessesFor(ova);
    assert.equal(servers.length, 1, servers.join("\n"));
    assert.match(
      servers[0]!,
      /--snapshot --format vmdk json:\{"file":\{"driver":"raw","offset":\d+,"size":\d+,"file":\{"driver":"file","filename":"[^"]*guest\.ova"\}\}\}$/,
    );
    assert.deepEqual(await readdir(large), [], "nothing in the large temp dir");

    const socket = path.join(workdir, "in0");
    const compare = await execa(
      "qemu-img",
      ["compare", "-f", "raw", "-F", "raw", raw, `nbd+unix:///?socket=${socket}`],
      { reject: false },
    );
    assert.equal(compare.exitCode, 0, `same content: ${String(compare.stdout)}`);

    const overlay = await NbdConnection.connectUnix(socket);
    try {
      await overlay.pwrite(2n * 1024n * 1024n, Buffer.alloc(65536, 0x11));
      await overlay.flush();
      assert.deepEqual(await overlay.pread(2n * 1024n * 1024n, 2), Buffer.from([0x11, 0x11]));
    } finally {
      overlay.close();
    }
  } finally {
    run.child.kill("SIGTERM");
    const result = await run.child;
    assert.equal(result.exitCode, 0, "the helper stops cleanly on SIGTERM");
  }
  assert.equal(await digest(ova, "sha256"), before, "the OVA is unchanged");
  assert.deepEqual(await qemuNbdProcessesFor(ova), [], "no server left");
  assert.deepEqual(
    (await readdir(workdir)).filter((name) => name !== "tmp"),
    ["metadata.in"],
  );
});

test("a bad checksum fails before anything is served", async (t) => {
  const { dir, dispose } = await scratch("bad-sum");
  t.after(dispose);
  const { vmdk } = await sourceDisks(dir);
  await writeFile(path.join(dir, "guest.ovf"), minimalOvf([{ href: "disk1.vmdk" }]));
  const wrong = "0".repeat(40);
  await writeFile(path.join(dir, "guest.mf"), `SHA1(disk1.vmdk)= ${wrong}\n`);
  const ova = path.join(dir, "guest.ova");
  await execa("tar", ["-cf", ova, "guest.ovf", "disk1.vmdk", "guest.mf"], { cwd: dir });
  const workdir = path.join(dir, "work");
  await mkdir(workdir);

  const run = await start(workdir, ova, dir);
  const result = await run.child;
  assert.equal(run.ready, false);
  assert.equal(result.exitCode, 1);
  const actual = await digest(vmdk, "sha1");
  const message = `-i ova: corrupt OVA: checksum of disk disk1.vmdk does not match manifest (actual = ${actual}, expected = ${wrong})`;
  assert.equal(run.stderr(), `helper-v2v-input-ova: error: ${message}\n`);
  assert.deepEqual(run.events, [{ event: "error", text: message, bug: false }]);
  assert.deepEqual(await readdir(workdir), [], "no socket, no metadata");
});

test("a gzip-compressed disk is uncompressed into the large temp dir, said so, and removed at exit", async (t) => {
  const { dir, dispose } = await scratch("gzip-disk");
  t.after(dispose);
  const { raw, vmdk } = await sourceDisks(dir);
  await execa("gzip", ["-k", vmdk]);
  // Two disks: the compressed one, and a raw one read in place beside it.
  await execa("truncate", ["-s", "1M", path.join(dir, "disk2.img")]);
  await writeFile(
    path.join(dir, "guest.ovf"),
    minimalOvf([{ href: "disk1.vmdk.gz", compression: "gzip" }, { href: "disk2.img" }]),
  );
  const ova = path.join(dir, "guest.ova");
  await execa("tar", ["-cf", ova, "guest.ovf", "disk1.vmdk.gz", "disk2.img"], { cwd: dir });
  const large = path.join(dir, "large");
  const workdir = path.join(dir, "work");
  await mkdir(large);
  await mkdir(workdir);

  const run = await start(workdir, ova, large);
  try {
    assert.ok(run.ready, run.stderr());
    const [scratchDir] = await readdir(large);
    assert.match(scratchDir ?? "", /^ova\./);
    const unpacked = path.join(large, scratchDir!, "disk0.img");
    assert.deepEqual(run.events, [
      {
        event: "info",
        text: `-i ova: disk1.vmdk.gz is gzip-compressed (ovf:compression="gzip"): uncompressing it into ${unpacked} (set VIRT_V2V_TMPDIR to use another directory)`,
      },
      { event: "ready", sockets: ["in0", "in1"] },
    ]);
    const metadata = await readMetadata("metadata.in", path.join(workdir, "metadata.in"));
    assert.deepEqual(
      metadata.source.disks.map((disk) => [disk.format, disk.virtualSize]),
      [
        ["vmdk", 64 * 1024 * 1024],
        ["raw", 1024 * 1024],
      ],
    );
    const compare = await execa(
      "qemu-img",
      [
        "compare",
        "-f",
        "raw",
        "-F",
        "raw",
        raw,
        `nbd+unix:///?socket=${path.join(workdir, "in0")}`,
      ],
      { reject: false },
    );
    assert.equal(compare.exitCode, 0, String(compare.stdout));
  } finally {
    run.child.kill("SIGTERM");
    await run.child;
  }
  assert.deepEqual(await readdir(large), [], "the uncompressed copy is removed");
});
