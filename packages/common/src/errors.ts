/**
 * A UserError is a problem the user can fix (bad option, missing file, blank disk). Its message is
 * the one line printed after "virt-v2v: error: ", so it says what is wrong and what to do.
 * Anything else that escapes is a bug or an environment failure and is reported with more detail.
 */
export class UserError extends Error {
  override readonly name = "UserError";
}

/** The message of any thrown value, without a stack. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
