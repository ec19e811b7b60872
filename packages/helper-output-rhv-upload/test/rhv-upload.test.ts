/**
 * helper-v2v-output-rhv-upload against the stand-in oVirt engine (./standin-ovirt.ts: no
 * engine can run here; an HTTPS server speaking the REST API subset and imageio as the real
 * ones do, recording every call). Real components otherwise: nbdkit's sh plugin with curl
 * writing to imageio, nbdcopy copying a sparse source image with data and holes, openssl's
 * certificates. metadata.in and metadata.out are written by hand.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, open, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { runHelper, serve as serveHelper } from "@split-v2v/helper-test-kit";
import { writeMetadata, type MetadataIn, type MetadataOut } from "@split-v2v/metadata-schema";
import {
  CLUSTER,
  EXISTING_DISK,
  EXISTING_VM,
  OTHER_CLUSTER,
  PASSWORD,
  STORAGE_DOMAIN,
  UNATTACHED_DOMAIN,
  startStandinOvirt,
  type StandinOvirt,
} from "./standin-ovirt.js";

const helper = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "bin",
  "helper-v2v-output-rhv-upload.mjs",
);
const MIB = 1024 * 1024;
const DISK_SIZE = 64 * MIB;

let dir: string;
let engine: StandinOvirt;
let passwordFile: string;
let sourceImage: string;
let workdirs = 0;

function metadataIn(name: string, size: number): MetadataIn {
  return {
    schemaVersion: 1,
    kind: "metadata.in",
    input: { mode: "disk", description: "-i disk guest.img" },
    source: {
      name,
      hypervisor: "kvm",
      genid: null,
      memoryBytes: 2147483648,
      vcpus: 2,
      cpuVendor: null,
      cpuModel: null,
      cpuTopology: null,
      features: ["acpi", "apic"],
      firmware: "bios",
      uefiSecureBoot: false,
      display: null,
      sound: null,
      disks: [{ id: 0, socket: "in0", virtualSize: size, controller: null, format: "raw" }],
      removables: [],
      nics: [{ mac: "52:54:00:12:34:56", model: null, network: "default", networkType: "network" }],
    },
  } as MetadataIn;
}

const METADATA_OUT: MetadataOut = {
  schemaVersion: 1,
  kind: "metadata.out",
  inspection: {
    root: "/dev/sda2",
    type: "linux",
    distro: "fedora",
    osinfo: "fedora38",
    arch: "x86_64",
    majorVersion: 38,
    minorVersion: 0,
    packageFormat: "rpm",
    packageManagement: "dnf",
    productName: "Fedora Linux 38",
    productVariant: "unknown",
    hostname: "guest",
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
        mac: "52:54:00:12:34:56",
        model: null,
        network: "default",
        networkType: "network",
        targetModel: "virtio-net",
      },
    ],
  },
  conversion: { family: "linux", converter: "fedora", changes: [], warnings: [] },
};

/** A work dir with metadata.in and metadata.out, as the driver has it before setup. */
async function newWorkdir(name = "guest", size = DISK_SIZE): Promise<string> {
  const workdir = path.join(dir, `work${workdirs++}`);
  await mkdir(workdir, { mode: 0o700 });
  await writeMetadata("metadata.in", path.join(workdir, "metadata.in"), metadataIn(name, size));
  await writeMetadata("metadata.out", path.join(workdir, "metadata.out"), METADATA_OUT);
  return workdir;
}

/** A sparse source image: random data blocks and holes. */
async function makeSource(file: string, size: number): Promise<void> {
  const handle = await open(file, "w");
  await handle.truncate(size);
  for (const [offset, length] of [
    [0, MIB],
    [5 * MIB + 4096, 300 * 1024],
    [17 * MIB + MIB / 2, 2 * MIB],
    [40 * MIB, 4 * MIB + 512],
    [size - MIB, MIB],
  ] as const) {
    if (offset + length <= size) await handle.write(randomBytes(length), 0, length, offset);
  }
  await handle.close();
}

