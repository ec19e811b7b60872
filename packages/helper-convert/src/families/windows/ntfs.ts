/**
 * Windows XP and 2000 boot only if the NTFS boot sector's head count matches the disk geometry
 * they expect ("A disk read error occurred" otherwise); later Windows ignores it. virt-v2v 2.2's
 * fix_ntfs_heads: set the heads field (offset 0x1a, 16-bit little-endian) by the whole disk's
 * size, as QEMU's geometry guess for such disks gives it.
 */
import type { WindowsContext } from "./context.js";

/** Heads by disk size: < 2114445312 → 0x40, < 4228374780 → 0x80, else 0xff. */
export function ntfsHeadsForDiskSize(bytes: number): number {
  if (bytes < 2114445312) return 0x40;
  if (bytes < 4228374780) return 0x80;
  return 0xff;
}

export async function fixNtfsHeads(context: WindowsContext): Promise<void> {
  const { g, inspection } = context;
  if (inspection.majorVersion >= 6) return;
  const root = inspection.root;
  // A filesystem on the whole disk has no partition table geometry to match (RHBZ#1276540).
  if (await g.isWholeDevice(root)) return;
  const magic = await g.preadDevice(root, 8, 3);
  if (magic.toString("latin1") !== "NTFS    ") return;
  const disk = await g.partToDev(root);
  const heads = ntfsHeadsForDiskSize(await g.blockdevGetsize64(disk));
  const field = Buffer.alloc(2);
  field.writeUInt16LE(heads);
  await g.pwriteDevice(root, field, 0x1a);
  context.recordChange(root, `NTFS boot sector heads = 0x${heads.toString(16)}`);
}
