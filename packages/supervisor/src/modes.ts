/**
 * The selectors: which helper serves each -i and -o mode, and with which arguments. Adding a mode
 * is one entry here plus its helper package.
 */
import { createRequire } from "node:module";
import path from "node:path";
import { UserError } from "@split-v2v/common";

const require = createRequire(import.meta.url);

/** The executable (a Node script) of a helper package, from its package.json "bin". */
export function helperScript(packageName: string): string {
  const manifestPath = require.resolve(`${packageName}/package.json`);
  const manifest = require(manifestPath) as { bin?: Record<string, string> };
  const bin = Object.values(manifest.bin ?? {})[0];
  if (bin === undefined) throw new Error(`${packageName} has no executable`);
  return path.join(path.dirname(manifestPath), bin);
}

export interface InputRequest {
  mode: string;
  args: string[];
  inputFormat: string | undefined;
  inputConnection: string | undefined;
  inputTransport: string | undefined;
  inputPassword: string | undefined;
  inputOptions: string[];
}

export interface InputMode {
  helperPackage: string;
  /** Argument vector for the helper after WORKDIR, or a UserError for options this mode refuses. */
  helperArgs(request: InputRequest): string[];
  description(request: InputRequest): string;
}

const NOT_YET = new Set(["libvirt", "libvirtxml"]);

export function selectInputMode(mode: string): InputMode {
  if (mode === "disk" || mode === "local") {
    return {
      helperPackage: "@split-v2v/helper-input-disk",
      helperArgs(request) {
        if (request.inputOptions.length > 0)
          throw new UserError("no -io (input options) are allowed here");
        if (request.inputTransport !== undefined)
          throw new UserError("-it option cannot be used with -i disk");
        return [
          ...(request.inputFormat ? ["-if", request.inputFormat] : []),
          "--",
          ...request.args,
        ];
      },
      description: (request) => ["-i disk", ...request.args].join(" "),
    };
  }
  if (mode === "vmx") {
    return {
      helperPackage: "@split-v2v/helper-input-vmx",
      helperArgs(request) {
        // virt-v2v's -i vmx has no input options; -if and -ic are not used by it.
        if (request.inputOptions.length > 0)
          throw new UserError("no -io (input options) are allowed here");
        if (request.inputTransport === "vddk")
          throw new UserError("-i vmx: cannot use -it vddk in this input mode");
        if (request.inputTransport !== undefined && request.inputTransport !== "ssh")
          throw new UserError(`unknown input transport ‘-it ${request.inputTransport}’`);
        return [
          ...(request.inputTransport ? ["-it", request.inputTransport] : []),
          ...(request.inputPassword ? ["-ip", request.inputPassword] : []),
          "--",
          ...request.args,
        ];
      },
      description: (request) => ["-i vmx", ...request.args].join(" "),
    };
  }
  if (mode === "ova") {
    return {
      helperPackage: "@split-v2v/helper-input-ova",
      helperArgs(request) {
        // virt-v2v's -i ova takes no input options; -if and -ic are not used by it.
        if (request.inputOptions.length > 0)
          throw new UserError("no -io (input options) are allowed here");
        if (request.inputTransport !== undefined)
          throw new UserError("-it option cannot be used with -i ova");
        return ["--", ...request.args];
      },
      description: (request) => ["-i ova", ...request.args].join(" "),
    };
  }
  if (NOT_YET.has(mode)) {
    throw new UserError(
      `-i ${mode}: this input mode is not implemented yet in split-v2v; available input modes: disk, ova, vmx`,
    );
  }
  throw new UserError(`unknown -i option: ${mode}`);
}

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

export interface OutputMode {
  helperPackage: string;
  helperArgs(request: OutputRequest): string[];
  description(request: OutputRequest): string;
  /** The output creates fresh zeroed disks, so the copy may skip writing zeroes. */
  targetIsZero: boolean;
}

function outputOptionArgs(request: OutputRequest): string[] {
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

const OUTPUTS_NOT_YET = new Set([
  "glance",
  "kubevirt",
  "libvirt",
  "openstack",
  "osp",
  "rhosp",
  "ovirt",
  "rhv",
  "rhev",
  "ovirt-upload",
  "ovirt_upload",
  "rhv-upload",
  "rhv_upload",
  "qemu",
  "vdsm",
]);

/** Whether virt-v2v 2.2 knows this -o mode (implemented here or not). */
export function isKnownOutputMode(mode: string): boolean {
  return mode === "local" || mode === "disk" || mode === "null" || OUTPUTS_NOT_YET.has(mode);
}

export function selectOutputMode(mode: string): OutputMode {
  if (mode === "local" || mode === "disk") {
    return {
      helperPackage: "@split-v2v/helper-output-local",
      helperArgs: (request) => ["--mode", mode, ...outputOptionArgs(request)],
      // virt-v2v 2.2 names this mode "-o disk" here, whichever alias was typed.
      description: (request) => `-o disk -os ${request.storage ?? ""}`,
      targetIsZero: true,
    };
  }
  if (mode === "null") {
    return {
      helperPackage: "@split-v2v/helper-output-null",
      helperArgs: outputOptionArgs,
      description: () => "-o null",
      targetIsZero: true,
    };
  }
  if (OUTPUTS_NOT_YET.has(mode)) {
    throw new UserError(
      `-o ${mode}: this output mode is not implemented yet in split-v2v; available output modes: local, disk, null`,
    );
  }
  throw new UserError(`unknown -o option: ${mode}`);
}

/** --machine-readable alone: what this virt-v2v can do, one capability a line. */
export const CAPABILITIES = [
  "virt-v2v",
  "virt-v2v-2.0",
  "libguestfs-rewrite",
  "colours-option",
  "io/oo",
  "mac-option",
  "mac-ip-option",
  "input:disk",
  "input:ova",
  "input:vmx",
  "output:local",
  "output:null",
  "convert:linux",
  "convert:windows",
] as const;
