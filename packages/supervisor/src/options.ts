/**
 * virt-v2v 2.2's command line. Option names, set-once rules and messages follow virt-v2v;
 * modes that split-v2v does not implement yet are refused by the selectors (modes.ts), naming them.
 */
import yargs from "yargs";
import { UserError, V2V_PARSER_CONFIGURATION, type ModeFacts } from "@split-v2v/common";
import { parseKeySelector } from "./keys.js";
import { INPUT_MODES, OUTPUT_MODES, availableModeNames } from "./modes.js";
import { defaultParallelism, type RunOptions } from "./run.js";

export type ParsedCommand =
  | { kind: "help" }
  | { kind: "version" }
  | { kind: "capabilities" }
  | { kind: "list-options"; long: boolean }
  /** -io ? / -oo ?: list the options of the selected mode (-ic and -it choose among -i libvirt's). */
  | {
      kind: "query-options";
      side: "input" | "output";
      mode: string;
      inputConnection?: string | undefined;
      inputTransport?: string | undefined;
    }
  | {
      kind: "run";
      run: RunOptions;
      quiet: boolean;
      machineReadable: string | undefined;
      warnings: string[];
    };

/** Options that take one value and may be given once. */
const SET_ONCE = [
  "i",
  "ic",
  "if",
  "ip",
  "it",
  "o",
  "oa",
  "oc",
  "of",
  "on",
  "op",
  "os",
  "root",
  "bandwidth",
  "bandwidth-file",
  "parallel",
] as const;

/** --vddk-X=V is virt-v2v's alias of -io vddk-X=V (for -it vddk). */
const VDDK_OPTIONS = [
  "vddk-config",
  "vddk-cookie",
  "vddk-libdir",
  "vddk-nfchostport",
  "vddk-port",
  "vddk-snapshot",
  "vddk-thumbprint",
  "vddk-transports",
] as const;

const STRING_OPTIONS = [
  ...SET_ONCE,
  "password-file",
  "machine-readable",
  "no-trim",
  "vmtype",
  "vdsm-compat",
  "vdsm-vm-uuid",
  "vdsm-ovf-output",
  "vdsm-ovf-flavour",
] as const;
const ARRAY_OPTIONS = [
  "io",
  // Repeatable as in virt-v2v, where each is one more -io: a repeated key is the mode's refusal.
  ...VDDK_OPTIONS,
  "oo",
  "bridge",
  "network",
  "mac",
  "key",
  "vdsm-image-uuid",
  "vdsm-vol-uuid",
] as const;
const BOOLEAN_OPTIONS = [
  "print-source",
  "quiet",
  "verbose",
  "x",
  "version",
  "help",
  "color",
  "colors",
  "colour",
  "colours",
  "wrap",
  "debug-gc",
  "long-options",
  "short-options",
  "in-place",
  "compressed",
  "qemu-boot",
  "keys-from-stdin",
  "echo-keys",
] as const;
const ALIASES: Record<string, string> = {
  b: "bridge",
  n: "network",
  q: "quiet",
  v: "verbose",
  V: "version",
};

export function allOptionNames(long: boolean): string[] {
  const names = [...STRING_OPTIONS, ...ARRAY_OPTIONS, ...BOOLEAN_OPTIONS];
  if (long)
    return names
      .filter((name) => name.length > 2)
      .map((name) => `--${name}`)
      .sort();
  return [...names.filter((name) => name.length <= 2), ...Object.keys(ALIASES)]
    .map((name) => `-${name}`)
    .sort();
}

export class UnrecognisedOption extends Error {}

