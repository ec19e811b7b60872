/**
 * The `openstack` command-line client, run as 2.2 runs it: the global options (-oo os-*,
 * --os-auth-url, --insecure) before every subcommand, the OS_* environment passed through,
 * `-f json` output parsed where a subcommand's answer is needed. The client's error messages
 * go to the helper's log line by line; a failure's last one is added to our error line.
 */
import { access, constants } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { UserError } from "@split-v2v/common";

/** The program's name, on $PATH. */
export const OPENSTACK_PROGRAM = "openstack";

export interface OpenstackResult {
  ok: boolean;
  /** The last line the client wrote on stderr ("" if none). */
  lastError: string;
  stdout: string;
}

export interface OpenstackClientOptions {
  /** The global options, put before every subcommand. */
  globalArgs: readonly string[];
  /** The helper's debug log. */
  log: (line: string) => void;
  /** Where the client's own messages (stderr) go, line by line. */
  report: (line: string) => void;
}

/** Whether `program` is an executable file in a $PATH directory (2.2's `which`). */
export async function programOnPath(program: string, env = process.env): Promise<boolean> {
  for (const directory of (env.PATH ?? "").split(":")) {
    if (directory === "") continue;
    try {
      await access(path.join(directory, program), constants.X_OK);
      return true;
    } catch {
      // not here
    }
  }
  return false;
}

/** Why a command that has no exit status did not run to its end (not found, killed…), in one line. */
function notRunReason(result: {
  code?: string;
  signal?: string;
  originalMessage?: string;
}): string {
  if (result.code === "ENOENT") return `${OPENSTACK_PROGRAM}: command not found`;
  if (result.signal !== undefined) return `${OPENSTACK_PROGRAM} was killed by ${result.signal}`;
  return result.originalMessage ?? `${OPENSTACK_PROGRAM} did not run`;
}

/** "…, see earlier error messages" with the client's last complaint, on one line. */
export function withClientError(message: string, result: OpenstackResult): string {
  return result.lastError === "" ? message : `${message}: ${result.lastError}`;
}

export class OpenstackClient {
  constructor(private readonly options: OpenstackClientOptions) {}

  /**
   * Runs `openstack GLOBAL… ARGS…`. Only ARGS are logged: the global options may carry a
   * password (-oo os-password=…). What the client prints on stdout is kept for the caller and
   * otherwise thrown away, as 2.2 does outside verbose mode (`token issue` prints a token).
   */
  async run(args: readonly string[]): Promise<OpenstackResult> {
    this.options.log(`openstack [...] ${args.join(" ")}`);
    const result = await execa(OPENSTACK_PROGRAM, [...this.options.globalArgs, ...args], {
      reject: false,
      stdin: "ignore",
      stripFinalNewline: false,
    });
    const stderrLines = String(result.stderr ?? "")
      .split("\n")
      .filter((line) => line.trim() !== "");
    for (const line of stderrLines) this.options.report(`openstack: ${line}`);
    if (result.failed && result.exitCode === undefined) stderrLines.push(notRunReason(result));
    return {
      ok: result.exitCode === 0,
      lastError: stderrLines.at(-1) ?? "",
      stdout: String(result.stdout ?? ""),
    };
  }

  /**
   * Runs a subcommand that was given `-f json` and parses its answer: null when the command
   * failed; a UserError when it printed something that is not JSON.
   */
  async runJson(args: readonly string[]): Promise<{ json: unknown; result: OpenstackResult }> {
    const result = await this.run(args);
    if (!result.ok) return { json: null, result };
    let json: unknown;
    try {
      json = JSON.parse(result.stdout);
    } catch (err) {
      throw new UserError(
        `openstack: the output of ‘openstack ${args.join(" ")}’ is not JSON: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    this.options.log(`openstack: JSON parsed as: ${JSON.stringify(json)}`);
    return { json, result };
  }
}

/** A string field of a JSON object the client printed (2.2's JSON_parser.object_get_string). */
export function jsonString(json: unknown, key: string, command: string): string {
  if (typeof json === "object" && json !== null && !Array.isArray(json)) {
    const value = (json as Record<string, unknown>)[key];
    if (typeof value === "string") return value;
  }
  throw new UserError(
    `openstack: the JSON output of ‘openstack ${command}’ has no string field "${key}"`,
  );
}