/** serve(), and the helper stopped when the test ends however it ends. */
const running = new Set<Awaited<ReturnType<typeof serveHelper>>["child"]>();
async function serve(program: string, args: readonly string[]) {
  const served = await serveHelper(program, args);
  running.add(served.child);
  void served.child.then(() => running.delete(served.child));
  return served;
}

function engineArgs(extra: string[] = [], password = passwordFile): string[] {
  return ["-oc", engine.apiUrl, "-op", password, "-os", STORAGE_DOMAIN, ...extra];
}

function apiCalls(method: string, pattern: RegExp) {
  return engine.calls.filter(
    (call) => call.server === "engine" && call.method === method && pattern.test(call.url),
  );
}

async function leftovers(workdir: string): Promise<string[]> {
  const result = await execa("pgrep", ["-a", "-f", workdir], { reject: false });
  return String(result.stdout)
    .split("\n")
    .filter((line) => line.trim() !== "" && !line.includes("pgrep"));
}

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "output-rhv-upload-"));
  await mkdir(path.join(dir, "engine"));
  engine = await startStandinOvirt(path.join(dir, "engine"));
  passwordFile = path.join(dir, "password");
  await writeFile(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
  sourceImage = path.join(dir, "source.img");
  await makeSource(sourceImage, DISK_SIZE);
});

after(async () => {
  for (const child of running) {
    child.kill("SIGTERM");
    await child;
  }
  await engine.close();
  await rm(dir, { recursive: true, force: true });
});

test("precheck, setup, copy, final: the disk arrives byte for byte and the VM is created", async () => {
  const workdir = await newWorkdir();
  const args = engineArgs(["-oo", `rhv-cafile=${engine.caFile}`, "-oo", "rhv-verifypeer"]);
  const firstCall = engine.calls.length;

  const precheck = await runHelper(helper, ["precheck", workdir, ...args]);
  assert.equal(precheck.exitCode, 0, String(precheck.stderr));
  assert.equal(apiCalls("POST", /\/disks$/).length, 0, "precheck creates nothing");

  const setup = await serve(helper, ["setup", workdir, ...args, "-v"]);
  const ready = setup.events.find((event) => event.event === "ready");
  assert.deepEqual(ready?.sockets, ["out0"]);

  // The password is on no command line while setup serves and the copy runs.
  const copy = execa("nbdcopy", [
    "--flush",
    "--request-size=4194304",
    sourceImage,
    `nbd+unix:///?socket=${workdir}/out0`,
  ]);
  const ps = await execa("ps", ["-eo", "args"]);
  assert.ok(!String(ps.stdout).includes(PASSWORD), "password in ps");
  await copy;

  const final = await runHelper(helper, ["final", workdir, ...args]);
  assert.equal(final.exitCode, 0, String(final.stderr));

  await writeFile(path.join(workdir, "done"), "");
  setup.child.kill("SIGTERM");
  await setup.child;

  // What the engine saw, in order: the disk, its transfer, data, finalize, the VM.
  const calls = engine.calls.slice(firstCall);
  const index = (predicate: (call: (typeof calls)[number]) => boolean) =>
    calls.findIndex(predicate);
  const createDisk = index((call) => call.method === "POST" && call.url.endsWith("/api/disks"));
  const createTransfer = index(
    (call) => call.method === "POST" && /imagetransfers$/.test(call.url),
  );
  const firstPut = index((call) => call.server === "imageio" && call.method === "PUT");
  const finalize = index((call) => /imagetransfers\/[^/]+\/finalize$/.test(call.url));
  const createVm = index(
    (call) => call.method === "POST" && /\/api\/vms\?correlation_id=/.test(call.url),
  );
  assert.ok(createDisk >= 0 && createDisk < createTransfer, "disk, then transfer");
  assert.ok(createTransfer < firstPut && firstPut < finalize && finalize < createVm);
  assert.equal(calls[createDisk]!.status, 201);
  assert.equal(calls[createDisk]!.headers?.version, "4");
  const diskBody = calls[createDisk]!.body as Record<string, unknown>;
  assert.equal(diskBody.name, "guest-000");
  assert.equal(diskBody.format, "raw");
  assert.equal(diskBody.sparse, true);
  assert.equal(diskBody.provisioned_size, String(DISK_SIZE));
  assert.equal(diskBody.initial_size, String(DISK_SIZE));
  assert.equal(diskBody.description, "Uploaded by virt-v2v");
  const diskId = String(diskBody.id);
  // Holes went as imageio zero requests, the end as a flush; no cancel, nothing removed.
  assert.ok(
    calls.some((call) => call.method === "PATCH" && (call.body as { op?: string }).op === "zero"),
  );
  assert.ok(
    calls.some((call) => call.method === "PATCH" && (call.body as { op?: string }).op === "flush"),
  );
  assert.ok(
    calls
      .filter((call) => call.method === "PUT")
      .every((call) => call.range![1] - call.range![0] < 4 * MIB),
  );
  assert.equal(
    calls.filter((call) => /cancel$/.test(call.url) || call.method === "DELETE").length,
    0,
  );

  // The stored disk is the source, byte for byte.
  assert.ok((await engine.diskContent(diskId)).equals(await readFile(sourceImage)));

  // The VM: named, in the cluster, its OVF naming the disk; the disk OK and attached.
  const vm = [...engine.vms.values()].find((candidate) => candidate.name === "guest");
  assert.ok(vm !== undefined);
  assert.deepEqual(vm.diskIds, [diskId]);
  assert.match(vm.ovf, /<Name>guest<\/Name>/);
  // The oVirt flavour: ovf:diskId is the disk's id, ovf:fileRef its volume (image) id.
  assert.match(
    vm.ovf,
    new RegExp(`ovf:diskId=.${diskId}.[^>]*ovf:fileRef=.${engine.disks.get(diskId)!.imageId}.`),
  );
  const vmBody = calls[createVm]!.body as {
    cluster: { id: string };
    initialization: { configuration: { type: string } };
  };
  assert.equal(vmBody.initialization.configuration.type, "ova");
  assert.equal(engine.disks.get(diskId)!.status, "ok");

  // Nothing secret in the -v log; nothing left running or lying about.
  const log = setup.log.join("\n");
  assert.ok(!log.includes(PASSWORD), "password in the log");
  const ticket = engine.transfers.values().next().value!.ticket;
  for (const transfer of engine.transfers.values()) {
    if (transfer.diskId === diskId) assert.ok(!log.includes(transfer.ticket), "ticket in the log");
  }
  assert.ok(ticket.length > 0);
  assert.deepEqual(await leftovers(workdir), []);
  assert.deepEqual(await readdir(path.join(workdir, "tmp")), []);
  assert.ok(!(await readdir(workdir)).includes("out0"));
});

