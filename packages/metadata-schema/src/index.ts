/**
 * @split-v2v/metadata-schema: the contract between the stages.
 *
 * Whoever writes metadata.in / metadata.out validates before writing; whoever reads validates
 * after reading. Both go through this module, so a malformed file is caught at the stage
 * boundary with a message that names the file and the field, not three stages later.
 */
import { readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import type { FromSchema } from "json-schema-to-ts";
import {
  SCHEMA_VERSION,
  SHIPPED_SCHEMAS,
  helperEventSchema,
  metadataInSchema,
  metadataOutSchema,
} from "./schemas.js";

export { SCHEMA_VERSION, SHIPPED_SCHEMAS, helperEventSchema, metadataInSchema, metadataOutSchema };
export {
  NBD_DEFAULT_PORT,
  diskEndpoint,
  endpointUri,
  parseNbdUri,
  type DiskEndpoint,
} from "./endpoint.js";

export type MetadataIn = FromSchema<typeof metadataInSchema>;
export type MetadataOut = FromSchema<typeof metadataOutSchema>;
export type SourceGuest = MetadataIn["source"];
export type SourceDisk = SourceGuest["disks"][number];
export type SourceRemovable = SourceGuest["removables"][number];
export type SourceNic = SourceGuest["nics"][number];
export type SourceController = SourceDisk["controller"];
export type Inspection = MetadataOut["inspection"];
export type GuestCaps = MetadataOut["guestcaps"];
export type TargetLayout = MetadataOut["target"];
export type TargetNic = TargetLayout["nics"][number];
export type BusSlot = TargetLayout["buses"]["ide"][number];
export type ConversionReport = MetadataOut["conversion"];

export type MetadataKind = "metadata.in" | "metadata.out";

/** The standard file names inside a work dir. */
export const METADATA_IN = "metadata.in";
export const METADATA_OUT = "metadata.out";

export class MetadataError extends Error {
  override readonly name = "MetadataError";
  constructor(
    message: string,
    readonly file: string | null,
    readonly problems: readonly string[],
  ) {
    super(message);
  }
}

// strictRequired off: a disk's anyOf requires socket or endpoint, defined beside it.
const ajv = new Ajv2020({
  allErrors: true,
  strict: true,
  strictRequired: false,
  allowUnionTypes: true,
});
const validators: Record<MetadataKind, ValidateFunction> = {
  "metadata.in": ajv.compile(metadataInSchema),
  "metadata.out": ajv.compile(metadataOutSchema),
};
// Readers are tolerant of what a newer writer of the same schema version may add (optional
// fields do not bump the version): this second instance drops the fields it does not know.
const tolerantAjv = new Ajv2020({
  allErrors: true,
  strict: true,
  strictRequired: false,
  allowUnionTypes: true,
  removeAdditional: true,
});
const tolerantValidators: Record<MetadataKind, ValidateFunction> = {
  "metadata.in": tolerantAjv.compile(metadataInSchema),
  "metadata.out": tolerantAjv.compile(metadataOutSchema),
};

export interface ReadOptions {
  /**
   * Told of each field the file has and this schema does not (a newer writer's addition), which
   * the reader then ignores. Default: one line on stderr, which is a helper's log.
   */
  onUnknownField?: (where: string) => void;
}

/**
 * A reader's validation: strict, except that fields this schema does not know are reported and
 * dropped; every other problem is an error as with validateMetadata.
 */
function validateForReading(
  kind: MetadataKind,
  data: unknown,
  file: string,
  options: ReadOptions,
): MetadataIn | MetadataOut {
  const strict = validators[kind];
  if (strict(data)) return data as MetadataIn | MetadataOut;
  const errors = strict.errors ?? [];
  if (!errors.every((error) => error.keyword === "additionalProperties")) {
    return validateMetadata(kind, data, file);
  }
  const report =
    options.onUnknownField ??
    ((where: string) => process.stderr.write(`${file}: ignoring unknown field ${where}\n`));
  for (const error of errors) {
    const field = String((error.params as { additionalProperty?: unknown }).additionalProperty);
    report(`${error.instancePath}/${field}`);
  }
  const copy = structuredClone(data);
  if (tolerantValidators[kind](copy)) return copy as MetadataIn | MetadataOut;
  return validateMetadata(kind, data, file);
}

function describeProblem(error: ErrorObject): string {
  const where = error.instancePath === "" ? "(top level)" : error.instancePath;
  const extra =
    error.keyword === "additionalProperties"
      ? ` '${String((error.params as { additionalProperty?: unknown }).additionalProperty)}'`
      : error.keyword === "enum"
        ? ` (${JSON.stringify((error.params as { allowedValues?: unknown }).allowedValues)})`
        : "";
  return `${where} ${error.message ?? "is invalid"}${extra}`;
}

/** Checks `data` against the schema of `kind`; returns it typed, or throws MetadataError. */
export function validateMetadata(kind: "metadata.in", data: unknown, file?: string): MetadataIn;
export function validateMetadata(kind: "metadata.out", data: unknown, file?: string): MetadataOut;
export function validateMetadata(
  kind: MetadataKind,
  data: unknown,
  file?: string,
): MetadataIn | MetadataOut;
export function validateMetadata(
  kind: MetadataKind,
  data: unknown,
  file?: string,
): MetadataIn | MetadataOut {
  const validate = validators[kind];
  if (validate(data)) return data as MetadataIn | MetadataOut;
  const problems = (validate.errors ?? []).map(describeProblem);
  // The first problem is usually the root cause; the rest are kept for -v and the log.
  const label = file ?? kind;
  throw new MetadataError(
    `${label} is not valid ${kind} (schema version ${SCHEMA_VERSION}): ${problems[0] ?? "unknown problem"}` +
      (problems.length > 1 ? ` (and ${problems.length - 1} more problem(s))` : ""),
    file ?? null,
    problems,
  );
}

/** Which of the two kinds a parsed document claims to be (its `kind` field). */
export function metadataKindOf(data: unknown): MetadataKind | null {
  if (typeof data !== "object" || data === null) return null;
  const kind = (data as { kind?: unknown }).kind;
  return kind === "metadata.in" || kind === "metadata.out" ? kind : null;
}

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "";
    throw new MetadataError(`cannot read ${file}: ${code || String(err)}`, file, []);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new MetadataError(`${file} is not JSON: ${(err as Error).message}`, file, []);
  }
}

