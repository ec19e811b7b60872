#!/usr/bin/env node
/**
 * helper-v2v-input-libvirtxml: serve the disks of a guest described by a libvirt domain XML file
 * as NBD overlays for a conversion. See ../README.md for the contract.
 */
import { defineInputHelper } from "@split-v2v/common";
import { inputLibvirtxmlMode } from "./mode.js";
import { precheckInputLibvirtxml, setUpInputLibvirtxml } from "./input-libvirtxml.js";

defineInputHelper({
  mode: inputLibvirtxmlMode,
  argsSynopsis: "GUEST.xml",
  help: "GUEST.xml is a libvirt domain XML file (virsh dumpxml GUEST). Serves each non-removable disk it names (local files and block devices, NBD on localhost, http and https URLs) through a copy-on-write overlay.",
  precheckHelp:
    "It reads the XML and checks that each local disk is readable; remote disks are left to setup.",
  options: {},
  precheck: (request, helper) =>
    precheckInputLibvirtxml({ args: request.args, warn: helper.warning }),
  setup: (checked, request, helper) =>
    setUpInputLibvirtxml({ args: request.args, warn: helper.warning, ...request.serving }, checked),
});
