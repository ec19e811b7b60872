#!/usr/bin/env node
/**
 * helper-v2v-input-vcenter-https: serve the disks of a VMware guest (-i libvirt -ic vpx://…, esx://, gsx://) over HTTPS as NBD
 * overlays for a conversion. See ../README.md for the contract.
 */
import {
  bandwidthOptions,
  connectionOption,
  defineInputHelper,
  passwordFileOption,
  remoteLibvirtCheckOptions,
} from "@split-v2v/common";
import { inputVcenterHttpsMode } from "./mode.js";
import { precheckInputVcenterHttps, setUpInputVcenterHttps } from "./input-vcenter-https.js";

defineInputHelper({
  mode: inputVcenterHttpsMode,
  argsSynopsis: "GUEST",
  help: "GUEST is the name of a guest of the vCenter or ESXi server that -ic vpx://[user@]server/… (or esx://, gsx://) names. Its description is read through libvirt's ESX driver; each of its disks is read over HTTPS from the server's /folder URL by nbdkit's curl plugin and served through a copy-on-write overlay.",
  precheckHelp:
    "It checks the options, the -ic URI (a server in it) and the -ip password file: reading the guest's description and probing its disks need the server, which is setup's.",
  options: {
    ...connectionOption(
      "The libvirt URI of the server: vpx://[user@]server/datacenter/…[?no_verify=1]",
    ),
    ...passwordFileOption("File holding the password of the URI's user (required)"),
    ...bandwidthOptions(),
  },
  precheck: (request, helper) =>
    precheckInputVcenterHttps(
      remoteLibvirtCheckOptions(request.args, request.options, helper.warning),
    ),
  setup: (checked, request, helper) =>
    setUpInputVcenterHttps(
      {
        ...remoteLibvirtCheckOptions(request.args, request.options, helper.warning),
        ...request.serving,
      },
      checked,
    ),
});
