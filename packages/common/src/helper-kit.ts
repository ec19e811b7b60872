/**
 * The helper kit: one command-line frame for every helper program, so that a new input or output
 * mode is its descriptor, its own options and its stage functions, and nothing else.
 *
 *   defineHelper        the frame: --describe (the mode's facts as JSON), the usage text, the
 *                       options every helper takes (HELPER_OPTIONS) beside the program's own,
 *                       virt-v2v's parser settings, strict parsing, runHelper around the work
 *   defineInputHelper   `helper [--precheck] [options] WORKDIR ARGS…`: precheck, then setup
 *                       (serve WORKDIR/in* until stopped) unless --precheck
 *   defineOutputHelper  `helper precheck|setup|final WORKDIR [options]`: the precheck's
 *                       validation before every stage, then the stage
 *
 * The stages of a mode (see CONTRACT.md in @split-v2v/metadata-schema):
 *
 *   input precheck   checks the options and the source where that is cheap (files readable, the
 *                    archive or descriptor parseable); starts no server, writes nothing into
 *                    WORKDIR. Its result is what setup starts from.
 *   input setup      serves the source disks (serveInputDisks), writes metadata.in; the kit
 *                    announces the sockets and serves until stopped.
 *   output precheck  checks the options (and the target where it can), before anything is
 *                    converted; runs before setup and final as well, which take its result.
 *   output setup     creates the target disks and serves them; served until stopped.
 *   output final     finishes the target once the copy is done (writes the guest's metadata).
 */
import yargs, { type InferredOptionTypes, type Options } from "yargs";
import { hideBin } from "yargs/helpers";
import { UserError } from "./errors.js";
import { runHelper, type HelperContext } from "./helper.js";
import {
  answerDescribe,
  modeFacts,
  type InputModeDescriptor,
  type OutputModeDescriptor,
  type OutputRequest,
} from "./modes.js";
import { HELPER_OPTIONS, V2V_PARSER_CONFIGURATION } from "./yargs.js";

/** A program's own options, as yargs declares them. */
export type OptionSpecs = Record<string, Options>;

/** The parsed options: the program's own and HELPER_OPTIONS (aliases stripped, no camel case). */
export type HelperArguments<O extends OptionSpecs> = InferredOptionTypes<O> &
  InferredOptionTypes<typeof HELPER_OPTIONS>;

export interface HelperInvocation<O extends OptionSpecs> {
  options: HelperArguments<O>;
  /** The words that are not options, WORKDIR (or the stage) first. */
  positionals: string[];
}

export interface HelperDefinition<O extends OptionSpecs> {
  /** The program's name, as on PATH. */
  program: string;
  /** What --describe prints (a mode's facts: modeFacts(descriptor)). */
  facts: Record<string, unknown>;
  /** The command line after the program's name: "[options] WORKDIR DISK...". */
  synopsis: string;
  /** What the program does, for --help (paragraphs separated by blank lines). */
  help: string;
  /** The program's own options; HELPER_OPTIONS are added after them. */
  options: O;
  /** How many words that are not options it takes, and what to say when they are not there. */
  positionals: { min: number; max?: number; missing: string; tooMany?: string };
  /** Replaces the --verbose help line (for a program whose -v does more than log). */
  verboseHelp?: string;
  main(invocation: HelperInvocation<O>, helper: HelperContext): Promise<void>;
}

/** The frame: answers --describe, parses the command line, runs `main` in runHelper. */
export function defineHelper<const O extends OptionSpecs>(
  definition: HelperDefinition<O>,
  argv: string[] = hideBin(process.argv),
): void {
  // Before the usual command line is parsed: that one needs a WORKDIR.
  answerDescribe(definition.facts, argv);
  const common =
    definition.verboseHelp === undefined
      ? HELPER_OPTIONS
      : {
          ...HELPER_OPTIONS,
          verbose: { ...HELPER_OPTIONS.verbose, describe: definition.verboseHelp },
        };
  const { min, max, missing, tooMany } = definition.positionals;
  const parser = yargs(argv)
    .scriptName(definition.program)
    .usage(`$0 ${definition.synopsis}\n\n${definition.help}`)
    .parserConfiguration(V2V_PARSER_CONFIGURATION)
    .options(definition.options)
    .options(common)
    // Answered by answerDescribe above; declared so that --help lists it.
    .option("describe", {
      type: "boolean",
      describe: "Print what this program does as JSON (contract, mode, usage) and exit",
    });
  const parsed = (
    max === undefined
      ? parser.demandCommand(min, missing)
      : parser.demandCommand(min, max, missing, tooMany)
  )
    .strict()
    .help()
    .version(false)
    .parseSync();
  const options = parsed as unknown as HelperArguments<O>;
  runHelper(
    definition.program,
    { verbose: options.verbose, exitWithParent: options["exit-with-parent"] },
    (helper) => definition.main({ options, positionals: parsed._.map(String) }, helper),
  );
}

