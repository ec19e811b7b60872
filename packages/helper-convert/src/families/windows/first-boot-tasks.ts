/**
 * The work left for the guest's first boot on KVM (virt-v2v 2.2's configure_firstboot), in its
 * order: wait for Plug and Play to settle (pnp_wait.exe, which must run first: it holds PnP
 * back for the scripts after it), install VMDP, install the QEMU guest agent from virtio-win,
 * then uninstall the Xen PV drivers, Parallels Tools and VMware Tools.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { guestAgentInstallerMatches, targetFileName } from "./driver-choice.js";
import type { WindowsContext } from "./context.js";
import type { WindowsFirstboot } from "./firstboot.js";
import { withHiveWrite } from "./registry.js";
import type { InstalledSoftware } from "./software.js";
import type { VirtioWinSource } from "./virtio-win.js";

/** The reg.exe command that puts a DWORD back as it was before the conversion set it to 1. */
export function registryRestoreCommand(key: string, name: string, previous: number | null): string {
  return previous === null
    ? `reg delete "${key}" /v ${name} /f`
    : `reg add "${key}" /v ${name} /t REG_DWORD /d ${previous} /f`;
}

/**
 * Windows XP and 2003 show the "New Hardware Wizard" for every new device until PnP settles
 * (https://support.microsoft.com/en-us/kb/938596): suppress it now, restore it after pnp_wait.
 * Returns the command that restores it ("" for later Windows, which needs nothing).
 */
async function suppressNewHardwareWizard(context: WindowsContext): Promise<string> {
  const { g, windows, inspection } = context;
  const setDwordOne = async (hiveFile: string, keyPath: readonly string[], name: string) =>
    withHiveWrite(g, hiveFile, async (hive) => {
      const node = await hive.createPath(keyPath);
      const previous = await hive.getDword(node, name);
      await hive.setValue(node, name, { type: "dword", value: 1 });
      return previous;
    });
  if (inspection.majorVersion === 5 && inspection.minorVersion === 1) {
    const keyPath = ["Policies", "Microsoft", "Windows", "DeviceInstall", "Settings"];
    const previous = await setDwordOne(windows.softwareHive, keyPath, "SuppressNewHWUI");
    context.recordChange(
      `HKLM\\SOFTWARE\\${keyPath.join("\\")}`,
      "SuppressNewHWUI=1 until PnP settles",
    );
    return registryRestoreCommand(
      `HKLM\\Software\\${keyPath.join("\\")}`,
      "SuppressNewHWUI",
      previous,
    );
  }
  if (inspection.majorVersion === 5 && inspection.minorVersion === 2) {
    const keyPath = ["Services", "PlugPlay", "Parameters"];
    const previous = await setDwordOne(
      windows.systemHive,
      [windows.currentControlSet, ...keyPath],
      "SuppressUI",
    );
    context.recordChange(
      `HKLM\\SYSTEM\\${windows.currentControlSet}\\${keyPath.join("\\")}`,
      "SuppressUI=1 until PnP settles",
    );
    return registryRestoreCommand(
      `HKLM\\SYSTEM\\CurrentControlSet\\${keyPath.join("\\")}`,
      "SuppressUI",
      previous,
    );
  }
  return "";
}

async function configureWaitForPnp(
  context: WindowsContext,
  firstboot: WindowsFirstboot,
  pnpWait: string,
): Promise<void> {
  const restore = await suppressNewHardwareWizard(context);
  await firstboot.addScript(
    "wait pnp",
    `@echo off

echo Wait for PnP to complete
"\\Program Files\\Guestfs\\Firstboot\\pnp_wait.exe" >"%~dpn0.log" 2>&1
${restore}`,
  );
  const directory = await firstboot.install();
  await context.g.upload(pnpWait, `${directory}/pnp_wait.exe`);
}

async function configureVmdp(
  context: WindowsContext,
  firstboot: WindowsFirstboot,
  vmdp: string,
): Promise<void> {
  await context.g.upload(vmdp, "/vmdp.exe");
  context.recordChange("/vmdp.exe", "VMDP installer, run at first boot");
  await firstboot.addScript(
    "configure vmdp",
    `echo V2V first boot script started
echo Decompressing VMDP installer
"\\vmdp.exe"
pushd "VMDP-*"
echo Installing VMDP
setup.exe /eula_accepted /no_reboot
popd
`,
  );
  await firstboot.addScript(
    "finish vmdp setup",
    `echo Finishing VMDP installation
if not exist VMDP-* (
"\\vmdp.exe"
)
pushd "VMDP-*"
setup.exe /eula_accepted /no_reboot
popd
`,
  );
}

