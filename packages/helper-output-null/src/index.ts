export * from "./output-null.js";

// The mode this package serves, as the supervisor's table and --describe see it.
export { outputNullMode } from "./mode.js";
