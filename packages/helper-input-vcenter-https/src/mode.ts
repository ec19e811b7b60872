/**
 * `-i libvirt -ic vpx://…` (and esx://, gsx://) over HTTPS, as the supervisor's table sees it.
 * Kept free of the helper's own modules, so that the supervisor reads it without loading them.
 */
import {
  UserError,
  describeLibvirtInput,
  libvirtRemoteHelperArgs,
  type InputModeDescriptor,
} from "@split-v2v/common";

export const inputVcenterHttpsMode: InputModeDescriptor = {
  kind: "input",
  name: "libvirt",
  aliases: [],
  program: "helper-v2v-input-vcenter-https",
  helperPackage: "@split-v2v/helper-input-vcenter-https",
  summary: "a guest of VMware vCenter or ESXi through libvirt, its disks read over HTTPS",
  usage:
    "-i libvirt -ic vpx://[USER@]VCENTER/DATACENTER/CLUSTER/HOST[?no_verify=1] -ip PASSWORD-FILE GUEST",
  options: [],
  transports: [],
  connectionSchemes: ["vpx", "esx", "gsx"],
  bandwidth: true,
  // virt-v2v 2.2 names this mode among its features, before the -i/-o lines.
  capabilities: ["vcenter-https"],
  helperArgs(request) {
    // virt-v2v 2.2 reads these guests' disks over HTTPS only without -it (-it vddk is its own mode).
    if (request.inputTransport !== undefined)
      throw new UserError(
        `-i libvirt -ic ${request.inputConnection ?? ""}: -it ${request.inputTransport} is not served for this connection here; leave -it out to read the disks over HTTPS`,
      );
    return libvirtRemoteHelperArgs(request);
  },
  description: (request) => describeLibvirtInput(request.inputConnection, request.args),
};
