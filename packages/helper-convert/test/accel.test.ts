// The KVM/TCG probe against the real qemu and /dev/kvm of this host (whatever it finds), and
// the decision built on it for each kind of host (KVM working, missing, present but broken),
// with the probe's answer given by a stand-in. qemu is started through a wrapper script that
// counts its runs, so "nothing was probed" can be checked.
import { existsSync } from "node:fs";
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
  type AccelProbeResult,
} from "../src/accel.js";

const SETTINGS = "LIBGUESTFS_BACKEND_SETTINGS";

interface Scene {
  cacheDir: string;
  /** A stand-in for /dev/kvm that exists and is readable and writable. */
  kvmDevice: string;
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
  const kvmDevice = join(dir, "kvm");
  await writeFile(kvmDevice, "");
  return {
    cacheDir: join(dir, "cache"),
    kvmDevice,
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

test("the KVM probe on this host ends with one of its verdicts, and its qemu is gone", async (t) => {
  if (!existsSync("/dev/kvm")) {
    t.skip("this host has no /dev/kvm (the decision without it is tested below)");
    return;
  }
  const result = await runAccelProbe("kvm");
  // Which verdict depends on the host (here: qemu fails under KVM); each says why.
  assert.match(
    result.detail,
    result.ok
      ? /^the probe guest ran under KVM/
      : /^(qemu fails|guests hang|guests do not start) under KVM/,
  );
  assert.equal(result.ok, result.runMs !== null);
  assert.equal(await probeQemuProcesses(), "");
  t.diagnostic(`this host: ${result.detail}`);
});

/** A probe that answers as a host would, counting its calls: the decision's tests run anywhere. */
function fakeProbe(answers: Record<"kvm" | "tcg", boolean>) {
  const calls: string[] = [];
  const probe = (accel: "kvm" | "tcg"): Promise<AccelProbeResult> => {
    calls.push(accel);
    const ok = answers[accel];
    const label = accel.toUpperCase();
    return Promise.resolve({
      accel,
      ok,
      startMs: 10,
      runMs: ok ? 30 : null,
      detail: ok
        ? `the probe guest ran under ${label}`
        : `guests hang under ${label} (stand-in probe)`,
    });
  };
  return { probe, calls };
}

test("where KVM works: the verdict is KVM, nothing is forced and nobody is warned", async (t) => {
  const s = await scene(t);
  const { probe, calls } = fakeProbe({ kvm: true, tcg: true });
  const verdict = await ensureWorkingAccel({
    cacheDir: s.cacheDir,
    kvmDevice: s.kvmDevice,
    probe,
    warn: (line) => s.warnings.push(line),
  });
  assert.equal(verdict.accel, "kvm");
  assert.deepEqual(calls, ["kvm"]);
  assert.equal(process.env[SETTINGS], undefined);
  assert.deepEqual(s.warnings, []);
});

test("where there is no /dev/kvm: TCG without a probe or a warning", async (t) => {
  const s = await scene(t);
  const { probe, calls } = fakeProbe({ kvm: true, tcg: true });
  const missing = join(s.cacheDir, "no-such-kvm");
  const verdict = await ensureWorkingAccel({
    cacheDir: s.cacheDir,
    kvmDevice: missing,
    probe,
    warn: (line) => s.warnings.push(line),
  });
  assert.deepEqual([verdict.accel, verdict.reason], ["tcg", `${missing} does not exist`]);
  assert.equal(process.env[SETTINGS], "force_tcg");
  assert.deepEqual(calls, []);
  assert.deepEqual(s.warnings, []);
});

test("where KVM is present but broken: TCG with a warning, then the cached verdict, probing nothing", async (t) => {
  const s = await scene(t);
  const { probe, calls } = fakeProbe({ kvm: false, tcg: true });
  const options = {
    cacheDir: s.cacheDir,
    kvmDevice: s.kvmDevice,
    probe,
    warn: (line: string) => s.warnings.push(line),
    log: (line: string) => s.logs.push(line),
  };
  const first = await ensureWorkingAccel(options);
  assert.equal(first.accel, "tcg");
  assert.equal(process.env[SETTINGS], "force_tcg");
  assert.deepEqual(calls, ["kvm", "tcg"], "probed under KVM, then checked the probe under TCG");
  assert.match(s.warnings[0] ?? "", /^KVM is present but does not work on this host: .*TCG/);
  const cached: unknown = JSON.parse(
    await readFile(join(s.cacheDir, "accel-verdict.json"), "utf8"),
  );
  assert.deepEqual(cached, first);

  const second = await ensureWorkingAccel(options);
  assert.deepEqual(second, first);
  assert.deepEqual(calls, ["kvm", "tcg"], "no probe for a cached verdict");
  assert.equal(s.warnings.length, 2, "the user is told again: TCG is still slow");
  assert.ok(s.logs.some((line) => line.includes("cached")));
  assert.equal(await s.qemuRuns(), 0);
});

test("when even TCG fails the probe, the probe is not trusted: libguestfs chooses", async (t) => {
  const s = await scene(t);
  const { probe } = fakeProbe({ kvm: false, tcg: false });
  const verdict = await ensureWorkingAccel({
    cacheDir: s.cacheDir,
    kvmDevice: s.kvmDevice,
    probe,
    warn: (line) => s.warnings.push(line),
  });
  assert.equal(verdict.accel, "kvm");
  assert.match(verdict.reason, /^probe inconclusive/);
  assert.equal(process.env[SETTINGS], undefined);
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
  const { probe, calls } = fakeProbe({ kvm: false, tcg: true });
  const verdict = await ensureWorkingAccel({
    cacheDir: s.cacheDir,
    kvmDevice: s.kvmDevice,
    probe,
    warn: () => undefined,
  });
  assert.equal(verdict.accel, "tcg");
  assert.deepEqual(calls, ["kvm", "tcg"]);
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
