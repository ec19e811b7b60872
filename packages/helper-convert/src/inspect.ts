/**
 * Inspection: find the operating system in the overlays, choose its root (--root), describe it,
 * mount its filesystems and check there is room to convert it.
 */
import { UserError } from "@split-v2v/common";
import type { Guestfs } from "@split-v2v/libguestfs";
import type { Inspection } from "@split-v2v/metadata-schema";

export type RootChoice =
  { kind: "ask" } | { kind: "single" } | { kind: "first" } | { kind: "device"; device: string };

export function parseRootChoice(value: string | undefined): RootChoice {
  if (value === undefined || value === "ask") return { kind: "ask" };
  if (value === "single") return { kind: "single" };
  if (value === "first") return { kind: "first" };
  if (value.startsWith("/dev/")) return { kind: "device", device: value };
  throw new UserError(
    `unknown --root option: ${value}; use --root ask, single, first or a /dev/ device`,
  );
}

/** The canonical form libguestfs uses for device names (/dev/hda1 → /dev/sda1). */
function canonical(device: string): string {
  return device.replace(/^\/dev\/(?:h|s|v|xv)d([a-z]+)/, "/dev/sd$1");
}

export async function chooseRoot(
  roots: string[],
  choice: RootChoice,
  ask: ((roots: string[]) => Promise<string>) | null,
): Promise<string> {
  if (roots.length === 0) {
    throw new UserError(
      "inspection could not detect the source guest (or physical machine): no operating system was found on the disk(s); check that you gave the right disk image (a blank disk cannot be converted)",
    );
  }
  if (choice.kind === "device") {
    const wanted = canonical(choice.device);
    const found = roots.find((root) => canonical(root) === wanted);
    if (found === undefined)
      throw new UserError(
        `root device ${choice.device} not found.  Roots found were: ${roots.join(" ")}`,
      );
    return found;
  }
  if (roots.length === 1) return roots[0]!;
  switch (choice.kind) {
    case "first":
      return roots[0]!;
    case "single":
      throw new UserError(
        `multi-boot operating systems are not supported by virt-v2v: roots found were ${roots.join(" ")}; use the --root option to choose one`,
      );
    case "ask":
      if (ask === null) {
        throw new UserError(
          `this disk holds several operating systems (${roots.join(" ")}) and there is no terminal to ask on; choose one with --root first or --root /dev/…`,
        );
      }
      return ask(roots);
  }
}

/** Firmware the installed guest boots with: UEFI iff a GPT EFI system partition and no BIOS boot partition. */
async function detectFirmware(g: Guestfs): Promise<Inspection["firmware"]> {
  const ESP = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";
  const BIOS_BOOT = "21686148-6449-6E6F-744E-656564454649";
  const esps: string[] = [];
  let biosBoot = false;
  for (const partition of await g.listPartitions()) {
    const device = await g.partToDev(partition);
    if ((await g.partGetParttype(device)) !== "gpt") continue;
    const number = await g.partToPartnum(partition);
    const type = (await g.partGetGptType(device, number)).toUpperCase();
    if (type === ESP) esps.push(partition);
    if (type === BIOS_BOOT) biosBoot = true;
  }
  return esps.length > 0 && !biosBoot
    ? { type: "uefi", espDevices: esps }
    : { type: "bios", espDevices: [] };
}

export async function describeRoot(g: Guestfs, root: string): Promise<Inspection> {
  const type = await g.inspectGetType(root);
  const distro = await g.inspectGetDistro(root);
  const arch = await g.inspectGetArch(root);
  if (type === "unknown" || (distro === "unknown" && type !== "windows") || arch === "unknown") {
    throw new UserError(
      `inspection could not detect the source guest (or physical machine): the operating system on ${root} was not recognised (type ${type}, distro ${distro}, arch ${arch})`,
    );
  }
  const mountpoints = Object.entries(await g.inspectGetMountpoints(root)).map(
    ([mountpoint, device]) => ({
      mountpoint,
      device,
    }),
  );
  const windows =
    type === "windows"
      ? {
          systemroot: await g.inspectGetWindowsSystemroot(root),
          softwareHive: await g.inspectGetWindowsSoftwareHive(root),
          systemHive: await g.inspectGetWindowsSystemHive(root),
          currentControlSet: await g.inspectGetWindowsCurrentControlSet(root),
        }
      : null;
  return {
    root,
    type,
    distro,
    osinfo: await g.inspectGetOsinfo(root),
    arch,
    majorVersion: await g.inspectGetMajorVersion(root),
    minorVersion: await g.inspectGetMinorVersion(root),
    packageFormat: await g.inspectGetPackageFormat(root),
    packageManagement: await g.inspectGetPackageManagement(root),
    productName: await g.inspectGetProductName(root),
    productVariant: await g.inspectGetProductVariant(root),
    hostname: await g.inspectGetHostname(root),
    mountpoints,
    firmware: await detectFirmware(g),
    windows,
  };
}

/** Mounts the guest's filesystems, shortest mountpoint first, so / comes before /boot. */
export async function mountFilesystems(
  g: Guestfs,
  inspection: Inspection,
  warn: (line: string) => void,
): Promise<void> {
  const ordered = [...inspection.mountpoints].sort(
    (a, b) => a.mountpoint.length - b.mountpoint.length,
  );
  for (const { mountpoint, device } of ordered) {
    try {
      await g.mount(device, mountpoint);
    } catch (err) {
      if (mountpoint === "/") {
        throw new UserError(
          `cannot mount the guest's root filesystem ${device} read-write: ${err instanceof Error ? err.message : String(err)}; if the guest is hibernated or uses Windows Fast Startup, shut it down fully and try again`,
        );
      }
      warn(
        `${device} mounted on ${mountpoint} could not be mounted, so it will not be converted: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
}

/** virt-v2v's free-space rule: conversion writes files, and a full filesystem would break it late. */
export async function checkFreeSpace(g: Guestfs, inspection: Inspection): Promise<void> {
  const mounted = new Set(inspection.mountpoints.map((m) => m.mountpoint));
  for (const { mountpoint } of inspection.mountpoints) {
    let stats;
    try {
      stats = await g.statvfs(mountpoint);
    } catch {
      continue; // not mounted (warned above)
    }
    const free = Number(stats.bfree) * Number(stats.bsize);
    const needed =
      mountpoint === "/"
        ? inspection.type === "linux" && !mounted.has("/boot")
          ? 100_000_000 + 50_000_000
          : 100_000_000
        : mountpoint === "/boot"
          ? 50_000_000
          : 10_000_000;
    if (free < needed) {
      throw new UserError(
        `not enough free space for conversion on filesystem ‘${mountpoint}’: ${free} bytes free < ${needed} bytes needed; free some space in the guest and try again`,
      );
    }
    if (Number(stats.files) > 0 && Number(stats.ffree) < 100) {
      throw new UserError(
        `not enough available inodes for conversion on filesystem ‘${mountpoint}’: ${stats.ffree} inodes available < 100 inodes needed; delete some files in the guest and try again`,
      );
    }
  }
}
