/**
 * helper-v2v-input-xen-ssh against an sshd on 127.0.0.1 (@split-v2v/test-sshd): the guest's disk
 * is a file under a temp dir, read over SSH by nbdkit's ssh plugin and read back over NBD
 * (libnbd) byte for byte. No Xen host with libvirtd can run here, so the guest's domain XML (as
 * libvirt's Xen driver gives it) comes from the stand-in file of SPLIT_V2V_STANDIN_DOMAIN_XML.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { inputDiskServerSpec, serverArgv } from "@split-v2v/common";
import { readAll, untilReady } from "@split-v2v/helper-test-kit";
import { NbdConnection } from "@split-v2v/libnbd";
import { readMetadata } from "@split-v2v/metadata-schema";
import { SSH_PASSWORD, sharedSshHost, type SshHost } from "@split-v2v/test-sshd";
import { precheckInputXenSsh, xenSshDiskPlan } from "../src/input-xen-ssh.js";
import { inputXenSshMode } from "../src/mode.js";

const helper = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "bin",
  "helper-v2v-input-xen-ssh.mjs",
);
const DISK_SIZE = 3 * 1024 * 1024 + 512;

function domainXml(disks: string): string {
  return `<domain type='xen'>
  <name>xenguest</name>
  <memory unit='KiB'>1048576</memory>
  <vcpu>2</vcpu>
  <os><type arch='x86_64' machine='xenfv'>hvm</type></os>
  <devices>
${disks}
  </devices>
</domain>
`;
}

const sshHosts = sharedSshHost();
let dir: string;
let disk: Buffer;
let diskFile: string;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "input-xen-ssh-"));
  disk = randomBytes(DISK_SIZE);
  diskFile = path.join(dir, "xen guest disk.img");
  await writeFile(diskFile, disk);
});

after(async () => {
  await sshHosts.dispose();
  await rm(dir, { recursive: true, force: true });
});

async function standinXml(name: string, disks: string): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, domainXml(disks));
  return file;
}

/** Runs the helper in the sshd's namespace until ready, reads in0 back, then stops it. */
async function serveAndRead(
  host: SshHost,
  options: { agent: boolean; passwordFile: string | null },
): Promise<{ served: Buffer; stderr: string; processes: string; workdir: string }> {
  const workdir = await mkdtemp(path.join(dir, "work-"));
  const xml = await standinXml(
    "guest.xml",
    `    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='${diskFile}'/>
      <target dev='xvda' bus='xen'/>
    </disk>
    <disk type='file' device='cdrom'>
      <source file='/var/lib/xen/images/boot.iso'/>
      <target dev='hdc' bus='ide'/>
    </disk>`,
  );
  const uri = `xen+ssh://${host.user}@127.0.0.1:${host.port}`;
  const child = host.start(
    [
      process.execPath,
      helper,
      "-v",
      workdir,
      "-ic",
      uri,
      ...(options.passwordFile === null ? [] : ["-ip", options.passwordFile]),
      "--",
      "xenguest",
    ],
    { agent: options.agent, env: { SPLIT_V2V_STANDIN_DOMAIN_XML: xml } },
  );
  try {
    const { log } = await untilReady(child);
    const processes = String((await execa("ps", ["-eo", "args"])).stdout);
    const connection = await NbdConnection.connectUnix(path.join(workdir, "in0"));
    try {
      return { served: await readAll(connection), stderr: log.join("\n"), processes, workdir };
    } finally {
      connection.close();
    }
  } finally {
    child.kill("SIGTERM");
    await child;
  }
}

test("a Xen guest's file disk is read over SSH (the user's key) and served through the overlay, byte for byte", async (t) => {
  const host = await sshHosts.get();
  if (typeof host === "string") {
    t.skip(`no sshd for this test: ${host}`);
    return;
  }
  const { served, stderr, workdir } = await serveAndRead(host, {
    agent: true,
    passwordFile: null,
  });
  assert.ok(served.equals(disk), "served disk differs from the file on the host");
  const start = stderr.split("\n").find((line) => /starting nbdkit: .* ssh /.test(line));
  assert.ok(start !== undefined, stderr);
  assert.match(
    start,
    / --filter=cow --filter=cacheextents --filter=retry ssh cow-on-read=\S+\/convert host=127\.0\.0\.1 path=.*xen guest disk\.img port=\d+ user=\S+$/,
  );
  const metadata = await readMetadata("metadata.in", path.join(workdir, "metadata.in"));
  assert.deepEqual(metadata.input, {
    mode: "libvirt",
    description: `-i libvirt -ic xen+ssh://${host.user}@127.0.0.1:${host.port} xenguest`,
  });
  assert.equal(metadata.source.name, "xenguest");
  assert.equal(metadata.source.hypervisor, "xen");
  assert.equal(metadata.source.memoryBytes, 1024 * 1024 * 1024);
  assert.equal(metadata.source.vcpus, 2);
  // The cdrom is not a disk to copy.
  assert.equal(metadata.source.disks.length, 1);
  assert.equal(metadata.source.disks[0]!.virtualSize, DISK_SIZE);
  assert.equal(metadata.source.disks[0]!.format, "raw");
  assert.equal(
    metadata.source.disks[0]!.location,
    `ssh://${host.user}@127.0.0.1:${host.port}${encodeURI(diskFile)}`,
  );
});

