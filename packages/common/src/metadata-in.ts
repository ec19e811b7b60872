/**
 * metadata.in as input helpers write it: what the mode knows about the source guest, and
 * virt-v2v 2.2's defaults (those of -i disk, which knows nothing but the disks) for the rest.
 */
import {
  SCHEMA_VERSION,
  type MetadataIn,
  type SourceController,
  type SourceDisk,
  type SourceGuest,
} from "@split-v2v/metadata-schema";
import type { ServedInputDisk } from "./input-disks.js";

/** The source guest's fields besides its name and disks. */
export type SourceFacts = Omit<SourceGuest, "name" | "disks">;

/** The guest virt-v2v's -i disk describes: what a mode does not know is this. */
export const SOURCE_DEFAULTS: Readonly<SourceFacts> = {
  hypervisor: "unknownhv",
  genid: null,
  memoryBytes: 2048 * 1024 * 1024,
  vcpus: 1,
  cpuVendor: null,
  cpuModel: null,
  cpuTopology: null,
  features: ["acpi", "apic", "pae"],
  firmware: "unknown",
  uefiSecureBoot: false,
  display: {
    type: "window",
    keymap: null,
    password: null,
    listen: { kind: "none", value: null },
    port: null,
  },
  sound: null,
  removables: [],
  nics: [{ mac: null, model: null, network: "default", networkType: "network" }],
};

/** One served disk and what the mode knows of it. */
export interface DescribedInputDisk {
  served: ServedInputDisk;
  /** The disk's id: its index in source order, unless the source numbers its disks (OVF). */
  id: number;
  controller: SourceController;
  format: string | null;
  location: string | null;
}

export interface MetadataInParts {
  /** The -i mode (disk, ova, vmx…). */
  mode: string;
  /** What virt-v2v prints after "Setting up the source: ". */
  description: string;
  /** What the mode knows; each field left out (undefined) is virt-v2v's default. */
  source: Partial<SourceFacts> & { name: string };
  disks: readonly DescribedInputDisk[];
}

function sourceDisk(disk: DescribedInputDisk): SourceDisk {
  return {
    id: disk.id,
    socket: disk.served.socket,
    virtualSize: disk.served.virtualSize,
    controller: disk.controller,
    format: disk.format,
    location: disk.location,
    // Absent means true (the schema's default): written only when the source itself is served.
    ...(disk.served.overlay ? {} : { overlay: false }),
  };
}

/** The metadata.in document, its fields in the schema's order. */
export function buildMetadataIn(parts: MetadataInParts): MetadataIn {
  const known = Object.fromEntries(
    Object.entries(parts.source).filter(([, value]) => value !== undefined),
  ) as Partial<SourceFacts>;
  // A copy of the defaults: the document is the caller's to change.
  const facts: SourceFacts = { ...structuredClone(SOURCE_DEFAULTS), ...known };
  return {
    schemaVersion: SCHEMA_VERSION,
    kind: "metadata.in",
    input: { mode: parts.mode, description: parts.description },
    source: {
      name: parts.source.name,
      hypervisor: facts.hypervisor,
      genid: facts.genid,
      memoryBytes: facts.memoryBytes,
      vcpus: facts.vcpus,
      cpuVendor: facts.cpuVendor,
      cpuModel: facts.cpuModel,
      cpuTopology: facts.cpuTopology,
      features: facts.features,
      firmware: facts.firmware,
      uefiSecureBoot: facts.uefiSecureBoot,
      display: facts.display,
      sound: facts.sound,
      disks: parts.disks.map(sourceDisk),
      removables: facts.removables,
      nics: facts.nics,
    },
  };
}
