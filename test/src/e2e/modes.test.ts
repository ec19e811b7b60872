/**
 * What the programs say about the modes they serve: each helper's --describe (the facts a
 * supervisor that is not ours reads), and the supervisor's --help, capability lines, -io ? and
 * -oo ?, which come from the same descriptors. Run as a user runs them: the installed programs.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execa } from "execa";
import { makeSandbox, packageBin, virtV2v } from "../support/run.js";

const HELPERS = {
  "@split-v2v/helper-input-disk": { kind: "input", name: "disk" },
  "@split-v2v/helper-input-libvirt": { kind: "input", name: "libvirt" },
  "@split-v2v/helper-input-vcenter-https": { kind: "input", name: "libvirt" },
  "@split-v2v/helper-input-xen-ssh": { kind: "input", name: "libvirt" },
  "@split-v2v/helper-input-vddk": { kind: "input", name: "libvirt" },
  "@split-v2v/helper-input-libvirtxml": { kind: "input", name: "libvirtxml" },
  "@split-v2v/helper-input-ova": { kind: "input", name: "ova" },
  "@split-v2v/helper-input-vmx": { kind: "input", name: "vmx" },
  "@split-v2v/helper-convert": { kind: "convert", name: "convert" },
  "@split-v2v/helper-output-local": { kind: "output", name: "disk" },
  "@split-v2v/helper-output-null": { kind: "output", name: "null" },
} as const;

interface Described {
  contract: number;
  kind: string;
  name: string;
  aliases?: string[];
  program: string;
  summary: string;
  usage: string;
  capabilities: string[];
  stages?: string[];
  transports?: string[];
}

async function describe(packageName: string): Promise<Described> {
  const result = await execa(process.execPath, [packageBin(packageName), "--describe"]);
  return JSON.parse(String(result.stdout)) as Described;
}

test("every helper answers --describe with JSON: contract 1, its kind, name, program and usage", async () => {
  for (const [packageName, expected] of Object.entries(HELPERS)) {
    const facts = await describe(packageName);
    assert.equal(facts.contract, 1, packageName);
    assert.equal(facts.kind, expected.kind, packageName);
    assert.equal(facts.name, expected.name, packageName);
    assert.match(facts.program, /^helper-v2v-/);
    assert.ok(facts.summary.length > 0 && facts.usage.length > 0, packageName);
    if (facts.kind === "output") assert.deepEqual(facts.stages, ["precheck", "setup", "final"]);
  }
});

test("--help, the capability lines and -io ?/-oo ? say what the helpers describe", async (t) => {
  const sandbox = await makeSandbox("modes");
  t.after(() => sandbox.dispose());
  const help = (await virtV2v(["--help"], sandbox)).stdout;
  const capabilities = (await virtV2v(["--machine-readable"], sandbox)).stdout.split("\n");
  for (const packageName of Object.keys(HELPERS)) {
    const facts = await describe(packageName);
    for (const capability of facts.capabilities) {
      assert.ok(capabilities.includes(capability), `${capability} (${facts.program})`);
    }
    if (facts.kind === "convert") continue;
    assert.ok(help.includes(facts.usage), `--help shows ${facts.usage}`);
    for (const name of [facts.name, ...(facts.aliases ?? [])]) {
      assert.match(help, new RegExp(`-${facts.kind === "input" ? "i" : "o"} <[^>]*\\b${name}\\b`));
    }
  }

  const oo = await virtV2v(["-o", "local", "-oo", "?"], sandbox);
  assert.equal(oo.exitCode, 0);
  assert.equal(
    oo.stdout,
    "Output options that can be used with -o disk:\n\n  -oo compressed      Compress the output file (used only with -of qcow2)\n",
  );
  const io = await virtV2v(["-i", "vmx", "-io", "?"], sandbox);
  assert.deepEqual([io.exitCode, io.stdout], [0, "No input options can be used in this mode.\n"]);
  const unknown = await virtV2v(["-o", "floppy", "-oo", "?"], sandbox);
  assert.deepEqual(
    [unknown.exitCode, unknown.stderr],
    [1, "virt-v2v: error: unknown -o option: floppy\n"],
  );
});
