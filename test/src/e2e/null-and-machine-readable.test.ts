/**
 * -o null, --machine-readable and --print-source: the interfaces that tools parse, in virt-v2v
 * 2.2's formats.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { execa } from "execa";
import { linuxGuest } from "../fixtures/guests.js";
import { leftovers, makeSandbox, sha256, virtV2v } from "../support/run.js";

test("--machine-readable alone lists capabilities, one a line", async (t) => {
  const sandbox = await makeSandbox("caps");
  t.after(() => sandbox.dispose());
  const result = await virtV2v(["--machine-readable"], sandbox);
  assert.equal(result.exitCode, 0);
  const lines = result.stdout.trimEnd().split("\n");
  for (const capability of [
    "virt-v2v",
    "virt-v2v-2.0",
    "vcenter-https",
    "xen-ssh",
    "vddk",
    "input:disk",
    "input:libvirt",
    "input:libvirtxml",
    "input:ova",
    "input:vmx",
    "output:glance",
    "output:kubevirt",
    "output:libvirt",
    "output:local",
    "output:null",
    "output:openstack",
    "output:qemu",
    "output:rhv",
    "output:rhv-upload",
    "output:vdsm",
    "vdsm-compat-option",
    "convert:linux",
    "convert:windows",
    "ovf:ovirt",
    "ovf:rhvexp",
    "mac-ip-option",
  ]) {
    assert.ok(lines.includes(capability), `capability ${capability}`);
  }
  // Only what this version really does is claimed: --colours is accepted but changes nothing.
  assert.ok(!lines.includes("colours-option"));
  // In virt-v2v 2.2's order: its own list with the lines for what is not served left out.
  const theirs = await execa("/usr/bin/virt-v2v", ["--machine-readable"], { reject: false });
  if (theirs.exitCode === 0) {
    const reference = String(theirs.stdout).trimEnd().split("\n");
    assert.deepEqual(
      reference.filter((line) => lines.includes(line)),
      lines,
    );
  }
});

test("-V prints the virt-v2v version it is a drop-in for", async (t) => {
  const sandbox = await makeSandbox("version");
  t.after(() => sandbox.dispose());
  const result = await virtV2v(["-V"], sandbox);
  assert.equal(result.stdout, "virt-v2v 2.2.0\n");
});

test("--print-source prints virt-v2v's text for -i disk and starts nothing else", async (t) => {
  const sandbox = await makeSandbox("print-source");
  t.after(() => sandbox.dispose());
  const guest = await linuxGuest("plain");
  const result = await virtV2v(["-i", "disk", guest.path, "-o", "null", "--print-source"], sandbox);
  assert.equal(result.exitCode, 0, result.stderr);
  const name = guest.path.replace(/^.*\//, "").replace(/\.[^.]*$/, "");
  assert.equal(
    result.stdout.replace(/^\[ *\d+\.\d\] .*\n/, ""),
    [
      "Source guest information (--print-source option):",
      "",
      `    source name: ${name}`,
      "hypervisor type: unknownhv",
      "       VM genid: ",
      "         memory: 2147483648 (bytes)",
      "       nr vCPUs: 1",
      "     CPU vendor: ",
      "      CPU model: ",
      "   CPU topology: ",
      "   CPU features: acpi,apic,pae",
      "       firmware: unknown",
      "        display: window",
      "          sound: ",
      "disks:",
      "\t0",
      "removable media:",
      "",
      "NICs:",
      '\tNetwork "default"',
      "",
      "",
    ].join("\n"),
  );
  assert.deepEqual(await leftovers(sandbox), { processes: [], workdirs: [] });
});

test("-o null converts and copies, with JSON message lines for tools", async (t) => {
  const sandbox = await makeSandbox("null");
  t.after(() => sandbox.dispose());
  const guest = await linuxGuest("plain");
  const before = await sha256(guest.path);
  const result = await virtV2v(
    ["-i", "disk", guest.path, "-o", "null", "--machine-readable"],
    sandbox,
  );
  assert.equal(result.exitCode, 0, result.stderr);
  const json = result.stdout
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map(
      (line) =>
        JSON.parse(line) as { message: string; timestamp: string; type: string; percent?: number },
    );
  const messages = json.filter((entry) => entry.type === "message").map((entry) => entry.message);
  assert.deepEqual(messages.slice(0, 2), [
    `Setting up the source: -i disk ${guest.path}`,
    "Opening the source",
  ]);
  assert.ok(messages.includes("Copying disk 1/1"));
  assert.equal(messages.at(-1), "Finishing off");
  for (const entry of json) {
    assert.match(entry.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}\+00:00$/);
    assert.ok(["message", "info", "warning", "progress"].includes(entry.type), entry.type);
  }
  // virt-v2v's exact JSON layout: { "message": …, "timestamp": …, "type": … }
  assert.match(
    result.stdout,
    /^\{ "message": "Setting up the source: [^"]*", "timestamp": "[^"]+", "type": "message" \}$/m,
  );
  // Copy progress ends at 100 %.
  const progress = json.filter((entry) => entry.type === "progress");
  assert.ok(progress.length > 0 && progress.at(-1)!.percent === 100, "progress lines reach 100%");
  // Human messages are still printed beside the JSON, as virt-v2v does.
  assert.match(result.stdout, /^\[ *\d+\.\d\] Finishing off$/m);
  assert.equal(await sha256(guest.path), before);
  assert.deepEqual(await readdir(sandbox.out), []);
  assert.deepEqual(await leftovers(sandbox), { processes: [], workdirs: [] });
});
