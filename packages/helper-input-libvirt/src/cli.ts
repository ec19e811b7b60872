#!/usr/bin/env node
/**
 * helper-v2v-input-libvirt: serve the disks of a guest of a libvirt connection (-i libvirt
 * [-ic URI] GUEST) as NBD overlays for a conversion. See ../README.md for the contract.
 */
import { connectionOption, defineInputHelper, passwordFileOption } from "@split-v2v/common";
import { inputLibvirtMode } from "./mode.js";
import {
  precheckInputLibvirt,
  setUpInputLibvirt,
  type InputLibvirtCheckOptions,
} from "./input-libvirt.js";

function checkOptions(
  args: string[],
  options: { ic: string | undefined; ip: string | undefined },
  warn: (text: string) => void,
): InputLibvirtCheckOptions {
  return { args, connection: options.ic ?? null, passwordFile: options.ip ?? null, warn };
}

defineInputHelper({
  mode: inputLibvirtMode,
  argsSynopsis: "GUEST",
  help: "GUEST is the name or UUID of a guest of the libvirt connection -ic URI (default: libvirt's default connection). It must be shut down. Its disks (files, block devices, storage volumes, NBD on localhost, http and https URLs) are served through copy-on-write overlays.",
  precheckHelp:
    "It opens the connection, finds the guest, reads its XML and checks that each local disk is readable.",
  options: {
    ...connectionOption("The libvirt URI (default: libvirt's default connection)"),
    ...passwordFileOption("File whose first line is the connection's password"),
  },
  precheck: (request, helper) =>
    precheckInputLibvirt(checkOptions(request.args, request.options, helper.warning)),
  setup: (checked, request, helper) =>
    setUpInputLibvirt(
      { ...checkOptions(request.args, request.options, helper.warning), ...request.serving },
      checked,
    ),
});
