/**
 * helper-v2v-output-libvirt against libvirt's test driver (test:///PATH/node.xml: pools and
 * domains described in a file, no daemon): the precheck's refusals in 2.2's words and order, and
 * a whole run whose domain libvirt refuses, so that 2.2's warning and its kept XML (checked with
 * virt-xml-validate) are seen. Each connection to such a URI reads the file afresh, so what one
 * stage defines is gone for the next; the daemon test (output-libvirt-libvirtd.test.ts) checks
 * the domain that stays.
 */
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import {
  convertedWindowsGuest,
  escapeRegExp,
  runHelper,
  serve,
  serversMentioning,
  writeConvertedGuest,
} from "@split-v2v/helper-test-kit";

const helper = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "src", "cli.js");
const MiB = 1024 * 1024;
const POOL_UUID = "6d1f3c0e-8a52-4b1e-9d0e-2c3b4a5d6e7f";

/** A node with a directory pool on `poolDirectory`, two pools that will not do, and a domain. */
function nodeXml(poolDirectory: string, extraDomain = ""): string {
  return `<node>
  <domain type='test'>
    <name>existing</name>
    <memory>1048576</memory>
    <os><type>hvm</type></os>
  </domain>
  ${extraDomain}
  <pool type='dir'>
    <name>dirpool</name>
    <uuid>${POOL_UUID}</uuid>
    <target><path>${poolDirectory}</path></target>
  </pool>
  <pool type='logical'>
    <name>lvm</name>
    <source><name>vg</name></source>
    <target><path>/dev/vg</path></target>
  </pool>
  <pool type='dir'>
    <name>elsewhere</name>
    <target><path>/nonexistent-v2v-pool</path></target>
  </pool>
</node>
`;
}

