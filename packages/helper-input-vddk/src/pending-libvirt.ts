// TEMPORARY until @split-v2v/libvirt-domain (branch domainxml, with the lead's fetchDomainXml and
// DOMAIN_XML_STANDIN_ENV) lands: this file stands in for its signatures, and is the one place to
// replace by imports from it. fetchDomainXml opens -ic with @split-v2v/libvirt (landed) as
// virt-v2v's parse_libvirt_domain does; parseDomainXml parses only what input_vddk needs (the
// name, the disks, the vmware namespace), with libxml2's xmllint.
import { readFile } from "node:fs/promises";
import { execa } from "execa";
import { UserError, errnoReason, type SourceFacts } from "@split-v2v/common";
import { LibvirtConnection, LibvirtError, findGuest } from "@split-v2v/libvirt";
import type { SourceController } from "@split-v2v/metadata-schema";

/** Tests only: the guest's domain XML is read from this file instead of over -ic. */
export const DOMAIN_XML_STANDIN_ENV = "SPLIT_V2V_STANDIN_DOMAIN_XML";

export interface DomainDisk {
  format: string | null;
  controller: SourceController | null;
  source:
    | { kind: "file"; path: string }
    | { kind: "block"; path: string }
    | { kind: "nbd"; host: string; port: number }
    | { kind: "http"; url: string };
}

export interface ParsedDomain {
  source: Partial<SourceFacts> & { name: string };
  disks: DomainDisk[];
  vmware: { moref: string | null; datacenterPath: string | null };
}

/** The guest's domain XML over the -ic connection (password from the file), or from the stand-in file. */
export async function fetchDomainXml(
  uri: string,
  guest: string,
  options: { passwordFile: string | null },
): Promise<string> {
  const standin = process.env[DOMAIN_XML_STANDIN_ENV];
  if (standin === undefined || standin === "") {
    let connection: LibvirtConnection;
    try {
      connection = LibvirtConnection.open(uri, { passwordFile: options.passwordFile });
    } catch (err: unknown) {
      // The driver's own words: login refused, server unreachable, certificate…
      if (err instanceof LibvirtError)
        throw new UserError(`could not connect to libvirt (-ic ${uri}): ${err.message}`);
      throw err;
    }
    try {
      // A guest not found, or running, is refused here in virt-v2v's words.
      const domain = findGuest(connection, guest);
      try {
        return domain.xml({ secure: true });
      } finally {
        domain.free();
      }
    } finally {
      connection.close();
    }
  }
  try {
    return await readFile(standin, "utf8");
  } catch (err: unknown) {
    throw new UserError(`${DOMAIN_XML_STANDIN_ENV}=${standin}: ${errnoReason(err)}`);
  }
}

async function xpath(xml: string, expression: string): Promise<string> {
  const result = await execa("xmllint", ["--xpath", expression, "-"], {
    input: xml,
    reject: false,
  });
  // xmllint exits 10 for an empty node set; string() and count() always answer.
  if (result.exitCode !== 0) throw new Error(`xmllint --xpath ${expression}: ${result.stderr}`);
  return result.stdout;
}

const el = (name: string) => `*[local-name()='${name}']`;

function controllerOf(bus: string): SourceController | null {
  switch (bus) {
    case "ide":
    case "sata":
    case "scsi":
      return bus;
    case "virtio":
      return "virtio-blk";
    default:
      return null;
  }
}

/** virt-v2v's parse_libvirt_xml, reduced to the name, the disks and the vmware namespace. */
export async function parseDomainXml(
  xml: string,
  options: { label: string; warn: (text: string) => void },
): Promise<ParsedDomain> {
  void options.warn;
  const check = await execa("xmllint", ["--noout", "-"], { input: xml, reject: false });
  if (check.exitCode !== 0)
    throw new UserError(`${options.label} is not well-formed XML: ${check.stderr.trim()}`);
  const domain = `/${el("domain")}`;
  const name = await xpath(xml, `string(${domain}/${el("name")})`);
  if (name === "") throw new UserError(`${options.label}: missing <name> element`);
  const count = async (expression: string) => Number(await xpath(xml, `count(${expression})`));
  const disks: DomainDisk[] = [];
  const diskPath = `${domain}/${el("devices")}/${el("disk")}[@device='disk' or not(@device)]`;
  const diskCount = await count(diskPath);
  for (let index = 1; index <= diskCount; index++) {
    const disk = `${diskPath}[${index}]`;
    const file = await xpath(xml, `string(${disk}/${el("source")}/@file)`);
    const format = await xpath(xml, `string(${disk}/${el("driver")}/@type)`);
    const bus = await xpath(xml, `string(${disk}/${el("target")}/@bus)`);
    const type = await xpath(xml, `string(${disk}/@type)`);
    if (type !== "file" || file === "")
      throw new UserError(`${options.label}: disk ${index} is not a file disk (type ${type})`);
    disks.push({
      format: format === "" ? null : format,
      controller: controllerOf(bus),
      source: { kind: "file", path: file },
    });
  }
  const optional = async (expression: string) =>
    (await count(expression)) === 0 ? null : await xpath(xml, `string(${expression})`);
  return {
    source: {
      name,
      hypervisor: (await xpath(xml, `string(${domain}/@type)`)) === "vmware" ? "vmware" : undefined,
    },
    disks,
    vmware: {
      moref: await optional(`${domain}/${el("moref")}`),
      datacenterPath: await optional(`${domain}/${el("datacenterpath")}`),
    },
  };
}
