/**
 * Logs. The supervisor keeps one log file per stage (winston, file transport) in the work dir's
 * logs/ folder; helpers log to stderr, which the supervisor captures into that stage's file.
 */
import winston from "winston";

const lineFormat = winston.format.printf(
  ({ timestamp, level, message }) => `${String(timestamp)} ${level}: ${String(message)}`,
);

/** A logger writing to `file` (and nowhere else). */
export function createFileLogger(file: string, level = "debug"): winston.Logger {
  return winston.createLogger({
    level,
    format: winston.format.combine(winston.format.timestamp(), lineFormat),
    transports: [new winston.transports.File({ filename: file })],
  });
}

/** A helper's logger: every line on stderr, prefixed with the program name. */
export function createStderrLogger(program: string, verbose: boolean): winston.Logger {
  return winston.createLogger({
    level: verbose ? "debug" : "info",
    format: winston.format.printf(
      ({ level, message }) =>
        `${program}: ${level === "info" ? "" : `${level}: `}${String(message)}`,
    ),
    transports: [
      new winston.transports.Console({
        stderrLevels: ["error", "warn", "info", "http", "verbose", "debug", "silly"],
      }),
    ],
  });
}

/** Resolves once everything given to `logger` has reached its files. */
export function closeLogger(logger: winston.Logger): Promise<void> {
  return new Promise((resolve) => {
    logger.on("finish", () => resolve());
    logger.end();
  });
}

export type { Logger } from "winston";
