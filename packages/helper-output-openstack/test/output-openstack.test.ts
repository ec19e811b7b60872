/**
 * helper-v2v-output-openstack stage by stage, with a STAND-IN `openstack` program on $PATH (see
 * standin-openstack.ts: the real client needs an OpenStack cloud, and this helper a VM in it)
 * that logs every call and keeps pretend volumes whose "attached devices" are plain files or
 * loop devices linked from a stand-in /dev/disk/by-id, as upstream's test-v2v-o-openstack.sh
 * does with `touch $d/dummy-vol-id`. A converted guest's metadata is written by hand (no
 * conversion); real nbdkit serves the devices and real nbdcopy fills them.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  access,
  mkdtemp,
  open,
  readFile,
  readdir,
  readlink,
  rm,
  stat,
  writeFile,
} from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { outputStatePath } from "@split-v2v/common";
import {
  convertedWindowsGuest,
  runHelper,
  serve,
  serversMentioning,
  writeConvertedGuest,
} from "@split-v2v/helper-test-kit";
import { standinOpenstack } from "./standin-openstack.js";

const helper = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "src", "cli.js");
const MiB = 1024 * 1024;
const GENID = "f5a8a2c4-3a6b-4c1d-9e2f-0a1b2c3d4e5f";
const ID1 = "5tand1n1-0000-4000-8000-000000000001";
const ID2 = "5tand1n2-0000-4000-8000-000000000002";

/** The properties 2.2 computes for helper-test-kit's converted Windows 10 guest. */
const WINDOWS_IMAGE_PROPERTIES = [
  "architecture=x86_64",
  "hypervisor_type=kvm",
  "vm_mode=hvm",
  "hw_disk_bus=virtio",
  "hw_vif_model=virtio",
  "hw_video_model=vga",
  "hw_machine_type=q35",
  "os_type=windows",
  "os_distro=windows",
  "hw_cpu_sockets=1",
  "hw_cpu_cores=2",
  "hw_cpu_threads=1",
  "os_version=10",
  "hw_rng_model=virtio",
];

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

/** A raw source disk of `size` bytes with a pattern at 4 MiB, and the stand-in and work dir. */
async function setUp(dir: string, diskSizes: readonly number[]) {
  const openstack = await standinOpenstack(path.join(dir, "openstack"));
  const workdir = await mkdtemp(path.join(dir, "work-"));
  const guest = convertedWindowsGuest(diskSizes, "win10-guest");
  guest.metadataIn.source.genid = GENID;
  await writeConvertedGuest(workdir, guest);
  const sources: string[] = [];
  for (const [index, size] of diskSizes.entries()) {
    const source = path.join(dir, `source${index}.img`);
    await execa("qemu-img", ["create", "-q", "-f", "raw", source, String(size)]);
    await execa("qemu-io", ["-f", "raw", "-c", `write -P 0x${31 + index} 4M 1M`, source]);
    sources.push(source);
  }
  return { openstack, workdir, sources };
}

/** The lines of a failed helper's stderr that carry its error. */
function errorLines(stderr: unknown): string[] {
  return String(stderr)
    .split("\n")
    .filter((line) => line.includes("error:"));
}

