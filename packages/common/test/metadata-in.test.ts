/**
 * buildMetadataIn: metadata.in with virt-v2v 2.2's -i disk defaults for what a mode does not know.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { validateMetadata } from "@split-v2v/metadata-schema";
import { SOURCE_DEFAULTS, buildMetadataIn, type ServedInputDisk } from "../src/index.js";

function served(index: number, overlay = true): ServedInputDisk {
  return { socket: `in${index}`, virtualSize: 1048576 * (index + 1), overlay };
}

test("buildMetadataIn: virt-v2v's -i disk defaults for what the mode does not know", () => {
  const metadata = buildMetadataIn({
    mode: "disk",
    description: "-i disk /d/guest.img",
    source: { name: "guest" },
    disks: [
      { served: served(0), id: 0, controller: null, format: "raw", location: "/d/guest.img" },
    ],
  });
  assert.deepEqual(metadata, {
    schemaVersion: 1,
    kind: "metadata.in",
    input: { mode: "disk", description: "-i disk /d/guest.img" },
    source: {
      name: "guest",
      hypervisor: "unknownhv",
      genid: null,
      memoryBytes: 2147483648,
      vcpus: 1,
      cpuVendor: null,
      cpuModel: null,
      cpuTopology: null,
      features: ["acpi", "apic", "pae"],
      firmware: "unknown",
      uefiSecureBoot: false,
      display: {
        type: "window",
        keymap: null,
        password: null,
        listen: { kind: "none", value: null },
        port: null,
      },
      sound: null,
      disks: [
        {
          id: 0,
          socket: "in0",
          virtualSize: 1048576,
          controller: null,
          format: "raw",
          location: "/d/guest.img",
        },
      ],
      removables: [],
      nics: [{ mac: null, model: null, network: "default", networkType: "network" }],
    },
  });
  assert.doesNotThrow(() => validateMetadata("metadata.in", metadata));
  // Field order is the schema's, whatever order the mode gave its facts in.
  assert.deepEqual(Object.keys(metadata.source), [
    "name",
    ...Object.keys(SOURCE_DEFAULTS).slice(0, 12),
    "disks",
    "removables",
    "nics",
  ]);
  // The defaults are copied, never shared with the document.
  metadata.source.features.push("changed");
  assert.deepEqual(SOURCE_DEFAULTS.features, ["acpi", "apic", "pae"]);
});

test("buildMetadataIn: what a mode knows wins, null included; an in-place disk says overlay false", () => {
  const metadata = buildMetadataIn({
    mode: "vmx",
    description: "-i vmx g.vmx",
    source: {
      nics: [],
      name: "g",
      hypervisor: "vmware",
      memoryBytes: 1073741824,
      vcpus: 2,
      features: [],
      display: null,
      firmware: "uefi",
      sound: "ich6",
    },
    disks: [
      { served: served(0), id: 0, controller: "scsi", format: "vmdk", location: "/g.vmdk" },
      { served: served(1, false), id: 1, controller: "nvme", format: "vmdk", location: "/h.vmdk" },
    ],
  });
  assert.equal(metadata.source.display, null);
  assert.deepEqual(metadata.source.features, []);
  assert.deepEqual(metadata.source.nics, []);
  assert.equal(metadata.source.firmware, "uefi");
  assert.equal(metadata.source.sound, "ich6");
  assert.equal(metadata.source.genid, null);
  assert.equal("overlay" in metadata.source.disks[0]!, false, "absent means true");
  assert.equal(metadata.source.disks[1]!.overlay, false);
  assert.doesNotThrow(() => validateMetadata("metadata.in", metadata));
});
