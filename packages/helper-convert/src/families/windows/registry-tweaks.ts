/**
 * The registry changes besides the drivers (virt-v2v 2.2's update_system_hive and
 * update_software_hive): the old hypervisors' boot drivers off, no automatic reboot after a
 * crash, and the driver directory on Plug and Play's search path.
 */
import { HiveType } from "@split-v2v/libguestfs";
import type { WindowsContext } from "./context.js";
import { decodeMultiString, encodeMultiString, type Hive } from "./registry.js";

const DISABLED = { type: "dword", value: 4 } as const;

/** Parallels' services, disabled rather than deleted so that its uninstaller still works. */
const PARALLELS_SERVICES = [
  "prl_boot",
  "prl_dd",
  "prl_eth5",
  "prl_fs",
  "prl_memdev",
  "prl_mouf",
  "prl_pv32",
  "prl_pv64",
  "prl_scsi",
  "prl_sound",
  "prl_strg",
  "prl_tg",
  "prl_time",
  "prl_uprof",
  "prl_va",
] as const;

/** The disk drive class, whose LowerFilters Parallels' prl_strg joins. */
const DISK_DRIVE_CLASS = "{4d36e967-e325-11ce-bfc1-08002be10318}";

/** The Xen PV SCSI driver (rhelscsi) would grab the boot disk on KVM: RHBZ#809273. */
export async function disableXenPvDrivers(context: WindowsContext, hive: Hive): Promise<void> {
  const services = await hive.getNode([context.windows.currentControlSet, "Services"]);
  if (services === null) return;
  const rhelscsi = await context.g.hivexNodeGetChild(services, "rhelscsi");
  if (rhelscsi === null) return;
  await hive.setValue(rhelscsi, "Start", DISABLED);
  context.recordChange(
    `HKLM\\SYSTEM\\${context.windows.currentControlSet}\\Services\\rhelscsi`,
    "Start=4 (disabled)",
  );
}

export async function disableParallelsDrivers(context: WindowsContext, hive: Hive): Promise<void> {
  const { g, windows } = context;
  const services = await hive.getNode([windows.currentControlSet, "Services"]);
  if (services !== null) {
    for (const name of PARALLELS_SERVICES) {
      const service = await g.hivexNodeGetChild(services, name);
      if (service === null) continue;
      await hive.setValue(service, "Start", DISABLED);
      context.recordChange(
        `HKLM\\SYSTEM\\${windows.currentControlSet}\\Services\\${name}`,
        "Start=4 (disabled)",
      );
    }
  }
  // prl_strg.inf's DelReg, done offline: drop prl_strg from the disk class's LowerFilters.
  const diskClass = await hive.getNode([
    windows.currentControlSet,
    "Control",
    "Class",
    DISK_DRIVE_CLASS,
  ]);
  if (diskClass === null) return;
  const filters = await hive.getRaw(diskClass, "LowerFilters");
  if (filters === null) return;
  const kept = decodeMultiString(filters.data).filter((filter) => filter !== "prl_strg");
  await hive.setRaw(diskClass, "LowerFilters", HiveType.MULTI_SZ, encodeMultiString(kept));
  context.recordChange(
    `HKLM\\SYSTEM\\…\\Class\\${DISK_DRIVE_CLASS}\\LowerFilters`,
    `without prl_strg: ${kept.join(", ")}`,
  );
}

/** A guest that reboots after a crash hides the error (the infamous 0x7B) from the user. */
export async function disableAutoReboot(context: WindowsContext, hive: Hive): Promise<void> {
  const crashControl = await hive.getNode([
    context.windows.currentControlSet,
    "Control",
    "CrashControl",
  ]);
  if (crashControl === null) return;
  await hive.setValue(crashControl, "AutoReboot", { type: "dword", value: 0 });
  context.recordChange(
    `HKLM\\SYSTEM\\${context.windows.currentControlSet}\\Control\\CrashControl`,
    "AutoReboot=0",
  );
}

/** The driver directory as DevicePath names it. */
export const DEVICE_PATH_ENTRY = ";%SystemRoot%\\Drivers\\VirtIO";

/** DevicePath with the driver directory appended (once), or null when it is there already. */
export function appendToDevicePath(data: Buffer): Buffer | null {
  const append = Buffer.from(DEVICE_PATH_ENTRY, "utf16le");
  if (data.includes(append)) return null;
  const terminated = data.length >= 2 && data[data.length - 1] === 0 && data[data.length - 2] === 0;
  const text = terminated ? data.subarray(0, data.length - 2) : data;
  return Buffer.concat([text, append, Buffer.alloc(2)]);
}

/**
 * Plug and Play looks for drivers of new devices along DevicePath: add the driver directory,
 * so the virtio devices' drivers install themselves at first boot.
 */
export async function addDriverDirectoryToDevicePath(
  context: WindowsContext,
  hive: Hive,
): Promise<void> {
  const currentVersion = await hive.getNode(["Microsoft", "Windows", "CurrentVersion"]);
  if (currentVersion === null) {
    context.warning(
      "could not find registry key HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion",
    );
    return;
  }
  const devicePath = await hive.getRaw(currentVersion, "DevicePath");
  if (devicePath === null) return; // virt-v2v adds none where Windows has none
  const updated = appendToDevicePath(devicePath.data);
  if (updated === null) return;
  await hive.setRaw(currentVersion, "DevicePath", devicePath.type, updated);
  context.recordChange(
    "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\DevicePath",
    `appended ${DEVICE_PATH_ENTRY}`,
  );
}
