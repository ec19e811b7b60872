#!/usr/bin/env node
/**
 * helper-v2v-output-null: -o null. See ../README.md.
 *
 *   helper-v2v-output-null precheck|setup|final WORKDIR
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
import { outputNullMode } from "./mode.js";
import { precheckOutputNull, setUpOutputNull } from "./output-null.js";

// --describe: what this helper serves, as JSON, for supervisors that are not ours.
answerDescribe(modeFacts(outputNullMode));

const argv = yargs(hideBin(process.argv))
  .scriptName("helper-v2v-output-null")
  .usage(
    "$0 precheck|setup|final WORKDIR\n\nA target that discards everything written to it (virt-v2v -o null).",
  )
  .parserConfiguration(V2V_PARSER_CONFIGURATION)
  .option("os", { type: "string", hidden: true })
  .option("of", { type: "string", hidden: true })
  .option("oa", { type: "string", hidden: true })
  .option("on", { type: "string", hidden: true })
  .option("oc", { type: "string", hidden: true })
  .option("op", { type: "string", hidden: true })
  .option("oo", { type: "string", array: true, default: [] as string[], hidden: true })
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
  "helper-v2v-output-null",
  { verbose: argv.verbose, exitWithParent: argv["exit-with-parent"] },
  async (helper) => {
    precheckOutputNull({
      outputStorage: argv.os,
      outputFormat: argv.of,
      outputAllocation: argv.oa,
      outputConnection: argv.oc,
      outputPassword: argv.op,
      outputOptions: argv.oo,
    });
    switch (stage) {
      case "precheck":
      case "final":
        return;
      case "setup":
        await helper.serveUntilStopped(
          await setUpOutputNull({
            workdir,
            verbose: argv.verbose,
            log: (line) => helper.log.debug(line),
          }),
        );
        return;
      default:
        throw new UserError(`unknown stage '${stage}': expected precheck, setup or final`);
    }
  },
);
