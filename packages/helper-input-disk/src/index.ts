export {
  setUpInputDisk,
  serverSpecFor,
  sourceNameOf,
  describeInput,
  type InputDiskOptions,
} from "./input-disk.js";
export { inspectDiskImage, checkReadable, type DiskImageInfo } from "./disk-image.js";

// The mode this package serves, as the supervisor's table and --describe see it.
export { inputDiskMode } from "./mode.js";
