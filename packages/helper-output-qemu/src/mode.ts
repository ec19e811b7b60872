/**
 * `-o qemu` as the supervisor's table sees it, and the checks of its options that need no file
 * system (the helper's precheck adds -os being a directory, -of and -oo compressed). Kept free
 * of the helper's own modules, so that the supervisor reads it without loading them.
 */
import {
  UserError,
  checkLocalFileFormat,
  checkOutputAllocation,
  outputBoolean,
  outputOptionPairs,
  outputOptionArgs,
  type OutputModeDescriptor,
  type OutputRequest,
} from "@split-v2v/common";

const MODE = "-o qemu";

/** The options as far as they can be checked without the file system. */
export interface QemuRequestOptions {
  /** -os as given: the directory of the disks and of NAME.sh. */
  storage: string;
  /** -of as given (default raw); checked by checkOutputQemuFormat. */
  format: string;
  allocation: "sparse" | "preallocated";
  /** -on; absent: the source's name. */
  name: string | undefined;
  /** -oo compressed: qcow2 written through qemu's compress driver. */
  compressed: boolean;
  /** -oo qemu-boot (--qemu-boot): boot the guest once the conversion is done. */
  qemuBoot: boolean;
}

/**
 * 2.2's parse_options, in its order and words: -op refused, each -oo known, -os given. (-oc
 * is not refused: 2.2 ignores it in this mode.) Then -oa, which 2.2 checks on its command line.
 */
export function checkOutputQemuOptions(request: OutputRequest): QemuRequestOptions {
  if (request.password !== undefined)
    throw new UserError(`${MODE}: -op option cannot be used in this output mode`);
  let compressed = false;
  let qemuBoot = false;
  for (const { key, value } of outputOptionPairs(request.options)) {
    switch (key) {
      case "compressed":
        compressed = outputBoolean("qemu", key, value);
        break;
      case "qemu-boot":
        qemuBoot = outputBoolean("qemu", key, value);
        break;
      default:
        throw new UserError(`${MODE}: unknown output option ‘-oo ${key}’`);
    }
  }
  if (request.storage === undefined)
    throw new UserError(`${MODE}: output directory was not specified, use '-os /dir'`);
  const allocation = checkOutputAllocation(request.allocation);
  return {
    storage: request.storage,
    format: request.format ?? "raw",
    allocation,
    name: request.name,
    compressed,
    qemuBoot,
  };
}

/**
 * The checks 2.2 makes when it creates the first disk (output_to_local_file), in its order and
 * words: -oo compressed only with -of qcow2, and -of raw or qcow2. Here they run in the
 * precheck, after -os is known to be a directory, so that they fail before the conversion.
 */
export function checkOutputQemuFormat(options: QemuRequestOptions): "raw" | "qcow2" {
  return checkLocalFileFormat(options.format, options.compressed);
}

/** `-oo ?` in virt-v2v 2.2's words. */
const OPTIONS_HELP = `Output options (-oo) which can be used with -o qemu:

  -oo compressed      Compress the output file (used only with -of qcow2)
  -oo qemu-boot       Boot the guest in qemu after conversion
`;

export const outputQemuMode: OutputModeDescriptor = {
  kind: "output",
  name: "qemu",
  aliases: [],
  program: "helper-v2v-output-qemu",
  helperPackage: "@split-v2v/helper-output-qemu",
  summary: "local disk files DIR/NAME-sdX and a shell script DIR/NAME.sh that boots them in qemu",
  usage:
    "-o qemu -os DIR [-of raw|qcow2] [-oa sparse|preallocated] [-on NAME] [-oo compressed] [-oo qemu-boot]",
  options: [
    {
      name: "compressed",
      value: null,
      help: "Compress the output file (used only with -of qcow2)",
    },
    { name: "qemu-boot", value: null, help: "Boot the guest in qemu after conversion" },
  ],
  optionsHelp: OPTIONS_HELP,
  capabilities: ["output:qemu"],
  stages: ["precheck", "setup", "final"],
  targetIsZero: true,
  helperArgs(request) {
    checkOutputQemuOptions(request);
    return outputOptionArgs(request);
  },
  description: (request) =>
    `-o qemu${request.storage === undefined ? "" : ` -os ${request.storage}`}`,
};