async function fixture(t: TestContext, diskSizes: number[], name: string) {
  const dir = await mkdtemp(path.join(os.tmpdir(), "output-libvirt-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const poolDirectory = path.join(dir, "pool");
  await mkdir(poolDirectory);
  const node = path.join(dir, "node.xml");
  await writeFile(node, nodeXml(poolDirectory));
  const workdir = await mkdtemp(path.join(dir, "work-"));
  await writeConvertedGuest(workdir, convertedWindowsGuest(diskSizes, name));
  return { dir, poolDirectory, node, uri: `test://${node}`, workdir };
}

/** The events a helper printed on stdout. */
function eventsOf(stdout: unknown): Array<Record<string, unknown>> {
  return String(stdout)
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

test("-o libvirt precheck refuses, in 2.2's words and order, before anything is created", async (t) => {
  const { dir, poolDirectory, uri, workdir } = await fixture(t, [8 * MiB], "guest");
  const cases: Array<[string[], RegExp]> = [
    [
      ["-on", "existing"],
      /error: a libvirt domain called ‘existing’ already exists on the target\.\n\nIf using virt-v2v directly, use the ‘-on’ option to select a different name\. Or delete the existing domain on the target using the ‘virsh undefine’ command\.\n\nIf using virt-p2v, /,
    ],
    // 2.2 looks for the domain before the pool.
    [["-on", "existing", "-os", "lvm"], /error: a libvirt domain called ‘existing’ already exists/],
    [
      ["-os", "nopool"],
      /error: cannot find libvirt pool ‘nopool’: Storage pool not found: no storage pool with matching name 'nopool'\n\nUse ‘virsh pool-list --all’ to list all available pools, and ‘virsh pool-dumpxml <pool>’ to display details about a particular pool\.\n\nTo set the pool which virt-v2v uses, add the ‘-os <pool>’ option\.$/m,
    ],
    // No -os: the pool called "default".
    [[], /error: cannot find libvirt pool ‘default’: /],
    [
      ["-os", "lvm"],
      /error: -o libvirt: output pool ‘lvm’ is not a directory \(type='dir'\)\.  See virt-v2v-output-local\(1\)$/m,
    ],
    [
      ["-os", "elsewhere"],
      /error: -o libvirt: output pool ‘elsewhere’ has type='dir' but the \/pool\/target\/path element is not a local directory\.  See virt-v2v-output-local\(1\)$/m,
    ],
    [
      ["-os", "dirpool", "-of", "vmdk"],
      /error: output mode only supports raw or qcow2 format \(format: vmdk\)$/m,
    ],
    [
      ["-os", "dirpool", "-oo", "compressed"],
      /error: ‘-oo compressed’ is only allowed when the output format is a local qcow2-format file, i\.e\. ‘-of qcow2’$/m,
    ],
    [
      ["-os", "dirpool", "-oo", "colour", "-op", "/etc/passwd"],
      /error: -o disk: unknown output option ‘-oo colour’$/m,
    ],
    [
      ["-os", "dirpool", "-op", "/etc/passwd"],
      /error: -o libvirt: -op option cannot be used in this output mode$/m,
    ],
  ];
  for (const [options, message] of cases) {
    const result = await runHelper(helper, ["precheck", workdir, "-oc", uri, ...options]);
    assert.equal(result.exitCode, 1, options.join(" "));
    assert.match(String(result.stderr), message, options.join(" "));
  }
  const missing = `test://${path.join(dir, "missing.xml")}`;
  const unreachable = await runHelper(helper, ["precheck", workdir, "-oc", missing]);
  assert.equal(unreachable.exitCode, 1);
  assert.match(
    String(unreachable.stderr),
    new RegExp(`error: cannot open the libvirt connection ‘test://.*missing\\.xml’: `),
  );
  // The guest's name comes from metadata.in when -on is not given.
  const named = await mkdtemp(path.join(dir, "work-"));
  await writeConvertedGuest(named, convertedWindowsGuest([8 * MiB], "existing"));
  const sameName = await runHelper(helper, ["setup", named, "-oc", uri, "-os", "dirpool"]);
  assert.equal(sameName.exitCode, 1);
  assert.match(String(sameName.stderr), /a libvirt domain called ‘existing’ already exists/);

  assert.deepEqual(await readdir(poolDirectory), [], "nothing created in the pool");
  const good = await runHelper(helper, ["precheck", workdir, "-oc", uri, "-os", POOL_UUID]);
  assert.equal(good.exitCode, 0, String(good.stderr));
  assert.deepEqual(await readdir(poolDirectory), []);
});

test("-o libvirt: a domain libvirt refuses is a warning, and its XML is kept (virt-xml-validate)", async (t) => {
  const { dir, poolDirectory, node, uri, workdir } = await fixture(t, [16 * MiB], "guest");
  const tmpdir = path.join(dir, "tmp");
  await mkdir(tmpdir);
  // -os by UUID: the domain XML must name the pool by its name.
  const options = ["-oc", uri, "-os", POOL_UUID, "-of", "qcow2", "-oo", "compressed"];
  const setup = await serve(helper, ["setup", workdir, ...options]);
  let stopped = false;
  t.after(() => {
    if (!stopped) setup.child.kill("SIGTERM");
  });
  assert.deepEqual(setup.events.at(-1), { event: "ready", sockets: ["out0"] });
  assert.deepEqual(await readdir(poolDirectory), ["guest-sda"]);

  // Another guest called "guest" turns up during the copy: libvirt refuses the definition.
  await writeFile(
    node,
    nodeXml(
      poolDirectory,
      "<domain type='test'><name>guest</name><memory>1024</memory><os><type>hvm</type></os></domain>",
    ),
  );
  const final = await runHelper(helper, ["final", workdir, ...options], {
    env: { TMPDIR: tmpdir },
  });
  assert.equal(final.exitCode, 0, String(final.stderr));
  const warnings = eventsOf(final.stdout)
    .filter((event) => event.event === "warning")
    .map((event) => String(event.text));
  const kept = await readdir(tmpdir);
  assert.equal(kept.length, 1);
  assert.match(kept[0]!, /^v2vlibvirt[0-9a-f]{6}\.xml$/);
  const file = path.join(tmpdir, kept[0]!);
  assert.equal(warnings.length, 2, warnings.join("\n"));
  // The test driver offers no KVM guests: no features from the target, as 2.2.
  assert.equal(warnings[0], "the target hypervisor does not support a x86_64 KVM guest");
  assert.match(
    warnings[1]!,
    new RegExp(
      `^could not define libvirt domain: .*domain 'guest' already exists.*\\.\\n` +
        escapeRegExp(
          `The libvirt XML is still available in ‘${file}’.  Try running ‘virsh -c ${uri} define ${file}’ yourself instead.`,
        ) +
        "$",
    ),
  );
  const xml = await readFile(file, "utf8");
  await execa("virt-xml-validate", [file, "domain"]);
  assert.match(xml, /<domain type='kvm'>/);
  assert.match(xml, /<name>guest<\/name>/);
  assert.match(
    xml,
    /<disk type='volume' device='disk'>\s*<driver name='qemu' type='qcow2'\/>\s*<source pool='dirpool' volume='guest-sda'\/>\s*<target dev='vda' bus='virtio'\/>/,
  );
  assert.match(xml, /<features\/>|<features>\s*<\/features>/);

  await writeFile(path.join(workdir, "done"), "");
  setup.child.kill("SIGTERM");
  stopped = true;
  assert.equal((await setup.child).exitCode, 0);
  assert.deepEqual(await serversMentioning(workdir), [], "no server left");
  // The run finished: the disk stays.
  assert.deepEqual(await readdir(poolDirectory), ["guest-sda"]);
});
