export * from "./output-glance.js";
// The mode this package serves, as the supervisor's table and --describe see it.
export { outputGlanceMode, checkOutputGlanceOptions } from "./mode.js";
