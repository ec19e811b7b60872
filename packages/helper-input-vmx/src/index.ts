/**
 * @split-v2v/helper-input-vmx: `-i vmx` (a VMware guest's .vmx file, local or over SSH) as a
 * helper program, and the pieces it is built from for programs that want them.
 */
export {
  setUpInputVmx,
  precheckInputVmx,
  describeInput,
  type InputVmxOptions,
  type InputVmxCheckOptions,
  type CheckedVmx,
} from "./input-vmx.js";
export {
  parseVmx,
  parseOcamlInteger,
  removeVmxEscapes,
  VmxFile,
  VmxValueError,
  type VmxEntry,
  type VmxNamespace,
} from "./vmx-file.js";
export {
  guestFromVmx,
  genidFromVmx,
  nameFromFile,
  findDisks,
  findRemovables,
  findNics,
  type VmxDisk,
  type VmxGuest,
} from "./vmx-guest.js";
export {
  vmxSourceOfArg,
  diskPathFor,
  flatVmdkPath,
  type VmxSource,
  type SshLocation,
} from "./vmx-source.js";
export {
  sshDiskSpec,
  sshDiskPlan,
  sshFileSpec,
  downloadRemoteFile,
  remoteFileExists,
  type SshAccess,
  type BandwidthLimit,
  type RemoteFileOptions,
} from "./ssh-files.js";

// The mode this package serves, as the supervisor's table and --describe see it.
export { inputVmxMode, checkVmxTransport } from "./mode.js";
