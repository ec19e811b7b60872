import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import {
  MetadataError,
  SHIPPED_SCHEMAS,
  diskEndpoint,
  endpointUri,
  parseNbdUri,
  readMetadata,
  validateMetadata,
  writeMetadata,
  type MetadataIn,
  type MetadataOut,
} from "../src/index.js";

const cli = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "src", "cli.js");
const run = promisify(execFile);

export const sampleIn: MetadataIn = {
  schemaVersion: 1,
  kind: "metadata.in",
  input: { mode: "disk", description: "-i disk /var/tmp/fedora.img" },
  source: {
    name: "fedora",
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
    display: { type: "window", keymap: null, password: null, listen: { kind: "none" }, port: null },
    sound: null,
    disks: [{ id: 0, socket: "in0", virtualSize: 1073741824, controller: null, format: "raw" }],
    removables: [],
    nics: [{ mac: null, model: null, network: "default", networkType: "network" }],
  },
};

const sampleOut: MetadataOut = {
  schemaVersion: 1,
  kind: "metadata.out",
  inspection: {
    root: "/dev/sda2",
    type: "linux",
    distro: "debian",
    osinfo: "debian12",
    arch: "x86_64",
    majorVersion: 12,
    minorVersion: 0,
    packageFormat: "deb",
    packageManagement: "apt",
    productName: "Debian GNU/Linux 12 (bookworm)",
    productVariant: "unknown",
    hostname: "debian",
    mountpoints: [{ mountpoint: "/", device: "/dev/sda2" }],
    firmware: { type: "bios", espDevices: [] },
    windows: null,
  },
  guestcaps: {
    blockBus: "virtio-blk",
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
  },
  target: {
    firmware: "bios",
    buses: { virtioBlk: [{ disk: 0 }], ide: [], scsi: [], floppy: [] },
    nics: [
      {
        mac: null,
        model: null,
        network: "default",
        networkType: "network",
        targetModel: "virtio-net",
      },
    ],
  },
  conversion: { family: "linux", converter: "debian", changes: [], warnings: [] },
};

test("a valid metadata.in and metadata.out round-trip through write and read", async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), "v2v-metadata-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeMetadata("metadata.in", path.join(dir, "metadata.in"), sampleIn);
  await writeMetadata("metadata.out", path.join(dir, "metadata.out"), sampleOut);
  assert.deepEqual(await readMetadata("metadata.in", path.join(dir, "metadata.in")), sampleIn);
  assert.deepEqual(await readMetadata("metadata.out", path.join(dir, "metadata.out")), sampleOut);
  // Atomic write: no temporary file is left beside the result.
  assert.deepEqual((await readdir(dir)).sort(), ["metadata.in", "metadata.out"]);
});

test("an invalid document is refused on write, naming the field, and nothing is written", async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), "v2v-metadata-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const bad = structuredClone(sampleIn) as unknown as { source: { vcpus: unknown } };
  bad.source.vcpus = "two";
  await assert.rejects(
    writeMetadata("metadata.in", path.join(dir, "metadata.in"), bad as unknown as MetadataIn),
    (err: unknown) => err instanceof MetadataError && /\/source\/vcpus/.test(err.message),
  );
  assert.deepEqual(await readdir(dir), []);
});

test("unknown fields, a wrong schema version and a bad socket name are all refused", () => {
  const extra = { ...structuredClone(sampleIn), surprise: 1 };
  assert.throws(() => validateMetadata("metadata.in", extra), /surprise/);
  assert.throws(
    () => validateMetadata("metadata.in", { ...sampleIn, schemaVersion: 2 }),
    /schemaVersion/,
  );
  const socket = structuredClone(sampleIn);
  socket.source.disks[0]!.socket = "../in0";
  assert.throws(() => validateMetadata("metadata.in", socket), /socket/);
});