/** Installing an MSI at first boot fails while Windows is still busy: schedule it 2 minutes on. */
export function guestAgentInstallScript(msi: string): string[] {
  return [
    "# Uncomment this line for lots of debug output.",
    "# Set-PSDebug -Trace 2",
    "",
    "Write-Host Removing any previously scheduled qemu-ga installation",
    "schtasks.exe /Delete /TN Firstboot-qemu-ga /F",
    "",
    `Write-Host Scheduling delayed installation of qemu-ga from ${msi}`,
    "$d = (get-date).AddSeconds(120)",
    "$dtfinfo = [System.Globalization.DateTimeFormatInfo]::CurrentInfo",
    "$sdp = $dtfinfo.ShortDatePattern",
    "$sdp = $sdp -replace 'y+', 'yyyy'",
    "$sdp = $sdp -replace 'M+', 'MM'",
    "$sdp = $sdp -replace 'd+', 'dd'",
    "schtasks.exe /Create /SC ONCE `",
    "  /ST $d.ToString('HH:mm') /SD $d.ToString($sdp) `",
    "  /RU SYSTEM /TN Firstboot-qemu-ga `",
    `  /TR "C:\\${msi} /forcerestart /qn /l+*vx C:\\${msi}.log"`,
  ];
}

/** Copies the guest agent's MSI(s) to C:\ and schedules their installation. */
async function configureGuestAgent(
  context: WindowsContext,
  firstboot: WindowsFirstboot,
  virtioWin: VirtioWinSource,
): Promise<void> {
  const installers = await virtioWin.files((file) =>
    guestAgentInstallerMatches(file, context.inspection.arch),
  );
  if (installers.length === 0) {
    context.warning(
      "QEMU Guest Agent MSI not found on tools ISO/directory. You may want to install the guest agent manually after conversion.",
    );
    return;
  }
  for (const installer of installers) {
    const msi = targetFileName(installer);
    await virtioWin.copyInto(context.g, installer, `/${msi}`);
    context.recordChange(`/${msi}`, `QEMU guest agent installer from ${virtioWin.location}`);
  }
  for (const installer of installers) {
    const msi = targetFileName(installer);
    await firstboot.addPowershell(`install-${msi}.ps1`, guestAgentInstallScript(msi));
  }
}

export async function configureFirstBootTasks(
  context: WindowsContext,
  firstboot: WindowsFirstboot,
  software: InstalledSoftware,
  virtioWin: VirtioWinSource,
  toolsDir: string,
): Promise<void> {
  const pnpWait = path.join(toolsDir, "pnp_wait.exe");
  if (existsSync(pnpWait)) await configureWaitForPnp(context, firstboot, pnpWait);
  else context.log(`${pnpWait} is missing.  Firstboot scripts may conflict with PnP.`);

  // VMDP is installed whenever it is available, silently skipped when not.
  const vmdp = path.join(toolsDir, "vmdp.exe");
  if (existsSync(vmdp)) await configureVmdp(context, firstboot, vmdp);

  await configureGuestAgent(context, firstboot, virtioWin);

  if (software.xenPvUninstall !== null) {
    await firstboot.addScript(
      "uninstall Xen PV",
      `@echo off

echo uninstalling Xen PV driver
"${software.xenPvUninstall}"
`,
    );
  }
  for (const uninstall of software.parallelsUninstalls) {
    await firstboot.addScript(
      "uninstall Parallels tools",
      `@echo off

REG DELETE HKLM\\System\\CurrentControlSet\\Services\\prl_strg\\DriverInfo /v RefCount /f

echo uninstalling Parallels guest tools
rem ERROR_SUCCESS_REBOOT_REQUIRED (3010) is OK too
${uninstall}
if errorlevel 3010 exit /b 0
`,
    );
  }
  for (const uninstall of software.vmwareUninstalls) {
    await firstboot.addScript(
      "uninstall VMware Tools",
      `@echo off

echo uninstalling VMware Tools
rem ERROR_SUCCESS_REBOOT_REQUIRED (3010) is OK too
${uninstall}
if errorlevel 3010 exit /b 0
`,
    );
  }
}
