/**
 * Small helpers for editing files in the guest through libguestfs, each change recorded.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { errorMessage } from "@split-v2v/common";
import type { ConversionContext } from "../family.js";

export async function isFile(context: ConversionContext, path: string): Promise<boolean> {
  return context.g.isFile(path);
}

export async function readText(context: ConversionContext, path: string): Promise<string> {
  return (await context.g.readFile(path)).toString("utf8");
}

/** Replaces a file's text when it changed, and records the change. */
export async function rewriteText(
  context: ConversionContext,
  path: string,
  edit: (text: string) => string,
  what: string,
): Promise<boolean> {
  if (!(await context.g.isFile(path))) return false;
  const before = await readText(context, path);
  const after = edit(before);
  if (after === before) return false;
  await context.g.write(path, after);
  context.recordChange(path, what);
  await logDiff(context, path, before, after);
  return true;
}

/**
 * Logs a unified diff (diff -u) of a guest file the conversion rewrote: the convert log has
 * it, and -v shows it.
 */
export async function logDiff(
  context: ConversionContext,
  guestPath: string,
  before: string,
  after: string,
): Promise<void> {
  const scratch = await mkdtemp(path.join(os.tmpdir(), "v2v-diff-"));
  try {
    const [a, b] = [path.join(scratch, "a"), path.join(scratch, "b")];
    await writeFile(a, before);
    await writeFile(b, after);
    const result = await execa(
      "diff",
      ["-u", "--label", `a${guestPath}`, "--label", `b${guestPath}`, a, b],
      { reject: false },
    );
    for (const line of String(result.stdout).split("\n")) if (line !== "") context.log(line);
  } catch (err) {
    context.log(`(no diff of ${guestPath}: ${errorMessage(err)})`);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * Saves augeas's changes and logs the diff of each file it wrote (augeas keeps the old one as
 * FILE.augsave: the conversion opens augeas with AUG_SAVE_BACKUP, as virt-v2v does).
 */
export async function saveAugeas(context: ConversionContext): Promise<void> {
  const { g } = context;
  await g.augSave();
  for (const node of await g.augMatch("/augeas/events/saved")) {
    const file = (await g.augGet(node)).replace(/^\/files/, "");
    try {
      const before = (await g.readFile(`${file}.augsave`)).toString("utf8");
      const after = (await g.readFile(file)).toString("utf8");
      await logDiff(context, file, before, after);
    } catch {
      context.log(`augeas saved ${file}`);
    }
  }
}

/** The first of `paths` that is a file (following symlinks in the directories). */
export async function firstFile(
  context: ConversionContext,
  paths: readonly string[],
): Promise<string | null> {
  for (const path of paths) if (await context.g.isFile(path)) return path;
  return null;
}

/** Runs a command inside the guest, logging it and its output. */
export async function runInGuest(context: ConversionContext, argv: string[]): Promise<string> {
  context.log(`running in the guest: ${argv.join(" ")}`);
  const output = await context.g.command(argv);
  for (const line of output.split("\n")) if (line.trim() !== "") context.log(`  ${line}`);
  return output;
}
