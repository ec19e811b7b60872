/**
 * Rebuilding the chosen kernel's initramfs with the virtio drivers, with the guest's own tool
 * (dracut, update-initramfs, SUSE's mkinitrd, ALT's make-initrd), run inside the guest. Without
 * this a guest whose initramfs only knows VMware's SCSI controllers cannot find its root on virtio.
 */
import { UserError } from "@split-v2v/common";
import type { ConversionContext } from "../family.js";
import type { LinuxFamily } from "./family.js";
import { firstFile, runInGuest } from "./guest-files.js";
import type { InstalledKernel } from "./kernels.js";

/**
 * The modules virt-v2v adds, in virt-v2v's order (RHEL 3's probing order decides vdX numbering),
 * limited to those the kernel has; sym53c8xx when it has none of them.
 */
export function initramfsModules(kernel: InstalledKernel): string[] {
  const wanted = [
    "virtio",
    "virtio_ring",
    "virtio_blk",
    "virtio_scsi",
    "virtio_net",
    "virtio_pci",
    "xts",
    "bochs-drm",
    "bochs",
  ];
  const present = wanted.filter((module) => kernel.modules.has(module.replace(/-/g, "_")));
  return present.length > 0 ? present : ["sym53c8xx"];
}

export async function rebuildInitramfs(
  context: ConversionContext,
  kernel: InstalledKernel,
  family: LinuxFamily,
  root: string,
): Promise<void> {
  const { g } = context;
  if (kernel.initrd === null) {
    context.log(`kernel ${kernel.version} has no initramfs: nothing to rebuild`);
    return;
  }
  const initrd = kernel.initrd;
  const modules = initramfsModules(kernel);
  // dracut and mkinitrd refuse to overwrite: keep the old image beside the new one.
  await g.mv(initrd, `${initrd}.pre-v2v`);
  context.recordChange(initrd, `moved to ${initrd}.pre-v2v`);

  const dracut = await firstFile(context, ["/sbin/dracut", "/usr/bin/dracut", "/usr/sbin/dracut"]);
  if (dracut !== null) {
    await runInGuest(context, [dracut, "--add-drivers", modules.join(" "), initrd, kernel.version]);
    context.recordChange(initrd, `rebuilt by dracut with ${modules.join(" ")}`);
    return;
  }
  if (family === "suse" && (await g.isFile("/sbin/mkinitrd"))) {
    await runInGuest(context, [
      "/usr/bin/env",
      `rootdev=${root}`,
      "/sbin/mkinitrd",
      "-m",
      modules.join(" "),
      "-i",
      initrd,
      "-k",
      kernel.vmlinuz,
      "-d",
      root,
    ]);
    context.recordChange(initrd, `rebuilt by mkinitrd with ${modules.join(" ")}`);
    return;
  }
  if (family === "debian") {
    const updateInitramfs = await firstFile(context, [
      "/usr/sbin/update-initramfs",
      "/sbin/update-initramfs",
    ]);
    if (updateInitramfs === null) {
      throw new UserError(
        `unable to rebuild initrd (${initrd}) because update-initramfs was not found in the guest`,
      );
    }
    // initramfs-tools reads the modules to include from this file (modules(5) format).
    const listFile = "/etc/initramfs-tools/modules";
    const existing = (await g.isFile(listFile))
      ? (await g.readFile(listFile)).toString("utf8")
      : "";
    const listed = new Set(existing.split("\n").map((line) => line.trim().split(/\s+/)[0]));
    const missing = modules.filter((module) => !listed.has(module));
    if (missing.length > 0) {
      const separator = existing === "" || existing.endsWith("\n") ? "" : "\n";
      await g.write(
        listFile,
        `${existing}${separator}# The following modules were added by virt-v2v\n${missing.join("\n")}\n`,
      );
      context.recordChange(listFile, `added ${missing.join(" ")}`);
    }
    await runInGuest(context, [updateInitramfs, "-c", "-k", kernel.version]);
    context.recordChange(initrd, `rebuilt by update-initramfs with ${modules.join(" ")}`);
    return;
  }
  if (await g.isFile("/usr/sbin/make-initrd")) {
    await runInGuest(context, ["/usr/sbin/make-initrd", "-k", kernel.version]);
    context.recordChange(initrd, "rebuilt by make-initrd");
    return;
  }
  if (await g.isFile("/sbin/mkinitrd")) {
    await runInGuest(context, [
      "/sbin/mkinitrd",
      ...modules.map((module) => `--with=${module}`),
      initrd,
      kernel.version,
    ]);
    context.recordChange(initrd, `rebuilt by mkinitrd with ${modules.join(" ")}`);
    return;
  }
  throw new UserError(
    `unable to rebuild initrd (${initrd}) because mkinitrd or dracut was not found in the guest`,
  );
}
