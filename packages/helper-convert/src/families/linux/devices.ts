/**
 * Device names: a VMware guest names its disks sda (SCSI/SATA) or hda (old IDE); on virtio they
 * are vda. Config files that name devices (fstab, the kernel command line, resume=) are rewritten
 * through a map built from the source's disks in order (virt-v2v's remap_block_devices).
 */
import { driveName } from "@split-v2v/common";
import type { SourceGuest } from "@split-v2v/metadata-schema";
import type { LinuxFamily } from "./family.js";

export type DeviceMap = Map<string, string>;

/** Old IDE naming survives in RHEL ≤ 5 and SUSE; every other modern distribution uses libata (sd). */
export function ideBlockPrefix(family: LinuxFamily, major: number): string {
  if (family === "rhel" && major <= 5) return "hd";
  if (family === "suse") return "hd";
  return "sd";
}

export function buildDeviceMap(
  source: SourceGuest,
  targetPrefix: string,
  idePrefix: string,
): DeviceMap {
  const map: DeviceMap = new Map();
  source.disks.forEach((disk, index) => {
    const letters = driveName(index);
    const before =
      disk.controller === null || disk.controller === "ide"
        ? idePrefix + letters
        : disk.controller === "virtio-blk"
          ? `vd${letters}`
          : disk.controller === "nvme"
            ? `nvme${index}n1`
            : `sd${letters}`;
    map.set(before, targetPrefix + letters);
  });
  // Xen presents disks as xvdX too, and P2V'd Xen guests may still name them so.
  source.disks.forEach((_disk, index) =>
    map.set(`xvd${driveName(index)}`, targetPrefix + driveName(index)),
  );
  return map;
}

/** Devices that are not disks and must not be warned about. */
const NOT_DISKS = /^(md|fd|sr|scd)|^cdrom$/;

/**
 * Rewrites one /dev/… name through the map: /dev/sda1 → /dev/vda1, /dev/nvme0n1p2 → /dev/vda2,
 * /dev/cciss/c0d0p1 → …; anything else (UUID=, LABEL=, /dev/mapper/…) is returned unchanged.
 */
export function remapDevice(
  value: string,
  map: DeviceMap,
  warnUnknown: (device: string) => void,
): string {
  const patterns = [
    /^\/dev\/(cciss\/c\d+d\d+)(?:p(\d+))?$/,
    /^\/dev\/(nvme\d+n1)(?:p(\d+))?$/,
    /^\/dev\/([a-z]+)(\d*)$/,
  ];
  for (const pattern of patterns) {
    const match = pattern.exec(value);
    if (!match) continue;
    const device = match[1]!;
    const partition = match[2] ?? "";
    const mapped = map.get(device);
    if (mapped === undefined) {
      if (!NOT_DISKS.test(device)) warnUnknown(device);
      return value;
    }
    return `/dev/${mapped}${partition}`;
  }
  return value;
}

/** Rewrites every root=/resume=/dev/… in a kernel command line (or any text holding one). */
export function remapKernelArguments(
  text: string,
  map: DeviceMap,
  warnUnknown: (device: string) => void,
): string {
  return text.replace(
    /\b(root|resume)=(\/dev\/[-a-z\d/_]+)/g,
    (_whole, key: string, device: string) => `${key}=${remapDevice(device, map, warnUnknown)}`,
  );
}
