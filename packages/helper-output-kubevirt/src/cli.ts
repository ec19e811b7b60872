#!/usr/bin/env node
/**
 * helper-v2v-output-kubevirt: -o kubevirt. See ../README.md for the contract.
 *
 *   helper-v2v-output-kubevirt precheck WORKDIR -os DIR [-of raw|qcow2] [-oa …] [-on NAME] [-oo …]
 *   helper-v2v-output-kubevirt setup    WORKDIR (same options)   serves WORKDIR/out* until SIGTERM
 *   helper-v2v-output-kubevirt final    WORKDIR (same options)   writes DIR/NAME.yaml
 */
import { OUTPUT_REQUEST_OPTIONS, defineOutputHelper, outputRequestOf } from "@split-v2v/common";
import { outputKubevirtMode } from "./mode.js";
import {
  finalizeOutputKubevirt,
  precheckOutputKubevirt,
  setUpOutputKubevirt,
} from "./output-kubevirt.js";

defineOutputHelper({
  mode: outputKubevirtMode,
  optionsSynopsis:
    "-os DIR [-of raw|qcow2] [-oa sparse|preallocated] [-on NAME] [-oo compressed] [-oo create=false] [-oo disk=FILE]… [-oo yaml=vm|vmi]",
  help: "Writes the converted guest for KubeVirt (virt-v2v -o kubevirt): its disks as DIR/NAME-sda, NAME-sdb… (or the -oo disk= files) and a VirtualMachine as DIR/NAME.yaml (with -oo yaml=vmi, virt-v2v 2.2's VirtualMachineInstance). setup creates the disks (not with -oo create=false) and removes them and the YAML when stopped before WORKDIR/done exists; final writes the YAML.",
  options: {
    ...OUTPUT_REQUEST_OPTIONS,
    os: { ...OUTPUT_REQUEST_OPTIONS.os, describe: "The directory of the YAML and the disks" },
    oo: {
      ...OUTPUT_REQUEST_OPTIONS.oo,
      describe: "Output option: see virt-v2v -o kubevirt -oo ?",
    },
  },
  precheck: (request) =>
    precheckOutputKubevirt(outputRequestOf("kubevirt", request.options), request),
  setup: (checked, request, helper) =>
    setUpOutputKubevirt(checked, { ...request, warn: (text) => helper.warning(text) }),
  final: async (checked, request, helper) => {
    const { file, yaml } = await finalizeOutputKubevirt(checked, {
      ...request,
      warn: (text) => helper.warning(text),
    });
    helper.log.info(`wrote ${file}`);
    // As virt-v2v does with -v: the YAML written, in the log.
    helper.log.debug(`resulting kubevirt YAML:\n${yaml}`);
  },
});
