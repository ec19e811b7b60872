/**
 * -i libvirtxml: a guest described by a libvirt domain XML file (what `virsh dumpxml` prints),
 * read offline as virt-v2v 2.2 reads it (@split-v2v/libvirt-domain). Each non-removable disk is
 * served on WORKDIR/inN by the server 2.2 picks for it (nbdkit file, qemu-nbd, nbdkit nbd or
 * nbdkit curl), through the overlay serveInputDisks adds, and the guest is described in
 * metadata.in.
 */
import { readFile } from "node:fs/promises";
import { UserError, errnoReason } from "@split-v2v/common";
import {
  checkLocalDomainDisks,
  libvirtVolumeReader,
  openLibvirt,
  parseDomainXml,
  serveDomain,
  type ParsedDomain,
} from "@split-v2v/libvirt-domain";
import type { LibvirtConnection } from "@split-v2v/libvirt";
import type { MetadataIn } from "@split-v2v/metadata-schema";

export interface InputLibvirtxmlCheckOptions {
  /** The arguments after `-i libvirtxml`: exactly one XML file. */
  args: string[];
  /** virt-v2v's warnings (ignored devices…), shown to the user. */
  warn: (text: string) => void;
}

export interface InputLibvirtxmlOptions extends InputLibvirtxmlCheckOptions {
  workdir: string;
  /** Serve through an overlay (the default): the source disks are never written. */
  overlay?: boolean;
  verbose: boolean;
  log: (line: string) => void;
}

/** What the precheck found: the file, its guest, every local disk readable. */
export interface CheckedLibvirtxml {
  file: string;
  domain: ParsedDomain;
}

/** libvirt's default connection, where virt-v2v looks up the storage volumes an XML file names. */
function openDefaultLibvirt(file: string): LibvirtConnection {
  try {
    return openLibvirt(null, null);
  } catch (err: unknown) {
    if (!(err instanceof UserError)) throw err;
    throw new UserError(
      `-i libvirtxml: ${file} names a storage volume, which is looked up in libvirt's default connection: ${err.message}; set LIBVIRT_DEFAULT_URI, or use -i libvirt -ic URI GUEST`,
    );
  }
}

/** What virt-v2v prints after "Setting up the source:" (2.2's LibvirtXML.to_string). */
export function describeInput(args: string[]): string {
  return ["-i libvirtxml", ...args].join(" ");
}

/**
 * Every check that needs no server: one argument, the file readable, its XML a domain 2.2
 * reads, and each local disk readable (a missing one fails the run in seconds, before any
 * server starts). Writes nothing.
 */
export async function precheckInputLibvirtxml(
  options: InputLibvirtxmlCheckOptions,
): Promise<CheckedLibvirtxml> {
  if (options.args.length !== 1) {
    throw new UserError("-i libvirtxml: expecting a libvirt XML filename on the command line");
  }
  const file = options.args[0]!;
  let xml: string;
  try {
    xml = await readFile(file, "utf8");
  } catch (err: unknown) {
    throw new UserError(
      `-i libvirtxml: cannot read the libvirt XML file ${file}: ${errnoReason(err)}`,
    );
  }
  let connection: LibvirtConnection | undefined;
  let domain: ParsedDomain;
  try {
    domain = await parseDomainXml(xml, {
      label: `-i libvirtxml: ${file}`,
      // As virt-v2v: a volume is looked up in libvirt's default connection, opened only if the
      // XML names one.
      readVolumeXml: libvirtVolumeReader(() => (connection ??= openDefaultLibvirt(file))),
      warn: options.warn,
    });
  } finally {
    connection?.close();
  }
  await checkLocalDomainDisks(domain, "-i libvirtxml", `in ${file}`);
  return { file, domain };
}

/** Serves the guest's disks on WORKDIR/in0… and writes metadata.in (prechecks first if needed). */
export async function setUpInputLibvirtxml(
  options: InputLibvirtxmlOptions,
  checked?: CheckedLibvirtxml,
): Promise<{ sockets: string[]; metadata: MetadataIn }> {
  const { domain } = checked ?? (await precheckInputLibvirtxml(options));
  return serveDomain(domain, {
    mode: "libvirtxml",
    description: describeInput(options.args),
    workdir: options.workdir,
    overlay: options.overlay,
    verbose: options.verbose,
    log: options.log,
  });
}
