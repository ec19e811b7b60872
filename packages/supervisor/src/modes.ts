/**
 * The selectors (virt-v2v's select_input and select_output): a table of the mode descriptors
 * the helper packages export, plus the modes of virt-v2v 2.2 that split-v2v does not serve yet.
 * Everything said about modes (--help, the capability lines, "-io ?", the refusals and the
 * lists of available modes) is derived from this table.
 *
 * Adding a mode: its package (which exports its descriptor from src/mode.ts), then its entry
 * here in place of its name in NOT_YET.
 */
import { createRequire } from "node:module";
import path from "node:path";
import {
  UserError,
  selectInputDescriptor,
  type InputModeDescriptor,
  type InputRequest,
  type ModeDescriptor,
  type OutputModeDescriptor,
} from "@split-v2v/common";
// The packages' ./mode entry points: the descriptors alone, without the helpers' code.
import { inputDiskMode } from "@split-v2v/helper-input-disk/mode";
import { inputLibvirtxmlMode } from "@split-v2v/helper-input-libvirtxml/mode";
import { inputOvaMode } from "@split-v2v/helper-input-ova/mode";
import { inputVcenterHttpsMode } from "@split-v2v/helper-input-vcenter-https/mode";
import { inputVmxMode } from "@split-v2v/helper-input-vmx/mode";
import { inputLibvirtMode } from "@split-v2v/helper-input-libvirt/mode";
import { inputVddkMode } from "@split-v2v/helper-input-vddk/mode";
import { inputXenSshMode } from "@split-v2v/helper-input-xen-ssh/mode";
import { outputLocalMode } from "@split-v2v/helper-output-local/mode";
import { outputNullMode } from "@split-v2v/helper-output-null/mode";
import { outputRhvMode } from "@split-v2v/helper-output-rhv/mode";
import { outputRhvUploadMode } from "@split-v2v/helper-output-rhv-upload/mode";
import { outputVdsmMode } from "@split-v2v/helper-output-vdsm/mode";

export type { InputRequest, OutputRequest } from "@split-v2v/common";

const require = createRequire(import.meta.url);

/** The executable (a Node script) of a helper package, from its package.json "bin". */
export function helperScript(packageName: string): string {
  const manifestPath = require.resolve(`${packageName}/package.json`);
  const manifest = require(manifestPath) as { bin?: Record<string, string> };
  const bin = Object.values(manifest.bin ?? {})[0];
  if (bin === undefined) throw new Error(`${packageName} has no executable`);
  return path.join(path.dirname(manifestPath), bin);
}

/**
 * The input modes split-v2v serves, in virt-v2v's order; those sharing the -i name libvirt are
 * told apart by -ic's scheme and -it (selectInputDescriptor).
 */
export const INPUT_MODES: readonly InputModeDescriptor[] = [
  inputDiskMode,
  inputLibvirtMode,
  inputVcenterHttpsMode,
  inputXenSshMode,
  inputVddkMode,
  inputLibvirtxmlMode,
  inputOvaMode,
  inputVmxMode,
];

/** The output modes split-v2v serves. */
export const OUTPUT_MODES: readonly OutputModeDescriptor[] = [
  outputLocalMode,
  outputNullMode,
  outputRhvMode,
  outputRhvUploadMode,
  outputVdsmMode,
];

/**
 * Modes virt-v2v 2.2 has that split-v2v does not serve yet (with their other names): refused
 * by name, with the list of the modes that exist.
 */
const NOT_YET: Readonly<Record<"input" | "output", readonly (readonly string[])[]>> = {
  input: [],
  output: [["glance"], ["kubevirt"], ["libvirt"], ["openstack", "osp", "rhosp"], ["qemu"]],
};

function namesOf(descriptor: ModeDescriptor): string[] {
  return [descriptor.name, ...descriptor.aliases];
}

/** "disk, local, ova, vmx": every name the served modes answer to (each once). */
export function availableModeNames(kind: "input" | "output"): string {
  const modes: readonly ModeDescriptor[] = kind === "input" ? INPUT_MODES : OUTPUT_MODES;
  return [...new Set(modes.flatMap(namesOf))].join(", ");
}

