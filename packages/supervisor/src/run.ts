/**
 * The pipeline (see the design's "stages"): input helper → convert helper → output setup →
 * copy → output final → clean-up. Everything that can fail runs before the copy; the copy is
 * last because it is long.
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
import type { InputRequest, OutputRequest } from "@split-v2v/common";
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

export async function runConversion(
  options: RunOptions,
  reporter: Reporter,
  state: RunState,
): Promise<void> {
  // Modes and their options are checked before anything is set up (virt-v2v's order), except
  // that --print-source never reaches the output: like virt-v2v, it only needs -o to be a mode
  // that exists (the default -o libvirt included).
  const inputMode = selectInputMode(options.input.mode);
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
  const log = (stage: string) => path.join(logsDir(workdir), `${stage}.log`);
  const running: HelperRun[] = [];
  onCleanup("helpers", async () => {
    // Output first, so its servers are gone before the input's.
    for (const helper of [...running].reverse()) await helper.stop();
  });
  const start = (
    stage: string,
    script: string,
    args: string[],
    interactive = false,
    input?: string,
  ) => {
    const helper = startHelper({
      stage,
      script,
      args,
      logFile: log(stage),
      verbose: options.verbose,
      reporter,
      interactive,
      ...(input === undefined ? {} : { input }),
    });
    running.push(helper);
    return helper;
  };

  reporter.message(`Setting up the source: ${inputMode.description(options.input)}`);
  const input = start("1-input", helperScript(inputMode.helperPackage), [workdir, ...inputArgs]);
  await Promise.race([input.ready, input.finished]);
  await input.ready;

  if (options.printSource) {
    const metadata = await readMetadata("metadata.in", metadataInPath(workdir));
    process.stdout.write(printSourceText(metadata.source));
    state.succeeded = true;
    return;
  }

  if (outputMode === null) throw new Error("no output mode outside --print-source");
  const outputScript = helperScript(outputMode.helperPackage);
  await start("2-output-precheck", outputScript, ["precheck", workdir, ...outputArgs]).finished;

  const convertArgs = [workdir];
  if (options.root !== undefined) convertArgs.push("--root", options.root);
  for (const network of options.networks) convertArgs.push("--network", network);
  for (const bridge of options.bridges) convertArgs.push("--bridge", bridge);
  for (const mac of options.macs) convertArgs.push("--mac", mac);
  if (options.trace) convertArgs.push("--trace");
  if (keys !== null) convertArgs.push("--keys-from-stdin");
  if (options.echoKeys) convertArgs.push("--echo-keys");
  await start(
    "3-convert",
    helperScript("@split-v2v/helper-convert"),
    convertArgs,
    true,
    keys === null ? undefined : JSON.stringify(keys),
  ).finished;

  reporter.message(`Setting up the destination: ${outputMode.description(options.output)}`);
  const setup = start("4-output-setup", outputScript, ["setup", workdir, ...outputArgs]);
  await Promise.race([setup.ready, setup.finished]);
  await setup.ready;

  const metadataIn = await readMetadata("metadata.in", metadataInPath(workdir));
  await writeFile(markerPath(workdir, "copy"), "");
  const copying = new Set<() => void>();
  onCleanup("copy processes", () => copying.forEach((stop) => stop()));
  await copyDisks({
    workdir,
    diskIds: metadataIn.source.disks.map((disk) => disk.id),
    parallel: options.parallel,
    preallocated: options.output.allocation === "preallocated",
    targetIsZero: outputMode.targetIsZero,
    logFile: log("5-copy"),
    reporter,
    onProcess: (stop) => {
      copying.add(stop);
      return () => copying.delete(stop);
    },
  });
  await rm(markerPath(workdir, "copy"), { force: true });

  reporter.message("Creating output metadata");
  await start("6-output-final", outputScript, ["final", workdir, ...outputArgs]).finished;

  reporter.message("Finishing off");
  // Output helpers read this marker when they stop: with it, they keep what they wrote.
  await writeFile(markerPath(workdir, "done"), "");
  state.succeeded = true;
}

export function defaultParallelism(): number {
  return Math.max(1, Math.min(4, os.availableParallelism()));
}
