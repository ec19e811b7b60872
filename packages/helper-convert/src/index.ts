export { convertGuest, type ConvertOptions, type ConvertReporter } from "./convert.js";
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
