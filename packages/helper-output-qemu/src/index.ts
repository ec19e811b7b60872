export * from "./output-qemu.js";
// The script this mode writes, from the package every target format builds on.
export {
  createQemuScript,
  QEMU_ACCEL_VARIABLE,
  DEFAULT_QEMU_ACCEL,
  type QemuScriptInput,
} from "@split-v2v/target-formats";

// The mode this package serves, as the supervisor's table sees it and --describe prints it.
export { outputQemuMode, checkOutputQemuOptions, checkOutputQemuFormat } from "./mode.js";
