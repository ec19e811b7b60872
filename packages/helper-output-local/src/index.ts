export * from "./output-local.js";
export { driveName } from "@split-v2v/common";
export {
  createLibvirtXml,
  osinfoUrl,
  targetFeaturesFor,
  GENERATED_BY,
  type LibvirtXmlInput,
} from "./libvirt-xml.js";
export { findUefiFirmware, type UefiFirmware } from "./uefi.js";

// The mode this package serves, as the supervisor's table and --describe see it.
export { outputLocalMode } from "./mode.js";
