/**
 * helper-v2v-input-vcenter-https against a stand-in vCenter (./standin-vcenter.ts): no vCenter
 * can run here, so the test starts an HTTPS server (node:https, a self-signed certificate made by
 * `openssl req`) that speaks the part of vCenter's interface virt-v2v uses:
 * `/folder/PATH-flat.vmdk?dcPath=…&dsName=…` with HEAD and Range reads, Basic authentication
 * that answers with a session cookie (what the cookie script fetches), and that cookie demanded
 * on every read (401 otherwise). The guest's
 * domain XML, as libvirt's ESX driver gives it, comes from the stand-in file of
 * SPLIT_V2V_STANDIN_DOMAIN_XML. The disk is read back over NBD (libnbd) byte for byte.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  DATACENTER,
  DATASTORE,
  PASSWORD,
  USER,
  startStandinVcenter,
  type StandinVcenter,
} from "./standin-vcenter.js";
import { execa } from "execa";
import { readAll, runHelper, serve } from "@split-v2v/helper-test-kit";
import { NbdConnection } from "@split-v2v/libnbd";
import { readMetadata } from "@split-v2v/metadata-schema";

const helper = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "bin",
  "helper-v2v-input-vcenter-https.mjs",
);
const DISK_SIZE = 4 * 1024 * 1024;

/** The domain XML libvirt's ESX driver gives for the guest (the guest runs on a snapshot). */
const DOMAIN_XML = `<domain type='vmware' xmlns:vmware='http://libvirt.org/schemas/domain/vmware/1.0'>
  <name>guest</name>
  <uuid>42112f2b-0fd4-3d2c-9f5b-0f1e7d6c1234</uuid>
  <memory unit='KiB'>2097152</memory>
  <vcpu placement='static'>2</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <source file='[${DATASTORE}] guest/guest-000001.vmdk'/>
      <target dev='sda' bus='scsi'/>
      <address type='drive' controller='0' bus='0' target='0' unit='0'/>
    </disk>
    <controller type='scsi' index='0' model='vmpvscsi'/>
  </devices>
  <vmware:datacenterpath>${DATACENTER}</vmware:datacenterpath>
  <vmware:moref>vm-42</vmware:moref>
</domain>
`;

let dir: string;
let vcenter: StandinVcenter;
let passwordFile: string;
let domainXml: string;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "input-vcenter-https-"));
  vcenter = await startStandinVcenter(dir, DISK_SIZE);
  passwordFile = path.join(dir, "password");
  await writeFile(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
  domainXml = path.join(dir, "guest.xml");
  await writeFile(domainXml, DOMAIN_XML);
});

after(async () => {
  await vcenter.close();
  await rm(dir, { recursive: true, force: true });
});

function uri(query = "?no_verify=1"): string {
  return `vpx://${encodeURIComponent(USER)}@127.0.0.1:${vcenter.port}/Datacenter/esxi.example.com${query}`;
}

/** The helper's environment: the stand-in domain XML, and proxies. */
function helperEnv(): NodeJS.ProcessEnv {
  return {
    SPLIT_V2V_STANDIN_DOMAIN_XML: domainXml,
    // A proxy that does not exist: the helper must go to the server directly (RHBZ#1354507).
    https_proxy: "http://127.0.0.1:9",
    HTTPS_PROXY: "http://127.0.0.1:9",
    all_proxy: "http://127.0.0.1:9",
  };
}

/** Runs the helper to its end, collecting stderr. */
function runToEnd(args: string[]) {
  return runHelper(helper, args, { env: helperEnv() });
}

