#!/usr/bin/env node
/**
 * helper-v2v-input-vcenter-https: serve the disks of a VMware guest (-i libvirt -ic vpx://…, esx://, gsx://) over HTTPS as NBD
 * overlays for a conversion. See ../README.md for the contract.
 */
import { defineInputHelper } from "@split-v2v/common";
import { inputVcenterHttpsMode } from "./mode.js";
import {
  precheckInputVcenterHttps,
  setUpInputVcenterHttps,
  type InputVcenterHttpsCheckOptions,
} from "./input-vcenter-https.js";

/** The helper's options as the precheck takes them. */
function checkOptions(
  args: string[],
  options: {
    ic: string | undefined;
    ip: string | undefined;
    bandwidth: string | undefined;
    "bandwidth-file": string | undefined;
  },
  warn: (text: string) => void,
): InputVcenterHttpsCheckOptions {
  return {
    args,
    connection: options.ic ?? null,
    passwordFile: options.ip ?? null,
    bandwidth:
      options.bandwidth === undefined && options["bandwidth-file"] === undefined
        ? null
        : { rate: options.bandwidth ?? null, rateFile: options["bandwidth-file"] ?? null },
    warn,
  };
}

defineInputHelper({
  mode: inputVcenterHttpsMode,
  argsSynopsis: "GUEST",
  help: "GUEST is the name of a guest of the vCenter or ESXi server that -ic vpx://[user@]server/… (or esx://, gsx://) names. Its description is read through libvirt's ESX driver; each of its disks is read over HTTPS from the server's /folder URL by nbdkit's curl plugin and served through a copy-on-write overlay.",
  precheckHelp:
    "It checks the options, the -ic URI (a server in it) and the -ip password file: reading the guest's description and probing its disks need the server, which is setup's.",
  options: {
    ic: {
      type: "string",
      describe: "The libvirt URI of the server: vpx://[user@]server/datacenter/…[?no_verify=1]",
    },
    ip: {
      type: "string",
      describe: "File holding the password of the URI's user (required)",
    },
    bandwidth: {
      type: "string",
      describe: "Limit the transfer to this many bits per second (10M, 1G…)",
    },
    "bandwidth-file": {
      type: "string",
      describe: "Read the limit from this file, again whenever it changes",
    },
  },
  precheck: (request, helper) =>
    precheckInputVcenterHttps(checkOptions(request.args, request.options, helper.warning)),
  setup: async (checked, request, helper) => {
    const { sockets } = await setUpInputVcenterHttps(
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
