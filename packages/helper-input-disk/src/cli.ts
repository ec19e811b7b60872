#!/usr/bin/env node
/**
 * helper-v2v-input-disk: serve local disk images as NBD overlays for a conversion.
 * See ../README.md for the contract.
 */
import { defineInputHelper } from "@split-v2v/common";
import { inputDiskMode } from "./mode.js";
import { precheckInputDisk, setUpInputDisk } from "./input-disk.js";

defineInputHelper({
  mode: inputDiskMode,
  argsSynopsis: "DISK...",
  help: "Serves each DISK (raw, or any format qemu-img reads) through a copy-on-write overlay: the conversion never writes to the DISK files.",
  options: {
    if: {
      type: "string",
      describe: "Format of the input disks (raw, qcow2, vmdk…); probed when absent",
    },
  },
  precheck: (request) =>
    precheckInputDisk({ disks: request.args, inputFormat: request.options.if ?? null }),
  setup: (checked, request) =>
    setUpInputDisk(
      { disks: checked.disks, inputFormat: request.options.if ?? null, ...request.serving },
      checked,
    ),
});
