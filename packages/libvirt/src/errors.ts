import { VIR_ERR_INVALID_CONN, VIR_ERR_OK, VIR_FROM_NONE, virt } from "./ffi.js";

/**
 * A failed libvirt call. `message` is libvirt's own text (virError's message), e.g.
 * "Domain not found: no domain with matching name 'x'".
 */
export class LibvirtError extends Error {
  override readonly name = "LibvirtError";

  constructor(
    message: string,
    /** virErrorNumber, e.g. VIR_ERR_NO_DOMAIN = 42, VIR_ERR_INVALID_ARG = 8; 0 if libvirt gave none. */
    readonly code: number,
    /** virErrorDomain (where the error arose), e.g. VIR_FROM_DOMAIN = 20, VIR_FROM_STORAGE = 18. */
    readonly domain: number,
    /** The libvirt function (or, for failures detected here, the method) that failed. */
    readonly libvirtCall: string,
  ) {
    super(message);
  }

  /**
   * Builds the error for a libvirt call that just failed on this thread, and clears libvirt's last
   * error so a later failure cannot be mistaken for this one. Must be called before any other
   * libvirt call, because libvirt keeps only the most recent error (per thread).
   */
  static fromLastError(libvirtCall: string): LibvirtError {
    const last = virt.getLastError();
    virt.resetLastError();
    if (last === null) {
      return new LibvirtError(
        `${libvirtCall}: failed (libvirt gave no error)`,
        VIR_ERR_OK,
        VIR_FROM_NONE,
        libvirtCall,
      );
    }
    return new LibvirtError(
      last.message ?? `${libvirtCall}: failed (libvirt gave no message)`,
      last.code,
      last.domain,
      libvirtCall,
    );
  }

  /** A method of a connection (or of an object) used after close() (or free()). */
  static released(method: string, what: string): LibvirtError {
    return new LibvirtError(
      `${method}: the libvirt ${what} was already released`,
      VIR_ERR_INVALID_CONN,
      VIR_FROM_NONE,
      method,
    );
  }
}
