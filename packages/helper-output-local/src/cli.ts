#!/usr/bin/env node
/**
 * helper-v2v-output-local: -o local / -o disk. See ../README.md for the contract.
 *
 *   helper-v2v-output-local precheck WORKDIR -os DIR [-of raw|qcow2] [-oa sparse|preallocated] [-on NAME] [-oo compressed]
 *   helper-v2v-output-local setup    WORKDIR (same options)   serves WORKDIR/out* until SIGTERM
 *   helper-v2v-output-local final    WORKDIR (same options)   writes DIR/NAME.xml
 */
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import {
  answerDescribe,
  modeFacts,
  runHelper,
  UserError,
  V2V_PARSER_CONFIGURATION,
} from "@split-v2v/common";
import { outputLocalMode } from "./mode.js";
import { finalizeOutputLocal, precheckOutputLocal, setUpOutputLocal } from "./output-local.js";

// --describe: what this helper serves, as JSON, for supervisors that are not ours.
answerDescribe(modeFacts(outputLocalMode));

const argv = yargs(hideBin(process.argv))
  .scriptName("helper-v2v-output-local")
  .usage(
    "$0 precheck|setup|final WORKDIR [options]\n\nWrites the converted guest as local disk files and a libvirt XML (virt-v2v -o local).",
  )
  .parserConfiguration(V2V_PARSER_CONFIGURATION)
  .option("os", { type: "string", describe: "Output directory (must exist)" })
  .option("of", { type: "string", describe: "Output format: raw (default) or qcow2" })
  .option("oa", { type: "string", describe: "Output allocation: sparse (default) or preallocated" })
  .option("on", {
    type: "string",
    describe: "Name of the guest on the target (default: the source name)",
  })
  .option("oc", { type: "string", hidden: true })
  .option("op", { type: "string", hidden: true })
  .option("oo", {
    type: "string",
    array: true,
    default: [] as string[],
    describe: "Output option: compressed",
  })
  .option("mode", {
    type: "string",
    default: "local",
    describe: "The -o name the user gave (local or disk), for messages",
  })
  .option("exit-with-parent", {
    type: "boolean",
    default: false,
    describe: "Stop when the parent process dies",
  })
  .option("verbose", { alias: "v", type: "boolean", default: false })
  .demandCommand(2, "the stage (precheck, setup or final) and WORKDIR are required")
  .strict()
  .help()
  .version(false)
  .parseSync();

const [stage, workdir] = argv._.map(String) as [string, string];
runHelper(
  "helper-v2v-output-local",
  { verbose: argv.verbose, exitWithParent: argv["exit-with-parent"] },
  async (helper) => {
    const checked = await precheckOutputLocal({
      outputStorage: argv.os,
      outputFormat: argv.of,
      outputAllocation: argv.oa,
      outputName: argv.on,
      outputConnection: argv.oc,
      outputPassword: argv.op,
      outputOptions: argv.oo,
      mode: argv.mode,
    });
    const context = {
      workdir,
      verbose: argv.verbose,
      log: (line: string) => helper.log.debug(line),
    };
    switch (stage) {
      case "precheck":
        return;
      case "setup":
        await helper.serveUntilStopped(await setUpOutputLocal(checked, context));
        return;
      case "final": {
        const file = await finalizeOutputLocal(checked, {
          ...context,
          warn: (line) => helper.warning(line),
        });
        helper.log.info(`wrote ${file}`);
        return;
      }
      default:
        throw new UserError(`unknown stage '${stage}': expected precheck, setup or final`);
    }
  },
);