export function parseCommandLine(argv: string[]): ParsedCommand {
  const parser = yargs(argv)
    .parserConfiguration({ ...V2V_PARSER_CONFIGURATION, "unknown-options-as-args": false })
    .help(false)
    .version(false)
    .strictOptions()
    .exitProcess(false)
    .fail((message, err) => {
      const unknown = /Unknown arguments?: (.*)/.exec(message ?? "");
      if (unknown) {
        const name = unknown[1]!.split(",")[0]!.trim();
        throw new UnrecognisedOption(
          `unrecognized option '${name.length > 1 ? "--" : "-"}${name}'`,
        );
      }
      throw err ?? new UserError(message ?? "bad command line");
    });
  for (const name of STRING_OPTIONS) parser.option(name, { type: "string" });
  // One value each time (nargs 1): an array option would otherwise swallow the words after it
  // ("-io vddk-port=902 GUEST" would make GUEST an option value).
  for (const name of ARRAY_OPTIONS) parser.option(name, { type: "string", array: true, nargs: 1 });
  for (const name of BOOLEAN_OPTIONS) parser.option(name, { type: "boolean" });
  for (const [short, long] of Object.entries(ALIASES)) parser.alias(long, short);
  const parsed = parser.parseSync() as Record<string, unknown> & { _: Array<string | number> };

  // yargs gathers repeated values into an array: virt-v2v refuses them for set-once options.
  const single = (name: string): string | undefined => {
    const value = parsed[name];
    if (Array.isArray(value))
      throw new UserError(
        `-${name.length > 2 ? "-" : ""}${name} option used more than once on the command line`,
      );
    return value === undefined ? undefined : String(value);
  };
  const many = (name: string): string[] => {
    const value = parsed[name];
    if (value === undefined) return [];
    return (Array.isArray(value) ? value : [value]).map(String);
  };
  const flag = (name: string): boolean => {
    const value = parsed[name];
    return Array.isArray(value) ? value.some(Boolean) : value === true;
  };
  for (const name of SET_ONCE) single(name);
  const args = parsed._.map(String);

  if (flag("help")) return { kind: "help" };
  if (flag("version")) return { kind: "version" };
  if (flag("long-options")) return { kind: "list-options", long: true };
  if (flag("short-options")) return { kind: "list-options", long: false };
  const machineReadable = single("machine-readable");
  if (machineReadable !== undefined && args.length === 0 && single("i") === undefined)
    return { kind: "capabilities" };

  // virt-v2v answers -io ? / -oo ? once the mode is chosen, before anything else is checked.
  if (many("io").includes("?"))
    return {
      kind: "query-options",
      side: "input",
      mode: single("i") ?? "libvirt",
      ...(single("ic") === undefined ? {} : { inputConnection: single("ic") }),
      ...(single("it") === undefined ? {} : { inputTransport: single("it") }),
    };
  if (many("oo").includes("?"))
    return { kind: "query-options", side: "output", mode: single("o") ?? "libvirt" };

  if (flag("in-place")) {
    throw new UserError(
      "the --in-place option has been replaced by a separate program called virt-v2v-in-place, which split-v2v does not provide yet",
    );
  }
  const keySelectors = many("key").map(parseKeySelector);

  const warnings: string[] = [];
  if (single("no-trim") !== undefined)
    warnings.push("the --no-trim option has been removed and now does nothing");
  if (single("vmtype") !== undefined)
    warnings.push("the --vmtype option has been removed and now does nothing");

  const outputOptions = many("oo");
  if (flag("compressed")) outputOptions.push("compressed");
  // virt-v2v 2.2's --qemu-boot is -oo qemu-boot (its set_output_option_compat).
  if (flag("qemu-boot")) outputOptions.push("qemu-boot");
  // virt-v2v's --vdsm-X V options are -oo vdsm-X=V.
  for (const name of ["vdsm-compat", "vdsm-vm-uuid", "vdsm-ovf-output", "vdsm-ovf-flavour"]) {
    const value = single(name);
    if (value !== undefined) outputOptions.push(`${name}=${value}`);
  }
  for (const name of ["vdsm-image-uuid", "vdsm-vol-uuid"])
    outputOptions.push(...many(name).map((value) => `${name}=${value}`));
  const parallelText = single("parallel");
  const parallel = parallelText === undefined ? defaultParallelism() : Number(parallelText);
  if (!Number.isInteger(parallel) || parallel < 1)
    throw new UserError(`--parallel ${parallelText}: expected a number of disks (1 or more)`);

  // virt-v2v's default input mode is libvirt; -i disk is the usual one here.
  const inputPassword = single("ip") ?? single("password-file");
  return {
    kind: "run",
    quiet: flag("quiet"),
    machineReadable,
    warnings,
    run: {
      input: {
        mode: single("i") ?? "libvirt",
        args,
        inputFormat: single("if"),
        inputConnection: single("ic"),
        inputTransport: single("it"),
        inputPassword,
        // virt-v2v's --vddk-X=V options are -io vddk-X=V.
        inputOptions: [
          ...many("io"),
          ...VDDK_OPTIONS.flatMap((name) => many(name).map((value) => `${name}=${value}`)),
        ],
        bandwidth: single("bandwidth"),
        bandwidthFile: single("bandwidth-file"),
      },
      output: {
        mode: single("o") ?? "libvirt",
        storage: single("os"),
        format: single("of"),
        allocation: single("oa"),
        name: single("on"),
        connection: single("oc"),
        password: single("op"),
        options: outputOptions,
      },
      printSource: flag("print-source"),
      verbose: flag("verbose"),
      trace: flag("x"),
      root: single("root"),
      networks: many("network"),
      bridges: many("bridge"),
      macs: many("mac"),
      keySelectors,
      keysFromStdin: flag("keys-from-stdin"),
      echoKeys: flag("echo-keys"),
      parallel,
    },
  };
}

