/**
 * What every -i libvirt mode and -i libvirtxml do once the guest's domain XML is parsed: check
 * that each local disk can be read (before any server starts), serve each disk on WORKDIR/inN
 * through the overlay, and describe the guest in metadata.in. The modes differ only in where
 * the XML comes from and how a remote disk is read, which they say with `planDisk`.
 */
import { access, constants } from "node:fs/promises";
import {
  UserError,
  buildMetadataIn,
  errnoReason,
  markerPath,
  metadataInPath,
  nbdkitHasFilter,
  serveInputDisks,
  type InputDiskPlan,
} from "@split-v2v/common";
import { writeMetadata, type MetadataIn } from "@split-v2v/metadata-schema";
import { CURL_OPTIONAL_FILTERS, domainDiskLocation, domainDiskPlan } from "./disk-plan.js";
import type { DomainDisk, ParsedDomain } from "./domain-xml.js";

/**
 * Each local disk (file or block device) must be readable: a missing one fails the run in
 * seconds. `where` names the source in the message ("in guest.xml", "of libvirt guest ‘g’").
 */
export async function checkLocalDomainDisks(
  domain: ParsedDomain,
  mode: string,
  where: string,
): Promise<void> {
  if (domain.disks.length === 0) {
    throw new UserError(
      `${mode}: none of the disks ${where} can be read (see the warnings above): there is nothing to convert`,
    );
  }
  for (const [index, disk] of domain.disks.entries()) {
    if (disk.source.kind !== "file" && disk.source.kind !== "block") continue;
    try {
      await access(disk.source.path, constants.R_OK);
    } catch (err: unknown) {
      throw new UserError(
        `${mode}: cannot open the disk image ${disk.source.path} (disk ${index} ${where}): ${errnoReason(err)}`,
      );
    }
  }
}

/** The optional nbdkit filters a curl disk gets, asked of nbdkit only when there is one. */
async function curlFilters(domain: ParsedDomain): Promise<ReadonlySet<string> | undefined> {
  if (!domain.disks.some((disk) => disk.source.kind === "http")) return undefined;
  const available = new Set<string>();
  for (const filter of CURL_OPTIONAL_FILTERS) {
    if (await nbdkitHasFilter(filter)) available.add(filter);
  }
  return available;
}

export interface ServeDomainOptions {
  /** metadata.in's input.mode ("libvirt", "libvirtxml"). */
  mode: string;
  /** What virt-v2v prints after "Setting up the source: ". */
  description: string;
  workdir: string;
  /** Serve through an overlay (the default): the source disks are never written. */
  overlay?: boolean;
  verbose: boolean;
  log: (line: string) => void;
  /**
   * How to read disk N, for modes that read their disks otherwise (over ssh, https, VDDK); by
   * default virt-v2v 2.2's setup_servers for -i libvirt: domainDiskPlan.
   */
  planDisk?: (disk: DomainDisk, index: number) => InputDiskPlan;
  /** The disk's location in metadata.in (default: domainDiskLocation). */
  diskLocation?: (disk: DomainDisk, index: number) => string | null;
  /** The disk's format in metadata.in (default: the XML's). */
  diskFormat?: (disk: DomainDisk, index: number) => string | null;
}

/** Serves the domain's disks on WORKDIR/in0… and writes metadata.in. */
export async function serveDomain(
  domain: ParsedDomain,
  options: ServeDomainOptions,
): Promise<{ sockets: string[]; metadata: MetadataIn }> {
  const overlay = options.overlay ?? true;
  if (!overlay && domain.disks.some((disk) => disk.source.kind === "http")) {
    throw new UserError("in-place mode does not work with HTTP source");
  }
  let plans: InputDiskPlan[];
  if (options.planDisk !== undefined) {
    plans = domain.disks.map(options.planDisk);
  } else {
    const filters = await curlFilters(domain);
    plans = domain.disks.map((disk) =>
      domainDiskPlan(disk, {
        convertMarker: markerPath(options.workdir, "convert"),
        availableFilters: filters,
      }),
    );
  }
  const served = await serveInputDisks(options.workdir, plans, {
    overlay,
    verbose: options.verbose,
    log: options.log,
  });
  const metadata = buildMetadataIn({
    mode: options.mode,
    description: options.description,
    source: domain.source,
    disks: domain.disks.map((disk, index) => ({
      served: served[index]!,
      id: index,
      controller: disk.controller,
      format: options.diskFormat?.(disk, index) ?? disk.format,
      location: options.diskLocation?.(disk, index) ?? domainDiskLocation(disk),
    })),
  });
  await writeMetadata("metadata.in", metadataInPath(options.workdir), metadata);
  return { sockets: served.map((disk) => disk.socket), metadata };
}
