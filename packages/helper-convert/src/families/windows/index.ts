/**
 * Windows guests (virt-v2v 2.2's convert_windows.ml), in virt-v2v's order: read what is
 * installed (Group Policy, anti-virus, other hypervisors' uninstallers), schedule the first-boot
 * work (PnP wait, VMDP, QEMU guest agent, uninstallers), update the SYSTEM hive (old boot
 * drivers off, no reboot on crash, the virtio drivers with a boot-start block driver), add the
 * driver directory to DevicePath in the SOFTWARE hive, static IPs, NTFS geometry for XP/2000,
 * the UEFI boot fixes. Like virt-v2v this is a "pre-conversion": enough for Windows to boot on
 * virtio; Plug and Play installs the rest of the drivers at first boot.
 *
 * Driver files are chosen by the newest virt-v2v's rules (driver-choice.ts).
 */
import type { GuestCaps, Inspection } from "@split-v2v/metadata-schema";
import type { GuestConverter } from "../family.js";
import { windowsContext, type WindowsContext } from "./context.js";
import { installVirtioDrivers, type InstalledDrivers } from "./drivers.js";
import { configureFirstBootTasks } from "./first-boot-tasks.js";
import { WindowsFirstboot, virtToolsDataDir } from "./firstboot.js";
import { fixNtfsHeads } from "./ntfs.js";
import { realTimeIsUniversal } from "./clock.js";
import { withHiveReadonly, withHiveWrite } from "./registry.js";
import {
  addDriverDirectoryToDevicePath,
  disableAutoReboot,
  disableParallelsDrivers,
  disableXenPvDrivers,
} from "./registry-tweaks.js";
import { refineWindowsInspection } from "./release.js";
import { readInstalledSoftware } from "./software.js";
import { staticIpScript } from "./static-ip.js";
import { fixEfiSystemPartitions } from "./uefi.js";
import { locateVirtioWin, openVirtioWin } from "./virtio-win.js";

export {
  driverPathMatchesGuest,
  driverPathArch,
  driverPathReleases,
  guestAgentInstallerMatches,
  targetFileName,
  type DriverChoiceGuest,
} from "./driver-choice.js";
export { bootDriverEdits, VIOSTOR_PCI_IDS } from "./drivers.js";
export { locateVirtioWin, type VirtioWinLocation } from "./virtio-win.js";
export { staticIpScript } from "./static-ip.js";
export { appendToDevicePath } from "./registry-tweaks.js";
export {
  isAntivirus,
  isGroupPolicyGuid,
  quietUninstallCommand,
  vmwareUninstallCommand,
  xenPvUninstallCommand,
} from "./software.js";
export { sanitizeScriptName } from "./firstboot.js";
export { windowsReleaseFromBuild } from "./release.js";
export { ntfsHeadsForDiskSize } from "./ntfs.js";

/**
 * The machine type. virt-v2v 2.2 asks libosinfo only when osinfo-db lists a driver for the
 * guest in a local directory (Debian's lists none) and never with $VIRTIO_WIN set; otherwise,
 * as here, the year rule: Windows from 2007 on (NT 6, Vista) gets q35, older Windows i440fx.
 * Other architectures get "virt".
 */
export function windowsMachine(
  inspection: Pick<Inspection, "arch" | "majorVersion">,
): GuestCaps["machine"] {
  if (inspection.arch !== "i386" && inspection.arch !== "x86_64") return "virt";
  return inspection.majorVersion < 6 ? "i440fx" : "q35";
}

/** The architecture KVM emulates: all x86 guests run on a 64-bit host (virt-v2v's kvm_arch). */
export function kvmArch(arch: string): string {
  return /^(i[3-6]86|x86_64|unknown)$/.test(arch) ? "x86_64" : arch;
}

function guestcapsFor(
  inspection: Inspection,
  drivers: InstalledDrivers,
  rtcUtc: boolean,
): GuestCaps {
  return {
    blockBus: drivers.blockBus,
    netBus: drivers.netBus,
    virtioRng: drivers.virtioRng,
    virtioBalloon: drivers.virtioBalloon,
    isaPvpanic: drivers.isaPvpanic,
    virtioSocket: drivers.virtioSocket,
    machine: windowsMachine(inspection),
    arch: kvmArch(inspection.arch),
    acpi: true,
    virtio10: true,
    defaultCpu: true,
    rtcUtc,
  };
}

/** A new boot driver can be blocked by Group Policy or anti-virus: 0x7B at boot (RHBZ#1260689). */
function warnAboutBootDriverBlockers(
  context: WindowsContext,
  groupPolicy: boolean,
  antivirus: boolean,
): void {
  if (groupPolicy) {
    context.warning(
      "this guest has Windows Group Policy Objects (GPO) and a new virtio block device driver was installed.  In some circumstances, Group Policy may prevent new drivers from working (resulting in a 7B boot error).  If this happens, try disabling Group Policy before doing the conversion.",
    );
  }
  if (antivirus) {
    context.warning(
      "this guest has Anti-Virus (AV) software and a new virtio block device driver was installed.  In some circumstances, AV may prevent new drivers from working (resulting in a 7B boot error).  If this happens, try disabling AV before doing the conversion.",
    );
  }
}

export const windowsConverter: GuestConverter = {
  family: "windows",
  unsupportedReason(inspection) {
    if (inspection.windows === null) {
      return `inspection found no Windows system root or registry on ${inspection.root} (${inspection.productName}); a Windows guest without them cannot be converted`;
    }
    return null;
  },
  refineInspection: refineWindowsInspection,
  async convert(base) {
    const context = windowsContext(base);
    const { g, inspection, windows } = context;

    // Both hives are read first: a damaged one stops the conversion before anything changes.
    const software = await readInstalledSoftware(context);
    const rtcUtc = await withHiveReadonly(g, windows.systemHive, (hive) =>
      realTimeIsUniversal(hive, windows.currentControlSet, context.warning),
    );

    const virtioWin = await locateVirtioWin();
    context.log(
      `virtio-win: ${virtioWin.path} (${virtioWin.fromEnvironment ? "from VIRTIO_WIN" : "default location"})`,
    );
    const source = await openVirtioWin(virtioWin.path, context.log);
    try {
      const toolsDir = virtToolsDataDir();
      const firstboot = new WindowsFirstboot(context, toolsDir);
      await configureFirstBootTasks(context, firstboot, software, source, toolsDir);

      const drivers = await withHiveWrite(g, windows.systemHive, async (hive) => {
        await disableXenPvDrivers(context, hive);
        await disableParallelsDrivers(context, hive);
        await disableAutoReboot(context, hive);
        return installVirtioDrivers(context, hive, source);
      });
      await withHiveWrite(g, windows.softwareHive, (hive) =>
        addDriverDirectoryToDevicePath(context, hive),
      );

      if (context.staticIps.length > 0) {
        // Before the other scripts (RHBZ#1788823): the addresses should be there early.
        await firstboot.addPowershell(
          "v2vnetcf.ps1",
          staticIpScript(context.staticIps, drivers.netBus === "virtio-net"),
          2500,
        );
      }

      await fixNtfsHeads(context);
      await fixEfiSystemPartitions(context);

      if (drivers.blockBus === "virtio-blk")
        warnAboutBootDriverBlockers(context, software.groupPolicy, software.antivirus);

      const caps = guestcapsFor(inspection, drivers, rtcUtc);
      context.info(
        caps.blockBus === "virtio-blk"
          ? "This guest has virtio drivers installed."
          : "This guest does not have virtio drivers installed.",
      );
      return caps;
    } finally {
      await source.close();
    }
  },
};
