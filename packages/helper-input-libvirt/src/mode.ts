/**
 * `-i libvirt [-ic URI] GUEST` for a local libvirt (or any -ic that no other -i libvirt mode
 * claims), as the supervisor's table sees it. Kept free of the helper's own modules, so that the
 * supervisor reads it without loading them.
 */
import { libvirtHelperArgs, type InputModeDescriptor } from "@split-v2v/common";

/** virt-v2v 2.2's Libvirt_.to_string: -ic comes first ("-ic URI -i libvirt GUEST"). */
export function describeLocalLibvirtInput(
  connection: string | null | undefined,
  args: readonly string[],
): string {
  return [...(connection ? [`-ic ${connection}`] : []), "-i libvirt", ...args].join(" ");
}

export const inputLibvirtMode: InputModeDescriptor = {
  kind: "input",
  name: "libvirt",
  aliases: [],
  program: "helper-v2v-input-libvirt",
  helperPackage: "@split-v2v/helper-input-libvirt",
  summary:
    "a guest of a libvirt connection (the default one, or -ic URI), its disks as libvirt names them",
  usage: "-i libvirt [-ic URI] [-ip PASSWORD-FILE] GUEST",
  options: [],
  // virt-v2v 2.2 comes here for any -ic that the remote modes do not claim, whatever -it says,
  // and then ignores -it.
  transports: [],
  connectionSchemes: [],
  bandwidth: false,
  capabilities: ["input:libvirt"],
  helperArgs: (request) => libvirtHelperArgs(request, { bandwidth: false }),
  description: (request) => describeLocalLibvirtInput(request.inputConnection, request.args),
};
