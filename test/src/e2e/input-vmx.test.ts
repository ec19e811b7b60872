/**
 * `virt-v2v -i vmx`: VMware guests described by their .vmx file, read locally or over SSH.
 *
 * --print-source is checked against the text upstream virt-v2v expects for real VMware files
 * (../shared/testdata/virt-v2v-upstream/vmx). The SSH transport is checked against an sshd started
 * here on 127.0.0.1: nbdkit's ssh plugin (libssh) insists on a known host key and reads it only
 * from ~/.ssh/known_hosts or /etc/ssh/ssh_known_hosts, so virt-v2v and sshd run in a private
 * mount namespace where /etc/ssh (and, for password logins, /etc/shadow) are this test's own
 * copies; the host's files are never touched.
 */
import { after, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { copyFile, mkdir, mkdtemp, readFile, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { sharedSshHost } from "@split-v2v/test-sshd";
import { linuxGuest, sharedTestdataDir, sharedTestdataMissingReason } from "../fixtures/guests.js";
import {
  VIRT_V2V,
  errorLines,
  leftovers,
  makeSandbox,
  runEnvironment,
  sha256,
  virtV2v,
  type Sandbox,
  type V2vResult,
} from "../support/run.js";

/** virt-v2v's own normalisation (tests/test-i-vmx.sh): drop the lines and paths that vary. */
function normalisePrintSource(stdout: string, directory: string): string {
  return stdout
    .split("\n")
    .map((line) => (/Setting up the source|Opening the source/.test(line) ? "" : line))
    .join("\n")
    .split(directory)
    .join("");
}

test("--print-source prints virt-v2v's text for real VMware .vmx files", async (t) => {
  const upstream = sharedTestdataDir();
  if (upstream === null) {
    t.skip(sharedTestdataMissingReason() ?? "upstream test data not found");
    return;
  }
  const sandbox = await makeSandbox("vmx-print");
  t.after(() => sandbox.dispose());
  const vmxFiles = (await readdir(path.join(upstream, "vmx")))
    .filter((name) => name.endsWith(".vmx"))
    .sort();
  assert.ok(vmxFiles.length > 0, "the upstream data has .vmx files");
  for (const name of vmxFiles) {
    await t.test(name, async () => {
      // As upstream's test: the .vmx beside a tiny real vmdk for every disk it names.
      const directory = await mkdtemp(path.join(sandbox.out, "guest-"));
      const vmx = path.join(directory, name);
      await copyFile(path.join(upstream, "vmx", name), vmx);
      const text = await readFile(vmx, "utf8");
      for (const [, fileName] of text.matchAll(/\.fileName = "([^"/]+\.vmdk)"/gi)) {
        await execa("qemu-img", [
          "create",
          "-q",
          "-f",
          "vmdk",
          path.join(directory, fileName!),
          "512",
        ]);
      }
      const expected = await readFile(
        path.join(upstream, "vmx", name.replace(/\.vmx$/, ".expected")),
        "utf8",
      );
      // No -o, as upstream's test: --print-source never reaches the (default) output.
      const result = await virtV2v(["-i", "vmx", vmx, "--print-source"], sandbox);
      assert.equal(result.exitCode, 0, result.stderr);
      assert.equal(normalisePrintSource(result.stdout, directory), expected);
    });
  }
  assert.deepEqual(await leftovers(sandbox), { processes: [], workdirs: [] });
});

test("-i vmx errors: a missing disk, a disk given as the .vmx, refused options", async (t) => {
  const sandbox = await makeSandbox("vmx-errors");
  t.after(() => sandbox.dispose());
  const vmx = path.join(sandbox.out, "guest.vmx");
  await writeFile(
    vmx,
    'displayName = "guest"\nscsi0:0.present = "TRUE"\nscsi0:0.fileName = "guest.vmdk"\n',
  );
  const disk = path.join(sandbox.out, "other.vmdk");
  await execa("qemu-img", ["create", "-q", "-f", "vmdk", disk, "1M"]);
  const cases: Array<[string[], string]> = [
    [
      ["-i", "vmx", vmx],
      `-i vmx: cannot open the disk image ${path.join(sandbox.out, "guest.vmdk")} (scsi0:0.fileName in the VMX file): No such file or directory`,
    ],
    [
      ["-i", "vmx", disk],
      "input file is a VMDK (disk image), but we are expecting a VMX (VMware metadata)",
    ],
    [["-i", "vmx", vmx, "-io", "x=y"], "no -io (input options) are allowed here"],
    [["-i", "vmx", "-it", "vddk", vmx], "-i vmx: cannot use -it vddk in this input mode"],
    [
      ["-i", "vmx", "-it", "ssh", "ssh://esx.example.com/"],
      "vmx URI path component looks incorrect",
    ],
  ];
  for (const [args, message] of cases) {
    const result = await virtV2v([...args, "-o", "null"], sandbox);
    assert.equal(result.exitCode, 1, args.join(" "));
    assert.deepEqual(errorLines(result.stderr), [`virt-v2v: error: ${message}`]);
  }
  assert.deepEqual(await leftovers(sandbox), { processes: [], workdirs: [] });
});

// ------------------------------------------------------------------------------------------------
// SSH

/** The test's sshd (@split-v2v/test-sshd), started on first use; virt-v2v runs in its namespace. */
const sshHosts = sharedSshHost();

after(() => sshHosts.dispose());

interface SshHost {
  port: number;
  user: string;
  /** A file holding the user's password inside the namespace, or null if logins by password cannot be set up. */
  passwordFile: string | null;
  /** Runs virt-v2v inside the namespace; with `agent`, the test's ssh-agent holds the user's key. */
  virtV2v(args: string[], sandbox: Sandbox, options: { agent: boolean }): Promise<V2vResult>;
}

async function sshOrSkip(t: TestContext): Promise<SshHost | null> {
  const host = await sshHosts.get();
  if (typeof host === "string") {
    t.skip(`no sshd for this test: ${host}`);
    return null;
  }
  return {
    port: host.port,
    user: host.user,
    passwordFile: host.passwordFile,
    virtV2v: (args, sandbox, options) =>
      host.run([process.execPath, VIRT_V2V, ...args], {
        agent: options.agent,
        env: runEnvironment(sandbox),
      }),
  };
}

/** A guest folder as on an ESXi datastore: the .vmx and flat vmdks, one in a subfolder. */
async function smallRemoteGuest(sandbox: Sandbox, diskName: string): Promise<string> {
  const datastore = path.join(path.dirname(sandbox.tmp), "datastore", "small guest");
  await mkdir(path.join(datastore, "extra"), { recursive: true });
  for (const disk of ["small.vmdk", "extra/data.vmdk"]) {
    await execa("qemu-img", [
      "create",
      "-q",
      "-f",
      "vmdk",
      "-o",
      "subformat=monolithicFlat",
      path.join(datastore, disk),
      "4M",
    ]);
  }
  const vmx = path.join(datastore, "small guest.vmx");
  await writeFile(
    vmx,
    [
      'displayName = "small guest"',
      'memSize = "1024"',
      'numvcpus = "2"',
      'firmware = "efi"',
      'scsi0.present = "TRUE"',
      'scsi0:0.present = "TRUE"',
      `scsi0:0.fileName = "${diskName}"`,
      'nvme0:0.fileName = "extra/data.vmdk"',
      'ethernet0.present = "TRUE"',
      'ethernet0.virtualDev = "vmxnet3"',
      'ethernet0.connectionType = "bridged"',
      'ethernet0.generatedAddress = "00:50:56:aa:bb:cc"',
      "",
    ].join("\n"),
  );
  return vmx;
}

function sshUri(host: SshHost, remotePath: string): string {
  return `ssh://${host.user}@127.0.0.1:${host.port}${encodeURI(remotePath)}`;
}

const SMALL_GUEST_SOURCE = [
  "Source guest information (--print-source option):",
  "",
  "    source name: small guest",
  "hypervisor type: vmware",
  "       VM genid: ",
  "         memory: 1073741824 (bytes)",
  "       nr vCPUs: 2",
  "     CPU vendor: ",
  "      CPU model: ",
  "   CPU topology: ",
  "   CPU features: ",
  "       firmware: uefi",
  "        display: ",
  "          sound: ",
  "disks:",
  "\t0 [scsi]",
  "\t1 [nvme]",
  "removable media:",
  "",
  "NICs:",
  '\tBridge "ethernet0" mac: 00:50:56:aa:bb:cc [vmxnet3]',
  "",
  "",
].join("\n");

test("-it ssh --bandwidth: nbdkit's rate filter limits the ssh disks (the helper's log shows it)", async (t) => {
  const host = await sshOrSkip(t);
  if (host === null) return;
  const sandbox = await makeSandbox("vmx-ssh-rate");
  t.after(() => sandbox.dispose());
  const vmx = await smallRemoteGuest(sandbox, "small.vmdk");
  const rateFile = path.join(sandbox.tmp, "rate");
  await writeFile(rateFile, "2G\n");
  const uri = sshUri(host, vmx);
  const result = await host.virtV2v(
    ["-i", "vmx", "-it", "ssh", uri, "-o", "null", "--print-source", "-v"].concat([
      "--bandwidth",
      "1G",
      "--bandwidth-file",
      rateFile,
    ]),
    sandbox,
    { agent: true },
  );
  assert.equal(result.exitCode, 0, result.stderr);
  const starts = result.stderr.split("\n").filter((line) => /starting nbdkit: .* ssh /.test(line));
  assert.ok(starts.length > 0, result.stderr);
  // The disks' servers (on WORKDIR/in0, in1); the helper's probes of the files read no data.
  const diskServers = starts.filter((start) => / --unix \S+\/in\d+ /.test(start));
  assert.equal(diskServers.length, 2, result.stderr);
  for (const line of diskServers) {
    // virt-v2v 2.2's order, inner to outer: retry, cow, rate.
    assert.match(
      line,
      / --filter=rate --filter=cow --filter=cacheextents --filter=retry ssh cow-on-read=\S+\/convert /,
    );
    assert.match(line, / rate=1G rate-file=\S+\/rate$/);
  }
  // A local .vmx moves nothing over a network: the options are refused before anything starts.
  const local = await virtV2v(["-i", "vmx", vmx, "-o", "null", "--bandwidth", "1G"], sandbox);
  assert.equal(local.exitCode, 1);
  assert.match(
    local.stderr,
    /^virt-v2v: error: --bandwidth \/ --bandwidth-file: -i vmx reads local files here/,
  );
  assert.deepEqual(await leftovers(sandbox), { processes: [], workdirs: [] });
});

test("-it ssh: the .vmx and its flat disks are read over SSH with the user's key", async (t) => {
  const host = await sshOrSkip(t);
  if (host === null) return;
  const sandbox = await makeSandbox("vmx-ssh");
  t.after(() => sandbox.dispose());
  const vmx = await smallRemoteGuest(sandbox, "small.vmdk");
  const uri = sshUri(host, vmx);
  const result = await host.virtV2v(
    ["-i", "vmx", "-it", "ssh", uri, "-o", "null", "--print-source"],
    sandbox,
    {
      agent: true,
    },
  );
  assert.equal(result.exitCode, 0, result.stderr);
  const [setup, ...rest] = result.stdout.split("\n");
  assert.equal(setup!.replace(/^\[ *\d+\.\d\] /, ""), `Setting up the source: -i vmx ${uri}`);
  assert.equal(rest.join("\n"), SMALL_GUEST_SOURCE);
  assert.deepEqual(await leftovers(sandbox), { processes: [], workdirs: [] });

  // Without the key (no agent, no password) the host refuses us, and the error says so.
  const refused = await host.virtV2v(
    ["-i", "vmx", "-it", "ssh", uri, "-o", "null", "--print-source"],
    sandbox,
    {
      agent: false,
    },
  );
  assert.equal(refused.exitCode, 1);
  assert.deepEqual(errorLines(refused.stderr).length, 1, refused.stderr);
  assert.match(
    errorLines(refused.stderr)[0]!,
    /^virt-v2v: error: could not copy the VMX file from the remote server: .*authentication/,
  );
  assert.deepEqual(await leftovers(sandbox), { processes: [], workdirs: [] });
});

test("-it ssh -ip: a password file logs in; a wrong password is a clear error", async (t) => {
  const host = await sshOrSkip(t);
  if (host === null) return;
  if (host.passwordFile === null) {
    t.skip("cannot give the user a password for the test's sshd (no /etc/shadow entry)");
    return;
  }
  const sandbox = await makeSandbox("vmx-ssh-password");
  t.after(() => sandbox.dispose());
  const vmx = await smallRemoteGuest(sandbox, "small.vmdk");
  const uri = sshUri(host, vmx);
  const result = await host.virtV2v(
    ["-i", "vmx", "-it", "ssh", "-ip", host.passwordFile, uri, "-o", "null", "--print-source"],
    sandbox,
    { agent: false },
  );
  assert.equal(result.exitCode, 0, result.stderr);
  assert.equal(result.stdout.replace(/^\[ *\d+\.\d\] .*\n/, ""), SMALL_GUEST_SOURCE);

  const wrong = path.join(sandbox.out, "wrong-password");
  await writeFile(wrong, "not the password");
  const refused = await host.virtV2v(
    ["-i", "vmx", "-it", "ssh", "-ip", wrong, uri, "-o", "null", "--print-source"],
    sandbox,
    { agent: false },
  );
  assert.equal(refused.exitCode, 1);
  assert.match(
    errorLines(refused.stderr).join("\n"),
    /^virt-v2v: error: could not copy the VMX file from the remote server: .*authentication/,
  );
  assert.deepEqual(await leftovers(sandbox), { processes: [], workdirs: [] });
});

test("-it ssh: a guest running on a snapshot is refused with virt-v2v's advice", async (t) => {
  const host = await sshOrSkip(t);
  if (host === null) return;
  const sandbox = await makeSandbox("vmx-ssh-snapshot");
  t.after(() => sandbox.dispose());
  // The snapshot's delta file has no -flat extent to read raw.
  const vmx = await smallRemoteGuest(sandbox, "small-000001.vmdk");
  const result = await host.virtV2v(
    ["-i", "vmx", "-it", "ssh", sshUri(host, vmx), "-o", "null", "--print-source"],
    sandbox,
    { agent: true },
  );
  assert.equal(result.exitCode, 1);
  assert.deepEqual(errorLines(result.stderr), [
    'virt-v2v: error: This transport does not support guests with snapshots. Either collapse the snapshots for this guest and try the conversion again, or use one of the alternate conversion methods described in virt-v2v-input-vmware(1) section "NOTES".',
  ]);
  assert.deepEqual(await leftovers(sandbox), { processes: [], workdirs: [] });
});

test("-it ssh: a Linux guest on an ESXi-like datastore converts to -o local", async (t) => {
  const host = await sshOrSkip(t);
  if (host === null) return;
  const sandbox = await makeSandbox("vmx-ssh-convert");
  t.after(() => sandbox.dispose());
  const guest = await linuxGuest("plain");
  const datastore = path.join(path.dirname(sandbox.tmp), "datastore", "linux");
  await mkdir(datastore, { recursive: true });
  // The layout ESXi keeps: a descriptor and the raw -flat extent the ssh transport reads.
  await execa("qemu-img", [
    "convert",
    "-q",
    "-f",
    "raw",
    "-O",
    "vmdk",
    "-o",
    "subformat=monolithicFlat",
    guest.path,
    path.join(datastore, "linux.vmdk"),
  ]);
  const flat = path.join(datastore, "linux-flat.vmdk");
  const before = await sha256(flat);
  const vmx = path.join(datastore, "linux.vmx");
  await writeFile(
    vmx,
    [
      'displayName = "linux from esx"',
      'memSize = "1536"',
      'numvcpus = "2"',
      'scsi0.present = "TRUE"',
      'scsi0.virtualDev = "pvscsi"',
      'scsi0:0.present = "TRUE"',
      'scsi0:0.deviceType = "scsi-hardDisk"',
      'scsi0:0.fileName = "linux.vmdk"',
      'ethernet0.present = "TRUE"',
      'ethernet0.virtualDev = "vmxnet3"',
      'ethernet0.networkName = "VM Network"',
      'ethernet0.generatedAddress = "00:50:56:01:02:03"',
      "",
    ].join("\n"),
  );
  const uri = sshUri(host, vmx);
  const result = await host.virtV2v(
    ["-i", "vmx", "-it", "ssh", uri, "-o", "local", "-os", sandbox.out],
    sandbox,
    { agent: true },
  );
  assert.equal(result.exitCode, 0, result.stderr);
  const messages = result.stdout
    .split("\n")
    .filter((line) => /^\[ *\d+\.\d\] /.test(line))
    .map((line) => line.replace(/^\[ *\d+\.\d\] /, ""));
  assert.equal(messages[0], `Setting up the source: -i vmx ${uri}`);
  assert.ok(messages.includes("Copying disk 1/1"), result.stdout);

  assert.deepEqual((await readdir(sandbox.out)).sort(), [
    "linux from esx-sda",
    "linux from esx.xml",
  ]);
  const xml = await readFile(path.join(sandbox.out, "linux from esx.xml"), "utf8");
  assert.match(xml, /<name>linux from esx<\/name>/);
  assert.match(xml, /<memory unit='KiB'>1572864<\/memory>/);
  assert.match(xml, /<vcpu>2<\/vcpu>/);
  assert.match(xml, /<libosinfo:os id='http:\/\/debian.org\/debian\/12'\/>/);
  assert.match(xml, /<target dev='vda' bus='virtio'\/>/);
  assert.match(
    xml,
    /<interface type='network'>\s*<source network='VM Network'\/>\s*<model type='virtio'\/>\s*<mac address='00:50:56:01:02:03'\/>/,
  );
  const sizeOf = async (file: string) =>
    (
      JSON.parse(String((await execa("qemu-img", ["info", "--output=json", file])).stdout)) as {
        "virtual-size": number;
      }
    )["virtual-size"];
  assert.equal(
    await sizeOf(path.join(sandbox.out, "linux from esx-sda")),
    await sizeOf(guest.path),
    "the target disk has the source's size",
  );

  assert.equal(await sha256(flat), before, "the source disk on the datastore is untouched");
  assert.deepEqual(await leftovers(sandbox), { processes: [], workdirs: [] });
});
