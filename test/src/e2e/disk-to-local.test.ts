/**
 * The main job: `virt-v2v -i disk GUEST -o local -os DIR`, checked as a user would: the messages,
 * the disk and XML written, the XML valid for libvirt, the source untouched, nothing left behind.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile, readdir } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { linuxGuest } from "../fixtures/guests.js";
import { leftovers, makeSandbox, sha256, virtV2v } from "../support/run.js";

test("a Linux guest converts to -o local: disk, valid libvirt XML, source untouched", async (t) => {
  const sandbox = await makeSandbox("local");
  t.after(() => sandbox.dispose());
  const guest = await linuxGuest("plain");
  const before = await sha256(guest.path);

  const result = await virtV2v(
    ["-i", "disk", guest.path, "-o", "local", "-os", sandbox.out, "-on", "converted"],
    sandbox,
  );
  assert.equal(result.exitCode, 0, result.stderr);

  // The stage messages, in virt-v2v 2.2's order and format.
  const messages = result.stdout
    .split("\n")
    .filter((line) => /^\[ *\d+\.\d\] /.test(line))
    .map((line) => line.replace(/^\[ *\d+\.\d\] /, ""));
  assert.deepEqual(messages, [
    `Setting up the source: -i disk ${guest.path}`,
    "Opening the source",
    "Inspecting the source",
    "Checking for sufficient free disk space in the guest",
    // libguestfs's product name of a Debian guest is its /etc/debian_version.
    "Converting 12.2 to run on KVM",
    "Mapping filesystem data to avoid copying unused and blank areas",
    "Closing the overlay",
    "Assigning disks to buses",
    "Checking if the guest needs BIOS or UEFI to boot",
    `Setting up the destination: -o disk -os ${sandbox.out}`,
    "Copying disk 1/1",
    "Creating output metadata",
    "Finishing off",
  ]);

  assert.deepEqual((await readdir(sandbox.out)).sort(), ["converted-sda", "converted.xml"]);
  const xmlFile = path.join(sandbox.out, "converted.xml");
  const validation = await execa("virt-xml-validate", [xmlFile, "domain"], { reject: false });
  assert.equal(
    validation.exitCode,
    0,
    `virt-xml-validate: ${validation.stdout}${validation.stderr}`,
  );
  const xml = await readFile(xmlFile, "utf8");
  assert.match(xml, /<name>converted<\/name>/);
  assert.match(xml, /<libosinfo:os id='http:\/\/debian.org\/debian\/12'\/>/);
  assert.match(xml, /<memory unit='KiB'>2097152<\/memory>/);
  assert.match(xml, new RegExp(`<source file='${path.join(sandbox.out, "converted-sda")}'/>`));
  assert.match(
    xml,
    /<target dev='vda' bus='virtio'\/>/,
    "the guest's kernel has virtio_blk, so the disk is on virtio",
  );
  assert.match(
    xml,
    /<interface type='network'>\s*<source network='default'\/>\s*<model type='virtio'\/>/,
  );

  // The target is a raw disk of the source's size, readable over NBD like any disk.
  const targetInfo = JSON.parse(
    String(
      (await execa("qemu-img", ["info", "--output=json", path.join(sandbox.out, "converted-sda")]))
        .stdout,
    ),
  ) as {
    format: string;
    "virtual-size": number;
  };
  const sourceInfo = JSON.parse(
    String((await execa("qemu-img", ["info", "--output=json", guest.path])).stdout),
  ) as {
    "virtual-size": number;
  };
  assert.equal(targetInfo.format, "raw");
  assert.equal(targetInfo["virtual-size"], sourceInfo["virtual-size"]);

  assert.equal(await sha256(guest.path), before, "the source image is unchanged");
  assert.deepEqual(await leftovers(sandbox), { processes: [], workdirs: [] });
});
