#!/usr/bin/env node
/**
 * virt-v2v (split-v2v): the supervisor. Parses virt-v2v's command line, runs the helpers and the
 * copy, prints what virt-v2v prints, and leaves nothing behind whatever happens.
 */
import {
  UserError,
  errorMessage,
  exitStatusForSignal,
  onStopSignal,
  runCleanup,
} from "@split-v2v/common";
import { StageFailure } from "./helpers.js";
import { optionsHelpText } from "@split-v2v/common";
import { capabilities, selectInputMode, selectOutputMode } from "./modes.js";
import { UnrecognisedOption, allOptionNames, helpText, parseCommandLine } from "./options.js";
import { Reporter, openMachineReadable } from "./reporter.js";
import { runConversion, type RunState } from "./run.js";

const PROGRAM = "virt-v2v";
export const VERSION = "2.2.0";

async function main(argv: string[]): Promise<number> {
  let command;
  try {
    command = parseCommandLine(argv);
  } catch (err) {
    if (err instanceof UnrecognisedOption) {
      process.stderr.write(
        `${PROGRAM}: ${err.message}\nTry ‘${PROGRAM} --help’ or consult virt-v2v(1) for more information.\n`,
      );
      return 1;
    }
    process.stderr.write(`${PROGRAM}: error: ${errorMessage(err)}\n`);
    return 1;
  }
  switch (command.kind) {
    case "help":
      process.stdout.write(helpText());
      return 0;
    case "version":
      process.stdout.write(`${PROGRAM} ${VERSION}\n`);
      return 0;
    case "capabilities":
      process.stdout.write(capabilities().join("\n") + "\n");
      return 0;
    case "query-options":
      try {
        const mode =
          command.side === "input"
            ? selectInputMode({
                mode: command.mode,
                inputConnection: command.inputConnection,
                inputTransport: command.inputTransport,
              })
            : selectOutputMode(command.mode);
        process.stdout.write(optionsHelpText(mode));
        return 0;
      } catch (err) {
        process.stderr.write(`${PROGRAM}: error: ${errorMessage(err)}\n`);
        return 1;
      }
    case "list-options":
      process.stdout.write(allOptionNames(command.long).join("\n") + "\n");
      return 0;
    case "run":
      break;
  }

  const reporter = new Reporter({
    quiet: command.quiet,
    machineReadable: openMachineReadable(command.machineReadable),
    program: PROGRAM,
  });
  for (const warning of command.warnings) reporter.warning(warning);
  const state: RunState = { workdir: null, succeeded: false, keptLogs: null };

  const fail = async (text: string, bug: boolean, status: number): Promise<number> => {
    reporter.error(text, bug);
    await runCleanup((line) => reporter.warning(line));
    if (state.keptLogs !== null)
      process.stderr.write(`${PROGRAM}: the logs of this run are kept in ${state.keptLogs}\n`);
    reporter.close();
    return status;
  };

  let stopped: Promise<number> | null = null;
  onStopSignal((signal) => {
    stopped = fail(
      `interrupted by ${signal}; every helper was stopped and nothing was kept on the target`,
      false,
      exitStatusForSignal(signal),
    );
    void stopped.then((status) => process.exit(status));
  });

  try {
    await runConversion(command.run, reporter, state);
  } catch (err) {
    if (stopped !== null) return await stopped;
    if (err instanceof StageFailure) return await fail(err.text, err.bug, 1);
    if (err instanceof UserError) return await fail(err.message, false, 1);
    if (err instanceof Error && err.stack && command.run.verbose)
      process.stderr.write(`${err.stack}\n`);
    return await fail(errorMessage(err), true, 1);
  }
  if (stopped !== null) return await stopped;
  await runCleanup((line) => reporter.warning(line));
  reporter.close();
  return 0;
}

main(process.argv.slice(2)).then(
  (status) => process.exit(status),
  (err: unknown) => {
    process.stderr.write(`${PROGRAM}: error: ${errorMessage(err)}\n`);
    process.exit(1);
  },
);
