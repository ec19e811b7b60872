/**
 * `virt-v2v -i ova`, end to end through the supervisor: --print-source against upstream
 * virt-v2v's expected text for every packaging, manifests checked before any conversion, and a
 * full conversion of a VMware-style OVA that reads the disk inside the tar (no scratch copy) and
 * gives the same guest as `-i disk`.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, readlink, stat } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { compareExports, NbdConnection } from "@split-v2v/libnbd";
import {
  linuxGuestOva,
  upstreamOvaDir,
  upstreamTestOva,
  type OvaPackaging,
  type UpstreamOvaOptions,
} from "../fixtures/ova.js";
import { sharedTestdataMissingReason } from "../fixtures/shared-testdata.js";
import {
  VIRT_V2V,
  allocatedBytes,
  errorLines,
  leftovers,
  makeSandbox,
  packageBin,
  processesMentioning,
  runEnvironment,
  sha256,
  startServing,
  virtV2v,
  type Sandbox,
  type V2vResult,
} from "../support/run.js";

/** virt-v2v with VIRT_V2V_TMPDIR (the large temp dir) set, watching what `watch` sees meanwhile. */
async function virtV2vWithLargeTmp(
  args: string[],
  sandbox: Sandbox,
  largeTmp: string,
  watch?: () => Promise<void>,
): Promise<V2vResult> {
  const child = execa(process.execPath, [VIRT_V2V, ...args], {
    env: { ...runEnvironment(sandbox), VIRT_V2V_TMPDIR: largeTmp },
    reject: false,
    stripFinalNewline: false,
    stdin: "ignore",
  });
  let running = true;
  const watching = (async () => {
    while (running && watch) {
      await watch();
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();
  const result = await child;
  running = false;
  await watching;
  return {
    exitCode: result.exitCode,
    signal: result.signal,
    stdout: String(result.stdout),
    stderr: String(result.stderr),
  };
}

async function builtOva(
  sandbox: Sandbox,
  label: string,
  options: Omit<UpstreamOvaOptions, "into">,
) {
  const into = path.join(path.dirname(sandbox.tmp), label);
  await mkdir(into);
  const ova = await upstreamTestOva({ ...options, into });
  assert.ok(ova, "upstream test data present");
  return ova;
}

const PRINT_SOURCE_CASES: Array<{
  ovf: UpstreamOvaOptions["ovf"];
  packaging: OvaPackaging;
  layout?: UpstreamOvaOptions["layout"];
}> = [
  { ovf: "tar", packaging: "tar" },
  { ovf: "tar", packaging: "tar", layout: "subfolder" },
  { ovf: "tar", packaging: "directory", layout: "subfolder" },
  { ovf: "tar", packaging: "tar", layout: "snapshots" },
  { ovf: "formats", packaging: "zip" },
  { ovf: "formats", packaging: "tar.gz" },
  { ovf: "formats", packaging: "tar.xz" },
  { ovf: "formats", packaging: "directory" },
  { ovf: "gz", packaging: "tar" },
  { ovf: "two-disks", packaging: "tar" },
];

test("--print-source prints exactly upstream virt-v2v's expected text, for every packaging", async (t) => {
  const missing = sharedTestdataMissingReason();
  if (missing !== null || upstreamOvaDir() === null) {
    t.skip(missing ?? "no ova/ in the upstream test data");
    return;
  }
  const sandbox = await makeSandbox("ova-print");
  t.after(() => sandbox.dispose());
  for (const { ovf, packaging, layout } of PRINT_SOURCE_CASES) {
    const label = `${ovf}-${packaging}-${layout ?? "flat"}`;
    const ova = await builtOva(sandbox, label, { ovf, packaging, layout });
    // -q as upstream's tests run it: stdout is then only the source.
    const result = await virtV2v(
      ["-q", "-i", "ova", ova.path, "-o", "null", "--print-source"],
      sandbox,
    );
    assert.equal(result.exitCode, 0, `${label}: ${result.stderr}`);
    assert.equal(result.stdout, ova.expected, label);
  }
  assert.deepEqual(await leftovers(sandbox), { processes: [], workdirs: [] });
  assert.deepEqual(
    (await readdir(sandbox.tmp)).filter((name) => name.startsWith("ova.")),
    [],
    "unpacked OVAs are removed",
  );
});

test("a compressed OVA is unpacked into the large temp dir, and the user is told", async (t) => {
  if (upstreamOvaDir() === null) {
    t.skip(sharedTestdataMissingReason() ?? "no ova/ in the upstream test data");
    return;
  }
  const sandbox = await makeSandbox("ova-unpack");
  t.after(() => sandbox.dispose());
  const large = path.join(path.dirname(sandbox.tmp), "large");
  await mkdir(large);
  const ova = await builtOva(sandbox, "gz", { ovf: "formats", packaging: "tar.gz" });
  const result = await virtV2vWithLargeTmp(
    ["-i", "ova", ova.path, "-o", "null", "--print-source"],
    sandbox,
    large,
  );
  assert.equal(result.exitCode, 0, result.stderr);
  assert.match(
    result.stdout,
    new RegExp(
      `^virt-v2v: -i ova: ${ova.path.replace(/[.]/g, "\\.")} is a gzip-compressed tar file: unpacking it into ${large}/ova\\.\\w+ `,
      "m",
    ),
  );
  assert.deepEqual(await readdir(large), [], "and it is removed afterwards");
});

test("manifests are checked before anything else: good ones pass, a bad checksum stops the run", async (t) => {
  if (upstreamOvaDir() === null) {
    t.skip(sharedTestdataMissingReason() ?? "no ova/ in the upstream test data");
    return;
  }
  const sandbox = await makeSandbox("ova-checksums");
  t.after(() => sandbox.dispose());

  for (const manifest of ["sha1-crlf", "sha256"] as const) {
    const ova = await builtOva(sandbox, `good-${manifest}`, {
      ovf: "checksums",
      packaging: "tar",
      manifest,
    });
    const result = await virtV2v(["-i", "ova", ova.path, "-o", "null", "--print-source"], sandbox);
    assert.equal(result.exitCode, 0, result.stderr);
    assert.doesNotMatch(result.stdout, /warning:/, `${manifest}: no warning`);
    assert.match(result.stdout, /^ {4}source name: ova-test$/m);
  }

  // An unparsable line is a warning, as upstream's test-v2v-i-ova-invalid-manifest1.
  const garbage = await builtOva(sandbox, "garbage", {
    ovf: "checksums",
    packaging: "tar",
    manifest: "garbage-line",
  });
  const warned = await virtV2v(
    ["-i", "ova", garbage.path, "-o", "null", "--print-source"],
    sandbox,
  );
  assert.equal(warned.exitCode, 0, warned.stderr);
  assert.match(
    warned.stdout,
    /^virt-v2v: warning: unable to parse line from manifest file: "garbage line"$/m,
  );

  // A bad checksum: a full conversion is asked for, but it stops before opening the source.
  for (const packaging of ["tar", "directory", "zip"] as const) {
    const bad = await builtOva(sandbox, `bad-${packaging}`, {
      ovf: "checksums",
      packaging,
      manifest: "bad-sha1",
    });
    const result = await virtV2v(
      ["-i", "ova", bad.path, "-o", "local", "-os", sandbox.out],
      sandbox,
    );
    assert.equal(result.exitCode, 1, `${packaging}: ${result.stderr}`);
    const errors = errorLines(result.stderr);
    assert.equal(errors.length, 1, result.stderr);
    assert.match(
      errors[0]!,
      /^virt-v2v: error: -i ova: corrupt OVA: checksum of disk \S*disk\.vmdk does not match manifest \(actual = [0-9a-f]{40}, expected = [0-9a-f]{40}\)$/,
    );
    assert.doesNotMatch(result.stdout, /Opening the source|Converting/, "no conversion started");
    assert.deepEqual(await readdir(sandbox.out), [], "nothing written to the target");
    assert.deepEqual(await leftovers(sandbox), { processes: [], workdirs: [] });
  }
});

test("-i ova usage errors are one clear line", async (t) => {
  const sandbox = await makeSandbox("ova-usage");
  t.after(() => sandbox.dispose());
  const cases: Array<[string[], RegExp]> = [
    [
      ["-i", "ova", "-o", "null"],
      /^virt-v2v: error: -i ova: expecting an OVA file name on the command line$/,
    ],
    [
      ["-i", "ova", path.join(sandbox.tmp, "nope.ova"), "-o", "null"],
      /^virt-v2v: error: -i ova: cannot read .*nope\.ova: No such file or directory/,
    ],
    [
      ["-i", "ova", VIRT_V2V, "-o", "null"],
      /^virt-v2v: error: -i ova: .*: unsupported file format; formats which we currently understand for '-i ova' are: tar \(uncompressed, compress with gzip or xz\), zip$/,
    ],
    [
      ["-i", "ova", "-io", "x=y", sandbox.out, "-o", "null"],
      /no -io \(input options\) are allowed here$/,
    ],
  ];
  for (const [args, message] of cases) {
    const result = await virtV2v(args, sandbox);
    assert.equal(result.exitCode, 1, result.stderr);
    const errors = errorLines(result.stderr);
    assert.equal(errors.length, 1, result.stderr);
    assert.match(errors[0]!, message);
  }
  assert.deepEqual(await leftovers(sandbox), { processes: [], workdirs: [] });
});

/** The biggest file in the temp dirs, including files servers hold open after deleting them
 *  (qemu-nbd's snapshot overlay), but not the libguestfs appliance (built in TMPDIR). */
async function biggestScratchFile(
  roots: string[],
  sandboxRoot: string,
): Promise<{ bytes: number; file: string }> {
  let biggest = { bytes: 0, file: "" };
  const consider = (bytes: number, file: string) => {
    if (bytes > biggest.bytes) biggest = { bytes, file };
  };
  const walk = async (directory: string): Promise<void> => {
    const entries = await readdir(directory, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (entry.name.startsWith(".guestfs-") || entry.name.startsWith("supermin")) continue;
      const full = path.join(directory, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) consider(await allocatedBytes(full).catch(() => 0), full);
    }
  };
  for (const root of roots) await walk(root);
  for (const line of await processesMentioning(sandboxRoot)) {
    const pid = line.split(" ")[0]!;
    const descriptors = await readdir(`/proc/${pid}/fd`).catch(() => []);
    for (const fd of descriptors) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => "");
      if (!roots.some((root) => target.startsWith(root))) continue;
      if (target.includes("/.guestfs-")) continue;
      const info = await stat(`/proc/${pid}/fd/${fd}`).catch(() => null);
      if (info?.isFile()) consider(info.blocks * 512, target);
    }
  }
  return biggest;
}

test("a VMware OVA converts in place: its disk served as -i disk serves it, no scratch copy, OVA untouched", async (t) => {
  const sandbox = await makeSandbox("ova-convert");
  t.after(() => sandbox.dispose());
  const sandboxRoot = path.dirname(sandbox.tmp);
  const exported = path.join(sandboxRoot, "export");
  const large = path.join(sandboxRoot, "large");
  await mkdir(exported);
  await mkdir(large);
  const ova = await linuxGuestOva(exported);
  const ovaBefore = await sha256(ova.path);
  const guestAllocated = await allocatedBytes(ova.guest.path);

  let peak = { bytes: 0, file: "" };
  let largePeak = 0;
  const outOva = path.join(sandbox.out, "ova");
  await mkdir(outOva);
  const converted = await virtV2vWithLargeTmp(
    ["-i", "ova", ova.path, "-o", "local", "-os", outOva, "-on", "converted"],
    sandbox,
    large,
    async () => {
      const now = await biggestScratchFile([sandbox.tmp, large], sandboxRoot);
      if (now.bytes > peak.bytes) peak = now;
      largePeak = Math.max(largePeak, (await readdir(large)).length);
    },
  );
  assert.equal(converted.exitCode, 0, converted.stderr);
  assert.match(converted.stdout, new RegExp(`Setting up the source: -i ova ${ova.path}\n`));
  assert.doesNotMatch(converted.stdout, /unpacking|uncompressing/, "nothing is unpacked");
  t.diagnostic(
    `biggest scratch file during the conversion: ${peak.bytes} bytes (${peak.file}); VMDK ${ova.vmdkBytes} bytes, guest data ${guestAllocated} bytes`,
  );
  assert.equal(largePeak, 0, "nothing was ever written to the large temp dir");
  assert.ok(
    peak.bytes < guestAllocated / 2,
    `no scratch file near the disk's size (${peak.bytes} bytes in ${peak.file})`,
  );
  assert.equal(await sha256(ova.path), ovaBefore, "the OVA is unchanged");
  assert.deepEqual(await leftovers(sandbox), { processes: [], workdirs: [] });

  // The same guest as -i disk: the OVA's disk is served byte for byte as -i disk serves the
  // image itself, so the conversion saw the same guest (the conversion of -i disk images has
  // tests of its own).
  const served = await mkdtemp(path.join(sandboxRoot, "served-"));
  const [ovaWorkdir, diskWorkdir] = [path.join(served, "ova"), path.join(served, "disk")];
  await mkdir(ovaWorkdir);
  await mkdir(diskWorkdir);
  const ovaInput = await startServing(packageBin("@split-v2v/helper-input-ova"), [
    ovaWorkdir,
    ova.path,
  ]);
  t.after(() => ovaInput.process.kill("SIGTERM"));
  const diskInput = await startServing(packageBin("@split-v2v/helper-input-disk"), [
    diskWorkdir,
    ova.guest.path,
  ]);
  t.after(() => diskInput.process.kill("SIGTERM"));
  const fromOva = await NbdConnection.connectUnix(path.join(ovaWorkdir, "in0"));
  const fromDisk = await NbdConnection.connectUnix(path.join(diskWorkdir, "in0"));
  try {
    assert.equal(fromOva.size, fromDisk.size, "same disk size");
    assert.equal(await compareExports(fromOva, fromDisk), null, "same bytes");
  } finally {
    fromOva.close();
    fromDisk.close();
  }
  assert.deepEqual(await readdir(outOva), ["converted-sda", "converted.xml"]);
  assert.equal(
    (await stat(path.join(outOva, "converted-sda"))).size,
    Number(fromDisk.size),
    "the target disk has the source's size",
  );
});
