/**
 * Windows guests: not converted by this version. Refused before anything is copied, with the
 * reason, so that a batch of conversions can route them elsewhere.
 */
import { UserError } from "@split-v2v/common";
import type { GuestConverter } from "./family.js";

export const windowsConverter: GuestConverter = {
  family: "windows",
  unsupportedReason(inspection) {
    return `conversion of Windows guests (${inspection.productName}) is not implemented in this version of split-v2v; convert this guest with Debian's virt-v2v for now`;
  },
  convert() {
    return Promise.reject(
      new UserError("conversion of Windows guests is not implemented in this version of split-v2v"),
    );
  },
};
