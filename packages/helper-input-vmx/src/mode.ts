/**
 * `-i vmx` as the supervisor's table sees it. Kept free of the helper's own modules, so that
 * the supervisor reads it without loading them.
 */
import { UserError, bandwidthHelperArgs, type InputModeDescriptor } from "@split-v2v/common";

/**
 * The checks of -i vmx's -it and --bandwidth, for the supervisor (the descriptor's helperArgs)
 * and the helper's precheck alike: -it is ssh or absent, and a bandwidth limit needs -it ssh.
 * Returns the transport.
 */
export function checkVmxTransport(
  transport: string | null | undefined,
  bandwidth: boolean,
): "ssh" | null {
  if (transport === "vddk") throw new UserError("-i vmx: cannot use -it vddk in this input mode");
  if (transport !== undefined && transport !== null && transport !== "ssh")
    throw new UserError(`unknown input transport ‘-it ${transport}’`);
  const ssh = transport === "ssh";
  if (!ssh && bandwidth) {
    throw new UserError(
      "--bandwidth / --bandwidth-file: -i vmx reads local files here; the limit applies to a transfer over a network (-it ssh)",
    );
  }
  return ssh ? "ssh" : null;
}

export const inputVmxMode: InputModeDescriptor = {
  kind: "input",
  name: "vmx",
  aliases: [],
  program: "helper-v2v-input-vmx",
  helperPackage: "@split-v2v/helper-input-vmx",
  summary: "a VMware guest's .vmx file and its disks, local or on an ESXi host over SSH",
  usage: "-i vmx [-it ssh [-ip PASSWORD-FILE]] GUEST.vmx|ssh://[USER@]HOST[:PORT]/PATH/GUEST.vmx",
  options: [],
  transports: ["ssh"],
  bandwidth: true,
  capabilities: ["input:vmx"],
  helperArgs(request) {
    // virt-v2v's -i vmx has no input options; -if and -ic are not used by it.
    if (request.inputOptions.length > 0)
      throw new UserError("no -io (input options) are allowed here");
    const ssh =
      checkVmxTransport(
        request.inputTransport,
        request.bandwidth !== undefined || request.bandwidthFile !== undefined,
      ) === "ssh";
    return [
      ...(ssh ? ["-it", "ssh"] : []),
      ...(request.inputPassword ? ["-ip", request.inputPassword] : []),
      ...bandwidthHelperArgs(request),
      "--",
      ...request.args,
    ];
  },
  description: (request) => ["-i vmx", ...request.args].join(" "),
};
