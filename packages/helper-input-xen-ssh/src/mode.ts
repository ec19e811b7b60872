/**
 * `-i libvirt -ic xen+ssh://…` as the supervisor's table sees it. Kept free of the helper's own
 * modules, so that the supervisor reads it without loading them.
 */
import {
  describeLibvirtInput,
  libvirtRemoteHelperArgs,
  type InputModeDescriptor,
} from "@split-v2v/common";

export const inputXenSshMode: InputModeDescriptor = {
  kind: "input",
  name: "libvirt",
  aliases: [],
  program: "helper-v2v-input-xen-ssh",
  helperPackage: "@split-v2v/helper-input-xen-ssh",
  summary: "a guest of a Xen host through libvirt over SSH, its disks read over SSH",
  usage: "-i libvirt -ic xen+ssh://[USER@]HOST[:PORT] [-ip PASSWORD-FILE] GUEST",
  options: [],
  // virt-v2v 2.2 chooses this mode for xen+ssh:// whatever -it says, and then ignores -it.
  transports: [],
  connectionSchemes: ["xen+ssh"],
  bandwidth: true,
  // virt-v2v 2.2 names this mode among its features, before the -i/-o lines.
  capabilities: ["xen-ssh"],
  helperArgs: libvirtRemoteHelperArgs,
  description: (request) => describeLibvirtInput(request.inputConnection, request.args),
};
