// virt-v2v's auth_for_password_file (lib/libvirt_utils.ml): how a password file becomes the
// answer to libvirt's credential requests. The password is only ever held as bytes, handed to
// libvirt as a malloc'd copy, and never logged or put in an error message.
import { readFileSync } from "node:fs";

import { UserError, errorMessage } from "@split-v2v/common";

import {
  VIR_CRED_NOECHOPROMPT,
  VIR_CRED_PASSPHRASE,
  virt,
  type ConnectAuth,
  type CredentialAnswerer,
} from "./ffi.js";

/**
 * The first line of the password file, as bytes, without its newline (virt-v2v's
 * read_first_line_from_file: an empty file gives an empty password).
 */
export function readFirstLine(passwordFile: string): Buffer {
  let contents: Buffer;
  try {
    contents = readFileSync(passwordFile);
  } catch (error: unknown) {
    throw new UserError(`cannot read the password file ‘${passwordFile}’: ${errorMessage(error)}`);
  }
  const newline = contents.indexOf(0x0a);
  const line = Buffer.from(newline < 0 ? contents : contents.subarray(0, newline));
  contents.fill(0);
  return line;
}

/**
 * virt-v2v's auth_for_password_file: libvirt's default credential types, with a callback that
 * answers the password requests with the file's first line and leaves every other request (such
 * as VIR_CRED_AUTHNAME) unanswered. A password request is VIR_CRED_PASSPHRASE, or
 * VIR_CRED_NOECHOPROMPT: libvirt's virAuthGetPassword (used by the esx and vpx drivers) asks for
 * whichever of the two the offered list names first.
 */
export function passwordFileAuth(password: Buffer): ConnectAuth {
  const answer: CredentialAnswerer = (request) =>
    request.type === VIR_CRED_PASSPHRASE || request.type === VIR_CRED_NOECHOPROMPT
      ? password
      : null;
  return { kind: "callback", credentialTypes: virt.defaultCredentialTypes(), answer };
}
