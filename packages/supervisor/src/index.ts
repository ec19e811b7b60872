export { parseCommandLine, type ParsedCommand } from "./options.js";
export { formatSource, printSourceText } from "./print-source.js";
export { runConversion, type RunOptions } from "./run.js";
export { CAPABILITIES, selectInputMode, selectOutputMode, helperScript } from "./modes.js";
export { Reporter, openMachineReadable } from "./reporter.js";
