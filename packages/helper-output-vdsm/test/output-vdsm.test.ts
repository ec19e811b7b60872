/**
 * helper-v2v-output-vdsm stage by stage, as VDSM runs it: the data domain's image directories
 * made beforehand, every UUID given with -oo, a converted guest's metadata written by hand (no
 * conversion). Real nbdkit, qemu-nbd and nbdcopy serve and fill the volumes.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, readdir, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import {
  runOutputHelperToEnd,
  convertedWindowsGuest,
  runHelper,
  serve,
  writeConvertedGuest,
} from "@split-v2v/helper-test-kit";

const helper = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "src", "cli.js");
const SD_UUID = "12345678-1234-1234-1234-123456789abc";
const MiB = 1024 * 1024;

/** A data domain with one image directory per name, as VDSM prepares it, and an OVF directory. */
async function makeDomain(dir: string, images: readonly string[]) {
  const domain = path.join(dir, "mnt", SD_UUID);
  for (const image of images) await mkdir(path.join(domain, "images", image), { recursive: true });
  const ovfOutput = path.join(domain, "master", "vms", "VM");
  await mkdir(ovfOutput, { recursive: true });
  return { domain, ovfOutput };
}

interface QemuImgInfo {
  format: string;
  "virtual-size": number;
  "format-specific"?: { data?: { compat?: string } };
}

async function imageInfo(file: string): Promise<QemuImgInfo> {
  // -U: the volume may still be served (qemu-nbd holds its lock).
  const result = await execa("qemu-img", ["info", "-U", "--output=json", file]);
  return JSON.parse(String(result.stdout)) as QemuImgInfo;
}

test("-o vdsm: volumes and .meta files in VDSM's image directories, the OVF in vdsm-ovf-output", async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "output-vdsm-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const { domain, ovfOutput } = await makeDomain(dir, ["IMAGE1", "IMAGE2"]);
  const workdir = await mkdtemp(path.join(dir, "work-"));
  await writeConvertedGuest(workdir, convertedWindowsGuest([32 * MiB, 16 * MiB], "vdsm-guest"));
  const source = path.join(dir, "source.img");
  await execa("qemu-img", ["create", "-q", "-f", "raw", source, "32M"]);
  await execa("qemu-io", ["-f", "raw", "-c", "write -P 0x33 4M 2M", source]);

  const options = [
    "-os",
    domain,
    "-of",
    "qcow2",
    "-oo",
    "vdsm-image-uuid=IMAGE1",
    "-oo",
    "vdsm-vol-uuid=VOL1",
    "-oo",
    "vdsm-image-uuid=IMAGE2",
    "-oo",
    "vdsm-vol-uuid=VOL2",
    "-oo",
    "vdsm-vm-uuid=VM",
    "-oo",
    `vdsm-ovf-output=${ovfOutput}`,
    "-oo",
    "vdsm-compat=1.1",
    "-oo",
    "vdsm-ovf-flavour=ovirt",
  ];
  await runOutputHelperToEnd(helper, workdir, options, {
    sources: [source],
    sockets: ["out0", "out1"],
    after: (cleanup) => t.after(cleanup),
  });

  for (const [image, volume, size] of [
    ["IMAGE1", "VOL1", 32 * MiB],
    ["IMAGE2", "VOL2", 16 * MiB],
  ] as const) {
    const directory = path.join(domain, "images", image);
    assert.deepEqual((await readdir(directory)).sort(), [volume, `${volume}.meta`]);
    const info = await imageInfo(path.join(directory, volume));
    assert.equal(info.format, "qcow2");
    assert.equal(info["virtual-size"], size);
    assert.equal(info["format-specific"]?.data?.compat, "1.1");
    const meta = await readFile(path.join(directory, `${volume}.meta`), "utf8");
    assert.match(meta, new RegExp(`^DOMAIN=${SD_UUID}$`, "m"));
    assert.match(meta, new RegExp(`^IMAGE=${image}$`, "m"));
    assert.match(meta, /^FORMAT=COW$/m);
  }
  // The copied bytes are in the first volume (read back through qemu's qcow2 decoder).
  const copied = path.join(dir, "copied.img");
  await execa("qemu-img", [
    "convert",
    "-O",
    "raw",
    path.join(domain, "images", "IMAGE1", "VOL1"),
    copied,
  ]);
  assert.deepEqual(await readFile(copied), await readFile(source));

  assert.deepEqual(await readdir(ovfOutput), ["VM.ovf"]);
  const ovf = await readFile(path.join(ovfOutput, "VM.ovf"), "utf8");
  await execa("xmllint", ["--noout", "-"], { input: ovf });
  // The oVirt flavour: plain sections, files by volume id, disks by image id, no actual sizes.
  assert.match(ovf, /<DiskSection>/);
  assert.match(ovf, /<File ovf:href='VOL1' ovf:id='VOL1'/);
  assert.match(
    ovf,
    /<Disk ovf:diskId='IMAGE2' ovf:size='1' ovf:capacity='16777216' ovf:fileRef='VOL2'/,
  );
  assert.doesNotMatch(ovf, /actual_size/);
  assert.match(ovf, /<Name>vdsm-guest<\/Name>/);
});

