import { test } from "node:test";
import assert from "node:assert/strict";
import { execa } from "execa";
import { inputDiskServerSpec, serverArgv } from "@split-v2v/common";
import { sshDiskPlan } from "../src/ssh-files.js";

const access = { server: "esx.example.com", port: null, user: "root", passwordFile: null };
const launch = { socket: "/w/in0", pidfile: "/w/tmp/in0.pid" };

test("an ssh disk is served under retry, cacheextents and the overlay (cow-on-read); no rate filter without --bandwidth", () => {
  const plan = sshDiskPlan(access, "/vmfs/volumes/ds/g/g-flat.vmdk", "/w/convert");
  const argv = serverArgv(inputDiskServerSpec(plan, true), launch);
  assert.deepEqual(
    argv.filter((word) => word.startsWith("--filter=")),
    ["--filter=cow", "--filter=cacheextents", "--filter=retry"],
  );
  assert.deepEqual(argv.slice(argv.indexOf("ssh")), [
    "ssh",
    "cow-on-read=/w/convert",
    "host=esx.example.com",
    "path=/vmfs/volumes/ds/g/g-flat.vmdk",
    "user=root",
  ]);
  assert.ok(!argv.some((word) => word.startsWith("rate")));
});

test("--bandwidth and --bandwidth-file put nbdkit's rate filter outermost, above the overlay (virt-v2v 2.2's order)", async () => {
  const plan = sshDiskPlan(access, "/vmfs/volumes/ds/g/g-flat.vmdk", "/w/convert", {
    rate: "10M",
    rateFile: "/var/tmp/v2v-rate",
  });
  const argv = serverArgv(inputDiskServerSpec(plan, true), launch);
  const plugin = argv.indexOf("ssh");
  // Inner to outer: retry, cacheextents, cow, rate (the limit applies to all the copy reads).
  assert.deepEqual(argv.slice(plugin - 4, plugin), [
    "--filter=rate",
    "--filter=cow",
    "--filter=cacheextents",
    "--filter=retry",
  ]);
  assert.deepEqual(argv.slice(-2), ["rate=10M", "rate-file=/var/tmp/v2v-rate"]);
  // Debian's nbdkit has the filter and takes these parameters (checked on the null plugin,
  // as no ESXi host is at hand here).
  const result = await execa(
    "nbdkit",
    [
      "--filter=rate",
      "--filter=cow",
      "null",
      "size=1M",
      "rate=10M",
      "rate-file=/var/tmp/v2v-rate",
      "--run",
      "true",
    ],
    { reject: false },
  );
  assert.equal(result.exitCode, 0, String(result.stderr));
});
