/**
 * UEFI guests boot from an entry in the firmware's NVRAM, and the NVRAM does not travel with
 * the disks: on the new hypervisor the firmware starts with no entries and looks only at the
 * removable-media path, \EFI\BOOT\BOOT<ARCH>.EFI. Installers that wrote their loader only to
 * \EFI\<vendor>\ (Debian, Ubuntu, Fedora, RHEL without the fallback package) leave a guest
 * that cannot boot after conversion, so the loader is copied to the fallback path.
 *
 * virt-v2v 2.2 does this for CentOS 6 and Ubuntu 14 only ("No UEFI fix rule for …" for the
 * rest); the same rule serves every grub2 distribution: shim (if any) becomes BOOT<ARCH>.EFI
 * with grub beside it, where shim looks for it, or grub itself when there is no shim. The
 * vendor's own directory stays as it was, so an NVRAM entry made later still works.
 */
import path from "node:path";
import type { ConversionContext } from "../family.js";

const ESP_MOUNTPOINT = "/boot/efi";

/** The suffix UEFI gives each architecture's default loader (BOOTX64.EFI …), as virt-v2v. */
function uefiArchSuffix(arch: string): string | null {
  if (arch === "x86_64") return "X64";
  if (arch === "i386") return "X32";
  return null;
}

/** A directory's entries by lower-cased name: the ESP is FAT, whose names ignore case. */
async function entriesByLowerName(
  context: ConversionContext,
  directory: string,
): Promise<Map<string, string>> {
  const { g } = context;
  if (!(await g.isDir(directory))) return new Map();
  const names = await g.ls(directory);
  return new Map(names.map((name) => [name.toLowerCase(), path.posix.join(directory, name)]));
}

/** What a vendor directory holds that can boot the guest from the fallback path. */
interface VendorLoader {
  directory: string;
  shim: string | null;
  grub: string;
  /** Files that must sit beside the loader (MokManager, grub's stub configuration). */
  companions: string[];
  /** grub legacy (CentOS 6): its grub.conf must be copied as BOOT<ARCH>.conf. */
  legacyConfig: string | null;
}

async function findVendorLoader(
  context: ConversionContext,
  efiDirectory: string,
  suffix: string,
): Promise<VendorLoader | null> {
  const arch = suffix.toLowerCase();
  const vendors = [...(await entriesByLowerName(context, efiDirectory)).entries()]
    .filter(([name]) => name !== "boot")
    // The distribution's own directory first (EFI/debian for Debian …), then the others.
    .sort(([a], [b]) => rank(context, a) - rank(context, b));
  for (const [, directory] of vendors) {
    const files = await entriesByLowerName(context, directory);
    const shim = files.get(`shim${arch}.efi`) ?? null;
    const grub2 = files.get(`grub${arch}.efi`);
    if (grub2 !== undefined) {
      const companions = [`mm${arch}.efi`, "grub.cfg"]
        .map((name) => files.get(name))
        .filter((file): file is string => file !== undefined);
      return { directory, shim, grub: grub2, companions, legacyConfig: null };
    }
    const grub1 = files.get("grub.efi");
    const grub1Config = files.get("grub.conf");
    if (grub1 !== undefined && grub1Config !== undefined) {
      return { directory, shim: null, grub: grub1, companions: [], legacyConfig: grub1Config };
    }
  }
  return null;
}

function rank(context: ConversionContext, vendorName: string): number {
  const { distro } = context.inspection;
  const ownNames: Record<string, string[]> = {
    rhel: ["redhat"],
    centos: ["centos", "redhat"],
    rocky: ["rocky", "redhat"],
    oraclelinux: ["redhat"],
    sles: ["sles", "opensuse"],
    opensuse: ["opensuse"],
  };
  return (ownNames[distro] ?? [distro]).includes(vendorName) ? 0 : 1;
}

export async function fixUefiFallbackPath(context: ConversionContext): Promise<void> {
  const { g, inspection } = context;
  if (inspection.firmware.type !== "uefi") return;
  const cantFix = () => context.info("Can't fix UEFI bootloader. VM may not boot.");

  const suffix = uefiArchSuffix(inspection.arch);
  if (suffix === null) return cantFix();
  const efiDirectory = (await entriesByLowerName(context, ESP_MOUNTPOINT)).get("efi");
  if (efiDirectory === undefined) {
    context.info(`Can't find file: '${ESP_MOUNTPOINT}/EFI' needed for UEFI fixing`);
    return cantFix();
  }
  const fallbackDirectory =
    (await entriesByLowerName(context, efiDirectory)).get("boot") ??
    path.posix.join(efiDirectory, "BOOT");
  const fallbackLoader = `BOOT${suffix}.EFI`;
  const existing = await entriesByLowerName(context, fallbackDirectory);
  if (existing.has(fallbackLoader.toLowerCase())) {
    context.log(`UEFI: ${fallbackDirectory}/${fallbackLoader} exists; nothing to fix`);
    return;
  }

  context.info("Fixing UEFI bootloader.");
  const loader = await findVendorLoader(context, efiDirectory, suffix);
  if (loader === null) {
    context.info(
      `Can't find file: '${efiDirectory}/<vendor>/grub${suffix.toLowerCase()}.efi' needed for UEFI fixing`,
    );
    return cantFix();
  }
  await g.mkdirP(fallbackDirectory);
  const target = path.posix.join(fallbackDirectory, fallbackLoader);
  if (loader.shim !== null) {
    // shim loads grub<arch>.efi from its own directory.
    await g.cp(loader.shim, target);
    await g.cp(loader.grub, path.posix.join(fallbackDirectory, path.posix.basename(loader.grub)));
  } else {
    await g.cp(loader.grub, target);
  }
  for (const companion of loader.companions) {
    await g.cp(companion, path.posix.join(fallbackDirectory, path.posix.basename(companion)));
  }
  if (loader.legacyConfig !== null) {
    await g.cp(loader.legacyConfig, path.posix.join(fallbackDirectory, `BOOT${suffix}.conf`));
  }
  context.recordChange(
    target,
    `UEFI fallback loader: copied from ${loader.shim ?? loader.grub}${
      loader.shim === null ? "" : ` (with ${path.posix.basename(loader.grub)})`
    }`,
  );
}
