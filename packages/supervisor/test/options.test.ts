import { test } from "node:test";
import assert from "node:assert/strict";
import { UserError } from "@split-v2v/common";
import { optionsHelpText } from "@split-v2v/common";
import {
  INPUT_MODES,
  OUTPUT_MODES,
  capabilities,
  inputHelperArgs,
  parseCommandLine,
  selectInputMode,
  selectOutputMode,
} from "../src/index.js";
import { helpText } from "../src/options.js";
import { requestArguments } from "../src/copy.js";

test("virt-v2v's single-dash options parse as words, not letter groups", () => {
  const command = parseCommandLine([
    "-i",
    "disk",
    "a.img",
    "b.img",
    "-o",
    "local",
    "-os",
    "/out",
    "-of",
    "qcow2",
    "-oa",
    "preallocated",
    "-on",
    "new",
    "-oo",
    "compressed",
    "-n",
    "in:out",
    "-b",
    "br0",
    "--root",
    "first",
    "-v",
    "-x",
  ]);
  assert.equal(command.kind, "run");
  if (command.kind !== "run") return;
  assert.deepEqual(command.run.input.args, ["a.img", "b.img"]);
  assert.equal(command.run.output.storage, "/out");
  assert.equal(command.run.output.format, "qcow2");
  assert.equal(command.run.output.allocation, "preallocated");
  assert.equal(command.run.output.name, "new");
  assert.deepEqual(command.run.output.options, ["compressed"]);
  assert.deepEqual(command.run.networks, ["in:out"]);
  assert.deepEqual(command.run.bridges, ["br0"]);
  assert.equal(command.run.root, "first");
  assert.equal(command.run.verbose && command.run.trace, true);
});

test("repeatable options take one value each, never the words after them", () => {
  const run = parseCommandLine(["-i", "disk", "-io", "a=b", "x.img", "-oo", "compressed", "y.img"]);
  assert.equal(run.kind, "run");
  if (run.kind !== "run") return;
  assert.deepEqual(run.run.input.args, ["x.img", "y.img"]);
  assert.deepEqual(run.run.input.inputOptions, ["a=b"]);
  assert.deepEqual(run.run.output.options, ["compressed"]);
});

test("set-once options given twice, and removed options, behave as in virt-v2v", () => {
  assert.throws(
    () => parseCommandLine(["-i", "disk", "x", "-os", "a", "-os", "b"]),
    /^UserError: -os option used more than once on the command line$/,
  );
  const deprecated = parseCommandLine([
    "-i",
    "disk",
    "x",
    "-o",
    "null",
    "--no-trim",
    "all",
    "--debug-gc",
  ]);
  assert.equal(
    deprecated.kind === "run" && deprecated.warnings[0],
    "the --no-trim option has been removed and now does nothing",
  );
  assert.throws(() => parseCommandLine(["--in-place", "-i", "disk", "x"]), /virt-v2v-in-place/);
});

test("--machine-readable alone asks for capabilities; with a source it is a run", () => {
  assert.equal(parseCommandLine(["--machine-readable"]).kind, "capabilities");
  const run = parseCommandLine([
    "--machine-readable=stream:stderr",
    "-i",
    "disk",
    "x",
    "-o",
    "null",
  ]);
  assert.equal(run.kind === "run" && run.machineReadable, "stream:stderr");
});

test("modes: each name (and alias) of virt-v2v 2.2 selects its helper, others are refused", () => {
  assert.equal(selectInputMode("disk").helperPackage, "@split-v2v/helper-input-disk");
  assert.equal(selectOutputMode("disk").helperPackage, "@split-v2v/helper-output-local");
  assert.equal(selectInputMode("ova").helperPackage, "@split-v2v/helper-input-ova");
  assert.equal(selectInputMode("vmx").helperPackage, "@split-v2v/helper-input-vmx");
  assert.equal(selectInputMode("libvirtxml").helperPackage, "@split-v2v/helper-input-libvirtxml");
  // -i libvirt: the -ic scheme chooses the mode, as virt-v2v's select_input; plain -i libvirt
  // (a local libvirt, or a URI no other mode claims) is the local mode.
  const libvirt = (inputConnection: string | undefined, inputTransport?: string) =>
    selectInputMode({ mode: "libvirt", inputConnection, inputTransport }).helperPackage;
  for (const uri of ["vpx://root@vcenter/DC/cluster/esxi?no_verify=1", "esx://esxi", "gsx://gsx"])
    assert.equal(libvirt(uri), "@split-v2v/helper-input-vcenter-https");
  assert.equal(libvirt("xen+ssh://root@xen.example.com"), "@split-v2v/helper-input-xen-ssh");
  for (const uri of [undefined, "qemu:///system", "test:///default", "qemu+ssh://root@kvm/system"])
    assert.equal(libvirt(uri), "@split-v2v/helper-input-libvirt");
  for (const name of ["rhv", "ovirt", "rhev"])
    assert.equal(selectOutputMode(name).helperPackage, "@split-v2v/helper-output-rhv");
  assert.equal(selectOutputMode("vdsm").helperPackage, "@split-v2v/helper-output-vdsm");
  for (const name of ["rhv-upload", "ovirt-upload", "ovirt_upload", "rhv_upload"])
    assert.equal(selectOutputMode(name).helperPackage, "@split-v2v/helper-output-rhv-upload");
  for (const name of ["openstack", "osp", "rhosp"])
    assert.equal(selectOutputMode(name).helperPackage, "@split-v2v/helper-output-openstack");
  for (const name of ["glance", "kubevirt", "libvirt", "qemu"])
    assert.equal(selectOutputMode(name).helperPackage, `@split-v2v/helper-output-${name}`);
  assert.throws(() => selectOutputMode("floppy"), /^UserError: unknown -o option: floppy$/);
  assert.throws(
    () =>
      selectInputMode("disk").helperArgs({
        mode: "disk",
        args: ["x"],
        inputFormat: undefined,
        inputConnection: undefined,
        inputTransport: undefined,
        inputPassword: undefined,
        inputOptions: ["a=b"],
        bandwidth: undefined,
        bandwidthFile: undefined,
      }),
    /no -io \(input options\) are allowed here/,
  );
});

