/**
 * The target side of the conversion: which bus each disk and removable goes on, and the firmware.
 */
import type { GuestCaps, Inspection, MetadataIn, TargetLayout } from "@split-v2v/metadata-schema";

type Slots = TargetLayout["buses"]["ide"];

function place(slots: Slots, wanted: number | null, value: Slots[number]): void {
  if (wanted !== null && (slots[wanted] === undefined || slots[wanted] === null)) {
    while (slots.length < wanted) slots.push(null);
    slots[wanted] = value;
    return;
  }
  const free = slots.indexOf(null);
  if (free >= 0) slots[free] = value;
  else slots.push(value);
}

/**
 * Fixed disks go, in source order, on the bus the guest can drive (virtio-blk, or IDE without
 * virtio); removables keep their slot where it is free, on the bus that matches their source
 * controller, else take the next free slot.
 */
export function assignBuses(
  source: MetadataIn["source"],
  guestcaps: GuestCaps,
): TargetLayout["buses"] {
  const buses: TargetLayout["buses"] = { virtioBlk: [], ide: [], scsi: [], floppy: [] };
  const diskBus =
    guestcaps.blockBus === "virtio-blk"
      ? buses.virtioBlk
      : guestcaps.blockBus === "ide"
        ? buses.ide
        : buses.scsi;
  for (const disk of source.disks) diskBus.push({ disk: disk.id });
  source.removables.forEach((removable, index) => {
    if (removable.type === "floppy") {
      place(buses.floppy, removable.slot, { removable: index });
      return;
    }
    const bus =
      removable.controller === "scsi" || removable.controller === "virtio-scsi"
        ? buses.scsi
        : buses.ide;
    place(bus, removable.slot, { removable: index });
  });
  return buses;
}

/** The source's firmware when the source says, else what inspection found on the disks. */
export function targetFirmware(
  source: MetadataIn["source"],
  inspection: Inspection,
): "bios" | "uefi" {
  if (source.firmware === "bios" || source.firmware === "uefi") return source.firmware;
  return inspection.firmware.type;
}