test("-o vdsm: vdsm-compat=0.10 (the default) makes qcow2 volumes older qemu reads", async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "output-vdsm-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const { domain, ovfOutput } = await makeDomain(dir, ["IMG"]);
  const workdir = await mkdtemp(path.join(dir, "work-"));
  await writeConvertedGuest(workdir, convertedWindowsGuest([8 * MiB]));
  const options = [
    "-os",
    domain,
    "-of",
    "qcow2",
    "-oo",
    "vdsm-image-uuid=IMG",
    "-oo",
    "vdsm-vol-uuid=VOL",
    "-oo",
    "vdsm-vm-uuid=VM",
    "-oo",
    `vdsm-ovf-output=${ovfOutput}`,
  ];
  const setup = await serve(helper, ["setup", workdir, ...options]);
  t.after(() => setup.child.kill("SIGTERM"));
  const info = await imageInfo(path.join(domain, "images", "IMG", "VOL"));
  assert.equal(info["format-specific"]?.data?.compat, "0.10");
  const final = await runHelper(helper, ["final", workdir, ...options]);
  assert.equal(final.exitCode, 0, String(final.stderr));
  // No WORKDIR/done: the run did not finish, so the files go and VDSM's directories stay.
  setup.child.kill("SIGTERM");
  await setup.child;
  assert.deepEqual(await readdir(path.join(domain, "images", "IMG")), []);
  assert.deepEqual(await readdir(ovfOutput), []);
  assert.ok((await stat(path.join(domain, "images", "IMG"))).isDirectory());
});

test("-o vdsm refuses bad options and missing directories, in one line, before writing anything", async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "output-vdsm-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const { domain, ovfOutput } = await makeDomain(dir, ["IMG"]);
  const workdir = await mkdtemp(path.join(dir, "work-"));
  await writeConvertedGuest(workdir, convertedWindowsGuest([8 * MiB]));
  const good = [
    "-oo",
    "vdsm-image-uuid=IMG",
    "-oo",
    "vdsm-vol-uuid=VOL",
    "-oo",
    "vdsm-vm-uuid=VM",
    "-oo",
    `vdsm-ovf-output=${ovfOutput}`,
  ];
  const notUuid = path.join(dir, "mnt", "not-a-uuid");
  await mkdir(notUuid, { recursive: true });
  const cases: Array<[string[], RegExp]> = [
    [
      ["-os", domain, ...good, "-op", "/etc/passwd"],
      /-o vdsm: -op option cannot be used in this output mode$/,
    ],
    [["-os", domain, ...good, "-oo", "vdsm-compat=2"], /-o vdsm: unknown vdsm-compat level ‘2’$/],
    [
      ["-os", domain, ...good, "-oo", "vdsm-vm-uuid=X"],
      /-o vdsm: -oo vdsm-vm-uuid set more than once$/,
    ],
    [["-os", domain, ...good, "-oo", "colour=red"], /-o vdsm: unknown output option ‘-oo colour’$/],
    [
      ["-os", domain, ...good, "-oo", "vdsm-ovf-flavour=rhv"],
      /-oo vdsm-ovf-flavour=rhv: unknown OVF flavour; use one of: ovirt, rhvexp$/,
    ],
    [
      ["-os", domain, "-oo", "vdsm-vm-uuid=VM"],
      /-o vdsm: either -oo vdsm-image-uuid or -oo vdsm-vol-uuid was not specified$/,
    ],
    [["-os", domain, ...good.slice(0, 4)], /-o vdsm: -oo vdsm-vm-uuid was not specified$/],
    [good, /-o vdsm: -os option was not specified$/],
    [
      ["-os", path.join(dir, "missing"), ...good],
      /-os .*missing: output directory does not exist or is not a directory$/,
    ],
    [
      ["-os", notUuid, ...good],
      /vdsm: invalid -os parameter does not contain a valid UUID: .*not-a-uuid$/,
    ],
    [
      ["-os", domain, ...good, "-oo", "vdsm-image-uuid=IMG2", "-oo", "vdsm-vol-uuid=VOL2"],
      /has to match the number of guest disk images \(for this guest: 1\)$/,
    ],
    [
      ["-os", domain, ...good.map((word) => word.replace("=IMG", "=NOIMG"))],
      /image directory \(.*images\/NOIMG\) does not exist or is not a directory$/,
    ],
    [
      ["-os", domain, ...good.map((word) => word.replace(ovfOutput, path.join(dir, "nowhere")))],
      /OVF \(metadata\) directory \(.*nowhere\) does not exist or is not a directory$/,
    ],
  ];
  for (const [options, message] of cases) {
    const result = await runHelper(helper, ["setup", workdir, ...options]);
    assert.equal(result.exitCode, 1, options.join(" "));
    const errors = String(result.stderr)
      .split("\n")
      .filter((line) => line.includes("error:"));
    assert.equal(errors.length, 1, String(result.stderr));
    assert.match(errors[0]!, message);
  }
  assert.deepEqual(await readdir(path.join(domain, "images", "IMG")), []);
  assert.deepEqual(await readdir(ovfOutput), []);
});