test("the stand-in vCenter's disk is served over HTTPS through the overlay, byte for byte; the password is in no process's arguments", async (t) => {
  const workdir = await mkdtemp(path.join(dir, "work-"));
  const { child, log } = await serve(
    helper,
    ["-v", "--bandwidth", "1G", workdir, "-ic", uri(), "-ip", passwordFile, "--", "guest"],
    { env: helperEnv() },
  );
  t.after(async () => {
    child.kill("SIGTERM");
    await child;
  });

  // Whatever runs now (the helper, nbdkit, the cookie script's curl) shows no password.
  const processes = String((await execa("ps", ["-eo", "args"])).stdout);
  const stderr = log.join("\n");
  assert.ok(!processes.includes(PASSWORD), "the password is in a process's arguments");
  assert.ok(!processes.includes(encodeURIComponent(PASSWORD)));
  assert.ok(!stderr.includes(PASSWORD), "the password is in the helper's log");
  assert.match(stderr, /curl: Set-Cookie: <hidden>/);

  // nbdkit's command line is virt-v2v 2.2's: rate above the overlay, then cow, cacheextents, retry.
  const start = stderr.split("\n").find((line) => /starting nbdkit: .* curl /.test(line));
  assert.ok(start !== undefined, stderr);
  assert.match(
    start,
    / --filter=rate --filter=cow --filter=cacheextents --filter=retry curl cow-on-read=\S+\/convert url=https:\/\/127\.0\.0\.1:\d+\/folder\/guest\/guest-flat\.vmdk\?dcPath=Datacenter\/Folder%20A&dsName=datastore1 timeout=2000 cookie-script=\S+ cookie-script-renew=1500 sslverify=false rate=1G$/,
  );

  // The snapshot's name got 404, then its base disk's flat file was found.
  assert.ok(
    vcenter.requests.some((line) =>
      /^HEAD \/folder\/guest\/guest-000001-flat\.vmdk\?dcPath=Datacenter\/Folder%20A&dsName=datastore1 404$/.test(
        line,
      ),
    ),
    vcenter.requests.join("\n"),
  );
  const connection = await NbdConnection.connectUnix(path.join(workdir, "in0"));
  try {
    assert.equal(Number(connection.size), DISK_SIZE);
    assert.ok((await readAll(connection)).equals(vcenter.disk), "served disk differs");
  } finally {
    connection.close();
  }

  // The reads came with the session cookie (the stand-in answers 401 to a read without it).
  assert.ok(
    vcenter.requests.some((line) => /^GET \/folder\/guest\/guest-flat\.vmdk\S* 206$/.test(line)),
  );

  assert.ok(!vcenter.requests.some((line) => /^GET .* 401$/.test(line)));

  const metadata = await readMetadata("metadata.in", path.join(workdir, "metadata.in"));
  assert.deepEqual(metadata.input, {
    mode: "libvirt",
    description: `-i libvirt -ic ${uri()} guest`,
  });
  assert.equal(metadata.source.name, "guest");
  assert.equal(metadata.source.hypervisor, "vmware");
  assert.equal(metadata.source.memoryBytes, 2 * 1024 * 1024 * 1024);
  assert.equal(metadata.source.vcpus, 2);
  assert.equal(metadata.source.disks.length, 1);
  const [disk] = metadata.source.disks;
  assert.equal(disk!.format, "raw");
  assert.equal(disk!.controller, "scsi");
  assert.equal(disk!.virtualSize, DISK_SIZE);
  assert.equal(
    disk!.location,
    `https://127.0.0.1:${vcenter.port}/folder/guest/guest-flat.vmdk?dcPath=Datacenter/Folder%20A&dsName=datastore1`,
  );

  child.kill("SIGTERM");
  await child;
  // The credentials file and the cookie scripts are gone with the helper.
  assert.deepEqual(await readdir(path.join(workdir, "tmp")), []);
});

test("a wrong password gets virt-v2v's 401 error", async () => {
  const wrong = path.join(dir, "wrong-password");
  await writeFile(wrong, "not the password\n");
  const workdir = await mkdtemp(path.join(dir, "work-"));
  const result = await runToEnd([workdir, "-ic", uri(), "-ip", wrong, "--", "guest"]);
  assert.equal(result.exitCode, 1);
  assert.match(
    result.stderr,
    /helper-v2v-input-vcenter-https: error: vcenter: incorrect username or password$/m,
  );
});

test("without no_verify=1 the self-signed certificate is refused (curl gets no answer)", async () => {
  const workdir = await mkdtemp(path.join(dir, "work-"));
  const result = await runToEnd([workdir, "-ic", uri(""), "-ip", passwordFile, "--", "guest"]);
  assert.equal(result.exitCode, 1);
  assert.match(result.stderr, /error: vcenter: no status code in output of ‘curl’ command\.$/m);
});

test("a domain XML without <vmware:datacenterpath> is refused with virt-v2v's words", async () => {
  const workdir = await mkdtemp(path.join(dir, "work-"));
  const noDatacenter = path.join(dir, "no-datacenter.xml");
  await writeFile(noDatacenter, DOMAIN_XML.replace(/ *<vmware:datacenterpath>.*\n/, ""));
  const child = execa(
    process.execPath,
    [helper, workdir, "-ic", uri(), "-ip", passwordFile, "--", "guest"],
    { reject: false, env: { SPLIT_V2V_STANDIN_DOMAIN_XML: noDatacenter } },
  );
  const result = await child;
  assert.equal(result.exitCode, 1);
  assert.match(
    String(result.stderr),
    /error: vcenter: <vmware:datacenterpath> was not found in the XML\.  You need to upgrade to libvirt ≥ 1\.2\.20\.$/m,
  );
});

test("--precheck: -ip is required, -ic needs a server; nothing starts, nothing is written", async () => {
  const workdir = await mkdtemp(path.join(dir, "work-"));
  const cases: Array<[string[], RegExp]> = [
    [["-ic", uri(), "--", "guest"], /expecting -ip passwordfile parameter for vCenter connection/],
    [
      ["-ic", "vpx:///Datacenter", "-ip", passwordFile, "--", "guest"],
      /expecting -ic parameter to contain vcenter server name/,
    ],
    [
      ["-ic", uri(), "-ip", path.join(dir, "missing"), "--", "guest"],
      /-ip \S+missing: cannot read the password file: No such file or directory/,
    ],
    [["-ic", uri(), "-ip", passwordFile, "--", "a", "b"], /expecting a libvirt guest name/],
  ];
  for (const [args, message] of cases) {
    const result = await runToEnd(["--precheck", workdir, ...args]);
    assert.equal(result.exitCode, 1, args.join(" "));
    assert.match(result.stderr, message);
  }
  const ok = await runToEnd([
    "--precheck",
    workdir,
    "-ic",
    uri(),
    "-ip",
    passwordFile,
    "--",
    "guest",
  ]);
  assert.equal(ok.exitCode, 0, ok.stderr);
  assert.deepEqual(await readdir(workdir), []);
});
