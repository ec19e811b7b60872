/**
 * -o libvirt's descriptor: what the supervisor prints ("Setting up the destination: …", `-oo ?`)
 * and the option checks it makes before starting anything, against virt-v2v 2.2's words.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { access } from "node:fs/promises";
import { execa } from "execa";
import { UserError, type OutputRequest } from "@split-v2v/common";
import {
  checkOutputLibvirtFormat,
  checkOutputLibvirtOptions,
  outputLibvirtMode,
} from "../src/index.js";

function request(changes: Partial<OutputRequest> = {}): OutputRequest {
  return {
    mode: "libvirt",
    storage: undefined,
    format: undefined,
    allocation: undefined,
    name: undefined,
    connection: undefined,
    password: undefined,
    options: [],
    ...changes,
  };
}

test("description: 2.2's to_string, -os only when given (not -oc)", () => {
  assert.equal(outputLibvirtMode.description(request()), "-o libvirt");
  assert.equal(
    outputLibvirtMode.description(request({ storage: "vms", connection: "qemu:///system" })),
    "-o libvirt -os vms",
  );
});

test("-oo ? is 2.2's text", async (t) => {
  try {
    await access("/usr/bin/virt-v2v");
  } catch {
    t.skip("Debian's virt-v2v 2.2 is not installed (/usr/bin/virt-v2v) to compare with");
    return;
  }
  const real = await execa("/usr/bin/virt-v2v", ["-o", "libvirt", "-oo", "?"], {
    env: { LANG: "C.UTF-8" },
  });
  assert.equal(outputLibvirtMode.optionsHelp, `${String(real.stdout)}\n`);
});

test("defaults: pool 'default', raw, sparse, libvirt's default connection", () => {
  const options = checkOutputLibvirtOptions(request());
  assert.deepEqual(options, {
    connection: undefined,
    pool: "default",
    format: "raw",
    allocation: "sparse",
    name: undefined,
    compressed: false,
  });
  assert.equal(checkOutputLibvirtFormat(options), "raw");
  const compressed = checkOutputLibvirtOptions(
    request({
      options: ["compressed"],
      format: "qcow2",
      storage: "vms",
      connection: "test:///default",
    }),
  );
  assert.equal(compressed.compressed, true);
  assert.equal(compressed.pool, "vms");
  assert.equal(compressed.connection, "test:///default");
  assert.equal(checkOutputLibvirtFormat(compressed), "qcow2");
  assert.equal(
    checkOutputLibvirtOptions(request({ options: ["compressed=false"] })).compressed,
    false,
  );
});

test("option errors in 2.2's words and order, before any helper runs", () => {
  const cases: Array<[Partial<OutputRequest>, string]> = [
    // 2.2's text for this mode says "-o disk" (shared with -o local).
    [{ options: ["colour=red"] }, "-o disk: unknown output option ‘-oo colour’"],
    // The -oo loop comes before -op in 2.2's parse_options.
    [
      { options: ["colour"], password: "/etc/passwd" },
      "-o disk: unknown output option ‘-oo colour’",
    ],
    [{ password: "/etc/passwd" }, "-o libvirt: -op option cannot be used in this output mode"],
    [
      { options: ["compressed=maybe"] },
      "-o libvirt: -oo compressed=maybe: the value must be true or false",
    ],
    [
      { allocation: "thick" },
      "-oa thick: unknown output allocation mode; use -oa sparse or -oa preallocated",
    ],
  ];
  for (const [changes, message] of cases) {
    assert.throws(
      () => outputLibvirtMode.helperArgs(request(changes)),
      (err: unknown) => err instanceof UserError && err.message === message,
      message,
    );
  }
  // -of and -oo compressed are 2.2's disk-creation checks: the helper's precheck makes them,
  // after the pool's.
  assert.throws(
    () => checkOutputLibvirtFormat(checkOutputLibvirtOptions(request({ options: ["compressed"] }))),
    /^UserError: ‘-oo compressed’ is only allowed when the output format is a local qcow2-format file, i\.e\. ‘-of qcow2’$/,
  );
  assert.throws(
    () => checkOutputLibvirtFormat(checkOutputLibvirtOptions(request({ format: "vmdk" }))),
    /^UserError: output mode only supports raw or qcow2 format \(format: vmdk\)$/,
  );
});

test("helperArgs passes each -o… option the user gave", () => {
  assert.deepEqual(
    outputLibvirtMode.helperArgs(
      request({
        connection: "qemu:///system",
        storage: "vms",
        format: "qcow2",
        allocation: "preallocated",
        name: "guest",
        options: ["compressed"],
      }),
    ),
    [
      "-os",
      "vms",
      "-of",
      "qcow2",
      "-oa",
      "preallocated",
      "-on",
      "guest",
      "-oc",
      "qemu:///system",
      "-oo",
      "compressed",
    ],
  );
  assert.deepEqual(outputLibvirtMode.helperArgs(request()), []);
});
