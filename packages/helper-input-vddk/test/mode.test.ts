import { test } from "node:test";
import assert from "node:assert/strict";
import { UserError, modeFacts, optionsHelpText } from "@split-v2v/common";
import { inputVddkMode, parseVddkOptions, vcenterAccessOf } from "../src/index.js";

test("-io vddk-*: virt-v2v's keys, each once (vddk-file once per disk), checked values", () => {
  assert.deepEqual(
    parseVddkOptions([
      "vddk-config=/etc/vddk.conf",
      "vddk-file=[ds1] a/a.vmdk",
      "vddk-file=[ds1] a/a_1.vmdk",
      "vddk-thumbprint=51:5e:3c:1d:44:0a:ef:1f:87:43:b5:2e:80:ef:8a:20:a0:54:f4:0c",
      "vddk-snapshot=snapshot-1=x",
    ]),
    {
      compression: null,
      config: "/etc/vddk.conf",
      cookie: null,
      files: ["[ds1] a/a.vmdk", "[ds1] a/a_1.vmdk"],
      libdir: null,
      nfchostport: null,
      port: null,
      snapshot: "snapshot-1=x",
      thumbprint: "51:5e:3c:1d:44:0a:ef:1f:87:43:b5:2e:80:ef:8a:20:a0:54:f4:0c",
      transports: null,
    },
  );
  const refusal = (values: string[], message: RegExp) =>
    assert.throws(
      () => parseVddkOptions(values),
      (err: unknown) => err instanceof UserError && message.test(err.message),
    );
  refusal(["thumbprint=x"], /^-it vddk: ‘-io thumbprint’ is not a valid input option$/);
  refusal(["vddk-user=x"], /‘-io vddk-user’ is not a valid input option/);
  refusal(["vddk-port=1", "vddk-port=1"], /^-it vddk: duplicate -io options on the command line$/);
  refusal(["vddk-thumbprint"], /not an SSL thumbprint/);
  refusal(
    ["vddk-thumbprint=51:5E:3C:1D:44:0A:EF:1F:87:43:B5:2E:80:EF:8A:20:A0:54:F4"],
    /not an SSL thumbprint/,
  );
  refusal(
    ["vddk-thumbprint=ZZ:5E:3C:1D:44:0A:EF:1F:87:43:B5:2E:80:EF:8A:20:A0:54:F4:0C"],
    /not an SSL thumbprint/,
  );
  refusal(["vddk-compression=lzma"], /unknown compression; VDDK knows none, zlib, fastlz, skipz/);
  refusal(["vddk-port=https"], /expected a port number/);
});

test("-ic: the server and user VDDK gets (root when the URI names none)", () => {
  assert.deepEqual(
    vcenterAccessOf("vpx://DOMAIN%5cuser@vcenter.example.com/Datacenter/esxi?no_verify=1"),
    {
      uri: "vpx://DOMAIN%5cuser@vcenter.example.com/Datacenter/esxi?no_verify=1",
      server: "vcenter.example.com",
      user: "DOMAIN\\user",
    },
  );
  assert.equal(vcenterAccessOf("esx://esxi/?no_verify=1").user, "root");
  assert.equal(vcenterAccessOf("esx://root@[fd00::1]/").server, "fd00::1");
  assert.throws(
    () => vcenterAccessOf("vpx:///Datacenter"),
    /URL does not contain a host name field/,
  );
  assert.throws(() => vcenterAccessOf("not a uri"), /^UserError: could not parse '-ic not a uri'/);
});

test("-io ? is virt-v2v's list; --describe has the options and the -ic schemes", () => {
  const text = optionsHelpText(inputVddkMode);
  assert.match(text, /^Input options \(-io\) which can be used with -it vddk\n/);
  for (const option of inputVddkMode.options)
    assert.ok(text.includes(`  -io ${option.name}=`), option.name);
  assert.match(text, /Refer to nbdkit-vddk-plugin\(1\) and the VDDK documentation/);
  const facts = modeFacts(inputVddkMode);
  assert.deepEqual(facts.connectionSchemes, ["vpx", "esx", "gsx"]);
  assert.deepEqual(facts.transports, ["vddk"]);
  assert.equal(facts.name, "libvirt");
  assert.deepEqual(facts.capabilities, ["vddk"]);
});
