/**
 * @split-v2v/helper-input-vddk: `-i libvirt -ic vpx://… -it vddk` (a guest on VMware vCenter or
 * ESXi, its disks read with nbdkit's vddk plugin) as a helper program, and the pieces it is built
 * from for programs that want them.
 */
export {
  setUpInputVddk,
  precheckInputVddk,
  describeInput,
  type InputVddkOptions,
  type InputVddkCheckOptions,
  type CheckedVddk,
} from "./input-vddk.js";
export {
  vddkDiskPlan,
  vddkStandin,
  VDDK_STANDIN_ENV,
  type VddkDisk,
  type VddkFilters,
  type BandwidthLimit,
} from "./nbdkit-vddk.js";
export {
  checkVddkPlugin,
  checkVddkLibdir,
  probeVddkFilters,
  probeFilter,
  VDDK_LIBRARY_DIR,
} from "./nbdkit-checks.js";
export { fetchThumbprint, type ThumbprintOptions } from "./thumbprint.js";
export { DOMAIN_XML_STANDIN_ENV } from "@split-v2v/libvirt-domain";

// The mode this package serves, as the supervisor's table and --describe see it.
export {
  inputVddkMode,
  parseVddkOptions,
  checkVddkRequest,
  checkThumbprint,
  vcenterAccessOf,
  VDDK_OPTION_KEYS,
  type VddkOptions,
  type VddkOptionKey,
  type VcenterAccess,
} from "./mode.js";
