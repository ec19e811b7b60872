/**
 * Removing the other hypervisors' guest software (VMware tools, VirtualBox additions, Xen and
 * Parallels tools) with the guest's own package manager, as virt-v2v does.
 */
import type { Application2 } from "@split-v2v/libguestfs";
import type { ConversionContext } from "../family.js";
import type { LinuxFamily } from "./family.js";
import { runInGuest, saveAugeas } from "./guest-files.js";

/** The packages to remove: virt-v2v's lists for VMware, VirtualBox, Xen and Parallels. */
export function packagesToRemove(apps: readonly Application2[], family: LinuxFamily): string[] {
  const names = new Set(apps.map((app) => app.app2_name));
  // On Ubuntu the ubuntu-server metapackage depends on open-vm-tools: removing it would break it.
  const keepOpenVmTools = family === "debian" && names.has("ubuntu-server");
  const remove: string[] = [];
  for (const name of names) {
    if (
      (name.startsWith("vmware-tools-") && !name.startsWith("vmware-tools-libraries-")) ||
      name === "VMwareTools" ||
      name.startsWith("kmod-vmware-tools") ||
      name.startsWith("open-vm-tools-") ||
      (name === "open-vm-tools" && !keepOpenVmTools) ||
      // VirtualBox guest additions
      name.startsWith("virtualbox-guest-") ||
      name === "virtualbox-ose-guest-utils" ||
      // Xen PV drivers and tools
      name === "kmod-xenpv" ||
      name.startsWith("kmod-xenpv-") ||
      name === "xe-guest-utilities" ||
      name.startsWith("xen-tools") ||
      // Parallels tools
      name.startsWith("parallels-tools")
    ) {
      remove.push(name);
    }
  }
  return remove.sort();
}

export async function removePackages(
  context: ConversionContext,
  packageFormat: string,
  packages: string[],
): Promise<void> {
  if (packages.length === 0) return;
  const argv =
    packageFormat === "deb"
      ? ["dpkg", "--purge", ...packages]
      : ["rpm", "-e", "--allmatches", ...packages];
  await runInGuest(context, argv);
  context.recordChange(
    `packages ${packages.join(" ")}`,
    `removed with ${argv.slice(0, argv.length - packages.length).join(" ")}`,
  );
}

/**
 * VMware Tools installed from VMware's tarball have no package: run their uninstaller, telling it
 * not to rebuild initramfs images (ours is rebuilt anyway, for the chosen kernel only).
 */
export async function runVmwareUninstaller(
  context: ConversionContext,
  root: string,
  family: LinuxFamily,
): Promise<void> {
  const { g } = context;
  const uninstaller = "/usr/bin/vmware-uninstall-tools.pl";
  if (!(await g.isFile(uninstaller))) return;
  const locations = "/etc/vmware-tools/locations";
  if (await g.isFile(locations)) {
    await g.writeAppend(
      locations,
      "remove_answer RESTORE_RAMDISK_CMD\nremove_answer RESTORE_RAMDISK_KERNELS\nremove_answer RESTORE_RAMDISK_ONECALL\n",
    );
  }
  try {
    await runInGuest(
      context,
      family === "suse" ? ["/usr/bin/env", `rootdev=${root}`, uninstaller] : [uninstaller],
    );
    context.recordChange(uninstaller, "ran VMware Tools' own uninstaller");
  } catch (err) {
    context.warning(
      `VMware tools was detected, but uninstallation failed.  The error message was: ${err instanceof Error ? err.message : String(err)} (ignored)`,
    );
  }
}

/** Disables yum repositories that point at vmware.com (they would fail once off VMware). */
export async function disableVmwareRepositories(context: ConversionContext): Promise<void> {
  const { g } = context;
  const repos = await g.augMatch(
    "/files/etc/yum.repos.d/*/*[baseurl =~ regexp('https?://([^/]+\\\\.)?vmware\\\\.com/.*')]",
  );
  for (const repo of repos) {
    await g.augSet(`${repo}/enabled`, "0");
    context.recordChange(repo.replace(/^\/files/, ""), "disabled the VMware yum repository");
  }
  if (repos.length > 0) await saveAugeas(context);
}
