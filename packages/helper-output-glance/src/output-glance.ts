/**
 * -o glance: the converted guest as Glance images, uploaded with the `glance` command-line
 * client (virt-v2v 2.2's output_glance; 2.2's manual calls it the legacy way, -o openstack
 * being the one to use):
 *
 *   precheck  the options; `glance image-list` (the client is installed and its OS_*
 *             credentials work), before anything is converted
 *   setup     one sparse temporary file per disk (-of raw or qcow2) in a fresh glance.XXXXXX
 *             directory of the large temporary directory, served on WORKDIR/outN; the
 *             directory is removed when setup stops, whatever happened
 *   final     `glance image-create … --file FILE --property KEY=VALUE…` per disk (the first
 *             named as the guest, the others NAME-diskN), each file removed once uploaded
 *
 * Why a temporary copy, against "no temporary copies": the copy writes NBD requests out of
 * order, several at a time, skipping holes, so the target must be a seekable file — the glance
 * client could read a pipe on its stdin (it then uploads without knowing the size), but nothing
 * can turn the copy's writes into an ordered stream without a full buffer, and a qcow2 image
 * (-of qcow2, which 2.2's manual recommends for Glance) cannot be written as a stream at all.
 * Uploading straight from the converted source in final instead would move the copy out of the
 * copy stage (its progress, its parallelism). So the disks land in a local file, as in 2.2.
 */
