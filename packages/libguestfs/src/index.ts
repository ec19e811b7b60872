/**
 * @split-v2v/libguestfs: the one place in split-v2v that talks to libguestfs.
 *
 * - `Guestfs`: a libguestfs handle through koffi (calls listed in calls.ts).
 * - `ensureWorkingAccel`: notices a KVM that does not work and makes libguestfs use TCG.
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
export {
  ACCEL_APPLIED_VARIABLE,
  ensureWorkingAccel,
  runAccelProbe,
  accelProbeImage,
  type AccelVerdict,
  type AccelProbeResult,
  type AccelProbeOptions,
  type EnsureWorkingAccelOptions,
} from "./accel.js";
