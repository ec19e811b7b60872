/**
 * -i libvirt -ic vpx://… -it vddk (virt-v2v's input_vddk): the guest is described by libvirt's
 * ESX driver (its domain XML, with the vmware namespace's <vmware:moref>), and each disk, a
 * datastore path "[datastore1] guest/guest.vmdk", is read by nbdkit's vddk plugin and served on
 * WORKDIR/inN through a copy-on-write overlay.
 *
 * The precheck does everything that can fail before a server starts: the options, the installed
 * plugin and VDDK library, the filters, the guest's XML (which needs the connection: guest not
 * found, login refused, a running guest, no moref), and the thumbprint when it is to be found.
 */
import { access, constants } from "node:fs/promises";
import { UserError, errnoReason, markerPath } from "@split-v2v/common";
import type { MetadataIn } from "@split-v2v/metadata-schema";
import { checkVddkRequest, type VcenterAccess, type VddkOptions } from "./mode.js";
import { checkVddkLibdir, checkVddkPlugin, probeVddkFilters } from "./nbdkit-checks.js";
import { vddkDiskPlan, vddkStandin, type BandwidthLimit, type VddkFilters } from "./nbdkit-vddk.js";
import { fetchRemoteDomain, serveDomain, type ParsedDomain } from "@split-v2v/libvirt-domain";
import { fetchThumbprint } from "./thumbprint.js";

export interface InputVddkCheckOptions {
  /** The words after the options: the guest's name. */
  args: string[];
  /** -ic: vpx://USER@VCENTER/DATACENTER/…?no_verify=1, esx://USER@ESXI… */
  connection: string | null;
  /** -ip: the file holding the password (for libvirt and for VDDK). */
  passwordFile: string | null;
  /** The -io values, as given. */
  inputOptions: string[];
  bandwidth: BandwidthLimit | null;
  warn: (text: string) => void;
  /** The helper's debug log. */
  log: (line: string) => void;
}

export interface InputVddkOptions extends InputVddkCheckOptions {
  workdir: string;
  /** Serve through an overlay (always: virt-v2v's VDDK input has no in-place mode). */
  overlay?: boolean;
  verbose: boolean;
}

/** What the precheck found, and what setup starts from. */
export interface CheckedVddk {
  guest: string;
  access: VcenterAccess;
  options: VddkOptions;
  passwordFile: string;
  domain: ParsedDomain;
  moref: string;
  /** Each disk's file= (the XML's datastore path, or -io vddk-file). */
  files: string[];
  thumbprint: string;
  filters: VddkFilters;
  standinScript: string | null;
}

/** What virt-v2v prints after "Setting up the source:". */
export function describeInput(connection: string | null, args: readonly string[]): string {
  return [
    "-i libvirt",
    ...(connection === null ? [] : [`-ic ${connection}`]),
    "-it vddk",
    ...args,
  ].join(" ");
}

/** The datastore path of each disk, or the -io vddk-file overrides (exactly one per disk). */
function diskFiles(domain: ParsedDomain, options: VddkOptions, guest: string): string[] {
  const files = domain.disks.map((disk, index) => {
    if (disk.source.kind !== "file") {
      throw new UserError(
        `-it vddk: disk ${index + 1} of the guest ‘${guest}’ is not a file on a datastore (${disk.source.kind}); VDDK reads only those`,
      );
    }
    return disk.source.path;
  });
  if (files.length === 0)
    throw new UserError(`-it vddk: the guest ‘${guest}’ has no disk; there is nothing to convert`);
  if (options.files.length === 0) return files;
  if (options.files.length !== files.length)
    throw new UserError(`‘-io vddk-file=’ must be used exactly ${files.length} times`);
  return options.files;
}

export async function precheckInputVddk(options: InputVddkCheckOptions): Promise<CheckedVddk> {
  const request = checkVddkRequest({
    args: options.args,
    inputConnection: options.connection,
    inputPassword: options.passwordFile,
    inputOptions: options.inputOptions,
  });
  try {
    await access(request.passwordFile, constants.R_OK);
  } catch (err: unknown) {
    throw new UserError(
      `-ip ${request.passwordFile}: cannot read the password file: ${errnoReason(err)}`,
    );
  }

  // What is installed here first: a missing plugin fails before the server is asked anything.
  const standinScript = vddkStandin();
  if (standinScript !== null) options.log(`vddk: the stand-in ${standinScript} serves the disks`);
  await checkVddkPlugin(standinScript);
  if (request.options.libdir !== null) await checkVddkLibdir(request.options.libdir);
  const filters = await probeVddkFilters(options.bandwidth !== null);

  // libvirt's ESX driver describes datastore files, never storage volumes.
  const domain = await fetchRemoteDomain(request.access.uri, request.guest, {
    passwordFile: request.passwordFile,
    warn: options.warn,
    label: `the libvirt XML of ‘${request.guest}’`,
  });
  if (domain.vmware.moref === null) {
    throw new UserError(
      `<vmware:moref> was not found in the output of ‘virsh dumpxml "${request.guest}"’.  The most likely reason is that libvirt is too old, try upgrading libvirt to ≥ 3.7.`,
    );
  }
  const files = diskFiles(domain, request.options, request.guest);

  let thumbprint = request.options.thumbprint;
  if (thumbprint === null) {
    const port = request.options.port === null ? 443 : Number(request.options.port);
    thumbprint = await fetchThumbprint(request.access.server, { port });
    options.log(`vddk: the SSL thumbprint of ${request.access.server}:${port} is ${thumbprint}`);
  }
  return {
    ...request,
    domain,
    moref: domain.vmware.moref,
    files,
    thumbprint,
    filters,
    standinScript,
  };
}

/** Serves the guest's disks on WORKDIR/in0… and writes metadata.in (prechecks first if needed). */
export async function setUpInputVddk(
  options: InputVddkOptions,
  checked?: CheckedVddk,
): Promise<{ sockets: string[]; metadata: MetadataIn }> {
  // VDDK's disks are read through the overlay only (virt-v2v refuses in-place mode for them).
  if (options.overlay === false)
    throw new UserError("in-place mode does not work with VDDK source");
  const found = checked ?? (await precheckInputVddk(options));
  const plans = found.files.map((file) =>
    vddkDiskPlan({
      access: found.access,
      moref: found.moref,
      file,
      passwordFile: found.passwordFile,
      thumbprint: found.thumbprint,
      options: found.options,
      bandwidth: options.bandwidth,
      cowOnReadMarker: markerPath(options.workdir, "convert"),
      filters: found.filters,
      standinScript: found.standinScript,
    }),
  );
  return serveDomain(found.domain, {
    mode: "libvirt",
    description: describeInput(options.connection, options.args),
    workdir: options.workdir,
    overlay: options.overlay,
    verbose: options.verbose,
    log: options.log,
    planDisk: (_disk, index) => plans[index]!,
    // VDDK decodes the VMDK: what nbdkit serves is the raw disk.
    diskFormat: () => "raw",
    diskLocation: (_disk, index) => found.files[index]!,
  });
}