const noInputOptions = {
  inputFormat: undefined,
  inputConnection: undefined,
  inputTransport: undefined,
  inputPassword: undefined,
  inputOptions: [],
  bandwidth: undefined,
  bandwidthFile: undefined,
};

test("the refusals, the capability lines and --help are derived from the one table of modes", () => {
  const names = (modes: readonly { name: string; aliases: readonly string[] }[]) =>
    modes.flatMap((mode) => [mode.name, ...mode.aliases]);
  assert.deepEqual(names(INPUT_MODES), [
    "disk",
    "local",
    "libvirt",
    "libvirt",
    "libvirt",
    "libvirt",
    "libvirtxml",
    "ova",
    "vmx",
  ]);
  assert.deepEqual(names(OUTPUT_MODES), [
    "glance",
    "kubevirt",
    "libvirt",
    "disk",
    "local",
    "null",
    "openstack",
    "osp",
    "rhosp",
    "qemu",
    "rhv",
    "ovirt",
    "rhev",
    "rhv-upload",
    "ovirt-upload",
    "ovirt_upload",
    "rhv_upload",
    "vdsm",
  ]);
  assert.throws(() => selectInputMode("floppy"), /^UserError: unknown -i option: floppy$/);
  // Every output mode of virt-v2v 2.2 is served; an unknown name is still refused.
  assert.throws(() => selectOutputMode("floppy"), /^UserError: unknown -o option: floppy$/);
  // Every mode a descriptor serves is on the capability list, and nothing else of its kind.
  const lines = capabilities();
  assert.deepEqual(
    lines.filter((line) => /^(input|output):/.test(line)),
    [
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
    ],
  );
  // -o vdsm's facts, where virt-v2v 2.2 prints them: its option among the features, the OVF
  // flavours last.
  assert.ok(lines.indexOf("vdsm-compat-option") < lines.indexOf("io/oo"));
  assert.deepEqual(lines.slice(-4), [
    "convert:linux",
    "convert:windows",
    "ovf:ovirt",
    "ovf:rhvexp",
  ]);
  // -i vmx -it ssh honours --bandwidth, so the capability is there; --colours is not (it is
  // accepted, as virt-v2v accepts it, but changes nothing).
  assert.ok(lines.includes("bandwidth-option"));
  assert.ok(!lines.includes("colours-option"));
  const help = helpText();
  for (const mode of [...INPUT_MODES, ...OUTPUT_MODES]) {
    assert.ok(help.includes(mode.usage), `--help shows ${mode.usage}`);
    assert.ok(help.includes(mode.summary));
  }
  assert.match(help, /^ {2}-i <disk\|local\|libvirt\|libvirtxml\|ova\|vmx> +Set input mode/m);
  assert.match(
    help,
    /^ {2}-o <glance\|kubevirt\|libvirt\|disk\|local\|null\|openstack\|osp\|rhosp\|qemu\|rhv\|ovirt\|rhev\|rhv-upload\|ovirt-upload\|ovirt_upload\|rhv_upload\|vdsm> +Set output mode/m,
  );
});

test("--qemu-boot is -oo qemu-boot, as in virt-v2v 2.2", () => {
  const command = parseCommandLine([
    "-i",
    "disk",
    "x.img",
    "-o",
    "qemu",
    "-os",
    "/out",
    "--qemu-boot",
  ]);
  assert.equal(command.kind, "run");
  if (command.kind !== "run") return;
  assert.deepEqual(command.run.output.options, ["qemu-boot"]);
});

