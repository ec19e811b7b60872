/** The real-time clock a Windows guest expects (virt-v2v 2.13's gcaps_rtc_utc). */
import { HiveType } from "@split-v2v/libguestfs";
import type { Hive } from "./registry.js";

/**
 * Whether Windows expects the real-time clock in UTC: only where
 * CurrentControlSet\Control\TimeZoneInformation has RealTimeIsUniversal = 1 (a DWORD, or a
 * QWORD on some 64-bit installs); without it, Windows keeps the clock in local time.
 */
export async function realTimeIsUniversal(
  hive: Hive,
  currentControlSet: string,
  warning: (text: string) => void,
): Promise<boolean> {
  const node = await hive.getNode([currentControlSet, "Control", "TimeZoneInformation"]);
  if (node === null) return false;
  const raw = await hive.getRaw(node, "RealTimeIsUniversal");
  if (raw === null) return false;
  switch (raw.type) {
    case HiveType.NONE:
      return false;
    case HiveType.DWORD:
      return raw.data.length >= 4 && raw.data.readUInt32LE(0) === 1;
    case HiveType.QWORD:
      return raw.data.length >= 8 && raw.data.readBigUInt64LE(0) === 1n;
    default:
      warning(
        `unknown CurrentControlSet\\Control\\TimeZoneInformation key RealTimeIsUniversal type 0x${raw.type.toString(16)}, assuming RTC set to UTC`,
      );
      return true;
  }
}