test("-o openstack: volumes created, attached, written, made bootable with the image properties, detached", async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "output-openstack-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const { openstack, workdir, sources } = await setUp(dir, [32 * MiB, 16 * MiB]);
  const env = openstack.env();
  const options = [
    "-on",
    "test",
    "-os",
    "fast",
    "-oc",
    "https://keystone.example:5000/v3",
    "-oo",
    "server-id=test",
    "-oo",
    "guest-id=guestid",
    "-oo",
    "verify-server-certificate=false",
    "-oo",
    `dev-disk-by-id=${openstack.byIdDir}`,
    "-oo",
    "os-username=admin",
  ];

  const precheck = await runHelper(helper, ["precheck", workdir, ...options], { env });
  assert.equal(precheck.exitCode, 0, String(precheck.stderr));
  const setup = await serve(helper, ["setup", workdir, ...options], { env });
  let stopped = false;
  t.after(() => {
    if (!stopped) setup.child.kill("SIGTERM");
  });
  assert.deepEqual(setup.events.at(-1), { event: "ready", sockets: ["out0", "out1"] });
  // The volumes are attached while the copy runs.
  assert.deepEqual((await readdir(openstack.byIdDir)).sort(), [
    `virtio-${ID1.slice(0, 20)}`,
    `virtio-${ID2.slice(0, 20)}`,
  ]);
  for (const [index, source] of sources.entries()) {
    await execa("nbdcopy", [
      "--flush",
      source,
      `nbd+unix:///?socket=${path.join(workdir, `out${index}`)}`,
    ]);
  }
  const final = await runHelper(helper, ["final", workdir, ...options], { env });
  assert.equal(final.exitCode, 0, String(final.stderr));
  await writeFile(path.join(workdir, "done"), "");
  setup.child.kill("SIGTERM");
  stopped = true;
  assert.equal((await setup.child).exitCode, 0);
  assert.deepEqual(await serversMentioning(workdir), [], "no server left");

  const calls = await openstack.calls();
  const global = [
    "--os-username=admin",
    "--os-auth-url=https://keystone.example:5000/v3",
    "--insecure",
  ];
  const date = calls.flat().find((word) => word.startsWith("virt_v2v_conversion_date="));
  assert.match(date ?? "", /^virt_v2v_conversion_date=\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d$/);
  const volumeProperties = (index: number) => [
    "--property",
    "virt_v2v_version=2.2.0-split-v2v",
    "--property",
    date!,
    "--property",
    "virt_v2v_guest_name=test",
    "--property",
    `virt_v2v_disk_index=${index}/2`,
    "--property",
    `virt_v2v_vm_generation_id=${GENID}`,
    "--property",
    "virt_v2v_guest_id=guestid",
  ];
  const create = (name: string) => [
    "volume",
    "create",
    "-f",
    "json",
    "--size",
    "1",
    "--description",
    "virt-v2v temporary volume for test",
    "--type",
    "fast",
    name,
  ];
  assert.deepEqual(
    calls,
    [
      ["token", "issue"],
      create("test-sda"),
      ["volume", "show", "-f", "json", ID1],
      create("test-sdb"),
      ["volume", "show", "-f", "json", ID2],
      ["server", "add", "volume", "test", ID1],
      ["server", "add", "volume", "test", ID2],
      [
        "volume",
        "set",
        "--bootable",
        ...WINDOWS_IMAGE_PROPERTIES.flatMap((property) => ["--image-property", property]),
        ID1,
      ],
      [
        "volume",
        "set",
        "--description",
        "test disk 1/2 converted by virt-v2v",
        ...volumeProperties(1),
        ID1,
      ],
      [
        "volume",
        "set",
        "--description",
        "test disk 2/2 converted by virt-v2v",
        ...volumeProperties(2),
        ID2,
      ],
      ["server", "remove", "volume", "test", ID1],
      ["server", "remove", "volume", "test", ID2],
    ].map((args) => [...global, ...args]),
  );
  // What upstream's test-v2v-o-openstack.sh greps for in its fake's log.
  const log = calls.map((args) => args.join(" "));
  for (const pattern of [
    /token issue/,
    /volume create.*size 1.*temporary volume.*test-sda/,
    /server add volume/,
    /volume set.*--bootable.*5tand1n1/,
    /volume set.*--property.*virt_v2v_guest_id=guestid/,
    /server remove volume/,
    /--insecure/,
  ]) {
    assert.ok(
      log.some((line) => pattern.test(line)),
      `${pattern} in the log`,
    );
  }

  // The volumes stay (detached), holding the copied disks, byte for byte.
  assert.deepEqual(await readdir(openstack.byIdDir), []);
  assert.deepEqual(Object.keys(await openstack.volumes()).sort(), [ID1, ID2]);
  for (const [index, id] of [ID1, ID2].entries()) {
    const volume = await readFile(path.join(openstack.cinderDir, id));
    assert.ok(volume.equals(await readFile(sources[index]!)), `volume ${id} holds disk ${index}`);
  }
  const state = JSON.parse(await readFile(outputStatePath(workdir), "utf8")) as {
    volumes: Array<{ id: string }>;
  };
  assert.deepEqual(
    state.volumes.map((volume) => volume.id),
    [ID1, ID2],
  );
});

test("-o openstack: an attach that fails detaches and deletes every volume created, in one error line", async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "output-openstack-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const { openstack, workdir } = await setUp(dir, [8 * MiB, 8 * MiB]);
  const options = ["-oo", "server-id=appliance", "-oo", `dev-disk-by-id=${openstack.byIdDir}`];
  const setup = await runHelper(helper, ["setup", workdir, ...options], {
    env: openstack.env({ fail: "server add volume#2" }),
  });
  assert.equal(setup.exitCode, 1);
  assert.deepEqual(errorLines(setup.stderr), [
    "helper-v2v-output-openstack: error: openstack: failed to attach cinder volume to VM, see earlier error messages: Injected failure of server add volume (HTTP 500) (Request-ID: req-standin)",
  ]);
  // The client's own message is in the log, as 2.2 lets it through.
  assert.match(String(setup.stderr), /openstack: Injected failure of server add volume/);
  assert.deepEqual(await openstack.calls(), [
    [
      "volume",
      "create",
      "-f",
      "json",
      "--size",
      "1",
      "--description",
      "virt-v2v temporary volume for win10-guest",
      "win10-guest-sda",
    ],
    ["volume", "show", "-f", "json", ID1],
    [
      "volume",
      "create",
      "-f",
      "json",
      "--size",
      "1",
      "--description",
      "virt-v2v temporary volume for win10-guest",
      "win10-guest-sdb",
    ],
    ["volume", "show", "-f", "json", ID2],
    ["server", "add", "volume", "appliance", ID1],
    ["server", "add", "volume", "appliance", ID2],
    ["server", "remove", "volume", "appliance", ID1],
    ["server", "remove", "volume", "appliance", ID2],
    // Deleted once out of "in-use" (the stand-in detaches at once).
    ["volume", "show", "-f", "json", ID1],
    ["volume", "delete", ID1],
    ["volume", "show", "-f", "json", ID2],
    ["volume", "delete", ID2],
  ]);
  assert.deepEqual(await openstack.volumes(), {});
  assert.deepEqual(await readdir(openstack.cinderDir), []);
  assert.deepEqual(await readdir(openstack.byIdDir), []);
  assert.equal(await exists(outputStatePath(workdir)), false);
  assert.deepEqual(await serversMentioning(workdir), []);
});

