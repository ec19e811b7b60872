/**
 * -i libvirtxml: a guest described by a libvirt domain XML file (what `virsh dumpxml` prints),
 * read offline as virt-v2v 2.2 reads it (@split-v2v/libvirt-domain). Each non-removable disk is
 * served on WORKDIR/inN by the server 2.2 picks for it (nbdkit file, qemu-nbd, nbdkit nbd or
 * nbdkit curl), through the overlay serveInputDisks adds, and the guest is described in
 * metadata.in.
 */
import { access, constants, readFile } from "node:fs/promises";
import {
  UserError,
  buildMetadataIn,
  errnoReason,
  markerPath,
  metadataInPath,
  nbdkitHasFilter,
  serveInputDisks,
} from "@split-v2v/common";
import {
  CURL_OPTIONAL_FILTERS,
  domainDiskLocation,
  domainDiskPlan,
  parseDomainXml,
  type ParsedDomain,
} from "@split-v2v/libvirt-domain";
import { writeMetadata, type MetadataIn } from "@split-v2v/metadata-schema";

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
  const domain = await parseDomainXml(xml, {
    label: `-i libvirtxml: ${file}`,
    // A file read offline has no connection to ask a storage pool where a volume is; -i libvirt
    // has one.
    readVolumeXml: null,
    warn: options.warn,
  });
  if (domain.disks.length === 0) {
    throw new UserError(
      `-i libvirtxml: none of the disks in ${file} can be read (see the warnings above): there is nothing to convert`,
    );
  }
  for (const [index, disk] of domain.disks.entries()) {
    if (disk.source.kind !== "file" && disk.source.kind !== "block") continue;
    try {
      await access(disk.source.path, constants.R_OK);
    } catch (err: unknown) {
      throw new UserError(
        `-i libvirtxml: cannot open the disk image ${disk.source.path} (disk ${index} in ${file}): ${errnoReason(err)}`,
      );
    }
  }
  return { file, domain };
}

/** The optional nbdkit filters a curl disk gets, asked of nbdkit only when there is one. */
async function availableFilters(domain: ParsedDomain): Promise<ReadonlySet<string> | undefined> {
  if (!domain.disks.some((disk) => disk.source.kind === "http")) return undefined;
  const available = new Set<string>();
  for (const filter of CURL_OPTIONAL_FILTERS) {
    if (await nbdkitHasFilter(filter)) available.add(filter);
  }
  return available;
}

/** Serves the guest's disks on WORKDIR/in0… and writes metadata.in (prechecks first if needed). */
export async function setUpInputLibvirtxml(
  options: InputLibvirtxmlOptions,
  checked?: CheckedLibvirtxml,
): Promise<{ sockets: string[]; metadata: MetadataIn }> {
  const { domain } = checked ?? (await precheckInputLibvirtxml(options));
  const overlay = options.overlay ?? true;
  if (!overlay && domain.disks.some((disk) => disk.source.kind === "http")) {
    throw new UserError("in-place mode does not work with HTTP source");
  }
  const filters = await availableFilters(domain);
  const plans = domain.disks.map((disk) =>
    domainDiskPlan(disk, {
      convertMarker: markerPath(options.workdir, "convert"),
      availableFilters: filters,
    }),
  );
  const served = await serveInputDisks(options.workdir, plans, {
    overlay,
    verbose: options.verbose,
    log: options.log,
  });
  const metadata = buildMetadataIn({
    mode: "libvirtxml",
    description: describeInput(options.args),
    source: domain.source,
    disks: domain.disks.map((disk, index) => ({
      served: served[index]!,
      id: index,
      controller: disk.controller,
      format: disk.format,
      location: domainDiskLocation(disk),
    })),
  });
  await writeMetadata("metadata.in", metadataInPath(options.workdir), metadata);
  return { sockets: served.map((disk) => disk.socket), metadata };
}
