#!/usr/bin/env node
/**
 * helper-v2v-input-ova: serve the disks of a VMware OVA as NBD overlays for a conversion.
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
import { inputOvaMode } from "./mode.js";
import { setUpInputOva } from "./input-ova.js";

// --describe: what this helper serves, as JSON, for supervisors that are not ours.
answerDescribe(modeFacts(inputOvaMode));

const argv = yargs(hideBin(process.argv))
  .scriptName("helper-v2v-input-ova")
  .usage(
    "$0 [options] WORKDIR OVA\n\n" +
      "Checks the OVA (a tar, tar.gz, tar.xz or zip file, or a directory): its one .ovf and every .mf manifest. " +
      "Serves each disk on WORKDIR/in0, in1, … through a copy-on-write overlay (a disk in an uncompressed tar is read in place, never copied), " +
      'writes WORKDIR/metadata.in, prints {"event":"ready"} on stdout and serves until SIGTERM/SIGINT.',
  )
  .parserConfiguration(V2V_PARSER_CONFIGURATION)
  .options(HELPER_OPTIONS)
  .demandCommand(1, "WORKDIR is required")
  .strict()
  .help()
  .version(false)
  .parseSync();

const [workdir, ...args] = argv._.map(String);
runHelper(
  "helper-v2v-input-ova",
  { verbose: argv.verbose, exitWithParent: argv["exit-with-parent"] },
  async (helper) => {
    const { sockets } = await setUpInputOva({
      workdir: workdir!,
      args,
      verbose: argv.verbose,
      log: (line) => helper.log.debug(line),
      warn: (text) => helper.warning(text),
      info: (text) => helper.info(text),
    });
    await helper.serveUntilStopped(sockets);
  },
);
