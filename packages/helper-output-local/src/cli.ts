#!/usr/bin/env node
/**
 * helper-v2v-output-local: -o local / -o disk. See ../README.md for the contract.
 *
 *   helper-v2v-output-local precheck WORKDIR -os DIR [-of raw|qcow2] [-oa sparse|preallocated] [-on NAME] [-oo compressed]
 *   helper-v2v-output-local setup    WORKDIR (same options)   serves WORKDIR/out* until SIGTERM
 *   helper-v2v-output-local final    WORKDIR (same options)   writes DIR/NAME.xml
 */
import { defineOutputHelper } from "@split-v2v/common";
import { outputLocalMode } from "./mode.js";
import { finalizeOutputLocal, precheckOutputLocal, setUpOutputLocal } from "./output-local.js";

defineOutputHelper({
  mode: outputLocalMode,
  optionsSynopsis: "-os DIR [-of raw|qcow2] [-oa sparse|preallocated] [-on NAME] [-oo compressed]",
  help: "Writes the converted guest as local disk files DIR/NAME-sdX and a libvirt XML DIR/NAME.xml (virt-v2v -o local). setup creates the disks, and removes them when stopped before WORKDIR/done exists; final writes the XML.",
  options: {
    os: { type: "string", describe: "Output directory (must exist)" },
    of: { type: "string", describe: "Output format: raw (default) or qcow2" },
    oa: { type: "string", describe: "Output allocation: sparse (default) or preallocated" },
    on: { type: "string", describe: "Name of the guest on the target (default: the source name)" },
    oc: { type: "string", hidden: true },
    op: { type: "string", hidden: true },
    oo: {
      type: "string",
      array: true,
      default: [] as string[],
      describe: "Output option: compressed",
    },
    mode: {
      type: "string",
      default: "local",
      describe: "The -o name the user gave (local or disk), for messages",
    },
  },
  precheck: ({ options }) =>
    precheckOutputLocal({
      outputStorage: options.os,
      outputFormat: options.of,
      outputAllocation: options.oa,
      outputName: options.on,
      outputConnection: options.oc,
      outputPassword: options.op,
      outputOptions: options.oo,
      mode: options.mode,
    }),
  setup: (checked, request) => setUpOutputLocal(checked, request),
  final: async (checked, request, helper) => {
    const file = await finalizeOutputLocal(checked, {
      ...request,
      warn: (line) => helper.warning(line),
    });
    helper.log.info(`wrote ${file}`);
  },
});