test("a PUT failing mid-transfer: nbdcopy fails, setup stopped without done cancels and removes", async () => {
  const workdir = await newWorkdir("broken");
  const args = engineArgs();
  const firstCall = engine.calls.length;
  const putsBefore = engine.calls.filter((call) => call.method === "PUT").length;
  engine.knobs.failPutNumber = putsBefore + 3;
  try {
    const setup = await serve(helper, ["setup", workdir, ...args]);
    const copy = await execa(
      "nbdcopy",
      ["--flush", "--request-size=4194304", sourceImage, `nbd+unix:///?socket=${workdir}/out0`],
      { reject: false },
    );
    assert.notEqual(copy.exitCode, 0, "nbdcopy must fail");
    setup.child.kill("SIGTERM");
    await setup.child;
  } finally {
    delete engine.knobs.failPutNumber;
  }
  const calls = engine.calls.slice(firstCall);
  const created = calls.find((call) => call.method === "POST" && call.url.endsWith("/api/disks"));
  const diskId = String((created!.body as { id: string }).id);
  assert.ok(calls.some((call) => call.method === "PUT" && call.status === 500));
  assert.ok(
    calls.some((call) => /imagetransfers\/[^/]+\/cancel$/.test(call.url) && call.status === 200),
  );
  assert.ok(!calls.some((call) => /finalize$/.test(call.url)));
  assert.equal(engine.disks.has(diskId), false, "the disk is gone");
  assert.equal(
    [...engine.vms.values()].some((vm) => vm.name === "broken"),
    false,
  );
  assert.deepEqual(await leftovers(workdir), []);
  assert.deepEqual(await readdir(path.join(workdir, "tmp")), []);
});

