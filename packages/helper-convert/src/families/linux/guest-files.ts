/**
 * Small helpers for editing files in the guest through libguestfs, each change recorded.
 */
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
  return true;
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
