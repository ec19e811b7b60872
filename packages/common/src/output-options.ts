/**
 * The -o… option checks that virt-v2v 2.2's output modes share, in its words: the -oo KEY=VALUE
 * split, its boolean values, -oa, and the checks of a local target file's -of. Each mode's
 * descriptor calls these in its own order (2.2's order for that mode).
 */
import { UserError } from "./errors.js";

/** -oo KEY[=VALUE], split at the first "=" as 2.2 does (no "=": the value is ""). */
export function outputOptionPairs(options: readonly string[]): { key: string; value: string }[] {
  return options.map((option) => {
    const separator = option.indexOf("=");
    return separator < 0
      ? { key: option, value: "" }
      : { key: option.slice(0, separator), value: option.slice(separator + 1) };
  });
}

/**
 * OCaml's bool_of_string, which 2.2 applies to boolean -oo values ("-oo compressed" alone is
 * true where the mode allows it). 2.2 dies with "internal error: invalid argument:
 * bool_of_string" on anything else; this says what to write instead.
 */
export function outputBoolean(
  mode: string,
  key: string,
  value: string,
  options: { emptyIsTrue: boolean } = { emptyIsTrue: true },
): boolean {
  if (value === "true" || (options.emptyIsTrue && value === "")) return true;
  if (value === "false") return false;
  throw new UserError(`-o ${mode}: -oo ${key}=${value}: the value must be true or false`);
}

/** -oa: sparse (the default) or preallocated. */
export function checkOutputAllocation(allocation: string | undefined): "sparse" | "preallocated" {
  const checked = allocation ?? "sparse";
  if (checked !== "sparse" && checked !== "preallocated") {
    throw new UserError(
      `-oa ${checked}: unknown output allocation mode; use -oa sparse or -oa preallocated`,
    );
  }
  return checked;
}

/** -of of a mode that writes raw or qcow2 volumes (2.2's message; raw is the default). */
export function checkRawOrQcow2(format: string | undefined): "raw" | "qcow2" {
  const checked = format ?? "raw";
  if (checked !== "raw" && checked !== "qcow2")
    throw new UserError(`output mode only supports raw or qcow2 format (format: ${checked})`);
  return checked;
}

/**
 * The checks 2.2 makes when it creates a local target file (output_to_local_file), in its order
 * and words: -oo compressed only with -of qcow2, then -of raw or qcow2.
 */
export function checkLocalFileFormat(
  format: string | undefined,
  compressed: boolean,
): "raw" | "qcow2" {
  if (compressed && format !== "qcow2") {
    throw new UserError(
      "‘-oo compressed’ is only allowed when the output format is a local qcow2-format file, i.e. ‘-of qcow2’",
    );
  }
  return checkRawOrQcow2(format);
}
