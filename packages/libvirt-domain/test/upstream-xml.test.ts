/**
 * virt-v2v 2.2's own test XMLs, read where the upstream suite was unpacked
 * (/var/tmp/v2v-suite-v2.2.0); skipped, saying so, where it was not. Never copied here. Files
 * whose root is the libvirt test driver's <node> hold domains, each read as libvirt would hand
 * it over (its <domain> element serialised by libxml2).
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import test from "node:test";
import { XmlDocument } from "@split-v2v/common";
import { parseDomainXml, type ParsedDomain } from "../src/index.js";

const SUITE = "/var/tmp/v2v-suite-v2.2.0";
const TESTS = path.join(SUITE, "tests");
const GUESTS = path.join(SUITE, "test-data/phony-guests/guests.xml");
const skip = existsSync(TESTS) ? false : `the upstream suite is not unpacked in ${SUITE}`;

interface Read {
  domain: ParsedDomain;
  warnings: string[];
}

/** The domains of a file: itself, or each <domain> of a test driver's <node>. */
async function domainsOf(file: string): Promise<string[]> {
  const text = await readFile(file, "utf8");
  const document = await XmlDocument.parse(text, file);
  if ((await document.count("/node")) === 0) return [text];
  return document.serialize("/node/domain");
}

async function read(xml: string, label: string): Promise<Read> {
  const warnings: string[] = [];
  const domain = await parseDomainXml(xml, {
    label,
    readVolumeXml: null,
    warn: (text) => warnings.push(text),
  });
  return { domain, warnings };
}

async function readOnly(name: string): Promise<Read> {
  const [xml] = await domainsOf(path.join(TESTS, name));
  return read(xml!, name);
}

test("every domain of the upstream test XMLs parses", { skip }, async () => {
  // The -expected.xml files are fragments of a converted guest's XML, not documents.
  const files = readdirSync(TESTS).filter(
    (name) => name.endsWith(".xml") && !name.endsWith("-expected.xml"),
  );
  assert.ok(files.length >= 8, `only ${files.length} test XMLs in ${TESTS}`);
  for (const file of files) {
    for (const xml of await domainsOf(path.join(TESTS, file))) {
      const { domain, warnings } = await read(xml, file);
      assert.ok(domain.disks.length > 0, file);
      assert.deepEqual(warnings, [], file);
    }
  }
});

test("test-v2v-print-source.xml: what its .expected says", { skip }, async () => {
  const { domain } = await readOnly("test-v2v-print-source.xml");
  assert.deepEqual(domain.source, {
    name: "windows",
    hypervisor: "kvm",
    genid: null,
    memoryBytes: 1073741824,
    vcpus: 64,
    cpuVendor: "Intel",
    cpuModel: "Broadwell",
    cpuTopology: { sockets: 4, cores: 8, threads: 2 },
    features: ["acpi", "apic", "pae"],
    firmware: "unknown",
    uefiSecureBoot: false,
    display: null,
    sound: null,
    removables: [],
    nics: [
      { mac: "00:11:22:33:44:55", model: "virtio", network: "default", networkType: "network" },
    ],
  });
  assert.deepEqual(
    domain.disks.map((disk) => [disk.controller, disk.format, disk.source.kind]),
    [["virtio-blk", "raw", "file"]],
  );
});

test("test-v2v-cdrom.xml, -floppy.xml, -sound.xml", { skip }, async () => {
  const cdrom = (await readOnly("test-v2v-cdrom.xml")).domain;
  assert.equal(cdrom.source.hypervisor, "test");
  assert.equal(cdrom.disks[0]!.controller, "ide");
  assert.deepEqual(cdrom.source.removables, [{ type: "cdrom", controller: "ide", slot: 2 }]);
  const floppy = (await readOnly("test-v2v-floppy.xml")).domain;
  assert.deepEqual(floppy.source.removables, [{ type: "floppy", controller: null, slot: 0 }]);
  assert.equal((await readOnly("test-v2v-sound.xml")).domain.source.sound, "ich9");
});

test(
  "test-v2v-networks-and-bridges.xml: seven NICs, VMware's zero MAC dropped",
  { skip },
  async () => {
    const { nics } = (await readOnly("test-v2v-networks-and-bridges.xml")).domain.source;
    assert.deepEqual(
      nics?.map((nic) => `${nic.networkType}:${nic.network}:${nic.mac ?? "-"}:${nic.model ?? "-"}`),
      [
        "bridge:VM Network:-:e1000",
        "bridge:bob:52:54:00:01:02:03:e1000",
        "network:default:52:54:00:01:02:04:virtio",
        "network:john:52:54:00:01:02:05:virtio",
        "network:paul:52:54:00:01:02:06:virtio",
        "network:george:52:54:00:01:02:07:rtl8139",
        "network:ringo:52:54:00:01:02:08:virtio",
      ],
    );
  },
);

test(
  "phony-guests/guests.xml: every guest parses but the one without disks",
  { skip: existsSync(GUESTS) ? false : `${GUESTS} is not there` },
  async () => {
    const names: string[] = [];
    for (const xml of await domainsOf(GUESTS)) {
      const { name: answer } = await (
        await XmlDocument.parse(xml, GUESTS)
      ).ask({
        name: "/domain/name/text()",
      });
      const name = answer.text;
      if (name === "nodisks") {
        await assert.rejects(read(xml, name), /this guest has no non-removable disks/);
        continue;
      }
      const { domain, warnings } = await read(xml, name);
      assert.equal(domain.source.name, name);
      assert.deepEqual(warnings, [], name);
      assert.ok(
        domain.disks.every((disk) => disk.source.kind === "file"),
        name,
      );
      names.push(name);
    }
    assert.ok(names.includes("windows") && names.includes("fedora"), names.join(", "));
  },
);
