// The raw libvirt and libc entry points, declared once through koffi and given TypeScript types.
//
// Every call here is synchronous and runs on the main thread. libvirt keeps its last error in
// thread-local storage (virGetLastError), so a call run through koffi's `.async` on a worker
// thread would lose its error before the main thread could read it; and the drivers used here
// (test:, esx:, vpx:, and the remote driver behind qemu+ssh:// and xen+ssh://) answer within one
// call. Helpers are separate processes, so blocking one helper's event loop blocks nothing else.
// See README.md, "Threading".

import koffi from "koffi";

/** An opaque libvirt object pointer (`virConnectPtr`, `virDomainPtr`, …) as koffi hands it out. */
export type VirObjectPointer = object;
/** A native pointer (from malloc, or handed to a callback by libvirt). */
export type NativePointer = object;

// virErrorNumber (libvirt's include/libvirt/virterror.h). Only the ones this package names.
export const VIR_ERR_OK = 0;
export const VIR_ERR_INTERNAL_ERROR = 1;
export const VIR_ERR_INVALID_CONN = 6;
export const VIR_ERR_INVALID_ARG = 8;
export const VIR_ERR_NO_DOMAIN = 42;
export const VIR_ERR_AUTH_FAILED = 45;
export const VIR_ERR_NO_STORAGE_POOL = 49;
export const VIR_ERR_NO_STORAGE_VOL = 50;

// virErrorDomain: where an error came from.
export const VIR_FROM_NONE = 0;
/** libvirt-domain.c reports as VIR_FROM_DOMAIN (not VIR_FROM_DOM = 6, the old domain API one). */
export const VIR_FROM_DOMAIN = 20;
export const VIR_FROM_STORAGE = 18;
export const VIR_FROM_ESX = 28;

// virConnectCredentialType.
export const VIR_CRED_AUTHNAME = 2;
export const VIR_CRED_PASSPHRASE = 5;
export const VIR_CRED_ECHOPROMPT = 6;
export const VIR_CRED_NOECHOPROMPT = 7;

export const VIR_CONNECT_RO = 1;
export const VIR_DOMAIN_XML_SECURE = 1;
/** virDomainUndefineFlags: also remove the UEFI NVRAM file (an error without it, if there is one). */
export const VIR_DOMAIN_UNDEFINE_NVRAM = 4;
/** VIR_UUID_STRING_BUFLEN: 36 characters and the NUL. */
const VIR_UUID_STRING_BUFLEN = 37;

const libvirt = koffi.load("libvirt.so.0");
const libc = koffi.load("libc.so.6");

koffi.opaque("virConnect");
koffi.opaque("virDomain");
koffi.opaque("virStoragePool");
koffi.opaque("virStorageVol");

/** `struct _virError`, as libvirt 9.0 lays it out. */
const errorType = koffi.struct("virError", {
  code: "int",
  domain: "int",
  message: "const char *",
  level: "int",
  conn: "void *",
  dom: "void *",
  str1: "const char *",
  str2: "const char *",
  str3: "const char *",
  int1: "int",
  int2: "int",
  net: "void *",
});

/** `struct _virConnectCredential`. `result` is written by the auth callback: a malloc'd string. */
const credentialType = koffi.struct("virConnectCredential", {
  type: "int",
  prompt: "const char *",
  challenge: "const char *",
  defresult: "const char *",
  result: "void *",
  resultlen: "unsigned int",
});

const authCallbackType = koffi.proto(
  "int virConnectAuthCallback(virConnectCredential *cred, unsigned int ncred, void *cbdata)",
);
koffi.struct("virConnectAuth", {
  credtype: "int *",
  ncredtype: "unsigned int",
  cb: koffi.pointer(authCallbackType),
  cbdata: "void *",
});
const errorFuncType = koffi.proto("void virErrorFunc(void *userData, virError *error)");

koffi.struct("virDomainInfo", {
  state: "unsigned char",
  maxMem: "unsigned long",
  memory: "unsigned long",
  nrVirtCpu: "unsigned short",
  cpuTime: "unsigned long long",
});

