/**
 * Which files of a virtio-win tree or ISO suit a guest: newest virt-v2v's rules
 * (libguestfs-common mlcustomize/inject_virtio_win.ml, virtio_iso_path_matches_guest_os).
 *
 * A file is chosen by its path: one path element names the architecture (x86 or i386 → i386,
 * amd64 → x86_64), another the Windows release in virtio-win's short form (2k22, w10, …), which
 * must be the release libguestfs's inspection names (its osinfo id: win2k22, win10, …). The
 * version, the product variant (client or server) and the service pack are all in that id. The
 * release directories of the old layout (Win2022, Win10…) and anything else name no release, so
 * they are never chosen. Debug symbols (.pdb) and the SR-IOV protocol driver (vioprot.*, sriov/),
 * which conflicts with netkvm's installation, are left out.
 */

/** What the choice depends on: inspection's architecture and osinfo id. */
export interface DriverChoiceGuest {
  arch: string;
  osinfo: string;
}

/** virtio-win's release directory names, and the osinfo ids each one serves. */
const RELEASE_DIRECTORIES: ReadonlyArray<readonly [directory: string, osinfo: readonly string[]]> =
  [
    ["xp", ["winxp"]],
    ["2k3", ["win2k3", "win2k3r2"]],
    // Vista has no directory of its own: it shares Server 2008's drivers.
    ["2k8", ["win2k8", "winvista"]],
    ["w7", ["win7"]],
    ["2k8r2", ["win2k8r2"]],
    ["w8", ["win8"]],
    ["2k12", ["win2k12"]],
    ["w8.1", ["win8.1"]],
    ["2k12r2", ["win2k12r2"]],
    ["w10", ["win10"]],
    ["w11", ["win11"]],
    ["2k16", ["win2k16"]],
    ["2k19", ["win2k19"]],
    ["2k22", ["win2k22"]],
    ["2k25", ["win2k25"]],
  ];

/** The path's elements, lower-cased (the ISO and the tree spell them differently). */
function pathElements(path: string): string[] {
  return path
    .toLowerCase()
    .split("/")
    .filter((element) => element !== "" && element !== ".");
}

/** The architecture a driver path is for, as inspection names it, or null. */
export function driverPathArch(path: string): "i386" | "x86_64" | null {
  const elements = pathElements(path).slice(0, -1);
  if (elements.includes("x86") || elements.includes("i386")) return "i386";
  if (elements.includes("amd64")) return "x86_64";
  return null;
}

/** The osinfo ids a driver path is for, or null when it names no Windows release. */
export function driverPathReleases(path: string): readonly string[] | null {
  const elements = pathElements(path).slice(0, -1);
  for (const [directory, osinfo] of RELEASE_DIRECTORIES) {
    if (elements.includes(directory)) return osinfo;
  }
  return null;
}

/** True when the file at `path` (relative to the virtio-win root) is a driver file for `guest`. */
export function driverPathMatchesGuest(path: string, guest: DriverChoiceGuest): boolean {
  const arch = driverPathArch(path);
  const releases = driverPathReleases(path);
  if (arch === null || releases === null) return false;
  const sriov = path.includes("vioprot.") || pathElements(path).slice(0, -1).includes("sriov");
  const debugSymbols = path.endsWith(".pdb");
  return arch === guest.arch && !sriov && !debugSymbols && releases.includes(guest.osinfo);
}

/** The QEMU guest agent installers virt-v2v recognises, by architecture. */
const GUEST_AGENT_INSTALLERS: Record<string, readonly string[]> = {
  i386: ["qemu-ga-x86.msi", "qemu-ga-i386.msi", "rhev-qga.msi"],
  x86_64: ["qemu-ga-x64.msi", "qemu-ga-x86_64.msi", "rhev-qga64.msi"],
};

/** True when the file at `path` is a QEMU guest agent installer for a guest of `arch`. */
export function guestAgentInstallerMatches(path: string, arch: string): boolean {
  return (GUEST_AGENT_INSTALLERS[arch] ?? []).includes(targetFileName(path));
}

/** The name a chosen file gets in the guest: its base name, lower-cased (virt-v2v's rule). */
export function targetFileName(path: string): string {
  return (path.split("/").pop() ?? path).toLowerCase();
}
