/**
 * Where a guest's domain XML comes from for the -i libvirt modes: libvirt itself, over the -ic
 * connection (virt-v2v's parse_libvirt_domain: the guest looked up by UUID then name, refused
 * while it runs, its XML fetched with VIR_DOMAIN_XML_SECURE so that passwords are kept), and the
 * storage volumes a <disk type='volume'> names.
 *
 * The stand-in: a vCenter, an ESXi host or a Xen host with libvirtd cannot exist on a test
 * machine, and libvirt's ESX driver speaks SOAP to vCenter. For tests only, the environment
 * variable SPLIT_V2V_STANDIN_DOMAIN_XML names a file holding the domain XML such a connection
 * would give (the vmware namespace included); the remote modes then read it instead of opening
 * the -ic connection. Everything else (the URI's server, user and options, the password file,
 * the disks' transports) stays real.
 */
import { readFile } from "node:fs/promises";
import { UserError, errnoReason } from "@split-v2v/common";
import {
  LibvirtConnection,
  LibvirtError,
  findGuest,
  findPool,
  findVolume,
} from "@split-v2v/libvirt";
import { parseDomainXml, type ParsedDomain, type VolumeXmlReader } from "./domain-xml.js";

/** Tests only: the file whose domain XML a remote -ic connection is taken to give. */
export const DOMAIN_XML_STANDIN_ENV = "SPLIT_V2V_STANDIN_DOMAIN_XML";

/** libvirt's words for a failed connection, as virt-v2v reports them. */
function connectionError(uri: string | null, err: unknown): never {
  if (err instanceof LibvirtError) {
    throw new UserError(
      `cannot open the libvirt connection ${uri === null ? "(default)" : `‘${uri}’`}: ${err.message}`,
    );
  }
  throw err;
}

/** Opens the connection (null: libvirt's default), its errors as one-line UserErrors. */
export function openLibvirt(uri: string | null, passwordFile: string | null): LibvirtConnection {
  try {
    return LibvirtConnection.open(uri, { passwordFile });
  } catch (err: unknown) {
    connectionError(uri, err);
  }
}

/** The guest's domain XML over the connection: virt-v2v's get_domain, then its secure XML. */
export function domainXmlOf(connection: LibvirtConnection, guest: string): string {
  const domain = findGuest(connection, guest);
  try {
    return domain.xml({ secure: true });
  } finally {
    domain.free();
  }
}

/** A volume's XML through `connection` (opened on first use), for parseDomainXml. */
export function libvirtVolumeReader(connection: () => LibvirtConnection): VolumeXmlReader {
  return (poolName, volumeName) => {
    const pool = findPool(connection(), poolName);
    try {
      const volume = findVolume(pool, volumeName);
      try {
        return Promise.resolve(volume.xml());
      } finally {
        volume.free();
      }
    } finally {
      pool.free();
    }
  };
}

/**
 * The guest's domain XML over the -ic connection (password from the file), or from the stand-in
 * file when SPLIT_V2V_STANDIN_DOMAIN_XML is set. Used by the remote modes (vCenter, ESXi, Xen),
 * whose disks are read by other means than the connection.
 */
export async function fetchDomainXml(
  uri: string,
  guest: string,
  options: { passwordFile: string | null },
): Promise<string> {
  const standIn = process.env[DOMAIN_XML_STANDIN_ENV];
  if (standIn !== undefined && standIn !== "") {
    try {
      return await readFile(standIn, "utf8");
    } catch (err: unknown) {
      throw new UserError(
        `${DOMAIN_XML_STANDIN_ENV}=${standIn}: cannot read the stand-in domain XML: ${errnoReason(err)}`,
      );
    }
  }
  const connection = openLibvirt(uri, options.passwordFile);
  try {
    return domainXmlOf(connection, guest);
  } catch (err: unknown) {
    if (err instanceof LibvirtError) throw new UserError(`-ic ${uri}: ${err.message}`);
    throw err;
  } finally {
    connection.close();
  }
}

/**
 * A remote mode's guest (vCenter, ESXi, Xen over SSH): its domain XML fetched (fetchDomainXml)
 * and parsed. The remote drivers name every disk as a file, never a storage pool volume, so
 * none is looked up. `label` names the XML in parse errors (default: the -i libvirt command line).
 */
export async function fetchRemoteDomain(
  uri: string,
  guest: string,
  options: { passwordFile: string | null; warn: (text: string) => void; label?: string },
): Promise<ParsedDomain> {
  const xml = await fetchDomainXml(uri, guest, { passwordFile: options.passwordFile });
  return parseDomainXml(xml, {
    label: options.label ?? `-i libvirt -ic ${uri} ${guest}`,
    readVolumeXml: null,
    warn: options.warn,
  });
}
