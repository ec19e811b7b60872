#!/usr/bin/env node
/**
 * helper-v2v-output-rhv-upload: -o rhv-upload (ovirt-upload). See ../README.md for the contract.
 *
 *   helper-v2v-output-rhv-upload precheck WORKDIR -oc URL -op PWFILE -os SD [-of …] [-oa …] [-on NAME] [-oo rhv-…]
 *   helper-v2v-output-rhv-upload setup    WORKDIR (same options)   serves WORKDIR/out* until SIGTERM
 *   helper-v2v-output-rhv-upload final    WORKDIR (same options)   finalizes, creates the VM
 */
import { defineOutputHelper, outputRequestOf } from "@split-v2v/common";
import { outputRhvUploadMode, rhvUploadRequestOf } from "./mode.js";
import { finalizeRhvUpload, precheckRhvUpload, setUpRhvUpload } from "./rhv-upload.js";

defineOutputHelper({
  mode: outputRhvUploadMode,
  optionsSynopsis:
    "-oc https://SERVER/ovirt-engine/api -op PASSWORD-FILE -os STORAGE-DOMAIN [-of raw|qcow2] [-oa sparse|preallocated] [-on NAME] [-oo rhv-cafile=CA.PEM] [-oo rhv-cluster=NAME] [-oo rhv-proxy] [-oo rhv-verifypeer[=true|false]] [-oo rhv-disk-uuid=UUID …]",
  help: "Uploads the converted guest to an oVirt or RHV engine (virt-v2v -o rhv-upload): precheck logs in and checks the storage domain, the cluster, the disk UUIDs and that no VM has the name; setup creates one oVirt disk per guest disk, opens an imageio upload transfer for each and serves it (nbdkit's sh plugin writing with curl), and when stopped before WORKDIR/done exists cancels the transfers and deletes the disks; final finalizes the transfers and creates the VM from its OVF. The password is read from the -op file and sent only to the engine's SSO service.",
  options: {
    oc: {
      type: "string",
      describe: "The engine's REST API URL, https://[USER@]SERVER/ovirt-engine/api",
    },
    op: { type: "string", describe: "File holding the password of the engine's user" },
    os: { type: "string", describe: "The storage domain's name" },
    of: { type: "string", describe: "Disk format: raw (default) or qcow2" },
    oa: { type: "string", describe: "Allocation: sparse (default) or preallocated" },
    on: { type: "string", describe: "The VM's name (default: the source name)" },
    oo: {
      type: "string",
      array: true,
      default: [] as string[],
      describe:
        "rhv-cafile=CA.PEM, rhv-cluster=NAME, rhv-direct, rhv-proxy, rhv-verifypeer[=true|false], rhv-disk-uuid=UUID",
    },
  },
  precheck: (request, helper) =>
    precheckRhvUpload(rhvUploadRequestOf(outputRequestOf("rhv-upload", request.options)), {
      workdir: request.workdir,
      verbose: request.verbose,
      stage: request.stage,
      log: request.log,
      warn: (line) => helper.warning(line),
    }),
  setup: (checked, request) => setUpRhvUpload(checked, { ...request }),
  final: async (checked, request, helper) => {
    const vmId = await finalizeRhvUpload(checked, {
      ...request,
      warn: (line) => helper.warning(line),
    });
    helper.log.info(`created VM ${vmId}`);
  },
});