/** What every stage function gets besides the helper's context. */
export interface StageRequest<O extends OptionSpecs> {
  /** WORKDIR as given on the command line. */
  workdir: string;
  options: HelperArguments<O>;
  verbose: boolean;
  /** The helper's debug log (stderr), for servers' lines and our own notes. */
  log: (line: string) => void;
}

/**
 * What a mode's setUp function takes from the kit besides its own options, ready to spread into
 * them: where to serve, whether through an overlay, and the log.
 */
export interface InputServing {
  workdir: string;
  overlay: boolean;
  verbose: boolean;
  log: (line: string) => void;
}

export interface InputStageRequest<O extends OptionSpecs> extends StageRequest<O> {
  /** The words after WORKDIR: the mode's ARGS (disks, an OVA, a .vmx…). */
  args: string[];
  /**
   * The stage that runs: "precheck" alone (--precheck), or "setup" (the precheck first). A
   * precheck that can look further when it is the only thing that runs may do so.
   */
  stage: "precheck" | "setup";
  /**
   * Whether the disks are served through an overlay, for serveInputDisks: always true today;
   * the kit is where an in-place mode will set it to false.
   */
  overlay: boolean;
  /** workdir, overlay, verbose and log, as one object: `setUpX({ ...mine, ...request.serving })`. */
  serving: InputServing;
}

export interface InputHelperDefinition<O extends OptionSpecs, C> {
  mode: InputModeDescriptor;
  /** What follows WORKDIR in the usage line: "DISK...", "OVA". */
  argsSynopsis: string;
  /** What the helper reads and how it serves it, for --help. */
  help: string;
  /** What --precheck leaves to setup in this mode, for --help. */
  precheckHelp?: string;
  /** The mode's own options. */
  options: O;
  /**
   * Checks the options and the source (UserError on the first problem) without starting any
   * server and without writing into WORKDIR. What it returns is what setup starts from.
   */
  precheck(request: InputStageRequest<O>, helper: HelperContext): Promise<C>;
  /**
   * Serves the source disks (serveInputDisks) and writes metadata.in; returns the sockets (names
   * in the work dir), which the kit announces ("ready") and serves until stopped. (What the
   * modes' setUp functions return: it may have more, such as the metadata.)
   */
  setup(
    checked: C,
    request: InputStageRequest<O>,
    helper: HelperContext,
  ): Promise<{ sockets: string[] }>;
}

/**
 * The input precheck is asked for with a flag, not a first word as the outputs' stages are:
 * today's command line `helper [options] WORKDIR ARGS…` takes any WORKDIR, a relative one named
 * "precheck" included, so a leading word "precheck" could not be told from a WORKDIR. No command
 * line that works today has --precheck (strict parsing refuses unknown options), so adding it
 * changes none of them.
 */
const PRECHECK_OPTION = {
  precheck: {
    type: "boolean",
    default: false,
    describe: "Only check the options and the source, then exit",
  },
} as const;

export function defineInputHelper<const O extends OptionSpecs, C>(
  definition: InputHelperDefinition<O, C>,
  argv: string[] = hideBin(process.argv),
): void {
  const options = { ...definition.options, ...PRECHECK_OPTION };
  defineHelper(
    {
      program: definition.mode.program,
      facts: modeFacts(definition.mode),
      synopsis: `[--precheck] [options] WORKDIR ${definition.argsSynopsis}`,
      help:
        `${definition.help}\n\n` +
        'Without --precheck (setup): the disks are served on WORKDIR/in0, in1, …; the helper writes WORKDIR/metadata.in, prints {"event":"ready"} on stdout and serves until SIGTERM/SIGINT/SIGHUP.\n\n' +
        "With --precheck: only checks the options and the source as setup does first (files readable, descriptors parseable where that is cheap) and exits, 0 or 1 with the error, having started no server and written nothing into WORKDIR." +
        (definition.precheckHelp === undefined ? "" : ` ${definition.precheckHelp}`),
      options,
      positionals: { min: 1, missing: "WORKDIR is required" },
      async main({ options: parsed, positionals: [workdir, ...args] }, helper) {
        const serving: InputServing = {
          workdir: workdir!,
          overlay: true,
          verbose: parsed.verbose,
          log: (line) => helper.log.debug(line),
        };
        const request: InputStageRequest<O> = {
          ...serving,
          args,
          options: parsed as unknown as HelperArguments<O>,
          stage: parsed.precheck ? "precheck" : "setup",
          serving,
        };
        const checked = await definition.precheck(request, helper);
        if (request.stage === "precheck") return;
        const { sockets } = await definition.setup(checked, request, helper);
        await helper.serveUntilStopped(sockets);
      },
    },
    argv,
  );
}

