import { test } from "node:test";
import assert from "node:assert/strict";
import { inputDiskServerSpec, serverArgv, type NbdkitSpec } from "@split-v2v/common";
import {
  parseVddkOptions,
  vcenterAccessOf,
  vddkDiskPlan,
  type VddkDisk,
  type VddkFilters,
} from "../src/index.js";

const launch = { socket: "/w/in0", pidfile: "/w/tmp/in0.pid" };
const THUMBPRINT = "51:5E:3C:1D:44:0A:EF:1F:87:43:B5:2E:80:EF:8A:20:A0:54:F4:0C";
const ALL_FILTERS: VddkFilters = {
  retry: true,
  cacheextents: true,
  blocksize: true,
  multiConn: true,
};

function disk(change: Partial<VddkDisk> = {}): VddkDisk {
  return {
    access: vcenterAccessOf(
      "vpx://DOMAIN%5cvcuser@vcenter.example.com/Datacenter/esxi?no_verify=1",
    ),
    moref: "vm-2183",
    file: "[datastore1] guest/guest.vmdk",
    passwordFile: "/secrets/vcenter-password",
    thumbprint: THUMBPRINT,
    options: parseVddkOptions([
      "vddk-config=/etc/vddk.conf",
      "vddk-cookie=COOKIE",
      "vddk-libdir=/opt/vmware-vix-disklib-distrib",
      "vddk-nfchostport=902",
      "vddk-port=443",
      "vddk-snapshot=snapshot-12",
      "vddk-transports=nbdssl:nbd",
      "vddk-compression=zlib",
    ]),
    bandwidth: { rate: "10M", rateFile: "/var/tmp/rate" },
    cowOnReadMarker: "/w/convert",
    filters: ALL_FILTERS,
    standinScript: null,
    ...change,
  };
}

/**
 * The nbdkit command line virt-v2v 2.2 runs for this disk, written out from reading
 * input/nbdkit_vddk.ml (create_vddk) and lib/nbdkit.ml (run_unix): filters are prepended as they
 * are added and printed as stored (outermost first), debug flags likewise (so vddk.stats comes
 * before vddk.datapath), parameters in the order they were added. cookie and compression are
 * newer virt-v2v's (2.2 drops the cookie on the way to nbdkit, and has no compression).
 */
const V2V_2_2 = {
  debugFlags: ["nbdkit.backend.datapath=0", "vddk.stats=1", "vddk.datapath=0"],
  filters: ["rate", "multi-conn", "cow", "blocksize", "cacheextents", "retry"],
  plugin: "vddk",
  params: [
    "server=vcenter.example.com",
    "vm=moref=vm-2183",
    "file=[datastore1] guest/guest.vmdk",
    "user=DOMAIN\\vcuser",
    "compression=zlib",
    "config=/etc/vddk.conf",
    "cookie=COOKIE",
    "libdir=/opt/vmware-vix-disklib-distrib",
    "nfchostport=902",
    "port=443",
    "snapshot=snapshot-12",
    `thumbprint=${THUMBPRINT}`,
    "transports=nbdssl:nbd",
    "minblock=512",
    "maxdata=2M",
    "multi-conn-mode=disable",
    "cow-block-size=4096",
    "cow-on-read=/w/convert",
    "rate=10M",
    "rate-file=/var/tmp/rate",
    "password=+/secrets/vcenter-password",
  ],
};

/** An nbdkit argv taken apart: its -D flags, filters, plugin and key=value parameters. */
function dissect(argv: readonly string[]) {
  const debugFlags: string[] = [];
  const filters: string[] = [];
  let index = 1;
  const params: string[] = [];
  let plugin: string | null = null;
  for (; index < argv.length; index++) {
    const word = argv[index]!;
    if (word === "-D") debugFlags.push(argv[++index]!);
    else if (word.startsWith("--filter=")) filters.push(word.slice("--filter=".length));
    else if (["--pidfile", "--unix", "--threads"].includes(word)) index++;
    else if (word.startsWith("--")) continue;
    else if (plugin === null) plugin = word;
    else params.push(word);
  }
  return { debugFlags, filters, plugin, params };
}

function argvOf(planned: VddkDisk): string[] {
  return serverArgv(inputDiskServerSpec(vddkDiskPlan(planned), true), launch);
}

