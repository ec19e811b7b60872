/** The selector: one converter per guest family, chosen by inspection. */
import { UserError } from "@split-v2v/common";
import type { Inspection } from "@split-v2v/metadata-schema";
import type { GuestConverter } from "./family.js";
import { linuxConverter } from "./linux/index.js";
import { windowsConverter } from "./windows/index.js";

export type { ConversionContext, GuestConverter } from "./family.js";

const CONVERTERS: Record<string, GuestConverter> = {
  linux: linuxConverter,
  windows: windowsConverter,
};

export function selectConverter(inspection: Inspection): GuestConverter {
  const converter = CONVERTERS[inspection.type];
  if (converter === undefined) {
    throw new UserError(
      `virt-v2v cannot convert ${inspection.type} guests (${inspection.productName}); only Linux and Windows guests are supported`,
    );
  }
  const reason = converter.unsupportedReason(inspection);
  if (reason !== null) throw new UserError(reason);
  return converter;
}
