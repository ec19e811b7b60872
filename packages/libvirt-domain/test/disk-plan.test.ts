import assert from "node:assert/strict";
import test from "node:test";
import { inputDiskServerSpec, nbdkitHasFilter, serverArgv } from "@split-v2v/common";
import { domainDiskLocation, domainDiskPlan, type DomainDisk } from "../src/index.js";

const MARKER = "/w/convert";
const LAUNCH = { socket: "/w/in0", pidfile: "/w/tmp/in0.pid" };

/** The command line the plan's server runs with the overlay, after nbdkit's common options. */
function commandLine(disk: DomainDisk, availableFilters?: ReadonlySet<string>): string {
  const plan = domainDiskPlan(disk, { convertMarker: MARKER, availableFilters });
  const argv = serverArgv(inputDiskServerSpec(plan, true), LAUNCH);
  const tail =
    argv[0] === "nbdkit"
      ? argv.slice(argv.indexOf("nbdkit.backend.datapath=0") + 1)
      : argv.slice(argv.indexOf("/w/in0") + 1);
  return [argv[0] === "nbdkit" ? "nbdkit" : "qemu-nbd", ...tail].join(" ");
}

test("file and block disks: raw through nbdkit's file plugin, the rest through qemu-nbd", () => {
  for (const kind of ["file", "block"] as const) {
    const raw: DomainDisk = { format: "raw", controller: null, source: { kind, path: "/d" } };
    assert.equal(commandLine(raw), "nbdkit --filter=cow file file=/d cache=none");
    assert.equal(commandLine({ ...raw, format: "qcow2" }), "qemu-nbd --snapshot --format qcow2 /d");
    // Unknown format: qemu probes, as 2.2.
    assert.equal(commandLine({ ...raw, format: null }), "qemu-nbd --snapshot /d");
    assert.equal(domainDiskLocation(raw), "/d");
  }
});

test("nbd: nbdkit's nbd plugin, shared", () => {
  const disk: DomainDisk = {
    format: null,
    controller: "virtio-blk",
    source: { kind: "nbd", host: "localhost", port: 10809 },
  };
  assert.equal(
    commandLine(disk),
    "nbdkit --filter=cow nbd hostname=localhost port=10809 shared=true",
  );
  assert.equal(domainDiskLocation(disk), "nbd://localhost:10809");
});

test("http(s): nbdkit's curl plugin as 2.2's create_curl, cow-on-read on the convert marker", () => {
  const disk: DomainDisk = {
    format: "raw",
    controller: null,
    source: { kind: "http", url: "https://web/d.img" },
  };
  assert.equal(
    commandLine(disk),
    "nbdkit --filter=cow --filter=cacheextents --filter=retry curl cow-on-read=/w/convert url=https://web/d.img timeout=2000",
  );
  assert.equal(
    commandLine(disk, new Set(["retry"])),
    "nbdkit --filter=cow --filter=retry curl cow-on-read=/w/convert url=https://web/d.img timeout=2000",
  );
  assert.equal(domainDiskLocation(disk), "https://web/d.img");
});

test("nbdkitHasFilter asks the installed nbdkit", async () => {
  assert.equal(await nbdkitHasFilter("cow"), true);
  assert.equal(await nbdkitHasFilter("no-such-filter-here"), false);
});
