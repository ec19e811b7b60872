/**
 * `-i ova` as the supervisor's table sees it. Kept free of the helper's own modules, so that
 * the supervisor reads it without loading them.
 */
import { UserError, type InputModeDescriptor } from "@split-v2v/common";

export const inputOvaMode: InputModeDescriptor = {
  kind: "input",
  name: "ova",
  aliases: [],
  program: "helper-v2v-input-ova",
  helperPackage: "@split-v2v/helper-input-ova",
  summary: "an OVA exported by VMware (a tar, a zip or a directory), read in place",
  usage: "-i ova GUEST.ova|DIRECTORY",
  options: [],
  transports: [],
  bandwidth: false,
  capabilities: ["input:ova"],
  helperArgs(request) {
    // virt-v2v's -i ova takes no input options; -if and -ic are not used by it.
    if (request.inputOptions.length > 0)
      throw new UserError("no -io (input options) are allowed here");
    if (request.inputTransport !== undefined)
      throw new UserError("-it option cannot be used with -i ova");
    return ["--", ...request.args];
  },
  description: (request) => ["-i ova", ...request.args].join(" "),
};
