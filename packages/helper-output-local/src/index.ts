export * from "./output-local.js";
export { driveName } from "@split-v2v/common";
// The libvirt XML this mode writes, from the package every target format builds on.
export {
  createLibvirtXml,
  osinfoUrl,
  targetFeaturesFor,
  GENERATED_BY,
  type LibvirtXmlInput,
  findUefiFirmware,
  type UefiFirmware,
} from "@split-v2v/target-formats";

// The mode this package serves, as the supervisor's table and --describe see it.
export { outputLocalMode } from "./mode.js";
