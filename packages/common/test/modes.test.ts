import { test } from "node:test";
import assert from "node:assert/strict";
import {
  connectionScheme,
  modeFacts,
  selectInputDescriptor,
  type InputModeFacts,
  type OutputModeDescriptor,
} from "../src/index.js";

/** Descriptors shaped like the -i libvirt family virt-v2v's select_input chooses among. */
function inputMode(
  program: string,
  connectionSchemes: readonly string[],
  transports: readonly string[],
): InputModeFacts {
  return {
    kind: "input",
    name: "libvirt",
    aliases: [],
    program,
    summary: program,
    usage: "-i libvirt",
    options: [],
    capabilities: [],
    transports,
    bandwidth: false,
    connectionSchemes,
  };
}

const LIBVIRT_FAMILY = [
  inputMode("helper-libvirt", [], []),
  inputMode("helper-vpx", ["vpx"], []),
  inputMode("helper-vddk", ["vpx", "esx"], ["vddk"]),
  inputMode("helper-xen", ["xen+ssh"], []),
];

function chosen(connection: string | undefined, transport?: string): string | undefined {
  return selectInputDescriptor(LIBVIRT_FAMILY, {
    mode: "libvirt",
    inputConnection: connection,
    inputTransport: transport,
  })?.program;
}

test("-i libvirt: -ic's scheme and -it choose the mode, as virt-v2v's select_input", () => {
  assert.equal(chosen(undefined), "helper-libvirt");
  assert.equal(chosen("qemu:///system"), "helper-libvirt");
  assert.equal(chosen("vpx://root@vcenter/Datacenter/esxi?no_verify=1"), "helper-vpx");
  assert.equal(chosen("vpx://root@vcenter/Datacenter/esxi", "vddk"), "helper-vddk");
  assert.equal(chosen("esx://root@esxi", "vddk"), "helper-vddk");
  assert.equal(chosen("XEN+SSH://root@xen"), "helper-xen", "schemes are case-insensitive");
  assert.equal(
    selectInputDescriptor(LIBVIRT_FAMILY, {
      mode: "disk",
      inputConnection: undefined,
      inputTransport: undefined,
    }),
    null,
  );
  assert.equal(connectionScheme("/no/scheme"), null);
});

test("-i libvirt served for some -ic/-it only: the others find no mode (refused as not yet served)", () => {
  const vddkOnly = [inputMode("helper-vddk", ["vpx", "esx", "gsx"], ["vddk"])];
  const pick = (connection: string | undefined, transport?: string) =>
    selectInputDescriptor(vddkOnly, {
      mode: "libvirt",
      inputConnection: connection,
      inputTransport: transport,
    })?.program ?? null;
  assert.equal(pick("vpx://root@vcenter/Datacenter/esxi", "vddk"), "helper-vddk");
  assert.equal(pick("gsx://root@esxi", "vddk"), "helper-vddk");
  assert.equal(pick(undefined), null, "plain -i libvirt: the local mode");
  assert.equal(pick(undefined, "vddk"), null, "-it vddk needs a vCenter or ESXi -ic");
  assert.equal(pick("vpx://root@vcenter/Datacenter/esxi"), null, "without -it: vCenter over https");
  assert.equal(pick("xen+ssh://root@xen", "vddk"), null);
});

test("--describe spells out the optional facts with their defaults", () => {
  const output: OutputModeDescriptor = {
    kind: "output",
    name: "example",
    aliases: [],
    program: "helper-v2v-output-example",
    helperPackage: "@example/helper",
    summary: "an example",
    usage: "-o example",
    options: [],
    capabilities: [],
    stages: ["precheck", "setup", "final"],
    targetIsZero: true,
    helperArgs: () => [],
    description: () => "example",
  };
  const facts = modeFacts(output);
  assert.equal(facts.requestSize, null);
  assert.equal(facts.keepSerialConsole, true);
  assert.equal(facts.helperPackage, undefined, "the package is ours, not part of the contract");
  assert.equal(facts.helperArgs, undefined);
  const rhvLike = modeFacts({ ...output, requestSize: 4 * 1024 * 1024, keepSerialConsole: false });
  assert.equal(rhvLike.requestSize, 4194304);
  assert.equal(rhvLike.keepSerialConsole, false);
  assert.deepEqual(
    modeFacts({
      ...LIBVIRT_FAMILY[0]!,
      helperPackage: "x",
      helperArgs: () => [],
      description: () => "",
    }).connectionSchemes,
    [],
  );
});
