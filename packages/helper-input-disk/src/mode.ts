/**
 * `-i disk` (alias `-i local`) as the supervisor's table sees it. Kept free of the helper's
 * own modules, so that the supervisor reads it without loading them.
 */
import { UserError, type InputModeDescriptor } from "@split-v2v/common";

export const inputDiskMode: InputModeDescriptor = {
  kind: "input",
  name: "disk",
  aliases: ["local"],
  program: "helper-v2v-input-disk",
  helperPackage: "@split-v2v/helper-input-disk",
  summary: "local disk images (raw, qcow2, vmdk …): the guest is what is on them",
  usage: "-i disk [-if FORMAT] DISK.IMG [DISK.IMG …]",
  options: [],
  transports: [],
  bandwidth: false,
  capabilities: ["input:disk"],
  helperArgs(request) {
    if (request.inputOptions.length > 0)
      throw new UserError("no -io (input options) are allowed here");
    if (request.inputTransport !== undefined)
      throw new UserError("-it option cannot be used with -i disk");
    return [...(request.inputFormat ? ["-if", request.inputFormat] : []), "--", ...request.args];
  },
  description: (request) => ["-i disk", ...request.args].join(" "),
};
