/**
 * helper-v2v-output-rhv stage by stage, on a directory laid out as an oVirt Export Storage
 * Domain, with a converted guest's metadata written by hand (no conversion): the ESD tree, the
 * volumes' bytes, the .meta files, the OVF, ownership, and everything removed when the run does
 * not finish. Real nbdkit, qemu-nbd and nbdcopy serve and fill the volumes.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import {
  convertedWindowsGuest,
  runHelper,
  serve,
  serversMentioning,
  sha256,
  writeConvertedGuest,
} from "@split-v2v/helper-test-kit";

const helper = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "src", "cli.js");
const SD_UUID = "12345678-1234-1234-1234-123456789abc";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MiB = 1024 * 1024;
const asRoot = process.geteuid?.() === 0;

/** An empty ESD as oVirt makes it: SD-UUID/images and SD-UUID/master/vms. */
async function makeEsd(dir: string): Promise<string> {
  const esd = path.join(dir, "esd");
  await mkdir(path.join(esd, SD_UUID, "images"), { recursive: true });
  await mkdir(path.join(esd, SD_UUID, "master", "vms"), { recursive: true });
  return esd;
}

/** Every path below `dir`, relative, sorted. */
async function tree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries.map(String).sort();
}

/** A raw source disk with data at two places and holes elsewhere. */
async function sourceDisk(file: string, size: number, pattern: number): Promise<void> {
  await execa("qemu-img", ["create", "-q", "-f", "raw", file, String(size)]);
  await execa("qemu-io", [
    "-f",
    "raw",
    "-c",
    `write -P ${pattern} 1M 2M`,
    "-c",
    `write -P ${pattern + 1} ${size / MiB - 4}M 1M`,
    file,
  ]);
}

