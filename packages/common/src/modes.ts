/**
 * Mode descriptors: how an input or output helper package describes the virt-v2v modes it
 * serves. The supervisor's selector is a table of these (virt-v2v's select_input and
 * select_output), and everything a user sees about modes (--help, the --machine-readable
 * capability lines, "-io ?" and "-oo ?", the refusals naming the modes that exist) is derived
 * from them. A helper prints the data part of its descriptor as JSON with --describe, so that a
 * supervisor that is not ours can find out what it does without reading our code.
 *
 * Adding a mode: a package that exports a descriptor from src/mode.ts (and its face,
 * src/index.ts), a src/cli.ts that gives defineInputHelper or defineOutputHelper (helper-kit.ts)
 * its options and stage functions (an input plans its disks for serveInputDisks and describes
 * its guest with buildMetadataIn), plus one entry in the supervisor's table.
 */
import { UserError } from "./errors.js";

/** The version of the helper contract (work dir, metadata, events, command lines). */
export const HELPER_CONTRACT_VERSION = 1;

/** One -io or -oo option of a mode, as `-io ?` / `-oo ?` list it. */
export interface ModeOptionSpec {
  /** The option as typed: "vddk-thumbprint" (-io vddk-thumbprint=…) or "compressed". */
  name: string;
  /** What the value is ("FINGERPRINT"), or null for an option without a value. */
  value: string | null;
  help: string;
}

/** The facts a mode descriptor holds, without its functions: what --describe prints. */
export interface ModeFacts {
  kind: "input" | "output";
  /** The name -i / -o takes, and the other names virt-v2v accepts for it. */
  name: string;
  aliases: readonly string[];
  /** The helper program's name, as on PATH. */
  program: string;
  /** One line for --help: what the mode reads or writes. */
  summary: string;
  /** The command line of the mode, as virt-v2v's manual writes it. */
  usage: string;
  /** -io / -oo options. */
  options: readonly ModeOptionSpec[];
  /**
   * What `-io ?` / `-oo ?` print, where virt-v2v words it its own way (-it vddk's list, with its
   * long option names and closing advice); absent: the list made from `options`.
   */
  optionsHelp?: string;
  /** Lines this mode adds to `virt-v2v --machine-readable` ("input:disk"). */
  capabilities: readonly string[];
}

/** What the user asked of the input side, as the supervisor parsed it. */
export interface InputRequest {
  mode: string;
  args: string[];
  inputFormat: string | undefined;
  inputConnection: string | undefined;
  inputTransport: string | undefined;
  inputPassword: string | undefined;
  inputOptions: string[];
  /** --bandwidth and --bandwidth-file: a limit on the input's network transfer. */
  bandwidth: string | undefined;
  bandwidthFile: string | undefined;
}

export interface InputModeFacts extends ModeFacts {
  kind: "input";
  /** The -it transports this mode takes (none: -it is refused). */
  transports: readonly string[];
  /**
   * The -ic schemes ("vpx", "xen+ssh") that choose this mode among those of the same -i name,
   * as virt-v2v's select_input does for -i libvirt. Absent or empty: the mode for any other -ic.
   */
  connectionSchemes?: readonly string[];
  /** Whether --bandwidth applies (it limits a network transport). */
  bandwidth: boolean;
}

export interface InputModeDescriptor extends InputModeFacts {
  /** The npm package whose "bin" is the helper program. */
  helperPackage: string;
  /**
   * Checks every option of the request (a UserError names the first one that is wrong) and
   * returns the helper's arguments after WORKDIR. Runs before anything starts.
   */
  helperArgs(request: InputRequest): string[];
  /** The text after "Setting up the source: ". */
  description(request: InputRequest): string;
}

/** What the user asked of the output side. */
export interface OutputRequest {
  mode: string;
  storage: string | undefined;
  format: string | undefined;
  allocation: string | undefined;
  name: string | undefined;
  connection: string | undefined;
  password: string | undefined;
  options: string[];
}

export interface OutputModeFacts extends ModeFacts {
  kind: "output";
  /** The stages the helper runs as subcommands, in order. */
  stages: readonly ["precheck", "setup", "final"];
  /** The output creates fresh zeroed disks, so the copy may skip writing zeroes. */
  targetIsZero: boolean;
  /**
   * The size of each copy request the target wants (virt-v2v's Output.request_size: nbdcopy
   * --request-size), in bytes; absent or null for nbdcopy's default.
   */
  requestSize?: number | null;
  /**
   * Whether the converted guest keeps its serial console (absent: true). virt-v2v 2.2 removes it
   * for -o rhv and -o vdsm, whose targets have no serial port.
   */
  keepSerialConsole?: boolean;
}

export interface OutputModeDescriptor extends OutputModeFacts {
  helperPackage: string;
  /** Checks the request and returns the helper's arguments after STAGE WORKDIR. */
  helperArgs(request: OutputRequest): string[];
  /** The text after "Setting up the destination: ". */
  description(request: OutputRequest): string;
}

/**
 * The -o… options of a request as an output helper's arguments, each given only when the user
 * gave it (every helper reads the ones its mode uses, and refuses the ones it cannot use).
 */
export function outputOptionArgs(request: OutputRequest): string[] {
  const args: string[] = [];
  const add = (flag: string, value: string | undefined) => {
    if (value !== undefined) args.push(flag, value);
  };
  add("-os", request.storage);
  add("-of", request.format);
  add("-oa", request.allocation);
  add("-on", request.name);
  add("-oc", request.connection);
  add("-op", request.password);
  for (const option of request.options) args.push("-oo", option);
  return args;
}