test("-o openstack: a volume that fails to be created stops setup; the ones before it are deleted", async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "output-openstack-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const { openstack, workdir } = await setUp(dir, [8 * MiB, 8 * MiB]);
  const setup = await runHelper(helper, ["setup", workdir, "-oo", "server-id=appliance"], {
    env: openstack.env({ fail: "volume create -f#2" }),
  });
  assert.equal(setup.exitCode, 1);
  assert.deepEqual(errorLines(setup.stderr), [
    "helper-v2v-output-openstack: error: openstack: failed to create a cinder volume, see earlier error messages: Injected failure of volume create -f (HTTP 500) (Request-ID: req-standin)",
  ]);
  const calls = await openstack.calls();
  assert.deepEqual(calls.slice(-2), [
    [
      "volume",
      "create",
      "-f",
      "json",
      "--size",
      "1",
      "--description",
      "virt-v2v temporary volume for win10-guest",
      "win10-guest-sdb",
    ],
    // Never attached: deleted at once.
    ["volume", "delete", ID1],
  ]);
  assert.deepEqual(await openstack.volumes(), {});
});

test("-o openstack: a final stage that fails leaves the run undone: setup deletes the volumes when stopped", async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "output-openstack-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const { openstack, workdir, sources } = await setUp(dir, [8 * MiB]);
  const options = ["-oo", "server-id=appliance", "-oo", `dev-disk-by-id=${openstack.byIdDir}`];
  const setup = await serve(helper, ["setup", workdir, ...options], { env: openstack.env() });
  let stopped = false;
  t.after(() => {
    if (!stopped) setup.child.kill("SIGTERM");
  });
  await execa("nbdcopy", [
    "--flush",
    sources[0]!,
    `nbd+unix:///?socket=${path.join(workdir, "out0")}`,
  ]);
  const final = await runHelper(helper, ["final", workdir, ...options], {
    env: openstack.env({ fail: "volume set --description" }),
  });
  assert.equal(final.exitCode, 1);
  assert.deepEqual(errorLines(final.stderr), [
    "helper-v2v-output-openstack: error: openstack: failed to set image properties on cinder volume, see earlier error messages: Injected failure of volume set --description (HTTP 500) (Request-ID: req-standin)",
  ]);
  // No WORKDIR/done: the supervisor stops setup, which takes everything back.
  setup.child.kill("SIGTERM");
  stopped = true;
  assert.equal((await setup.child).exitCode, 0);
  const calls = await openstack.calls();
  assert.deepEqual(calls.slice(-3), [
    ["server", "remove", "volume", "appliance", ID1],
    ["volume", "show", "-f", "json", ID1],
    ["volume", "delete", ID1],
  ]);
  assert.deepEqual(await openstack.volumes(), {});
  assert.deepEqual(await readdir(openstack.cinderDir), []);
  assert.deepEqual(await readdir(openstack.byIdDir), []);
  assert.deepEqual(await serversMentioning(workdir), []);
});

async function canUseLoopDevices(): Promise<boolean> {
  if (process.getuid?.() !== 0) return false;
  return (await execa("losetup", ["-f"], { reject: false })).exitCode === 0;
}

