/**
 * Disks without a partition table (a database's raw volume, a filesystem on the whole disk)
 * beside a Windows system disk. libguestfs 1.48's inspection maps the registry's drive letters
 * by asking every disk for its partition table, and fails on such a disk
 * ("parted: /dev/sdb: … unrecognised disk label", "not a partitioned device"), as virt-v2v 2.2
 * does. These disks hold no system files: they need no conversion, only a copy. So when
 * inspection fails that way, the appliance is opened again with a small blank disk carrying an
 * empty partition table in their place (which keeps every other disk's name), and the real disk,
 * untouched, is copied from its overlay as usual.
 */
import type { Guestfs } from "@split-v2v/libguestfs";
import { GuestfsError } from "@split-v2v/libguestfs";

/** The messages of the inspection failures that a disk without a partition table causes. */
const BARE_DISK_FAILURE = /unrecognised disk label|not a partitioned device/;

export function isBareDiskFailure(error: unknown): boolean {
  return error instanceof GuestfsError && BARE_DISK_FAILURE.test(error.message);
}

/**
 * The indexes (in the order the disks were added) of the devices without a partition table:
 * those parted cannot read (raw data), and those holding a filesystem on the whole disk
 * (parted's "loop") other than the first disk, where a guest's system may live that way.
 */
export async function bareDataDisks(g: Guestfs): Promise<number[]> {
  const devices = await g.listDevices();
  const bare: number[] = [];
  for (const [index, device] of devices.entries()) {
    const table = await g.partGetParttype(device).catch(() => null);
    if (table === null || (table === "loop" && index > 0)) bare.push(index);
  }
  // With every disk set aside there would be nothing left to inspect.
  return bare.length < devices.length ? bare : [];
}

/** The placeholder's size: enough for an MBR, nothing to copy (a sparse file). */
export const PLACEHOLDER_BYTES = 1024 * 1024;
