/**
 * The OpenStack image properties (@split-v2v/target-formats' createOpenstackImageProperties,
 * shared with -o glance): 2.2's keys, values and order for the guests 2.2 describes.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { convertedWindowsGuest } from "@split-v2v/helper-test-kit";
import { createOpenstackImageProperties } from "@split-v2v/target-formats";

test("a Windows guest converted for virtio: 2.2's properties in 2.2's order", () => {
  const { metadataIn, metadataOut } = convertedWindowsGuest([1024]);
  assert.deepEqual(
    createOpenstackImageProperties({ source: metadataIn.source, converted: metadataOut }),
    [
      ["architecture", "x86_64"],
      ["hypervisor_type", "kvm"],
      ["vm_mode", "hvm"],
      ["hw_disk_bus", "virtio"],
      ["hw_vif_model", "virtio"],
      ["hw_video_model", "vga"],
      ["hw_machine_type", "q35"],
      ["os_type", "windows"],
      ["os_distro", "windows"],
      ["hw_cpu_sockets", "1"],
      ["hw_cpu_cores", "2"],
      ["hw_cpu_threads", "1"],
      ["os_version", "10"],
      ["hw_rng_model", "virtio"],
    ],
  );
});

test("IDE and rtl8139, i440fx, no topology, SLES 15.4, UEFI, no RNG", () => {
  const { metadataIn, metadataOut } = convertedWindowsGuest([1024]);
  const properties = createOpenstackImageProperties({
    source: { ...metadataIn.source, vcpus: 4, cpuTopology: null },
    converted: {
      ...metadataOut,
      inspection: {
        ...metadataOut.inspection,
        type: "linux",
        distro: "sles",
        majorVersion: 15,
        minorVersion: 4,
      },
      guestcaps: {
        ...metadataOut.guestcaps,
        blockBus: "ide",
        netBus: "rtl8139",
        machine: "i440fx",
        virtioRng: false,
      },
      target: { ...metadataOut.target, firmware: "uefi" },
    },
  });
  assert.deepEqual(properties, [
    ["architecture", "x86_64"],
    ["hypervisor_type", "kvm"],
    ["vm_mode", "hvm"],
    ["hw_disk_bus", "ide"],
    ["hw_vif_model", "rtl8139"],
    ["hw_video_model", "vga"],
    ["hw_machine_type", "pc"],
    ["os_type", "linux"],
    // OpenStack's name for SLES.
    ["os_distro", "sled"],
    ["hw_cpu_sockets", "1"],
    ["hw_cpu_cores", "4"],
    ["os_version", "15.4"],
    ["hw_firmware_type", "uefi"],
  ]);
});

test("archlinux is arch; version 0.0 is left out; virtio-scsi as 2.4 describes it", () => {
  const { metadataIn, metadataOut } = convertedWindowsGuest([1024]);
  const properties = createOpenstackImageProperties({
    source: metadataIn.source,
    converted: {
      ...metadataOut,
      inspection: {
        ...metadataOut.inspection,
        type: "linux",
        distro: "archlinux",
        majorVersion: 0,
        minorVersion: 0,
      },
      guestcaps: {
        ...metadataOut.guestcaps,
        blockBus: "virtio-scsi",
        netBus: "e1000",
        machine: "virt",
        arch: "aarch64",
      },
    },
  });
  const byKey = new Map(properties);
  assert.equal(byKey.get("os_distro"), "arch");
  assert.equal(byKey.has("os_version"), false);
  assert.equal(byKey.get("hw_disk_bus"), "scsi");
  assert.equal(byKey.get("hw_vif_model"), "e1000");
  assert.equal(byKey.get("hw_machine_type"), "virt");
  assert.equal(byKey.get("architecture"), "aarch64");
  // After the CPU topology, before os_version (2.4's place).
  assert.deepEqual(properties.map(([key]) => key).slice(9), [
    "hw_cpu_sockets",
    "hw_cpu_cores",
    "hw_cpu_threads",
    "hw_scsi_model",
    "hw_rng_model",
  ]);
  assert.equal(byKey.get("hw_scsi_model"), "virtio-scsi");
  // Version 0.1 is kept.
  const minorOnly = createOpenstackImageProperties({
    source: metadataIn.source,
    converted: {
      ...metadataOut,
      inspection: { ...metadataOut.inspection, majorVersion: 0, minorVersion: 1 },
    },
  });
  assert.equal(new Map(minorOnly).get("os_version"), "0.1");
});
