/**
 * -o local (alias -o disk): target disks `DIR/NAME-sdX` and a libvirt XML `DIR/NAME.xml`.
 *
 *   precheck  validates the options before anything is converted (fail early)
 *   setup     creates the target disks and serves them on WORKDIR/out0… until stopped; when
 *             stopped without the run's `done` marker, removes the disks it created
 *   final     writes NAME.xml once the copy is done
 */
import { access, constants, mkdir, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import {
  UserError,
  driveName,
  markerPath,
  metadataInPath,
  metadataOutPath,
  onCleanup,
  outputSocket,
  serverTmpDir,
  startServer,
  type ServerSpec,
} from "@split-v2v/common";
import { readMetadata, type MetadataIn } from "@split-v2v/metadata-schema";
import { createLibvirtXml, findUefiFirmware, targetFeaturesFor } from "@split-v2v/target-formats";
import {
  checkOutputLocalOptions,
  type CheckedOutputLocal,
  type OutputLocalOptions,
} from "./mode.js";

export type { CheckedOutputLocal, OutputLocalOptions } from "./mode.js";

/** All option errors, before anything is converted or created. */
export async function precheckOutputLocal(
  options: OutputLocalOptions,
): Promise<CheckedOutputLocal> {
  const { mode, format, allocation, compressed } = checkOutputLocalOptions(options);
  if (options.outputStorage === undefined) {
    throw new UserError(`-o ${mode}: output directory was not specified, use '-os /dir'`);
  }
  const directory = path.resolve(options.outputStorage);
  let isDirectory = false;
  try {
    isDirectory = (await stat(directory)).isDirectory();
  } catch {
    isDirectory = false;
  }
  if (!isDirectory)
    throw new UserError(
      `-os ${options.outputStorage}: output directory does not exist or is not a directory`,
    );
  try {
    await access(directory, constants.W_OK);
  } catch {
    throw new UserError(`-os ${options.outputStorage}: output directory is not writable`);
  }
  const name = options.outputName;
  if (name !== undefined && (name === "" || name.includes("/"))) {
    throw new UserError(`-on ${name}: the output name must be non-empty and must not contain '/'`);
  }
  return { directory, format, allocation, compressed, name };
}

export function outputNameOf(checked: CheckedOutputLocal, source: MetadataIn["source"]): string {
  return checked.name ?? source.name;
}

export function targetDiskPath(
  checked: CheckedOutputLocal,
  name: string,
  diskIndex: number,
): string {
  return path.join(checked.directory, `${name}-sd${driveName(diskIndex)}`);
}

export interface SetupContext {
  workdir: string;
  verbose: boolean;
  log: (line: string) => void;
}

async function createDisk(
  file: string,
  format: string,
  allocation: string,
  size: number,
): Promise<void> {
  const args = ["create", "-q", "-f", format];
  const creationOptions: string[] = [];
  if (format === "qcow2") creationOptions.push("compat=1.1");
  if (allocation === "preallocated") creationOptions.push("preallocation=full");
  if (creationOptions.length > 0) args.push("-o", creationOptions.join(","));
  args.push(file, String(size));
  const result = await execa("qemu-img", args, { reject: false, env: { LANG: "C" } });
  if (result.exitCode !== 0) {
    throw new UserError(`cannot create target disk ${file}: ${String(result.stderr).trim()}`);
  }
}

function targetServerSpec(file: string, checked: CheckedOutputLocal): ServerSpec {
  if (checked.format === "raw") {
    return {
      kind: "nbdkit",
      plugin: "file",
      filters: [],
      params: [
        ["file", file],
        ["cache", "none"],
      ],
    };
  }
  if (checked.compressed) {
    return {
      kind: "qemu-nbd",
      file: `driver=compress,file.driver=qcow2,file.file.driver=file,file.file.filename=${file}`,
      format: null,
      snapshot: false,
      imageOpts: true,
    };
  }
  return { kind: "qemu-nbd", file, format: "qcow2", snapshot: false };
}

/** Creates and serves the target disks; returns the socket names. */
export async function setUpOutputLocal(
  checked: CheckedOutputLocal,
  context: SetupContext,
): Promise<string[]> {
  const metadataIn = await readMetadata("metadata.in", metadataInPath(context.workdir));
  const metadataOut = await readMetadata("metadata.out", metadataOutPath(context.workdir));
  // A UEFI guest cannot boot here without firmware: say so before creating anything.
  if (metadataOut.target.firmware === "uefi") await findUefiFirmware(metadataOut.guestcaps.arch);
  const name = outputNameOf(checked, metadataIn.source);
  const tmpDir = serverTmpDir(context.workdir);
  await mkdir(tmpDir, { recursive: true, mode: 0o700 });
  const sockets: string[] = [];
  for (const disk of metadataIn.source.disks) {
    const file = targetDiskPath(checked, name, disk.id);
    context.log(
      `creating ${file} (${checked.format}, ${checked.allocation}, ${disk.virtualSize} bytes)`,
    );
    // Registered before creation, so a failure half-way through still removes it.
    onCleanup(`target disk ${file}`, async () => {
      if (!(await fileExists(markerPath(context.workdir, "done")))) {
        context.log(`run did not finish: removing ${file}`);
        await rm(file, { force: true });
      }
    });
    await createDisk(file, checked.format, checked.allocation, disk.virtualSize);
    const socket = outputSocket(context.workdir, disk.id);
    const server = await startServer(targetServerSpec(file, checked), {
      socket,
      pidfile: path.join(tmpDir, `out${disk.id}.pid`),
      tmpDir,
      verbose: context.verbose,
      log: context.log,
    });
    onCleanup(`server for out${disk.id}`, () => server.stop());
    sockets.push(path.basename(socket));
  }
  return sockets;
}

async function fileExists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

/** Writes NAME.xml. */
export async function finalizeOutputLocal(
  checked: CheckedOutputLocal,
  context: SetupContext & { warn: (line: string) => void },
): Promise<string> {
  const metadataIn = await readMetadata("metadata.in", metadataInPath(context.workdir));
  const metadataOut = await readMetadata("metadata.out", metadataOutPath(context.workdir));
  const name = outputNameOf(checked, metadataIn.source);
  const uefi =
    metadataOut.target.firmware === "uefi"
      ? await findUefiFirmware(metadataOut.guestcaps.arch)
      : null;
  const xml = createLibvirtXml({
    source: metadataIn.source,
    converted: metadataOut,
    outputName: name,
    outputFormat: checked.format,
    diskSource: (diskId) => ({ file: targetDiskPath(checked, name, diskId) }),
    targetFeatures: targetFeaturesFor(metadataOut.guestcaps.arch),
    uefi,
    warn: context.warn,
  });
  const file = path.join(checked.directory, `${name}.xml`);
  await writeFile(file, xml);
  return file;
}
