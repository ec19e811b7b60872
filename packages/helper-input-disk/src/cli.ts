#!/usr/bin/env node
/**
 * helper-v2v-input-disk: serve local disk images as NBD overlays for a conversion.
 * See ../README.md for the contract.
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
import { inputDiskMode } from "./mode.js";
import { setUpInputDisk } from "./input-disk.js";

// --describe: what this helper serves, as JSON, for supervisors that are not ours.
answerDescribe(modeFacts(inputDiskMode));

const argv = yargs(hideBin(process.argv))
  .scriptName("helper-v2v-input-disk")
  .usage(
    '$0 [options] WORKDIR DISK...\n\nServes each DISK on WORKDIR/in0, in1, … through a copy-on-write overlay, writes WORKDIR/metadata.in,\nprints {"event":"ready"} on stdout and serves until SIGTERM/SIGINT.',
  )
  .parserConfiguration(V2V_PARSER_CONFIGURATION)
  .option("if", {
    type: "string",
    describe: "Format of the input disks (raw, qcow2, vmdk…); probed when absent",
  })
  .options(HELPER_OPTIONS)
  .demandCommand(1, "WORKDIR is required")
  .strict()
  .help()
  .version(false)
  .parseSync();

const [workdir, ...disks] = argv._.map(String);
runHelper(
  "helper-v2v-input-disk",
  { verbose: argv.verbose, exitWithParent: argv["exit-with-parent"] },
  async (helper) => {
    const { sockets } = await setUpInputDisk({
      workdir: workdir!,
      disks,
      inputFormat: argv.if ?? null,
      verbose: argv.verbose,
      log: (line) => helper.log.debug(line),
    });
    await helper.serveUntilStopped(sockets);
  },
);
