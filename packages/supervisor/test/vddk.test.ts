import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { optionsHelpText } from "@split-v2v/common";
import { inputHelperArgs, parseCommandLine, selectInputMode } from "../src/index.js";
import { capabilities } from "../src/modes.js";

const virtV2v = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../../bin/virt-v2v.mjs",
);
const THUMBPRINT = "51:5E:3C:1D:44:0A:EF:1F:87:43:B5:2E:80:EF:8A:20:A0:54:F4:0C";
const VCENTER =
  "vpx://administrator%40vsphere.local@vcenter.example.com/Datacenter/esxi?no_verify=1";

function runOf(argv: string[]) {
  const command = parseCommandLine(argv);
  assert.equal(command.kind, "run");
  if (command.kind !== "run") throw new Error("not a run");
  return command.run;
}

test("-i absent is -i libvirt; -ic vpx://… -it vddk chooses the vddk mode, other -ic/-it other modes", () => {
  const run = runOf(["-ic", VCENTER, "-it", "vddk", "-ip", "/pw", "guest", "-o", "null"]);
  assert.equal(run.input.mode, "libvirt");
  assert.equal(selectInputMode(run.input).program, "helper-v2v-input-vddk");
  for (const scheme of ["esx://root@esxi", "gsx://root@esxi", "VPX://root@vcenter/dc"]) {
    assert.equal(
      selectInputMode({ mode: "libvirt", inputConnection: scheme, inputTransport: "vddk" }).program,
      "helper-v2v-input-vddk",
    );
  }
  const program = (inputConnection: string | undefined, inputTransport: string | undefined) =>
    selectInputMode({ mode: "libvirt", inputConnection, inputTransport }).program;
  assert.equal(selectInputMode("libvirt").program, "helper-v2v-input-libvirt", "plain -i libvirt");
  assert.equal(program(VCENTER, undefined), "helper-v2v-input-vcenter-https", "no -it: https");
  // virt-v2v 2.2: -it vddk without a vCenter/ESXi -ic is the local mode, which ignores -it.
  assert.equal(program(undefined, "vddk"), "helper-v2v-input-libvirt");
  assert.equal(program("xen+ssh://root@xen", "vddk"), "helper-v2v-input-xen-ssh");
  assert.ok(capabilities().includes("vddk"), "virt-v2v 2.2's vddk capability line");
  assert.ok(capabilities().includes("input:libvirt"), "the local mode's line");
});

test("--vddk-X=V are -io vddk-X=V, repeated ones included (the mode refuses those)", () => {
  const run = runOf([
    "-ic",
    VCENTER,
    "-it",
    "vddk",
    "-ip",
    "/pw",
    "-io",
    "vddk-port=902",
    "--vddk-config=/etc/vddk.conf",
    "--vddk-cookie",
    "COOKIE",
    "--vddk-libdir=/opt/vmware-vix-disklib-distrib",
    "--vddk-nfchostport=902",
    "--vddk-snapshot=snapshot-12",
    `--vddk-thumbprint=${THUMBPRINT}`,
    "--vddk-transports=nbd:nbdssl",
    "guest",
  ]);
  assert.deepEqual(run.input.inputOptions, [
    "vddk-port=902",
    "vddk-config=/etc/vddk.conf",
    "vddk-cookie=COOKIE",
    "vddk-libdir=/opt/vmware-vix-disklib-distrib",
    "vddk-nfchostport=902",
    "vddk-snapshot=snapshot-12",
    `vddk-thumbprint=${THUMBPRINT}`,
    "vddk-transports=nbd:nbdssl",
  ]);
  const mode = selectInputMode(run.input);
  assert.deepEqual(inputHelperArgs(mode, run.input), [
    "-ic",
    VCENTER,
    "-ip",
    "/pw",
    ...run.input.inputOptions.flatMap((option) => ["-io", option]),
    "--",
    "guest",
  ]);

  const twice = runOf([
    "-ic",
    VCENTER,
    "-it",
    "vddk",
    "-ip",
    "/pw",
    "--vddk-libdir=/a",
    "-io",
    "vddk-libdir=/b",
    "guest",
  ]);
  assert.throws(
    () => inputHelperArgs(selectInputMode(twice.input), twice.input),
    /^UserError: -it vddk: duplicate -io options on the command line$/,
  );
});

