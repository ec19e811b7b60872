/**
 * The virtio drivers (virt-v2v 2.2's windows_virtio.ml, with the newest virt-v2v's choice of
 * files): copy the guest's drivers from virtio-win to %SystemRoot%\Drivers\VirtIO, where Plug
 * and Play finds them at first boot; make the block driver a boot-start service, so Windows can
 * reach its system disk on virtio-blk at all; say which virtio devices the guest can now drive.
 */
import type { GuestCaps } from "@split-v2v/metadata-schema";
import { driverPathMatchesGuest, targetFileName } from "./driver-choice.js";
import type { WindowsContext } from "./context.js";
import type { Hive, RegistryEdit } from "./registry.js";
import type { VirtioWinSource } from "./virtio-win.js";
import { guestSpelling } from "./paths.js";

/** The class of SCSI adapters, which the storage drivers belong to. */
const SCSI_CLASS_GUID = "{4D36E97B-E325-11CE-BFC1-08002BE10318}";

/** virtio-blk's PCI ids, legacy (transitional) and modern, as virt-v2v 2.2 registers them. */
export const VIOSTOR_PCI_IDS = [
  "VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00",
  "VEN_1AF4&DEV_1042&SUBSYS_11001AF4&REV_01",
] as const;

/** Block driver file names, in virt-v2v's order of preference. */
const BLOCK_DRIVERS = ["virtio_blk", "vrtioblk", "viostor"] as const;
const NETWORK_DRIVER_INFS = ["virtio_net.inf", "netkvm.inf"] as const;

export interface InstalledDrivers {
  blockBus: GuestCaps["blockBus"];
  netBus: GuestCaps["netBus"];
  virtioRng: boolean;
  virtioBalloon: boolean;
  isaPvpanic: boolean;
  virtioSocket: boolean;
}

/** The driver directory, spelled as the guest spells what exists of it. */
export async function driverDirectory(context: WindowsContext): Promise<string> {
  return guestSpelling(context.g, `${context.windows.systemroot}/Drivers/VirtIO`);
}

/**
 * Windows before 8 finds boot drivers for new devices in the CriticalDeviceDatabase; Windows 8
 * and later in the DriverDatabase (which is how virt-v2v tells them apart: by that key).
 */
export function bootDriverEdits(
  driver: string,
  pciId: string,
  currentControlSet: string,
  arch: string,
  hasDriverDatabase: boolean,
): RegistryEdit[] {
  const service: RegistryEdit = {
    path: [currentControlSet, "Services", driver],
    values: [
      ["Type", { type: "dword", value: 0x1 }],
      ["Start", { type: "dword", value: 0x0 }],
      ["Group", { type: "sz", value: "SCSI miniport" }],
      ["ErrorControl", { type: "dword", value: 0x1 }],
      ["ImagePath", { type: "expand-sz", value: `system32\\drivers\\${driver}.sys` }],
    ],
  };
  if (!hasDriverDatabase) {
    return [
      {
        path: [currentControlSet, "Control", "CriticalDeviceDatabase", `PCI#${pciId}`],
        values: [
          ["Service", { type: "sz", value: driver }],
          ["ClassGUID", { type: "sz", value: SCSI_CLASS_GUID }],
        ],
      },
      service,
    ];
  }
  // A stand-in driver package ("guestor") that binds the device to the service until PnP
  // installs the real package at first boot. The package name follows Windows's own form
  // (name.inf_arch_hash): newer virt-v2v found that pnputil and Windows Update choke on the
  // "guestor.inf_tmp" that 2.2 wrote.
  const inf = "guestor.inf";
  const winArch = arch === "i386" ? "x86" : "amd64";
  const infLabel = `${inf}_${winArch}_0000000000000000`;
  const configuration = "guestor_conf";
  const version = Buffer.concat([
    Buffer.from([0x00, 0xff, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00]),
    // {4D36E97B-E325-11CE-BFC1-08002BE10318} in its binary form, then padding.
    Buffer.from([0x7b, 0xe9, 0x36, 0x4d, 0x25, 0xe3, 0xce, 0x11]),
    Buffer.from([0xbf, 0xc1, 0x08, 0x00, 0x2b, 0xe1, 0x03, 0x18]),
    Buffer.alloc(24),
  ]);
  return [
    {
      path: ["DriverDatabase", "DriverInfFiles", inf],
      values: [
        ["", { type: "multi-sz", value: [infLabel] }],
        ["Active", { type: "sz", value: infLabel }],
        ["Configurations", { type: "multi-sz", value: [configuration] }],
      ],
    },
    {
      path: ["DriverDatabase", "DeviceIds", "PCI", pciId],
      values: [[inf, { type: "binary", value: Buffer.from([0x01, 0xff, 0x00, 0x00]) }]],
    },
    {
      path: ["DriverDatabase", "DriverPackages", infLabel],
      // Windows-Kernel-Pnp on Windows 10 / 2016 needs the Version.
      values: [["Version", { type: "binary", value: version }]],
    },
    {
      path: ["DriverDatabase", "DriverPackages", infLabel, "Configurations", configuration],
      values: [
        ["ConfigFlags", { type: "dword", value: 0 }],
        ["Service", { type: "sz", value: driver }],
      ],
    },
    {
      path: ["DriverDatabase", "DriverPackages", infLabel, "Descriptors", "PCI", pciId],
      values: [["Configuration", { type: "sz", value: configuration }]],
    },
    service,
  ];
}

