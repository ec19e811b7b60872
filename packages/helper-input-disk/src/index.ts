export {
  setUpInputDisk,
  serverSpecFor,
  sourceNameOf,
  describeInput,
  type InputDiskOptions,
} from "./input-disk.js";
export { inspectDiskImage, checkReadable, type DiskImageInfo } from "./disk-image.js";
