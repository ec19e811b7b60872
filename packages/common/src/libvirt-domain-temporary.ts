// TEMPORARY until @split-v2v/libvirt-domain (branch domainxml, with the lead's fetchDomainXml)
// and @split-v2v/libvirt (branch libvirt) land on main: a stand-in with their announced
// signatures, so that -i libvirt -ic vpx:// and -ic xen+ssh:// can be built and tested now. It
// reads only what those two modes use (the guest's name, memory, vCPUs, disks and the vmware
// namespace), asking libxml2's xmllint, and it cannot open a libvirt connection. When they land,
// the two helpers import the same names from @split-v2v/libvirt-domain and this file goes.
import { readFile } from "node:fs/promises";
import { execa } from "execa";
import type { SourceController } from "@split-v2v/metadata-schema";
import { UserError } from "./errors.js";
import type { SourceFacts } from "./metadata-in.js";

/** Tests only: the guest's domain XML is read from this file instead of over the -ic connection. */
export const DOMAIN_XML_STANDIN_ENV = "SPLIT_V2V_STANDIN_DOMAIN_XML";

/** The guest's domain XML over the -ic connection (password from the file), or from the stand-in file. */
export async function fetchDomainXml(
  uri: string,
  guest: string,
  options: { passwordFile: string | null },
): Promise<string> {
  void options;
  const standin = process.env[DOMAIN_XML_STANDIN_ENV];
  if (standin !== undefined && standin !== "") return readFile(standin, "utf8");
  throw new UserError(
    `-i libvirt -ic ${uri} ${guest}: opening a libvirt connection needs @split-v2v/libvirt, which this build does not have yet`,
  );
}

export type DomainDiskSource =
  | { kind: "file"; path: string }
  | { kind: "block"; path: string }
  | { kind: "nbd"; host: string; port: number }
  | { kind: "http"; url: string };

export interface DomainDisk {
  format: string | null;
  controller: SourceController | null;
  source: DomainDiskSource;
}

export interface ParsedDomain {
  source: Partial<SourceFacts> & { name: string };
  disks: DomainDisk[];
  vmware: { moref: string | null; datacenterPath: string | null };
}

export interface ParseDomainOptions {
  label: string;
  readVolumeXml?: (pool: string, volume: string) => Promise<string>;
  warn?: (text: string) => void;
}

/** One XPath expression's string value, as xmllint computes it. */
async function xpathString(xml: string, expression: string, label: string): Promise<string> {
  const result = await execa("xmllint", ["--nonet", "--xpath", `string(${expression})`, "-"], {
    input: xml,
    reject: false,
    stripFinalNewline: false,
    env: { LANG: "C" },
  });
  if (result.exitCode !== 0) {
    throw new UserError(`${label}: cannot read the domain XML: ${String(result.stderr).trim()}`);
  }
  const out = String(result.stdout);
  return out.endsWith("\n") ? out.slice(0, -1) : out;
}

const BUSES: Record<string, SourceController> = {
  ide: "ide",
  sata: "sata",
  scsi: "scsi",
  virtio: "virtio-blk",
  nvme: "nvme",
};

const MEMORY_UNITS: Record<string, number> = {
  b: 1,
  bytes: 1,
  k: 1024,
  kib: 1024,
  kb: 1000,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  mb: 1000 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  gb: 1000 ** 3,
};

/** virt-v2v's parse_libvirt_xml, reduced to what the remote -i libvirt modes need. */
export async function parseDomainXml(
  xml: string,
  options: ParseDomainOptions,
): Promise<ParsedDomain> {
  const ask = (expression: string) => xpathString(xml, expression, options.label);
  const name = await ask("/domain/name");
  if (name === "") throw new UserError(`${options.label}: missing <name> element in domain XML`);
  const domainType = await ask("/domain/@type");
  const memoryValue = Number(await ask("/domain/memory"));
  const memoryUnit = (await ask("/domain/memory/@unit")).toLowerCase() || "kib";
  const vcpus = Number(await ask("/domain/vcpu"));
  const disks: DomainDisk[] = [];
  const diskPath = "/domain/devices/disk[@device='disk' or not(@device)]";
  const count = Number(await ask(`count(${diskPath})`));
  for (let index = 1; index <= count; index++) {
    const disk = `(${diskPath})[${index}]`;
    const type = await ask(`${disk}/@type`);
    const format = await ask(`${disk}/driver/@type`);
    const bus = await ask(`${disk}/target/@bus`);
    const file = await ask(`${disk}/source/@file`);
    const dev = await ask(`${disk}/source/@dev`);
    let source: DomainDiskSource;
    if (type === "block") source = { kind: "block", path: dev };
    else if (type === "file") source = { kind: "file", path: file };
    else {
      options.warn?.(`${options.label}: disk of type ‘${type}’ ignored by this stand-in parser`);
      continue;
    }
    disks.push({ format: format === "" ? null : format, controller: BUSES[bus] ?? null, source });
  }
  const vmware = (local: string) =>
    ask(
      `/domain/*[local-name()='${local}' and namespace-uri()='http://libvirt.org/schemas/domain/vmware/1.0']`,
    );
  const datacenterPath = await vmware("datacenterpath");
  const moref = await vmware("moref");
  return {
    source: {
      name,
      ...(domainType === "" ? {} : { hypervisor: domainType }),
      ...(Number.isFinite(memoryValue) && memoryValue > 0 && MEMORY_UNITS[memoryUnit]
        ? { memoryBytes: memoryValue * MEMORY_UNITS[memoryUnit]! }
        : {}),
      ...(Number.isInteger(vcpus) && vcpus > 0 ? { vcpus } : {}),
    },
    disks,
    vmware: {
      moref: moref === "" ? null : moref,
      datacenterPath: datacenterPath === "" ? null : datacenterPath,
    },
  };
}
