/**
 * helper-v2v-output-glance stage by stage, with a STAND-IN `glance` program on $PATH (see
 * standin-glance.ts: the real client needs an OpenStack cloud) that logs every call and keeps
 * what it was sent; and once with `echo` as the client, as upstream's test-v2v-o-glance.sh
 * does. A converted guest's metadata is written by hand (no conversion); real nbdkit/qemu-nbd
 * serve the temporary disks and real nbdcopy fills them.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { optionsHelpText, type OutputRequest } from "@split-v2v/common";
import {
  convertedWindowsGuest,
  runHelper,
  serve,
  serversMentioning,
  writeConvertedGuest,
} from "@split-v2v/helper-test-kit";
import { imageIdOf, outputGlanceMode } from "../src/index.js";
import { standinGlance } from "./standin-glance.js";

const helper = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "src", "cli.js");
const MiB = 1024 * 1024;
const IMAGE1 = "61a9ce01-1111-4222-8333-000000000001";
const IMAGE2 = "61a9ce02-1111-4222-8333-000000000002";

/** The --property arguments 2.2 gives helper-test-kit's converted Windows 10 guest. */
const WINDOWS_PROPERTIES = [
  "architecture=x86_64",
  "hypervisor_type=kvm",
  "vm_mode=hvm",
  "hw_disk_bus=virtio",
  "hw_vif_model=virtio",
  "hw_video_model=vga",
  "hw_machine_type=q35",
  "os_type=windows",
  "os_distro=windows",
  "hw_cpu_sockets=1",
  "hw_cpu_cores=2",
  "hw_cpu_threads=1",
  "os_version=10",
  "hw_rng_model=virtio",
].flatMap((property) => ["--property", property]);

async function setUp(dir: string, diskSizes: readonly number[]) {
  const glance = await standinGlance(path.join(dir, "glance"));
  const workdir = await mkdtemp(path.join(dir, "work-"));
  await writeConvertedGuest(workdir, convertedWindowsGuest(diskSizes, "win10-guest"));
  const large = path.join(dir, "large");
  await mkdir(large);
  const sources: string[] = [];
  for (const [index, size] of diskSizes.entries()) {
    const source = path.join(dir, `source${index}.img`);
    await execa("qemu-img", ["create", "-q", "-f", "raw", source, String(size)]);
    await execa("qemu-io", ["-f", "raw", "-c", `write -P 0x${41 + index} 2M 1M`, source]);
    sources.push(source);
  }
  return { glance, workdir, large, sources, env: { ...glance.env(), VIRT_V2V_TMPDIR: large } };
}

function errorLines(stderr: unknown): string[] {
  return String(stderr)
    .split("\n")
    .filter((line) => line.includes("error:"));
}

async function copy(sources: readonly string[], workdir: string): Promise<void> {
  for (const [index, source] of sources.entries()) {
    await execa("nbdcopy", [
      "--flush",
      source,
      `nbd+unix:///?socket=${path.join(workdir, `out${index}`)}`,
    ]);
  }
}

test("-o glance: each disk uploaded with glance image-create and the guest's properties; no temporary file left", async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "output-glance-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const { glance, workdir, large, sources, env } = await setUp(dir, [32 * MiB, 16 * MiB]);
  const options = ["-on", "test", "-oa", "preallocated"];
  const precheck = await runHelper(helper, ["precheck", workdir, ...options], { env });
  assert.equal(precheck.exitCode, 0, String(precheck.stderr));
  const setup = await serve(helper, ["setup", workdir, ...options], { env });
  let stopped = false;
  t.after(() => {
    if (!stopped) setup.child.kill("SIGTERM");
  });
  assert.deepEqual(setup.events.at(-1), { event: "ready", sockets: ["out0", "out1"] });
  const [temporary] = await readdir(large);
  assert.match(temporary ?? "", /^glance\.[A-Za-z0-9]{6}$/);
  const directory = path.join(large, temporary!);
  assert.deepEqual((await readdir(directory)).sort(), ["0", "1"]);
  await copy(sources, workdir);
  const final = await runHelper(helper, ["final", workdir, ...options], { env });
  assert.equal(final.exitCode, 0, String(final.stderr));
  // Each file goes once Glance has it.
  assert.deepEqual(await readdir(large), []);
  await writeFile(path.join(workdir, "done"), "");
  setup.child.kill("SIGTERM");
  stopped = true;
  assert.equal((await setup.child).exitCode, 0);
  assert.deepEqual(await serversMentioning(workdir), [], "no server left");

  const create = (name: string, index: number) => [
    "image-create",
    "--name",
    name,
    "--disk-format=raw",
    "--container-format=bare",
    "--file",
    path.join(directory, String(index)),
    "--min-ram",
    "2048",
    ...WINDOWS_PROPERTIES,
  ];
  assert.deepEqual(await glance.calls(), [
    ["image-list"],
    create("test", 0),
    create("test-disk2", 1),
  ]);
  assert.deepEqual(await glance.images(), [IMAGE1, IMAGE2]);
  for (const [index, id] of [IMAGE1, IMAGE2].entries()) {
    const image = await readFile(path.join(glance.imagesDir, id));
    assert.ok(image.equals(await readFile(sources[index]!)), `image ${id} is disk ${index}`);
  }
  assert.deepEqual(await readdir(large), []);
});

