import { constants } from "node:os";

const errnoNames = new Map<number, string>(
  Object.entries(constants.errno).map(([name, value]) => [value, name]),
);

/** A libguestfs call failed: `message` is guestfs_last_error, `errno` guestfs_last_errno. */
export class GuestfsError extends Error {
  override readonly name = "GuestfsError";

  constructor(
    /** The C function that failed, e.g. "guestfs_mount". */
    readonly call: string,
    message: string,
    /** The host errno libguestfs reported, or 0 when the failure had none. */
    readonly errno: number,
  ) {
    super(message);
  }

  /** The errno as a name ("ENOENT"), when there is one. */
  get code(): string | undefined {
    return this.errno === 0 ? undefined : errnoNames.get(this.errno);
  }
}
