#!/usr/bin/env node
/**
 * helper-v2v-input-ova: serve the disks of a VMware OVA as NBD overlays for a conversion.
 * See ../README.md for the contract.
 */
import { defineInputHelper } from "@split-v2v/common";
import { inputOvaMode } from "./mode.js";
import { precheckInputOva, setUpInputOva } from "./input-ova.js";

defineInputHelper({
  mode: inputOvaMode,
  argsSynopsis: "OVA",
  help:
    "Checks the OVA (a tar, tar.gz, tar.xz or zip file, or a directory): its one .ovf and every .mf manifest. " +
    "Serves each disk through a copy-on-write overlay (a disk in an uncompressed tar is read in place, never copied).",
  precheckHelp:
    "It leaves the manifests to setup (checking them reads every disk), and checks only the packaging of an OVA that setup would have to unpack.",
  options: {},
  precheck: (request, helper) =>
    precheckInputOva(
      {
        args: request.args,
        log: request.log,
        warn: (text) => helper.warning(text),
        info: (text) => helper.info(text),
      },
      request.stage === "precheck",
    ),
  setup: (checked, request, helper) =>
    setUpInputOva(
      {
        args: request.args,
        warn: (text) => helper.warning(text),
        info: (text) => helper.info(text),
        ...request.serving,
      },
      checked,
    ),
});
