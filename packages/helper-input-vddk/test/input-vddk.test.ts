import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import readline from "node:readline";
import tls from "node:tls";
import { fileURLToPath } from "node:url";
import type { AddressInfo } from "node:net";
import { execa } from "execa";
import { nbdkitsMentioning } from "@split-v2v/helper-test-kit";
import { NbdConnection } from "@split-v2v/libnbd";
import { readMetadata } from "@split-v2v/metadata-schema";
import { DOMAIN_XML_STANDIN_ENV, VDDK_STANDIN_ENV } from "../src/index.js";
import {
  PASSWORD,
  THUMBPRINT,
  VCENTER_URI,
  helperArgs,
  makeVcenterStandin,
  precheck,
  serve,
} from "./vcenter-standin.js";

/** The stderr's error line, the one line the user sees. */
function errorLine(stderr: string): string {
  return (
    stderr.split("\n").find((line) => line.startsWith("helper-v2v-input-vddk: error: ")) ?? stderr
  );
}

test("setup serves each datastore disk through the stand-in for VDDK, and no password shows anywhere", async (t) => {
  const standin = await makeVcenterStandin(t, { disks: 2 });
  const args = helperArgs(standin, [
    `vddk-thumbprint=${THUMBPRINT}`,
    `vddk-libdir=${standin.libdir}`,
    "vddk-transports=nbdssl:nbd",
  ]);
  const { child, events, log, ready } = await serve(args, standin.env, standin.workdir);
  t.after(() => {
    child.kill("SIGTERM");
  });
  assert.ok(ready, log.join("\n"));
  assert.deepEqual(events.at(-1), { event: "ready", sockets: ["in0", "in1"] });

  // While it serves: no process shows the password (nbdkit has password=+FILE).
  const processes = await execa("ps", ["-eo", "args"]);
  assert.ok(!processes.stdout.includes(PASSWORD), "the password is in a process listing");
  const nbdkits = await nbdkitsMentioning(standin.workdir);
  assert.equal(nbdkits.length, 2, nbdkits.join("\n"));
  for (const line of nbdkits) {
    assert.match(line, new RegExp(`password=\\+${standin.passwordFile}`));
    assert.match(
      line,
      /--filter=multi-conn --filter=cow --filter=blocksize --filter=cacheextents --filter=retry sh /,
    );
    assert.match(line, /file=\[datastore1\] guest\/guest(_1)?\.vmdk/);
  }

  // The served disks are the datastore's -flat.vmdk files, read back over NBD.
  for (const [index, disk] of standin.disks.entries()) {
    const connection = await NbdConnection.connectUnix(path.join(standin.workdir, `in${index}`));
    try {
      assert.equal(connection.size, BigInt(disk.size));
      assert.deepEqual(await connection.pread(0n, disk.content.length), disk.content);
      assert.deepEqual(await connection.pread(1024n * 1024n, disk.content.length), disk.content);
      assert.deepEqual(await connection.pread(3n * 1024n * 1024n, 4096), Buffer.alloc(4096));
      assert.equal(connection.canMultiConn(), false, "multi-conn-mode=disable above cow");
      // The overlay takes writes; the datastore's file stays as it was.
      await connection.pwrite(0n, Buffer.from("overwritten"));
      assert.deepEqual(await connection.pread(0n, 11), Buffer.from("overwritten"));
    } finally {
      connection.close();
    }
    const flat = path.join(
      String(standin.env.VDDK_STANDIN_DATASTORES),
      "datastore1",
      "guest",
      `${index === 0 ? "guest" : `guest_${index}`}-flat.vmdk`,
    );
    assert.deepEqual((await readFile(flat)).subarray(0, disk.content.length), disk.content);
  }

  const metadata = await readMetadata("metadata.in", path.join(standin.workdir, "metadata.in"));
  assert.deepEqual(metadata.input, {
    mode: "libvirt",
    description: `-i libvirt -ic ${VCENTER_URI} -it vddk guest`,
  });
  assert.equal(metadata.source.name, "guest");
  assert.equal(metadata.source.hypervisor, "vmware");
  assert.deepEqual(
    metadata.source.disks.map((disk) => [disk.socket, disk.format, disk.location, disk.controller]),
    [
      ["in0", "raw", "[datastore1] guest/guest.vmdk", "scsi"],
      ["in1", "raw", "[datastore1] guest/guest_1.vmdk", "scsi"],
    ],
  );
  assert.deepEqual(
    metadata.source.disks.map((disk) => disk.virtualSize),
    standin.disks.map((disk) => disk.size),
  );

  child.kill("SIGTERM");
  const result = await child;
  assert.equal(result.exitCode, 0, log.join("\n"));
  assert.ok(
    log.some((line) => line.includes("starting nbdkit")),
    "the -v log has the servers",
  );
  assert.ok(!log.some((line) => line.includes(PASSWORD)), "the password is in the helper's log");
  assert.deepEqual(await nbdkitsMentioning(standin.workdir), [], "no nbdkit is left");
});

