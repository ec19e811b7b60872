/**
 * `-o glance` as the supervisor's table sees it, and the checks of its options (virt-v2v 2.2's
 * Output_glance.parse_options, in its order and words, then the -of check 2.2 makes when it
 * creates the disks). Kept free of the helper's own modules, so that the supervisor reads it
 * without loading them.
 */
import {
  UserError,
  checkOutputAllocation,
  checkRawOrQcow2,
  outputOptionArgs,
  type OutputModeDescriptor,
  type OutputRequest,
} from "@split-v2v/common";

export interface CheckedGlanceOptions {
  /** -of: the images' disk format, raw (default) or qcow2. */
  format: "raw" | "qcow2";
  /** -on: the first image's name (default: the source's name). */
  name: string | undefined;
}

/**
 * -oa must be a known mode (2.2 then ignores it: Glance has no preallocation, and the temporary
 * files are always sparse); no -oo, -oc, -op or -os; -of raw or qcow2.
 */
export function checkOutputGlanceOptions(request: OutputRequest): CheckedGlanceOptions {
  checkOutputAllocation(request.allocation);
  if (request.options.length > 0) throw new UserError("no -oo (output options) are allowed here");
  const refuse = (option: string) =>
    new UserError(`-o glance: ${option} option cannot be used in this output mode`);
  if (request.connection !== undefined) throw refuse("-oc");
  if (request.password !== undefined) throw refuse("-op");
  if (request.storage !== undefined) throw refuse("-os");
  return { format: checkRawOrQcow2(request.format), name: request.name };
}

export const outputGlanceMode: OutputModeDescriptor = {
  kind: "output",
  name: "glance",
  aliases: [],
  program: "helper-v2v-output-glance",
  helperPackage: "@split-v2v/helper-output-glance",
  summary:
    "images uploaded to OpenStack Glance with the glance program (legacy: prefer -o openstack)",
  usage: "-o glance [-of raw|qcow2] [-on NAME]",
  options: [],
  // 2.2's query_output_options for this mode.
  optionsHelp: "No output options can be used in this mode.\n",
  capabilities: ["output:glance"],
  stages: ["precheck", "setup", "final"],
  // The disks are fresh sparse files, uploaded by final.
  targetIsZero: true,
  helperArgs(request) {
    checkOutputGlanceOptions(request);
    return outputOptionArgs(request);
  },
  description: () => "-o glance",
};
