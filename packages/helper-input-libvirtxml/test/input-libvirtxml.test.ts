import { test } from "node:test";
import assert from "node:assert/strict";
import { createReadStream } from "node:fs";
import { mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { NbdConnection } from "@split-v2v/libnbd";
import {
  escapeRegExp,
  freePort,
  qemuIo,
  readServed,
  serve,
  serversMentioning,
  sha256,
} from "@split-v2v/helper-test-kit";
import { readMetadata } from "@split-v2v/metadata-schema";

const helper = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "src", "cli.js");
const MIB = 1024 * 1024;

/**
 * A stand-in for a web server holding a disk image (what 2.2's http disks are for: testing curl
 * without VMware): real HTTP/1.1 with byte ranges, as nbdkit's curl plugin needs, from a file.
 */
async function serveFileOverHttp(
  file: string,
): Promise<{ port: number; close: () => Promise<void> }> {
  const size = (await stat(file)).size;
  const server = http.createServer((request, response) => {
    const range = /^bytes=(\d+)-(\d*)$/.exec(request.headers.range ?? "");
    const start = range ? Number(range[1]) : 0;
    const end = range && range[2] !== "" ? Number(range[2]) : size - 1;
    response.setHeader("Accept-Ranges", "bytes");
    response.setHeader("Content-Length", String(end - start + 1));
    if (range) {
      response.statusCode = 206;
      response.setHeader("Content-Range", `bytes ${start}-${end}/${size}`);
    }
    if (request.method === "HEAD") {
      response.end();
      return;
    }
    createReadStream(file, { start, end }).pipe(response);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

test("a domain's raw and qcow2 disks are served through overlays; metadata.in describes the guest", async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "input-libvirtxml-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const raw = path.join(dir, "root disk.img");
  const qcow2 = path.join(dir, "data.qcow2");
  await execa("qemu-img", ["create", "-q", "-f", "raw", raw, "32M"]);
  await qemuIo("raw", raw, "write -P 0x11 1M 64k");
  await execa("qemu-img", ["create", "-q", "-f", "qcow2", qcow2, "48M"]);
  await qemuIo("qcow2", qcow2, "write -P 0x22 2M 64k");
  const before = new Map([
    [raw, await sha256(raw)],
    [qcow2, await sha256(qcow2)],
  ]);

  const xml = path.join(dir, "guest.xml");
  await writeFile(
    xml,
    `<domain type='kvm'>
  <name>guest</name>
  <genid>43dc0cf8-809b-4adb-9bea-a9abb5f3d90d</genid>
  <memory unit='KiB'>2097152</memory>
  <vcpu>2</vcpu>
  <features><acpi/><apic/></features>
  <os firmware='efi'><type>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='${raw}'/>
      <target dev='sda' bus='sata'/>
    </disk>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='${qcow2}'/>
      <target dev='vdb' bus='virtio'/>
    </disk>
    <disk type='file' device='cdrom'>
      <target dev='hdc' bus='ide'/>
    </disk>
    <interface type='network'>
      <mac address='52:54:00:12:34:56'/>
      <source network='default'/>
      <model type='virtio'/>
    </interface>
    <graphics type='vnc' autoport='yes' keymap='en-us'/>
    <sound model='ich9'/>
    <hostdev mode='subsystem' type='pci'/>
  </devices>
</domain>
`,
  );

  // --precheck: checks, starts nothing, writes nothing.
  const workdir = await mkdtemp(path.join(dir, "work-"));
  const precheck = await execa(process.execPath, [helper, "--precheck", workdir, xml], {
    reject: false,
  });
  assert.equal(precheck.exitCode, 0, String(precheck.stderr));
  assert.deepEqual(await readdir(workdir), []);

  const { child, events } = await serve(helper, [workdir, xml]);
  try {
    assert.deepEqual(events, [
      {
        event: "warning",
        text: "this guest has a passthrough host device which will be ignored",
      },
      { event: "ready", sockets: ["in0", "in1"] },
    ]);
    const metadata = await readMetadata("metadata.in", path.join(workdir, "metadata.in"));
    assert.deepEqual(metadata.input, { mode: "libvirtxml", description: `-i libvirtxml ${xml}` });
    const { disks, ...source } = metadata.source;
    assert.deepEqual(source, {
      name: "guest",
      hypervisor: "kvm",
      genid: "43dc0cf8-809b-4adb-9bea-a9abb5f3d90d",
      memoryBytes: 2048 * MIB,
      vcpus: 2,
      cpuVendor: null,
      cpuModel: null,
      cpuTopology: null,
      features: ["acpi", "apic"],
      firmware: "uefi",
      uefiSecureBoot: false,
      display: {
        type: "vnc",
        keymap: "en-us",
        password: null,
        listen: { kind: "none", value: null },
        port: null,
      },
      sound: "ich9",
      removables: [{ type: "cdrom", controller: "ide", slot: 2 }],
      nics: [
        { mac: "52:54:00:12:34:56", model: "virtio", network: "default", networkType: "network" },
      ],
    });
    assert.deepEqual(disks, [
      {
        id: 0,
        socket: "in0",
        virtualSize: 32 * MIB,
        controller: "sata",
        format: "raw",
        location: raw,
      },
      {
        id: 1,
        socket: "in1",
        virtualSize: 48 * MIB,
        controller: "virtio-blk",
        format: "qcow2",
        location: qcow2,
      },
    ]);

    // The endpoints serve the images' data (the qcow2 decoded by qemu) …
    assert.deepEqual(await readServed(path.join(workdir, "in0"), MIB, 4), Buffer.alloc(4, 0x11));
    assert.deepEqual(
      await readServed(path.join(workdir, "in1"), 2 * MIB, 4),
      Buffer.alloc(4, 0x22),
    );
    assert.deepEqual(await readServed(path.join(workdir, "in1"), 0, 4), Buffer.alloc(4, 0));
    const whole = await execa(
      "qemu-img",
      [
        "compare",
        "-f",
        "raw",
        "-F",
        "qcow2",
        `nbd+unix:///?socket=${path.join(workdir, "in1")}`,
        qcow2,
      ],
      { reject: false },
    );
    assert.equal(whole.exitCode, 0, `${whole.stdout}${whole.stderr}`);
    // … and take the conversion's writes in the overlay only.
    for (const socket of ["in0", "in1"]) {
      const connection = await NbdConnection.connectUnix(path.join(workdir, socket));
      try {
        await connection.pwrite(0n, Buffer.alloc(65536, 0x99));
        await connection.flush();
        assert.deepEqual(await connection.pread(0n, 2), Buffer.from([0x99, 0x99]));
      } finally {
        connection.close();
      }
    }
  } finally {
    child.kill("SIGTERM");
    const result = await child;
    assert.equal(result.exitCode, 0, "the helper stops cleanly on SIGTERM");
  }
  assert.deepEqual(
    (await readdir(workdir)).filter((name) => name !== "tmp"),
    ["metadata.in"],
    "the sockets are gone",
  );
  assert.deepEqual(await serversMentioning(dir), [], "no server is left running");
  for (const [file, sum] of before) assert.equal(await sha256(file), sum, `${file} is unchanged`);
});

test("network disks: nbd on localhost (virt-p2v's) and http, each read back", async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "input-libvirtxml-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const nbdImage = path.join(dir, "p2v.img");
  const httpImage = path.join(dir, "web.img");
  await execa("truncate", ["-s", "8M", nbdImage]);
  await qemuIo("raw", nbdImage, "write -P 0x33 4k 4k");
  await execa("truncate", ["-s", "4M", httpImage]);
  await qemuIo("raw", httpImage, "write -P 0x44 1M 4k");

  // The NBD server virt-p2v would run: a real one, qemu-nbd on a TCP port of localhost.
  const port = await freePort();
  const nbdServer = execa(
    "qemu-nbd",
    [
      "--persistent",
      "--read-only",
      "--format",
      "raw",
      "--bind",
      "127.0.0.1",
      "--port",
      String(port),
      nbdImage,
    ],
    { reject: false },
  );
  t.after(async () => {
    nbdServer.kill("SIGTERM");
    await nbdServer;
  });
  for (let tries = 0; ; tries++) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.once("connect", () => (socket.destroy(), resolve(true)));
      socket.once("error", () => resolve(false));
    });
    if (up) break;
    if (tries > 100) throw new Error("qemu-nbd did not start");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const web = await serveFileOverHttp(httpImage);
  t.after(() => web.close());

  const xml = path.join(dir, "p2v.xml");
  await writeFile(
    xml,
    `<domain type='physical'><name>p2v</name><devices>
  <disk type='network' device='disk'>
    <driver name='qemu' type='raw'/>
    <source protocol='nbd'><host name='localhost' port='${port}'/></source>
    <target dev='sda' bus='scsi'/>
  </disk>
  <disk type='network' device='disk'>
    <driver name='qemu' type='raw'/>
    <source protocol='http' name='/web.img'><host name='127.0.0.1' port='${web.port}'/></source>
  </disk>
</devices></domain>`,
  );
  const workdir = await mkdtemp(path.join(dir, "work-"));
  const { child, events } = await serve(helper, [workdir, xml]);
  try {
    assert.deepEqual(events.at(-1), { event: "ready", sockets: ["in0", "in1"] });
    const metadata = await readMetadata("metadata.in", path.join(workdir, "metadata.in"));
    assert.equal(metadata.source.hypervisor, "physical");
    assert.deepEqual(
      metadata.source.disks.map((disk) => [disk.controller, disk.virtualSize, disk.location]),
      [
        ["scsi", 8 * MIB, `nbd://localhost:${port}`],
        [null, 4 * MIB, `http://127.0.0.1:${web.port}/web.img`],
      ],
    );
    // libvirt XML disks carry no network here.
    assert.deepEqual(metadata.source.nics, []);
    assert.deepEqual(await readServed(path.join(workdir, "in0"), 4096, 4), Buffer.alloc(4, 0x33));
    assert.deepEqual(await readServed(path.join(workdir, "in1"), MIB, 4), Buffer.alloc(4, 0x44));
    assert.deepEqual(await readServed(path.join(workdir, "in1"), 0, 4), Buffer.alloc(4, 0));
  } finally {
    child.kill("SIGTERM");
    const result = await child;
    assert.equal(result.exitCode, 0);
  }
  assert.deepEqual(await serversMentioning(workdir), [], "no server of the helper is left running");
});

