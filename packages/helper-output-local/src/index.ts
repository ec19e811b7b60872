export * from "./output-local.js";
export {
  createLibvirtXml,
  driveName,
  osinfoUrl,
  targetFeaturesFor,
  GENERATED_BY,
  type LibvirtXmlInput,
} from "./libvirt-xml.js";
export { findUefiFirmware, type UefiFirmware } from "./uefi.js";