test("v2v-metadata validate accepts good files and rejects a bad one with exit 1", async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), "v2v-metadata-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const good = path.join(dir, "metadata.out");
  await writeMetadata("metadata.out", good, sampleOut);
  const ok = await run(process.execPath, [cli, "validate", good]);
  assert.match(ok.stdout, /valid metadata\.out/);
  const bad = path.join(dir, "bad.json");
  await writeFile(bad, JSON.stringify({ ...sampleOut, guestcaps: { blockBus: "floppy" } }));
  await assert.rejects(run(process.execPath, [cli, "validate", bad]), (err: unknown) => {
    const e = err as { code?: number; stderr?: string };
    return (
      e.code === 1 &&
      /v2v-metadata: error: .*bad\.json is not valid metadata\.out/.test(e.stderr ?? "")
    );
  });
  const schema = await run(process.execPath, [cli, "schema", "in"]);
  assert.equal(JSON.parse(schema.stdout).$schema, "https://json-schema.org/draft/2020-12/schema");
  assert.ok((await readFile(good, "utf8")).endsWith("\n"));
});

test("readers accept a newer writer's unknown fields (reported, then dropped); writers stay strict", async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), "metadata-tolerant-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, "metadata.in");
  const newer = structuredClone(sampleIn) as unknown as Record<string, unknown> & {
    source: { disks: Array<Record<string, unknown>> };
  };
  newer.futureTopLevel = { any: "thing" };
  newer.source.disks[0]!.futureDiskField = 42;
  await writeFile(file, JSON.stringify(newer));
  const unknown: string[] = [];
  const read = await readMetadata("metadata.in", file, { onUnknownField: (w) => unknown.push(w) });
  assert.deepEqual(unknown.sort(), ["/futureTopLevel", "/source/disks/0/futureDiskField"]);
  assert.deepEqual(read, sampleIn, "what this reader knows is read as written");
  // A wrong type is still an error, unknown fields or not.
  newer.source.disks[0]!.virtualSize = "big";
  await writeFile(file, JSON.stringify(newer));
  await assert.rejects(
    readMetadata("metadata.in", file, { onUnknownField: () => {} }),
    MetadataError,
  );
  // Writers never write what the schema does not define.
  await assert.rejects(
    writeMetadata("metadata.in", file, { ...sampleIn, extra: 1 } as unknown as MetadataIn),
    /must NOT have additional properties 'extra'/,
  );
});

test("a disk is served on a work-dir socket (the short form) or at any NBD URI", () => {
  const withEndpoint = structuredClone(sampleIn);
  withEndpoint.source.disks = [
    {
      id: 0,
      endpoint: "nbd://127.0.0.1:10810/disk0",
      overlay: true,
      virtualSize: 1073741824,
      controller: null,
    },
  ];
  assert.doesNotThrow(() => validateMetadata("metadata.in", withEndpoint));
  const neither = structuredClone(sampleIn);
  neither.source.disks = [
    { id: 0, virtualSize: 1, controller: null } as unknown as MetadataIn["source"]["disks"][number],
  ];
  assert.throws(() => validateMetadata("metadata.in", neither), MetadataError);
  assert.deepEqual(diskEndpoint("/w", { socket: "in0" }), {
    transport: "unix",
    socket: "/w/in0",
    exportName: "",
  });
  assert.deepEqual(diskEndpoint("/w", { socket: "in0", endpoint: "nbd://[::1]/sda" }), {
    transport: "tcp",
    host: "::1",
    port: 10809,
    exportName: "sda",
  });
  assert.deepEqual(parseNbdUri("nbd+unix:///x%20y?socket=/run/a.sock"), {
    transport: "unix",
    socket: "/run/a.sock",
    exportName: "x y",
  });
  assert.equal(
    endpointUri(parseNbdUri("nbd+tcp://host.example:2000/e")),
    "nbd://host.example:2000/e",
  );
  assert.throws(() => parseNbdUri("nbds://h/e"), /TLS is not supported/);
  assert.throws(() => parseNbdUri("nbd+unix:///e"), /needs \?socket=PATH/);
  assert.throws(() => parseNbdUri("http://h/e"), /not an NBD URI/);
});

test("the shipped schema/*.json files are the schemas of the code (npm run schemas writes them)", async () => {
  const shipped = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "schema");
  for (const [name, schema] of Object.entries(SHIPPED_SCHEMAS)) {
    const file = JSON.parse(await readFile(path.join(shipped, name), "utf8")) as unknown;
    assert.deepEqual(file, JSON.parse(JSON.stringify(schema)), `schema/${name} is up to date`);
  }
});