test("--bandwidth puts the rate filter outermost, and vddk-file overrides each disk's path", async (t) => {
  const standin = await makeVcenterStandin(t);
  const args = helperArgs(standin, [
    `vddk-thumbprint=${THUMBPRINT}`,
    "vddk-file=[datastore1] guest/guest.vmdk",
  ]);
  const { child, log, ready } = await serve(
    ["--bandwidth", "100M", ...args],
    standin.env,
    standin.workdir,
  );
  t.after(() => {
    child.kill("SIGTERM");
  });
  assert.ok(ready, log.join("\n"));
  const [nbdkit] = await nbdkitsMentioning(standin.workdir);
  assert.match(nbdkit ?? "", /--filter=rate --filter=multi-conn --filter=cow .* rate=100M/);
  child.kill("SIGTERM");
  await child;
});

test("the stand-in refuses what VDDK would: a wrong password fails at start with the server's words", async (t) => {
  const standin = await makeVcenterStandin(t);
  await writeFile(standin.passwordFile, "wrong");
  const { child, log, ready } = await serve(
    helperArgs(standin, [`vddk-thumbprint=${THUMBPRINT}`]),
    standin.env,
    standin.workdir,
  );
  const result = await child;
  assert.equal(ready, false);
  assert.equal(result.exitCode, 1);
  assert.match(errorLine(log.join("\n")), /nbdkit could not serve .*login refused/);
  assert.ok(!log.some((line) => line.includes(PASSWORD)));
});

test("precheck: every problem is one line before any server starts", async (t) => {
  const standin = await makeVcenterStandin(t);
  const refused = async (
    io: readonly string[],
    message: RegExp,
    change: { env?: NodeJS.ProcessEnv; args?: string[] } = {},
  ) => {
    const result = await precheck(
      change.args ?? helperArgs(standin, io),
      change.env ?? standin.env,
      standin.workdir,
    );
    assert.equal(result.exitCode, 1, `${io.join(" ")}: ${result.stderr}`);
    assert.match(errorLine(result.stderr), message);
    assert.ok(!result.stderr.includes(PASSWORD));
  };
  const thumbprint = `vddk-thumbprint=${THUMBPRINT}`;

  // Debian has no vddk plugin: without the stand-in the plugin itself is looked for.
  const plugin = await execa("nbdkit", ["vddk", "--dump-plugin"], { reject: false });
  if (plugin.exitCode !== 0) {
    const { [VDDK_STANDIN_ENV]: _standin, ...withoutStandin } = standin.env;
    void _standin;
    await refused(
      [thumbprint],
      /nbdkit's vddk plugin is not installed; -it vddk needs it\.  Debian has no package of it: it is built from nbdkit's sources .* VMware's proprietary VDDK .* virt-v2v-input-vmware\(1\)/,
      { env: withoutStandin },
    );
  }
  await refused(
    [thumbprint, `vddk-libdir=${path.join(standin.dir, "nowhere")}`],
    /‘-io vddk-libdir=.*nowhere’ does not point to a directory/,
  );
  await refused(
    [thumbprint, `vddk-libdir=${standin.dir}`],
    /-io vddk-libdir=.*: there is no lib64\/libvixDiskLib\.so\.\* under it/,
  );
  await refused(
    ["vddk-thumbprint=51-5E-3C"],
    /-io vddk-thumbprint=51-5E-3C: not an SSL thumbprint/,
  );
  await refused([thumbprint, "vddk-port=443", "vddk-port=902"], /duplicate -io options/);
  await refused([thumbprint, "vddk-bogus=1"], /‘-io vddk-bogus’ is not a valid input option/);
  await refused([thumbprint], /give -ip FILE/, {
    args: ["-ic", VCENTER_URI, "-io", thumbprint, "--", "guest"],
  });
  await refused([thumbprint], /-ip .*missing: cannot read the password file/, {
    args: ["-ic", VCENTER_URI, "-ip", path.join(standin.dir, "missing"), "--", "guest"],
  });
  await refused(
    [thumbprint, "vddk-file=[ds] a.vmdk", "vddk-file=[ds] b.vmdk"],
    /‘-io vddk-file=’ must be used exactly 1 times/,
  );

  // A vCenter whose XML has no moref (libvirt older than 3.7), in virt-v2v 2.2's words.
  const old = await makeVcenterStandin(t, { moref: false });
  await refused(
    [thumbprint],
    /<vmware:moref> was not found in the output of ‘virsh dumpxml "guest"’\.  The most likely reason is that libvirt is too old, try upgrading libvirt to ≥ 3\.7\./,
    { env: old.env },
  );

  // A check that passes writes nothing into the work dir and leaves no server.
  const passed = await precheck(helperArgs(standin, [thumbprint]), standin.env, standin.workdir);
  assert.equal(passed.exitCode, 0, passed.stderr);
  assert.deepEqual(await readdir(standin.workdir), []);
});

