/**
 * -i libvirt [-ic URI] GUEST: a guest that libvirt knows, through libvirt's client library
 * (@split-v2v/libvirt): the guest looked up by UUID, then by name, refused while it runs, its XML
 * fetched with passwords (VIR_DOMAIN_XML_SECURE) and read as virt-v2v 2.2 reads it, its storage
 * volumes resolved through the same connection. Each disk is served on WORKDIR/inN by the
 * server 2.2 picks for it (input_libvirt.ml's setup_servers), through the overlay.
 */
import { checkPasswordFile, libvirtGuestArg, parseLibvirtUri } from "@split-v2v/common";
import {
  checkLocalDomainDisks,
  domainXmlOf,
  libvirtVolumeReader,
  openLibvirt,
  parseDomainXml,
  serveDomain,
  type ParsedDomain,
} from "@split-v2v/libvirt-domain";
import type { MetadataIn } from "@split-v2v/metadata-schema";
import { describeLocalLibvirtInput } from "./mode.js";

export interface InputLibvirtCheckOptions {
  /** The arguments after `-i libvirt`: the guest's name or UUID. */
  args: string[];
  /** -ic: the libvirt URI (null: libvirt's default connection). */
  connection: string | null;
  /** -ip: file whose first line answers libvirt's password question. */
  passwordFile: string | null;
  warn: (text: string) => void;
}

export interface InputLibvirtOptions extends InputLibvirtCheckOptions {
  workdir: string;
  /** Serve through an overlay (the default): the source disks are never written. */
  overlay?: boolean;
  verbose: boolean;
  log: (line: string) => void;
}

/** What the precheck found: the guest, read through libvirt, every local disk readable. */
export interface CheckedLibvirt {
  guest: string;
  domain: ParsedDomain;
}

/**
 * virt-v2v 2.2 serves a remote URI of a scheme it has no mode for (qemu+ssh://…) as if local,
 * and says that its disks may not be readable from here.
 */
function warnIfRemote(connection: string | null, warn: (text: string) => void): void {
  if (connection === null) return;
  const uri = parseLibvirtUri(connection);
  if (uri.server !== null && uri.scheme !== null) {
    warn(
      `no support for remote libvirt connections to '-ic ${connection}'.  The conversion may fail when it tries to read the source disks.`,
    );
  }
}

/**
 * Every check before a server starts: one guest name, the password file, the connection, the
 * guest (found, shut down), its XML, each local disk readable. Writes nothing.
 */
export async function precheckInputLibvirt(
  options: InputLibvirtCheckOptions,
): Promise<CheckedLibvirt> {
  const guest = libvirtGuestArg(options.args);
  if (options.passwordFile !== null) await checkPasswordFile(options.passwordFile);
  warnIfRemote(options.connection, options.warn);
  const connection = openLibvirt(options.connection, options.passwordFile);
  let domain: ParsedDomain;
  try {
    const xml = domainXmlOf(connection, guest);
    domain = await parseDomainXml(xml, {
      label: `the libvirt XML of ‘${guest}’`,
      readVolumeXml: libvirtVolumeReader(() => connection),
      warn: options.warn,
    });
  } finally {
    connection.close();
  }
  await checkLocalDomainDisks(domain, "-i libvirt", `of the guest ‘${guest}’`);
  return { guest, domain };
}

/** Serves the guest's disks on WORKDIR/in0… and writes metadata.in (prechecks first if needed). */
export async function setUpInputLibvirt(
  options: InputLibvirtOptions,
  checked?: CheckedLibvirt,
): Promise<{ sockets: string[]; metadata: MetadataIn }> {
  const { domain } = checked ?? (await precheckInputLibvirt(options));
  return serveDomain(domain, {
    mode: "libvirt",
    description: describeLocalLibvirtInput(options.connection, options.args),
    workdir: options.workdir,
    overlay: options.overlay,
    verbose: options.verbose,
    log: options.log,
  });
}