test("errors: virt-v2v's words where it has them, before any server starts", async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "input-libvirtxml-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const present = path.join(dir, "present.img");
  await execa("truncate", ["-s", "1M", present]);
  const write = async (name: string, text: string) => {
    const file = path.join(dir, name);
    await writeFile(file, text);
    return file;
  };
  const disk = (file: string) =>
    `<disk type='file' device='disk'><driver type='raw'/><source file='${file}'/></disk>`;
  const missing = path.join(dir, "missing.img");
  const cases: Array<[string[], string | RegExp]> = [
    [[], "-i libvirtxml: expecting a libvirt XML filename on the command line"],
    [
      [path.join(dir, "nosuch.xml")],
      `-i libvirtxml: cannot read the libvirt XML file ${path.join(dir, "nosuch.xml")}: No such file or directory`,
    ],
    [
      [await write("broken.xml", "<domain type='kvm'><name>x</name>")],
      `-i libvirtxml: ${path.join(dir, "broken.xml")} is not well-formed XML: line 1: parser error : Premature end of data in tag domain line 1`,
    ],
    [
      [
        await write(
          "notype.xml",
          `<domain><name>x</name><devices>${disk(present)}</devices></domain>`,
        ),
      ],
      "in the libvirt XML metadata, <domain type='...'> is missing or empty",
    ],
    [
      [await write("nodisks.xml", "<domain type='kvm'><name>x</name><devices/></domain>")],
      "this guest has no non-removable disks",
    ],
    [
      [
        await write(
          "missing.xml",
          `<domain type='kvm'><name>x</name><devices>${disk(present)}${disk(missing)}</devices></domain>`,
        ),
      ],
      `-i libvirtxml: cannot open the disk image ${missing} (disk 1 in ${path.join(dir, "missing.xml")}): No such file or directory`,
    ],
    [
      [
        await write(
          "volume.xml",
          "<domain type='kvm'><name>x</name><devices><disk type='volume' device='disk'><source pool='default' volume='v.qcow2'/></disk></devices></domain>",
        ),
      ],
      // The default connection (LIBVIRT_DEFAULT_URI below) names a node file that is not there.
      // libxml2 may add its own I/O warning to libvirt's message: only that part is left open.
      new RegExp(
        `^-i libvirtxml: ${escapeRegExp(path.join(dir, "volume.xml"))} names a storage volume, which is looked up in libvirt's default connection: cannot open the libvirt connection \\(default\\): XML error: failed to parse xml document '${escapeRegExp(path.join(dir, "no-node.xml"))}'.*; set LIBVIRT_DEFAULT_URI, or use -i libvirt -ic URI GUEST$`,
      ),
    ],
    [
      [
        await write(
          "ignored.xml",
          "<domain type='kvm'><name>x</name><devices><disk type='network' device='disk'><source protocol='rbd'/></disk></devices></domain>",
        ),
      ],
      `-i libvirtxml: none of the disks in ${path.join(dir, "ignored.xml")} can be read (see the warnings above): there is nothing to convert`,
    ],
  ];
  for (const [args, message] of cases) {
    for (const precheck of [[], ["--precheck"]]) {
      const workdir = await mkdtemp(path.join(dir, "work-"));
      const result = await execa(process.execPath, [helper, ...precheck, workdir, ...args], {
        env: { LIBVIRT_DEFAULT_URI: `test://${path.join(dir, "no-node.xml")}` },
        reject: false,
      });
      assert.equal(result.exitCode, 1, String(message));
      const last = String(result.stderr).trim().split("\n").at(-1) ?? "";
      const prefix = "helper-v2v-input-libvirtxml: error: ";
      assert.ok(last.startsWith(prefix), last);
      if (typeof message === "string") assert.equal(last.slice(prefix.length), message);
      else assert.match(last.slice(prefix.length), message);
      assert.match(String(result.stdout), /"event":"error"/);
      assert.deepEqual(await readdir(workdir), [], "nothing written into WORKDIR");
    }
  }
  assert.deepEqual(await serversMentioning(dir), []);
});

test("--describe: the mode's facts", async () => {
  const result = await execa(process.execPath, [helper, "--describe"]);
  const facts = JSON.parse(String(result.stdout)) as Record<string, unknown>;
  assert.equal(facts.name, "libvirtxml");
  assert.equal(facts.program, "helper-v2v-input-libvirtxml");
  assert.deepEqual(facts.capabilities, ["input:libvirtxml"]);
  assert.deepEqual(facts.transports, []);
});