/** "-i libvirt -ic vpx|esx|gsx://… -it vddk": the -ic and -it a mode of a shared name serves. */
function servedFor(mode: InputModeDescriptor): string {
  const schemes = mode.connectionSchemes ?? [];
  return [
    `-i ${mode.name}`,
    ...(schemes.length === 0 ? [] : [`-ic ${schemes.join("|")}://…`]),
    ...mode.transports.map((transport) => `-it ${transport}`),
  ].join(" ");
}

function refuseUnserved(kind: "input" | "output", mode: string): never {
  const flag = kind === "input" ? "-i" : "-o";
  if (NOT_YET[kind].some((names) => names.includes(mode))) {
    // A name served for some -ic/-it only (-i libvirt with -it vddk) says which.
    const partly =
      kind === "input"
        ? INPUT_MODES.filter((descriptor) => namesOf(descriptor).includes(mode)).map(servedFor)
        : [];
    const only = partly.length === 0 ? "" : ` for this -ic/-it (only ${partly.join(", ")} is)`;
    throw new UserError(
      `${flag} ${mode}: this ${kind} mode is not implemented yet in split-v2v${only}; available ${kind} modes: ${availableModeNames(kind)}`,
    );
  }
  throw new UserError(`unknown ${flag} option: ${mode}`);
}

/** -i with -ic and -it: several modes may share an -i name (-i libvirt: vpx, xen+ssh, vddk…). */
export function selectInputMode(
  request: string | Pick<InputRequest, "mode" | "inputConnection" | "inputTransport">,
): InputModeDescriptor {
  const asked =
    typeof request === "string"
      ? { mode: request, inputConnection: undefined, inputTransport: undefined }
      : request;
  return selectInputDescriptor(INPUT_MODES, asked) ?? refuseUnserved("input", asked.mode);
}

export function selectOutputMode(mode: string): OutputModeDescriptor {
  return (
    OUTPUT_MODES.find((descriptor) => namesOf(descriptor).includes(mode)) ??
    refuseUnserved("output", mode)
  );
}

/**
 * The input helper's arguments: the mode checks its own options; a bandwidth limit given to a
 * mode that moves nothing over a network is refused here, naming the modes it applies to.
 */
export function inputHelperArgs(mode: InputModeDescriptor, request: InputRequest): string[] {
  if (!mode.bandwidth && (request.bandwidth ?? request.bandwidthFile) !== undefined) {
    const networked = INPUT_MODES.filter((other) => other.bandwidth)
      .map(
        (other) =>
          `-i ${other.name}${(other.connectionSchemes ?? []).length === 0 ? "" : ` -ic ${(other.connectionSchemes ?? []).map((scheme) => `${scheme}://`).join("|")}`}${other.transports.map((t) => ` -it ${t}`).join("")}`,
      )
      .join(", ");
    throw new UserError(
      `--bandwidth / --bandwidth-file: -i ${mode.name} reads local files; the limit applies to a transfer over a network (${networked})`,
    );
  }
  return mode.helperArgs(request);
}

/** Whether virt-v2v 2.2 knows this -o mode (served here or not). */
export function isKnownOutputMode(mode: string): boolean {
  return (
    OUTPUT_MODES.some((descriptor) => namesOf(descriptor).includes(mode)) ||
    NOT_YET.output.some((names) => names.includes(mode))
  );
}

/**
 * --machine-readable alone: what this virt-v2v can do, one capability a line, in virt-v2v
 * 2.2's order: the program's own features with the modes' feature lines among them
 * ("vcenter-https", "xen-ssh", "vddk": lines without a colon), then each mode's "input:" and
 * "output:" lines, then the converters.
 */
export function capabilities(): string[] {
  const modeLines = [
    ...new Set([...INPUT_MODES, ...OUTPUT_MODES].flatMap((mode) => mode.capabilities)),
  ];
  const modeKind = (line: string) => /^(input|output):/.test(line);
  return [
    "virt-v2v",
    "virt-v2v-2.0",
    "libguestfs-rewrite",
    ...modeLines.filter((line) => !line.includes(":")),
    "io/oo",
    "mac-option",
    ...(INPUT_MODES.some((mode) => mode.bandwidth) ? ["bandwidth-option"] : []),
    "mac-ip-option",
    ...modeLines.filter(modeKind),
    "convert:linux",
    "convert:windows",
    // Other facts a mode names (-o vdsm's OVF flavours, "ovf:rhvexp") come last, as in 2.2.
    ...modeLines.filter((line) => line.includes(":") && !modeKind(line)),
  ];
}
