/**
 * @split-v2v/helper-input-libvirtxml: `-i libvirtxml` (a guest from its libvirt domain XML file)
 * as a helper program, and the pieces it is built from for programs that want them.
 */
export {
  setUpInputLibvirtxml,
  precheckInputLibvirtxml,
  describeInput,
  type InputLibvirtxmlOptions,
  type InputLibvirtxmlCheckOptions,
  type CheckedLibvirtxml,
} from "./input-libvirtxml.js";

// The mode this package serves, as the supervisor's table and --describe see it.
export { inputLibvirtxmlMode } from "./mode.js";
