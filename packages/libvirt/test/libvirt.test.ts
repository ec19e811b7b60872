// Tests against the real libvirt.so.0, no daemon and no mocks: libvirt's in-process test: driver
// (test:///default, and test:///PATH/node.xml loading a node written here), and its in-process esx
// driver talking to nothing, or to a stand-in for an ESXi host's SOAP service (esx-stand-in.ts).
import { mkdtemp, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";

import { execa } from "execa";

import { UserError } from "@split-v2v/common";

import {
  LibvirtConnection,
  LibvirtError,
  VIR_ERR_INTERNAL_ERROR,
  VIR_ERR_INVALID_ARG,
  VIR_ERR_NO_DOMAIN,
  VIR_ERR_NO_STORAGE_POOL,
  VIR_ERR_NO_STORAGE_VOL,
  VIR_FROM_DOMAIN,
  VIR_FROM_ESX,
  findGuest,
  findPool,
  findVolume,
  libvirtVersion,
} from "../src/index.js";
import { passwordFileAuth, readFirstLine } from "../src/auth.js";
import { checkGuestShutDown } from "../src/find.js";
import {
  VIR_CRED_AUTHNAME,
  VIR_CRED_ECHOPROMPT,
  VIR_CRED_NOECHOPROMPT,
  VIR_CRED_PASSPHRASE,
  callAuthCallbackForTest,
  virt,
} from "../src/ffi.js";

const OFF_UUID = "11111111-2222-3333-4444-555555555555";
const ON_UUID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
const POOL_UUID = "99999999-8888-7777-6666-555555555555";
/** The UUID of test:///default's one domain, "test" (fixed in libvirt's test driver). */
const DEFAULT_TEST_UUID = "6695eb01-f6a4-8304-79aa-97f2502e193f";

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "libvirt-test-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Opens a connection that the test closes when it ends. */
function open(t: TestContext, uri: string): LibvirtConnection {
  const connection = LibvirtConnection.open(uri);
  t.after(() => connection.close());
  return connection;
}

/**
 * A node for the test driver: "guest-off" (shut off, <test:runstate>5</test:runstate>) with a
 * disk from a pool volume and a VNC password, "guest-on" (running, the test driver's default),
 * and a dir pool whose volume is a real file in `dir`.
 */
async function writeNode(dir: string): Promise<{ uri: string; volumePath: string }> {
  const volumePath = join(dir, "disk1.img");
  await writeFile(volumePath, "");
  await truncate(volumePath, 1024 * 1024);
  const nodeXml = `<node>
  <domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
    <name>guest-off</name>
    <uuid>${OFF_UUID}</uuid>
    <memory unit='KiB'>1048576</memory>
    <vcpu>1</vcpu>
    <os><type arch='x86_64'>hvm</type></os>
    <devices>
      <disk type='volume' device='disk'>
        <source pool='v2v-pool' volume='disk1.img'/>
        <target dev='vda' bus='virtio'/>
      </disk>
      <graphics type='vnc' port='5900' passwd='vnc-secret'/>
    </devices>
    <test:runstate>5</test:runstate>
  </domain>
  <domain type='test'>
    <name>guest-on</name>
    <uuid>${ON_UUID}</uuid>
    <memory unit='KiB'>524288</memory>
    <vcpu>2</vcpu>
    <os><type arch='x86_64'>hvm</type></os>
  </domain>
  <pool type='dir'>
    <name>v2v-pool</name>
    <uuid>${POOL_UUID}</uuid>
    <target><path>${dir}</path></target>
    <volume type='file'>
      <name>disk1.img</name>
      <capacity unit='bytes'>1048576</capacity>
      <target><path>${volumePath}</path><format type='raw'/></target>
    </volume>
  </pool>
</node>
`;
  const nodePath = join(dir, "node.xml");
  await writeFile(nodePath, nodeXml);
  return { uri: `test://${nodePath}`, volumePath };
}

/** Runs `fn` and returns the LibvirtError it throws. */
function libvirtErrorOf(fn: () => unknown): LibvirtError {
  try {
    fn();
  } catch (error: unknown) {
    if (error instanceof LibvirtError) return error;
    throw error;
  }
  assert.fail("expected a LibvirtError");
}

test("libvirtVersion: virGetVersion of Debian's libvirt0", () => {
  const version = libvirtVersion();
  assert.ok(version.major >= 9, `libvirt ${version.text}`);
  assert.equal(version.text, `${version.major}.${version.minor}.${version.micro}`);
});

test("test:///default: its running domain 'test' is found, not refused, because the URI is test:", (t) => {
  const connection = open(t, "test:///default");
  assert.equal(connection.uri, "test:///default");

  const guest = findGuest(connection, "test");
  t.after(() => guest.free());
  assert.equal(guest.name, "test");
  assert.equal(guest.uuid, DEFAULT_TEST_UUID);
  assert.equal(guest.state(), "running");
  assert.match(guest.xml({ secure: false }), /<name>test<\/name>/);

  const byUuid = findGuest(connection, DEFAULT_TEST_UUID);
  assert.equal(byUuid.name, "test");
  byUuid.free();

  assert.equal(connection.domainExists("test"), true);
  assert.equal(connection.domainExists("no-such-guest"), false);

  const pool = findPool(connection, "default-pool");
  assert.equal(pool.name, "default-pool");
  assert.match(pool.xml(), /^<pool type='dir'>/);
  pool.free();
});

test("a node XML: two domains by name and UUID, their states and XML", async (t) => {
  const dir = await tempDir(t);
  const { uri } = await writeNode(dir);
  const connection = open(t, uri);
  assert.equal(connection.uri, uri);

  const off = connection.lookupDomainByName("guest-off");
  t.after(() => off.free());
  assert.equal(off.uuid, OFF_UUID);
  assert.equal(off.state(), "shutoff");

  const on = connection.lookupDomainByUuid(ON_UUID);
  t.after(() => on.free());
  assert.equal(on.name, "guest-on");
  assert.equal(on.state(), "running");

  // VIR_DOMAIN_XML_SECURE is what includes passwords (virt-v2v asks for it, RHBZ#1174123).
  const secureXml = off.xml({ secure: true });
  assert.match(secureXml, /passwd='vnc-secret'/);
  assert.match(secureXml, /<source pool='v2v-pool' volume='disk1.img'\/>/);
  assert.doesNotMatch(off.xml({ secure: false }), /vnc-secret/);

  const found = findGuest(connection, OFF_UUID);
  assert.equal(found.name, "guest-off");
  found.free();
  const foundByName = findGuest(connection, "guest-on");
  assert.equal(foundByName.uuid, ON_UUID);
  foundByName.free();
});

test("lookups that fail: libvirt's codes, and virt-v2v's 'cannot find' messages", async (t) => {
  const dir = await tempDir(t);
  const { uri } = await writeNode(dir);
  const connection = open(t, uri);

  const notAUuid = libvirtErrorOf(() => connection.lookupDomainByUuid("guest-off"));
  assert.equal(notAUuid.code, VIR_ERR_INVALID_ARG);
  assert.equal(notAUuid.domain, VIR_FROM_DOMAIN);
  assert.equal(notAUuid.libvirtCall, "virDomainLookupByUUIDString");

  const unknownUuid = libvirtErrorOf(() =>
    connection.lookupDomainByUuid("00000000-0000-0000-0000-000000000000"),
  );
  assert.equal(unknownUuid.code, VIR_ERR_NO_DOMAIN);

  const unknownName = libvirtErrorOf(() => connection.lookupDomainByName("nope"));
  assert.equal(unknownName.code, VIR_ERR_NO_DOMAIN);

  assert.throws(
    () => findGuest(connection, "nope"),
    (error: unknown) =>
      error instanceof UserError &&
      error.message === `cannot find libvirt domain ‘nope’: ${unknownName.message}`,
  );

  const unknownPool = libvirtErrorOf(() => connection.lookupPool("nope"));
  assert.equal(unknownPool.code, VIR_ERR_NO_STORAGE_POOL);
  assert.throws(
    () => findPool(connection, "nope"),
    (error: unknown) =>
      error instanceof UserError &&
      error.message ===
        `cannot find libvirt pool ‘nope’: ${unknownPool.message}\n\n` +
          "Use ‘virsh pool-list --all’ to list all available pools, and ‘virsh pool-dumpxml " +
          "<pool>’ to display details about a particular pool.\n\n" +
          "To set the pool which virt-v2v uses, add the ‘-os <pool>’ option.",
  );

  const pool = findPool(connection, "v2v-pool");
  t.after(() => pool.free());
  const unknownVolume = libvirtErrorOf(() => pool.lookupVolume("nope.img"));
  assert.equal(unknownVolume.code, VIR_ERR_NO_STORAGE_VOL);
  assert.match(unknownVolume.message, /nope\.img/);
  assert.throws(
    () => findVolume(pool, "nope.img"),
    (error: unknown) =>
      error instanceof UserError &&
      error.message === `cannot find libvirt volume ‘nope.img’: ${unknownVolume.message}`,
  );

  // Each error was cleared once read, so none is left behind for a later call to misreport.
  assert.equal(virt.getLastError(), null);
  assert.equal(connection.domainExists("guest-off"), true);
});

test("a node XML: the pool by UUID and by name, its volume and the volume's path", async (t) => {
  const dir = await tempDir(t);
  const { uri, volumePath } = await writeNode(dir);
  const connection = open(t, uri);

  const byUuid = findPool(connection, POOL_UUID);
  assert.equal(byUuid.name, "v2v-pool");
  byUuid.free();

  const pool = findPool(connection, "v2v-pool");
  t.after(() => pool.free());
  const poolXml = pool.xml();
  assert.match(poolXml, /^<pool type='dir'>/);
  assert.ok(poolXml.includes(`<path>${dir}</path>`), poolXml);
  pool.refresh();

  const volume = findVolume(pool, "disk1.img");
  t.after(() => volume.free());
  assert.equal(volume.name, "disk1.img");
  assert.equal(volume.path, volumePath);
  const volumeXml = volume.xml();
  assert.match(volumeXml, /^<volume type='file'>/);
  assert.ok(volumeXml.includes(`<path>${volumePath}</path>`), volumeXml);
  assert.match(volumeXml, /<format type='raw'\/>/);
});

test("the running-or-paused refusal, on URIs other than test:", async (t) => {
  const dir = await tempDir(t);
  const { uri } = await writeNode(dir);
  const connection = open(t, uri);

  // findGuest skips the check on test: URIs, so the check is called as findGuest calls it on
  // any other URI, with the test driver's real domains.
  const on = connection.lookupDomainByName("guest-on");
  assert.throws(
    () => checkGuestShutDown("qemu:///system", on),
    (error: unknown) =>
      error instanceof UserError &&
      error.message ===
        "libvirt domain ‘guest-on’ is running or paused.  It must be shut down in order to " +
          "perform virt-v2v conversion",
  );
  assert.throws(() => on.state(), LibvirtError, "the refusal frees the domain");

  const off = connection.lookupDomainByName("guest-off");
  assert.equal(checkGuestShutDown("qemu:///system", off), off);
  assert.equal(checkGuestShutDown("test:///default", off), off);
  off.free();

  // findGuest on a test: URI returns the running domain.
  const running = findGuest(connection, "guest-on");
  assert.equal(running.state(), "running");
  running.free();
});

test("defineDomain, domainExists, capabilities", (t) => {
  const connection = open(t, "test:///default");
  assert.equal(connection.domainExists("converted"), false);
  const domain = connection.defineDomain(
    "<domain type='test'><name>converted</name><memory unit='KiB'>1024</memory>" +
      "<os><type>hvm</type></os></domain>",
  );
  assert.equal(domain.name, "converted");
  assert.match(domain.uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  assert.equal(domain.state(), "shutoff");
  domain.free();
  assert.equal(connection.domainExists("converted"), true);

  const bad = libvirtErrorOf(() => connection.defineDomain("<domain"));
  assert.equal(bad.libvirtCall, "virDomainDefineXML");
  assert.ok(bad.message.length > 0);

  assert.match(connection.capabilities(), /^<capabilities>/);

  // undefine: the definition goes (the object stays usable until freed). The test driver
  // refuses VIR_DOMAIN_UNDEFINE_NVRAM, which shows that the flag reaches libvirt.
  const defined = connection.lookupDomainByName("converted");
  const withNvram = libvirtErrorOf(() => defined.undefine({ nvram: true }));
  assert.equal(withNvram.libvirtCall, "virDomainUndefineFlags");
  assert.match(withNvram.message, /unsupported flags \(0x4\)/);
  defined.undefine({ nvram: false });
  assert.equal(connection.domainExists("converted"), false);
  assert.equal(
    libvirtErrorOf(() => defined.undefine({ nvram: false })).libvirtCall,
    "virDomainUndefineFlags",
  );
  defined.free();
});

test("close and free are idempotent; a closed connection refuses calls; domains outlive it", (t) => {
  const connection = LibvirtConnection.open("test:///default", { readOnly: true });
  const domain = connection.lookupDomainByName("test");
  connection.close();
  connection.close();
  assert.throws(() => connection.lookupDomainByName("test"), LibvirtError);
  // A domain holds a reference on libvirt's connection, so it stays usable until freed.
  assert.equal(domain.state(), "running");
  domain.free();
  domain.free();
  assert.throws(() => domain.xml({ secure: false }), LibvirtError);
  t.diagnostic("closed and freed twice without error");
});

test("esx://127.0.0.1:1: the ESX driver is there, and its connection error is libvirt's text", async (t) => {
  const dir = await tempDir(t);
  const passwordFile = join(dir, "password");
  await writeFile(passwordFile, "not-sent\n");
  const error = libvirtErrorOf(() =>
    LibvirtConnection.open("esx://root@127.0.0.1:1/?no_verify=1", { passwordFile }),
  );
  assert.equal(error.code, VIR_ERR_INTERNAL_ERROR);
  assert.equal(error.domain, VIR_FROM_ESX);
  assert.equal(error.libvirtCall, "virConnectOpenAuth");
  assert.match(error.message, /^internal error: curl_easy_perform\(\) returned an error: /);
  assert.match(error.message, /Couldn't connect to server/);
  assert.doesNotMatch(error.message, /not-sent/);
});

test("libvirt prints nothing to stderr itself (virSetErrorFunc is a no-op)", async (t) => {
  const dir = await tempDir(t);
  const passwordFile = join(dir, "password");
  await writeFile(passwordFile, "x\n");
  const index = fileURLToPath(new URL("../src/index.js", import.meta.url));
  const script =
    `const { LibvirtConnection } = await import(${JSON.stringify(index)});` +
    "try { LibvirtConnection.open(process.argv[1], { passwordFile: process.argv[2] }); }" +
    "catch (error) { process.stdout.write(error.message); }";
  const result = await execa(
    process.execPath,
    ["--input-type=module", "-e", script, "esx://root@127.0.0.1:1/?no_verify=1", passwordFile],
    { stdin: "ignore" },
  );
  assert.match(result.stdout, /Couldn't connect to server/);
  assert.equal(result.stderr, "");
});

test("a password file: its first line reaches an ESXi host's Login, XML-escaped (stand-in host)", async (t) => {
  const dir = await tempDir(t);
  const passwordFile = join(dir, "password");
  await writeFile(passwordFile, "pa<ss&word \u00e9\nsecond line\n");
  const requestLog = join(dir, "requests.jsonl");
  const standIn = execa(
    process.execPath,
    [fileURLToPath(new URL("./esx-stand-in.js", import.meta.url)), requestLog],
    { stdin: "ignore", stdout: "pipe", stderr: "inherit", buffer: false },
  );
  t.after(async () => {
    standIn.kill();
    await standIn.catch(() => undefined);
  });
  const port = await new Promise<string>((resolve, reject) => {
    standIn.stdout.once("data", (chunk: Buffer) => resolve(chunk.toString().trim()));
    standIn.once("exit", () => reject(new Error("the ESXi stand-in exited")));
  });

  // The driver blocks this thread until it is done; the stand-in answers from its own process.
  const error = libvirtErrorOf(() =>
    LibvirtConnection.open(`esx://root@127.0.0.1:${port}/?no_verify=1&transport=http`, {
      passwordFile,
    }),
  );
  assert.equal(error.domain, VIR_FROM_ESX);
  assert.match(error.message, /Cannot complete login due to an incorrect user name or password/);
  assert.doesNotMatch(error.message, /pa<ss|pa&lt;ss/);

  const requests = (await readFile(requestLog, "utf8"))
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as { url: string; body: string });
  assert.deepEqual(
    requests.map((request) => request.url),
    ["/sdk", "/sdk"],
  );
  const login = requests[1]?.body ?? "";
  assert.match(login, /<userName [^>]*>root<\/userName>/);
  assert.match(login, /<password [^>]*>pa&lt;ss&amp;word \u00e9<\/password>/);
  assert.doesNotMatch(login, /second line/);
});

test("a password file without a user in the URI: the user-name request is left unanswered", async (t) => {
  const dir = await tempDir(t);
  const passwordFile = join(dir, "password");
  await writeFile(passwordFile, "secret\n");
  // The esx driver asks for VIR_CRED_AUTHNAME first; like virt-v2v, the password-file callback
  // answers only password requests, and libvirt 9.0 then fails without saying why.
  const error = libvirtErrorOf(() =>
    LibvirtConnection.open("esx://127.0.0.1:1/?no_verify=1", { passwordFile }),
  );
  assert.equal(error.message, "An error occurred, but the cause is unknown");
});

test("the auth callback itself, called through koffi with a credential array built here", async (t) => {
  const dir = await tempDir(t);
  const passwordFile = join(dir, "password");
  await writeFile(passwordFile, "s3cret\r\nnot this\n");
  const password = readFirstLine(passwordFile);
  // Only the newline goes: like OCaml's input_line, a CR before it stays part of the password.
  assert.equal(password.toString(), "s3cret\r");
  const auth = passwordFileAuth(password);
  assert.equal(auth.kind, "callback");
  if (auth.kind !== "callback") return;
  // libvirt's default credential types, as virt-v2v takes them from virConnectAuthPtrDefault.
  assert.deepEqual(auth.credentialTypes.slice(0, 2), [VIR_CRED_AUTHNAME, VIR_CRED_ECHOPROMPT]);
  assert.ok(auth.credentialTypes.includes(VIR_CRED_PASSPHRASE));
  assert.ok(auth.credentialTypes.includes(VIR_CRED_NOECHOPROMPT));

  const called = callAuthCallbackForTest(
    [
      { type: VIR_CRED_AUTHNAME, prompt: "Enter username for host [root]" },
      { type: VIR_CRED_PASSPHRASE, prompt: "Enter root's password for host" },
      { type: VIR_CRED_NOECHOPROMPT, prompt: "Enter passphrase" },
      { type: VIR_CRED_ECHOPROMPT, prompt: "Echo?" },
    ],
    auth.answer,
  );
  assert.equal(called.status, 0);
  assert.deepEqual(called.results, [null, "s3cret\r", "s3cret\r", null]);
  assert.deepEqual(called.lengths, [0, 7, 7, 0]);

  const failing = callAuthCallbackForTest([{ type: VIR_CRED_PASSPHRASE, prompt: "p" }], () => {
    throw new Error("cannot answer");
  });
  assert.equal(failing.status, -1);
  assert.deepEqual(failing.results, [null]);

  const empty = join(dir, "empty");
  await writeFile(empty, "");
  assert.equal(readFirstLine(empty).length, 0);
  assert.throws(
    () => LibvirtConnection.open("test:///default", { passwordFile: join(dir, "missing") }),
    (error: unknown) => error instanceof UserError && /password file/.test(error.message),
  );
});

test("a password file on a driver that asks for nothing: the callback is offered and not used", async (t) => {
  const dir = await tempDir(t);
  const passwordFile = join(dir, "password");
  await writeFile(passwordFile, "unused\n");
  const connection = LibvirtConnection.open("test:///default", { passwordFile });
  t.after(() => connection.close());
  assert.equal(connection.uri, "test:///default");
});
