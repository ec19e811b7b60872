/**
 * The selectors (virt-v2v's select_input and select_output): a table of the mode descriptors
 * the helper packages export: every input and output mode of virt-v2v 2.2.
 * Everything said about modes (--help, the capability lines, "-io ?" and "-oo ?", the
 * refusals) is derived from this table.
 *
 * Adding a mode: its package (which exports its descriptor from src/mode.ts), then its entry
 * here.
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
import { outputLibvirtMode } from "@split-v2v/helper-output-libvirt/mode";
import { outputQemuMode } from "@split-v2v/helper-output-qemu/mode";
import { outputKubevirtMode } from "@split-v2v/helper-output-kubevirt/mode";
import { outputOpenstackMode } from "@split-v2v/helper-output-openstack/mode";
import { outputGlanceMode } from "@split-v2v/helper-output-glance/mode";

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

/** The output modes split-v2v serves, in virt-v2v 2.2's order (its capability lines). */
export const OUTPUT_MODES: readonly OutputModeDescriptor[] = [
  outputGlanceMode,
  outputKubevirtMode,
  outputLibvirtMode,
  outputLocalMode,
  outputNullMode,
  outputOpenstackMode,
  outputQemuMode,
  outputRhvMode,
  outputRhvUploadMode,
  outputVdsmMode,
];

function namesOf(descriptor: ModeDescriptor): string[] {
  return [descriptor.name, ...descriptor.aliases];
}

/** "disk, local, ova, vmx": every name the served modes answer to (each once). */
export function availableModeNames(kind: "input" | "output"): string {
  const modes: readonly ModeDescriptor[] = kind === "input" ? INPUT_MODES : OUTPUT_MODES;
  return [...new Set(modes.flatMap(namesOf))].join(", ");
}

function refuseUnserved(kind: "input" | "output", mode: string): never {
  throw new UserError(`unknown ${kind === "input" ? "-i" : "-o"} option: ${mode}`);
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

/** Whether this -o mode exists (--print-source needs no more of it). */
export function isKnownOutputMode(mode: string): boolean {
  return OUTPUT_MODES.some((descriptor) => namesOf(descriptor).includes(mode));
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