test("-o glance -of qcow2: the images are qcow2, holding the disks", async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "output-glance-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const { glance, workdir, large, sources, env } = await setUp(dir, [16 * MiB]);
  const options = ["-of", "qcow2"];
  const setup = await serve(helper, ["setup", workdir, ...options], { env });
  let stopped = false;
  t.after(() => {
    if (!stopped) setup.child.kill("SIGTERM");
  });
  await copy(sources, workdir);
  const final = await runHelper(helper, ["final", workdir, ...options], { env });
  assert.equal(final.exitCode, 0, String(final.stderr));
  await writeFile(path.join(workdir, "done"), "");
  setup.child.kill("SIGTERM");
  stopped = true;
  await setup.child;
  const [call] = await glance.calls();
  assert.deepEqual(call!.slice(0, 4), [
    "image-create",
    "--name",
    "win10-guest",
    "--disk-format=qcow2",
  ]);
  const image = path.join(glance.imagesDir, IMAGE1);
  const info = JSON.parse(
    String((await execa("qemu-img", ["info", "--output=json", image])).stdout),
  ) as { format: string; "virtual-size": number };
  assert.equal(info.format, "qcow2");
  assert.equal(info["virtual-size"], 16 * MiB);
  const back = path.join(dir, "back.img");
  await execa("qemu-img", ["convert", "-O", "raw", image, back]);
  assert.ok((await readFile(back)).equals(await readFile(sources[0]!)));
  assert.deepEqual(await readdir(large), []);
});

test("-o glance: a failed upload deletes the images uploaded before it; setup then removes the temporary disks", async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "output-glance-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const { glance, workdir, large, sources, env } = await setUp(dir, [8 * MiB, 8 * MiB]);
  const setup = await serve(helper, ["setup", workdir], { env });
  let stopped = false;
  t.after(() => {
    if (!stopped) setup.child.kill("SIGTERM");
  });
  await copy(sources, workdir);
  const final = await runHelper(helper, ["final", workdir], {
    env: { ...env, FAIL: "image-create#2" },
  });
  assert.equal(final.exitCode, 1);
  assert.deepEqual(errorLines(final.stderr), [
    "helper-v2v-output-glance: error: glance: image upload to glance failed, see earlier errors (HTTP 500 Internal Server Error: injected failure of image-create)",
  ]);
  const calls = await glance.calls();
  assert.deepEqual(
    calls.map((args) => args.slice(0, 3)),
    [
      ["image-create", "--name", "win10-guest"],
      ["image-create", "--name", "win10-guest-disk2"],
      ["image-delete", IMAGE1],
    ],
  );
  assert.deepEqual(await glance.images(), []);
  // No WORKDIR/done: stopped, setup removes what is left of the temporary disks.
  setup.child.kill("SIGTERM");
  stopped = true;
  assert.equal((await setup.child).exitCode, 0);
  assert.deepEqual(await readdir(large), []);
  assert.deepEqual(await serversMentioning(workdir), []);
});

