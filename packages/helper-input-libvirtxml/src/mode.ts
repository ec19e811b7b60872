/**
 * `-i libvirtxml` as the supervisor's table sees it. Kept free of the helper's own modules, so
 * that the supervisor reads it without loading them.
 */
import { UserError, type InputModeDescriptor } from "@split-v2v/common";

export const inputLibvirtxmlMode: InputModeDescriptor = {
  kind: "input",
  name: "libvirtxml",
  aliases: [],
  program: "helper-v2v-input-libvirtxml",
  helperPackage: "@split-v2v/helper-input-libvirtxml",
  summary: "a libvirt domain XML file (virsh dumpxml) and the disks it names",
  usage: "-i libvirtxml GUEST.xml",
  options: [],
  transports: [],
  bandwidth: false,
  capabilities: ["input:libvirtxml"],
  helperArgs(request) {
    if (request.inputOptions.length > 0)
      throw new UserError("no -io (input options) are allowed here");
    if (request.inputTransport !== undefined)
      throw new UserError("-it option cannot be used with -i libvirtxml");
    return ["--", ...request.args];
  },
  // virt-v2v 2.2's LibvirtXML.to_string.
  description: (request) => ["-i libvirtxml", ...request.args].join(" "),
};
