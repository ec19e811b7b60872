#!/usr/bin/env node
/**
 * helper-v2v-input-xen-ssh: serve the disks of a Xen guest (-i libvirt -ic xen+ssh://…) as NBD
 * overlays for a conversion. See ../README.md for the contract.
 */
import {
  bandwidthLimitOf,
  bandwidthOptions,
  connectionOption,
  defineInputHelper,
  passwordFileOption,
  type BandwidthArguments,
} from "@split-v2v/common";
import { inputXenSshMode } from "./mode.js";
import {
  precheckInputXenSsh,
  setUpInputXenSsh,
  type InputXenSshCheckOptions,
} from "./input-xen-ssh.js";

/** The helper's options as the precheck takes them. */
function checkOptions(
  args: string[],
  options: { ic: string | undefined; ip: string | undefined } & BandwidthArguments,
  warn: (text: string) => void,
): InputXenSshCheckOptions {
  return {
    args,
    connection: options.ic ?? null,
    passwordFile: options.ip ?? null,
    bandwidth: bandwidthLimitOf(options),
    warn,
  };
}

defineInputHelper({
  mode: inputXenSshMode,
  argsSynopsis: "GUEST",
  help: "GUEST is the name of a guest of the Xen host that -ic xen+ssh://[user@]host[:port] names. Its description is read from the host's libvirt; each of its disks, a file on the host, is read over SSH by nbdkit's ssh plugin and served through a copy-on-write overlay.",
  precheckHelp:
    "It checks the options, the -ic URI and the password file: reading the guest's description needs a connection, which is setup's.",
  options: {
    ...connectionOption("The libvirt URI of the Xen host: xen+ssh://[user@]host[:port]"),
    ...passwordFileOption("File holding the SSH password (for libvirt and for the disks)"),
    ...bandwidthOptions(),
  },
  precheck: (request, helper) =>
    precheckInputXenSsh(checkOptions(request.args, request.options, helper.warning)),
  setup: (checked, request, helper) =>
    setUpInputXenSsh(
      { ...checkOptions(request.args, request.options, helper.warning), ...request.serving },
      checked,
    ),
});
