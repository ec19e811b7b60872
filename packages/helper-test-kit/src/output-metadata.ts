/**
 * A converted guest's metadata.in and metadata.out, as an output helper reads them after
 * helper-v2v-convert: for testing output helpers stage by stage without a conversion. The guest
 * is a Windows 10 converted for KVM (virtio disks and NIC, q35, BIOS), with one disk per size.
 */
import { metadataInPath, metadataOutPath } from "@split-v2v/common";
import { writeMetadata, type MetadataIn, type MetadataOut } from "@split-v2v/metadata-schema";

export interface ConvertedGuest {
  metadataIn: MetadataIn;
  metadataOut: MetadataOut;
}

export function convertedWindowsGuest(
  diskSizes: readonly number[],
  name = "win10-guest",
): ConvertedGuest {
  const metadataIn: MetadataIn = {
    schemaVersion: 1,
    kind: "metadata.in",
    input: { mode: "disk", description: "-i disk" },
    source: {
      name,
      hypervisor: "vmware",
      genid: null,
      memoryBytes: 2 * 1024 ** 3,
      vcpus: 2,
      cpuVendor: null,
      cpuModel: null,
      cpuTopology: { sockets: 1, cores: 2, threads: 1 },
      features: ["acpi", "apic"],
      firmware: "bios",
      uefiSecureBoot: false,
      display: null,
      sound: null,
      disks: diskSizes.map((virtualSize, id) => ({
        id,
        socket: `in${id}`,
        virtualSize,
        controller: "scsi" as const,
      })),
      removables: [],
      nics: [
        {
          mac: "00:50:56:a1:b2:c3",
          model: "vmxnet3",
          network: "VM Network",
          networkType: "network",
        },
      ],
    },
  };
  const metadataOut: MetadataOut = {
    schemaVersion: 1,
    kind: "metadata.out",
    inspection: {
      root: "/dev/sda2",
      type: "windows",
      distro: "windows",
      osinfo: "win10",
      arch: "x86_64",
      majorVersion: 10,
      minorVersion: 0,
      packageFormat: "unknown",
      packageManagement: "unknown",
      productName: "Windows 10 Pro",
      productVariant: "Client",
      hostname: "win10",
      mountpoints: [{ mountpoint: "/", device: "/dev/sda2" }],
      firmware: { type: "bios", espDevices: [] },
      windows: {
        systemroot: "/Windows",
        softwareHive: "/Windows/System32/config/SOFTWARE",
        systemHive: "/Windows/System32/config/SYSTEM",
        currentControlSet: "ControlSet001",
      },
    },
    guestcaps: {
      blockBus: "virtio-blk",
      netBus: "virtio-net",
      virtioRng: true,
      virtioBalloon: true,
      isaPvpanic: true,
      virtioSocket: false,
      machine: "q35",
      arch: "x86_64",
      acpi: true,
      virtio10: true,
      defaultCpu: true,
    },
    target: {
      firmware: "bios",
      buses: {
        virtioBlk: diskSizes.map((_, disk) => ({ disk })),
        ide: [],
        scsi: [],
        floppy: [],
      },
      nics: metadataIn.source.nics.map((nic) => ({ ...nic, targetModel: "virtio-net" as const })),
    },
    conversion: { family: "windows", converter: "windows", changes: [], warnings: [] },
  };
  return { metadataIn, metadataOut };
}

/** Writes (validating) WORKDIR/metadata.in and metadata.out. */
export async function writeConvertedGuest(workdir: string, guest: ConvertedGuest): Promise<void> {
  await writeMetadata("metadata.in", metadataInPath(workdir), guest.metadataIn);
  await writeMetadata("metadata.out", metadataOutPath(workdir), guest.metadataOut);
}
