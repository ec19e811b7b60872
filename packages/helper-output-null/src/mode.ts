/**
 * `-o null` as the supervisor's table sees it, with its option checks. Kept free of the
 * helper's own modules, so that the supervisor reads it without loading them.
 */
import { UserError, type OutputModeDescriptor } from "@split-v2v/common";

export interface OutputNullOptions {
  outputStorage: string | undefined;
  outputFormat: string | undefined;
  outputAllocation: string | undefined;
  outputConnection: string | undefined;
  outputPassword: string | undefined;
  outputOptions: string[];
}

/** -o null takes no output option at all (virt-v2v's exact messages). */
export function precheckOutputNull(options: OutputNullOptions): void {
  const given: Array<[string, unknown]> = [
    ["-oc", options.outputConnection],
    ["-of", options.outputFormat],
    ["-oa", options.outputAllocation],
    ["-op", options.outputPassword],
    ["-os", options.outputStorage],
  ];
  for (const [option, value] of given) {
    if (value !== undefined)
      throw new UserError(`-o null: ${option} option cannot be used in this output mode`);
  }
  if (options.outputOptions.length > 0) {
    throw new UserError(`-o null: unknown output option ‘-oo ${options.outputOptions[0]}’`);
  }
}

export const outputNullMode: OutputModeDescriptor = {
  kind: "output",
  name: "null",
  aliases: [],
  program: "helper-v2v-output-null",
  helperPackage: "@split-v2v/helper-output-null",
  summary: "convert and copy, then throw the data away (to test a conversion, or time a copy)",
  usage: "-o null",
  options: [],
  capabilities: ["output:null"],
  stages: ["precheck", "setup", "final"],
  targetIsZero: true,
  helperArgs(request) {
    const options = {
      outputStorage: request.storage,
      outputFormat: request.format,
      outputAllocation: request.allocation,
      outputConnection: request.connection,
      outputPassword: request.password,
      outputOptions: request.options,
    };
    precheckOutputNull(options);
    const args: string[] = [];
    for (const option of request.options) args.push("-oo", option);
    return args;
  },
  description: () => "-o null",
};
