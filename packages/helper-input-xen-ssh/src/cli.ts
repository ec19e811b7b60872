#!/usr/bin/env node
/**
 * helper-v2v-input-xen-ssh: serve the disks of a Xen guest (-i libvirt -ic xen+ssh://…) as NBD
 * overlays for a conversion. See ../README.md for the contract.
 */
import { defineInputHelper } from "@split-v2v/common";
import { inputXenSshMode } from "./mode.js";
import {
  precheckInputXenSsh,
  setUpInputXenSsh,
  type InputXenSshCheckOptions,
} from "./input-xen-ssh.js";

/** The helper's options as the precheck takes them. */
function checkOptions(
  args: string[],
  options: {
    ic: string | undefined;
    ip: string | undefined;
    bandwidth: string | undefined;
    "bandwidth-file": string | undefined;
  },
  warn: (text: string) => void,
): InputXenSshCheckOptions {
  return {
    args,
    connection: options.ic ?? null,
    passwordFile: options.ip ?? null,
    bandwidth:
      options.bandwidth === undefined && options["bandwidth-file"] === undefined
        ? null
        : { rate: options.bandwidth ?? null, rateFile: options["bandwidth-file"] ?? null },
    warn,
  };
}

defineInputHelper({
  mode: inputXenSshMode,
  argsSynopsis: "GUEST",
  help: "GUEST is the name of a guest of the Xen host that -ic xen+ssh://[user@]host[:port] names. Its description is read from the host's libvirt; each of its disks, a file on the host, is read over SSH by nbdkit's ssh plugin and served through a copy-on-write overlay.",
  precheckHelp:
    "It checks the options, the -ic URI and the password file: reading the guest's description needs a connection, which is setup's.",
  options: {
    ic: {
      type: "string",
      describe: "The libvirt URI of the Xen host: xen+ssh://[user@]host[:port]",
    },
    ip: {
      type: "string",
      describe: "File holding the SSH password (for libvirt and for the disks)",
    },
    bandwidth: {
      type: "string",
      describe: "Limit the transfer to this many bits per second (10M, 1G…)",
    },
    "bandwidth-file": {
      type: "string",
      describe: "Read the limit from this file, again whenever it changes",
    },
  },
  precheck: (request, helper) =>
    precheckInputXenSsh(checkOptions(request.args, request.options, helper.warning)),
  setup: async (checked, request, helper) => {
    const { sockets } = await setUpInputXenSsh(
      {
        ...checkOptions(request.args, request.options, helper.warning),
        workdir: request.workdir,
        overlay: request.overlay,
        verbose: request.verbose,
        log: request.log,
      },
      checked,
    );
    return sockets;
  },
});
