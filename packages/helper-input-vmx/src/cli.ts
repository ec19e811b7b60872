#!/usr/bin/env node
/**
 * helper-v2v-input-vmx: serve the disks of a VMware guest described by a .vmx file as NBD
 * overlays for a conversion. See ../README.md for the contract.
 */
import { defineInputHelper } from "@split-v2v/common";
import { inputVmxMode } from "./mode.js";
import { precheckInputVmx, setUpInputVmx, type InputVmxCheckOptions } from "./input-vmx.js";

/** The helper's options as the precheck takes them. */
function checkOptions(
  args: string[],
  options: {
    it: string | undefined;
    ip: string | undefined;
    bandwidth: string | undefined;
    "bandwidth-file": string | undefined;
  },
  warn: (text: string) => void,
): InputVmxCheckOptions {
  return {
    args,
    transport: options.it ?? null,
    passwordFile: options.ip ?? null,
    bandwidth:
      options.bandwidth === undefined && options["bandwidth-file"] === undefined
        ? null
        : { rate: options.bandwidth ?? null, rateFile: options["bandwidth-file"] ?? null },
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
    ip: {
      type: "string",
      describe: "With -it ssh: file holding the SSH password",
    },
    bandwidth: {
      type: "string",
      describe: "With -it ssh: limit the transfer to this many bits per second (10M, 1G…)",
    },
    "bandwidth-file": {
      type: "string",
      describe: "With -it ssh: read the limit from this file, again whenever it changes",
    },
  },
  precheck: (request, helper) =>
    precheckInputVmx(checkOptions(request.args, request.options, helper.warning)),
  setup: async (checked, request, helper) => {
    const { sockets } = await setUpInputVmx(
      {
        ...checkOptions(request.args, request.options, helper.warning),
        workdir: request.workdir,
        overlay: request.overlay,
        verbose: request.verbose,
        log: request.log,
      },
      checked,
    );
    return sockets;
  },
});
