#!/usr/bin/env node
/**
 * helper-v2v-output-libvirt: -o libvirt. See ../README.md for the contract.
 *
 *   helper-v2v-output-libvirt precheck WORKDIR [-oc URI] [-os POOL] [-of raw|qcow2] [-oa sparse|preallocated] [-on NAME] [-oo compressed]
 *   helper-v2v-output-libvirt setup    WORKDIR (same options)   serves WORKDIR/out* until SIGTERM
 *   helper-v2v-output-libvirt final    WORKDIR (same options)   refreshes the pool, defines the domain
 */
import { OUTPUT_REQUEST_OPTIONS, defineOutputHelper, outputRequestOf } from "@split-v2v/common";
import { outputLibvirtMode } from "./mode.js";
import {
  finalizeOutputLibvirt,
  precheckOutputLibvirt,
  setUpOutputLibvirt,
} from "./output-libvirt.js";

defineOutputHelper({
  mode: outputLibvirtMode,
  optionsSynopsis:
    "[-oc URI] [-os POOL] [-of raw|qcow2] [-oa sparse|preallocated] [-on NAME] [-oo compressed]",
  help: "Writes the converted guest to libvirt (virt-v2v -o libvirt): its disks POOLDIR/NAME-sdX into the target directory of a directory storage pool (-os, default \"default\"), then a domain NAME defined on the connection (-oc, default: libvirt's default connection) whose disks are the pool's volumes. precheck refuses a domain NAME that already exists and a pool that is not a directory pool. setup creates the disks, and removes them when stopped before WORKDIR/done exists; final refreshes the pool and defines the domain (when libvirt refuses it, the XML is left in a temporary file and a warning says so).",
  options: {
    ...OUTPUT_REQUEST_OPTIONS,
    oc: {
      ...OUTPUT_REQUEST_OPTIONS.oc,
      describe: "The libvirt URI (default: libvirt's default connection)",
    },
    os: {
      ...OUTPUT_REQUEST_OPTIONS.os,
      describe: 'The storage pool, a directory pool: its name or UUID (default "default")',
    },
    oo: {
      ...OUTPUT_REQUEST_OPTIONS.oo,
      describe: "Output option: compressed (see virt-v2v -o libvirt -oo ?)",
    },
  },
  precheck: (request) =>
    precheckOutputLibvirt(outputRequestOf("libvirt", request.options), request),
  setup: (checked, request, helper) =>
    setUpOutputLibvirt(checked, { ...request, warn: (text) => helper.warning(text) }),
  final: async (checked, request, helper) => {
    const result = await finalizeOutputLibvirt(checked, {
      ...request,
      warn: (text) => helper.warning(text),
    });
    if (result.defined) helper.log.info(`defined libvirt domain ${result.name}`);
  },
});
