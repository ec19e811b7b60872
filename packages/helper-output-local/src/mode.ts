/**
 * `-o local` (alias `-o disk`) as the supervisor's table sees it, and the checks of its
 * options that need no file system (the helper's precheck adds those of -os). Kept free of the
 * helper's own modules, so that the supervisor reads it without loading them.
 */
import {
  UserError,
  outputOptionArgs,
  type OutputModeDescriptor,
  checkOutputAllocation,
} from "@split-v2v/common";

export interface OutputLocalOptions {
  /** -os: the directory for the disks and the XML. */
  outputStorage: string | undefined;
  /** -of: raw (default) or qcow2. */
  outputFormat: string | undefined;
  /** -oa: sparse (default) or preallocated. */
  outputAllocation: string | undefined;
  /** -on: the guest's name on the target (default: the source name). */
  outputName: string | undefined;
  /** -oc / -op: not used by this mode, refused when given. */
  outputConnection: string | undefined;
  outputPassword: string | undefined;
  /** -oo: only "compressed" (qcow2) is known to this mode. */
  outputOptions: string[];
  /** The mode name the user typed (local or disk), for messages. */
  mode: string;
}

export interface CheckedOutputLocal {
  directory: string;
  format: "raw" | "qcow2";
  allocation: "sparse" | "preallocated";
  compressed: boolean;
  name: string | undefined;
}

/** The option errors that need no file system, in virt-v2v's order and words. */
export function checkOutputLocalOptions(
  options: OutputLocalOptions,
): Pick<CheckedOutputLocal, "format" | "allocation" | "compressed"> & { mode: string } {
  const mode = options.mode;
  if (options.outputConnection !== undefined)
    throw new UserError(`-o ${mode}: -oc option cannot be used in this output mode`);
  if (options.outputPassword !== undefined)
    throw new UserError(`-o ${mode}: -op option cannot be used in this output mode`);
  let compressed = false;
  for (const option of options.outputOptions) {
    if (option === "compressed") compressed = true;
    else throw new UserError(`-o ${mode}: unknown output option ‘-oo ${option}’`);
  }
  const format = options.outputFormat ?? "raw";
  if (format !== "raw" && format !== "qcow2") {
    throw new UserError(
      `-o ${mode}: -of ${format}: only raw and qcow2 output formats are supported`,
    );
  }
  if (compressed && format !== "qcow2")
    throw new UserError(`-o ${mode}: -oo compressed is only allowed with -of qcow2`);
  const allocation = checkOutputAllocation(options.outputAllocation);
  return { mode, format, allocation, compressed };
}

export const outputLocalMode: OutputModeDescriptor = {
  kind: "output",
  // virt-v2v 2.2 calls this mode "disk" (Output_disk), and -o local its other name.
  name: "disk",
  aliases: ["local"],
  program: "helper-v2v-output-local",
  helperPackage: "@split-v2v/helper-output-local",
  summary: "local disk files DIR/NAME-sdX and a libvirt XML DIR/NAME.xml",
  usage: "-o local -os DIR [-of raw|qcow2] [-oa sparse|preallocated] [-on NAME]",
  options: [
    {
      name: "compressed",
      value: null,
      help: "Compress the output file (used only with -of qcow2)",
    },
  ],
  capabilities: ["output:local"],
  stages: ["precheck", "setup", "final"],
  targetIsZero: true,
  helperArgs(request) {
    checkOutputLocalOptions({
      outputStorage: request.storage,
      outputFormat: request.format,
      outputAllocation: request.allocation,
      outputName: request.name,
      outputConnection: request.connection,
      outputPassword: request.password,
      outputOptions: request.options,
      mode: request.mode,
    });
    return ["--mode", request.mode, ...outputOptionArgs(request)];
  },
  // virt-v2v 2.2 names this mode "-o disk" here, whichever name was typed.
  description: (request) => `-o disk -os ${request.storage ?? ""}`,
};
