/**
 * `-o vdsm` as the supervisor's table sees it, and the checks of its options that need no file
 * system. This mode is how VDSM (oVirt's host agent) runs virt-v2v itself: VDSM has made the
 * image directories and chosen every UUID; virt-v2v only fills them in. Kept free of the
 * helper's own modules, so that the supervisor reads it without loading them.
 */
import {
  UserError,
  outputOptionArgs,
  type OutputModeDescriptor,
  type OutputRequest,
  checkOutputAllocation,
  checkRawOrQcow2,
  outputOptionPairs,
} from "@split-v2v/common";
import { OVF_FLAVOURS, ovfFlavourOf, type OvfFlavour } from "@split-v2v/target-formats";

export interface CheckedVdsmOptions {
  /** -os: the data domain's directory, MOUNTPOINT/SD-UUID. */
  storage: string;
  format: "raw" | "qcow2";
  allocation: "sparse" | "preallocated";
  name: string | undefined;
  /** One per disk, in order. */
  imageUuids: string[];
  volumeUuids: string[];
  vmUuid: string;
  /** Where the OVF goes (default: the current directory, as 2.2). */
  ovfOutput: string;
  /** The qcow2 compatibility level of the volumes. */
  compat: "0.10" | "1.1";
  ovfFlavour: OvfFlavour;
}

/**
 * The -oo options and the others that need no file system, in virt-v2v 2.2's order and words.
 * Two of 2.2's messages name the wrong option (it says vdsm-image-uuid for a missing
 * vdsm-vm-uuid, and the reverse); these name the option that is missing.
 */
export function checkOutputVdsmOptions(request: OutputRequest): CheckedVdsmOptions {
  if (request.password !== undefined)
    throw new UserError("-o vdsm: -op option cannot be used in this output mode");
  let vmUuid: string | undefined;
  let ovfOutput: string | undefined;
  let compat: "0.10" | "1.1" = "0.10";
  let ovfFlavour: OvfFlavour = "rhvexp";
  const imageUuids: string[] = [];
  const volumeUuids: string[] = [];
  for (const { key, value } of outputOptionPairs(request.options)) {
    switch (key) {
      case "vdsm-compat":
        if (value !== "0.10" && value !== "1.1")
          throw new UserError(`-o vdsm: unknown vdsm-compat level ‘${value}’`);
        compat = value;
        break;
      case "vdsm-vm-uuid":
        if (vmUuid !== undefined)
          throw new UserError("-o vdsm: -oo vdsm-vm-uuid set more than once");
        vmUuid = value;
        break;
      case "vdsm-ovf-output":
        if (ovfOutput !== undefined)
          throw new UserError("-o vdsm: -oo vdsm-ovf-output set more than once");
        ovfOutput = value;
        break;
      case "vdsm-ovf-flavour":
        ovfFlavour = ovfFlavourOf(value);
        break;
      case "vdsm-image-uuid":
        imageUuids.push(value);
        break;
      case "vdsm-vol-uuid":
        volumeUuids.push(value);
        break;
      default:
        throw new UserError(`-o vdsm: unknown output option ‘-oo ${key}’`);
    }
  }
  if (imageUuids.length === 0 || volumeUuids.length === 0) {
    throw new UserError(
      "-o vdsm: either -oo vdsm-image-uuid or -oo vdsm-vol-uuid was not specified",
    );
  }
  if (vmUuid === undefined) throw new UserError("-o vdsm: -oo vdsm-vm-uuid was not specified");
  if (request.storage === undefined) throw new UserError("-o vdsm: -os option was not specified");
  const format = checkRawOrQcow2(request.format);
  const allocation = checkOutputAllocation(request.allocation);
  return {
    storage: request.storage,
    format,
    allocation,
    name: request.name,
    imageUuids,
    volumeUuids,
    vmUuid,
    ovfOutput: ovfOutput ?? ".",
    compat,
    ovfFlavour,
  };
}

/** `-oo ?` in virt-v2v 2.2's words. */
const OPTIONS_HELP = `Output options (-oo) which can be used with -o vdsm:

  -oo vdsm-compat=0.10|1.1     Write qcow2 with compat=0.10|1.1
                                   (default: 0.10)
  -oo vdsm-vm-uuid=UUID        VM UUID (required)
  -oo vdsm-ovf-output=DIR      OVF metadata directory (required)
  -oo vdsm-ovf-flavour=${OVF_FLAVOURS.join("|")}
                               Set the type of generated OVF (default: rhvexp)

For each disk you must supply one of each of these options:

  -oo vdsm-image-uuid=UUID     Image directory UUID
  -oo vdsm-vol-uuid=UUID       Disk volume UUID
`;

export const outputVdsmMode: OutputModeDescriptor = {
  kind: "output",
  name: "vdsm",
  aliases: [],
  program: "helper-v2v-output-vdsm",
  helperPackage: "@split-v2v/helper-output-vdsm",
  summary:
    "VDSM's data domain (oVirt's own use): volumes and .meta files in image directories VDSM made, and the OVF",
  usage:
    "-o vdsm -os MOUNTPOINT/SD-UUID -oo vdsm-vm-uuid=UUID -oo vdsm-image-uuid=UUID -oo vdsm-vol-uuid=UUID … [-oo vdsm-ovf-output=DIR]",
  options: [
    {
      name: "vdsm-compat",
      value: "0.10|1.1",
      help: "Write qcow2 with compat=0.10|1.1 (default: 0.10)",
    },
    { name: "vdsm-vm-uuid", value: "UUID", help: "VM UUID (required)" },
    { name: "vdsm-ovf-output", value: "DIR", help: "OVF metadata directory (required)" },
    {
      name: "vdsm-ovf-flavour",
      value: OVF_FLAVOURS.join("|"),
      help: "Set the type of generated OVF (default: rhvexp)",
    },
    { name: "vdsm-image-uuid", value: "UUID", help: "Image directory UUID (one per disk)" },
    { name: "vdsm-vol-uuid", value: "UUID", help: "Disk volume UUID (one per disk)" },
  ],
  optionsHelp: OPTIONS_HELP,
  // --vdsm-compat exists (2.2's "vdsm-compat-option"), and the OVF flavours -oo vdsm-ovf-flavour takes.
  capabilities: [
    "vdsm-compat-option",
    "output:vdsm",
    ...OVF_FLAVOURS.map((flavour) => `ovf:${flavour}`),
  ],
  stages: ["precheck", "setup", "final"],
  targetIsZero: true,
  keepSerialConsole: false,
  helperArgs(request) {
    checkOutputVdsmOptions(request);
    return outputOptionArgs(request);
  },
  description: () => "-o vdsm",
};
