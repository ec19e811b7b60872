/**
 * UEFI Windows guests (virt-v2v 2.2's fix_win_esp), on every EFI system partition inspection
 * found:
 * - the boot entry's "graphicsmodedisabled" element is removed from the BCD, so the boot
 *   manager can draw on the new display;
 * - \EFI\BOOT\BOOT<arch>.EFI becomes a copy of Windows's boot manager: the firmware's boot
 *   entries stay behind on the old hypervisor, and a new UEFI guest boots the fallback path.
 */
import type { WindowsContext } from "./context.js";
import { withHiveWrite } from "./registry.js";
import { guestSpelling } from "./paths.js";

/** The BCD's {bootmgr} object, and the elements virt-v2v reads and removes. */
const BOOT_MANAGER = "{9dea862c-5cdd-4e70-acc1-f32b344d4795}";
const DEFAULT_OBJECT_ELEMENT = "23000003";
const GRAPHICS_MODE_DISABLED_ELEMENT = "16000046";

/**
 * The suffix of the UEFI fallback loader's name (BOOTX64.EFI). virt-v2v 2.2 knows x86 only, and
 * names the 32-bit one BOOTX32.EFI, which no firmware looks for: the UEFI specification's name
 * is BOOTIA32.EFI.
 */
export function uefiArchSuffix(arch: string): string | null {
  if (arch === "x86_64") return "X64";
  if (arch === "i386") return "IA32";
  return null;
}

async function enableGraphicsMode(context: WindowsContext, esp: string): Promise<void> {
  const bcd = `${esp}/EFI/Microsoft/Boot/BCD`;
  if (!(await context.g.isFile(bcd))) return;
  await withHiveWrite(context.g, bcd, async (hive) => {
    const defaultLink = await hive.getNode([
      "Objects",
      BOOT_MANAGER,
      "Elements",
      DEFAULT_OBJECT_ELEMENT,
    ]);
    if (defaultLink === null) return;
    const currentEntry = await hive.getString(defaultLink, "Element");
    if (currentEntry === null) return;
    const disabled = await hive.getNode([
      "Objects",
      currentEntry,
      "Elements",
      GRAPHICS_MODE_DISABLED_ELEMENT,
    ]);
    if (disabled === null) return;
    await hive.deleteNode(disabled);
    context.recordChange(bcd, `removed graphicsmodedisabled from boot entry ${currentEntry}`);
  });
}

async function fixFallbackLoader(
  context: WindowsContext,
  esp: string,
  archSuffix: string,
): Promise<void> {
  const { g } = context;
  // The ESP is FAT, which the appliance treats case-insensitively: any spelling works.
  const bootManager = `${esp}/efi/microsoft/boot/bootmgfw.efi`;
  if (!(await g.isFile(bootManager))) return;
  const bootDir = `${esp}/EFI/BOOT`;
  const fallback = `${bootDir}/BOOT${archSuffix}.EFI`;
  if ((await g.isFile(fallback)) && (await g.equal(fallback, bootManager))) return;
  context.info("Fixing UEFI bootloader.");
  await g.rmRf(bootDir);
  await g.mkdirP(bootDir);
  await g.cpA(bootManager, fallback);
  context.recordChange(fallback, "copy of \\EFI\\Microsoft\\Boot\\bootmgfw.efi");
}

export async function fixEfiSystemPartitions(context: WindowsContext): Promise<void> {
  const { g, inspection, windows } = context;
  if (inspection.firmware.type !== "uefi") return;
  const tempDir = await guestSpelling(g, `${windows.systemroot}/Temp`);
  await g.mkdirP(tempDir);
  const mountpoint = await g.mkdtemp(`${tempDir}/ESP_XXXXXX`);
  const archSuffix = uefiArchSuffix(inspection.arch);
  try {
    for (const esp of inspection.firmware.espDevices) {
      await g.mount(esp, mountpoint);
      try {
        await enableGraphicsMode(context, mountpoint);
        if (archSuffix !== null) await fixFallbackLoader(context, mountpoint, archSuffix);
      } finally {
        await g.umount(mountpoint);
      }
    }
  } finally {
    await g.rmdir(mountpoint);
  }
}
