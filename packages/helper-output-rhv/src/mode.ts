/**
 * `-o rhv` (aliases `-o ovirt`, `-o rhev`) as the supervisor's table sees it, and the checks of
 * its options that need no file system. Kept free of the helper's own modules, so that the
 * supervisor reads it without loading them.
 */
import {
  UserError,
  outputOptionArgs,
  type OutputModeDescriptor,
  type OutputRequest,
  checkOutputAllocation,
  checkRawOrQcow2,
} from "@split-v2v/common";

export interface CheckedRhvOptions {
  /** -os: `SERVER:/EXPORT` (an NFS export, mounted for the run) or a mounted ESD directory. */
  storage: string;
  format: "raw" | "qcow2";
  allocation: "sparse" | "preallocated";
  name: string | undefined;
}

/** The option errors that need no file system, in virt-v2v 2.2's order and words. */
export function checkOutputRhvOptions(request: OutputRequest): CheckedRhvOptions {
  if (request.options.length > 0) throw new UserError("no -oo (output options) are allowed here");
  if (request.password !== undefined)
    throw new UserError("-o rhv: -op option cannot be used in this output mode");
  if (request.storage === undefined) throw new UserError("-o rhv: -os option was not specified");
  // 2.2 finds a bad -of only when it creates the disks, after the conversion; here it fails first.
  const format = checkRawOrQcow2(request.format);
  const allocation = checkOutputAllocation(request.allocation);
  const name = request.name;
  if (name !== undefined && name === "")
    throw new UserError("-on: the output name must not be empty");
  return { storage: request.storage, format, allocation, name };
}

export const outputRhvMode: OutputModeDescriptor = {
  kind: "output",
  name: "rhv",
  aliases: ["ovirt", "rhev"],
  program: "helper-v2v-output-rhv",
  helperPackage: "@split-v2v/helper-output-rhv",
  summary:
    "an oVirt/RHV Export Storage Domain: volumes with .meta files under images/, the OVF under master/vms/",
  usage: "-o rhv -os [SERVER:/EXPORT|ESD-DIR] [-of raw|qcow2] [-oa sparse|preallocated] [-on NAME]",
  options: [],
  capabilities: ["output:rhv"],
  stages: ["precheck", "setup", "final"],
  // The volumes are new files (sparse, or preallocated with zeroes).
  targetIsZero: true,
  // An oVirt guest has no serial port to keep a console on (virt-v2v 2.2 removes it).
  keepSerialConsole: false,
  helperArgs(request) {
    checkOutputRhvOptions(request);
    return outputOptionArgs(request);
  },
  description: () => "-o rhv",
};
