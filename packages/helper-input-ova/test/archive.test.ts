/**
 * Opening OVAs of every packaging, finding the OVF and the disks, checking manifests: with real
 * tar, gzip, xz and zip files built as upstream virt-v2v's tests build them.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFile, mkdir, readdir, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { UserError, runCleanup } from "@split-v2v/common";
import { locateDiskFile, readOva } from "../src/index.js";
import {
  UPSTREAM_MISSING,
  digest,
  minimalOvf,
  pack,
  rawDisk,
  scratch,
  upstreamOvaDir,
  type Packaging,
} from "./ova-builder.js";

interface Messages {
  warnings: string[];
  infos: string[];
}

async function open(ova: string) {
  const messages: Messages = { warnings: [], infos: [] };
  const result = await readOva(ova, {
    log: () => {},
    warn: (text) => messages.warnings.push(text),
    info: (text) => messages.infos.push(text),
  });
  return { ...result, ...messages };
}

async function rejectsWith(promise: Promise<unknown>, message: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof UserError, `expected a UserError, got ${String(err)}`);
    assert.match(err.message, message);
    return true;
  });
}

/** VIRT_V2V_TMPDIR for the test, so that unpacking lands where the test can look. */
async function largeTmp(dir: string): Promise<string> {
  const large = path.join(dir, "large-tmp");
  await mkdir(large);
  process.env.VIRT_V2V_TMPDIR = large;
  return large;
}

test("an OVA in each packaging: tar read in place; zip, tar.gz and tar.xz unpacked, and said so", async (t) => {
  const upstream = upstreamOvaDir();
  if (upstream === null) {
    t.skip(UPSTREAM_MISSING);
    return;
  }
  const { dir, dispose } = await scratch("formats");
  t.after(async () => {
    await runCleanup();
    delete process.env.VIRT_V2V_TMPDIR;
    await dispose();
  });
  const large = await largeTmp(dir);
  // Upstream's recipe: a 10 KiB disk, a SHA1 manifest with CRLF line ends.
  const source = path.join(dir, "source");
  await mkdir(source);
  await rawDisk(path.join(source, "disk1.vmdk"), 10 * 1024);
  await writeFile(
    path.join(source, "disk1.mf"),
    `SHA1(disk1.vmdk)= ${await digest(path.join(source, "disk1.vmdk"), "sha1")}\r\n`,
  );
  await copyFile(
    path.join(upstream, "test-i-ova-formats.ovf"),
    path.join(source, "test-i-ova-formats.ovf"),
  );
  const names = ["test-i-ova-formats.ovf", "disk1.vmdk", "disk1.mf"];

  for (const packaging of ["tar", "tar.gz", "tar.xz", "zip", "directory"] as Packaging[]) {
    const ova = await pack(packaging, source, names, path.join(dir, `test-${packaging}.ova`));
    const { archive, ovf, guest, warnings, infos } = await open(ova);
    assert.deepEqual(warnings, [], `${packaging}: no warning`);
    assert.equal(ovf, "test-i-ova-formats.ovf");
    assert.equal(guest.name, "2K8R2EESP1_2_Medium");
    const disk = await locateDiskFile(archive, ".", guest.disks[0]!.href);
    assert.equal(disk.name, "disk1.vmdk");
    if (packaging === "tar") {
      assert.equal(archive.kind, "tar");
      assert.equal(disk.kind, "tar-member");
      assert.deepEqual(infos, [], "a plain tar is not unpacked");
    } else if (packaging === "directory") {
      assert.equal(archive.unpackedInto, null);
      assert.deepEqual(infos, []);
    } else {
      assert.equal(archive.kind, "directory");
      assert.ok(archive.unpackedInto?.startsWith(`${large}/ova.`), `${packaging}: unpacked`);
      assert.equal(infos.length, 1);
      assert.match(
        infos[0]!,
        new RegExp(`^-i ova: .*test-${packaging}\\.ova is .*unpacking it into ${large}/ova\\.`),
      );
    }
  }
  await runCleanup();
  assert.deepEqual(await readdir(large), [], "the unpacked copies are removed at exit");
});

