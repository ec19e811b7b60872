// The KVM/TCG decision, against the real qemu and /dev/kvm of this machine. qemu is started
// through a wrapper script that counts its runs, so "nothing was probed" can be checked.
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";

import { execa } from "execa";

import {
  ACCEL_APPLIED_VARIABLE,
  accelProbeImage,
  ensureWorkingAccel,
  runAccelProbe,
} from "../src/index.js";

const SETTINGS = "LIBGUESTFS_BACKEND_SETTINGS";

interface Scene {
  cacheDir: string;
  warnings: string[];
  logs: string[];
  /** How many times the wrapped qemu has been started. */
  qemuRuns: () => Promise<number>;
}

/** A temporary cache dir and a counting qemu wrapper (as LIBGUESTFS_HV); env restored after. */
async function scene(t: TestContext): Promise<Scene> {
  const dir = await mkdtemp(join(tmpdir(), "libguestfs-accel-test-"));
  const counter = join(dir, "qemu-runs");
  const wrapper = join(dir, "qemu-wrapper");
  const { stdout: qemu } = await execa("sh", ["-c", "command -v qemu-system-x86_64"]);
  await writeFile(counter, "");
  await writeFile(wrapper, `#!/bin/sh\necho run >> '${counter}'\nexec '${qemu}' "$@"\n`);
  await chmod(wrapper, 0o755);
  const variables = ["LIBGUESTFS_HV", SETTINGS, ACCEL_APPLIED_VARIABLE];
  const saved = new Map(variables.map((name) => [name, process.env[name]]));
  for (const name of variables) delete process.env[name];
  process.env.LIBGUESTFS_HV = wrapper;
  t.after(async () => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await rm(dir, { recursive: true, force: true });
  });
  const warnings: string[] = [];
  const logs: string[] = [];
  return {
    cacheDir: join(dir, "cache"),
    warnings,
    logs,
    qemuRuns: async () => (await readFile(counter, "utf8")).split("\n").filter(Boolean).length,
  };
}

async function probeQemuProcesses(): Promise<string> {
  const { stdout } = await execa("pgrep", ["-af", "split-v2v-accel-"], { reject: false });
  return stdout;
}

test("the probe is a 512-byte boot sector", () => {
  const image = accelProbeImage();
  assert.equal(image.length, 512);
  assert.deepEqual([image[510], image[511]], [0x55, 0xaa]);
});

test("the probe guest runs to the end under TCG, and its qemu is gone afterwards", async () => {
  const result = await runAccelProbe("tcg");
  assert.equal(result.ok, true, result.detail);
  assert.ok(result.startMs !== null && result.runMs !== null);
  assert.ok(result.runMs < 2_000, `TCG loop took ${result.runMs} ms`);
  assert.equal(await probeQemuProcesses(), "");
});

test("on this machine KVM is unusable: qemu with libguestfs's -cpu max fails at once", async () => {
  const started = Date.now();
  const result = await runAccelProbe("kvm");
  assert.equal(result.ok, false);
  assert.match(result.detail, /qemu fails under KVM/);
  assert.ok(Date.now() - started < 5_000);
  assert.equal(await probeQemuProcesses(), "");
});

test("on this machine a guest that can start under KVM then hangs, and is killed", async () => {
  // With the default CPU model qemu starts, the guest reaches 64-bit code, then crawls.
  const result = await runAccelProbe("kvm", { cpu: "qemu64" });
  assert.equal(result.ok, false);
  assert.notEqual(result.startMs, null, result.detail);
  assert.match(result.detail, /guests hang under KVM/);
  assert.equal(await probeQemuProcesses(), "");
});

test("the verdict here is TCG, with a reason, then comes from the cache without qemu", async (t) => {
  const s = await scene(t);
  const first = await ensureWorkingAccel({
    cacheDir: s.cacheDir,
    warn: (line) => s.warnings.push(line),
    log: (line) => s.logs.push(line),
  });
  assert.equal(first.accel, "tcg");
  assert.match(first.reason, /KVM/);
  assert.equal(process.env[SETTINGS], "force_tcg");
  assert.equal(s.warnings.length, 1);
  assert.match(s.warnings[0] ?? "", /^KVM is present but does not work on this host: .*TCG/);
  const runsAfterProbe = await s.qemuRuns();
  assert.ok(runsAfterProbe >= 2, "probed under KVM, then checked the probe under TCG");
  const cached: unknown = JSON.parse(
    await readFile(join(s.cacheDir, "accel-verdict.json"), "utf8"),
  );
  assert.deepEqual(cached, first);

  const started = Date.now();
  const second = await ensureWorkingAccel({
    cacheDir: s.cacheDir,
    warn: (line) => s.warnings.push(line),
    log: (line) => s.logs.push(line),
  });
  assert.ok(Date.now() - started < 500, "a cached verdict is quick");
  assert.deepEqual(second, first);
  assert.equal(await s.qemuRuns(), runsAfterProbe, "no qemu started for a cached verdict");
  assert.equal(s.warnings.length, 2, "the user is told again: TCG is still slow");
  assert.ok(s.logs.some((line) => line.includes("cached")));
});

test("a cached verdict for another qemu or kernel is not used", async (t) => {
  const s = await scene(t);
  const stale = {
    accel: "kvm",
    reason: "old",
    checkedAt: "2000-01-01T00:00:00.000Z",
    key: "other",
  };
  await execa("mkdir", ["-p", s.cacheDir]);
  await writeFile(join(s.cacheDir, "accel-verdict.json"), JSON.stringify(stale));
  const verdict = await ensureWorkingAccel({ cacheDir: s.cacheDir, warn: () => undefined });
  assert.equal(verdict.accel, "tcg");
  assert.ok((await s.qemuRuns()) >= 1);
});

test("LIBGUESTFS_BACKEND_SETTINGS set by the user wins, and nothing is probed", async (t) => {
  const s = await scene(t);
  const options = { cacheDir: s.cacheDir, warn: (line: string) => s.warnings.push(line) };

  process.env[SETTINGS] = "force_tcg";
  const tcg = await ensureWorkingAccel(options);
  assert.equal(tcg.accel, "tcg");
  assert.match(tcg.reason, /set by the user/);

  process.env[SETTINGS] = "force_kvm";
  const kvm = await ensureWorkingAccel(options);
  assert.equal(kvm.accel, "kvm");
  assert.equal(process.env[SETTINGS], "force_kvm", "the user's value is left alone");

  assert.equal(await s.qemuRuns(), 0);
  assert.deepEqual(s.warnings, []);
});
