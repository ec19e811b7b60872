/**
 * helper-v2v-output-libvirt against a real libvirtd (its qemu and storage drivers), one of the
 * test's own (private-libvirtd.ts: a session daemon in a temporary directory, never the host's
 * libvirt), stage by stage as the supervisor runs it, with a converted guest's metadata written
 * by hand (no conversion). Real nbdkit, qemu-nbd and nbdcopy serve and fill the disks.
 */
import { after, before, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { access, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { LibvirtConnection, findPool, findVolume } from "@split-v2v/libvirt";
import {
  convertedWindowsGuest,
  runHelper,
  serve,
  serversMentioning,
  writeConvertedGuest,
} from "@split-v2v/helper-test-kit";
import { startPrivateLibvirtd, type PrivateLibvirtd } from "./private-libvirtd.js";

const helper = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "src", "cli.js");
const MiB = 1024 * 1024;
const POOL = "v2v";

let daemon: PrivateLibvirtd | string = "not started";
let poolDirectory = "";

before(async () => {
  daemon = await startPrivateLibvirtd();
  if (typeof daemon === "string") return;
  poolDirectory = path.join(daemon.dir, "pool");
  await mkdir(poolDirectory);
  await virsh("pool-create-as", POOL, "dir", "--target", poolDirectory);
});

after(async () => {
  if (typeof daemon !== "string") await daemon.stop();
});

/** The running daemon, or the test skipped with the reason it is not there. */
function privateDaemon(t: TestContext): PrivateLibvirtd | null {
  if (typeof daemon === "string") {
    t.skip(`no private libvirtd: ${daemon}`);
    return null;
  }
  return daemon;
}

async function virsh(...args: string[]): Promise<string> {
  if (typeof daemon === "string") throw new Error("no daemon");
  const result = await execa("virsh", ["-q", "-c", daemon.uri, ...args]);
  return String(result.stdout);
}

function withConnection<T>(uri: string, use: (connection: LibvirtConnection) => T): T {
  const connection = LibvirtConnection.open(uri);
  try {
    return use(connection);
  } finally {
    connection.close();
  }
}

async function workdirFor(t: TestContext, diskSizes: number[], name: string) {
  const dir = await mkdtemp(path.join(os.tmpdir(), "output-libvirt-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const workdir = await mkdtemp(path.join(dir, "work-"));
  await writeConvertedGuest(workdir, convertedWindowsGuest(diskSizes, name));
  return { dir, workdir };
}

function warningsOf(events: Array<Record<string, unknown>>): string[] {
  return events.filter((event) => event.event === "warning").map((event) => String(event.text));
}

function eventsOf(stdout: unknown): Array<Record<string, unknown>> {
  return String(stdout)
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

test("-o libvirt: the guest is defined in libvirt, its disks the pool's volumes; a second run is refused", async (t) => {
  const libvirtd = privateDaemon(t);
  if (libvirtd === null) return;
  const name = "libvirt-guest";
  const { dir, workdir } = await workdirFor(t, [32 * MiB, 16 * MiB], name);
  const source = path.join(dir, "source.img");
  await execa("qemu-img", ["create", "-q", "-f", "raw", source, "32M"]);
  await execa("qemu-io", ["-f", "raw", "-c", "write -P 0x5a 3M 5M", source]);
  const poolUuid = (await virsh("pool-uuid", POOL)).trim();
  // -os by UUID: the domain must still name the pool by its name.
  const options = ["-oc", libvirtd.uri, "-os", poolUuid, "-of", "qcow2"];

  const precheck = await runHelper(helper, ["precheck", workdir, ...options]);
  assert.equal(precheck.exitCode, 0, String(precheck.stderr));
  assert.deepEqual(await readdir(poolDirectory), [], "precheck creates nothing");
  const setup = await serve(helper, ["setup", workdir, ...options]);
  let stopped = false;
  t.after(() => {
    if (!stopped) setup.child.kill("SIGTERM");
  });
  assert.deepEqual(setup.events.at(-1), { event: "ready", sockets: ["out0", "out1"] });
  assert.deepEqual((await readdir(poolDirectory)).sort(), [`${name}-sda`, `${name}-sdb`]);
  await execa("nbdcopy", [source, `nbd+unix:///?socket=${path.join(workdir, "out0")}`]);
  const final = await runHelper(helper, ["final", workdir, ...options]);
  assert.equal(final.exitCode, 0, String(final.stderr));
  assert.deepEqual(
    warningsOf(eventsOf(final.stdout)),
    libvirtd.kvm ? [] : ["the target hypervisor does not support a x86_64 KVM guest"],
  );
  await writeFile(path.join(workdir, "done"), "");
  setup.child.kill("SIGTERM");
  stopped = true;
  assert.equal((await setup.child).exitCode, 0);
  assert.deepEqual(await serversMentioning(workdir), [], "no server left");

  // The domain, as libvirt has it now.
  const xml = withConnection(libvirtd.uri, (connection) => {
    const domain = connection.lookupDomainByName(name);
    try {
      assert.equal(domain.state(), "shutoff");
      return domain.xml({ secure: false });
    } finally {
      domain.free();
    }
  });
  const xmlFile = path.join(dir, "dumped.xml");
  await writeFile(xmlFile, xml);
  await execa("virt-xml-validate", [xmlFile, "domain"]);
  assert.match(xml, /<domain type='kvm'>/);
  for (const [letter, target] of [
    ["a", "vda"],
    ["b", "vdb"],
  ] as const) {
    assert.match(
      xml,
      new RegExp(
        `<disk type='volume' device='disk'>\\s*<driver name='qemu' type='qcow2'/>\\s*` +
          `<source pool='${POOL}' volume='${name}-sd${letter}'/>\\s*<target dev='${target}' bus='virtio'/>`,
      ),
    );
  }
  if (libvirtd.kvm) {
    // The features of the capabilities' x86_64 KVM guest that the guest uses.
    assert.match(xml, /<features>\s*<acpi\/>\s*<apic\/>\s*<\/features>/);
  }

  // Its disks are the pool's volumes (the pool was refreshed), holding what was copied.
  const volumePaths = withConnection(libvirtd.uri, (connection) => {
    const pool = findPool(connection, POOL);
    try {
      return ["a", "b"].map((letter) => {
        const volume = findVolume(pool, `${name}-sd${letter}`);
        try {
          return volume.path;
        } finally {
          volume.free();
        }
      });
    } finally {
      pool.free();
    }
  });
  assert.deepEqual(volumePaths, [
    path.join(poolDirectory, `${name}-sda`),
    path.join(poolDirectory, `${name}-sdb`),
  ]);
  await execa("qemu-img", ["compare", "-f", "raw", "-F", "qcow2", source, volumePaths[0]!]);
  assert.match(await virsh("vol-list", POOL), new RegExp(`${name}-sdb`));

  // The same guest again: refused before anything is converted or created.
  const again = await workdirFor(t, [32 * MiB, 16 * MiB], name);
  const before = (await readdir(poolDirectory)).sort();
  for (const stage of ["precheck", "setup"]) {
    const refused = await runHelper(helper, [stage, again.workdir, ...options]);
    assert.equal(refused.exitCode, 1, stage);
    assert.match(
      String(refused.stderr),
      new RegExp(
        `error: a libvirt domain called ‘${name}’ already exists on the target\\.\\n\\n` +
          "If using virt-v2v directly, use the ‘-on’ option to select a different name\\.",
      ),
    );
  }
  assert.deepEqual((await readdir(poolDirectory)).sort(), before);
  assert.deepEqual((await readdir(again.workdir)).sort(), ["metadata.in", "metadata.out"]);
  // With another name (-on) it goes ahead.
  const renamed = await runHelper(helper, [
    "precheck",
    again.workdir,
    ...options,
    "-on",
    `${name}-2`,
  ]);
  assert.equal(renamed.exitCode, 0, String(renamed.stderr));
});

test("-o libvirt: a run that does not finish leaves no disk, no volume and no domain", async (t) => {
  const libvirtd = privateDaemon(t);
  if (libvirtd === null) return;
  const name = "unfinished";
  const { workdir } = await workdirFor(t, [8 * MiB], name);
  const options = ["-oc", libvirtd.uri, "-os", POOL];
  const setup = await serve(helper, ["setup", workdir, ...options]);
  let stopped = false;
  t.after(() => {
    if (!stopped) setup.child.kill("SIGTERM");
  });
  const disk = path.join(poolDirectory, `${name}-sda`);
  assert.ok(await exists(disk));
  // final defines the domain, but the run never gets its done marker.
  const final = await runHelper(helper, ["final", workdir, ...options]);
  assert.equal(final.exitCode, 0, String(final.stderr));
  assert.equal(
    withConnection(libvirtd.uri, (connection) => connection.domainExists(name)),
    true,
  );
  setup.child.kill("SIGTERM");
  stopped = true;
  await setup.child;
  assert.equal(await exists(disk), false);
  withConnection(libvirtd.uri, (connection) => {
    assert.equal(connection.domainExists(name), false);
    const pool = findPool(connection, POOL);
    try {
      assert.throws(
        () => findVolume(pool, `${name}-sda`),
        /cannot find libvirt volume ‘unfinished-sda’/,
      );
    } finally {
      pool.free();
    }
  });
});

test("-o libvirt refuses a pool that is not a directory pool, and one that does not exist", async (t) => {
  const libvirtd = privateDaemon(t);
  if (libvirtd === null) return;
  const { dir, workdir } = await workdirFor(t, [8 * MiB], "pool-checks");
  // Defined, not started: virt-v2v reads its XML only.
  await virsh("pool-define-as", "fspool", "fs", "--source-dev", "/dev/null", "--target", dir);
  await virsh("pool-define-as", "gone", "dir", "--target", path.join(dir, "gone"));
  t.after(async () => {
    await virsh("pool-undefine", "fspool");
    await virsh("pool-undefine", "gone");
  });
  const cases: Array<[string[], RegExp]> = [
    [
      ["-os", "fspool"],
      /error: -o libvirt: output pool ‘fspool’ is not a directory \(type='dir'\)\.  See virt-v2v-output-local\(1\)$/m,
    ],
    [
      ["-os", "gone"],
      /error: -o libvirt: output pool ‘gone’ has type='dir' but the \/pool\/target\/path element is not a local directory\.  See virt-v2v-output-local\(1\)$/m,
    ],
    [
      ["-os", "nosuch"],
      /error: cannot find libvirt pool ‘nosuch’: Storage pool not found: no storage pool with matching name 'nosuch'\n\nUse ‘virsh pool-list --all’/,
    ],
    // No -os: the pool called "default", which this daemon does not have.
    [[], /error: cannot find libvirt pool ‘default’: /],
  ];
  for (const [options, message] of cases) {
    const result = await runHelper(helper, ["setup", workdir, "-oc", libvirtd.uri, ...options]);
    assert.equal(result.exitCode, 1, options.join(" "));
    assert.match(String(result.stderr), message, options.join(" "));
  }
  assert.deepEqual((await readdir(workdir)).sort(), ["metadata.in", "metadata.out"]);
});
