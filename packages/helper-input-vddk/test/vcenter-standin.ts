/**
 * The STAND-IN for the vCenter side of the tests: what libvirt's ESX driver would give for a
 * guest (its domain XML, vmware namespace included, read by the helper from the file named by
 * SPLIT_V2V_STANDIN_DOMAIN_XML), and a datastore whose disks the stand-in for VDDK
 * (vddk-standin.sh, run by nbdkit's sh plugin) serves. A vCenter and VMware's VDDK cannot exist
 * here; nbdkit, its filters and the NBD client are the real ones.
 */
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa, type ResultPromise } from "execa";
import { runHelper, watchHelper, type HelperEvent } from "@split-v2v/helper-test-kit";
import { DOMAIN_XML_STANDIN_ENV, VDDK_STANDIN_ENV } from "../src/index.js";

const here = path.dirname(fileURLToPath(import.meta.url));
/** The compiled cli (dist/src/cli.js) and the stand-in script in the package's test/. */
export const HELPER = path.join(here, "..", "src", "cli.js");
export const VDDK_STANDIN_SCRIPT = path.join(here, "..", "..", "test", "vddk-standin.sh");

export const THUMBPRINT = "51:5E:3C:1D:44:0A:EF:1F:87:43:B5:2E:80:EF:8A:20:A0:54:F4:0C";
export const PASSWORD = "s3cr3t-Vddk-pa55word";
export const VCENTER_URI =
  "vpx://administrator%40vsphere.local@vcenter.example.com/Datacenter/esxi?no_verify=1";

export interface StandinDisk {
  /** "[datastore1] guest/guest.vmdk" */
  datastorePath: string;
  /** The bytes of the disk, written at offset 0 of its -flat.vmdk; the rest is zeroes. */
  content: Buffer;
  size: number;
}

export interface VcenterStandin {
  dir: string;
  workdir: string;
  passwordFile: string;
  /** A VDDK distribution directory as far as the checks look: lib64/libvixDiskLib.so.8. */
  libdir: string;
  xmlFile: string;
  env: NodeJS.ProcessEnv;
  disks: StandinDisk[];
}

export function domainXml(options: { moref: boolean; disks: readonly string[] }): string {
  const disks = options.disks.map(
    (datastorePath, index) => `    <disk type='file' device='disk'>
      <source file='${datastorePath}'/>
      <target dev='sd${String.fromCharCode(97 + index)}' bus='scsi'/>
      <address type='drive' controller='0' bus='0' target='0' unit='${index}'/>
    </disk>`,
  );
  return `<domain type='vmware' xmlns:vmware='http://libvirt.org/schemas/domain/vmware/1.0'>
  <name>guest</name>
  <uuid>4232c4d2-2b1f-7e35-b5c4-7c3a1b0f11aa</uuid>
  <memory unit='KiB'>2097152</memory>
  <currentMemory unit='KiB'>2097152</currentMemory>
  <vcpu placement='static'>2</vcpu>
  <os>
    <type arch='x86_64'>hvm</type>
  </os>
  <clock offset='utc'/>
  <devices>
${disks.join("\n")}
    <controller type='scsi' index='0' model='vmpvscsi'/>
    <interface type='bridge'>
      <mac address='00:50:56:9a:11:22' type='generated'/>
      <source bridge='VM Network'/>
      <model type='vmxnet3'/>
    </interface>
  </devices>
  <vmware:datacenterpath>Datacenter</vmware:datacenterpath>
${options.moref ? "  <vmware:moref>vm-2183</vmware:moref>\n" : ""}</domain>
`;
}

/** A datastore with the guest's disks, its domain XML, a password file and a VDDK libdir. */
export async function makeVcenterStandin(
  t: { after: (fn: () => Promise<void>) => void },
  options: { moref?: boolean; disks?: number } = {},
): Promise<VcenterStandin> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "input-vddk-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const workdir = path.join(dir, "work");
  await mkdir(workdir, { mode: 0o700 });
  const datastores = path.join(dir, "datastores");
  const disks: StandinDisk[] = [];
  for (let index = 0; index < (options.disks ?? 1); index++) {
    const name = index === 0 ? "guest" : `guest_${index}`;
    const folder = path.join(datastores, "datastore1", "guest");
    await mkdir(folder, { recursive: true });
    const flat = path.join(folder, `${name}-flat.vmdk`);
    const size = (4 + index) * 1024 * 1024;
    await execa("truncate", ["-s", String(size), flat]);
    const content = Buffer.from(`disk ${index} of the guest, read through the stand-in for VDDK\n`);
    // Written at 0 and at 1 MiB, so that reads cross the blocksize filter's boundaries.
    await execa("dd", [`of=${flat}`, "conv=notrunc", "status=none"], { input: content });
    await execa("dd", [`of=${flat}`, "conv=notrunc", "bs=1M", "seek=1", "status=none"], {
      input: content,
    });
    disks.push({ datastorePath: `[datastore1] guest/${name}.vmdk`, content, size });
  }
  const xmlFile = path.join(dir, "guest.xml");
  await writeFile(
    xmlFile,
    domainXml({ moref: options.moref ?? true, disks: disks.map((disk) => disk.datastorePath) }),
  );
  const passwordFile = path.join(dir, "password");
  await writeFile(passwordFile, PASSWORD, { mode: 0o600 });
  const expectedPasswordFile = path.join(dir, "expected-password");
  await writeFile(expectedPasswordFile, PASSWORD, { mode: 0o600 });
  const libdir = path.join(dir, "vmware-vix-disklib-distrib");
  await mkdir(path.join(libdir, "lib64"), { recursive: true });
  await writeFile(path.join(libdir, "lib64", "libvixDiskLib.so.8"), "");
  await chmod(VDDK_STANDIN_SCRIPT, 0o755);
  return {
    dir,
    workdir,
    passwordFile,
    libdir,
    xmlFile,
    disks,
    env: {
      ...process.env,
      [VDDK_STANDIN_ENV]: VDDK_STANDIN_SCRIPT,
      [DOMAIN_XML_STANDIN_ENV]: xmlFile,
      VDDK_STANDIN_DATASTORES: datastores,
      VDDK_STANDIN_PASSWORD_FILE: expectedPasswordFile,
    },
  };
}

/** The helper's arguments after WORKDIR, as the supervisor's descriptor gives them. */
export function helperArgs(
  standin: VcenterStandin,
  io: readonly string[],
  uri = VCENTER_URI,
): string[] {
  return [
    "-ic",
    uri,
    "-ip",
    standin.passwordFile,
    ...io.flatMap((option) => ["-io", option]),
    "--",
    "guest",
  ];
}

/** Runs `helper --precheck` to its end. */
export async function precheck(args: readonly string[], env: NodeJS.ProcessEnv, workdir: string) {
  return runHelper(HELPER, ["--precheck", "-v", workdir, ...args], { env });
}

export interface ServingHelper {
  child: ResultPromise;
  events: HelperEvent[];
  /** The helper's stderr (its -v log), line by line. */
  log: string[];
  /** Whether it said ready (false: it exited first). */
  ready: boolean;
}

/** Runs the helper's setup until it is ready (or fails); its stderr (the log) is collected. */
export async function serve(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  workdir: string,
): Promise<ServingHelper> {
  const child: ResultPromise = execa(process.execPath, [HELPER, "-v", workdir, ...args], {
    env,
    buffer: false,
    reject: false,
  });
  const { events, log, ready } = watchHelper(child);
  return { child, events, log, ready: await ready };
}