/**
 * The -o… options as an output helper receives them (outputOptionArgs gives each one the user
 * gave), for its yargs options; a mode rewords a description by overriding that entry. The
 * helper's precheck refuses those its mode cannot use, as virt-v2v does.
 */
export const OUTPUT_REQUEST_OPTIONS = {
  os: { type: "string", describe: "Output storage (-os)" },
  of: { type: "string", describe: "Output format: raw (default) or qcow2" },
  oa: { type: "string", describe: "Output allocation: sparse (default) or preallocated" },
  on: { type: "string", describe: "Name of the guest on the target (default: the source name)" },
  oc: { type: "string", describe: "Output connection (-oc)" },
  op: { type: "string", describe: "Output password file (-op)" },
  oo: {
    type: "string",
    array: true,
    default: [] as string[],
    describe: "Output option KEY[=VALUE] (-oo)",
  },
} as const;

/** The OutputRequest that an output helper's -o… options carry (the inverse of outputOptionArgs). */
export function outputRequestOf(
  mode: string,
  options: InferredOptionTypes<typeof OUTPUT_REQUEST_OPTIONS>,
): OutputRequest {
  return {
    mode,
    storage: options.os,
    format: options.of,
    allocation: options.oa,
    name: options.on,
    connection: options.oc,
    password: options.op,
    options: options.oo,
  };
}

export type OutputStage = OutputModeDescriptor["stages"][number];

/**
 * What an output helper's stage functions get: a StageRequest and the stage that runs, so that a
 * precheck (which runs before every stage) can tell the precheck stage, where it may look at the
 * target further, from setup and final.
 */
export interface OutputStageRequest<O extends OptionSpecs> extends StageRequest<O> {
  stage: OutputStage;
}

export interface OutputHelperDefinition<O extends OptionSpecs, C> {
  mode: OutputModeDescriptor;
  /** What follows `STAGE WORKDIR` in the usage line; "[options]" when absent. */
  optionsSynopsis?: string;
  /** What the helper writes, for --help. */
  help: string;
  options: O;
  /** Validates the options (and the target where it can); runs before every stage. */
  precheck(request: OutputStageRequest<O>, helper: HelperContext): Promise<C> | C;
  /** Creates the target disks and serves them; returns the sockets to serve until stopped. */
  setup(checked: C, request: OutputStageRequest<O>, helper: HelperContext): Promise<string[]>;
  /** Finishes the target once the copy is done. */
  final(checked: C, request: OutputStageRequest<O>, helper: HelperContext): Promise<void>;
}

export function defineOutputHelper<const O extends OptionSpecs, C>(
  definition: OutputHelperDefinition<O, C>,
  argv: string[] = hideBin(process.argv),
): void {
  const stages = definition.mode.stages;
  defineHelper(
    {
      program: definition.mode.program,
      facts: modeFacts(definition.mode),
      synopsis: [stages.join("|"), "WORKDIR", definition.optionsSynopsis ?? "[options]"]
        .filter((word) => word !== "")
        .join(" "),
      help:
        `${definition.help}\n\n` +
        "precheck: checks the options (and the target where it can), then exits. " +
        'setup: serves the target disks on WORKDIR/out0, out1, …, prints {"event":"ready"} on stdout and serves until SIGTERM/SIGINT/SIGHUP. ' +
        "final: finishes the target once the copy is done. Every stage checks the options first.",
      options: definition.options,
      positionals: {
        min: 2,
        missing: `the stage (${stages.slice(0, -1).join(", ")} or ${stages.at(-1)}) and WORKDIR are required`,
      },
      async main({ options, positionals: [stage, workdir] }, helper) {
        if (!(stages as readonly string[]).includes(stage!)) {
          throw new UserError(
            `unknown stage '${stage}': expected ${stages.slice(0, -1).join(", ")} or ${stages.at(-1)}`,
          );
        }
        const request: OutputStageRequest<O> = {
          workdir: workdir!,
          options,
          verbose: options.verbose,
          log: (line) => helper.log.debug(line),
          stage: stage as OutputStage,
        };
        const checked = await definition.precheck(request, helper);
        switch (stage as OutputStage) {
          case "precheck":
            return;
          case "setup":
            await helper.serveUntilStopped(await definition.setup(checked, request, helper));
            return;
          case "final":
            await definition.final(checked, request, helper);
            return;
        }
      },
    },
    argv,
  );
}
