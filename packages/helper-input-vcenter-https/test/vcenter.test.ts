import { test } from "node:test";
import assert from "node:assert/strict";
import { inputDiskServerSpec, parseLibvirtUri, serverArgv } from "@split-v2v/common";
import { curlDiskPlan } from "../src/nbdkit-curl.js";
import { uriQuote } from "@split-v2v/libvirt-domain";
import { httpsUrlFor, sslVerify, withoutSnapshotSuffix } from "../src/vcenter.js";
import { inputVcenterHttpsMode } from "../src/mode.js";

test("a disk's URL is built as virt-v2v 2.2's get_https_url: /folder, -flat.vmdk, dcPath and dsName quoted", () => {
  const uri = parseLibvirtUri("vpx://root@vcenter.example.com/Datacenter/cluster/esxi?no_verify=1");
  assert.equal(
    httpsUrlFor(
      "Datacenter/Folder A",
      uri,
      "vcenter.example.com",
      "[datastore 1] Fedora 20/Fedora 20.vmdk",
    ),
    "https://vcenter.example.com/folder/Fedora%2020/Fedora%2020-flat.vmdk?dcPath=Datacenter/Folder%20A&dsName=datastore%201",
  );
  // Port 443 is left out, others are kept; a path that is not "[ds] path.vmdk" is taken as it is.
  const on443 = parseLibvirtUri("esx://esxi.example.com:443/");
  const on8443 = parseLibvirtUri("esx://esxi.example.com:8443/");
  assert.equal(
    httpsUrlFor("ha-datacenter", on443, "esxi.example.com", "[ds] g/g.vmdk"),
    "https://esxi.example.com/folder/g/g-flat.vmdk?dcPath=ha-datacenter&dsName=ds",
  );
  assert.equal(
    httpsUrlFor("ha-datacenter", on8443, "esxi.example.com", "[ds] g/g.vmdk"),
    "https://esxi.example.com:8443/folder/g/g-flat.vmdk?dcPath=ha-datacenter&dsName=ds",
  );
  assert.equal(httpsUrlFor("dc", on443, "esxi", "/not/a/datastore/path"), "/not/a/datastore/path");
});

test("uri_quote keeps letters, digits, / . - and writes every other byte as lower-case %xx", () => {
  assert.equal(uriQuote("a-b.c/D_9 ~é&="), "a-b.c/D%5f9%20%7e%c3%a9%26%3d");
});

test("a snapshot's -00000N suffix is taken off for the retry; no_verify=1 turns off certificate checks", () => {
  assert.equal(withoutSnapshotSuffix("[ds] g/g-000001.vmdk"), "[ds] g/g.vmdk");
  assert.equal(withoutSnapshotSuffix("[ds] g/g.vmdk"), null);
  assert.equal(withoutSnapshotSuffix("[ds] g/g-01.vmdk"), null);
  assert.equal(sslVerify(parseLibvirtUri("vpx://vc/dc?no_verify=1")), false);
  assert.equal(sslVerify(parseLibvirtUri("vpx://vc/dc")), true);
  assert.equal(sslVerify(parseLibvirtUri("vpx://vc/dc?no_verify=0")), true);
});

test("nbdkit curl: url, timeout, cookie script, retry and cacheextents under the overlay; no rate filter without --bandwidth", () => {
  const plan = curlDiskPlan({
    url: "https://vc/folder/g/g-flat.vmdk?dcPath=dc&dsName=ds",
    cookieScript: "/w/tmp/vcenter-cookie0.sh",
    sslVerify: true,
    cowOnReadMarker: "/w/convert",
    bandwidth: null,
  });
  const argv = serverArgv(inputDiskServerSpec(plan, true), {
    socket: "/w/in0",
    pidfile: "/w/tmp/in0.pid",
  });
  assert.deepEqual(argv.slice(argv.indexOf("--filter=cow")), [
    "--filter=cow",
    "--filter=cacheextents",
    "--filter=retry",
    "curl",
    "cow-on-read=/w/convert",
    "url=https://vc/folder/g/g-flat.vmdk?dcPath=dc&dsName=ds",
    "timeout=2000",
    "cookie-script=/w/tmp/vcenter-cookie0.sh",
    "cookie-script-renew=1500",
  ]);
});

test("the descriptor: -io and -it are refused, -ic/-ip/--bandwidth are handed on, the description is 2.2's", () => {
  const request = {
    mode: "libvirt",
    args: ["guest"],
    inputFormat: undefined,
    inputConnection: "vpx://root@vc/dc/esxi?no_verify=1",
    inputTransport: undefined,
    inputPassword: "/tmp/pw",
    inputOptions: [],
    bandwidth: "10M",
    bandwidthFile: undefined,
  };
  assert.deepEqual(inputVcenterHttpsMode.helperArgs(request), [
    "-ic",
    "vpx://root@vc/dc/esxi?no_verify=1",
    "-ip",
    "/tmp/pw",
    "--bandwidth",
    "10M",
    "--",
    "guest",
  ]);
  assert.equal(
    inputVcenterHttpsMode.description(request),
    "-i libvirt -ic vpx://root@vc/dc/esxi?no_verify=1 guest",
  );
  assert.throws(
    () => inputVcenterHttpsMode.helperArgs({ ...request, inputOptions: ["x=y"] }),
    /^UserError: no -io \(input options\) are allowed here$/,
  );
  assert.throws(
    () => inputVcenterHttpsMode.helperArgs({ ...request, inputTransport: "ssh" }),
    /-it ssh is not served for this connection/,
  );
});