test("subfolders: the OVF anywhere, hrefs and manifests relative to their own folder", async (t) => {
  const { dir, dispose } = await scratch("subfolders");
  t.after(dispose);
  const source = path.join(dir, "source");
  await mkdir(path.join(source, "subfolder", "disks"), { recursive: true });
  await rawDisk(path.join(source, "subfolder", "disks", "disk1.vmdk"), 10 * 1024);
  await writeFile(
    path.join(source, "subfolder", "disks", "disk1.mf"),
    `SHA256(disk1.vmdk)= ${await digest(path.join(source, "subfolder", "disks", "disk1.vmdk"), "sha256")}\n`,
  );
  await writeFile(
    path.join(source, "subfolder", "guest.ovf"),
    minimalOvf([{ href: "disks/disk1.vmdk" }]),
  );
  for (const packaging of ["tar", "directory"] as Packaging[]) {
    const ova = await pack(packaging, source, ["subfolder"], path.join(dir, "sub.ova"));
    const { archive, ovf, guest, warnings } = await open(ova);
    assert.deepEqual(warnings, []);
    assert.equal(ovf, "subfolder/guest.ovf");
    const disk = await locateDiskFile(archive, "subfolder", guest.disks[0]!.href);
    assert.equal(disk.name, "subfolder/disks/disk1.vmdk");
  }
});

test("snapshots: an href that is absent means its highest-numbered <href>.N", async (t) => {
  const { dir, dispose } = await scratch("snapshots");
  t.after(dispose);
  const source = path.join(dir, "source");
  await mkdir(source);
  for (const [index, size] of [
    [0, 10],
    [2, 12],
    [10, 13],
    [1, 11],
  ] as const)
    await rawDisk(path.join(source, `disk1.vmdk.${String(index).padStart(9, "0")}`), size * 1024);
  await writeFile(path.join(source, "guest.ovf"), minimalOvf([{ href: "disk1.vmdk" }]));
  const names = (await readdir(source)).sort();
  for (const packaging of ["tar", "directory"] as Packaging[]) {
    const ova = await pack(packaging, source, names, path.join(dir, "snap.ova"));
    const { archive, guest } = await open(ova);
    const disk = await locateDiskFile(archive, ".", guest.disks[0]!.href);
    assert.equal(disk.name, "disk1.vmdk.000000010", packaging);
  }
});

test("the OVF: none or several is an error; a missing disk is virt-v2v's error", async (t) => {
  const { dir, dispose } = await scratch("ovf-count");
  t.after(dispose);
  const none = path.join(dir, "none");
  await mkdir(none);
  await rawDisk(path.join(none, "disk1.vmdk"), 1024);
  await rejectsWith(open(none), /^-i ova: no \.ovf file was found in .*none/);

  const two = path.join(dir, "two");
  await mkdir(path.join(two, "sub"), { recursive: true });
  await writeFile(path.join(two, "a.ovf"), minimalOvf([{ href: "disk1.vmdk" }]));
  await writeFile(path.join(two, "sub", "b.ovf"), minimalOvf([{ href: "disk1.vmdk" }]));
  // Mac tar's "._" companions are not descriptors.
  await writeFile(path.join(two, "._a.ovf"), "junk");
  await rejectsWith(
    open(two),
    /^-i ova: more than one \.ovf file was found in .*two \(a\.ovf, sub\/b\.ovf\)/,
  );

  const missing = path.join(dir, "missing");
  await mkdir(missing);
  await writeFile(path.join(missing, "a.ovf"), minimalOvf([{ href: "disk9.vmdk" }]));
  const tar = await pack("tar", missing, ["a.ovf"], path.join(dir, "missing.ova"));
  const { archive, guest } = await open(tar);
  await rejectsWith(
    locateDiskFile(archive, ".", guest.disks[0]!.href),
    /^-i ova: OVF references file ‘disk9\.vmdk’ which was not found in the OVA archive$/,
  );
});

test("paths that leave the OVA are refused: .., absolute, symbolic links", async (t) => {
  const { dir, dispose } = await scratch("escape");
  t.after(dispose);
  const outsideDisk = path.join(dir, "secret.img");
  await rawDisk(outsideDisk, 1024);
  const ova = path.join(dir, "ova");
  await mkdir(ova);
  await writeFile(path.join(ova, "a.ovf"), minimalOvf([{ href: "disk1.vmdk" }]));
  await symlink(outsideDisk, path.join(ova, "link.vmdk"));
  await rawDisk(path.join(ova, "inside.img"), 1024);
  await symlink("inside.img", path.join(ova, "inside-link.vmdk"));
  const { archive } = await open(ova);
  const refused = (file: Promise<unknown>, shown: string) =>
    rejectsWith(
      file,
      new RegExp(
        `^-i ova: invalid OVA file: path ‘${shown}’ references a file outside the archive$`,
      ),
    );
  await refused(locateDiskFile(archive, ".", "../secret.img"), "\\.\\./secret\\.img");
  await refused(locateDiskFile(archive, ".", outsideDisk), outsideDisk);
  await refused(locateDiskFile(archive, ".", "link.vmdk"), "link\\.vmdk");
  // A link that stays inside the directory is followed, as virt-v2v does.
  assert.equal((await locateDiskFile(archive, ".", "inside-link.vmdk")).name, "inside-link.vmdk");

  // Inside a tar, a link is never served: the OVA must hold the disk itself.
  const tar = path.join(dir, "links.ova");
  await execa("tar", ["-cf", tar, "a.ovf", "link.vmdk"], { cwd: ova });
  const tarOva = await open(tar);
  await rejectsWith(
    locateDiskFile(tarOva.archive, ".", "link.vmdk"),
    /^-i ova: invalid OVA file: path ‘link\.vmdk’ is a symbolic link in the archive/,
  );
  await refused(locateDiskFile(tarOva.archive, ".", "sub/../../x"), "sub/\\.\\./\\.\\./x");
});

