/**
 * The descriptor and the option checks that need no openstack program: 2.2's `-oo ?` text
 * (compared with Debian's virt-v2v 2.2 where it is installed), its words, its order, the
 * options handed to the openstack program, the description.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { access } from "node:fs/promises";
import { execa } from "execa";
import { optionsHelpText, type OutputRequest } from "@split-v2v/common";
import {
  OPENSTACK_OPTIONS_HELP,
  checkOutputOpenstackOptions,
  openstackGlobalArgs,
  outputOpenstackMode,
} from "../src/index.js";

const DEBIAN_VIRT_V2V = "/usr/bin/virt-v2v";

const request = (overrides: Partial<OutputRequest> = {}): OutputRequest => ({
  mode: "openstack",
  storage: undefined,
  format: undefined,
  allocation: undefined,
  name: undefined,
  connection: undefined,
  password: undefined,
  options: ["server-id=appliance"],
  ...overrides,
});

async function installed(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

test("-oo ? prints 2.2's text, for -o openstack and its aliases", async (t) => {
  assert.equal(optionsHelpText(outputOpenstackMode), OPENSTACK_OPTIONS_HELP);
  if (!(await installed(DEBIAN_VIRT_V2V))) {
    t.diagnostic("Debian's virt-v2v is not installed: compared with the stored text only");
    return;
  }
  for (const mode of ["openstack", "osp", "rhosp"]) {
    const debian = await execa(DEBIAN_VIRT_V2V, ["-o", mode, "-oo", "?"], {
      stripFinalNewline: false,
    });
    assert.equal(OPENSTACK_OPTIONS_HELP, debian.stdout, `virt-v2v -o ${mode} -oo ?`);
  }
});

test("the mode's names, capability and description (2.2's to_string: the last server-id)", () => {
  assert.equal(outputOpenstackMode.name, "openstack");
  assert.deepEqual(outputOpenstackMode.aliases, ["osp", "rhosp"]);
  assert.deepEqual(outputOpenstackMode.capabilities, ["output:openstack"]);
  assert.equal(outputOpenstackMode.targetIsZero, false);
  assert.equal(outputOpenstackMode.description(request({ options: [] })), "-o openstack");
  assert.equal(
    outputOpenstackMode.description(
      request({ options: ["server-id=a", "os-username=admin", "server-id=b"] }),
    ),
    "-o openstack -oo server-id=b",
  );
});

test("-oo options as 2.2 reads them: os-* passed on, -oc as --os-auth-url, --insecure last", () => {
  const checked = checkOutputOpenstackOptions(
    request({
      connection: "https://keystone:5000/v3",
      storage: "ssd",
      name: "renamed",
      options: [
        "os-username=admin",
        "server-id=appliance",
        "verify-server-certificate=false",
        "os-project-name=v2v",
        "guest-id=123-456",
        "dev-disk-by-id=/tmp/by-id",
        "os-interface",
      ],
    }),
  );
  assert.deepEqual(checked, {
    serverId: "appliance",
    guestId: "123-456",
    devDiskById: "/tmp/by-id",
    verifyServerCertificate: false,
    authentication: ["--os-username=admin", "--os-project-name=v2v", "--os-interface="],
    authUrl: "https://keystone:5000/v3",
    volumeType: "ssd",
    name: "renamed",
  });
  assert.deepEqual(openstackGlobalArgs(checked), [
    "--os-username=admin",
    "--os-project-name=v2v",
    "--os-interface=",
    "--os-auth-url=https://keystone:5000/v3",
    "--insecure",
  ]);
  const defaults = checkOutputOpenstackOptions(request());
  assert.equal(defaults.devDiskById, "/dev/disk/by-id");
  assert.equal(defaults.verifyServerCertificate, true);
  assert.deepEqual(openstackGlobalArgs(defaults), []);
  // An empty value, and "true", verify (OCaml's bool_of_string after 2.2's "" case).
  for (const value of ["verify-server-certificate", "verify-server-certificate=true"]) {
    const checked = checkOutputOpenstackOptions(
      request({ options: ["server-id=a", "verify-server-certificate=false", value] }),
    );
    assert.equal(checked.verifyServerCertificate, true);
  }
  // -op is not used by this mode, and 2.2 does not refuse it.
  assert.doesNotThrow(() => checkOutputOpenstackOptions(request({ password: "/tmp/pw" })));
});

test("option errors in 2.2's order: -oa/-of first, then each -oo, then server-id", () => {
  const cases: Array<[Partial<OutputRequest>, RegExp]> = [
    [
      { allocation: "thick", options: ["colour=red"] },
      /^-oa thick: unknown output allocation mode; use -oa sparse or -oa preallocated$/,
    ],
    [
      { format: "qcow2", options: ["colour=red"] },
      /^-o openstack mode only supports -oa sparse -of raw$/,
    ],
    [{ allocation: "preallocated" }, /^-o openstack mode only supports -oa sparse -of raw$/],
    [{ options: ["colour=red"] }, /^-o openstack: unknown output option ‘-oo colour’$/],
    [
      { options: ["verify-server-certificate=no"] },
      /^-o openstack: -oo verify-server-certificate=no: the value must be true or false$/,
    ],
    [{ options: ["guest-id=x"] }, /^openstack: -oo server-id=<NAME\|UUID> not present$/],
  ];
  for (const [overrides, message] of cases) {
    assert.throws(() => outputOpenstackMode.helperArgs(request(overrides)), { message });
  }
  assert.deepEqual(
    outputOpenstackMode.helperArgs(request({ format: "raw", name: "x", connection: "https://k" })),
    ["-of", "raw", "-on", "x", "-oc", "https://k", "-oo", "server-id=appliance"],
  );
});
