export * from "./output-kubevirt.js";
// The mode this package serves, as the supervisor's table and --describe see it.
export { outputKubevirtMode, checkOutputKubevirtOptions, checkKubevirtName } from "./mode.js";