// Functions returning a `char *` the caller must free are declared as `void *`, so the string
// can be decoded and then freed with libc's free(3).
const fn = {
  getVersion: libvirt.func(
    "int virGetVersion(_Out_ unsigned long *libVer, const char *type, _Out_ unsigned long *typeVer)",
  ),
  setErrorFunc: libvirt.func("void virSetErrorFunc(void *userData, virErrorFunc *handler)"),
  getLastError: libvirt.func("virError *virGetLastError(void)"),
  resetLastError: libvirt.func("void virResetLastError(void)"),
  // Two declarations of virConnectOpenAuth: one takes an auth struct built from JS (koffi copies it
  // for the duration of the call), the other libvirt's own virConnectAuthPtrDefault as it is.
  connectOpenAuth: libvirt.func(
    "virConnect *virConnectOpenAuth(const char *name, virConnectAuth *auth, unsigned int flags)",
  ),
  connectOpenAuthPointer: libvirt.func(
    "virConnect *virConnectOpenAuth(const char *name, void *auth, unsigned int flags)",
  ),
  connectClose: libvirt.func("int virConnectClose(virConnect *conn)"),
  connectGetURI: libvirt.func("void *virConnectGetURI(virConnect *conn)"),
  connectGetCapabilities: libvirt.func("void *virConnectGetCapabilities(virConnect *conn)"),
  domainLookupByUUIDString: libvirt.func(
    "virDomain *virDomainLookupByUUIDString(virConnect *conn, const char *uuidstr)",
  ),
  domainLookupByName: libvirt.func(
    "virDomain *virDomainLookupByName(virConnect *conn, const char *name)",
  ),
  domainDefineXML: libvirt.func("virDomain *virDomainDefineXML(virConnect *conn, const char *xml)"),
  domainUndefineFlags: libvirt.func(
    "int virDomainUndefineFlags(virDomain *domain, unsigned int flags)",
  ),
  domainFree: libvirt.func("int virDomainFree(virDomain *domain)"),
  domainGetName: libvirt.func("const char *virDomainGetName(virDomain *domain)"),
  domainGetUUIDString: libvirt.func(
    "int virDomainGetUUIDString(virDomain *domain, _Out_ uint8_t *buf)",
  ),
  domainGetInfo: libvirt.func("int virDomainGetInfo(virDomain *domain, _Out_ virDomainInfo *info)"),
  domainGetXMLDesc: libvirt.func(
    "void *virDomainGetXMLDesc(virDomain *domain, unsigned int flags)",
  ),
  storagePoolLookupByUUIDString: libvirt.func(
    "virStoragePool *virStoragePoolLookupByUUIDString(virConnect *conn, const char *uuidstr)",
  ),
  storagePoolLookupByName: libvirt.func(
    "virStoragePool *virStoragePoolLookupByName(virConnect *conn, const char *name)",
  ),
  storagePoolFree: libvirt.func("int virStoragePoolFree(virStoragePool *pool)"),
  storagePoolGetName: libvirt.func("const char *virStoragePoolGetName(virStoragePool *pool)"),
  storagePoolGetXMLDesc: libvirt.func(
    "void *virStoragePoolGetXMLDesc(virStoragePool *pool, unsigned int flags)",
  ),
  storagePoolRefresh: libvirt.func(
    "int virStoragePoolRefresh(virStoragePool *pool, unsigned int flags)",
  ),
  storageVolLookupByName: libvirt.func(
    "virStorageVol *virStorageVolLookupByName(virStoragePool *pool, const char *name)",
  ),
  storageVolFree: libvirt.func("int virStorageVolFree(virStorageVol *vol)"),
  storageVolGetName: libvirt.func("const char *virStorageVolGetName(virStorageVol *vol)"),
  storageVolGetPath: libvirt.func("void *virStorageVolGetPath(virStorageVol *vol)"),
  storageVolGetXMLDesc: libvirt.func(
    "void *virStorageVolGetXMLDesc(virStorageVol *vol, unsigned int flags)",
  ),
  malloc: libc.func("void *malloc(size_t size)"),
  free: libc.func("void free(void *ptr)"),
};

