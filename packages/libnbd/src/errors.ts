import { constants } from "node:os";

import { nbd } from "./ffi.js";

/** A failed libnbd call. `message` is libnbd's own text (nbd_get_error), which names the call. */
export class NbdError extends Error {
  override readonly name = "NbdError";

  constructor(
    message: string,
    /** The errno libnbd reported (nbd_get_errno), 0 when libnbd gave none. */
    readonly errno: number,
    /** The libnbd function (or, for failures detected here, the method) that failed. */
    readonly nbdCall: string,
  ) {
    super(message);
  }

  /**
   * Builds the error for a libnbd call that just failed on this thread. Must be called before any
   * other libnbd call, because libnbd keeps only the most recent error (per thread).
   */
  static fromLastError(nbdCall: string): NbdError {
    const message = nbd.getError() ?? `${nbdCall}: failed (libnbd gave no error message)`;
    return new NbdError(message, nbd.getErrno(), nbdCall);
  }

  /** The connection was closed (by `close()` or because the transport failed earlier). */
  static closed(method: string): NbdError {
    return new NbdError(
      `${method}: the NBD connection is closed`,
      constants.errno.ENOTCONN,
      method,
    );
  }
}
