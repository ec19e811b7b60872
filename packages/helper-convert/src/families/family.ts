/**
 * The contract of a guest-family converter (virt-v2v's convert_linux / convert_windows): given a
 * guest mounted read-write through the overlays, change it to run on KVM and say which virtual
 * devices it can now drive.
 */
import type { Application2, Guestfs } from "@split-v2v/libguestfs";
import type { GuestCaps, Inspection, SourceGuest } from "@split-v2v/metadata-schema";
import type { StaticIpAddress } from "../networks.js";

export interface ConversionContext {
  g: Guestfs;
  inspection: Inspection;
  source: SourceGuest;
  log: (line: string) => void;
  info: (text: string) => void;
  warning: (text: string) => void;
  /** Records one change made to the guest (the convert log and metadata.out list them). */
  recordChange: (what: string, detail: string) => void;
  /** --mac MAC:ip:… addresses to set in the guest. */
  staticIps: readonly StaticIpAddress[];
  /**
   * The guest's installed applications (libguestfs inspection), listed once per conversion:
   * the converters read them, and metadata.out reports them.
   */
  applications: () => Promise<Application2[]>;
  /** Conversion for an output that does not want a serial console (-o rhv, -o vdsm). */
  keepSerialConsole: boolean;
}

export interface GuestConverter {
  readonly family: "linux" | "windows";
  /** Why this converter cannot convert the inspected guest, or null when it can. */
  unsupportedReason(inspection: Inspection): string | null;
  /**
   * Corrects what libguestfs's inspection gets wrong for this family, reading the mounted guest
   * (Windows: the release, from the build number). Runs before the conversion; its result is the
   * inspection that the conversion, metadata.out and the target's metadata use.
   */
  refineInspection?(
    g: Guestfs,
    inspection: Inspection,
    log: (line: string) => void,
  ): Promise<Inspection>;
  convert(context: ConversionContext): Promise<GuestCaps>;
}
