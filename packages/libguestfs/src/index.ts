/**
 * @split-v2v/libguestfs: the one place in split-v2v that talks to libguestfs.
 *
 * - `Guestfs`: a libguestfs handle through koffi (calls listed in calls.ts).
 *
 * Deciding between KVM and TCG before a launch (`ensureWorkingAccel`) is the converter's
 * business: it lives in @split-v2v/helper-convert (src/accel.ts).
 */
export {
  Guestfs,
  AugFlags,
  HiveType,
  type AddDriveOptions,
  type Application2,
  type FstrimOptions,
  type GuestfsVersion,
  type HivexOpenOptions,
  type LogKind,
  type LogListener,
  type MkfsOptions,
  type Partition,
  type Statvfs,
} from "./guestfs.js";
export { GuestfsError } from "./errors.js";
export { CALLS, type CallName } from "./calls.js";