/** The names of the served modes, for the option lines: "disk|local|ova|vmx". */
function modeNames(kind: "input" | "output"): string {
  return availableModeNames(kind).split(", ").join("|");
}

/** `virt-v2v --help`: virt-v2v 2.2's summary, with the modes taken from the selectors' table. */
export function helpText(): string {
  const modeLines = (modes: readonly ModeFacts[]): string[] =>
    modes.map((mode) => `  ${mode.usage}\n      ${mode.summary}`);
  return `virt-v2v: convert a guest to use KVM

virt-v2v -i disk disk.img -o local -os /var/tmp

virt-v2v -i disk disk.img -o null

A short summary of the options is given below.  For detailed help please
read the man page virt-v2v(1).  This is split-v2v: virt-v2v 2.2's command line, run as a
supervisor of separate helper programs.

Options:
  -b, --bridge <in:out>               Map bridge ‘in’ to ‘out’
  --bandwidth <bps>                   Set bandwidth to bits per sec (-it ssh, -it vddk)
  --bandwidth-file <filename>         Set bandwidth dynamically from file (-it ssh, -it vddk)
  --compressed                        Compress output file (-of qcow2 only)
  --help                              Display brief help
  -i <${modeNames("input")}>${" ".repeat(Math.max(1, 31 - modeNames("input").length))}Set input mode (default: libvirt)
  -if <format>                        Input format
  -io <option[=value]>                Set option for input mode (-io ? lists them)
  -ip <filename>                      Use password from file to connect to input hypervisor
  -it <transport>                     Input transport (${INPUT_MODES.flatMap((mode) => mode.transports).join(", ")})
  --echo-keys                         Don’t turn off echo for passphrases
  --key <SELECTOR>                    Specify a LUKS key
  --keys-from-stdin                   Read passphrases from stdin
  --mac <mac:network|bridge:out>      Map NIC to network or bridge
  --mac <mac:ip:ipaddr[,gw,len,ns…]>  Set a NIC’s static IP address
  --machine-readable[=format]         Make output machine readable
  -n, --network <in:out>              Map network ‘in’ to ‘out’
  -o <${modeNames("output")}>${" ".repeat(Math.max(1, 31 - modeNames("output").length))}Set output mode (default: libvirt, not available yet)
  -oa <sparse|preallocated>           Set output allocation mode
  -of <raw|qcow2>                     Set output format
  -on <name>                          Rename guest when converting
  -oo <option[=value]>                Set option for output mode (-oo ? lists them)
  -os <storage>                       Set output storage location
  --parallel <N>                      Copy up to N disks at once (default: ${defaultParallelism()})
  --print-source                      Print source and stop
  -q, --quiet                         Don’t print progress messages
  --root <ask|single|first|/dev/X>    How to choose root filesystem
  -V, --version                       Display version and exit
  -v, --verbose                       Enable debugging messages
  -x                                  Enable tracing of libguestfs calls

Input modes:
${modeLines(INPUT_MODES).join("\n")}

Output modes:
${modeLines(OUTPUT_MODES).join("\n")}
`;
}
