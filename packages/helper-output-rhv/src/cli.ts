#!/usr/bin/env node
/**
 * helper-v2v-output-rhv: -o rhv (-o ovirt, -o rhev). See ../README.md for the contract.
 *
 *   helper-v2v-output-rhv precheck WORKDIR -os SERVER:/EXPORT|DIR [-of raw|qcow2] [-oa sparse|preallocated] [-on NAME]
 *   helper-v2v-output-rhv setup    WORKDIR (same options)   serves WORKDIR/out* until SIGTERM
 *   helper-v2v-output-rhv final    WORKDIR (same options)   writes the OVF
 */
import { OUTPUT_REQUEST_OPTIONS, defineOutputHelper, outputRequestOf } from "@split-v2v/common";
import { outputRhvMode } from "./mode.js";
import { finalizeOutputRhv, precheckOutputRhv, setUpOutputRhv } from "./output-rhv.js";

defineOutputHelper({
  mode: outputRhvMode,
  optionsSynopsis:
    "-os SERVER:/EXPORT|ESD-DIR [-of raw|qcow2] [-oa sparse|preallocated] [-on NAME]",
  help: "Writes the converted guest into an oVirt/RHV Export Storage Domain (virt-v2v -o rhv): a volume and its .meta file per disk under SD-UUID/images/, the OVF under SD-UUID/master/vms/. -os is an NFS export (mounted for the run: needs root) or the directory where it is mounted. As root, everything is given to UID:GID 36:36 (vdsm:kvm). setup creates the volumes, and removes everything it created when stopped before WORKDIR/done exists; final writes the OVF.",
  options: {
    ...OUTPUT_REQUEST_OPTIONS,
    os: {
      ...OUTPUT_REQUEST_OPTIONS.os,
      describe: "The Export Storage Domain: SERVER:/EXPORT or a mounted directory",
    },
  },
  precheck: (request) => precheckOutputRhv(outputRequestOf("rhv", request.options), request),
  setup: (checked, request, helper) =>
    setUpOutputRhv(checked, { ...request, warn: (text) => helper.warning(text) }),
  final: async (checked, request, helper) => {
    const file = await finalizeOutputRhv(checked, {
      ...request,
      warn: (text) => helper.warning(text),
    });
    helper.log.info(`wrote ${file}`);
  },
});
