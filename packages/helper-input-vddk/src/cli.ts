#!/usr/bin/env node
/**
 * helper-v2v-input-vddk: serve the disks of a guest on VMware vCenter or ESXi, read with nbdkit's
 * vddk plugin, as NBD overlays for a conversion. See ../README.md for the contract.
 */
import {
  bandwidthOptions,
  connectionOption,
  defineInputHelper,
  passwordFileOption,
  remoteLibvirtCheckOptions,
  type BandwidthArguments,
} from "@split-v2v/common";
import { inputVddkMode } from "./mode.js";
import { precheckInputVddk, setUpInputVddk, type InputVddkCheckOptions } from "./input-vddk.js";

/** The helper's options as the precheck takes them. */
function checkOptions(
  args: string[],
  options: {
    ic: string | undefined;
    ip: string | undefined;
    io: Array<string | number> | undefined;
  } & BandwidthArguments,
  warn: (text: string) => void,
  log: (line: string) => void,
): InputVddkCheckOptions {
  return {
    ...remoteLibvirtCheckOptions(args, options, warn),
    inputOptions: (options.io ?? []).map(String),
    log,
  };
}

defineInputHelper({
  mode: inputVddkMode,
  argsSynopsis: "GUEST",
  help: "GUEST is the name of a guest on the vCenter or ESXi server of -ic (vpx://USER@VCENTER/DATACENTER/CLUSTER/HOST?no_verify=1, esx://USER@ESXI?no_verify=1). Its libvirt XML gives the guest and its disks; each disk is read by nbdkit's vddk plugin (VMware's VDDK) and served through a copy-on-write overlay.",
  precheckHelp:
    "Here the precheck also asks the server: it reads the guest's XML over -ic and, without -io vddk-thumbprint, the server's certificate thumbprint.",
  options: {
    ...connectionOption("The libvirt URI of the vCenter or ESXi server (vpx://, esx://, gsx://)"),
    ...passwordFileOption("File holding the password, for libvirt and VDDK (password=+FILE)"),
    io: {
      type: "string",
      array: true,
      // One value each: "-io vddk-port=902 WORKDIR GUEST" keeps WORKDIR and GUEST positional.
      nargs: 1,
      describe: "vddk-KEY=VALUE (see -io ? of virt-v2v), repeatable",
    },
    ...bandwidthOptions(),
  },
  precheck: (request, helper) =>
    precheckInputVddk(checkOptions(request.args, request.options, helper.warning, request.log)),
  setup: (checked, request, helper) =>
    setUpInputVddk(
      {
        ...checkOptions(request.args, request.options, helper.warning, request.log),
        ...request.serving,
      },
      checked,
    ),
});
