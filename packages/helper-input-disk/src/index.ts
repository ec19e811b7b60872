export {
  setUpInputDisk,
  precheckInputDisk,
  diskPlanFor,
  sourceNameOf,
  describeInput,
  type InputDiskOptions,
  type InputDiskCheckOptions,
  type CheckedInputDisk,
} from "./input-disk.js";
export { inspectDiskImage, checkReadable, type DiskImageInfo } from "./disk-image.js";

// The mode this package serves, as the supervisor's table and --describe see it.
export { inputDiskMode } from "./mode.js";
