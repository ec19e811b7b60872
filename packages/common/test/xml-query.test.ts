import assert from "node:assert/strict";
import test from "node:test";
import { UserError, XmlDocument, attr, el, elIn } from "../src/index.js";

const DOCUMENT = `<domain type='kvm' xmlns:v='urn:example:v'>
  <name>guest &amp; co</name>
  <v:moref>vm-7</v:moref><moref>plain</moref>
  <features><acpi/><v:pae/><apic/></features>
  <devices>
    <disk device='disk'><source file='/a'/></disk>
    <disk device='cdrom'/>
    <disk device='disk'><source dev='/dev/b'/><source file='/second'/></disk>
    <interface><source bridge='br0'/></interface>
    <interface><source network='n' bridge='b'/></interface>
  </devices>
</domain>`;

test("ask: many questions in one run, absent told from empty", async () => {
  const document = await XmlDocument.parse(DOCUMENT, "doc");
  const answers = await document.ask({
    type: "/domain/@type",
    name: "/domain/name/text()",
    missing: "/domain/genid/text()",
    vmMoref: `/domain/${elIn("urn:example:v", "moref")}`,
    anyMoref: `/domain/${el("moref")}`,
    firstDiskFile: `/domain/devices/disk/source/${attr("file")}`,
  });
  assert.deepEqual(answers.type, { count: 1, text: "kvm" });
  assert.deepEqual(answers.name, { count: 1, text: "guest & co" });
  assert.deepEqual(answers.missing, { count: 0, text: "" });
  assert.deepEqual(answers.vmMoref, { count: 1, text: "vm-7" });
  assert.deepEqual(answers.anyMoref, { count: 2, text: "vm-7" });
  assert.deepEqual(answers.firstDiskFile, { count: 2, text: "/a" });
});

test("askEach: the same questions of each node, unions in document order", async () => {
  const document = await XmlDocument.parse(DOCUMENT, "doc");
  const disks = await document.askEach("/domain/devices/disk[@device='disk']", (disk) => ({
    file: `${disk}/source/@file`,
    dev: `${disk}/source/@dev`,
  }));
  assert.deepEqual(disks, [
    { file: { count: 1, text: "/a" }, dev: { count: 0, text: "" } },
    { file: { count: 1, text: "/second" }, dev: { count: 1, text: "/dev/b" } },
  ]);
  const nics = await document.askEach("/domain/devices/interface", (nic) => ({
    source: `${nic}/source/@network | ${nic}/source/@bridge`,
  }));
  assert.deepEqual(
    nics.map((nic) => nic.source.text),
    ["br0", "n"],
  );
  assert.deepEqual(await document.askEach("/domain/nothing", () => ({ x: "/domain" })), []);
});

test("localNamesOfEach and serialize", async () => {
  const document = await XmlDocument.parse(DOCUMENT, "doc");
  assert.deepEqual(await document.localNamesOfEach("/domain/features/*"), ["acpi", "pae", "apic"]);
  const [fragment] = await document.serialize("/domain/devices/disk[@device='cdrom']");
  assert.equal(fragment, `<disk device="cdrom"/>`);
  const again = await XmlDocument.parse(fragment!, "fragment");
  assert.equal((await again.ask({ device: "/disk/@device" })).device.text, "cdrom");
});

test("a document that is not XML is the user's error, naming it", async () => {
  await assert.rejects(XmlDocument.parse("<a><b></a>", "the file x.xml"), (err: unknown) => {
    assert.ok(err instanceof UserError);
    assert.match(err.message, /^the file x\.xml is not well-formed XML: line 1: /);
    return true;
  });
});
