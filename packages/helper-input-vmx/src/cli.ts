#!/usr/bin/env node
/**
 * helper-v2v-input-vmx: serve the disks of a VMware guest described by a .vmx file as NBD
 * overlays for a conversion. See ../README.md for the contract.
 */
import {
  bandwidthLimitOf,
  bandwidthOptions,
  defineInputHelper,
  passwordFileOption,
  type BandwidthArguments,
} from "@split-v2v/common";
import { inputVmxMode } from "./mode.js";
import { precheckInputVmx, setUpInputVmx, type InputVmxCheckOptions } from "./input-vmx.js";

/** The helper's options as the precheck takes them. */
function checkOptions(
  args: string[],
  options: { it: string | undefined; ip: string | undefined } & BandwidthArguments,
  warn: (text: string) => void,
): InputVmxCheckOptions {
  return {
    args,
    transport: options.it ?? null,
    passwordFile: options.ip ?? null,
    bandwidth: bandwidthLimitOf(options),
    warn,
  };
}

defineInputHelper({
  mode: inputVmxMode,
  argsSynopsis: "VMX",
  help: "VMX is a .vmx file, or with -it ssh an ssh://[user@]host[:port]/path.vmx URI. Serves each hard disk it names through a copy-on-write overlay.",
  precheckHelp:
    "With -it ssh it checks the options only: reading the .vmx and probing the disks needs a connection, which is setup's.",
  options: {
    it: {
      type: "string",
      describe: "Input transport: ssh (VMX is an ssh:// URI)",
    },
    ...passwordFileOption("With -it ssh: file holding the SSH password"),
    ...bandwidthOptions("With -it ssh"),
  },
  precheck: (request, helper) =>
    precheckInputVmx(checkOptions(request.args, request.options, helper.warning)),
  setup: (checked, request, helper) =>
    setUpInputVmx(
      { ...checkOptions(request.args, request.options, helper.warning), ...request.serving },
      checked,
    ),
});
