/**
 * What the guest's installed software tells the conversion, read from the SOFTWARE hive and the
 * application list before anything is changed (virt-v2v 2.2's convert_windows.ml): Group Policy
 * objects and anti-virus (which can keep a new boot driver from loading), and the uninstallers
 * of other hypervisors' tools (run at first boot).
 */
import type { Application2 } from "@split-v2v/libguestfs";
import { decodeRegistryString, withHiveReadonly, type Hive } from "./registry.js";
import type { WindowsContext } from "./context.js";

export interface InstalledSoftware {
  /** Group Policy objects were applied (History has {GUID} children). */
  groupPolicy: boolean;
  antivirus: boolean;
  /** The Xen PV drivers' uninstaller command, if they are installed. */
  xenPvUninstall: string | null;
  /** Uninstall commands for Parallels (or Virtuozzo) Tools. */
  parallelsUninstalls: string[];
  /** Uninstall commands for VMware Tools. */
  vmwareUninstalls: string[];
}

const UNINSTALL_KEY = ["Microsoft", "Windows", "CurrentVersion", "Uninstall"] as const;
const XEN_PV_DRIVERS = "Red Hat Paravirtualized Xen Drivers for Windows(R)";

/** Names virt-v2v takes for anti-virus software (RHBZ#1261436 for AVG's publisher). */
export function isAntivirus(app: Pick<Application2, "app2_name" | "app2_publisher">): boolean {
  return (
    /virus|kaspersky|mcafee|norton|sophos/i.test(app.app2_name) ||
    /avg technologies/i.test(app.app2_publisher)
  );
}

/** A Group Policy history entry: "{" + hex digit … "}". */
export function isGroupPolicyGuid(name: string): boolean {
  return name.length > 3 && /^\{[0-9a-fA-F].*\}$/.test(name);
}

/**
 * VMware Tools registers its *install* command (MsiExec /I) as UninstallString (RHBZ#1917760):
 * turn it into the uninstall command.
 */
export function vmwareUninstallCommand(registered: string): string {
  return /msiexec/i.test(registered) ? registered.replace(/\/i/i, "/x") : registered;
}

/** The unattended form of an MSI uninstall, logging beside the firstboot script. */
export function quietUninstallCommand(registered: string, extraParameters: string): string {
  return `${registered} /quiet /norestart /l*v+ "%~dpn0.log" REBOOT=ReallySuppress REMOVE=ALL ${extraParameters}`;
}

/** Xen PV's uninst.exe only prompts the user; _uninst.exe beside it does the work. */
export function xenPvUninstallCommand(registered: string): string {
  return /uninst\.exe$/i.test(registered)
    ? `${registered.slice(0, -"uninst.exe".length)}_uninst.exe`
    : registered;
}

async function uninstallCommands(
  context: WindowsContext,
  hive: Hive,
  prettyName: string,
  matches: (displayName: string) => boolean,
  rewrite: (registered: string) => string,
  extraParameters: string,
): Promise<string[]> {
  const uninstall = await hive.getNode(UNINSTALL_KEY);
  if (uninstall === null) return [];
  const commands: string[] = [];
  for (const entry of await context.g.hivexNodeChildren(uninstall)) {
    const displayName = await hive.getString(entry, "DisplayName");
    if (displayName === null || !matches(displayName)) continue;
    const registered = await hive.getString(entry, "UninstallString");
    if (registered === null) {
      context.warning(
        `cannot uninstall ${prettyName}: registry key ‘HKLM\\SOFTWARE\\${UNINSTALL_KEY.join("\\")}\\${await context.g.hivexNodeName(entry)}’ with DisplayName ‘${displayName}’ doesn't contain value ‘UninstallString’`,
      );
      continue;
    }
    commands.push(quietUninstallCommand(rewrite(registered), extraParameters));
  }
  // virt-v2v builds its list by prepending: the last entry's script runs first.
  return commands.reverse();
}

async function xenPvUninstaller(context: WindowsContext, hive: Hive): Promise<string | null> {
  const node = await hive.getNode([...UNINSTALL_KEY, XEN_PV_DRIVERS]);
  if (node === null) return null;
  const raw = await hive.getRaw(node, "UninstallString");
  if (raw === null) {
    context.warning(
      `cannot uninstall Xen PV drivers: registry key ‘HKLM\\SOFTWARE\\${UNINSTALL_KEY.join("\\")}\\${XEN_PV_DRIVERS}’ does not contain an ‘UninstallString’ key`,
    );
    return null;
  }
  return xenPvUninstallCommand(decodeRegistryString(raw.data));
}

async function groupPolicyApplied(hive: Hive): Promise<boolean> {
  const history = await hive.getNode([
    "Microsoft",
    "Windows",
    "CurrentVersion",
    "Group Policy",
    "History",
  ]);
  if (history === null) return false;
  return (await hive.childNames(history)).some(isGroupPolicyGuid);
}

/** Reads it all in one read-only pass over the SOFTWARE hive (which checks it is readable). */
export async function readInstalledSoftware(context: WindowsContext): Promise<InstalledSoftware> {
  const applications = await context.applications();
  return withHiveReadonly(context.g, context.windows.softwareHive, async (hive) => ({
    groupPolicy: await groupPolicyApplied(hive),
    antivirus: applications.some(isAntivirus),
    xenPvUninstall: await xenPvUninstaller(context, hive),
    parallelsUninstalls: await uninstallCommands(
      context,
      hive,
      "Parallels Tools",
      (name) => name.includes("Parallels Tools") || name.includes("Virtuozzo Tools"),
      (command) => command,
      // Without these the uninstaller still shows a reboot dialog with no way out.
      "PREVENT_REBOOT=Yes LAUNCHED_BY_SETUP_EXE=Yes",
    ),
    vmwareUninstalls: await uninstallCommands(
      context,
      hive,
      "VMware Tools",
      (name) => name.includes("VMware Tools"),
      vmwareUninstallCommand,
      "",
    ),
  }));
}
