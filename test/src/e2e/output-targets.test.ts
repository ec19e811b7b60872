/**
 * The output modes that land a guest where its users run it, through the `virt-v2v` command with
 * a real conversion: -o libvirt into a libvirtd this test starts (Debian's, as a private session
 * daemon), -o kubevirt checked against KubeVirt's published OpenAPI schema, and -o openstack
 * against a stand-in for the `openstack` client (the real one needs an OpenStack cloud).
 * -o qemu is booted by the Debian boot test (linux-boot.test.ts), -o glance is covered by its
 * package's tests and upstream's test-v2v-o-glance.sh.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { access, mkdir, readFile, readdir } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { parse } from "yaml";
import { startPrivateLibvirtd } from "@split-v2v/helper-output-libvirt/test/private-libvirtd";
import { schemaErrors } from "@split-v2v/helper-output-kubevirt/test/kubevirt-schema";
import { standinOpenstack } from "@split-v2v/helper-output-openstack/test/standin-openstack";
import { linuxGuest } from "../fixtures/guests.js";
import {
  VIRT_V2V,
  allocatedBytes,
  errorLines,
  leftovers,
  makeSandbox,
  runEnvironment,
  sha256,
  virtV2v,
  type Sandbox,
} from "../support/run.js";

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

/** virt-v2v with more environment (a stand-in client first on PATH). */
async function virtV2vWith(args: string[], sandbox: Sandbox, env: NodeJS.ProcessEnv) {
  const result = await execa(process.execPath, [VIRT_V2V, ...args], {
    env: { ...runEnvironment(sandbox), ...env },
    reject: false,
    stdin: "ignore",
  });
  return {
    exitCode: result.exitCode,
    stdout: String(result.stdout),
    stderr: String(result.stderr),
  };
}

test("-o libvirt: the disks land in the pool, the domain is defined in libvirtd; the same name again is refused before the conversion", async (t) => {
  const daemon = await startPrivateLibvirtd();
  if (typeof daemon === "string") {
    t.skip(`no private libvirtd here: ${daemon}`);
    return;
  }
  t.after(() => daemon.stop());
  const sandbox = await makeSandbox("o-libvirt");
  t.after(() => sandbox.dispose());
  const virsh = async (...args: string[]) =>
    String((await execa("virsh", ["-q", "-c", daemon.uri, ...args])).stdout);
  const poolDirectory = path.join(daemon.dir, "pool");
  await mkdir(poolDirectory);
  await virsh("pool-create-as", "v2vpool", "dir", "--target", poolDirectory);
  const guest = await linuxGuest("plain");
  const before = await sha256(guest.path);

  const args = ["-i", "disk", guest.path, "-o", "libvirt", "-oc", daemon.uri, "-os", "v2vpool"];
  const result = await virtV2v([...args, "-on", "converted"], sandbox);
  assert.equal(result.exitCode, 0, `${result.stdout}\n${result.stderr}`);
  assert.match(result.stdout, /Setting up the destination: -o libvirt -os v2vpool/);
  assert.deepEqual(await readdir(poolDirectory), ["converted-sda"]);
  assert.match(await virsh("vol-list", "v2vpool"), /converted-sda/);
  const xml = await virsh("dumpxml", "converted");
  assert.match(xml, /<source pool='v2vpool' volume='converted-sda'\/>/);
  const dumped = path.join(sandbox.tmp, "dumped.xml");
  await execa("sh", ["-c", 'cat > "$1"', "sh", dumped], { input: xml });
  await execa("virt-xml-validate", [dumped, "domain"]);
  assert.equal(await sha256(guest.path), before, "the source image is unchanged");
  assert.deepEqual(await leftovers(sandbox), { processes: [], workdirs: [] });

  // The name is taken now: refused before anything is converted or written.
  const again = await virtV2v([...args, "-on", "converted"], sandbox);
  assert.equal(again.exitCode, 1);
  assert.match(errorLines(again.stderr).join("\n"), /converted.*already exists/);
  assert.doesNotMatch(again.stdout, /Converting|Copying disk/);
  assert.deepEqual(await readdir(poolDirectory), ["converted-sda"]);
  assert.deepEqual((await leftovers(sandbox)).processes, []);
});

test("-o kubevirt: NAME.yaml is a KubeVirt VirtualMachine that validates and names the disks written", async (t) => {
  const sandbox = await makeSandbox("o-kubevirt");
  t.after(() => sandbox.dispose());
  const guest = await linuxGuest("plain");
  const result = await virtV2v(
    ["-i", "disk", guest.path, "-o", "kubevirt", "-os", sandbox.out, "-on", "guest-1"],
    sandbox,
  );
  assert.equal(result.exitCode, 0, `${result.stdout}\n${result.stderr}`);
  assert.deepEqual((await readdir(sandbox.out)).sort(), ["guest-1-sda", "guest-1.yaml"]);
  const document = parse(await readFile(path.join(sandbox.out, "guest-1.yaml"), "utf8")) as {
    kind: string;
    spec: { template: { spec: { volumes: { hostDisk?: { path: string } }[] } } };
  };
  assert.equal(document.kind, "VirtualMachine");
  assert.deepEqual(schemaErrors("VirtualMachine", document), []);
  const paths = document.spec.template.spec.volumes.map((volume) => volume.hostDisk?.path);
  assert.deepEqual(paths, [path.join(sandbox.out, "guest-1-sda")]);
  assert.deepEqual(await leftovers(sandbox), { processes: [], workdirs: [] });
});

test("-o openstack: a volume created, attached, written, made bootable and detached (stand-in openstack client)", async (t) => {
  const sandbox = await makeSandbox("o-openstack");
  t.after(() => sandbox.dispose());
  const openstack = await standinOpenstack(path.join(sandbox.out, "standin"));
  const guest = await linuxGuest("plain");
  const result = await virtV2vWith(
    [
      "-i",
      "disk",
      guest.path,
      "-o",
      "openstack",
      "-on",
      "test",
      "-oo",
      "server-id=conversion-vm",
      "-oo",
      "guest-id=guestid",
      "-oo",
      `dev-disk-by-id=${openstack.byIdDir}`,
    ],
    sandbox,
    openstack.env(),
  );
  assert.equal(result.exitCode, 0, `${result.stdout}\n${result.stderr}`);
  const calls = (await openstack.calls()).map((call) => call.join(" "));
  for (const expected of [
    /token issue/,
    /volume create -f json --size \d+ --description virt-v2v temporary volume for test test-sda/,
    /server add volume conversion-vm /,
    /volume set .*--bootable/,
    /volume set .*--property virt_v2v_guest_id=guestid/,
    /server remove volume conversion-vm /,
  ]) {
    assert.ok(
      calls.some((call) => expected.test(call)),
      `${expected} in:\n${calls.join("\n")}`,
    );
  }
  // The guest was written into the volume, which is left detached.
  const volumes = await openstack.volumes();
  const ids = Object.keys(volumes);
  assert.equal(ids.length, 1);
  assert.equal(volumes[ids[0]!]!.attached, false);
  assert.ok((await allocatedBytes(path.join(openstack.cinderDir, ids[0]!))) > 1024 * 1024);
  assert.equal(await exists(path.join(openstack.byIdDir, `virtio-${ids[0]!.slice(0, 20)}`)), false);
  assert.deepEqual(await leftovers(sandbox), { processes: [], workdirs: [] });
});
