/**
 * The guest's bootloader: where its configuration is, which configuration entries name devices,
 * and how to regenerate it with the guest's own tool (virt-v2v's linux_bootloaders.ml).
 */
import { UserError } from "@split-v2v/common";
import type { ConversionContext } from "../family.js";
import type { LinuxFamily } from "./family.js";
import { firstFile, runInGuest, saveAugeas } from "./guest-files.js";

export interface Bootloader {
  kind: "grub2" | "grub1";
  /** The generated configuration file (grub.cfg, menu.lst/grub.conf). */
  config: string;
  /** Augeas paths of settings that may name a device (kernel command lines). */
  augeasDevicePaths: readonly string[];
  /** Files whose root=/resume= arguments must follow the device renaming (generated configs, BLS entries). */
  kernelArgumentFiles: readonly string[];
  /** Besides `config`, the files `regenerate` rewrites (grub2's grubenv, kernelopts on RHEL). */
  regeneratedFiles: readonly string[];
  /** Regenerates `config` with the guest's own tool; false if the guest has none. */
  regenerate(context: ConversionContext): Promise<boolean>;
}

const GRUB2_DEVICE_PATHS = [
  "/files/etc/sysconfig/grub/GRUB_CMDLINE_LINUX",
  "/files/etc/default/grub/GRUB_CMDLINE_LINUX",
  "/files/etc/default/grub/GRUB_CMDLINE_LINUX_DEFAULT",
];

export async function detectBootloader(
  context: ConversionContext,
  family: LinuxFamily,
): Promise<Bootloader> {
  const { g } = context;
  const efiConfigs = (await g.globExpand("/boot/efi/EFI/*/grub.cfg")).filter(
    (path) => !path.includes("/BOOT/"),
  );
  const grub2 = await firstFile(context, [
    "/boot/grub2/grub.cfg",
    "/boot/grub/grub.cfg",
    ...efiConfigs,
  ]);
  if (grub2 !== null) {
    const bls = await g.globExpand("/boot/loader/entries/*.conf");
    const grubenv = await firstFile(context, ["/boot/grub2/grubenv", "/boot/grub/grubenv"]);
    return {
      kind: "grub2",
      config: grub2,
      augeasDevicePaths: GRUB2_DEVICE_PATHS,
      kernelArgumentFiles: [grub2, ...bls, ...(grubenv ? [grubenv] : [])],
      regeneratedFiles: grubenv ? [grubenv] : [],
      async regenerate(ctx) {
        // Debian's wrapper first, then the distribution's grub-mkconfig.
        if (family === "debian") {
          const updateGrub = await firstFile(ctx, ["/usr/sbin/update-grub", "/sbin/update-grub"]);
          if (updateGrub !== null) {
            await runInGuest(ctx, [updateGrub]);
            return true;
          }
        }
        const mkconfig = await firstFile(ctx, [
          "/usr/sbin/grub2-mkconfig",
          "/sbin/grub2-mkconfig",
          "/usr/sbin/grub-mkconfig",
          "/sbin/grub-mkconfig",
        ]);
        if (mkconfig === null) return false;
        await runInGuest(ctx, [mkconfig, "-o", grub2]);
        return true;
      },
    };
  }
  const grub1 = await firstFile(context, [
    "/boot/grub/menu.lst",
    "/boot/grub/grub.conf",
    "/boot/grub2/grub.conf",
  ]);
  if (grub1 !== null) {
    return {
      kind: "grub1",
      config: grub1,
      augeasDevicePaths: [`/files${grub1}/title/kernel/root`, `/files${grub1}/title/kernel/resume`],
      kernelArgumentFiles: [grub1],
      regeneratedFiles: [],
      regenerate: () => Promise.resolve(false),
    };
  }
  throw new UserError(
    "no bootloader was detected in the guest (neither grub2's grub.cfg nor grub1's menu.lst/grub.conf); virt-v2v can only convert guests that boot with GRUB",
  );
}

/**
 * Makes `vmlinuz` (the chosen kernel) the bootloader's default: with grubby where the guest has it
 * (RHEL family, BLS or not), through augeas for grub1's menu.lst/grub.conf. grub2 without grubby
 * (Debian, Ubuntu) boots its first entry, the newest kernel: only a different choice needs action.
 */
export async function setDefaultKernel(
  context: ConversionContext,
  bootloader: Bootloader,
  vmlinuz: string,
  isNewest: boolean,
): Promise<void> {
  const { g } = context;
  const grubby = await firstFile(context, ["/usr/sbin/grubby", "/sbin/grubby"]);
  if (grubby !== null) {
    await runInGuest(context, [grubby, "--set-default", vmlinuz]);
    context.recordChange(bootloader.config, `default kernel ${vmlinuz} (grubby)`);
    return;
  }
  if (bootloader.kind === "grub1") {
    const titles = await g.augMatch(`/files${bootloader.config}/title`);
    for (const [index, title] of titles.entries()) {
      const kernel = await g.augGet(`${title}/kernel`).catch(() => "");
      if (kernel === vmlinuz || kernel.endsWith(vmlinuz.replace(/^\/boot/, ""))) {
        const config = `/files${bootloader.config}`;
        if ((await g.augMatch(`${config}/default`)).length === 0) {
          // grub1's lens wants the global settings before the first "title"; a "default"
          // that augeas appends after the entries cannot be written back.
          await g.augInsert(`${config}/*[1]`, "default", true);
        }
        await g.augSet(`${config}/default`, String(index));
        await saveAugeas(context);
        context.recordChange(bootloader.config, `default entry ${index} (${vmlinuz})`);
        return;
      }
    }
  }
  if (!isNewest) {
    context.warning(
      `could not make ${vmlinuz} the default kernel in ${bootloader.config}: choose it in the boot menu, or set GRUB_DEFAULT, after conversion`,
    );
  }
}