test("setup stopped before the copy (no done): the transfer is cancelled, the disk deleted", async () => {
  const workdir = await newWorkdir("stopped", 8 * MIB);
  const disksBefore = engine.disks.size;
  const setup = await serve(helper, ["setup", workdir, ...engineArgs()]);
  assert.equal(engine.disks.size, disksBefore + 1);
  setup.child.kill("SIGTERM");
  await setup.child;
  assert.equal(engine.disks.size, disksBefore);
  assert.deepEqual(await leftovers(workdir), []);
});

test("a wrong password: precheck fails in one clear line, nothing is created", async () => {
  const workdir = await newWorkdir();
  const wrong = path.join(dir, "wrong-password");
  await writeFile(wrong, "not the password\n");
  const firstCall = engine.calls.length;
  const result = await runHelper(helper, ["precheck", workdir, ...engineArgs([], wrong)]);
  assert.equal(result.exitCode, 1);
  const lines = String(result.stderr).trim().split("\n");
  assert.equal(lines.length, 1, String(result.stderr));
  assert.match(
    lines[0]!,
    /^helper-v2v-output-rhv-upload: error: cannot log in to the oVirt or RHV server 127\.0\.0\.1:\d+ as admin@internal: Cannot authenticate user 'admin@internal': The username or password is incorrect/,
  );
  assert.ok(!String(result.stderr).includes("not the password"));
  const calls = engine.calls.slice(firstCall);
  assert.deepEqual(
    calls.map((call) => `${call.method} ${call.url} ${call.status}`),
    [`POST /ovirt-engine/sso/oauth/token 400`],
  );
});

test("precheck's clear lines: storage domain, cluster, VM name, disk UUIDs", async () => {
  const workdir = await newWorkdir();
  const refused = async (extra: string[], message: RegExp, storage = STORAGE_DOMAIN) => {
    const args = ["-oc", engine.apiUrl, "-op", passwordFile, "-os", storage, ...extra];
    const result = await runHelper(helper, ["precheck", workdir, ...args]);
    assert.equal(result.exitCode, 1, `${extra.join(" ")}: ${String(result.stderr)}`);
    const lines = String(result.stderr).trim().split("\n");
    assert.equal(lines.length, 1, String(result.stderr));
    assert.match(lines[0]!, message);
  };
  const disksBefore = engine.disks.size;
  await refused([], /error: The storage domain ‘nosuch’ does not exist$/, "nosuch");
  await refused(
    [],
    /error: The storage domain ‘unattached’ is not attached to a DC$/,
    UNATTACHED_DOMAIN,
  );
  await refused(
    ["-oo", `rhv-cluster=${OTHER_CLUSTER}`],
    /error: The cluster ‘Other’ is not part of the DC ‘Default’, where the storage domain ‘data’ is$/,
  );
  await refused(
    ["-on", EXISTING_VM],
    /error: VM already exists with name ‘existing-vm’, id ‘[-0-9a-f]+’$/,
  );
  await refused(
    ["-oo", `rhv-disk-uuid=${EXISTING_DISK}`],
    new RegExp(`error: Disk with the UUID '${EXISTING_DISK}' already exists$`),
  );
  await refused(
    [
      "-oo",
      "rhv-disk-uuid=11111111-2222-3333-4444-555555555555",
      "-oo",
      "rhv-disk-uuid=11111111-2222-3333-4444-666666666666",
    ],
    /error: the number of ‘-oo rhv-disk-uuid’ parameters passed on the command line has to match the number of guest disk images \(for this guest: 1\)$/,
  );
  await refused(
    ["-oo", "rhv-cafile=/nonexistent/ca.pem"],
    /error: -oo rhv-cafile \/nonexistent\/ca.pem: cannot read it \(ENOENT\)$/,
  );
  // With the certificate checked against the wrong CA (the system's), the TLS error is clear.
  await refused(
    ["-oo", "rhv-verifypeer"],
    /error: cannot connect to the oVirt or RHV server 127\.0\.0\.1:\d+: /,
  );
  assert.equal(engine.disks.size, disksBefore, "no disk was created");
  assert.equal(CLUSTER, "Default");
});

