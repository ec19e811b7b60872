/**
 * Tests only: KubeVirt's published OpenAPI definitions (kubevirt-openapi.json, made by
 * extract-kubevirt-openapi.mjs) as validators of a parsed YAML document, and the converted
 * guests the tests write YAML for.
 *
 * The definitions are OpenAPI 2 (JSON Schema draft 4 with OpenAPI's own keywords: format
 * int32/int64, x-kubernetes-*, nullable). ajv (draft-07 mode) reads them with `strict: false`,
 * which ignores the keywords it does not know, and formats are not validated (OpenAPI's are
 * type annotations). The definitions do not say that other keys are refused, but the Kubernetes
 * API server does (kubectl's strict field validation) or drops them: so every schema that lists
 * `properties` and says nothing about other keys gets `additionalProperties: false`, and a
 * misspelt or misplaced key fails the validation.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv, type ErrorObject } from "ajv";
import { convertedWindowsGuest, type ConvertedGuest } from "@split-v2v/helper-test-kit";

const FIXTURE = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "test",
  "kubevirt-openapi.json",
);

type Schema = unknown;

interface Fixture {
  source: { repository: string; commit: string; path: string; licence: string };
  definitions: Record<string, Schema>;
}

export const fixture = JSON.parse(readFileSync(FIXTURE, "utf8")) as Fixture;

/** A schema with additionalProperties: false wherever it lists properties and allows others. */
function closed(schema: Schema): Schema {
  if (Array.isArray(schema)) return schema.map(closed);
  if (schema === null || typeof schema !== "object") return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === "properties" && value !== null && typeof value === "object") {
      out[key] = Object.fromEntries(
        Object.entries(value as Record<string, Schema>).map(([name, sub]) => [name, closed(sub)]),
      );
    } else if (key === "default" || key === "enum" || key === "example") {
      // Values, not schemas.
      out[key] = value;
    } else {
      out[key] = closed(value);
    }
  }
  if ("properties" in out && !("additionalProperties" in out)) out.additionalProperties = false;
  return out;
}

const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
ajv.addSchema(
  {
    definitions: Object.fromEntries(
      Object.entries(fixture.definitions).map(([name, schema]) => [name, closed(schema)]),
    ),
  },
  "kubevirt",
);
const validators = {
  VirtualMachine: ajv.compile({ $ref: "kubevirt#/definitions/v1.VirtualMachine" }),
  VirtualMachineInstance: ajv.compile({ $ref: "kubevirt#/definitions/v1.VirtualMachineInstance" }),
};

/** The schema's complaints about a parsed document of this kind (empty: valid). */
export function schemaErrors(
  kind: "VirtualMachine" | "VirtualMachineInstance",
  document: unknown,
): string[] {
  const validate = validators[kind];
  if (validate(document)) return [];
  return (validate.errors ?? []).map(
    (error: ErrorObject) =>
      `${error.instancePath || "/"} ${error.message ?? error.keyword}${
        error.keyword === "additionalProperties"
          ? `: ${String((error.params as { additionalProperty: string }).additionalProperty)}`
          : ""
      }`,
  );
}

const MiB = 1024 * 1024;

/**
 * A Linux guest converted for BIOS (from KVM): two virtio-blk disks booting from the second,
 * one NIC on a bridge, an ich9 sound card, a CPU model without topology, drivers that predate
 * virtio 1.0 and no virtio-rng.
 */
export function linuxBiosGuest(name = "fedora-guest"): ConvertedGuest {
  const guest = convertedWindowsGuest([16 * MiB, 8 * MiB], name);
  const { source } = guest.metadataIn;
  Object.assign(source, {
    hypervisor: "kvm",
    memoryBytes: 1536 * MiB,
    vcpus: 2,
    cpuModel: "Haswell-noTSX",
    cpuTopology: null,
    features: ["acpi", "apic", "pae"],
    sound: "ich9",
    nics: [{ mac: "52:54:00:12:34:56", model: "virtio", network: "br0", networkType: "bridge" }],
  });
  const out = guest.metadataOut;
  Object.assign(out.inspection, {
    root: "/dev/sda3",
    type: "linux",
    distro: "fedora",
    osinfo: "fedora39",
    majorVersion: 39,
    minorVersion: 0,
    packageFormat: "rpm",
    packageManagement: "dnf",
    productName: "Fedora Linux 39",
    productVariant: "unknown",
    hostname: "fedora",
    windows: null,
  });
  Object.assign(out.guestcaps, { virtioRng: false, virtio10: false, machine: "q35" });
  out.target.bootDevice = 1;
  out.target.nics = source.nics.map((nic) => ({ ...nic, targetModel: "virtio-net" as const }));
  out.conversion = { family: "linux", converter: "linux", changes: [], warnings: [] };
  return guest;
}

/**
 * A Windows guest from VMware with UEFI and secure boot, a generation ID, two NICs on the same
 * network (one without a MAC address), e1000 where no virtio-net driver was installed.
 */
export function windowsUefiGuest(name = "win2k22-guest", diskSizes = [32 * MiB]): ConvertedGuest {
  const guest = convertedWindowsGuest(diskSizes, name);
  const { source } = guest.metadataIn;
  Object.assign(source, {
    genid: "f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
    firmware: "uefi",
    uefiSecureBoot: true,
    nics: [
      { mac: "00:50:56:a1:b2:c3", model: "vmxnet3", network: "VM Network", networkType: "network" },
      { mac: null, model: "e1000", network: "VM Network", networkType: "network" },
    ],
  });
  const out = guest.metadataOut;
  Object.assign(out.inspection, {
    osinfo: "win2k22",
    productName: "Windows Server 2022 Standard",
    productVariant: "Server",
    firmware: { type: "uefi", espDevices: ["/dev/sda1"] },
  });
  out.target.firmware = "uefi";
  out.target.nics = [
    { ...source.nics[0]!, targetModel: "virtio-net" },
    { ...source.nics[1]!, targetModel: "e1000" },
  ];
  return guest;
}
