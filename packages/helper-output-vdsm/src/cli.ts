#!/usr/bin/env node
/**
 * helper-v2v-output-vdsm: -o vdsm. See ../README.md for the contract.
 *
 *   helper-v2v-output-vdsm precheck WORKDIR -os MOUNTPOINT/SD-UUID -oo vdsm-vm-uuid=UUID -oo vdsm-image-uuid=UUID -oo vdsm-vol-uuid=UUID … [-of raw|qcow2] [-oa …]
 *   helper-v2v-output-vdsm setup    WORKDIR (same options)   serves WORKDIR/out* until SIGTERM
 *   helper-v2v-output-vdsm final    WORKDIR (same options)   writes OVF-OUTPUT/VM-UUID.ovf
 */
import { OUTPUT_REQUEST_OPTIONS, defineOutputHelper, outputRequestOf } from "@split-v2v/common";
import { outputVdsmMode } from "./mode.js";
import { finalizeOutputVdsm, precheckOutputVdsm, setUpOutputVdsm } from "./output-vdsm.js";

defineOutputHelper({
  mode: outputVdsmMode,
  optionsSynopsis:
    "-os MOUNTPOINT/SD-UUID -oo vdsm-vm-uuid=UUID (-oo vdsm-image-uuid=UUID -oo vdsm-vol-uuid=UUID)… [-oo vdsm-ovf-output=DIR] [-oo vdsm-ovf-flavour=ovirt|rhvexp] [-oo vdsm-compat=0.10|1.1] [-of raw|qcow2] [-oa sparse|preallocated] [-on NAME]",
  help: "Writes the converted guest into a VDSM data domain (virt-v2v -o vdsm, as oVirt's VDSM runs it): each disk's volume and .meta file into the image directory VDSM made for it, with the UUIDs VDSM chose, and the OVF into the vdsm-ovf-output directory. setup creates the volumes, and removes the files it wrote when stopped before WORKDIR/done exists; final writes the OVF.",
  options: {
    ...OUTPUT_REQUEST_OPTIONS,
    os: { ...OUTPUT_REQUEST_OPTIONS.os, describe: "The data domain: MOUNTPOINT/SD-UUID" },
    oo: {
      ...OUTPUT_REQUEST_OPTIONS.oo,
      describe: "Output option (vdsm-…): see virt-v2v -o vdsm -oo ?",
    },
  },
  precheck: (request) => precheckOutputVdsm(outputRequestOf("vdsm", request.options), request),
  setup: (checked, request, helper) =>
    setUpOutputVdsm(checked, { ...request, warn: (text) => helper.warning(text) }),
  final: async (checked, request, helper) => {
    const file = await finalizeOutputVdsm(checked, {
      ...request,
      warn: (text) => helper.warning(text),
    });
    helper.log.info(`wrote ${file}`);
  },
});
