/**
 * helper-v2v-input-libvirt against libvirt's real client library, through its test driver (a
 * node file written here: no daemon is needed): a guest with a raw file disk and a qcow2 disk
 * that is a storage volume of a dir pool, found by name and by UUID, read back over NBD; and
 * the errors, in virt-v2v 2.2's words, before any server starts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { readServed, serve, serversMentioning } from "@split-v2v/helper-test-kit";
import { readMetadata } from "@split-v2v/metadata-schema";

const helper = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "src", "cli.js");
const MIB = 1024 * 1024;
const UUID = "6f4e7c2a-0b9d-4f7e-9a51-3c2d1e0f9b8a";

/** The test driver's node: the guest, a second (running) guest, and a pool with the volume. */
function nodeXml(dir: string, raw: string): string {
  return `<node>
  <domain type='test'>
    <name>guest</name>
    <uuid>${UUID}</uuid>
    <memory>1048576</memory>
    <vcpu>2</vcpu>
    <os><type>hvm</type></os>
    <devices>
      <disk type='file' device='disk'>
        <driver name='qemu' type='raw'/>
        <source file='${raw}'/>
        <target dev='sda' bus='scsi'/>
      </disk>
      <disk type='volume' device='disk'>
        <source pool='images' volume='data.qcow2'/>
        <target dev='vdb' bus='virtio'/>
      </disk>
      <controller type='scsi' model='virtio-scsi'/>
      <interface type='bridge'>
        <mac address='52:54:00:01:02:03'/>
        <source bridge='br0'/>
        <model type='virtio'/>
      </interface>
    </devices>
  </domain>
  <pool type='dir'>
    <name>images</name>
    <uuid>0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d</uuid>
    <target><path>${dir}</path></target>
    <volume type='file'>
      <name>data.qcow2</name>
      <key>${dir}/data.qcow2</key>
      <capacity unit='bytes'>25165824</capacity>
      <target><path>${dir}/data.qcow2</path><format type='qcow2'/></target>
    </volume>
  </pool>
</node>
`;
}

async function makeNode(t: { after: (fn: () => Promise<void>) => void }) {
  const dir = await mkdtemp(path.join(os.tmpdir(), "input-libvirt-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const raw = path.join(dir, "system.img");
  await execa("qemu-img", ["create", "-q", "-f", "raw", raw, "16M"]);
  await execa("qemu-io", ["-f", "raw", "-c", "write -P 0x5a 1M 64k", raw]);
  const qcow2 = path.join(dir, "data.qcow2");
  await execa("qemu-img", ["create", "-q", "-f", "qcow2", qcow2, "24M"]);
  await execa("qemu-io", ["-f", "qcow2", "-c", "write -P 0xa5 2M 64k", qcow2]);
  const node = path.join(dir, "node.xml");
  await writeFile(node, nodeXml(dir, raw));
  return { dir, raw, qcow2, uri: `test://${node}` };
}

function firstBytes(socket: string, offset: number): Promise<Buffer> {
  return readServed(socket, offset, 4);
}

test("a guest of libvirt's test driver: found by name or UUID, its file and volume disks served", async (t) => {
  const { dir, raw, qcow2, uri } = await makeNode(t);
  for (const guest of ["guest", UUID]) {
    const workdir = await mkdtemp(path.join(dir, "work-"));
    const precheck = await execa(
      process.execPath,
      [helper, "--precheck", workdir, "-ic", uri, guest],
      {
        reject: false,
      },
    );
    assert.equal(precheck.exitCode, 0, String(precheck.stderr));
    assert.deepEqual(await readdir(workdir), [], "the precheck writes nothing");

    const { child, events } = await serve(helper, [workdir, "-ic", uri, "--", guest]);
    try {
      assert.deepEqual(events, [{ event: "ready", sockets: ["in0", "in1"] }]);
      const metadata = await readMetadata("metadata.in", path.join(workdir, "metadata.in"));
      // virt-v2v 2.2's Libvirt_.to_string puts -ic first.
      assert.deepEqual(metadata.input, {
        mode: "libvirt",
        description: `-ic ${uri} -i libvirt ${guest}`,
      });
      assert.equal(metadata.source.name, "guest");
      assert.equal(metadata.source.hypervisor, "test");
      assert.equal(metadata.source.memoryBytes, 1024 * MIB);
      assert.equal(metadata.source.vcpus, 2);
      assert.deepEqual(metadata.source.nics, [
        { mac: "52:54:00:01:02:03", model: "virtio", network: "br0", networkType: "bridge" },
      ]);
      assert.deepEqual(
        metadata.source.disks.map((disk) => [
          disk.controller,
          disk.format,
          disk.location,
          disk.virtualSize,
        ]),
        [
          ["virtio-scsi", "raw", raw, 16 * MIB],
          // The volume's own format and path, from the pool (virt-v2v reads the volume's XML).
          ["virtio-blk", "qcow2", qcow2, 24 * MIB],
        ],
      );
      assert.deepEqual(await firstBytes(path.join(workdir, "in0"), MIB), Buffer.alloc(4, 0x5a));
      assert.deepEqual(await firstBytes(path.join(workdir, "in1"), 2 * MIB), Buffer.alloc(4, 0xa5));
    } finally {
      child.kill("SIGTERM");
      await child;
    }
  }
  assert.deepEqual(await serversMentioning(dir), [], "no server is left");
});

test("errors in virt-v2v's words, before any server starts", async (t) => {
  const { dir, uri } = await makeNode(t);
  const cases: Array<[string[], RegExp]> = [
    [["-ic", uri], /^-i libvirt: expecting a libvirt guest name on the command line$/],
    [["-ic", uri, "nosuch"], /^cannot find libvirt domain ‘nosuch’: Domain not found/],
    [
      ["-ic", uri, "-ip", path.join(dir, "no-password"), "guest"],
      /^-ip .*no-password: cannot read the password file: No such file or directory$/,
    ],
    [
      ["-ic", `test://${path.join(dir, "no-node.xml")}`, "guest"],
      /^cannot open the libvirt connection ‘test:\/\/.*no-node\.xml’: XML error: failed to parse xml document/,
    ],
  ];
  for (const [args, message] of cases) {
    const workdir = await mkdtemp(path.join(dir, "work-"));
    const result = await execa(process.execPath, [helper, workdir, ...args], { reject: false });
    assert.equal(result.exitCode, 1, String(result.stderr));
    const last = String(result.stderr).trim().split("\n").at(-1) ?? "";
    const prefix = "helper-v2v-input-libvirt: error: ";
    assert.ok(last.startsWith(prefix), last);
    assert.match(last.slice(prefix.length), message);
    assert.deepEqual(await readdir(workdir), [], "nothing written into WORKDIR");
  }
  assert.deepEqual(await serversMentioning(dir), []);
});
