import { passwordFileAuth, readFirstLine } from "./auth.js";
import { LibvirtError } from "./errors.js";
import {
  VIR_CONNECT_RO,
  VIR_DOMAIN_UNDEFINE_NVRAM,
  VIR_DOMAIN_XML_SECURE,
  VIR_ERR_INVALID_ARG,
  VIR_ERR_NO_DOMAIN,
  VIR_ERR_NO_STORAGE_POOL,
  VIR_FROM_STORAGE,
  virt,
  type VirObjectPointer,
} from "./ffi.js";

/** How to open a connection. */
export interface OpenOptions {
  /**
   * A file whose first line is the password (virt-v2v's `-ip`). libvirt is handed it when a driver
   * asks for VIR_CRED_PASSPHRASE or VIR_CRED_NOECHOPROMPT. Without it, libvirt's default auth
   * (virConnectAuthPtrDefault) is used: it prompts on the terminal.
   */
  passwordFile?: string | null;
  /** Open with VIR_CONNECT_RO. */
  readOnly?: boolean;
}

/** virDomainState, by name. */
export type DomainState =
  "nostate" | "running" | "blocked" | "paused" | "shutdown" | "shutoff" | "crashed" | "pmsuspended";

/** Indexed by virDomainState's number (VIR_DOMAIN_NOSTATE = 0 … VIR_DOMAIN_PMSUSPENDED = 7). */
const DOMAIN_STATES: readonly DomainState[] = [
  "nostate",
  "running",
  "blocked",
  "paused",
  "shutdown",
  "shutoff",
  "crashed",
  "pmsuspended",
];

/** A libvirt domain (virDomainPtr). Call free() when done with it. */
export interface LibvirtDomain {
  readonly name: string;
  /** The UUID in its canonical text form, e.g. "6695eb01-f6a4-8304-79aa-97f2502e193f". */
  readonly uuid: string;
  /** virDomainGetInfo's state. */
  state(): DomainState;
  /** virDomainGetXMLDesc; `secure` (VIR_DOMAIN_XML_SECURE) includes passwords, as virt-v2v asks. */
  xml(options: { secure: boolean }): string;
  /**
   * virDomainUndefineFlags: removes the persistent definition; a running domain becomes
   * transient. `nvram` (VIR_DOMAIN_UNDEFINE_NVRAM) removes its UEFI NVRAM file too: the qemu
   * driver refuses to undefine a domain whose NVRAM file exists without it, and the test driver
   * refuses the flag. The object stays valid until free().
   */
  undefine(options: { nvram: boolean }): void;
  free(): void;
}

/** A libvirt storage pool (virStoragePoolPtr). Call free() when done with it. */
export interface LibvirtPool {
  readonly name: string;
  xml(): string;
  /** virStoragePoolRefresh: rescan the pool (virt-v2v's -o libvirt does after writing disks). */
  refresh(): void;
  lookupVolume(name: string): LibvirtVolume;
  free(): void;
}

/** A libvirt storage volume (virStorageVolPtr). Call free() when done with it. */
export interface LibvirtVolume {
  readonly name: string;
  /** virStorageVolGetPath: the volume's /volume/target/path. */
  readonly path: string;
  xml(): string;
  free(): void;
}

type Free = (pointer: VirObjectPointer) => number;

/**
 * Frees libvirt objects whose wrappers were garbage-collected without free(). A safety net only:
 * a domain or pool holds a reference on its connection, so a leaked one keeps it open.
 */
const leakedObjects = new FinalizationRegistry<{ pointer: VirObjectPointer; free: Free }>(
  ({ pointer, free }) => {
    if (free(pointer) < 0) virt.resetLastError();
  },
);

/** What every libvirt object wrapper shares: its pointer, and freeing it once. */
abstract class LibvirtObject {
  #pointer: VirObjectPointer | null;

  protected constructor(
    pointer: VirObjectPointer,
    private readonly freeObject: Free,
    private readonly kind: string,
  ) {
    this.#pointer = pointer;
    leakedObjects.register(this, { pointer, free: freeObject }, this);
  }

