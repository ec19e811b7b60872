#!/usr/bin/env node
/**
 * helper-v2v-output-qemu: -o qemu. See ../README.md for the contract.
 *
 *   helper-v2v-output-qemu precheck WORKDIR -os DIR [-of raw|qcow2] [-oa sparse|preallocated] [-on NAME] [-oo compressed] [-oo qemu-boot]
 *   helper-v2v-output-qemu setup    WORKDIR (same options)   serves WORKDIR/out* until SIGTERM
 *   helper-v2v-output-qemu final    WORKDIR (same options)   writes DIR/NAME.sh (and boots it with -oo qemu-boot)
 */
import { OUTPUT_REQUEST_OPTIONS, defineOutputHelper, outputRequestOf } from "@split-v2v/common";
import { outputQemuMode } from "./mode.js";
import { finalizeOutputQemu, precheckOutputQemu, setUpOutputQemu } from "./output-qemu.js";

defineOutputHelper({
  mode: outputQemuMode,
  optionsSynopsis:
    "-os DIR [-of raw|qcow2] [-oa sparse|preallocated] [-on NAME] [-oo compressed] [-oo qemu-boot]",
  help: "Writes the converted guest as local disk files DIR/NAME-sdX and a shell script DIR/NAME.sh that boots them in qemu (virt-v2v -o qemu). setup creates the disks, and removes them and the script when stopped before WORKDIR/done exists; final writes the script (mode 0755) and, with -oo qemu-boot, starts it in the background once virt-v2v has exited. The script reads V2V_QEMU_ACCEL (default kvm:tcg): V2V_QEMU_ACCEL=tcg boots the guest where KVM does not work.",
  options: {
    ...OUTPUT_REQUEST_OPTIONS,
    os: { ...OUTPUT_REQUEST_OPTIONS.os, describe: "Output directory (must exist)" },
    oo: {
      ...OUTPUT_REQUEST_OPTIONS.oo,
      describe: "Output option: compressed, qemu-boot (see virt-v2v -o qemu -oo ?)",
    },
  },
  precheck: (request) => precheckOutputQemu(outputRequestOf("qemu", request.options), request),
  setup: (checked, request, helper) =>
    setUpOutputQemu(checked, { ...request, warn: (text) => helper.warning(text) }),
  final: async (checked, request, helper) => {
    const file = await finalizeOutputQemu(checked, {
      ...request,
      warn: (text) => helper.warning(text),
    });
    helper.log.info(`wrote ${file}`);
  },
});