test("without -io vddk-thumbprint the server's certificate gives it; an unreachable server is one clear line", async (t) => {
  const standin = await makeVcenterStandin(t);
  const key = path.join(standin.dir, "server.key");
  const certificate = path.join(standin.dir, "server.crt");
  await execa("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    key,
    "-out",
    certificate,
    "-days",
    "1",
    "-subj",
    "/CN=localhost",
  ]);
  // What newer virt-v2v runs: openssl x509 -fingerprint -sha1.
  const openssl = await execa("openssl", [
    "x509",
    "-in",
    certificate,
    "-noout",
    "-fingerprint",
    "-sha1",
  ]);
  const expected = /fingerprint=([0-9A-F:]+)/i.exec(openssl.stdout)![1]!.toUpperCase();

  const server = tls.createServer(
    { key: await readFile(key), cert: await readFile(certificate) },
    (socket) => socket.end(),
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as AddressInfo).port;

  const uri = "esx://root@127.0.0.1/?no_verify=1";
  const found = await precheck(
    helperArgs(standin, [`vddk-port=${port}`], uri),
    { ...standin.env, VDDK_STANDIN_THUMBPRINT: expected },
    standin.workdir,
  );
  assert.equal(found.exitCode, 0, found.stderr);
  assert.ok(
    found.stderr.includes(`the SSL thumbprint of 127.0.0.1:${port} is ${expected}`),
    found.stderr,
  );

  // Setup then gives nbdkit that thumbprint (the stand-in checks it).
  const { child, log, ready } = await serve(
    helperArgs(standin, [`vddk-port=${port}`], uri),
    { ...standin.env, VDDK_STANDIN_THUMBPRINT: expected },
    standin.workdir,
  );
  t.after(() => {
    child.kill("SIGTERM");
  });
  assert.ok(ready, log.join("\n"));
  child.kill("SIGTERM");
  await child;

  await new Promise<void>((resolve) => server.close(() => resolve()));
  const unreachable = await precheck(
    helperArgs(standin, [`vddk-port=${port}`], uri),
    standin.env,
    standin.workdir,
  );
  assert.equal(unreachable.exitCode, 1);
  assert.match(
    errorLine(unreachable.stderr),
    new RegExp(
      `could not fetch the SSL thumbprint from 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\); give it with ‘-io vddk-thumbprint=XX:XX:\\.\\.\\.’`,
    ),
  );
});

test("over -ic (libvirt's esx driver): a refused login and an unreachable server are one line in libvirt's words", async (t) => {
  const standin = await makeVcenterStandin(t);
  // Without the domain XML stand-in the helper opens -ic with libvirt.so.0; the ESXi SOAP
  // stand-in of @split-v2v/libvirt's tests refuses the login as a real host does.
  const { [DOMAIN_XML_STANDIN_ENV]: _xml, ...env } = standin.env;
  void _xml;
  const esxStandin = path.resolve(
    path.dirname(fileURLToPath(import.meta.url)),
    "../../../libvirt/dist/test/esx-stand-in.js",
  );
  const esx = execa(process.execPath, [esxStandin, path.join(standin.dir, "soap.log")], {
    buffer: false,
    reject: false,
  });
  t.after(() => {
    esx.kill("SIGTERM");
  });
  const port = await new Promise<string>((resolve) => {
    readline.createInterface({ input: esx.stdout! }).once("line", resolve);
  });
  const thumbprint = `vddk-thumbprint=${THUMBPRINT}`;
  const refused = await precheck(
    helperArgs(standin, [thumbprint], `esx://root@127.0.0.1:${port}/?no_verify=1&transport=http`),
    env,
    standin.workdir,
  );
  assert.equal(refused.exitCode, 1);
  assert.match(
    errorLine(refused.stderr),
    /cannot open the libvirt connection ‘esx:\/\/root@127\.0\.0\.1:\d+\/\?no_verify=1&transport=http’: .*Cannot complete login due to an incorrect user name or password/,
  );
  assert.ok(!refused.stderr.includes(PASSWORD));
  const soap = await readFile(path.join(standin.dir, "soap.log"), "utf8");
  assert.ok(soap.includes(PASSWORD), "the -ip password reached the Login call");

  const unreachable = await precheck(
    helperArgs(standin, [thumbprint], "esx://root@127.0.0.1:1/?no_verify=1"),
    env,
    standin.workdir,
  );
  assert.equal(unreachable.exitCode, 1);
  assert.match(
    errorLine(unreachable.stderr),
    /cannot open the libvirt connection .*Couldn't connect to server/,
  );
});
