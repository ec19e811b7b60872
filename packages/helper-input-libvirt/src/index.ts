/**
 * @split-v2v/helper-input-libvirt: `-i libvirt [-ic URI] GUEST` (a guest of a local libvirt, or
 * of any connection no other -i libvirt mode claims) as a helper program, and its pieces.
 */
export {
  precheckInputLibvirt,
  setUpInputLibvirt,
  type CheckedLibvirt,
  type InputLibvirtCheckOptions,
  type InputLibvirtOptions,
} from "./input-libvirt.js";

// The mode this package serves, as the supervisor's table and --describe see it.
export { inputLibvirtMode, describeLocalLibvirtInput } from "./mode.js";