export type ModeDescriptor = InputModeDescriptor | OutputModeDescriptor;

/** The JSON facts of a descriptor (its functions and package left out), for --describe. */
export function modeFacts(descriptor: ModeDescriptor): Record<string, unknown> {
  const facts: Record<string, unknown> = { contract: HELPER_CONTRACT_VERSION };
  // The optional facts are spelled out with their defaults, so that a reader need not know them.
  const defaults: Record<string, unknown> =
    descriptor.kind === "input"
      ? { connectionSchemes: [] }
      : { requestSize: null, keepSerialConsole: true };
  for (const [key, value] of Object.entries({ ...defaults, ...descriptor })) {
    if (typeof value !== "function" && key !== "helperPackage" && value !== undefined)
      facts[key] = value;
  }
  return facts;
}

/** The -ic scheme ("vpx" of vpx://…, "xen+ssh"), or null for no -ic or one without a scheme. */
export function connectionScheme(connection: string | undefined): string | null {
  if (connection === undefined) return null;
  const match = /^([a-z][a-z0-9+.-]*):/i.exec(connection);
  return match === null ? null : match[1]!.toLowerCase();
}

/**
 * virt-v2v's select_input: among the input modes named by -i, those tied to -ic's scheme, else
 * those that name no scheme; among these, the one whose -it transports include the one given,
 * else one without transports. A mode tied to schemes serves only them, and when it names
 * transports only with one of them (vpx:// with -it vddk is input_vddk, without -it vCenter over
 * https), so that one -i name can be served for some -ic/-it and not (yet) for others. Null when
 * no mode serves the request.
 */
export function selectInputDescriptor<T extends InputModeFacts>(
  modes: readonly T[],
  request: Pick<InputRequest, "mode" | "inputConnection" | "inputTransport">,
): T | null {
  const named = modes.filter(
    (mode) => mode.name === request.mode || mode.aliases.includes(request.mode),
  );
  const scheme = connectionScheme(request.inputConnection);
  const transport = request.inputTransport;
  const bySchemes = named.filter(
    (mode) =>
      scheme !== null &&
      (mode.connectionSchemes ?? []).includes(scheme) &&
      (mode.transports.length === 0 ||
        (transport !== undefined && mode.transports.includes(transport))),
  );
  const candidates =
    bySchemes.length > 0
      ? bySchemes
      : named.filter((mode) => (mode.connectionSchemes ?? []).length === 0);
  return (
    candidates.find((mode) => transport !== undefined && mode.transports.includes(transport)) ??
    candidates.find((mode) => mode.transports.length === 0) ??
    candidates[0] ??
    null
  );
}

/**
 * `-io ?` / `-oo ?`: the mode's options, in virt-v2v 2.2's words ("Output options that can be
 * used with -o disk:", or "No output options can be used in this mode.").
 */
export function optionsHelpText(descriptor: ModeFacts): string {
  if (descriptor.optionsHelp !== undefined) return descriptor.optionsHelp;
  const flag = descriptor.kind === "input" ? "-io" : "-oo";
  if (descriptor.options.length === 0) {
    return `No ${descriptor.kind} options can be used in this mode.\n`;
  }
  const title = descriptor.kind === "input" ? "Input" : "Output";
  const lines = [
    `${title} options that can be used with -${flag[1]} ${descriptor.name}:`,
    "",
    ...descriptor.options.map((option) => {
      const left = `  ${flag} ${option.name}${option.value === null ? "" : `=${option.value}`}`;
      return `${left.padEnd(22)}${option.help}`;
    }),
  ];
  return `${lines.join("\n")}\n`;
}

/**
 * Splits -io / -oo values into KEY=VALUE pairs and refuses any the mode does not know, naming
 * the mode's options (virt-v2v: "-oo: unknown option"). Options without a value map to "".
 */
export function parseModeOptions(
  descriptor: ModeFacts,
  values: readonly string[],
): Map<string, string> {
  const flag = descriptor.kind === "input" ? "-io" : "-oo";
  const known = new Map(descriptor.options.map((option) => [option.name, option]));
  const parsed = new Map<string, string>();
  for (const value of values) {
    const separator = value.indexOf("=");
    const key = separator < 0 ? value : value.slice(0, separator);
    const spec = known.get(key);
    if (spec === undefined) {
      throw new UserError(
        descriptor.options.length === 0
          ? `no ${flag} (${descriptor.kind} options) are allowed here`
          : `${flag} ${key}: unknown option for -${descriptor.kind === "input" ? "i" : "o"} ${descriptor.name}; use ‘${flag} ?’ to list them`,
      );
    }
    if (spec.value !== null && separator < 0) {
      throw new UserError(`${flag} ${key}: this option needs a value (${key}=${spec.value})`);
    }
    parsed.set(key, separator < 0 ? "" : value.slice(separator + 1));
  }
  return parsed;
}

/**
 * `helper-v2v-… --describe`: prints the helper's facts as one JSON document and exits 0, before
 * its usual command line (which needs a WORKDIR) is parsed. Call first thing in a helper's cli.
 */
export function answerDescribe(facts: Record<string, unknown>, argv = process.argv.slice(2)): void {
  if (!argv.includes("--describe")) return;
  process.stdout.write(`${JSON.stringify(facts, null, 2)}\n`);
  process.exit(0);
}