test("manifests: SHA1 and SHA256, CRLF, unparsable lines warned, a bad checksum is fatal", async (t) => {
  const { dir, dispose } = await scratch("manifests");
  t.after(dispose);
  const source = path.join(dir, "source");
  await mkdir(source);
  await writeFile(path.join(source, "test.ovf"), minimalOvf([{ href: "disk.vmdk" }]));
  await rawDisk(path.join(source, "disk.vmdk"), 64 * 1024);
  const sha1Ovf = await digest(path.join(source, "test.ovf"), "sha1");
  const sha256Disk = await digest(path.join(source, "disk.vmdk"), "sha256");
  const build = async (manifest: string, packaging: Packaging = "tar") => {
    await writeFile(path.join(source, "test.mf"), manifest);
    return pack(packaging, source, ["test.ovf", "disk.vmdk", "test.mf"], path.join(dir, "m.ova"));
  };

  // Good: no warning at all (as upstream's test-v2v-i-ova-good-checksums).
  const good = await open(
    await build(`SHA1(test.ovf)= ${sha1Ovf}\r\nSHA256(disk.vmdk)= ${sha256Disk}\r\n`),
  );
  assert.deepEqual(good.warnings, []);

  // sha256sum --tag's spelling, and uppercase hex.
  const tagged = await open(await build(`SHA256 (disk.vmdk) = ${sha256Disk.toUpperCase()}\n`));
  assert.deepEqual(tagged.warnings, []);

  // Unparsable lines and files the OVA lacks are warnings (test-v2v-i-ova-invalid-manifest1/2).
  const warned = await open(
    await build(
      `SHA1(test.ovf)=${sha1Ovf}\ngarbage line\r\nSHA1(absent.vmdk)= ${sha1Ovf}\nSHA256(disk.vmdk)= ${sha256Disk}\n`,
    ),
  );
  assert.deepEqual(warned.warnings, [
    `unable to parse line from manifest file: "SHA1(test.ovf)=${sha1Ovf}"`,
    'unable to parse line from manifest file: "garbage line\\r"',
    "manifest has a checksum for non-existent file absent.vmdk (ignored)",
  ]);

  // A wrong checksum fails, in a tar and in a directory.
  const wrong = sha256Disk.replace(/[0-9a-f]/g, (c) => (c === "0" ? "1" : "0"));
  for (const packaging of ["tar", "directory"] as Packaging[]) {
    await rejectsWith(
      open(await build(`SHA256(disk.vmdk)= ${wrong}\n`, packaging)),
      new RegExp(
        `^-i ova: corrupt OVA: checksum of disk ${packaging === "tar" ? "" : ".*/"}disk\\.vmdk does not match manifest \\(actual = ${sha256Disk}, expected = ${wrong}\\)$`,
      ),
    );
  }

  // A manifest naming a file outside the OVA.
  await rejectsWith(
    open(await build(`SHA1(../etc/passwd)= ${sha1Ovf}\n`)),
    /invalid OVA file: path ‘\.\.\/etc\/passwd’ references a file outside the archive/,
  );
});

test("a file that is no OVA: virt-v2v's unsupported format error", async (t) => {
  const { dir, dispose } = await scratch("unknown");
  t.after(dispose);
  const junk = path.join(dir, "junk.ova");
  await writeFile(junk, Buffer.alloc(4096, 7));
  await rejectsWith(
    open(junk),
    /^-i ova: .*junk\.ova: unsupported file format; formats which we currently understand for '-i ova' are: tar \(uncompressed, compress with gzip or xz\), zip$/,
  );
  // gzip of something that is not a tar.
  const gz = path.join(dir, "notar.ova");
  await writeFile(path.join(dir, "plain"), "hello\n".repeat(200));
  await execa("sh", ["-c", 'gzip -c "$1" > "$2"', "sh", path.join(dir, "plain"), gz]);
  await rejectsWith(open(gz), /notar\.ova: unsupported file format/);
});
