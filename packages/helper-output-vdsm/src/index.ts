export * from "./output-vdsm.js";
// The mode this package serves, as the supervisor's table and --describe see it.
export { outputVdsmMode, checkOutputVdsmOptions } from "./mode.js";
