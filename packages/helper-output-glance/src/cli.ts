#!/usr/bin/env node
/**
 * helper-v2v-output-glance: -o glance. See ../README.md for the contract.
 *
 *   helper-v2v-output-glance precheck WORKDIR [-of raw|qcow2] [-on NAME]
 *   helper-v2v-output-glance setup    WORKDIR (same options)   serves WORKDIR/out* until SIGTERM
 *   helper-v2v-output-glance final    WORKDIR (same options)   uploads the images
 */
import { OUTPUT_REQUEST_OPTIONS, defineOutputHelper, outputRequestOf } from "@split-v2v/common";
import { outputGlanceMode } from "./mode.js";
import { finalizeOutputGlance, precheckOutputGlance, setUpOutputGlance } from "./output-glance.js";

defineOutputHelper({
  mode: outputGlanceMode,
  optionsSynopsis: "[-of raw|qcow2] [-on NAME]",
  help: "Uploads the converted guest to OpenStack Glance (virt-v2v -o glance) with the glance program (on $PATH, authenticated by the OS_* environment variables). precheck runs `glance image-list`; setup serves one sparse temporary file per disk, in a glance.XXXXXX directory of $VIRT_V2V_TMPDIR, $LIBGUESTFS_CACHEDIR, $TMPDIR or /var/tmp, and removes that directory when stopped; final runs `glance image-create` for each disk (named NAME, NAME-disk2, …) with the guest's image properties.",
  options: {
    ...OUTPUT_REQUEST_OPTIONS,
    of: {
      ...OUTPUT_REQUEST_OPTIONS.of,
      describe: "The images' disk format: raw (default) or qcow2",
    },
    oa: {
      ...OUTPUT_REQUEST_OPTIONS.oa,
      describe: "sparse or preallocated: accepted and ignored (Glance has no preallocation)",
    },
    on: {
      ...OUTPUT_REQUEST_OPTIONS.on,
      describe: "The first image's name (default: the source name)",
    },
    os: { ...OUTPUT_REQUEST_OPTIONS.os, describe: "Refused by this mode" },
    oc: { ...OUTPUT_REQUEST_OPTIONS.oc, describe: "Refused by this mode" },
    op: { ...OUTPUT_REQUEST_OPTIONS.op, describe: "Refused by this mode" },
    oo: { ...OUTPUT_REQUEST_OPTIONS.oo, describe: "Refused by this mode (it has no -oo options)" },
  },
  precheck: (request, helper) =>
    precheckOutputGlance(outputRequestOf("glance", request.options), {
      ...request,
      report: (line) => helper.log.info(line),
      warn: (text) => helper.warning(text),
    }),
  setup: (checked, request, helper) =>
    setUpOutputGlance(checked, {
      ...request,
      report: (line) => helper.log.info(line),
      warn: (text) => helper.warning(text),
    }),
  final: async (checked, request, helper) => {
    const ids = await finalizeOutputGlance(checked, {
      ...request,
      report: (line) => helper.log.info(line),
      warn: (text) => helper.warning(text),
    });
    helper.log.info(`glance images: ${ids.join(" ")}`);
  },
});