import { mkdir, mkdtemp, readFile, rm, rmdir, unlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import {
  UserError,
  metadataInPath,
  metadataOutPath,
  onCleanup,
  outputStatePath,
  serveTargetDisk,
  type OutputRequest,
  type OutputStage,
} from "@split-v2v/common";
import { readMetadata } from "@split-v2v/metadata-schema";
import { createOpenstackImageProperties } from "@split-v2v/target-formats";
import { checkOutputGlanceOptions, type CheckedGlanceOptions } from "./mode.js";

export type { CheckedGlanceOptions } from "./mode.js";

export interface StageContext {
  workdir: string;
  verbose: boolean;
  stage: OutputStage;
  /** The helper's debug log. */
  log: (line: string) => void;
  /** The glance client's own messages. */
  report: (line: string) => void;
  /** Told the user (an image that could not be deleted). */
  warn: (text: string) => void;
}

/** What setup leaves for final (WORKDIR/output-state.json). */
export interface GlanceState {
  outputName: string;
  /** The temporary directory holding the disks, named 0, 1, … in disk order. */
  directory: string;
}

/** The program's name, on $PATH. */
export const GLANCE_PROGRAM = "glance";

/**
 * Where 2.2 puts large temporary files (lib/utils.ml's large_tmpdir): $VIRT_V2V_TMPDIR, else
 * libguestfs's cache directory ($LIBGUESTFS_CACHEDIR, else $TMPDIR, else /var/tmp).
 */
export function largeTmpDir(env: NodeJS.ProcessEnv = process.env): string {
  for (const name of ["VIRT_V2V_TMPDIR", "LIBGUESTFS_CACHEDIR", "TMPDIR"]) {
    const value = env[name];
    if (value !== undefined && value !== "") return value;
  }
  return "/var/tmp";
}

/** Why a command that has no exit status did not run to its end (not found, killed…), in one line. */
function notRunReason(result: {
  code?: string;
  signal?: string;
  originalMessage?: string;
}): string {
  if (result.code === "ENOENT") return `${GLANCE_PROGRAM}: command not found`;
  if (result.signal !== undefined) return `${GLANCE_PROGRAM} was killed by ${result.signal}`;
  return result.originalMessage ?? `${GLANCE_PROGRAM} did not run`;
}

interface GlanceResult {
  ok: boolean;
  /** The last line the client wrote on stderr ("" if none). */
  lastError: string;
  stdout: string;
}

/** Runs `glance ARGS…`, its stderr into the log line by line, its stdout kept for the caller. */
async function runGlance(args: readonly string[], context: StageContext): Promise<GlanceResult> {
  context.log(`glance ${args.join(" ")}`);
  const result = await execa(GLANCE_PROGRAM, args, { reject: false, stdin: "ignore" });
  const stderrLines = String(result.stderr ?? "")
    .split("\n")
    .filter((line) => line.trim() !== "");
  for (const line of stderrLines) context.report(`glance: ${line}`);
  if (result.failed && result.exitCode === undefined) stderrLines.push(notRunReason(result));
  return {
    ok: result.exitCode === 0,
    lastError: stderrLines.at(-1) ?? "",
    stdout: String(result.stdout ?? ""),
  };
}

/** 2.2's message, and the client's last complaint: the user sees only this line. */
function withClientError(message: string, result: GlanceResult): string {
  return result.lastError === "" ? message : `${message} (${result.lastError})`;
}

/**
 * The options, then (in the precheck stage) whether the glance client works as this user, so
 * that a missing client or missing credentials fail before the conversion (2.2 finds out in
 * setup, after it).
 */
export async function precheckOutputGlance(
  request: OutputRequest,
  context: StageContext,
): Promise<CheckedGlanceOptions> {
  const checked = checkOutputGlanceOptions(request);
  if (context.stage === "precheck") {
    const list = await runGlance(["image-list"], context);
    if (!list.ok) {
      throw new UserError(
        withClientError(
          "glance: glance client is not installed or set up correctly.  You may need to set environment variables or source a script to enable authentication.  See preceding messages for details.",
          list,
        ),
      );
    }
    if (context.verbose) {
      const version = await runGlance(["--version"], context);
      context.log(`version of the glance client: ${version.stdout.trim()}`);
    }
  }
  return checked;
}

/** Creates the temporary disks and serves them; returns the socket names. */
export async function setUpOutputGlance(
  checked: CheckedGlanceOptions,
  context: StageContext,
): Promise<string[]> {
  const source = (await readMetadata("metadata.in", metadataInPath(context.workdir))).source;
  const base = largeTmpDir();
  await mkdir(base, { recursive: true });
  const directory = await mkdtemp(path.join(base, "glance."));
  // Registered first, so that it runs last (after the servers let go of the files): the
  // temporary disks are never kept, whether the upload happened or not.
  onCleanup(`temporary directory ${directory}`, () =>
    rm(directory, { recursive: true, force: true }),
  );
  const state: GlanceState = { outputName: checked.name ?? source.name, directory };
  await writeFile(outputStatePath(context.workdir), `${JSON.stringify(state, null, 2)}\n`);
  const sockets: string[] = [];
  for (const [index, disk] of source.disks.entries()) {
    sockets.push(
      await serveTargetDisk(
        disk.id,
        {
          file: path.join(directory, String(index)),
          format: checked.format,
          // Glance has no preallocation; a preallocated temporary file would gain nothing.
          allocation: "sparse",
          size: disk.virtualSize,
        },
        context,
      ),
    );
  }
  return sockets;
}

async function readState(workdir: string): Promise<GlanceState> {
  let text: string;
  try {
    text = await readFile(outputStatePath(workdir), "utf8");
  } catch {
    throw new UserError(
      `glance: ${outputStatePath(workdir)} is missing: the final stage runs after setup`,
    );
  }
  return JSON.parse(text) as GlanceState;
}

/** The image's id, from the table `glance image-create` prints (its "id" row). */
export function imageIdOf(output: string): string | null {
  const match = /^\|\s*id\s*\|\s*(\S+)\s*\|\s*$/m.exec(output);
  return match === null ? null : match[1]!;
}

/** The Glance name of disk `index`: the guest's name, then NAME-disk2, NAME-disk3… */
export function imageName(outputName: string, index: number): string {
  return index === 0 ? outputName : `${outputName}-disk${index + 1}`;
}

/**
 * Uploads each disk as an image with the guest's properties; returns the images' ids. When an
 * upload fails, the images this stage uploaded before it are deleted again (2.2 leaves them).
 */
export async function finalizeOutputGlance(
  checked: CheckedGlanceOptions,
  context: StageContext,
): Promise<string[]> {
  const state = await readState(context.workdir);
  const metadataIn = await readMetadata("metadata.in", metadataInPath(context.workdir));
  const converted = await readMetadata("metadata.out", metadataOutPath(context.workdir));
  const source = metadataIn.source;
  const minRamMiB = Math.floor(source.memoryBytes / 1024 / 1024);
  const properties = createOpenstackImageProperties({ source, converted }).flatMap(
    ([key, value]) => ["--property", `${key}=${value}`],
  );
  const uploaded: string[] = [];
  for (const index of source.disks.keys()) {
    const file = path.join(state.directory, String(index));
    // No -oa here: Glance in general has no preallocated images (only VMware's disk types).
    const result = await runGlance(
      [
        "image-create",
        "--name",
        imageName(state.outputName, index),
        `--disk-format=${checked.format}`,
        "--container-format=bare",
        "--file",
        file,
        "--min-ram",
        String(minRamMiB),
        ...properties,
      ],
      context,
    );
    if (!result.ok) {
      await deleteImages(uploaded, context);
      throw new UserError(
        withClientError("glance: image upload to glance failed, see earlier errors", result),
      );
    }
    context.log(result.stdout.trimEnd());
    const id = imageIdOf(result.stdout);
    if (id === null) context.log(`glance image-create printed no image id for disk ${index}`);
    else uploaded.push(id);
    // Glance has its copy: the space is freed as soon as setup's server lets go of the file.
    await unlink(file).catch(() => {});
  }
  await rmdir(state.directory).catch(() => {});
  return uploaded;
}

/** Best effort: an image that cannot be deleted is named to the user. */
async function deleteImages(ids: readonly string[], context: StageContext): Promise<void> {
  for (const id of ids) {
    const result = await runGlance(["image-delete", id], context);
    if (!result.ok) {
      context.warn(
        withClientError(
          `glance: could not delete image ${id} of the failed conversion; delete it with ‘glance image-delete ${id}’`,
          result,
        ),
      );
    }
  }
}
