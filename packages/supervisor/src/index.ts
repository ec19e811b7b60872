export { parseCommandLine, type ParsedCommand } from "./options.js";
export { formatSource, printSourceText } from "./print-source.js";
export { runConversion, type RunOptions } from "./run.js";
export {
  capabilities,
  INPUT_MODES,
  OUTPUT_MODES,
  selectInputMode,
  selectOutputMode,
  inputHelperArgs,
  helperScript,
} from "./modes.js";
export { Reporter, openMachineReadable } from "./reporter.js";
