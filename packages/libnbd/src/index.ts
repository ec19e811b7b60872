// @split-v2v/libnbd: talk NBD from TypeScript through the real libnbd (libnbd.so.0) via koffi.
export { NbdError } from "./errors.js";
export { NbdConnection, libnbdVersion } from "./connection.js";
export type { AllocationSummary, NbdExtent } from "./connection.js";
export { compareExports } from "./compare.js";
