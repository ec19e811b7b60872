/** Linux distributions grouped as virt-v2v groups them: same package tools, same boot tools. */
export type LinuxFamily = "rhel" | "suse" | "debian" | "alt";

const FAMILIES: Record<string, LinuxFamily> = {
  fedora: "rhel",
  rhel: "rhel",
  centos: "rhel",
  scientificlinux: "rhel",
  "redhat-based": "rhel",
  oraclelinux: "rhel",
  rocky: "rhel",
  altlinux: "alt",
  sles: "suse",
  "suse-based": "suse",
  opensuse: "suse",
  debian: "debian",
  ubuntu: "debian",
  linuxmint: "debian",
  kalilinux: "debian",
};

export function linuxFamilyOf(distro: string): LinuxFamily | null {
  return FAMILIES[distro] ?? null;
}

export const SUPPORTED_DISTROS = Object.keys(FAMILIES);
