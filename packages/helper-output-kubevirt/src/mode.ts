/**
 * `-o kubevirt` as the supervisor's table sees it, and the checks of its options that need no
 * file system (the helper's precheck adds -os, the source's name and the disk count). Kept free
 * of the helper's own modules, so that the supervisor reads it without loading them.
 *
 * virt-v2v 2.2 takes no -oo here. The -oo options are newer virt-v2v's (compressed from 2.4,
 * disk= and create=false from 2.10), in its words, plus yaml=vm|vmi, which chooses between the
 * VirtualMachine newer virt-v2v writes (the default) and 2.2's VirtualMachineInstance.
 */
import {
  UserError,
  checkLocalFileFormat,
  checkOutputAllocation,
  checkRawOrQcow2,
  outputBoolean,
  outputOptionPairs,
  outputOptionArgs,
  type OutputModeDescriptor,
  type OutputRequest,
} from "@split-v2v/common";

/** Which YAML document: newer virt-v2v's VirtualMachine, or 2.2's VirtualMachineInstance. */
export type KubevirtForm = "vm" | "vmi";

export interface CheckedKubevirtOptions {
  /** -os as given: the directory of the YAML and (without -oo disk) of the disks. */
  storage: string;
  format: "raw" | "qcow2";
  allocation: "sparse" | "preallocated";
  /** -on, checked; absent: the source's name (checked by the precheck). */
  name: string | undefined;
  compressed: boolean;
  /** false with -oo create=false: the disks exist already and are only written. */
  create: boolean;
  /** -oo disk=…, one per disk, in order; null without it (the disks go in -os). */
  disks: string[] | null;
  form: KubevirtForm;
}

/**
 * A valid KubeVirt (Kubernetes) object name: an RFC 1123 subdomain, as newer virt-v2v checks it
 * (RHBZ#2162332). virt-v2v 2.2 writes any name, which Kubernetes then refuses.
 */
const RFC1123_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Newer virt-v2v's check of the guest's name (the -on name, or the source's). */
export function checkKubevirtName(name: string): void {
  if (!RFC1123_NAME.test(name)) {
    throw new UserError(
      "-o kubevirt: the guest name must contain only lowercase alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character.  Rerun virt-v2v with the '-on name' option to rename it.",
    );
  }
}

/**
 * The options that need no file system, in newer virt-v2v's order and words (2.2 refuses every
 * -oo: "no -oo (output options) are allowed here"). 2.2 and 2.4 name "-o local" in the -op
 * message, a slip newer virt-v2v fixed; -of is checked here rather than when the disks are
 * created, with the message 2.2 gives then. The name is checked by the precheck, after -os, as
 * newer virt-v2v does.
 */
export function checkOutputKubevirtOptions(request: OutputRequest): CheckedKubevirtOptions {
  let compressed = false;
  let create = true;
  let form: KubevirtForm = "vm";
  const disks: string[] = [];
  for (const { key, value } of outputOptionPairs(request.options)) {
    switch (key) {
      case "compressed":
        compressed = outputBoolean("kubevirt", key, value);
        break;
      case "create":
        create = outputBoolean("kubevirt", key, value);
        break;
      case "disk":
        if (value === "")
          throw new UserError("-o kubevirt: -oo disk needs the disk's file name: -oo disk=FILE");
        disks.push(value);
        break;
      case "yaml":
        if (value !== "vm" && value !== "vmi") {
          throw new UserError(
            `-o kubevirt: -oo yaml=${value}: use -oo yaml=vm (a VirtualMachine, the default) or -oo yaml=vmi (virt-v2v 2.2's VirtualMachineInstance)`,
          );
        }
        form = value;
        break;
      default:
        throw new UserError(`-o kubevirt: unknown output option ‘-oo ${key}’`);
    }
  }
  if (request.password !== undefined)
    throw new UserError("-o kubevirt: -op option cannot be used in this output mode");
  if (request.storage === undefined)
    throw new UserError("-o kubevirt: output directory was not specified, use '-os /dir'");
  // -of first, then compressed: a bad -of is refused whatever -oo says.
  const format = checkRawOrQcow2(request.format);
  checkLocalFileFormat(format, compressed);
  const allocation = checkOutputAllocation(request.allocation);
  return {
    storage: request.storage,
    format,
    allocation,
    name: request.name,
    compressed,
    create,
    disks: disks.length === 0 ? null : disks,
    form,
  };
}

/** `-oo ?`: newer virt-v2v's text (2.2 has no options: "No output options can be used in this mode."), and yaml=. */
const OPTIONS_HELP = `Output options that can be used with -o kubevirt:

  -oo compressed      Compress the output file (used only with -of qcow2)
  -oo create=false    Do not create the output disks
  -oo disk=disk1      Specify filename of output disk (if used, must be
                          given once for each disk, else -os path is used)
  -oo yaml=vm|vmi     Write a VirtualMachine (vm, the default) or
                          virt-v2v 2.2's VirtualMachineInstance (vmi)
`;

export const outputKubevirtMode: OutputModeDescriptor = {
  kind: "output",
  name: "kubevirt",
  aliases: [],
  program: "helper-v2v-output-kubevirt",
  helperPackage: "@split-v2v/helper-output-kubevirt",
  summary: "KubeVirt: local disk files DIR/NAME-sdX and a VirtualMachine DIR/NAME.yaml",
  usage:
    "-o kubevirt -os DIR [-of raw|qcow2] [-oa sparse|preallocated] [-on NAME] [-oo compressed] [-oo create=false] [-oo disk=FILE …] [-oo yaml=vm|vmi]",
  options: [
    {
      name: "compressed",
      value: null,
      help: "Compress the output file (used only with -of qcow2)",
    },
    { name: "create", value: "false", help: "Do not create the output disks" },
    {
      name: "disk",
      value: "FILE",
      help: "Specify filename of output disk (if used, must be given once for each disk, else -os path is used)",
    },
    {
      name: "yaml",
      value: "vm|vmi",
      help: "Write a VirtualMachine (vm, the default) or virt-v2v 2.2's VirtualMachineInstance (vmi)",
    },
  ],
  optionsHelp: OPTIONS_HELP,
  capabilities: ["output:kubevirt"],
  stages: ["precheck", "setup", "final"],
  // -oo create=false writes into disks made by someone else, which need not be zero (and 2.2
  // never tells nbdcopy the target is zero).
  targetIsZero: false,
  helperArgs(request) {
    checkOutputKubevirtOptions(request);
    return outputOptionArgs(request);
  },
  description: (request) =>
    `-o kubevirt${request.storage === undefined ? "" : ` -os ${request.storage}`}`,
};
