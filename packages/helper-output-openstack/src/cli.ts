#!/usr/bin/env node
/**
 * helper-v2v-output-openstack: -o openstack (osp, rhosp). See ../README.md for the contract.
 *
 *   helper-v2v-output-openstack precheck WORKDIR -oo server-id=NAME|UUID [-oo …] [-oc URL] [-os TYPE] [-on NAME]
 *   helper-v2v-output-openstack setup    WORKDIR (same options)   serves WORKDIR/out* until SIGTERM
 *   helper-v2v-output-openstack final    WORKDIR (same options)   sets the volumes' properties
 */
import { OUTPUT_REQUEST_OPTIONS, defineOutputHelper, outputRequestOf } from "@split-v2v/common";
import { outputOpenstackMode } from "./mode.js";
import {
  finalizeOutputOpenstack,
  precheckOutputOpenstack,
  setUpOutputOpenstack,
} from "./output-openstack.js";

defineOutputHelper({
  mode: outputOpenstackMode,
  optionsSynopsis:
    "-oo server-id=NAME|UUID [-oo guest-id=ID] [-oo verify-server-certificate=true|false] [-oo dev-disk-by-id=DIR] [-oo os-*=VALUE …] [-oc AUTH-URL] [-os VOLUME-TYPE] [-on NAME]",
  help: "Writes the converted guest into Cinder volumes (virt-v2v -o openstack), running in the conversion appliance, the OpenStack VM named by -oo server-id. Every OpenStack request goes through the openstack program (on $PATH; OS_* environment variables and -oo os-*=… for authentication). precheck runs `openstack token issue`; setup creates one volume per disk, attaches each to the appliance and serves its device (found in /dev/disk/by-id) for the copy, and when stopped detaches them, deleting them too unless WORKDIR/done exists; final makes the first volume bootable with the guest's image properties and sets each volume's description and virt_v2v_* properties.",
  options: {
    ...OUTPUT_REQUEST_OPTIONS,
    os: { ...OUTPUT_REQUEST_OPTIONS.os, describe: "The Cinder volume type (default: none)" },
    of: { ...OUTPUT_REQUEST_OPTIONS.of, describe: "Output format: raw only" },
    oa: { ...OUTPUT_REQUEST_OPTIONS.oa, describe: "Output allocation: sparse only" },
    oc: {
      ...OUTPUT_REQUEST_OPTIONS.oc,
      describe: "The OpenStack authentication URL (openstack --os-auth-url)",
    },
    op: { ...OUTPUT_REQUEST_OPTIONS.op, describe: "Not used by this mode (ignored, as in 2.2)" },
    oo: {
      ...OUTPUT_REQUEST_OPTIONS.oo,
      describe:
        "server-id=NAME|UUID, guest-id=ID, verify-server-certificate[=true|false], dev-disk-by-id=DIR, os-*=VALUE: see virt-v2v -o openstack -oo ?",
    },
  },
  precheck: (request, helper) =>
    precheckOutputOpenstack(outputRequestOf("openstack", request.options), {
      ...request,
      report: (line) => helper.log.info(line),
      warn: (text) => helper.warning(text),
    }),
  setup: (checked, request, helper) =>
    setUpOutputOpenstack(checked, {
      ...request,
      report: (line) => helper.log.info(line),
      warn: (text) => helper.warning(text),
    }),
  final: async (checked, request, helper) => {
    const state = await finalizeOutputOpenstack(checked, {
      ...request,
      report: (line) => helper.log.info(line),
      warn: (text) => helper.warning(text),
    });
    helper.log.info(`cinder volumes: ${state.volumes.map((volume) => volume.id).join(" ")}`);
  },
});