/** Copies every file of virtio-win that suits the guest; returns the names written. */
async function copyMatchingDrivers(
  context: WindowsContext,
  virtioWin: VirtioWinSource,
  directory: string,
): Promise<string[]> {
  const guest = { arch: context.inspection.arch, osinfo: context.inspection.osinfo };
  const chosen = await virtioWin.files((file) => driverPathMatchesGuest(file, guest));
  // Several copies of a driver (by-os/, by-driver/) land on one name: the last one wins.
  const byTarget = new Map<string, string>();
  for (const file of chosen) byTarget.set(targetFileName(file), file);
  for (const [target, file] of byTarget) {
    await virtioWin.copyInto(context.g, file, `${directory}/${target}`);
  }
  return [...byTarget.keys()];
}

/**
 * Installs the drivers with the SYSTEM hive open for writing (`hive`), which the caller
 * commits. Warns, as virt-v2v does, for each kind of device that stays emulated.
 */
export async function installVirtioDrivers(
  context: WindowsContext,
  hive: Hive,
  virtioWin: VirtioWinSource,
): Promise<InstalledDrivers> {
  const { g, inspection, windows } = context;
  const directory = await driverDirectory(context);
  await g.mkdirP(directory);
  const version = `${inspection.majorVersion}.${inspection.minorVersion}`;

  const copied = await copyMatchingDrivers(context, virtioWin, directory);
  if (copied.length === 0) {
    context.warning(
      `there are no virtio drivers available for this version of Windows (${version} ${inspection.arch} ${inspection.productVariant} ${inspection.osinfo}).  virt-v2v looks for drivers in ${virtioWin.location}\n\nThe guest will be configured to use slower emulated devices.`,
    );
    return {
      blockBus: "ide",
      netBus: "rtl8139",
      virtioRng: false,
      virtioBalloon: false,
      isaPvpanic: false,
      virtioSocket: false,
    };
  }
  context.recordChange(
    directory,
    `virtio drivers from ${virtioWin.location}: ${copied.sort().join(" ")}`,
  );

  // What the directory holds now (an earlier conversion may have left files too).
  let present = new Set(await g.ls(directory));

  const blockDriver = BLOCK_DRIVERS.find((driver) => present.has(`${driver}.sys`)) ?? null;
  let blockBus: GuestCaps["blockBus"] = "ide";
  if (blockDriver === null) {
    context.warning(
      `there is no virtio block device driver for this version of Windows (${version} ${inspection.arch}).  virt-v2v looks for this driver in ${virtioWin.location}\n\nThe guest will be configured to use a slower emulated device.`,
    );
  } else {
    const target = await guestSpelling(
      g,
      `${windows.systemroot}/system32/drivers/${blockDriver}.sys`,
    );
    await g.cp(`${directory}/${blockDriver}.sys`, target);
    context.recordChange(target, "boot driver for virtio-blk");
    const hasDriverDatabase = (await hive.getNode(["DriverDatabase"])) !== null;
    for (const pciId of VIOSTOR_PCI_IDS) {
      await hive.importEdits(
        bootDriverEdits(
          blockDriver,
          pciId,
          windows.currentControlSet,
          inspection.arch,
          hasDriverDatabase,
        ),
      );
    }
    context.recordChange(
      `HKLM\\SYSTEM\\${windows.currentControlSet}\\Services\\${blockDriver}`,
      `boot-start service (Start=0) for PCI ${VIOSTOR_PCI_IDS.join(", ")} in the ${hasDriverDatabase ? "DriverDatabase" : "CriticalDeviceDatabase"}`,
    );
    blockBus = "virtio-blk";
  }

  let netBus: GuestCaps["netBus"] = "virtio-net";
  if (!NETWORK_DRIVER_INFS.some((inf) => present.has(inf))) {
    context.warning(
      `there is no virtio network driver for this version of Windows (${version} ${inspection.arch}).  virt-v2v looks for this driver in ${virtioWin.location}\n\nThe guest will be configured to use a slower emulated device.`,
    );
    netBus = "rtl8139";
  }

  // fwcfg drives the fw_cfg device; qemufwcfg is only a stub that hides it from Device
  // Manager. They conflict (RHBZ#2151752): with both, keep fwcfg.
  if (present.has("fwcfg.inf") && present.has("qemufwcfg.inf")) {
    for (const stub of await g.globExpand(`${directory}/qemufwcfg.*`)) await g.rm(stub);
    context.log("windows: removed the qemufwcfg stub driver in favour of fwcfg");
    present = new Set(await g.ls(directory));
  }

  context.log(`windows: ${directory} holds ${[...present].sort().join(" ")}`);
  return {
    blockBus,
    netBus,
    virtioRng: present.has("viorng.inf"),
    virtioBalloon: present.has("balloon.inf"),
    isaPvpanic: present.has("pvpanic.inf"),
    virtioSocket: present.has("viosock.inf"),
  };
}