test("-o openstack: the attached volume is a block device (a loop device), written through nbdkit", async (t) => {
  if (!(await canUseLoopDevices())) {
    t.skip(
      "a loop device stands for the attached Cinder volume here, and making one needs root and a free /dev/loopN (losetup -f); the plain-file volume tests above still run",
    );
    return;
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), "output-openstack-"));
  const { openstack, workdir, sources } = await setUp(dir, [8 * MiB]);
  t.after(async () => {
    for (const volume of Object.values(await openstack.volumes()))
      if (volume.loop !== "") await execa("losetup", ["-d", volume.loop], { reject: false });
    await rm(dir, { recursive: true, force: true });
  });
  // A volume that is "creating" at first: setup polls until it is available.
  const env = openstack.env({ loop: true, creatingOnce: true });
  const options = ["-oo", "server-id=appliance", "-oo", `dev-disk-by-id=${openstack.byIdDir}`];
  const setup = await serve(helper, ["setup", workdir, ...options], { env });
  let stopped = false;
  t.after(() => {
    if (!stopped) setup.child.kill("SIGTERM");
  });
  const [link] = await readdir(openstack.byIdDir);
  const device = path.resolve(
    openstack.byIdDir,
    await readlink(path.join(openstack.byIdDir, link!)),
  );
  assert.ok((await stat(device)).isBlockDevice(), `${device} is a block device`);
  await execa("nbdcopy", [
    "--flush",
    sources[0]!,
    `nbd+unix:///?socket=${path.join(workdir, "out0")}`,
  ]);
  const final = await runHelper(helper, ["final", workdir, ...options], { env });
  assert.equal(final.exitCode, 0, String(final.stderr));
  await writeFile(path.join(workdir, "done"), "");
  setup.child.kill("SIGTERM");
  stopped = true;
  assert.equal((await setup.child).exitCode, 0);
  assert.deepEqual((await openstack.calls()).slice(0, 4), [
    [
      "volume",
      "create",
      "-f",
      "json",
      "--size",
      "1",
      "--description",
      "virt-v2v temporary volume for win10-guest",
      "win10-guest-sda",
    ],
    ["volume", "show", "-f", "json", ID1],
    ["volume", "show", "-f", "json", ID1],
    ["server", "add", "volume", "appliance", ID1],
  ]);
  // The device keeps its size (1 GiB); the disk's bytes are at its start.
  const backing = path.join(openstack.cinderDir, ID1);
  assert.equal((await stat(backing)).size, 1024 * MiB);
  const handle = await open(backing);
  try {
    const start = Buffer.alloc(8 * MiB);
    await handle.read(start, 0, start.length, 0);
    assert.ok(start.equals(await readFile(sources[0]!)));
  } finally {
    await handle.close();
  }
  assert.deepEqual(await readdir(openstack.byIdDir), []);
});

test("-o openstack refuses bad options in 2.2's words, in one line, before any volume is made", async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "output-openstack-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const { openstack, workdir } = await setUp(dir, [8 * MiB]);
  const server = ["-oo", "server-id=appliance"];
  const cases: Array<[string[], RegExp, NodeJS.ProcessEnv?]> = [
    [
      [...server, "-oa", "foo"],
      /-oa foo: unknown output allocation mode; use -oa sparse or -oa preallocated$/,
    ],
    [[...server, "-of", "qcow2"], /: -o openstack mode only supports -oa sparse -of raw$/],
    [[...server, "-oa", "preallocated"], /: -o openstack mode only supports -oa sparse -of raw$/],
    [[...server, "-oo", "colour=red"], /: -o openstack: unknown output option ‘-oo colour’$/],
    [
      [...server, "-oo", "verify-server-certificate=maybe"],
      /: -o openstack: -oo verify-server-certificate=maybe: the value must be true or false$/,
    ],
    [["-oo", "guest-id=x"], /: openstack: -oo server-id=<NAME\|UUID> not present$/],
    [
      server,
      /: the ‘openstack’ program is not available\. {2}It is needed to communicate with OpenStack\.$/,
      { PATH: "/usr/bin:/bin" },
    ],
  ];
  for (const [options, message, env] of cases) {
    const result = await runHelper(helper, ["precheck", workdir, ...options], {
      env: { ...openstack.env(), ...env },
    });
    assert.equal(result.exitCode, 1, options.join(" "));
    const errors = errorLines(result.stderr);
    assert.equal(errors.length, 1, String(result.stderr));
    assert.match(errors[0]!, message);
  }
  assert.deepEqual(await openstack.calls(), [], "the client was never run");

  // Credentials that do not work: the precheck's token request fails.
  const result = await runHelper(
    helper,
    ["precheck", workdir, ...server, "-oo", "os-password=secret"],
    {
      env: openstack.env({ fail: "token issue" }),
    },
  );
  assert.equal(result.exitCode, 1);
  assert.deepEqual(errorLines(result.stderr), [
    "helper-v2v-output-openstack: error: openstack: precheck failed, there may be a problem with authentication, see earlier error messages: Injected failure of token issue (HTTP 500) (Request-ID: req-standin)",
  ]);
  assert.deepEqual(await openstack.calls(), [["--os-password=secret", "token", "issue"]]);
  assert.doesNotMatch(String(result.stderr), /secret/, "the global options are never logged");
  assert.deepEqual(await openstack.volumes(), {});
});
