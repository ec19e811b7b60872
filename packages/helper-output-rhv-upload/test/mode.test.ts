/**
 * The descriptor and the option checks that need no network: 2.2's words, its defaults, its
 * `-oo ?` text (which upstream's test greps for rhv-cafile and rhv-verifypeer), --describe.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { optionsHelpText, type OutputRequest } from "@split-v2v/common";
import {
  checkRhvUploadOptions,
  isNonNilUuid,
  outputRhvUploadMode,
  type RhvUploadRequest,
} from "../src/index.js";

const helper = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "bin",
  "helper-v2v-output-rhv-upload.mjs",
);

const base: RhvUploadRequest = {
  connection: "https://engine.example.com/ovirt-engine/api",
  passwordFile: "/tmp/pw",
  storage: "data",
  format: undefined,
  allocation: undefined,
  name: undefined,
  options: [],
};

test("defaults: admin@internal, cluster Default, direct, no peer verification, raw sparse", () => {
  const checked = checkRhvUploadOptions(base);
  assert.equal(checked.username, "admin@internal");
  assert.equal(checked.apiUrl, "https://engine.example.com/ovirt-engine/api");
  assert.equal(checked.cluster, "Default");
  assert.equal(checked.direct, true);
  assert.equal(checked.verifyPeer, false);
  assert.equal(checked.cafile, null);
  assert.equal(checked.diskUuids, null);
  assert.equal(checked.format, "raw");
  assert.equal(checked.allocation, "sparse");
});

test("the user comes from -oc and is left out of the API URL", () => {
  const checked = checkRhvUploadOptions({
    ...base,
    connection: "https://someone%40example.org@engine.example.com:8443/ovirt-engine/api/",
  });
  assert.equal(checked.username, "someone@example.org");
  assert.equal(checked.apiUrl, "https://engine.example.com:8443/ovirt-engine/api");
});

test("-oo options as 2.2 reads them", () => {
  const checked = checkRhvUploadOptions({
    ...base,
    options: [
      "rhv-cafile=/etc/ca.pem",
      "rhv-cluster=Production",
      "rhv-proxy",
      "rhv-verifypeer=true",
      "rhv-disk-uuid=11111111-2222-3333-4444-555555555555",
      "rhv-disk-uuid=aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
    ],
  });
  assert.equal(checked.cafile, "/etc/ca.pem");
  assert.equal(checked.cluster, "Production");
  assert.equal(checked.direct, false);
  assert.equal(checked.verifyPeer, true);
  assert.deepEqual(checked.diskUuids, [
    "11111111-2222-3333-4444-555555555555",
    "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
  ]);
  assert.equal(checkRhvUploadOptions({ ...base, options: ["rhv-proxy=false"] }).direct, true);
  assert.equal(
    checkRhvUploadOptions({ ...base, options: ["rhv-proxy", "rhv-direct"] }).direct,
    true,
  );
});

test("2.2's messages for missing and wrong options", () => {
  const refuses = (request: Partial<typeof base>, message: RegExp) =>
    assert.throws(
      () => checkRhvUploadOptions({ ...base, ...request }),
      (err: unknown) => err instanceof Error && message.test(err.message),
    );
  refuses({ connection: undefined }, /^-o rhv-upload: use ‘-oc’ to point to the oVirt or RHV/);
  refuses({ passwordFile: undefined }, /output password file was not specified, use ‘-op’/);
  refuses({ storage: undefined }, /^-o rhv-upload: output storage was not specified, use ‘-os’$/);
  refuses({ options: ["rhv-foo=1"] }, /unknown output option ‘-oo rhv-foo’/);
  refuses({ options: ["rhv-cafile=a", "rhv-cafile=b"] }, /-oo rhv-cafile set more than once/);
  refuses({ options: ["rhv-cluster=a", "rhv-cluster=b"] }, /-oo rhv-cluster set more than once/);
  refuses({ options: ["rhv-disk-uuid=nope"] }, /invalid UUID for -oo rhv-disk-uuid/);
  refuses(
    { options: ["rhv-disk-uuid=00000000-0000-0000-0000-000000000000"] },
    /invalid UUID for -oo rhv-disk-uuid/,
  );
  refuses(
    { options: ["rhv-verifypeer=yes"] },
    /rhv-verifypeer=yes: the value must be true or false/,
  );
  refuses({ format: "vmdk" }, /^rhv-upload: -of vmdk: Only output format ‘raw’ or ‘qcow2’/);
  refuses({ allocation: "thick" }, /^-oa thick: unknown output allocation mode/);
  refuses(
    { storage: "my domain" },
    /The storage domain \(-os\) parameter ‘my domain’ is not valid/,
  );
  refuses({ connection: "http://engine/ovirt-engine/api" }, /-oc http:\/\/engine.*REST API URL/);
  refuses({ connection: "https://engine/" }, /is usually https:\/\/servername\/ovirt-engine\/api/);
  assert.equal(isNonNilUuid("A1B2C3D4-0000-1111-2222-333344445555"), true);
});

test("the descriptor: names, 2.2's facts, helper arguments and description", () => {
  const mode = outputRhvUploadMode;
  assert.equal(mode.name, "rhv-upload");
  assert.deepEqual([...mode.aliases].sort(), ["ovirt-upload", "ovirt_upload", "rhv_upload"]);
  assert.deepEqual(mode.capabilities, ["output:rhv-upload"]);
  assert.equal(mode.requestSize, 4 * 1024 * 1024);
  assert.equal(mode.keepSerialConsole, true);
  assert.equal(mode.targetIsZero, false);
  const request: OutputRequest = {
    mode: "ovirt-upload",
    storage: "data",
    format: undefined,
    allocation: undefined,
    name: undefined,
    connection: "https://engine/ovirt-engine/api",
    password: "/tmp/pw",
    options: ["rhv-cafile=/ca.pem"],
  };
  assert.deepEqual(mode.helperArgs(request), [
    "-os",
    "data",
    "-oc",
    "https://engine/ovirt-engine/api",
    "-op",
    "/tmp/pw",
    "-oo",
    "rhv-cafile=/ca.pem",
  ]);
  assert.equal(
    mode.description(request),
    "-o rhv-upload -oc https://engine/ovirt-engine/api -os data",
  );
  assert.throws(() => mode.helperArgs({ ...request, connection: undefined }), /use ‘-oc’/);
  const help = optionsHelpText(mode);
  assert.match(help, /^Output options \(-oo\) which can be used with -o rhv-upload:/);
  assert.match(help, /-oo rhv-cafile/);
  assert.match(help, /-oo rhv-verifypeer/);
  assert.match(help, /-oo rhv-disk-uuid=UUID {10}Disk UUID\n$/);
});

test("--describe prints the facts, -oo ? text included", async () => {
  const result = await execa(process.execPath, [helper, "--describe"]);
  const facts = JSON.parse(String(result.stdout)) as Record<string, unknown>;
  assert.equal(facts.contract, 1);
  assert.equal(facts.name, "rhv-upload");
  assert.equal(facts.requestSize, 4194304);
  assert.equal(facts.targetIsZero, false);
  assert.equal(facts.keepSerialConsole, true);
  assert.match(String(facts.optionsHelp), /rhv-verifypeer\[=true\|false\]/);
});