test("-o rhv: volumes, .meta files and the OVF in the ESD; the copy lands in the volumes", async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "output-rhv-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const esd = await makeEsd(dir);
  const workdir = await mkdtemp(path.join(dir, "work-"));
  const sizes = [64 * MiB, 32 * MiB];
  await writeConvertedGuest(workdir, convertedWindowsGuest(sizes, "win10-rhv"));
  const sources = await Promise.all(
    sizes.map(async (size, index) => {
      const file = path.join(dir, `source${index}.img`);
      await sourceDisk(file, size, 0x41 + index * 2);
      return file;
    }),
  );

  const precheck = await runHelper(helper, ["precheck", workdir, "-os", esd]);
  assert.equal(precheck.exitCode, 0, String(precheck.stderr));
  assert.deepEqual(await tree(esd), [
    SD_UUID,
    `${SD_UUID}/images`,
    `${SD_UUID}/master`,
    `${SD_UUID}/master/vms`,
  ]);

  const setup = await serve(helper, ["setup", workdir, "-os", esd]);
  let stopped = false;
  t.after(() => {
    if (!stopped) setup.child.kill("SIGTERM");
  });
  assert.deepEqual(setup.events.at(-1), { event: "ready", sockets: ["out0", "out1"] });
  for (const [index, source] of sources.entries()) {
    await execa("nbdcopy", [source, `nbd+unix:///?socket=${path.join(workdir, `out${index}`)}`]);
  }
  const final = await runHelper(helper, ["final", workdir, "-os", esd]);
  assert.equal(final.exitCode, 0, String(final.stderr));
  await writeFile(path.join(workdir, "done"), "");
  setup.child.kill("SIGTERM");
  stopped = true;
  assert.equal((await setup.child).exitCode, 0);
  assert.deepEqual(await serversMentioning(workdir), [], "no server left");

  // The tree: one image directory per disk with its volume and .meta, one VM directory.
  const images = (await readdir(path.join(esd, SD_UUID, "images"))).sort();
  assert.equal(images.length, 2);
  const vms = await readdir(path.join(esd, SD_UUID, "master", "vms"));
  assert.equal(vms.length, 1);
  const vmUuid = vms[0]!;
  assert.match(vmUuid, UUID);
  assert.deepEqual(await readdir(path.join(esd, SD_UUID, "master", "vms", vmUuid)), [
    `${vmUuid}.ovf`,
  ]);
  const ovf = await readFile(
    path.join(esd, SD_UUID, "master", "vms", vmUuid, `${vmUuid}.ovf`),
    "utf8",
  );
  await execa("xmllint", ["--noout", "-"], { input: ovf });

  const volumes = new Map<string, string>();
  for (const image of images) {
    assert.match(image, UUID);
    const files = (await readdir(path.join(esd, SD_UUID, "images", image))).sort();
    assert.equal(files.length, 2, files.join(", "));
    const volume = files[0]!;
    assert.equal(files[1], `${volume}.meta`);
    assert.match(volume, UUID);
    volumes.set(image, volume);
  }
  // Each disk's bytes are in the volume the OVF names for it, in source order.
  const hrefs = [...ovf.matchAll(/<File ovf:href='([^']+)'/g)].map((match) => match[1]!);
  assert.equal(hrefs.length, 2);
  for (const [index, href] of hrefs.entries()) {
    const [image, volume] = href.split("/");
    assert.equal(volumes.get(image!), volume, `${href} is a volume of the ESD`);
    const file = path.join(esd, SD_UUID, "images", image!, volume!);
    assert.equal(await sha256(file), await sha256(sources[index]!), `disk ${index} copied`);
    assert.equal((await stat(file)).size, sizes[index]);
    // Raw and sparse: only the written data takes space.
    assert.ok((await stat(file)).blocks * 512 < 8 * MiB, "the volume stays sparse");
    const meta = await readFile(`${file}.meta`, "utf8");
    assert.match(meta, new RegExp(`^DOMAIN=${SD_UUID}$`, "m"));
    assert.match(meta, new RegExp(`^IMAGE=${image}$`, "m"));
    assert.match(meta, new RegExp(`^SIZE=${sizes[index]! / 512}$`, "m"));
    assert.match(meta, /^FORMAT=RAW$/m);
    assert.match(meta, /^TYPE=SPARSE$/m);
    assert.match(meta, /^EOF$/m);
    // The OVF's disk: its capacity in bytes, its sizes in whole GiB (the used 3 MiB round up to 1).
    const disk = new RegExp(
      `<Disk ovf:diskId='${volume}' ovf:size='1' ovf:capacity='${sizes[index]}' ovf:fileRef='${image}/${volume}'[^>]*ovf:volume-format='RAW' ovf:volume-type='Sparse'[^>]*ovf:disk-interface='VirtIO'[^>]*ovf:actual_size='1'/>`,
    );
    assert.match(ovf, disk);
  }
  assert.match(ovf, /<Name>win10-rhv<\/Name>/);
  assert.match(ovf, /<rasd:VirtualQuantity>2048<\/rasd:VirtualQuantity>/);
  assert.match(ovf, /<rasd:MACAddress>00:50:56:a1:b2:c3<\/rasd:MACAddress>/);
  assert.match(ovf, /<Description>windows_10x64<\/Description>/);

  if (asRoot) {
    // oVirt reads the domain as vdsm:kvm (36:36).
    for (const entry of await tree(path.join(esd, SD_UUID))) {
      if (!entry.startsWith("images/") && !entry.startsWith(`master/vms/${vmUuid}`)) continue;
      const { uid, gid } = await stat(path.join(esd, SD_UUID, entry));
      assert.deepEqual([uid, gid], [36, 36], `${entry} is owned by 36:36`);
    }
  } else {
    assert.ok(
      setup.events.some(
        (event) =>
          event.event === "warning" &&
          String(event.text).startsWith("cannot write files to the NFS server as 36:36"),
      ),
      "a user who is not root is told the files are not 36:36",
    );
  }
});

test("-o rhv -of qcow2 -oa preallocated: qcow2 volumes, COW and Preallocated in the .meta and OVF", async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "output-rhv-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const esd = await makeEsd(dir);
  const workdir = await mkdtemp(path.join(dir, "work-"));
  await writeConvertedGuest(workdir, convertedWindowsGuest([16 * MiB]));
  const options = ["-os", esd, "-of", "qcow2", "-oa", "preallocated", "-on", "renamed"];
  const setup = await serve(helper, ["setup", workdir, ...options]);
  t.after(() => setup.child.kill("SIGTERM"));
  const final = await runHelper(helper, ["final", workdir, ...options]);
  assert.equal(final.exitCode, 0, String(final.stderr));
  await writeFile(path.join(workdir, "done"), "");
  setup.child.kill("SIGTERM");
  await setup.child;

  const [image] = await readdir(path.join(esd, SD_UUID, "images"));
  const [volume] = (await readdir(path.join(esd, SD_UUID, "images", image!))).sort();
  const file = path.join(esd, SD_UUID, "images", image!, volume!);
  const info = JSON.parse(
    String((await execa("qemu-img", ["info", "--output=json", file])).stdout),
  ) as {
    format: string;
    "virtual-size": number;
  };
  assert.equal(info.format, "qcow2");
  assert.equal(info["virtual-size"], 16 * MiB);
  const meta = await readFile(`${file}.meta`, "utf8");
  assert.match(meta, /^FORMAT=COW$/m);
  assert.match(meta, /^TYPE=PREALLOCATED$/m);
  const [vm] = await readdir(path.join(esd, SD_UUID, "master", "vms"));
  const ovf = await readFile(path.join(esd, SD_UUID, "master", "vms", vm!, `${vm}.ovf`), "utf8");
  assert.match(ovf, /ovf:volume-format='COW' ovf:volume-type='Preallocated'/);
  assert.match(ovf, /<Name>renamed<\/Name>/);
});

