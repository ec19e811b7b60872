/**
 * The smaller changes virt-v2v makes to a Linux guest: stale device caches, module aliases for
 * the new devices, the serial console, SELinux relabelling.
 */
import type { ConversionContext } from "../family.js";
import type { Bootloader } from "./bootloader.js";
import { saveAugeas } from "./guest-files.js";

/** blkid and LVM caches remember the old devices; the guest rebuilds them at boot. */
export async function removeDeviceCaches(context: ConversionContext): Promise<void> {
  for (const file of ["/etc/blkid/blkid.tab", "/etc/blkid.tab", "/etc/lvm/cache/.cache"]) {
    if (await context.g.isFile(file)) {
      await context.g.rm(file);
      context.recordChange(file, "removed (stale device cache)");
    }
  }
}

/**
 * Old guests load their disk and network drivers through modprobe aliases (alias eth0 vmxnet3,
 * alias scsi_hostadapter mptspi): point them at virtio (or the emulated fallbacks).
 */
export async function configureModuleAliases(
  context: ConversionContext,
  blockModule: string,
  netModule: string,
): Promise<void> {
  const { g } = context;
  const aliases = [
    ...(await g.augMatch("/files/etc/modprobe.conf/alias")),
    ...(await g.augMatch("/files/etc/modules.conf/alias")),
    ...(await g.augMatch("/files/etc/conf.modules/alias")),
    ...(await g.augMatch("/files/etc/modprobe.d/*/alias")),
  ];
  let changed = false;
  for (const alias of aliases) {
    const name = await g.augGet(alias);
    const target = /^eth\d+$/.test(name)
      ? netModule
      : /^scsi_hostadapter\d*$/.test(name)
        ? blockModule
        : null;
    if (target === null) continue;
    const current = await g.augGet(`${alias}/modulename`);
    if (current === target) continue;
    await g.augSet(`${alias}/modulename`, target);
    context.recordChange(
      alias.replace(/^\/files/, "").replace(/\/alias.*$/, ""),
      `alias ${name}: ${current} → ${target}`,
    );
    changed = true;
  }
  if (changed) await saveAugeas(context);
}

/**
 * Keep the serial console usable on KVM: Xen's consoles (xvc0, hvc0) become ttyS0 in the kernel
 * command lines, inittab and securetty.
 */
export async function configureSerialConsole(
  context: ConversionContext,
  augeasCommandLines: readonly string[],
): Promise<void> {
  const { g } = context;
  let changed = false;
  for (const path of augeasCommandLines) {
    for (const match of await g.augMatch(path)) {
      const value = await g.augGet(match);
      const updated = value.replace(/console=(?:xvc0|hvc0)\b/g, "console=ttyS0");
      if (updated !== value) {
        await g.augSet(match, updated);
        context.recordChange(match.replace(/^\/files/, ""), "console on ttyS0");
        changed = true;
      }
    }
  }
  for (const match of await g.augMatch(
    "/files/etc/inittab/*/process[. =~ regexp('.*(xvc0|hvc0).*')]",
  )) {
    const value = await g.augGet(match);
    await g.augSet(match, value.replace(/xvc0|hvc0/g, "ttyS0"));
    context.recordChange("/etc/inittab", "getty on ttyS0");
    changed = true;
  }
  if (changed) await saveAugeas(context);
}

/**
 * For an output that gives the guest no serial port (-o rhv, -o vdsm): the Xen consoles go from
 * the kernel command lines (grub2's defaults, grub1's `console` entries), and the gettys on
 * them or on ttyS0 from inittab, as do xvc0/hvc0 from securetty.
 */
export async function removeSerialConsole(
  context: ConversionContext,
  bootloader: Pick<Bootloader, "kind" | "config" | "augeasDevicePaths">,
): Promise<void> {
  const { g } = context;
  const xenConsole = /\bconsole=[xh]vc0\b/;
  let changed = false;
  for (const path of bootloader.augeasDevicePaths) {
    for (const match of await g.augMatch(path)) {
      const value = await g.augGet(match);
      if (!xenConsole.test(value)) continue;
      const updated = value
        .replace(new RegExp(`\\s*${xenConsole.source}`, "g"), "")
        .replace(new RegExp(xenConsole.source, "g"), "")
        .trim();
      await g.augSet(match, updated);
      context.recordChange(match.replace(/^\/files/, ""), "Xen console removed");
      changed = true;
    }
  }
  if (bootloader.kind === "grub1") {
    for (const match of await g.augMatch(`/files${bootloader.config}/title/kernel/console`)) {
      if (/\b[xh]vc0\b/.test(await g.augGet(match))) {
        await g.augRm(match);
        context.recordChange(bootloader.config, "Xen console removed");
        changed = true;
      }
    }
  }
  for (const match of await g.augMatch("/files/etc/inittab/*/process")) {
    if (/\b([xh]vc0|ttyS0)\b/.test(await g.augGet(match))) {
      await g.augRm(`${match}/..`);
      context.recordChange("/etc/inittab", "serial getty removed");
      changed = true;
    }
  }
  for (const match of await g.augMatch("/files/etc/securetty/*")) {
    const tty = await g.augGet(match);
    if (tty === "xvc0" || tty === "hvc0") {
      await g.augRm(match);
      context.recordChange("/etc/securetty", `${tty} removed`);
      changed = true;
    }
  }
  if (changed) await saveAugeas(context);
}

/** SELinux guests need their labels fixed for the files we wrote: relabel at next boot. */
export async function scheduleSelinuxRelabel(context: ConversionContext): Promise<void> {
  const { g } = context;
  if (!(await g.isFile("/etc/selinux/config"))) return;
  const config = (await g.readFile("/etc/selinux/config")).toString("utf8");
  if (/^\s*SELINUX\s*=\s*disabled\s*$/m.test(config)) return;
  await g.touch("/.autorelabel");
  context.recordChange("/.autorelabel", "SELinux relabel at next boot");
}

/**
 * X11: VMware's or VirtualBox's display driver named in xorg.conf becomes "modesetting", which
 * drives the emulated VGA/QXL devices; the old card's VendorName/BoardName go.
 */
export async function configureDisplayDriver(context: ConversionContext): Promise<void> {
  const { g } = context;
  let xorgConf = "/etc/X11/xorg.conf";
  if (!(await g.isFile(xorgConf)) && (await g.isFile("/etc/X11/XF86Config"))) {
    await g.augSet("/augeas/load/Xorg/incl[last()+1]", "/etc/X11/XF86Config");
    await g.augLoad();
    xorgConf = "/etc/X11/XF86Config";
  }
  const drivers = await g.augMatch(`/files${xorgConf}/Device/Driver`);
  for (const driver of drivers) await g.augSet(driver, "modesetting");
  for (const node of [
    ...(await g.augMatch(`/files${xorgConf}/Device/VendorName`)),
    ...(await g.augMatch(`/files${xorgConf}/Device/BoardName`)),
  ]) {
    await g.augRm(node);
  }
  if (drivers.length === 0) return;
  await saveAugeas(context);
  context.recordChange(xorgConf, "display driver set to modesetting");
  if (!(await g.isFile("/usr/bin/X")) && !(await g.isFile("/usr/bin/X11/X"))) {
    context.warning(
      "The display driver was updated to ‘modesetting’, but X11 does not seem to be installed in the guest.  X may not function correctly.",
    );
  }
}
