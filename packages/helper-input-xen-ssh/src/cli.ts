#!/usr/bin/env node
/**
 * helper-v2v-input-xen-ssh: serve the disks of a Xen guest (-i libvirt -ic xen+ssh://…) as NBD
 * overlays for a conversion. See ../README.md for the contract.
 */
import {
  bandwidthOptions,
  connectionOption,
  defineInputHelper,
  passwordFileOption,
  remoteLibvirtCheckOptions,
} from "@split-v2v/common";
import { inputXenSshMode } from "./mode.js";
import { precheckInputXenSsh, setUpInputXenSsh } from "./input-xen-ssh.js";

defineInputHelper({
  mode: inputXenSshMode,
  argsSynopsis: "GUEST",
  help: "GUEST is the name of a guest of the Xen host that -ic xen+ssh://[user@]host[:port] names. Its description is read from the host's libvirt; each of its disks, a file on the host, is read over SSH by nbdkit's ssh plugin and served through a copy-on-write overlay.",
  precheckHelp:
    "It checks the options, the -ic URI and the password file: reading the guest's description needs a connection, which is setup's.",
  options: {
    ...connectionOption("The libvirt URI of the Xen host: xen+ssh://[user@]host[:port]"),
    ...passwordFileOption("File holding the SSH password (for libvirt and for the disks)"),
    ...bandwidthOptions(),
  },
  precheck: (request, helper) =>
    precheckInputXenSsh(remoteLibvirtCheckOptions(request.args, request.options, helper.warning)),
  setup: (checked, request, helper) =>
    setUpInputXenSsh(
      {
        ...remoteLibvirtCheckOptions(request.args, request.options, helper.warning),
        ...request.serving,
      },
      checked,
    ),
});
