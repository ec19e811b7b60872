/**
 * The frame every helper executable runs in: event output on stdout, log on stderr, one clear
 * `error:` line and exit 1 on failure, cleanup on every path (success, error, signal, parent death).
 */
import type winston from "winston";
import { UserError, errorMessage } from "./errors.js";
import { formatHelperEvent, type HelperEvent } from "./events.js";
import {
  exitStatusForSignal,
  exitWithParent,
  onStopSignal,
  runCleanup,
  type StopSignal,
} from "./lifetime.js";
import { createStderrLogger } from "./log.js";

export interface HelperContext {
  readonly program: string;
  readonly log: winston.Logger;
  emit(event: HelperEvent): void;
  message(text: string): void;
  info(text: string): void;
  warning(text: string): void;
  /**
   * For helpers that leave servers running: announce readiness, then resolve when asked to stop
   * (SIGINT/SIGTERM/SIGHUP, or the parent's death with --exit-with-parent). Cleanup runs after.
   */
  serveUntilStopped(sockets: string[]): Promise<StopSignal>;
}

export interface HelperOptions {
  verbose: boolean;
  /** Stop (SIGTERM) when the parent process dies: set by the supervisor. */
  exitWithParent: boolean;
}

/** Runs a helper's `main` in the standard frame and exits the process when it is done. */
export function runHelper(
  program: string,
  options: HelperOptions,
  main: (context: HelperContext) => Promise<void>,
): void {
  const log = createStderrLogger(program, options.verbose);
  const emit = (event: HelperEvent) => {
    process.stdout.write(formatHelperEvent(event) + "\n");
  };
  // A reader that went away (the supervisor died) must not crash the cleanup with EPIPE.
  process.stdout.on("error", () => {});

  let serving: ((signal: StopSignal) => void) | null = null;
  let finishing = false;
  const finish = async (status: number) => {
    if (finishing) return;
    finishing = true;
    await runCleanup((line) => log.warn(line));
    await new Promise<void>((resolve) => process.stdout.write("", () => resolve()));
    process.exit(status);
  };

  onStopSignal((signal) => {
    log.info(`received ${signal}, stopping`);
    if (serving) serving(signal);
    else void finish(exitStatusForSignal(signal));
  });

  if (options.exitWithParent && !exitWithParent()) {
    log.error("parent process is gone; exiting");
    void finish(1);
    return;
  }

  const context: HelperContext = {
    program,
    log,
    emit,
    message: (text) => {
      log.info(text);
      emit({ event: "message", text });
    },
    info: (text) => {
      log.info(text);
      emit({ event: "info", text });
    },
    warning: (text) => {
      log.warn(text);
      emit({ event: "warning", text });
    },
    serveUntilStopped: (sockets) =>
      new Promise<StopSignal>((resolve) => {
        serving = resolve;
        emit({ event: "ready", sockets });
      }),
  };

  main(context).then(
    () => finish(0),
    (err: unknown) => {
      const text = errorMessage(err);
      if (!(err instanceof UserError) && err instanceof Error && err.stack) log.debug(err.stack);
      process.stderr.write(`${program}: error: ${text}\n`);
      emit({ event: "error", text, bug: !(err instanceof UserError) });
      return finish(1);
    },
  );
}