test("the nbdkit command line is virt-v2v 2.2's, option by option", () => {
  const argv = argvOf(disk());
  assert.deepEqual(argv.slice(0, 8), [
    "nbdkit",
    "--exit-with-parent",
    "--foreground",
    "--pidfile",
    "/w/tmp/in0.pid",
    "--unix",
    "/w/in0",
    "--threads",
  ]);
  assert.equal(argv[8], "16", "lib/nbdkit.ml's 16 threads");
  const ours = dissect(argv);
  assert.deepEqual(ours.debugFlags, V2V_2_2.debugFlags);
  assert.deepEqual(
    ours.filters,
    V2V_2_2.filters,
    "inner to outer: retry cacheextents blocksize cow multi-conn rate",
  );
  assert.equal(ours.plugin, V2V_2_2.plugin);
  // nbdkit gives every key=value to the whole stack, so their order is not meaningful; each
  // one is compared.
  for (const param of V2V_2_2.params) assert.ok(ours.params.includes(param), `${param} missing`);
  for (const param of ours.params) assert.ok(V2V_2_2.params.includes(param), `${param} extra`);
  assert.equal(ours.params.length, V2V_2_2.params.length);
  assert.equal(ours.params.at(-1), "password=+/secrets/vcenter-password", "last, as 2.2");
  assert.ok(!argv.includes("--readonly"), "2.2 does not set -r: cow takes the writes");
});

test("only what is asked for and installed: no rate without --bandwidth, missing filters left out, root by default", () => {
  const plain = dissect(
    argvOf(
      disk({
        access: vcenterAccessOf("esx://esxi.example.com/?no_verify=1"),
        options: parseVddkOptions([]),
        bandwidth: null,
      }),
    ),
  );
  assert.deepEqual(plain.filters, ["multi-conn", "cow", "blocksize", "cacheextents", "retry"]);
  assert.deepEqual(plain.params, [
    "cow-on-read=/w/convert",
    "cow-block-size=4096",
    "server=esxi.example.com",
    "vm=moref=vm-2183",
    "file=[datastore1] guest/guest.vmdk",
    "user=root",
    `thumbprint=${THUMBPRINT}`,
    "minblock=512",
    "maxdata=2M",
    "multi-conn-mode=disable",
    "password=+/secrets/vcenter-password",
  ]);

  // An nbdkit without the optional filters (virt-v2v probes each).
  const bare = dissect(
    argvOf(
      disk({
        filters: { retry: false, cacheextents: false, blocksize: false, multiConn: false },
        bandwidth: { rate: null, rateFile: "/var/tmp/rate" },
      }),
    ),
  );
  assert.deepEqual(bare.filters, ["rate", "cow"]);
  assert.ok(!bare.params.some((param) => /^(minblock|maxdata|multi-conn-mode|rate)=/.test(param)));
  assert.ok(bare.params.includes("rate-file=/var/tmp/rate"));

  // -io vddk-file overrides the datastore path, as newer virt-v2v's.
  const override = vddkDiskPlan(disk({ file: "[datastore2] other/other.vmdk" }));
  assert.ok(override.server.kind === "nbdkit");
  assert.ok(
    (override.server as NbdkitSpec).params.some(
      ([key, value]) => key === "file" && value === "[datastore2] other/other.vmdk",
    ),
  );
});

test("the overlay is common's: the plan names no cow filter, and asks for its block size and cow-on-read", () => {
  const plan = vddkDiskPlan(disk());
  assert.ok(plan.server.kind === "nbdkit");
  const server = plan.server as NbdkitSpec;
  assert.deepEqual(server.filters, ["blocksize", "cacheextents", "retry"]);
  assert.deepEqual(plan.outerFilters, ["rate", "multi-conn"]);
  assert.equal(plan.cowBlockSize, 4096);
  assert.equal(plan.cowOnRead, "/w/convert");
  assert.ok(!server.params.some(([key]) => key.startsWith("cow")));
});

test("the stand-in runs under nbdkit's sh plugin with exactly the same parameters and filters", () => {
  const real = dissect(argvOf(disk()));
  const standin = dissect(argvOf(disk({ standinScript: "/t/vddk-standin.sh" })));
  assert.equal(standin.plugin, "sh");
  // The filters take their own keys; the first key the plugin sees must be its script.
  const script = standin.params.indexOf("script=/t/vddk-standin.sh");
  assert.ok(script >= 0 && script < standin.params.indexOf("server=vcenter.example.com"));
  assert.deepEqual(
    standin.params.filter((_, index) => index !== script),
    real.params,
  );
  assert.deepEqual(standin.filters, real.filters);
  assert.deepEqual(standin.debugFlags, real.debugFlags);
});

test("no password on the command line: only the file that holds it", () => {
  const argv = argvOf(disk({ passwordFile: "relative/pw" }));
  const password = argv.filter((word) => word.startsWith("password="));
  assert.equal(password.length, 1);
  assert.match(password[0]!, /^password=\+\/.*\/relative\/pw$/, "an absolute +FILE");
});
