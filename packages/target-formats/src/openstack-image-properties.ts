/**
 * The OpenStack image properties of a converted guest (virt-v2v 2.2's
 * openstack_image_properties.ml), which tell Nova how to run it: the disk and network buses,
 * the machine type, the firmware, the guest's OS, its CPU topology. -o glance sets them on each
 * image (`glance image-create --property KEY=VALUE`), -o openstack on the boot volume
 * (`openstack volume set --image-property KEY=VALUE`: Cinder's "image properties", which Nova
 * reads when booting from the volume, as opposed to its plain volume properties).
 *
 * The keys and values are those of 2.2, in its order. One addition from virt-v2v 2.4: a guest
 * converted for virtio-scsi (a bus 2.2 never chose) gets hw_disk_bus=scsi and
 * hw_scsi_model=virtio-scsi, as 2.4 gives it.
 */
import type { MetadataIn, MetadataOut } from "@split-v2v/metadata-schema";

export type OpenstackImageProperty = readonly [key: string, value: string];

export interface OpenstackImagePropertiesInput {
  source: Pick<MetadataIn["source"], "vcpus" | "cpuTopology">;
  converted: Pick<MetadataOut, "inspection" | "guestcaps" | "target">;
}

const DISK_BUS: Record<MetadataOut["guestcaps"]["blockBus"], string> = {
  "virtio-blk": "virtio",
  "virtio-scsi": "scsi",
  ide: "ide",
};

const VIF_MODEL: Record<MetadataOut["guestcaps"]["netBus"], string> = {
  "virtio-net": "virtio",
  e1000: "e1000",
  rtl8139: "rtl8139",
};

const MACHINE_TYPE: Record<MetadataOut["guestcaps"]["machine"], string> = {
  i440fx: "pc",
  q35: "q35",
  virt: "virt",
};

/**
 * libguestfs's distro names where OpenStack's differ
 * (https://docs.openstack.org/python-glanceclient/latest/cli/property-keys.html); every other
 * name is the same in both.
 */
const OPENSTACK_DISTRO: Readonly<Record<string, string>> = {
  archlinux: "arch",
  sles: "sled",
};

/** The properties as KEY, VALUE pairs, in 2.2's order. */
export function createOpenstackImageProperties(
  input: OpenstackImagePropertiesInput,
): OpenstackImageProperty[] {
  const { source } = input;
  const { inspection, guestcaps, target } = input.converted;
  const properties: OpenstackImageProperty[] = [
    ["architecture", guestcaps.arch],
    ["hypervisor_type", "kvm"],
    ["vm_mode", "hvm"],
    ["hw_disk_bus", DISK_BUS[guestcaps.blockBus]],
    ["hw_vif_model", VIF_MODEL[guestcaps.netBus]],
    ["hw_video_model", "vga"],
    ["hw_machine_type", MACHINE_TYPE[guestcaps.machine]],
    ["os_type", inspection.type],
    ["os_distro", OPENSTACK_DISTRO[inspection.distro] ?? inspection.distro],
  ];
  if (source.cpuTopology === null) {
    properties.push(["hw_cpu_sockets", "1"], ["hw_cpu_cores", String(source.vcpus)]);
  } else {
    properties.push(
      ["hw_cpu_sockets", String(source.cpuTopology.sockets)],
      ["hw_cpu_cores", String(source.cpuTopology.cores)],
      ["hw_cpu_threads", String(source.cpuTopology.threads)],
    );
  }
  if (guestcaps.blockBus === "virtio-scsi") properties.push(["hw_scsi_model", "virtio-scsi"]);
  const { majorVersion: major, minorVersion: minor } = inspection;
  if (major !== 0 || minor !== 0) {
    properties.push(["os_version", minor === 0 ? String(major) : `${major}.${minor}`]);
  }
  if (guestcaps.virtioRng) properties.push(["hw_rng_model", "virtio"]);
  // Neither the memory balloon nor pvpanic has a Glance property (as 2.2 notes).
  if (target.firmware === "uefi") properties.push(["hw_firmware_type", "uefi"]);
  return properties;
}
