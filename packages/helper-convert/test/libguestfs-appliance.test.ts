// ONE real libguestfs appliance (20-40 s under TCG) on two disks: a 64 MiB sparse raw file,
// and a 64 MiB nbdkit memory disk attached over NBD the way the converter attaches disks.
import { access, copyFile, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";

import { execa, type ResultPromise } from "execa";

import { AugFlags, Guestfs, GuestfsError, HiveType, type LogKind } from "@split-v2v/libguestfs";
import { ensureWorkingAccel, type AccelVerdict } from "../src/accel.js";

const MiB = 1024 * 1024;
// ../shared beside the checkout: this file runs as packages/helper-convert/dist/test/*.js.
const MINIMAL_HIVE = resolve(
  dirname(fileURLToPath(import.meta.url)),
  "../../../../../shared/testdata/virt-v2v-upstream/phony-windows/minimal-hive",
);

let dir = "";
let scratch = "";
let nbdSocket = "";
let nbdkit: ResultPromise | null = null;
let g: Guestfs | null = null;
let verdict: AccelVerdict | null = null;
let launchSeconds = 0;
const logs: [LogKind, string][] = [];

function guest(): Guestfs {
  if (!g) throw new Error("the appliance did not start");
  return g;
}

/** Bytes of the file really allocated on the host (it is sparse). */
async function allocatedBytes(file: string): Promise<number> {
  return (await stat(file)).blocks * 512;
}

async function startNbdkit(): Promise<void> {
  nbdSocket = join(dir, "memory.sock");
  const pidfile = join(dir, "nbdkit.pid");
  nbdkit = execa(
    "nbdkit",
    [
      "--exit-with-parent",
      "--foreground",
      "--unix",
      nbdSocket,
      "--pidfile",
      pidfile,
      "memory",
      "64M",
    ],
    { reject: false, stdin: "ignore", stdout: "ignore", stderr: "pipe" },
  );
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await access(pidfile);
      return;
    } catch {
      if (Date.now() > deadline) throw new Error("nbdkit did not start");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

describe("one appliance on a scratch disk and an NBD disk", () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "libguestfs-appliance-test-"));
    scratch = join(dir, "scratch.img");
    await execa("truncate", ["-s", "64M", scratch]);
    await startNbdkit();
    // The product's own rule: on this machine KVM hangs, so this makes libguestfs use TCG.
    verdict = await ensureWorkingAccel({ cacheDir: join(dir, "cache"), warn: () => undefined });

    g = new Guestfs();
    g.onLog((kind, text) => logs.push([kind, text]));
    g.setVerbose(true);
    g.setTrace(true);
    await g.addDrive(scratch, { format: "raw", discard: "besteffort" });
    await g.addDrive("", {
      format: "raw",
      protocol: "nbd",
      server: [`unix:${nbdSocket}`],
      cachemode: "unsafe",
      discard: "besteffort",
    });
    const started = performance.now();
    await g.launch();
    launchSeconds = (performance.now() - started) / 1000;
  });

  after(async () => {
    try {
      if (g) {
        await g.umountAll().catch(() => undefined);
        await g.shutdown().catch(() => undefined);
        await g.close();
      }
    } finally {
      nbdkit?.kill();
      await nbdkit;
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("launched under TCG, with both disks, and its console in the log", async (t) => {
    t.diagnostic(`appliance launch took ${launchSeconds.toFixed(1)} s (${verdict?.accel})`);
    const g = guest();
    assert.equal(verdict?.accel, "tcg");
    assert.deepEqual(await g.listDevices(), ["/dev/sda", "/dev/sdb"]);
    assert.equal(await g.blockdevGetsize64("/dev/sda"), 64 * MiB);
    assert.equal(await g.blockdevGetsize64("/dev/sdb"), 64 * MiB);
    const lines = (kind: LogKind): string[] =>
      logs.filter(([k]) => k === kind).map(([, text]) => text);
    // libguestfs prints qemu's command line from the forked child, on the console.
    assert.ok(
      lines("appliance").some((line) => line.includes("accel=tcg")),
      "qemu ran with TCG",
    );
    assert.ok(
      lines("appliance").some((line) => /Linux version/.test(line)),
      "kernel boot lines",
    );
    assert.ok(lines("trace").includes("launch = 0"));
  });

  it("partitions and formats the scratch disk, and mounts it", async () => {
    const g = guest();
    await g.partDisk("/dev/sda", "mbr");
    assert.equal(await g.partGetParttype("/dev/sda"), "msdos");
    const [partition, ...rest] = await g.partList("/dev/sda");
    assert.equal(rest.length, 0);
    assert.equal(partition?.part_num, 1);
    assert.ok((partition?.part_size ?? 0) > 60 * MiB);
    assert.deepEqual(await g.listPartitions(), ["/dev/sda1"]);
    assert.equal(await g.partToDev("/dev/sda1"), "/dev/sda");
    assert.equal(await g.partToPartnum("/dev/sda1"), 1);
    await g.mkfs("ext4", "/dev/sda1", { label: "scratch" });
    assert.equal((await g.listFilesystems())["/dev/sda1"], "ext4");
    assert.equal(await g.vfsType("/dev/sda1"), "ext4");
    assert.equal(await g.vfsLabel("/dev/sda1"), "scratch");
    await g.mount("/dev/sda1", "/");
  });

  it("writes and reads files, binary and text, and lists them", async () => {
    const g = guest();
    const everyByte = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    await g.write("/bytes.bin", everyByte);
    assert.deepEqual(await g.readFile("/bytes.bin"), everyByte);
    await g.write("/hello.txt", "héllo\n");
    await g.writeAppend("/hello.txt", "wörld\n");
    assert.equal(await g.cat("/hello.txt"), "héllo\nwörld\n");
    assert.deepEqual(await g.readLines("/hello.txt"), ["héllo", "wörld"]);
    assert.equal(await g.exists("/hello.txt"), true);
    assert.equal(await g.exists("/missing"), false);
    assert.equal(await g.isFile("/hello.txt"), true);
    assert.equal(await g.isDir("/hello.txt"), false);
    await g.mkdirP("/a/b/c");
    assert.equal(await g.isDir("/a/b/c"), true);
    await g.lnSf("/hello.txt", "/a/link");
    assert.equal(await g.isSymlink("/a/link"), true);
    assert.equal(await g.realpath("/a/link"), "/hello.txt");
    await g.cp("/hello.txt", "/a/copy.txt");
    await g.mv("/a/copy.txt", "/a/b/moved.txt");
    await g.chmod(0o600, "/a/b/moved.txt");
    assert.deepEqual(await g.ls("/"), ["a", "bytes.bin", "hello.txt", "lost+found"]);
    const found = await g.find("/a");
    assert.ok(found.includes("/b/moved.txt"), found.join(" "));
    assert.deepEqual(await g.globExpand("/a/b/*.txt"), ["/a/b/moved.txt"]);
    assert.match(await g.ll("/a/b"), /-rw------- .* moved\.txt/);
    await g.rm("/a/b/moved.txt");
    await g.rmRf("/a");
    assert.equal(await g.exists("/a"), false);
    const local = join(dir, "downloaded.txt");
    await g.download("/hello.txt", local);
    assert.equal(await readFile(local, "utf8"), "héllo\nwörld\n");
  });

  it("makes temporary directories, compares files, reads and writes devices", async () => {
    const g = guest();
    const temporary = await g.mkdtemp("/tmpXXXXXX");
    assert.match(temporary, /^\/tmp[A-Za-z0-9]{6}$/);
    assert.equal(await g.isDir(temporary), true);
    await g.write(`${temporary}/one`, "same");
    await g.write(`${temporary}/two`, "same");
    await g.write(`${temporary}/three`, "other");
    assert.equal(await g.equal(`${temporary}/one`, `${temporary}/two`), true);
    assert.equal(await g.equal(`${temporary}/one`, `${temporary}/three`), false);
    await assert.rejects(g.rmdir(temporary), GuestfsError, "not empty");
    for (const name of ["one", "two", "three"]) await g.rm(`${temporary}/${name}`);
    await g.rmdir(temporary);
    assert.equal(await g.exists(temporary), false);

    assert.equal(await g.isWholeDevice("/dev/sda"), true);
    assert.equal(await g.isWholeDevice("/dev/sda1"), false);
    // The ext4 superblock's magic, 0xEF53 little-endian, at 1024 + 0x38.
    assert.deepEqual(await g.preadDevice("/dev/sda1", 2, 0x438), Buffer.from([0x53, 0xef]));
    // The NBD disk is still blank; a later test makes a filesystem on all of it.
    assert.equal(await g.pwriteDevice("/dev/sdb", Buffer.from("v2v"), 4096), 3);
    assert.deepEqual(await g.preadDevice("/dev/sdb", 3, 4096), Buffer.from("v2v"));
  });

  it("reports statvfs of the mounted filesystem", async () => {
    const s = await guest().statvfs("/");
    assert.ok(s.bsize === 1024 || s.bsize === 4096, `bsize ${s.bsize}`);
    const size = s.blocks * s.frsize;
    assert.ok(size > 50 * MiB && size <= 64 * MiB, `filesystem size ${size}`);
    assert.ok(s.bavail <= s.bfree && s.bfree <= s.blocks);
    assert.ok(s.ffree > 100 && s.files >= s.ffree);
    assert.equal(s.namemax, 255);
    assert.equal(typeof s.fsid, "bigint");
  });

  it("fstrim gives the space of deleted files back to the host file", async () => {
    const g = guest();
    await g.write("/big", Buffer.alloc(16 * MiB, 0xa5));
    await g.sync();
    const full = await allocatedBytes(scratch);
    await g.rm("/big");
    await g.sync();
    await g.fstrim("/");
    await g.sync();
    const trimmed = await allocatedBytes(scratch);
    assert.ok(full - trimmed > 8 * MiB, `allocated ${full} → ${trimmed} bytes`);
  });

  it("edits /etc/fstab with augeas", async () => {
    const g = guest();
    await g.mkdir("/etc");
    await g.write("/etc/fstab", "/dev/sda1 / ext4 defaults 0 1\n");
    await g.augInit("/", AugFlags.NO_LOAD);
    await g.augLoad();
    assert.deepEqual(await g.augMatch("/files/etc/fstab/*"), ["/files/etc/fstab/1"]);
    assert.equal(await g.augGet("/files/etc/fstab/1/spec"), "/dev/sda1");
    assert.equal(await g.augDefvar("entry", "/files/etc/fstab/1"), 1);
    await g.augSet("$entry/spec", "LABEL=scratch");
    assert.equal(await g.augRm("$entry/opt[. = 'defaults']"), 1);
    await g.augInsert("$entry/vfstype", "opt", false);
    await g.augSet("$entry/opt", "noatime");
    await g.augSave();
    await g.augClose();
    assert.equal(await g.cat("/etc/fstab"), "LABEL=scratch / ext4 noatime 0 1\n");
    await assert.rejects(g.augGet("/files/etc/fstab/1/spec"), GuestfsError, "augeas is closed");
  });

  it("an augeas save that fails says which file and why; grub1's default goes before the entries", async () => {
    const g = guest();
    // Fedora's grub1 configuration as virt-v2v's phony Fedora guest has it: entries only.
    await g.mkdirP("/boot/grub");
    const entries =
      "title Fedora\n    root (hd0,0)\n    kernel /vmlinuz-5.19\n    initrd /initramfs-5.19.img\n";
    await g.write("/boot/grub/grub.conf", entries);
    await g.augInit("/", 0);
    const config = "/files/boot/grub/grub.conf";
    // augeas appends a new "default" after the entries, where grub1's lens cannot put it; its
    // own error says only "No error".
    await g.augSet(`${config}/default`, "0");
    await assert.rejects(g.augSave(), (error: unknown) => {
      assert.ok(error instanceof GuestfsError);
      assert.match(error.message, /^augeas could not save \/boot\/grub\/grub\.conf: put_failed/);
      assert.doesNotMatch(error.message, /No error/);
      return true;
    });
    await g.augRm(`${config}/default`);
    await g.augInsert(`${config}/*[1]`, "default", true);
    await g.augSet(`${config}/default`, "0");
    await g.augSave();
    await g.augClose();
    assert.equal(await g.cat("/boot/grub/grub.conf"), `default 0\n${entries}`);
  });

  it("a command that fails in the guest throws GuestfsError with libguestfs's message", async () => {
    await assert.rejects(guest().command(["/bin/no-such-program", "arg"]), (error: unknown) => {
      assert.ok(error instanceof GuestfsError);
      assert.equal(error.call, "guestfs_command");
      assert.match(error.message, /no-such-program/);
      return true;
    });
  });

  it("inspection finds no operating system on this disk", async () => {
    assert.deepEqual(await guest().inspectOs(), []);
  });

  it("edits a Windows registry hive with hivex, and the host's hivex reads the result", async (t) => {
    try {
      await access(MINIMAL_HIVE);
    } catch {
      t.skip(`${MINIMAL_HIVE} is absent (../shared beside the checkout is not there)`);
      return;
    }
    const g = guest();
    await g.mount("/dev/sda1", "/"); // inspection unmounted everything
    const local = join(dir, "minimal-hive");
    await copyFile(MINIMAL_HIVE, local);
    await g.upload(local, "/SOFTWARE");

    await g.hivexOpen("/SOFTWARE", { write: true });
    const root = await g.hivexRoot();
    const added = await g.hivexNodeAddChild(root, "SplitV2V");
    await g.hivexNodeSetValue(added, "Greeting", HiveType.SZ, Buffer.from("hello\0", "utf16le"));
    const dword = Buffer.alloc(4);
    dword.writeUInt32LE(42);
    await g.hivexNodeSetValue(added, "Count", HiveType.DWORD, dword);
    await g.hivexCommit(null);
    await g.hivexClose();

    await g.hivexOpen("/SOFTWARE");
    const root2 = await g.hivexRoot();
    const node = await g.hivexNodeGetChild(root2, "SplitV2V");
    assert.notEqual(node, null);
    if (node === null) return;
    assert.deepEqual(await g.hivexNodeChildren(root2), [node]);
    assert.equal(await g.hivexNodeName(node), "SplitV2V");
    assert.equal(await g.hivexNodeParent(node), root2);
    assert.equal(await g.hivexNodeGetChild(root2, "Absent"), null);
    assert.equal(await g.hivexNodeGetValue(node, "Absent"), null);
    const values = await g.hivexNodeValues(node);
    assert.deepEqual(await Promise.all(values.map((v) => g.hivexValueKey(v))), [
      "Greeting",
      "Count",
    ]);
    const greeting = await g.hivexNodeGetValue(node, "Greeting");
    assert.ok(greeting !== null);
    assert.equal(await g.hivexValueType(greeting), HiveType.SZ);
    assert.equal(await g.hivexValueString(greeting), "hello");
    const count = await g.hivexNodeGetValue(node, "Count");
    assert.ok(count !== null);
    assert.deepEqual(await g.hivexValueValue(count), dword);
    await g.hivexClose();

    await g.download("/SOFTWARE", local);
    const { stdout } = await execa("hivexregedit", ["--export", local, "\\"]);
    assert.match(stdout, /\[\\SplitV2V\]/);
    assert.match(stdout, /"Greeting"=hex\(1\):68,00,65,00,6c,00,6c,00,6f,00,00,00/);
    assert.match(stdout, /"Count"=dword:0000002a/);
  });

  it("writes through NBD: the filesystem made in the guest is on the nbdkit server", async () => {
    const g = guest();
    await g.mkfs("ext4", "/dev/sdb");
    await g.sync();
    assert.equal(await g.vfsType("/dev/sdb"), "ext4");
    const copy = join(dir, "nbd-copy.img");
    await execa("nbdcopy", [`nbd+unix:///?socket=${nbdSocket}`, copy]);
    const superblock = (await readFile(copy)).subarray(1024, 1024 + 1024);
    assert.equal(superblock.readUInt16LE(0x38), 0xef53, "ext4 magic at 1024 + 0x38");
    await writeFile(copy, "");
  });

  it("close stops the appliance: its qemu is gone", async () => {
    const g = guest();
    await g.umountAll();
    await g.shutdown();
    await g.close();
    const { stdout } = await execa("pgrep", ["-af", scratch], { reject: false });
    assert.equal(stdout, "");
  });
});
