export { convertGuest, type ConvertOptions, type ConvertReporter } from "./convert.js";
// KVM that does not work → TCG, decided before libguestfs launches (also for virt-v2v-in-place
// and virt-v2v-inspector, which open the guest the same way).
export {
  ACCEL_APPLIED_VARIABLE,
  ensureWorkingAccel,
  runAccelProbe,
  accelProbeImage,
  type AccelVerdict,
  type AccelProbeResult,
  type AccelProbeOptions,
  type EnsureWorkingAccelOptions,
} from "./accel.js";
export { parseRootChoice, chooseRoot, type RootChoice } from "./inspect.js";
export { assignBuses, targetFirmware } from "./target.js";
export { parseNetworkMapping, mapNetworks, type NetworkMapping } from "./networks.js";
export { selectConverter, type GuestConverter, type ConversionContext } from "./families/index.js";
export {
  chooseBestKernel,
  guestcapsForKernel,
  buildDeviceMap,
  remapDevice,
  remapKernelArguments,
  packagesToRemove,
  initramfsModules,
  guestAgentInstallScript,
  applianceDiskNames,
  commentOutStanzas,
  ifupdownStanza,
  networkManagerKeyfile,
  netplanFile,
  networkdFile,
  configuredInterfaceNames,
  linkFileText,
  pinNames,
  udevRuleLine,
} from "./families/linux/index.js";
