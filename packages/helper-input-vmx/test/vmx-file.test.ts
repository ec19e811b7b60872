import { test } from "node:test";
import assert from "node:assert/strict";
import { parseOcamlInteger, parseVmx, removeVmxEscapes } from "../src/index.js";

function parse(text: string) {
  const warnings: string[] = [];
  const vmx = parseVmx(Buffer.from(text, "utf8"), (warning) => warnings.push(warning));
  return { vmx, warnings };
}

test("keys are case-insensitive and dotted keys are namespaces", () => {
  const { vmx, warnings } = parse(
    ['displayName = "Guest"', 'SCSI0:0.FileName="disk.vmdk"', 'cpuid.coresPerSocket = "2"'].join(
      "\n",
    ),
  );
  assert.deepEqual(warnings, []);
  assert.equal(vmx.getString(["displayname"]), "Guest");
  assert.equal(vmx.getString(["scsi0:0", "fileName"]), "disk.vmdk");
  assert.equal(vmx.getInt(["CPUID", "CORESPERSOCKET"]), 2n);
  // A namespace is not a value, and a missing key is null.
  assert.equal(vmx.getString(["scsi0:0"]), null);
  assert.equal(vmx.getString(["memSize"]), null);
});

test("|XX escapes become bytes, a lone | stays, and the result is UTF-8", () => {
  assert.equal(removeVmxEscapes("a|22b|7Cc|zz|"), 'a"b|c|zz|');
  const { vmx } = parse('displayName = "caf|C3|A9 |22quoted|22"\n');
  assert.equal(vmx.getString(["displayName"]), 'café "quoted"');
});

test("comments, blank lines and CRLF are accepted; other lines are warned about", () => {
  const { vmx, warnings } = parse(
    [
      "#!/usr/bin/vmware",
      "   # indented comment",
      "",
      'memSize = "1024"\r',
      "garbage without quotes",
      '  indented = "value"',
    ].join("\n"),
  );
  assert.equal(vmx.getString(["memSize"]), "1024");
  assert.equal(vmx.getString(["indented"]), null);
  assert.deepEqual(warnings, [
    "vmx parser: cannot parse this line, ignoring: garbage without quotes",
    'vmx parser: cannot parse this line, ignoring:   indented = "value"',
  ]);
});

test("the first of duplicate keys wins, with a warning", () => {
  const { vmx, warnings } = parse('memSize = "1024"\nMEMSIZE = "2048"\n');
  assert.equal(vmx.getString(["memSize"]), "1024");
  assert.deepEqual(warnings, ["vmx parser: duplicate key 'memsize' ignored"]);
});

test('a namespace with present = "FALSE" is dropped with everything under it', () => {
  const { vmx } = parse(
    [
      'ethernet0.present = "false"',
      'ethernet0.virtualDev = "e1000"',
      'ethernet0.sub.key = "x"',
      'ethernet1.present = "TRUE"',
      'ethernet1.virtualDev = "vmxnet3"',
      'ethernet2.present = "maybe"',
      'ethernet2.virtualDev = "e1000e"',
    ].join("\n"),
  );
  assert.equal(vmx.getString(["ethernet0", "virtualDev"]), null);
  assert.equal(vmx.getString(["ethernet0", "sub", "key"]), null);
  assert.equal(vmx.getString(["ethernet1", "virtualDev"]), "vmxnet3");
  // Only TRUE/FALSE count; anything else leaves the namespace in place.
  assert.equal(vmx.getString(["ethernet2", "virtualDev"]), "e1000e");
  assert.deepEqual(
    vmx.topNamespaces().map(([name]) => name),
    ["ethernet1", "ethernet2"],
  );
});

test("a key and a namespace of the same name: the namespace replaces the key", () => {
  const { vmx, warnings } = parse('vm = "x"\nvm.genid = "1"\nvm.genid.sub = "2"\n');
  assert.equal(vmx.getString(["vm"]), null);
  assert.equal(vmx.getString(["vm", "genid"]), null);
  assert.equal(vmx.getString(["vm", "genid", "sub"]), "2");
  assert.deepEqual(warnings, []);
});

test("integers follow OCaml's int_of_string: prefixes, underscores, ranges", () => {
  assert.equal(parseOcamlInteger("2048", 64), 2048n);
  assert.equal(parseOcamlInteger("-570734802784577186", 64), -570734802784577186n);
  assert.equal(parseOcamlInteger("+12", 63), 12n);
  assert.equal(parseOcamlInteger("0x10", 63), 16n);
  assert.equal(parseOcamlInteger("0o17", 63), 15n);
  assert.equal(parseOcamlInteger("0b101", 63), 5n);
  assert.equal(parseOcamlInteger("1_000", 63), 1000n);
  assert.equal(parseOcamlInteger("0xffffffffffffffff", 64), -1n);
  assert.equal(parseOcamlInteger("9223372036854775807", 64), 9223372036854775807n);
  assert.equal(parseOcamlInteger("9223372036854775808", 64), null);
  assert.equal(parseOcamlInteger("-9223372036854775808", 64), -9223372036854775808n);
  assert.equal(parseOcamlInteger("4611686018427387904", 63), null);
  for (const bad of ["", " 1", "1 ", "_1", "0x", "12a", "1.5", "--1"])
    assert.equal(parseOcamlInteger(bad, 63), null, JSON.stringify(bad));
});

test("values that are not numbers or booleans where one is needed are errors", () => {
  const { vmx } = parse('memSize = "lots"\nuefi.secureBoot.enabled = "yes"\n');
  assert.throws(
    () => vmx.getInt64(["memSize"]),
    /memSize = "lots" in the VMX file is not an integer/,
  );
  assert.throws(
    () => vmx.getBool(["uefi", "secureBoot", "enabled"]),
    /uefi\.secureBoot\.enabled = "yes" in the VMX file is not TRUE or FALSE/,
  );
});