test("upstream's test-v2v-o-glance.sh: `echo` as the glance client", async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "output-glance-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const { workdir, large, sources } = await setUp(dir, [8 * MiB]);
  const bin = path.join(dir, "echo-bin");
  await mkdir(bin);
  // As upstream: ln -sf "$(which echo)" glance.
  const echo = String((await execa("which", ["echo"])).stdout).trim();
  await symlink(echo, path.join(bin, "glance"));
  const env = { PATH: `${bin}:${process.env.PATH ?? ""}`, VIRT_V2V_TMPDIR: large };
  const options = ["-on", "test"];
  const precheck = await runHelper(helper, ["precheck", workdir, ...options], { env });
  assert.equal(precheck.exitCode, 0, String(precheck.stderr));
  const setup = await serve(helper, ["setup", workdir, ...options], { env });
  let stopped = false;
  t.after(() => {
    if (!stopped) setup.child.kill("SIGTERM");
  });
  await copy(sources, workdir);
  const final = await runHelper(helper, ["final", workdir, ...options], { env });
  assert.equal(final.exitCode, 0, String(final.stderr));
  await writeFile(path.join(workdir, "done"), "");
  setup.child.kill("SIGTERM");
  stopped = true;
  assert.equal((await setup.child).exitCode, 0);
  assert.deepEqual(await readdir(large), []);
});

test("-o glance refuses options in 2.2's words and order, in one line, before anything is made", async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "output-glance-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const { glance, workdir, large, env } = await setUp(dir, [8 * MiB]);
  const cases: Array<[string[], RegExp, NodeJS.ProcessEnv?]> = [
    [
      ["-oa", "thick", "-oo", "x=y"],
      /: -oa thick: unknown output allocation mode; use -oa sparse or -oa preallocated$/,
    ],
    [["-oo", "x=y", "-oc", "x"], /: no -oo \(output options\) are allowed here$/],
    [["-oc", "x", "-op", "x"], /: -o glance: -oc option cannot be used in this output mode$/],
    [["-op", "x", "-os", "x"], /: -o glance: -op option cannot be used in this output mode$/],
    [["-os", "x", "-of", "vmdk"], /: -o glance: -os option cannot be used in this output mode$/],
    [["-of", "vmdk"], /: output mode only supports raw or qcow2 format \(format: vmdk\)$/],
    [
      [],
      /: glance: glance client is not installed or set up correctly\. {2}You may need to set environment variables or source a script to enable authentication\. {2}See preceding messages for details\. \(HTTP 500 Internal Server Error: injected failure of image-list\)$/,
      { FAIL: "image-list" },
    ],
    [
      [],
      /: glance: glance client is not installed or set up correctly\. .* \(glance: command not found\)$/,
      { PATH: "/usr/bin:/bin" },
    ],
  ];
  for (const [options, message, extra] of cases) {
    const result = await runHelper(helper, ["precheck", workdir, ...options], {
      env: { ...env, ...extra },
    });
    assert.equal(result.exitCode, 1, options.join(" "));
    const errors = errorLines(result.stderr);
    assert.equal(errors.length, 1, String(result.stderr));
    assert.match(errors[0]!, message);
  }
  assert.deepEqual(await glance.calls(), [["image-list"]], "only the failing image-list ran");
  assert.deepEqual(await readdir(large), []);
});

test("the descriptor: -oo ? as Debian's virt-v2v 2.2 prints it, description, checks", async (t) => {
  const request: OutputRequest = {
    mode: "glance",
    storage: undefined,
    format: undefined,
    allocation: undefined,
    name: undefined,
    connection: undefined,
    password: undefined,
    options: [],
  };
  assert.equal(optionsHelpText(outputGlanceMode), "No output options can be used in this mode.\n");
  const debian = await execa("/usr/bin/virt-v2v", ["-o", "glance", "-oo", "?"], {
    reject: false,
    stripFinalNewline: false,
  });
  if (debian.exitCode === 0) assert.equal(debian.stdout, optionsHelpText(outputGlanceMode));
  else t.diagnostic("Debian's virt-v2v is not installed: compared with the stored text only");
  assert.equal(outputGlanceMode.description(request), "-o glance");
  assert.deepEqual(outputGlanceMode.capabilities, ["output:glance"]);
  assert.deepEqual(outputGlanceMode.helperArgs({ ...request, format: "qcow2", name: "n" }), [
    "-of",
    "qcow2",
    "-on",
    "n",
  ]);
  assert.throws(() => outputGlanceMode.helperArgs({ ...request, storage: "x" }), {
    message: "-o glance: -os option cannot be used in this output mode",
  });
  // The id row of the table glance image-create prints.
  assert.equal(
    imageIdOf("+----+----+\n| Property | Value |\n| id       | abc-1 |\n| name | x |\n"),
    "abc-1",
  );
  assert.equal(imageIdOf("image-create --name x"), null);
});
