/**
 * Which Windows release the guest is, from its build number.
 *
 * Windows 11 and Server 2019/2022/2025 all call themselves version 10.0, and Windows 11 even
 * keeps "Windows 10" in its ProductName. libguestfs 1.48 (Debian 12's) tells only some of them
 * apart: it reports Windows 11 as win10 and Server 2025 as win2k16, so their drivers and the
 * libvirt osinfo id would be an older release's. Newer libguestfs decides by
 * HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\CurrentBuildNumber, and so does this.
 */
import type { Inspection } from "@split-v2v/metadata-schema";
import { withHiveReadonly } from "./registry.js";
import type { Guestfs } from "@split-v2v/libguestfs";

/** The first build of each NT 10.0 release, newest first (Microsoft's release tables). */
const SERVER_BUILDS: ReadonlyArray<readonly [firstBuild: number, osinfo: string]> = [
  [26100, "win2k25"],
  [20348, "win2k22"],
  [17763, "win2k19"],
  [14393, "win2k16"],
];
const WINDOWS_11_FIRST_BUILD = 22000;

export interface WindowsRelease {
  osinfo: string;
  productName: string;
}

/**
 * The release of an NT 10.0 guest from its build number and product variant ("Client",
 * "Server", …); null when the build does not decide it (other versions, no build number).
 */
export function windowsReleaseFromBuild(
  inspection: Pick<Inspection, "majorVersion" | "minorVersion" | "productVariant" | "productName">,
  build: number | null,
): WindowsRelease | null {
  if (inspection.majorVersion !== 10 || inspection.minorVersion !== 0 || build === null)
    return null;
  if (/server/i.test(inspection.productVariant)) {
    const release = SERVER_BUILDS.find(([first]) => build >= first);
    return release === undefined
      ? null
      : { osinfo: release[1], productName: inspection.productName };
  }
  if (build >= WINDOWS_11_FIRST_BUILD) {
    // Windows 11 kept "Windows 10 Pro" (and so on) as its registry ProductName.
    return {
      osinfo: "win11",
      productName: inspection.productName.replace(/^Windows 10\b/, "Windows 11"),
    };
  }
  return { osinfo: "win10", productName: inspection.productName };
}

const CURRENT_VERSION = ["Microsoft", "Windows NT", "CurrentVersion"] as const;

/** The guest's CurrentBuildNumber from its SOFTWARE hive, or null when it has none. */
export async function readWindowsBuild(g: Guestfs, softwareHive: string): Promise<number | null> {
  return withHiveReadonly(g, softwareHive, async (hive) => {
    const node = await hive.getNode(CURRENT_VERSION);
    if (node === null) return null;
    const text = await hive.getString(node, "CurrentBuildNumber");
    const build = text === null ? NaN : Number.parseInt(text, 10);
    return Number.isFinite(build) ? build : null;
  });
}

/** The inspection with the release decided by build number (unchanged when it decides nothing). */
export async function refineWindowsInspection(
  g: Guestfs,
  inspection: Inspection,
  log: (line: string) => void,
): Promise<Inspection> {
  if (inspection.windows === null) return inspection;
  const build = await readWindowsBuild(g, inspection.windows.softwareHive);
  const release = windowsReleaseFromBuild(inspection, build);
  if (
    release === null ||
    (release.osinfo === inspection.osinfo && release.productName === inspection.productName)
  ) {
    return inspection;
  }
  log(
    `Windows build ${build}: ${release.osinfo} (${release.productName}), where libguestfs inspection said ${inspection.osinfo} (${inspection.productName})`,
  );
  return { ...inspection, osinfo: release.osinfo, productName: release.productName };
}
