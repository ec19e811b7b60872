export * from "./output-rhv.js";
export * from "./storage-domain.js";
// The mode this package serves, as the supervisor's table and --describe see it.
export { outputRhvMode, checkOutputRhvOptions } from "./mode.js";
