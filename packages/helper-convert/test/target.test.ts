import { test } from "node:test";
import assert from "node:assert/strict";
import type { GuestCaps, MetadataIn } from "@split-v2v/metadata-schema";
import { UserError } from "@split-v2v/common";
import {
  assignBuses,
  chooseBestKernel,
  chooseRoot,
  mapNetworks,
  parseNetworkMapping,
  parseRootChoice,
} from "../src/index.js";

const caps = (blockBus: GuestCaps["blockBus"]): GuestCaps => ({
  blockBus,
  netBus: "virtio-net",
  virtioRng: true,
  virtioBalloon: true,
  isaPvpanic: true,
  virtioSocket: true,
  machine: "q35",
  arch: "x86_64",
  acpi: true,
  virtio10: true,
  defaultCpu: true,
});

const source = (removables: MetadataIn["source"]["removables"]): MetadataIn["source"] => ({
  name: "g",
  hypervisor: "vmware",
  genid: null,
  memoryBytes: 1 << 30,
  vcpus: 1,
  cpuVendor: null,
  cpuModel: null,
  cpuTopology: null,
  features: [],
  firmware: "unknown",
  uefiSecureBoot: false,
  display: null,
  sound: null,
  disks: [
    { id: 0, socket: "in0", virtualSize: 1, controller: "scsi" },
    { id: 1, socket: "in1", virtualSize: 1, controller: "scsi" },
  ],
  removables,
  nics: [],
});

test("fixed disks go on virtio-blk in source order; removables keep their slot when free", () => {
  const buses = assignBuses(
    source([
      { type: "cdrom", controller: "ide", slot: 2 },
      { type: "floppy", controller: null, slot: 0 },
      { type: "cdrom", controller: "ide", slot: 2 },
    ]),
    caps("virtio-blk"),
  );
  assert.deepEqual(buses.virtioBlk, [{ disk: 0 }, { disk: 1 }]);
  assert.deepEqual(buses.ide, [{ removable: 2 }, null, { removable: 0 }]);
  assert.deepEqual(buses.floppy, [{ removable: 1 }]);
});

test("without virtio the disks take the IDE slots first, and a CD-ROM whose slot is taken moves", () => {
  const buses = assignBuses(source([{ type: "cdrom", controller: "ide", slot: 1 }]), caps("ide"));
  assert.deepEqual(buses.ide, [{ disk: 0 }, { disk: 1 }, { removable: 0 }]);
  assert.deepEqual(buses.virtioBlk, []);
});

test("--root: single, first, a device, and the errors virt-v2v gives", async () => {
  assert.equal(await chooseRoot(["/dev/sda2"], parseRootChoice(undefined), null), "/dev/sda2");
  assert.equal(
    await chooseRoot(["/dev/sda2", "/dev/sdb1"], parseRootChoice("first"), null),
    "/dev/sda2",
  );
  assert.equal(
    await chooseRoot(["/dev/sda2", "/dev/sdb1"], parseRootChoice("/dev/vdb1"), null),
    "/dev/sdb1",
  );
  await assert.rejects(
    chooseRoot(["/dev/sda2", "/dev/sdb1"], parseRootChoice("single"), null),
    /multi-boot operating systems are not supported/,
  );
  await assert.rejects(
    chooseRoot(["/dev/sda2"], parseRootChoice("/dev/sdc1"), null),
    /root device \/dev\/sdc1 not found.  Roots found were: \/dev\/sda2/,
  );
  await assert.rejects(
    chooseRoot([], parseRootChoice("ask"), null),
    (err: unknown) => err instanceof UserError && /no operating system was found/.test(err.message),
  );
  await assert.rejects(
    chooseRoot(["/dev/sda2", "/dev/sdb1"], parseRootChoice("ask"), null),
    /no terminal to ask on/,
  );
  assert.equal(
    await chooseRoot(
      ["/dev/sda2", "/dev/sdb1"],
      parseRootChoice("ask"),
      async (roots) => roots[1]!,
    ),
    "/dev/sdb1",
  );
  assert.throws(() => parseRootChoice("second"), /unknown --root option/);
});

test("-n/-b/--mac map NICs like virt-v2v, and duplicate defaults are refused", () => {
  const mapping = parseNetworkMapping(
    ["VM Network:default", "other"],
    ["br1"],
    ["00:0C:29:00:00:01:bridge:br9"],
  );
  const nics = mapNetworks(
    [
      { mac: "00:0c:29:00:00:01", model: null, network: "VM Network", networkType: "network" },
      { mac: null, model: null, network: "VM Network", networkType: "network" },
      { mac: null, model: null, network: "Lab", networkType: "network" },
      { mac: null, model: null, network: "br0", networkType: "bridge" },
    ],
    mapping,
  );
  assert.deepEqual(
    nics.map((nic) => `${nic.networkType}:${nic.network}`),
    ["bridge:br9", "network:default", "network:other", "bridge:br1"],
  );
  assert.throws(
    () => parseNetworkMapping(["a", "b"], [], []),
    /duplicate -n parameter.  Only one default mapping is allowed./,
  );
  assert.throws(
    () => parseNetworkMapping([], [], ["nonsense"]),
    /cannot parse --mac "nonsense" parameter/,
  );
});

test("the best kernel: virtio_net support first, then newest, then non-debug", () => {
  const kernel = (version: string, modules: string[]) => ({ version, modules: new Set(modules) });
  const best = chooseBestKernel([
    kernel("6.1.0-13-amd64", ["virtio_net", "virtio_blk"]),
    kernel("6.1.0-15-amd64", ["virtio_net", "virtio_blk"]),
    kernel("6.1.0-15-amd64-debug", ["virtio_net", "virtio_blk"]),
    kernel("6.5.0-1-amd64", []),
  ]);
  assert.equal(best?.version, "6.1.0-15-amd64");
  assert.equal(chooseBestKernel([]), null);
});
