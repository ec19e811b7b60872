/**
 * The pipeline (see the design's "stages") as named steps, composed per program: virt-v2v runs
 * input → precheck → convert → setup → copy → final, --print-source runs input → print-source.
 * Everything that can fail runs before the copy; the copy is last because it is long. Clean-up
 * (helpers stopped, work dir removed, logs kept on failure) is registered as the steps go.
 */
import { cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import {
  UserError,
  WORKDIR_MODE,
  logsDir,
  markerPath,
  metadataInPath,
  onCleanup,
} from "@split-v2v/common";
import { readMetadata } from "@split-v2v/metadata-schema";
import { copyDisks } from "./copy.js";
import { startHelper, type HelperRun } from "./helpers.js";
import {
  helperScript,
  inputHelperArgs,
  isKnownOutputMode,
  selectInputMode,
  selectOutputMode,
} from "./modes.js";
import type {
  InputModeDescriptor,
  InputRequest,
  OutputModeDescriptor,
  OutputRequest,
} from "@split-v2v/common";
import { gatherKeys, type KeySelector } from "./keys.js";
import { printSourceText } from "./print-source.js";
import type { Reporter } from "./reporter.js";

export interface RunOptions {
  input: InputRequest;
  output: OutputRequest;
  printSource: boolean;
  verbose: boolean;
  trace: boolean;
  root: string | undefined;
  networks: string[];
  bridges: string[];
  macs: string[];
  /** --key selectors and --keys-from-stdin: keys for encrypted devices. */
  keySelectors: KeySelector[];
  keysFromStdin: boolean;
  /** --echo-keys: passphrases typed at the terminal prompt are shown. */
  echoKeys: boolean;
  parallel: number;
}

/** Where the work dir goes: $TMPDIR, else /tmp (as virt-v2v). */
export function temporaryBase(): string {
  return process.env.TMPDIR ?? "/tmp";
}

export interface RunState {
  workdir: string | null;
  succeeded: boolean;
  /** Set once the logs of a failed run were saved. */
  keptLogs: string | null;
}

/**
 * Creates the work dir and registers its removal. On failure the per-stage logs are first moved
 * out to a kept folder, whose path the caller prints.
 */
async function createWorkdir(state: RunState): Promise<string> {
  const workdir = await mkdtemp(path.join(temporaryBase(), "v2v."));
  state.workdir = workdir;
  onCleanup("work dir", async () => {
    if (!state.succeeded) {
      const kept = await mkdtemp(path.join(temporaryBase(), "virt-v2v-logs."));
      await cp(logsDir(workdir), kept, { recursive: true }).catch(() => {});
      state.keptLogs = kept;
    }
    await rm(workdir, { recursive: true, force: true });
  });
  await mkdir(logsDir(workdir), { mode: WORKDIR_MODE });
  return workdir;
}

/** What the steps of one run share: the checked request, the work dir, the running helpers. */
export interface RunContext {
  readonly options: RunOptions;
  readonly reporter: Reporter;
  readonly state: RunState;
  readonly workdir: string;
  readonly input: { mode: InputModeDescriptor; args: string[] };
  /** Null for --print-source, which never reaches the output. */
  readonly output: { mode: OutputModeDescriptor; args: string[]; script: string } | null;
  /** Keys for encrypted devices, passed to the convert helper on its stdin. */
  readonly keys: unknown;
  /** Starts a helper whose log is WORKDIR/logs/STAGE.log; it is stopped at clean-up. */
  start(
    stage: string,
    script: string,
    args: string[],
    interactive?: boolean,
    input?: string,
  ): HelperRun;
}

/** One named step of a program's pipeline. */
export interface RunStep {
  readonly name: string;
  run(context: RunContext): Promise<void>;
}

function outputOf(context: RunContext): NonNullable<RunContext["output"]> {
  if (context.output === null) throw new Error("this step needs an output mode");
  return context.output;
}

/** Starts a serving helper and waits for its ready event (or its failure). */
async function startServing(
  context: RunContext,
  stage: string,
  script: string,
  args: string[],
): Promise<void> {
  const helper = context.start(stage, script, args);
  await Promise.race([helper.ready, helper.finished]);
  await helper.ready;
}

/** input: the input helper serves the source's disks and writes metadata.in. */
export const inputStep: RunStep = {
  name: "input",
  async run(context) {
    const { mode, args } = context.input;
    context.reporter.message(`Setting up the source: ${mode.description(context.options.input)}`);
    await startServing(context, "1-input", helperScript(mode.helperPackage), [
      context.workdir,
      ...args,
    ]);
  },
};

/** print-source: the source as metadata.in describes it, in virt-v2v's words. */
export const printSourceStep: RunStep = {
  name: "print-source",
  async run(context) {
    const metadata = await readMetadata("metadata.in", metadataInPath(context.workdir));
    process.stdout.write(printSourceText(metadata.source));
  },
};

/** precheck: the output checks its options and its target before anything is converted. */
export const precheckStep: RunStep = {
  name: "precheck",
  async run(context) {
    const output = outputOf(context);
    await context.start("2-output-precheck", output.script, [
      "precheck",
      context.workdir,
      ...output.args,
    ]).finished;
  },
};

/** convert: helper-v2v-convert inspects and converts the guest in the overlays. */
export const convertStep: RunStep = {
  name: "convert",
  async run(context) {
    const { options } = context;
    const args = [context.workdir];
    if (options.root !== undefined) args.push("--root", options.root);
    for (const network of options.networks) args.push("--network", network);
    for (const bridge of options.bridges) args.push("--bridge", bridge);
    for (const mac of options.macs) args.push("--mac", mac);
    if (options.trace) args.push("--trace");
    if (context.keys !== null) args.push("--keys-from-stdin");
    if (options.echoKeys) args.push("--echo-keys");
    if (outputOf(context).mode.keepSerialConsole === false) args.push("--remove-serial-console");
    await context.start(
      "3-convert",
      helperScript("@split-v2v/helper-convert"),
      args,
      true,
      context.keys === null ? undefined : JSON.stringify(context.keys),
    ).finished;
  },
};

/** setup: the output creates its disks and serves them on WORKDIR/outN. */
export const setupStep: RunStep = {
  name: "setup",
  async run(context) {
    const output = outputOf(context);
    context.reporter.message(
      `Setting up the destination: ${output.mode.description(context.options.output)}`,
    );
    await startServing(context, "4-output-setup", output.script, [
      "setup",
      context.workdir,
      ...output.args,
    ]);
  },
};

/** copy: nbdcopy from each inN to outN, only what the converted guest uses. */
export const copyStep: RunStep = {
  name: "copy",
  async run(context) {
    const { workdir, options, reporter } = context;
    const output = outputOf(context);
    const metadataIn = await readMetadata("metadata.in", metadataInPath(workdir));
    await writeFile(markerPath(workdir, "copy"), "");
    const copying = new Set<() => void>();
    onCleanup("copy processes", () => copying.forEach((stop) => stop()));
    await copyDisks({
      workdir,
      diskIds: metadataIn.source.disks.map((disk) => disk.id),
      parallel: options.parallel,
      preallocated: options.output.allocation === "preallocated",
      targetIsZero: output.mode.targetIsZero,
      requestSize: output.mode.requestSize ?? null,
      logFile: path.join(logsDir(workdir), "5-copy.log"),
      reporter,
      onProcess: (stop) => {
        copying.add(stop);
        return () => copying.delete(stop);
      },
    });
    await rm(markerPath(workdir, "copy"), { force: true });
  },
};

/** final: the output writes the target's metadata; then the run is marked done. */
export const finalStep: RunStep = {
  name: "final",
  async run(context) {
    const output = outputOf(context);
    context.reporter.message("Creating output metadata");
    await context.start("6-output-final", output.script, ["final", context.workdir, ...output.args])
      .finished;
    context.reporter.message("Finishing off");
    // Output helpers read this marker when they stop: with it, they keep what they wrote.
    await writeFile(markerPath(context.workdir, "done"), "");
  },
};

/** virt-v2v: everything that can fail runs before the copy, which is last because it is long. */
export const CONVERSION_STEPS: readonly RunStep[] = [
  inputStep,
  precheckStep,
  convertStep,
  setupStep,
  copyStep,
  finalStep,
];

/** virt-v2v --print-source: the source only. */
export const PRINT_SOURCE_STEPS: readonly RunStep[] = [inputStep, printSourceStep];

export async function runConversion(
  options: RunOptions,
  reporter: Reporter,
  state: RunState,
): Promise<void> {
  // Modes and their options are checked before anything is set up (virt-v2v's order), except
  // that --print-source never reaches the output: like virt-v2v, it only needs -o to be a mode
  // that exists (the default -o libvirt included).
  const inputMode = selectInputMode(options.input);
  if (options.printSource && !isKnownOutputMode(options.output.mode)) {
    throw new UserError(`unknown -o option: ${options.output.mode}`);
  }
  const outputMode = options.printSource ? null : selectOutputMode(options.output.mode);
  const inputArgs = inputHelperArgs(inputMode, options.input);
  const outputArgs = outputMode === null ? [] : outputMode.helperArgs(options.output);

  // Key files and stdin are read now: a missing key file fails before anything starts.
  const keys = options.printSource
    ? null
    : await gatherKeys(options.keySelectors, options.keysFromStdin);

  const workdir = await createWorkdir(state);
  const running: HelperRun[] = [];
  onCleanup("helpers", async () => {
    // Output first, so its servers are gone before the input's.
    for (const helper of [...running].reverse()) await helper.stop();
  });
  const context: RunContext = {
    options,
    reporter,
    state,
    workdir,
    input: { mode: inputMode, args: inputArgs },
    output:
      outputMode === null
        ? null
        : { mode: outputMode, args: outputArgs, script: helperScript(outputMode.helperPackage) },
    keys,
    start(stage, script, args, interactive = false, input) {
      const helper = startHelper({
        stage,
        script,
        args,
        logFile: path.join(logsDir(workdir), `${stage}.log`),
        verbose: options.verbose,
        reporter,
        interactive,
        ...(input === undefined ? {} : { input }),
      });
      running.push(helper);
      return helper;
    },
  };
  for (const step of options.printSource ? PRINT_SOURCE_STEPS : CONVERSION_STEPS) {
    await step.run(context);
  }
  state.succeeded = true;
}

export function defaultParallelism(): number {
  return Math.max(1, Math.min(4, os.availableParallelism()));
}