test("-o rhv: a run that does not finish leaves the ESD as it found it", async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "output-rhv-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const esd = await makeEsd(dir);
  const before = await tree(esd);
  const workdir = await mkdtemp(path.join(dir, "work-"));
  await writeConvertedGuest(workdir, convertedWindowsGuest([8 * MiB, 8 * MiB]));
  const setup = await serve(helper, ["setup", workdir, "-os", esd]);
  // final ran (the OVF is written) but the run failed after it: no WORKDIR/done.
  const final = await runHelper(helper, ["final", workdir, "-os", esd]);
  assert.equal(final.exitCode, 0, String(final.stderr));
  assert.equal((await readdir(path.join(esd, SD_UUID, "master", "vms"))).length, 1);
  setup.child.kill("SIGTERM");
  await setup.child;
  assert.deepEqual(await tree(esd), before, "images and the VM's OVF are removed");
  assert.deepEqual(await serversMentioning(workdir), [], "no server left");
});

test("-o rhv refuses what it cannot write, in one line, before creating anything", async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "output-rhv-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const workdir = await mkdtemp(path.join(dir, "work-"));
  await writeConvertedGuest(workdir, convertedWindowsGuest([8 * MiB]));
  const noUuid = path.join(dir, "no-uuid");
  await mkdir(path.join(noUuid, "lost+found"), { recursive: true });
  const twoUuids = path.join(dir, "two-uuids");
  await mkdir(path.join(twoUuids, SD_UUID), { recursive: true });
  await mkdir(path.join(twoUuids, "87654321-4321-4321-4321-cba987654321"), { recursive: true });
  const unattached = path.join(dir, "unattached");
  await mkdir(path.join(unattached, SD_UUID, "images"), { recursive: true });
  const manyDisks = await mkdtemp(path.join(dir, "work-many-"));
  await writeConvertedGuest(manyDisks, convertedWindowsGuest(new Array<number>(24).fill(MiB)));
  const esd = await makeEsd(dir);

  const cases: Array<[string[], RegExp, string?]> = [
    [[], /^helper-v2v-output-rhv: error: -o rhv: -os option was not specified$/],
    [["-os", esd, "-oo", "x"], /error: no -oo \(output options\) are allowed here$/],
    [
      ["-os", esd, "-op", "/etc/passwd"],
      /error: -o rhv: -op option cannot be used in this output mode$/,
    ],
    [
      ["-os", esd, "-of", "vmdk"],
      /error: output mode only supports raw or qcow2 format \(format: vmdk\)$/,
    ],
    [
      ["-os", path.join(dir, "missing")],
      /error: could not read the Export Storage Domain specified by the '-os .*missing' parameter on the command line\./,
    ],
    [
      ["-os", noUuid],
      /error: there are no UUIDs in the Export Storage Domain \(.*no-uuid\)\.  Is it really an OVirt or RHV-M Export Storage Domain\?$/,
    ],
    [["-os", twoUuids], /error: there are multiple UUIDs in the Export Storage Domain/],
    [
      ["-os", unattached],
      /master\/vms does not exist or is not a directory\.  Most likely cause: .*attach the Export Storage Domain to a Data Center/,
    ],
    [
      ["-os", esd],
      /error: this output module doesn't support copying more than 23 disks \(this guest has 24\)$/,
      manyDisks,
    ],
  ];
  for (const [options, message, work] of cases) {
    const result = await runHelper(helper, ["precheck", work ?? workdir, ...options]);
    assert.equal(result.exitCode, 1, options.join(" "));
    const errors = String(result.stderr)
      .split("\n")
      .filter((line) => line.includes("error:"));
    assert.equal(errors.length, 1, String(result.stderr));
    assert.match(errors[0]!, message);
  }
  // The same for setup: nothing is created in the domain.
  const setup = await runHelper(helper, ["setup", manyDisks, "-os", esd]);
  assert.equal(setup.exitCode, 1);
  assert.deepEqual(await readdir(path.join(esd, SD_UUID, "images")), []);
});
