import { test } from "node:test";
import assert from "node:assert/strict";
import {
  bandwidthLimitOf,
  bandwidthOptions,
  describeLibvirtInput,
  libvirtHelperArgs,
  libvirtRemoteHelperArgs,
  parseLibvirtUri,
  rateParams,
  remoteLibvirtCheckOptions,
  sshPluginParams,
} from "../src/index.js";

test("-ic is read into the parts virt-v2v takes from libxml2's URI parser", () => {
  assert.deepEqual(
    parseLibvirtUri("vpx://administrator%40vsphere.local@vcenter:8443/Datacenter/esxi?no_verify=1"),
    {
      uri: "vpx://administrator%40vsphere.local@vcenter:8443/Datacenter/esxi?no_verify=1",
      scheme: "vpx",
      server: "vcenter",
      port: 8443,
      user: "administrator@vsphere.local",
      queryRaw: "no_verify=1",
      path: "/Datacenter/esxi",
    },
  );
  const xen = parseLibvirtUri("xen+ssh://root@[fd00::1]");
  assert.equal(xen.server, "fd00::1");
  assert.equal(xen.port, null);
  assert.equal(parseLibvirtUri("xen+ssh:///system").server, null);
  assert.equal(parseLibvirtUri("esx://esxi:443/").port, 443);
  assert.throws(
    () => parseLibvirtUri("vpx://vc:99999999/"),
    /^UserError: could not parse '-ic vpx:\/\/vc:99999999\/'\.  Original error message was: /,
  );
});

test("the remote -i libvirt modes' helper arguments and description", () => {
  const request = {
    mode: "libvirt",
    args: ["guest"],
    inputFormat: undefined,
    inputConnection: "xen+ssh://root@xen",
    inputTransport: undefined,
    inputPassword: undefined,
    inputOptions: [],
    bandwidth: "5M",
    bandwidthFile: "/tmp/rate",
  };
  assert.deepEqual(libvirtRemoteHelperArgs(request), [
    "-ic",
    "xen+ssh://root@xen",
    "--bandwidth",
    "5M",
    "--bandwidth-file",
    "/tmp/rate",
    "--",
    "guest",
  ]);
  // The local mode's (bandwidth refused before it by the supervisor) leaves the limit out.
  assert.deepEqual(libvirtHelperArgs(request, { bandwidth: false }), [
    "-ic",
    "xen+ssh://root@xen",
    "--",
    "guest",
  ]);
  assert.throws(
    () => libvirtRemoteHelperArgs({ ...request, args: [] }),
    /^UserError: -i libvirt: expecting a libvirt guest name on the command line$/,
  );
  assert.equal(
    describeLibvirtInput("xen+ssh://root@xen", ["guest"]),
    "-i libvirt -ic xen+ssh://root@xen guest",
  );
});

test("the ssh plugin's parameters: host, path, port, user, password as +FILE; the rate filter's", () => {
  assert.deepEqual(
    sshPluginParams(
      { server: "h", port: 2222, user: "u", passwordFile: "/abs/pw" },
      "/vmfs/volumes/ds/g/g-flat.vmdk",
    ),
    [
      ["host", "h"],
      ["path", "/vmfs/volumes/ds/g/g-flat.vmdk"],
      ["port", "2222"],
      ["user", "u"],
      ["password", "+/abs/pw"],
    ],
  );
  assert.deepEqual(rateParams({ rate: null, rateFile: "/f" }), [["rate-file", "/f"]]);
  assert.deepEqual(rateParams(null), []);
});

test("--bandwidth and --bandwidth-file: their limit (null without either), their help", () => {
  assert.equal(bandwidthLimitOf({ bandwidth: undefined, "bandwidth-file": undefined }), null);
  assert.deepEqual(bandwidthLimitOf({ bandwidth: "10M", "bandwidth-file": undefined }), {
    rate: "10M",
    rateFile: null,
  });
  assert.deepEqual(bandwidthLimitOf({ bandwidth: undefined, "bandwidth-file": "/f" }), {
    rate: null,
    rateFile: "/f",
  });
  assert.equal(
    bandwidthOptions().bandwidth.describe,
    "Limit the transfer to this many bits per second (10M, 1G…)",
  );
  assert.equal(
    bandwidthOptions("With -it ssh")["bandwidth-file"].describe,
    "With -it ssh: read the limit from this file, again whenever it changes",
  );
});

test("a remote -i libvirt helper's parsed options, as its precheck takes them", () => {
  const warn = () => {};
  assert.deepEqual(
    remoteLibvirtCheckOptions(
      ["guest"],
      { ic: "vpx://v/DC/h", ip: undefined, bandwidth: "1G", "bandwidth-file": undefined },
      warn,
    ),
    {
      args: ["guest"],
      connection: "vpx://v/DC/h",
      passwordFile: null,
      bandwidth: { rate: "1G", rateFile: null },
      warn,
    },
  );
});