test("the vddk mode checks its request before anything starts, in virt-v2v's words", () => {
  const base = {
    mode: "libvirt",
    args: ["guest"],
    inputFormat: undefined,
    inputConnection: VCENTER,
    inputTransport: "vddk",
    inputPassword: "/pw",
    inputOptions: [] as string[],
    bandwidth: undefined,
    bandwidthFile: undefined,
  };
  const mode = selectInputMode(base);
  const refused = (change: Partial<typeof base>, message: RegExp) =>
    assert.throws(() => inputHelperArgs(mode, { ...base, ...change }), message);
  refused(
    { inputOptions: ["vddk-foo=1"] },
    /^UserError: -it vddk: ‘-io vddk-foo’ is not a valid input option$/,
  );
  refused({ inputOptions: ["config=x"] }, /‘-io config’ is not a valid input option/);
  refused(
    { inputOptions: ["vddk-thumbprint=51:5E:3C"] },
    /^UserError: -io vddk-thumbprint=51:5E:3C: not an SSL thumbprint; it is the SHA1 fingerprint/,
  );
  refused({ inputPassword: undefined }, /give -ip FILE/);
  refused(
    { args: [] },
    /^UserError: -i libvirt: expecting a libvirt guest name on the command line$/,
  );
  refused({ args: ["a", "b"] }, /expecting a libvirt guest name/);
  refused({ inputConnection: undefined }, /expecting -ic parameter for vcenter connection/);
  refused({ inputConnection: "vpx:///Datacenter" }, /URL does not contain a host name field/);
  // vddk-file may be given once per disk: the helper counts them against the guest's disks.
  assert.ok(
    inputHelperArgs(mode, {
      ...base,
      inputOptions: ["vddk-file=[ds] a.vmdk", "vddk-file=[ds] b.vmdk"],
    }),
  );
  // --bandwidth limits the VDDK transfer (nbdkit's rate filter).
  assert.deepEqual(inputHelperArgs(mode, { ...base, bandwidth: "10M" }).slice(-4), [
    "--bandwidth",
    "10M",
    "--",
    "guest",
  ]);
  assert.equal(
    mode.description(base),
    `-i libvirt -ic ${VCENTER} -it vddk guest`,
    "virt-v2v's Setting up the source text",
  );
});

test("virt-v2v -ic vpx://… -it vddk -io ? lists the vddk options (no -i: libvirt)", async () => {
  const parsed = parseCommandLine(["-ic", "vpx://example.com", "-it", "vddk", "-io", "?"]);
  assert.deepEqual(parsed, {
    kind: "query-options",
    side: "input",
    mode: "libvirt",
    inputConnection: "vpx://example.com",
    inputTransport: "vddk",
  });
  const result = await execa(
    "node",
    [virtV2v, "-ic", "vpx://example.com", "-it", "vddk", "-io", "?"],
    { reject: false },
  );
  assert.equal(result.exitCode, 0, result.stderr);
  const vddk = selectInputMode({
    mode: "libvirt",
    inputConnection: "vpx://example.com",
    inputTransport: "vddk",
  });
  assert.equal(`${result.stdout}\n`, optionsHelpText(vddk));
  // What virt-v2v's test-v2v-it-vddk-io-query.sh looks for.
  assert.match(result.stdout, /-io vddk-config/);
  assert.match(result.stdout, /-io vddk-thumbprint/);
  for (const key of [
    "compression",
    "cookie",
    "file",
    "libdir",
    "nfchostport",
    "port",
    "snapshot",
    "transports",
  ])
    assert.match(result.stdout, new RegExp(`^  -io vddk-${key}=`, "m"));
  // Plain -i libvirt -io ? is the local mode's, which has none (virt-v2v 2.2's words).
  const local = await execa("node", [virtV2v, "-io", "?"], { reject: false });
  assert.equal(local.exitCode, 0, local.stderr);
  assert.equal(local.stdout, "No input options can be used in this mode.");
});