test("with -ip the password is read from its file by nbdkit and is in no process's arguments", async (t) => {
  const host = await sshHosts.get();
  if (typeof host === "string") {
    t.skip(`no sshd for this test: ${host}`);
    return;
  }
  if (host.passwordFile === null) {
    t.skip("the user has no /etc/shadow entry: password logins cannot be set up");
    return;
  }
  const { served, stderr, processes } = await serveAndRead(host, {
    agent: false,
    passwordFile: host.passwordFile,
  });
  assert.ok(served.equals(disk));
  assert.match(stderr, / password=\+\S+password/);
  assert.ok(!processes.includes(SSH_PASSWORD), "the password is in a process's arguments");
  assert.ok(!stderr.includes(SSH_PASSWORD), "the password is in the helper's log");
  assert.equal((await readFile(host.passwordFile, "utf8")).trim(), SSH_PASSWORD);
});

test("a disk on a remote block device is refused with virt-v2v 2.2's words, before any server starts", async () => {
  const workdir = await mkdtemp(path.join(dir, "work-"));
  const xml = await standinXml(
    "block.xml",
    `    <disk type='block' device='disk'>
      <source dev='/dev/vg/xenguest'/>
      <target dev='xvda' bus='xen'/>
    </disk>`,
  );
  const result = await execa(
    process.execPath,
    [helper, workdir, "-ic", "xen+ssh://root@xen.example.com", "--", "xenguest"],
    { reject: false, env: { SPLIT_V2V_STANDIN_DOMAIN_XML: xml } },
  );
  assert.equal(result.exitCode, 1);
  assert.match(
    String(result.stderr),
    /helper-v2v-input-xen-ssh: error: input from xen over ssh does not support disks stored on remote block devices\.  See virt-v2v-input-xen\(1\) section "Xen or ssh conversions from block devices"\.$/m,
  );
  assert.ok(!String(result.stderr).includes("starting nbdkit"));
});

test("the precheck: a host name in -ic, port 22 left out as virt-v2v does; the descriptor's arguments", async () => {
  const checked = await precheckInputXenSsh({
    args: ["g"],
    connection: "xen+ssh://root@xen.example.com:22",
    passwordFile: null,
    bandwidth: null,
    warn: () => {},
  });
  assert.deepEqual(checked.sshAccess, {
    server: "xen.example.com",
    port: null,
    user: "root",
    passwordFile: null,
  });
  await assert.rejects(
    precheckInputXenSsh({
      args: ["g"],
      connection: "xen+ssh:///system",
      passwordFile: null,
      bandwidth: null,
      warn: () => {},
    }),
    /^UserError: ‘-ic xen\+ssh:\/\/\/system’ URL does not contain a host name field$/,
  );
  await assert.rejects(
    precheckInputXenSsh({
      args: [],
      connection: "xen+ssh://xen",
      passwordFile: null,
      bandwidth: null,
      warn: () => {},
    }),
    /expecting a libvirt guest name on the command line/,
  );
  // With --bandwidth: nbdkit's rate filter above the overlay, virt-v2v 2.2's order.
  const plan = xenSshDiskPlan(
    { format: "raw", controller: null, source: { kind: "file", path: "/var/lib/xen/g.img" } },
    { ...checked.sshAccess, port: 2222, passwordFile: "/tmp/pw" },
    "/w/convert",
    { rate: "10M", rateFile: null },
  );
  const argv = serverArgv(inputDiskServerSpec(plan, true), {
    socket: "/w/in0",
    pidfile: "/w/tmp/in0.pid",
  });
  assert.deepEqual(argv.slice(argv.indexOf("--filter=rate")), [
    "--filter=rate",
    "--filter=cow",
    "--filter=cacheextents",
    "--filter=retry",
    "ssh",
    "cow-on-read=/w/convert",
    "host=xen.example.com",
    "path=/var/lib/xen/g.img",
    "port=2222",
    "user=root",
    "password=+/tmp/pw",
    "rate=10M",
  ]);
  assert.deepEqual(
    inputXenSshMode.helperArgs({
      mode: "libvirt",
      args: ["g"],
      inputFormat: undefined,
      inputConnection: "xen+ssh://root@xen",
      inputTransport: undefined,
      inputPassword: "/tmp/pw",
      inputOptions: [],
      bandwidth: undefined,
      bandwidthFile: "/tmp/rate",
    }),
    ["-ic", "xen+ssh://root@xen", "-ip", "/tmp/pw", "--bandwidth-file", "/tmp/rate", "--", "g"],
  );
});
