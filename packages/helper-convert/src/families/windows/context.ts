/**
 * What every step of a Windows conversion works with: the family-independent conversion
 * context plus the guest's Windows facts from inspection.
 */
import type { Inspection } from "@split-v2v/metadata-schema";
import type { ConversionContext } from "../family.js";

export type WindowsFacts = NonNullable<Inspection["windows"]>;

export interface WindowsContext extends ConversionContext {
  /** %SystemRoot% as a guest path ("/Windows"), hive paths and the current control set. */
  windows: WindowsFacts;
}

export function windowsContext(context: ConversionContext): WindowsContext {
  const windows = context.inspection.windows;
  if (windows === null) {
    throw new Error(
      `inspection found no Windows system root on ${context.inspection.root}; it cannot be converted as Windows`,
    );
  }
  return { ...context, windows };
}