test("--vdsm-X V is -oo vdsm-X=V, as in virt-v2v 2.2", () => {
  const command = parseCommandLine([
    "-i",
    "disk",
    "x.img",
    "-o",
    "vdsm",
    "-os",
    "/rhev/data-center/12345678-1234-1234-1234-123456789abc",
    "-oo",
    "vdsm-compat=1.1",
    "--vdsm-vm-uuid",
    "VM",
    "--vdsm-ovf-output",
    "/ovf",
    "--vdsm-ovf-flavour",
    "ovirt",
    "--vdsm-image-uuid",
    "I1",
    "--vdsm-vol-uuid",
    "V1",
    "--vdsm-image-uuid",
    "I2",
    "--vdsm-vol-uuid",
    "V2",
  ]);
  assert.equal(command.kind, "run");
  if (command.kind !== "run") return;
  assert.deepEqual(command.run.output.options, [
    "vdsm-compat=1.1",
    "vdsm-vm-uuid=VM",
    "vdsm-ovf-output=/ovf",
    "vdsm-ovf-flavour=ovirt",
    "vdsm-image-uuid=I1",
    "vdsm-image-uuid=I2",
    "vdsm-vol-uuid=V1",
    "vdsm-vol-uuid=V2",
  ]);
});

test("-io ? and -oo ? list the selected mode's options in virt-v2v 2.2's words", () => {
  assert.deepEqual(parseCommandLine(["-i", "ova", "-io", "?"]), {
    kind: "query-options",
    side: "input",
    mode: "ova",
  });
  assert.deepEqual(parseCommandLine(["-o", "local", "-oo", "?"]), {
    kind: "query-options",
    side: "output",
    mode: "local",
  });
  assert.equal(
    optionsHelpText(selectInputMode("disk")),
    "No input options can be used in this mode.\n",
  );
  assert.equal(
    optionsHelpText(selectOutputMode("local")),
    "Output options that can be used with -o disk:\n\n  -oo compressed      Compress the output file (used only with -of qcow2)\n",
  );
  assert.equal(
    optionsHelpText(selectOutputMode("null")),
    "No output options can be used in this mode.\n",
  );
});

test("--bandwidth goes to -i vmx -it ssh, and is refused where nothing crosses a network", () => {
  const vmx = selectInputMode("vmx");
  assert.deepEqual(
    vmx.helperArgs({
      ...noInputOptions,
      mode: "vmx",
      args: ["ssh://root@esx/vmfs/volumes/ds/g/g.vmx"],
      inputTransport: "ssh",
      bandwidth: "10M",
      bandwidthFile: "/var/tmp/rate",
    }),
    [
      "-it",
      "ssh",
      "--bandwidth",
      "10M",
      "--bandwidth-file",
      "/var/tmp/rate",
      "--",
      "ssh://root@esx/vmfs/volumes/ds/g/g.vmx",
    ],
  );
  assert.throws(
    () => vmx.helperArgs({ ...noInputOptions, mode: "vmx", args: ["g.vmx"], bandwidth: "10M" }),
    /--bandwidth \/ --bandwidth-file: -i vmx reads local files here/,
  );
  assert.throws(
    () =>
      inputHelperArgs(selectInputMode("disk"), {
        ...noInputOptions,
        mode: "disk",
        args: ["g.img"],
        bandwidth: "1M",
      }),
    /^UserError: --bandwidth \/ --bandwidth-file: -i disk reads local files; the limit applies to a transfer over a network \(-i libvirt -ic vpx:\/\/\|esx:\/\/\|gsx:\/\/, -i libvirt -ic xen\+ssh:\/\/, -i libvirt -ic vpx:\/\/\|esx:\/\/\|gsx:\/\/ -it vddk, -i vmx -it ssh\)$/,
  );
});

test("--key takes virt-v2v's selectors; a malformed one is refused without echoing its secret", () => {
  const command = parseCommandLine([
    "-i",
    "disk",
    "x",
    "-o",
    "null",
    "--key",
    "/dev/sda2:key:pass:with:colons",
    "--key",
    "6a1e-uuid:file:/etc/key",
    "--key",
    "all:key:",
    "--keys-from-stdin",
  ]);
  assert.equal(command.kind, "run");
  if (command.kind !== "run") return;
  assert.deepEqual(command.run.keySelectors, [
    { id: "/dev/sda2", method: "key", key: "pass:with:colons" },
    { id: "6a1e-uuid", method: "file", file: "/etc/key" },
    { id: "all", method: "key", key: "" },
  ]);
  assert.equal(command.run.keysFromStdin, true);
  for (const bad of ["/dev/sda2", "/dev/sda2:password:secret", ":key:secret", "/dev/sda2:file:"]) {
    assert.throws(
      () => parseCommandLine(["-i", "disk", "x", "--key", bad]),
      (error: unknown) =>
        error instanceof UserError &&
        /^invalid selector string for --key/.test(error.message) &&
        !error.message.includes("secret"),
      bad,
    );
  }
});

test("nbdcopy's requests follow the output's request size, as virt-v2v chooses them", () => {
  assert.deepEqual(requestArguments(null), ["--requests=64"]);
  assert.deepEqual(requestArguments(4 * 1024 * 1024), ["--request-size=4194304", "--requests=16"]);
  assert.deepEqual(requestArguments(128 * 1024 * 1024), [
    "--request-size=134217728",
    "--requests=1",
  ]);
});