test("-oo rhv-proxy, -of qcow2, -oa preallocated, -on, -oo rhv-disk-uuid; password not in a -v log", async () => {
  const size = 8 * MIB;
  const source = path.join(dir, "small.img");
  await makeSource(source, size);
  const workdir = await newWorkdir("source-name", size);
  const uuid = "3f1e2d3c-4b5a-4968-8776-655443322110";
  const args = engineArgs([
    "-oo",
    "rhv-proxy",
    "-of",
    "qcow2",
    "-oa",
    "preallocated",
    "-on",
    "renamed",
    "-oo",
    `rhv-disk-uuid=${uuid}`,
    "-v",
  ]);
  const firstCall = engine.calls.length;
  const setup = await serve(helper, ["setup", workdir, ...args]);
  await execa("nbdcopy", [
    "--flush",
    "--request-size=4194304",
    source,
    `nbd+unix:///?socket=${workdir}/out0`,
  ]);
  const final = await runHelper(helper, ["final", workdir, ...args]);
  assert.equal(final.exitCode, 0, String(final.stderr));
  await writeFile(path.join(workdir, "done"), "");
  setup.child.kill("SIGTERM");
  await setup.child;
  const calls = engine.calls.slice(firstCall);
  const diskBody = calls.find((call) => call.method === "POST" && call.url.endsWith("/api/disks"))!
    .body as Record<string, unknown>;
  assert.equal(diskBody.id, uuid);
  assert.equal(diskBody.name, "renamed-000");
  assert.equal(diskBody.format, "cow");
  assert.equal(diskBody.sparse, false);
  const transferBody = calls.find(
    (call) => call.method === "POST" && /imagetransfers$/.test(call.url),
  )!.body as Record<string, unknown>;
  assert.equal(transferBody.format, "raw");
  assert.equal(transferBody.direction, "upload");
  // The data went through the engine's imageio proxy, not the host's daemon.
  assert.ok(calls.some((call) => call.server === "proxy" && call.method === "PUT"));
  assert.ok(!calls.some((call) => call.server === "imageio"));
  assert.ok((await engine.diskContent(uuid)).equals(await readFile(source)));
  const vms = [...engine.vms.values()].map((vm) => ({ name: vm.name, disks: vm.diskIds }));
  assert.ok(
    vms.some((vm) => vm.name === "renamed" && vm.disks[0] === uuid),
    JSON.stringify(vms),
  );
  const logs = `${setup.log.join("\n")}\n${String(final.stderr)}`;
  assert.match(logs, /POST \/ovirt-engine\/sso\/oauth\/token \(user admin@internal\)/);
  assert.ok(!logs.includes(PASSWORD), "password in a -v log");
  assert.ok(!logs.includes(engine.transfers.values().next().value!.ticket));
  assert.deepEqual(await leftovers(workdir), []);
});

test("final fails (the import job fails): the VM is removed, then setup's clean-up removes the disk", async () => {
  const size = 4 * MIB;
  const source = path.join(dir, "tiny.img");
  await makeSource(source, size);
  const workdir = await newWorkdir("doomed", size);
  const args = engineArgs();
  const setup = await serve(helper, ["setup", workdir, ...args]);
  await execa("nbdcopy", [
    "--flush",
    "--request-size=4194304",
    source,
    `nbd+unix:///?socket=${workdir}/out0`,
  ]);
  engine.knobs.jobStatus = "failed";
  try {
    const final = await runHelper(helper, ["final", workdir, ...args]);
    assert.equal(final.exitCode, 1);
    assert.match(
      String(final.stderr),
      /error: Failed to create a VM! Failed jobs: \(Adding VM doomed, failed\)/,
    );
  } finally {
    delete engine.knobs.jobStatus;
  }
  assert.equal(
    [...engine.vms.values()].some((vm) => vm.name === "doomed"),
    false,
    "VM removed",
  );
  setup.child.kill("SIGTERM");
  await setup.child;
  assert.equal(
    [...engine.disks.values()].some((disk) => disk.name === "doomed-000"),
    false,
  );
  assert.deepEqual(await leftovers(workdir), []);
});
