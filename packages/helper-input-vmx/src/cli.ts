#!/usr/bin/env node
/**
 * helper-v2v-input-vmx: serve the disks of a VMware guest described by a .vmx file as NBD
 * overlays for a conversion. See ../README.md for the contract.
 */
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import {
  answerDescribe,
  HELPER_OPTIONS,
  modeFacts,
  runHelper,
  V2V_PARSER_CONFIGURATION,
} from "@split-v2v/common";
import { inputVmxMode } from "./mode.js";
import { setUpInputVmx } from "./input-vmx.js";

// --describe: what this helper serves, as JSON, for supervisors that are not ours.
answerDescribe(modeFacts(inputVmxMode));

const argv = yargs(hideBin(process.argv))
  .scriptName("helper-v2v-input-vmx")
  .usage(
    '$0 [options] WORKDIR VMX\n\nVMX is a .vmx file, or with -it ssh an ssh://[user@]host[:port]/path.vmx URI. Serves each hard disk it names on WORKDIR/in0, in1, … through a copy-on-write overlay, writes WORKDIR/metadata.in, prints {"event":"ready"} on stdout and serves until SIGTERM/SIGINT.',
  )
  .parserConfiguration(V2V_PARSER_CONFIGURATION)
  .option("it", {
    type: "string",
    describe: "Input transport: ssh (VMX is an ssh:// URI)",
  })
  .option("ip", {
    type: "string",
    describe: "With -it ssh: file holding the SSH password",
  })
  .option("bandwidth", {
    type: "string",
    describe: "With -it ssh: limit the transfer to this many bits per second (10M, 1G…)",
  })
  .option("bandwidth-file", {
    type: "string",
    describe: "With -it ssh: read the limit from this file, again whenever it changes",
  })
  .options(HELPER_OPTIONS)
  .demandCommand(1, "WORKDIR is required")
  .strict()
  .help()
  .version(false)
  .parseSync();

const [workdir, ...args] = argv._.map(String);
runHelper(
  "helper-v2v-input-vmx",
  { verbose: argv.verbose, exitWithParent: argv["exit-with-parent"] },
  async (helper) => {
    const { sockets } = await setUpInputVmx({
      workdir: workdir!,
      args,
      transport: argv.it ?? null,
      passwordFile: argv.ip ?? null,
      bandwidth:
        argv.bandwidth === undefined && argv["bandwidth-file"] === undefined
          ? null
          : { rate: argv.bandwidth ?? null, rateFile: argv["bandwidth-file"] ?? null },
      verbose: argv.verbose,
      log: (line) => helper.log.debug(line),
      warn: (text) => helper.warning(text),
    });
    await helper.serveUntilStopped(sockets);
  },
);
