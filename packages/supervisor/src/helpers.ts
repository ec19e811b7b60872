/**
 * Running one helper as one stage: its events (stdout) become the user's messages, its log
 * (stderr) goes into the stage's log file, and its exit status decides the stage.
 */
import readline from "node:readline";
import { execa, type ResultPromise } from "execa";
import { createFileLogger, closeLogger, parseHelperEvent, type Logger } from "@split-v2v/common";
import type { Reporter } from "./reporter.js";

/** A stage failed; `text` is the helper's own error line. */
export class StageFailure extends Error {
  override readonly name = "StageFailure";
  constructor(
    readonly stage: string,
    readonly text: string,
    readonly bug: boolean,
  ) {
    super(text);
  }
}

export interface HelperRun {
  readonly stage: string;
  /** Resolves with the socket names once a serving helper says it is ready. */
  readonly ready: Promise<string[]>;
  /** Resolves when the helper exits 0; rejects with StageFailure otherwise. */
  readonly finished: Promise<void>;
  /** Asks a serving helper to stop (SIGTERM) and waits for it to clean up and exit. */
  stop(): Promise<void>;
}

export interface HelperLaunch {
  stage: string;
  script: string;
  args: string[];
  logFile: string;
  verbose: boolean;
  reporter: Reporter;
  /** The helper may ask the user a question on the terminal (helper-v2v-convert --root ask). */
  interactive?: boolean;
  /** Written to the helper's stdin (secrets: never on its command line, never logged). */
  input?: string;
  env?: Record<string, string>;
}

export function startHelper(launch: HelperLaunch): HelperRun {
  const logger: Logger = createFileLogger(launch.logFile);
  // Our flags go first: the helper's own arguments may end with "--" and file names.
  const argv = [
    launch.script,
    "--exit-with-parent",
    ...(launch.verbose ? ["--verbose"] : []),
    ...launch.args,
  ];
  logger.info(`running: ${process.execPath} ${argv.join(" ")}`);
  const child: ResultPromise = execa(process.execPath, argv, {
    ...(launch.input !== undefined
      ? { input: launch.input }
      : { stdin: launch.interactive && process.stdin.isTTY ? "inherit" : "ignore" }),
    stdout: "pipe",
    stderr: "pipe",
    buffer: false,
    reject: false,
    env: launch.env,
  });

  let errorEvent: { text: string; bug: boolean } | null = null;
  let lastStderr = "";
  let markReady: (sockets: string[]) => void = () => {};
  let failReady: (err: Error) => void = () => {};
  const ready = new Promise<string[]>((resolve, reject) => {
    markReady = resolve;
    failReady = reject;
  });
  // Nobody waits on `ready` for helpers that do not serve: keep its rejection from being unhandled.
  ready.catch(() => {});

  readline.createInterface({ input: child.stdout!, crlfDelay: Infinity }).on("line", (line) => {
    const event = parseHelperEvent(line);
    if (event === null) {
      logger.warn(`unexpected output: ${line}`);
      return;
    }
    switch (event.event) {
      case "message":
        launch.reporter.message(event.text);
        break;
      case "info":
        launch.reporter.info(event.text);
        break;
      case "warning":
        launch.reporter.warning(event.text);
        break;
      case "error":
        errorEvent = { text: event.text, bug: event.bug ?? false };
        break;
      case "ready":
        logger.info(`ready: ${event.sockets.join(" ")}`);
        markReady(event.sockets);
        break;
    }
  });
  readline.createInterface({ input: child.stderr!, crlfDelay: Infinity }).on("line", (line) => {
    logger.info(line);
    if (line.trim() !== "") lastStderr = line;
    if (launch.verbose) process.stderr.write(`${line}\n`);
  });

  let stopping = false;
  const finished = child.then(async (result) => {
    logger.info(`exited: ${result.exitCode ?? result.signal ?? "unknown"}`);
    await closeLogger(logger);
    if (result.exitCode === 0 || (stopping && result.signal === "SIGTERM")) {
      failReady(new StageFailure(launch.stage, `${launch.stage} exited before it was ready`, true));
      return;
    }
    const failure = errorEvent
      ? new StageFailure(launch.stage, errorEvent.text, errorEvent.bug)
      : new StageFailure(
          launch.stage,
          `${launch.stage} failed (${result.signal ?? `exit status ${result.exitCode}`})${lastStderr ? `: ${lastStderr}` : ""}`,
          true,
        );
    failReady(failure);
    throw failure;
  });
  finished.catch(() => {});

  return {
    stage: launch.stage,
    ready,
    finished,
    async stop() {
      stopping = true;
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const killer = setTimeout(() => child.kill("SIGKILL"), 30000);
        await finished.catch(() => {});
        clearTimeout(killer);
      }
    },
  };
}