export async function readMetadata(
  kind: "metadata.in",
  file: string,
  options?: ReadOptions,
): Promise<MetadataIn>;
export async function readMetadata(
  kind: "metadata.out",
  file: string,
  options?: ReadOptions,
): Promise<MetadataOut>;
export async function readMetadata(
  kind: MetadataKind,
  file: string,
  options: ReadOptions = {},
): Promise<MetadataIn | MetadataOut> {
  return validateForReading(kind, await readJson(file), file, options);
}

/** Reads a file of either kind, telling which by its `kind` field. */
export async function readAnyMetadata(
  file: string,
): Promise<
  { kind: "metadata.in"; data: MetadataIn } | { kind: "metadata.out"; data: MetadataOut }
> {
  const data = await readJson(file);
  const kind = metadataKindOf(data);
  // Strict, as a writer's check is: `v2v-metadata validate` tells a writer what it got wrong.
  if (kind === "metadata.in") return { kind, data: validateMetadata(kind, data, file) };
  if (kind === "metadata.out") return { kind, data: validateMetadata(kind, data, file) };
  throw new MetadataError(
    `${file} is neither metadata.in nor metadata.out (its "kind" field is missing or unknown)`,
    file,
    [],
  );
}

/**
 * Validates, then writes atomically (temporary name + rename in the same directory), so a reader
 * never sees half a file and a failed validation leaves no file at all.
 */
export async function writeMetadata(
  kind: "metadata.in",
  file: string,
  data: MetadataIn,
): Promise<void>;
export async function writeMetadata(
  kind: "metadata.out",
  file: string,
  data: MetadataOut,
): Promise<void>;
export async function writeMetadata(
  kind: MetadataKind,
  file: string,
  data: MetadataIn | MetadataOut,
): Promise<void> {
  validateMetadata(kind, data, file);
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  await writeFile(temporary, JSON.stringify(data, null, 2) + "\n", { mode: 0o600 });
  await rename(temporary, file);
}
