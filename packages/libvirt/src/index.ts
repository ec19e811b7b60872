// @split-v2v/libvirt: libvirt's client library (libvirt.so.0) through koffi, and virt-v2v's
// Libvirt_utils (findGuest, findPool, findVolume) on top of it.
export { LibvirtError } from "./errors.js";
export { LibvirtConnection, libvirtVersion } from "./connection.js";
export type {
  DomainState,
  LibvirtDomain,
  LibvirtPool,
  LibvirtVolume,
  OpenOptions,
} from "./connection.js";
export { findGuest, findPool, findVolume } from "./find.js";
export {
  VIR_ERR_AUTH_FAILED,
  VIR_ERR_INTERNAL_ERROR,
  VIR_ERR_INVALID_ARG,
  VIR_ERR_NO_DOMAIN,
  VIR_ERR_NO_STORAGE_POOL,
  VIR_ERR_NO_STORAGE_VOL,
  VIR_FROM_DOMAIN,
  VIR_FROM_ESX,
  VIR_FROM_STORAGE,
} from "./ffi.js";
