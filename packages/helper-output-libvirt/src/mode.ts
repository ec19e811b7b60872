/**
 * `-o libvirt` as the supervisor's table sees it, and the checks of its options that need
 * neither libvirt nor the file system (the helper's precheck adds the connection, the pool and
 * -of). Kept free of the helper's own modules (and of libvirt's library), so that the supervisor
 * reads it without loading them.
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

/** The options as far as they can be checked without libvirt. */
export interface LibvirtRequestOptions {
  /** -oc: the libvirt URI; absent: libvirt's default connection. */
  connection: string | undefined;
  /** -os: the storage pool's name or UUID (default "default"). */
  pool: string;
  /** -of as given (default raw); checked by checkOutputLibvirtFormat. */
  format: string;
  allocation: "sparse" | "preallocated";
  /** -on; absent: the source's name. */
  name: string | undefined;
  /** -oo compressed: qcow2 written through qemu's compress driver. */
  compressed: boolean;
}

/**
 * 2.2's parse_options, in its order and words: each -oo known, -op refused. Then -oa, which 2.2
 * checks on its command line. 2.2's message for an unknown -oo says "-o disk" (its text is
 * shared with -o local), and is kept as 2.2 prints it.
 */
export function checkOutputLibvirtOptions(request: OutputRequest): LibvirtRequestOptions {
  let compressed = false;
  for (const { key, value } of outputOptionPairs(request.options)) {
    if (key === "compressed") compressed = outputBoolean("libvirt", key, value);
    else throw new UserError(`-o disk: unknown output option ‘-oo ${key}’`);
  }
  if (request.password !== undefined)
    throw new UserError("-o libvirt: -op option cannot be used in this output mode");
  const allocation = checkOutputAllocation(request.allocation);
  return {
    connection: request.connection,
    pool: request.storage ?? "default",
    format: request.format ?? "raw",
    allocation,
    name: request.name,
    compressed,
  };
}

/**
 * The checks 2.2 makes when it creates the first disk (output_to_local_file), in its order and
 * words: -oo compressed only with -of qcow2, and -of raw or qcow2. The helper's precheck runs
 * them after the pool's checks, as 2.2 does, but before the conversion.
 */
export function checkOutputLibvirtFormat(options: LibvirtRequestOptions): "raw" | "qcow2" {
  return checkLocalFileFormat(options.format, options.compressed);
}

/** `-oo ?` in virt-v2v 2.2's words. */
const OPTIONS_HELP = `Output options that can be used with -o libvirt:

  -oo compressed      Compress the output file (used only with -of qcow2)
`;

export const outputLibvirtMode: OutputModeDescriptor = {
  kind: "output",
  name: "libvirt",
  aliases: [],
  program: "helper-v2v-output-libvirt",
  helperPackage: "@split-v2v/helper-output-libvirt",
  summary:
    'a libvirt domain defined on the connection (-oc), its disks POOLDIR/NAME-sdX in a directory storage pool (-os, default "default")',
  usage:
    "-o libvirt [-oc URI] [-os POOL] [-of raw|qcow2] [-oa sparse|preallocated] [-on NAME] [-oo compressed]",
  options: [
    {
      name: "compressed",
      value: null,
      help: "Compress the output file (used only with -of qcow2)",
    },
  ],
  optionsHelp: OPTIONS_HELP,
  capabilities: ["output:libvirt"],
  stages: ["precheck", "setup", "final"],
  targetIsZero: true,
  helperArgs(request) {
    checkOutputLibvirtOptions(request);
    return outputOptionArgs(request);
  },
  // 2.2's to_string: -os only when given (not -oc).
  description: (request) =>
    `-o libvirt${request.storage === undefined ? "" : ` -os ${request.storage}`}`,
};
