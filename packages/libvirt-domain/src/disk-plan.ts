/**
 * How each disk of a domain is read, as virt-v2v 2.2's setup_servers for -i libvirt and
 * -i libvirtxml (input/input_libvirt.ml) starts its servers. The plans read the disks as they
 * are; serveInputDisks (@split-v2v/common) adds the overlay: nbdkit's cow filter outermost, or
 * qemu-nbd's --snapshot.
 *
 *   file or block, raw        nbdkit file file=PATH cache=none
 *   file or block, otherwise  qemu-nbd --format FORMAT PATH (qemu probes when the format is unknown)
 *   nbd (virt-p2v)            nbdkit nbd hostname=HOST port=PORT shared=true
 *   http, https               nbdkit --filter=cacheextents --filter=retry curl url=URL timeout=2000,
 *                             with cow-on-read on the work dir's convert marker (2.2's
 *                             Nbdkit_curl.create_curl, input/nbdkit_curl.ml)
 */
import { localDiskPlan, type InputDiskPlan } from "@split-v2v/common";
import type { DomainDisk } from "./domain-xml.js";

/** The optional nbdkit filters virt-v2v adds to a curl disk when they exist, inner first. */
export const CURL_OPTIONAL_FILTERS = ["retry", "cacheextents"] as const;

export interface DomainDiskPlanOptions {
  /** The work dir's `convert` marker: a remote disk keeps what the conversion read. */
  convertMarker: string;
  /**
   * Which of CURL_OPTIONAL_FILTERS nbdkit has (nbdkitHasFilter); absent: all of them, as
   * Debian 12's nbdkit has.
   */
  availableFilters?: ReadonlySet<string>;
}

/** virt-v2v 2.2's setup_servers for -i libvirt/libvirtxml: how to read one disk as it is (serveInputDisks adds the overlay). */
export function domainDiskPlan(disk: DomainDisk, options: DomainDiskPlanOptions): InputDiskPlan {
  const { source } = disk;
  switch (source.kind) {
    case "nbd":
      return {
        server: {
          kind: "nbdkit",
          plugin: "nbd",
          filters: [],
          params: [
            ["hostname", source.host],
            ["port", String(source.port)],
            ["shared", "true"],
          ],
        },
      };
    case "http": {
      // retry next to the plugin rides out brief interruptions; cacheextents above it speeds up
      // qemu's many block-status requests. Filters are listed outermost first.
      const available = options.availableFilters;
      const filters = CURL_OPTIONAL_FILTERS.filter(
        (filter) => available === undefined || available.has(filter),
      ).reverse();
      return {
        server: {
          kind: "nbdkit",
          plugin: "curl",
          filters,
          // https://bugzilla.redhat.com/show_bug.cgi?id=1146007#c10
          params: [
            ["url", source.url],
            ["timeout", "2000"],
          ],
        },
        cowOnRead: options.convertMarker,
      };
    }
    case "file":
    case "block":
      // Raw: nbdkit's file plugin; qemu's decoders for every other format (null lets qemu
      // probe, as 2.2 does).
      return localDiskPlan(source.path, disk.format);
  }
}

/** Where a disk's data is, for metadata.in's `location` and messages. */
export function domainDiskLocation(disk: DomainDisk): string {
  const { source } = disk;
  switch (source.kind) {
    case "file":
    case "block":
      return source.path;
    case "nbd":
      return `nbd://${source.host}:${source.port}`;
    case "http":
      return source.url;
  }
}