  protected pointer(method: string): VirObjectPointer {
    if (this.#pointer === null) throw LibvirtError.released(method, this.kind);
    return this.#pointer;
  }

  /** Releases the libvirt object; idempotent. */
  free(): void {
    if (this.#pointer === null) return;
    const pointer = this.#pointer;
    this.#pointer = null;
    leakedObjects.unregister(this);
    // Freeing only fails for an invalid pointer, which this wrapper never holds; drop the error.
    if (this.freeObject(pointer) < 0) virt.resetLastError();
  }
}

/** A `char *`/pointer result of a libvirt call, or the call's LibvirtError when it is null. */
function check<T>(result: T | null, libvirtCall: string): T {
  if (result === null) throw LibvirtError.fromLastError(libvirtCall);
  return result;
}

class Domain extends LibvirtObject implements LibvirtDomain {
  readonly name: string;
  readonly uuid: string;

  constructor(pointer: VirObjectPointer) {
    super(pointer, virt.domainFree, "domain");
    try {
      this.name = check(virt.domainGetName(pointer), "virDomainGetName");
      this.uuid = check(virt.domainGetUUIDString(pointer), "virDomainGetUUIDString");
    } catch (error: unknown) {
      this.free();
      throw error;
    }
  }

  state(): DomainState {
    const state = check(virt.domainGetState(this.pointer("state")), "virDomainGetInfo");
    // A state newer than this list reads as "nostate", which virt-v2v does not refuse.
    return DOMAIN_STATES[state] ?? "nostate";
  }

  xml(options: { secure: boolean }): string {
    const flags = options.secure ? VIR_DOMAIN_XML_SECURE : 0;
    return check(virt.domainGetXMLDesc(this.pointer("xml"), flags), "virDomainGetXMLDesc");
  }

  undefine(options: { nvram: boolean }): void {
    const flags = options.nvram ? VIR_DOMAIN_UNDEFINE_NVRAM : 0;
    if (virt.domainUndefineFlags(this.pointer("undefine"), flags) < 0) {
      throw LibvirtError.fromLastError("virDomainUndefineFlags");
    }
  }
}

class Pool extends LibvirtObject implements LibvirtPool {
  readonly name: string;

  constructor(pointer: VirObjectPointer) {
    super(pointer, virt.storagePoolFree, "storage pool");
    try {
      this.name = check(virt.storagePoolGetName(pointer), "virStoragePoolGetName");
    } catch (error: unknown) {
      this.free();
      throw error;
    }
  }

  xml(): string {
    return check(virt.storagePoolGetXMLDesc(this.pointer("xml")), "virStoragePoolGetXMLDesc");
  }

  refresh(): void {
    if (virt.storagePoolRefresh(this.pointer("refresh")) < 0) {
      throw LibvirtError.fromLastError("virStoragePoolRefresh");
    }
  }

  lookupVolume(name: string): LibvirtVolume {
    const pointer = check(
      virt.storageVolLookupByName(this.pointer("lookupVolume"), name),
      "virStorageVolLookupByName",
    );
    return new Volume(pointer);
  }
}

class Volume extends LibvirtObject implements LibvirtVolume {
  readonly name: string;
  readonly path: string;

  constructor(pointer: VirObjectPointer) {
    super(pointer, virt.storageVolFree, "storage volume");
    try {
      this.name = check(virt.storageVolGetName(pointer), "virStorageVolGetName");
      this.path = check(virt.storageVolGetPath(pointer), "virStorageVolGetPath");
    } catch (error: unknown) {
      this.free();
      throw error;
    }
  }

  xml(): string {
    return check(virt.storageVolGetXMLDesc(this.pointer("xml")), "virStorageVolGetXMLDesc");
  }
}

/** A connection to a hypervisor through libvirt (virConnectPtr). */
export class LibvirtConnection {
  #pointer: VirObjectPointer | null;
  /** virConnectGetURI: the URI libvirt actually connected to (the default one if none was given). */
  readonly uri: string;

  private constructor(pointer: VirObjectPointer) {
    this.#pointer = pointer;
    try {
      this.uri = check(virt.connectGetURI(pointer), "virConnectGetURI");
    } catch (error: unknown) {
      this.close();
      throw error;
    }
  }

  /**
   * virConnectOpenAuth. `uri` null means libvirt's default URI (LIBVIRT_DEFAULT_URI, …).
   * Blocks until the driver has connected, including any ssh or HTTPS round trips.
   */
  static open(uri: string | null, options: OpenOptions = {}): LibvirtConnection {
    const flags = options.readOnly === true ? VIR_CONNECT_RO : 0;
    const passwordFile = options.passwordFile ?? null;
    if (passwordFile === null) {
      const pointer = virt.connectOpenAuth(uri, { kind: "default" }, flags);
      return new LibvirtConnection(check(pointer, "virConnectOpenAuth"));
    }
    const password = readFirstLine(passwordFile);
    try {
      const pointer = virt.connectOpenAuth(uri, passwordFileAuth(password), flags);
      return new LibvirtConnection(check(pointer, "virConnectOpenAuth"));
    } finally {
      // libvirt got its own malloc'd copy; do not keep the password in this process's heap.
      password.fill(0);
    }
  }

  #connection(method: string): VirObjectPointer {
    if (this.#pointer === null) throw LibvirtError.released(method, "connection");
    return this.#pointer;
  }

  /** virDomainLookupByUUIDString. Not a UUID: VIR_ERR_INVALID_ARG; none: VIR_ERR_NO_DOMAIN. */
  lookupDomainByUuid(uuid: string): LibvirtDomain {
    const pointer = virt.domainLookupByUUIDString(this.#connection("lookupDomainByUuid"), uuid);
    return new Domain(check(pointer, "virDomainLookupByUUIDString"));
  }

  /** virDomainLookupByName. None: VIR_ERR_NO_DOMAIN. */
  lookupDomainByName(name: string): LibvirtDomain {
    const pointer = virt.domainLookupByName(this.#connection("lookupDomainByName"), name);
    return new Domain(check(pointer, "virDomainLookupByName"));
  }

  /** virt-v2v's domain_exists: by name only; errors other than VIR_ERR_NO_DOMAIN are thrown. */
  domainExists(name: string): boolean {
    try {
      this.lookupDomainByName(name).free();
      return true;
    } catch (error: unknown) {
      if (error instanceof LibvirtError && error.code === VIR_ERR_NO_DOMAIN) return false;
      throw error;
    }
  }

  /** virDomainDefineXML: defines (does not start) a persistent domain. */
  defineDomain(xml: string): LibvirtDomain {
    const pointer = virt.domainDefineXML(this.#connection("defineDomain"), xml);
    return new Domain(check(pointer, "virDomainDefineXML"));
  }

  /** virConnectGetCapabilities: the hypervisor's capabilities XML (-o libvirt reads it). */
  capabilities(): string {
    const xml = virt.connectGetCapabilities(this.#connection("capabilities"));
    return check(xml, "virConnectGetCapabilities");
  }

  /**
   * virt-v2v's get_pool without its message: by UUID first; if there is no such pool or the string
   * is not a UUID, by name. The name lookup's LibvirtError (VIR_ERR_NO_STORAGE_POOL) is thrown.
   */
  lookupPool(nameOrUuid: string): LibvirtPool {
    const connection = this.#connection("lookupPool");
    const byUuid = virt.storagePoolLookupByUUIDString(connection, nameOrUuid);
    if (byUuid !== null) return new Pool(byUuid);
    const uuidError = LibvirtError.fromLastError("virStoragePoolLookupByUUIDString");
    const notFound =
      uuidError.code === VIR_ERR_NO_STORAGE_POOL ||
      (uuidError.code === VIR_ERR_INVALID_ARG && uuidError.domain === VIR_FROM_STORAGE);
    if (!notFound) throw uuidError;
    const byName = virt.storagePoolLookupByName(connection, nameOrUuid);
    return new Pool(check(byName, "virStoragePoolLookupByName"));
  }

  /**
   * virConnectClose; idempotent. Domains, pools and volumes still held keep libvirt's connection
   * alive until they are freed, and stay usable until then.
   */
  close(): void {
    if (this.#pointer === null) return;
    const pointer = this.#pointer;
    this.#pointer = null;
    if (virt.connectClose(pointer) < 0) virt.resetLastError();
  }
}

/** virGetVersion: the version of the libvirt library loaded (libvirt.so.0). */
export function libvirtVersion(): { major: number; minor: number; micro: number; text: string } {
  const version = virt.getVersion();
  if (version === null) throw LibvirtError.fromLastError("virGetVersion");
  const major = Math.floor(version / 1_000_000);
  const minor = Math.floor(version / 1000) % 1000;
  const micro = version % 1000;
  return { major, minor, micro, text: `${major}.${minor}.${micro}` };
}