/** libvirt's `virConnectAuthPtrDefault`: the auth that prompts on the terminal. */
const defaultAuthSymbol: unknown = libvirt.symbol("virConnectAuthPtrDefault", "void *");

// libvirt prints every error to stderr itself unless an error function is set; setting NULL
// restores that default, so a registered no-op is installed once, for the life of the process.
// Errors are read with virGetLastError after each failed call instead.
const silentErrorFunc = koffi.register(() => undefined, koffi.pointer(errorFuncType));
fn.setErrorFunc(null, silentErrorFunc);

function asNumber(value: unknown, what: string): number {
  if (typeof value === "number") return value;
  if (typeof value === "bigint") return Number(value);
  throw new TypeError(`${what}: expected a number from koffi, got ${typeof value}`);
}

function asStringOrNull(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}

function asPointerOrNull(value: unknown): NativePointer | null {
  return typeof value === "object" && value !== null ? value : null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

/** Decodes a `char *` that the caller owns, then frees it. null stays null (the call failed). */
function takeString(value: unknown): string | null {
  const pointer = asPointerOrNull(value);
  if (pointer === null) return null;
  try {
    const decoded: unknown = koffi.decode(pointer, "char", -1);
    return typeof decoded === "string" ? decoded : "";
  } finally {
    fn.free(pointer);
  }
}

/** The fields of libvirt's last error that this package uses. */
export interface VirErrorFields {
  code: number;
  domain: number;
  message: string | null;
}

/** One request in the credential array libvirt hands an auth callback. */
export interface CredentialRequest {
  type: number;
  prompt: string | null;
  challenge: string | null;
  defaultResult: string | null;
}

/**
 * Answers one credential request with the bytes to hand libvirt (no NUL needed), or null to leave
 * it unanswered (libvirt then sees a NULL result).
 */
export type CredentialAnswerer = (request: CredentialRequest) => Uint8Array | null;

/** What `virConnectOpenAuth` gets as its auth: libvirt's default, or a callback of ours. */
export type ConnectAuth =
  { kind: "default" } | { kind: "callback"; credentialTypes: number[]; answer: CredentialAnswerer };

/** Copies bytes into a NUL-terminated malloc'd string, which libvirt will free(3). */
function mallocString(bytes: Uint8Array): NativePointer {
  const pointer = asPointerOrNull(fn.malloc(bytes.length + 1));
  if (pointer === null) throw new Error("malloc failed");
  const view = new Uint8Array(koffi.view(pointer, bytes.length + 1));
  view.set(bytes);
  view[bytes.length] = 0;
  return pointer;
}

/**
 * The body of a `virConnectAuthCallback`: asks `answer` about each credential, then writes each
 * answer into the array as a malloc'd `result` with its `resultlen` (strlen, without the NUL), as
 * libvirt's own default callback does. Returns 0, or -1 (writing nothing) if `answer` throws.
 */
function fillCredentials(credentials: unknown, count: number, answer: CredentialAnswerer): number {
  const answers: (Uint8Array | null)[] = [];
  try {
    const decoded: unknown = koffi.decode(credentials, credentialType, count);
    if (!Array.isArray(decoded)) return -1;
    for (const entry of decoded) {
      if (!isRecord(entry)) return -1;
      answers.push(
        answer({
          type: asNumber(entry.type, "virConnectCredential.type"),
          prompt: asStringOrNull(entry.prompt),
          challenge: asStringOrNull(entry.challenge),
          defaultResult: asStringOrNull(entry.defresult),
        }),
      );
    }
  } catch {
    return -1;
  }
  const size = koffi.sizeof(credentialType);
  const resultOffset = koffi.offsetof(credentialType, "result");
  const lengthOffset = koffi.offsetof(credentialType, "resultlen");
  try {
    answers.forEach((bytes, index) => {
      if (bytes === null) return;
      koffi.encode(credentials, index * size + resultOffset, "void *", mallocString(bytes));
      koffi.encode(credentials, index * size + lengthOffset, "unsigned int", bytes.length);
    });
  } catch {
    // Only malloc can fail here. The caller in libvirt frees whatever results were written.
    return -1;
  }
  return 0;
}

/** Runs `fillCredentials` as a C callback for the duration of `use`, then releases the slot. */
function withAuthCallback<T>(
  answer: CredentialAnswerer,
  use: (callback: koffi.IKoffiRegisteredCallback) => T,
): T {
  const callback = koffi.register(
    (credentials: unknown, count: number) => fillCredentials(credentials, count, answer),
    koffi.pointer(authCallbackType),
  );
  try {
    return use(callback);
  } finally {
    koffi.unregister(callback);
  }
}

/**
 * Calls a `virConnectAuthCallback` function pointer with a credential array built here, the way
 * libvirt would, and returns what it wrote. For tests of the callback itself; the results are
 * freed before returning.
 */
export function callAuthCallbackForTest(
  requests: { type: number; prompt: string }[],
  answer: CredentialAnswerer,
): { status: number; results: (string | null)[]; lengths: number[] } {
  return withAuthCallback(answer, (callback) => {
    const size = koffi.sizeof(credentialType);
    const array = koffi.alloc(credentialType, requests.length);
    try {
      requests.forEach((request, index) => {
        koffi.encode(array, index * size, credentialType, {
          type: request.type,
          prompt: request.prompt,
          challenge: null,
          defresult: null,
          result: null,
          resultlen: 0,
        });
      });
      const status = asNumber(
        koffi.call(callback, authCallbackType, array, requests.length, null),
        "virConnectAuthCallback",
      );
      const decoded: unknown = koffi.decode(array, credentialType, requests.length);
      const entries = Array.isArray(decoded) ? decoded.filter(isRecord) : [];
      return {
        status,
        results: entries.map((entry) => takeString(entry.result)),
        lengths: entries.map((entry) => asNumber(entry.resultlen, "resultlen")),
      };
    } finally {
      koffi.free(array);
    }
  });
}

/** The typed surface of libvirt used by this package. */
export const virt = {
  /** libvirt's version as major * 1,000,000 + minor * 1,000 + micro, or null on failure. */
  getVersion: (): number | null => {
    const libraryVersion = [0];
    const typeVersion = [0];
    const status = asNumber(fn.getVersion(libraryVersion, null, typeVersion), "virGetVersion");
    return status < 0 ? null : (libraryVersion[0] ?? null);
  },
  /** libvirt's last error on this thread, or null if there is none. Does not clear it. */
  getLastError: (): VirErrorFields | null => {
    const pointer = asPointerOrNull(fn.getLastError());
    if (pointer === null) return null;
    const decoded: unknown = koffi.decode(pointer, errorType);
    if (!isRecord(decoded)) return null;
    return {
      code: asNumber(decoded.code, "virError.code"),
      domain: asNumber(decoded.domain, "virError.domain"),
      message: asStringOrNull(decoded.message),
    };
  },
  resetLastError: (): void => {
    fn.resetLastError();
  },
  connectOpenAuth: (
    uri: string | null,
    auth: ConnectAuth,
    flags: number,
  ): VirObjectPointer | null => {
    if (auth.kind === "default") {
      const defaultAuth = asPointerOrNull(koffi.decode(defaultAuthSymbol, "void *"));
      return asPointerOrNull(fn.connectOpenAuthPointer(uri, defaultAuth, flags));
    }
    return withAuthCallback(auth.answer, (callback) =>
      asPointerOrNull(
        fn.connectOpenAuth(
          uri,
          {
            credtype: auth.credentialTypes,
            ncredtype: auth.credentialTypes.length,
            cb: callback,
            cbdata: null,
          },
          flags,
        ),
      ),
    );
  },
  /** The credential types libvirt's default auth offers (virConnectAuthPtrDefault->credtype). */
  defaultCredentialTypes: (): number[] => {
    const defaultAuth = asPointerOrNull(koffi.decode(defaultAuthSymbol, "void *"));
    if (defaultAuth === null) return [];
    const decoded: unknown = koffi.decode(defaultAuth, "virConnectAuth");
    if (!isRecord(decoded)) return [];
    const count = asNumber(decoded.ncredtype, "virConnectAuth.ncredtype");
    const types: unknown = koffi.decode(decoded.credtype, "int", count);
    return Array.from(types instanceof Int32Array ? types : []);
  },
  connectClose: (conn: VirObjectPointer): number =>
    asNumber(fn.connectClose(conn), "virConnectClose"),
  connectGetURI: (conn: VirObjectPointer): string | null => takeString(fn.connectGetURI(conn)),
  connectGetCapabilities: (conn: VirObjectPointer): string | null =>
    takeString(fn.connectGetCapabilities(conn)),
  domainLookupByUUIDString: (conn: VirObjectPointer, uuid: string): VirObjectPointer | null =>
    asPointerOrNull(fn.domainLookupByUUIDString(conn, uuid)),
  domainLookupByName: (conn: VirObjectPointer, name: string): VirObjectPointer | null =>
    asPointerOrNull(fn.domainLookupByName(conn, name)),
  domainDefineXML: (conn: VirObjectPointer, xml: string): VirObjectPointer | null =>
    asPointerOrNull(fn.domainDefineXML(conn, xml)),
  domainUndefineFlags: (domain: VirObjectPointer, flags: number): number =>
    asNumber(fn.domainUndefineFlags(domain, flags), "virDomainUndefineFlags"),
  domainFree: (domain: VirObjectPointer): number =>
    asNumber(fn.domainFree(domain), "virDomainFree"),
  domainGetName: (domain: VirObjectPointer): string | null =>
    asStringOrNull(fn.domainGetName(domain)),
  domainGetUUIDString: (domain: VirObjectPointer): string | null => {
    const buffer = Buffer.alloc(VIR_UUID_STRING_BUFLEN);
    const status = asNumber(fn.domainGetUUIDString(domain, buffer), "virDomainGetUUIDString");
    if (status < 0) return null;
    const end = buffer.indexOf(0);
    return buffer.subarray(0, end < 0 ? buffer.length : end).toString("ascii");
  },
  /** The domain's virDomainState from virDomainGetInfo, or null on failure. */
  domainGetState: (domain: VirObjectPointer): number | null => {
    const info: Record<string, unknown> = {};
    const status = asNumber(fn.domainGetInfo(domain, info), "virDomainGetInfo");
    return status < 0 ? null : asNumber(info.state, "virDomainInfo.state");
  },
  domainGetXMLDesc: (domain: VirObjectPointer, flags: number): string | null =>
    takeString(fn.domainGetXMLDesc(domain, flags)),
  storagePoolLookupByUUIDString: (conn: VirObjectPointer, uuid: string): VirObjectPointer | null =>
    asPointerOrNull(fn.storagePoolLookupByUUIDString(conn, uuid)),
  storagePoolLookupByName: (conn: VirObjectPointer, name: string): VirObjectPointer | null =>
    asPointerOrNull(fn.storagePoolLookupByName(conn, name)),
  storagePoolFree: (pool: VirObjectPointer): number =>
    asNumber(fn.storagePoolFree(pool), "virStoragePoolFree"),
  storagePoolGetName: (pool: VirObjectPointer): string | null =>
    asStringOrNull(fn.storagePoolGetName(pool)),
  storagePoolGetXMLDesc: (pool: VirObjectPointer): string | null =>
    takeString(fn.storagePoolGetXMLDesc(pool, 0)),
  storagePoolRefresh: (pool: VirObjectPointer): number =>
    asNumber(fn.storagePoolRefresh(pool, 0), "virStoragePoolRefresh"),
  storageVolLookupByName: (pool: VirObjectPointer, name: string): VirObjectPointer | null =>
    asPointerOrNull(fn.storageVolLookupByName(pool, name)),
  storageVolFree: (volume: VirObjectPointer): number =>
    asNumber(fn.storageVolFree(volume), "virStorageVolFree"),
  storageVolGetName: (volume: VirObjectPointer): string | null =>
    asStringOrNull(fn.storageVolGetName(volume)),
  storageVolGetPath: (volume: VirObjectPointer): string | null =>
    takeString(fn.storageVolGetPath(volume)),
  storageVolGetXMLDesc: (volume: VirObjectPointer): string | null =>
    takeString(fn.storageVolGetXMLDesc(volume, 0)),
};
