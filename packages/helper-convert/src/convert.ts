/**
 * helper-v2v-convert's work as named steps, in virt-v2v 2.2's order: open (the appliance on the
 * served disks), inspect, convert (free space check, then by guest family), trim (so the copy
 * skips free space), close, describe (target buses and firmware, metadata.out). A conversion runs
 * them all; an in-place conversion (writable endpoints, nothing to copy) and an inspect-only run
 * take the ones they need.
 */
import os from "node:os";
import path from "node:path";
import {
  errorMessage,
  killChildProcesses,
  markerPath,
  metadataInPath,
  metadataOutPath,
  onCleanup,
} from "@split-v2v/common";
import { Guestfs, type Application2 } from "@split-v2v/libguestfs";
import {
  diskEndpoint,
  readMetadata,
  writeMetadata,
  type ConversionReport,
  type GuestCaps,
  type Inspection,
  type MetadataIn,
  type MetadataOut,
  type TargetNic,
} from "@split-v2v/metadata-schema";
import { rm, truncate, writeFile } from "node:fs/promises";
import { ensureWorkingAccel } from "./accel.js";
import { bareDataDisks, isBareDiskFailure, PLACEHOLDER_BYTES } from "./bare-disks.js";
import { openEncryptedDevices, type KeyStore } from "./luks.js";
import { selectConverter, type GuestConverter } from "./families/index.js";
import {
  checkFreeSpace,
  chooseRoot,
  describeRoot,
  mountFilesystems,
  type RootChoice,
} from "./inspect.js";
import { assignBuses, targetFirmware } from "./target.js";
import { mapNetworks, type NetworkMapping } from "./networks.js";

export interface ConvertOptions {
  workdir: string;
  root: RootChoice;
  networks: NetworkMapping;
  /** Directory for caches that outlive a run (the KVM verdict). */
  cacheDir: string;
  /** libguestfs debug (-v) and trace (-x). */
  verbose: boolean;
  trace: boolean;
  /** Keys for encrypted devices (--keys-from-stdin). */
  keys: KeyStore;
  /** Asks the user for a passphrase no key was given for (null: no terminal). */
  askKey: ((device: string) => Promise<string | null>) | null;
  /** Asks the user to pick a root when there are several and --root ask (null: no terminal). */
  askRoot: ((roots: string[]) => Promise<string>) | null;
  /** False for outputs without a serial port (virt-v2v 2.2: -o rhv and -o vdsm). */
  keepSerialConsole: boolean;
}

export interface ConvertReporter {
  message: (text: string) => void;
  info: (text: string) => void;
  warning: (text: string) => void;
  log: (line: string) => void;
}

/** The appliance opened on the disks metadata.in names: the first step of every program. */
export interface OpenedSource {
  readonly options: ConvertOptions;
  readonly report: ConvertReporter;
  readonly metadataIn: MetadataIn;
  /** The handle; null once closed. */
  g: Guestfs | null;
  /** Disks left out of inspection and conversion (no partition table), by index. */
  bareDisks: ReadonlySet<number>;
  /** Warnings from before the conversion starts, for metadata.out too. */
  readonly earlyWarnings: string[];
}

/** What inspection found on the chosen root, with the converter for its family. */
export interface InspectedSource {
  inspection: Inspection;
  converter: GuestConverter;
  /** The index of the disk holding the boot loader, when known (virt-v2v 2.13). */
  bootDevice: number | null;
}

/** What the conversion did, and what the converted guest can drive. */
export interface ConvertedSource {
  guestcaps: GuestCaps;
  conversion: ConversionReport;
  applications: Application2[];
}

function handleOf(opened: OpenedSource): Guestfs {
  if (opened.g === null) throw new Error("the appliance is closed");
  return opened.g;
}

function warnEarly(opened: OpenedSource, text: string): void {
  opened.earlyWarnings.push(text);
  opened.report.warning(text);
}

/**
 * Step "open": a working accelerator, then the appliance on the disks' endpoints (overlays for
 * a conversion; the disks themselves where metadata.in says they are not overlays).
 */
export async function openSource(
  options: ConvertOptions,
  report: ConvertReporter,
  metadataIn?: MetadataIn,
): Promise<OpenedSource> {
  metadataIn ??= await readMetadata("metadata.in", metadataInPath(options.workdir));
  await ensureWorkingAccel({ cacheDir: options.cacheDir, warn: report.warning, log: report.log });

  report.message("Opening the source");
  const opened: OpenedSource = {
    options,
    report,
    metadataIn,
    g: null,
    bareDisks: new Set(),
    earlyWarnings: [],
  };
  // On an error or a signal, a libguestfs call may still be running on a worker thread, where
  // closing the handle would race with it: end the appliance (our child) instead, which makes
  // that call fail at once, and let the process exit.
  onCleanup("libguestfs appliance", () => {
    if (opened.g !== null) killChildProcesses();
  });
  // nbdkit's cow-on-read (remote inputs) keys on this file: cache reads only during conversion.
  await writeFile(markerPath(options.workdir, "convert"), "");
  opened.g = await openAppliance(options, metadataIn.source.disks, opened.bareDisks, report);
  return opened;
}

/**
 * Step "inspect": find the operating systems (opening the appliance again without the disks
 * that have no partition table, if they made inspection fail), choose the root, mount its
 * filesystems, and let the guest's family correct what inspection got wrong.
 */
export async function inspectSource(opened: OpenedSource): Promise<InspectedSource> {
  const { options, report } = opened;
  report.message("Inspecting the source");
  let g = handleOf(opened);
  let roots: string[];
  try {
    roots = await g.inspectOs();
  } catch (error) {
    if (!isBareDiskFailure(error)) throw error;
    const bare = await bareDataDisks(g);
    if (bare.length === 0) throw error;
    for (const index of bare) {
      warnEarly(
        opened,
        `disk ${index + 1} has no partition table (raw data, or a filesystem on the whole disk): it is copied unmodified, and left out of inspection and conversion`,
      );
    }
    report.log(
      `inspection failed (${errorMessage(error)}); opening the appliance again without disks ${bare.map((i) => i + 1).join(", ")}`,
    );
    await g.close();
    opened.g = null;
    opened.bareDisks = new Set(bare);
    opened.g = await openAppliance(
      options,
      opened.metadataIn.source.disks,
      opened.bareDisks,
      report,
    );
    g = opened.g;
    roots = await g.inspectOs();
  }
  const root = await chooseRoot(roots, options.root, options.askRoot);
  const inspected = await describeRoot(g, root);
  const converter = selectConverter(inspected);
  await mountFilesystems(g, inspected, (text) => warnEarly(opened, text));
  const inspection = (await converter.refineInspection?.(g, inspected, report.log)) ?? inspected;
  return { inspection, converter, bootDevice: await findBootDevice(g, inspection, report.log) };
}

/**
 * The disk of the boot loader (virt-v2v 2.13, for SeaBIOS's boot order): on Linux, the disk
 * that holds /boot, where grub's boot sector is too in every sane layout. Unknown (null) for
 * Windows, for a /boot that is not a partition (LVM, md) and for a guest without /boot.
 */
export async function findBootDevice(
  g: Guestfs,
  inspection: Inspection,
  log: (line: string) => void,
): Promise<number | null> {
  if (inspection.type !== "linux") return null;
  const boot = inspection.mountpoints.find((mount) => mount.mountpoint === "/boot");
  if (boot === undefined) return null;
  try {
    return await g.deviceIndex(await g.partToDev(boot.device));
  } catch (error) {
    log(`boot device: unknown (${errorMessage(error)})`);
    return null;
  }
}

/**
 * Step "convert": check the guest has room for the conversion, then convert it by family,
 * recording every change and warning.
 */
export async function convertSource(
  opened: OpenedSource,
  inspected: InspectedSource,
): Promise<ConvertedSource> {
  const { options, report } = opened;
  const g = handleOf(opened);
  const { inspection, converter } = inspected;
  report.message("Checking for sufficient free disk space in the guest");
  await checkFreeSpace(g, inspection);

  report.message(`Converting ${inspection.productName} to run on KVM`);
  const conversion: ConversionReport = {
    family: converter.family,
    converter: inspection.distro,
    changes: [],
    warnings: [...opened.earlyWarnings],
  };
  let applications: Promise<Application2[]> | null = null;
  const listApplications = (): Promise<Application2[]> =>
    (applications ??= g.inspectListApplications2(inspection.root));
  const guestcaps = await converter.convert({
    g,
    inspection,
    source: opened.metadataIn.source,
    log: report.log,
    info: report.info,
    warning: (text) => {
      conversion.warnings.push(text);
      report.warning(text);
    },
    recordChange: (what, detail) => {
      conversion.changes.push({ what, detail });
      report.log(`changed ${what}: ${detail}`);
    },
    staticIps: options.networks.staticIps,
    applications: listApplications,
    keepSerialConsole: options.keepSerialConsole,
  });
  return { guestcaps, conversion, applications: await listApplications() };
}

/**
 * Step "trim": fstrim every filesystem, so that the copy skips free space. Optional (an
 * in-place conversion has nothing to copy).
 */
export async function trimSource(opened: OpenedSource): Promise<void> {
  opened.report.message("Mapping filesystem data to avoid copying unused and blank areas");
  const g = handleOf(opened);
  await g.umountAll();
  await trimFilesystems(g, opened.report);
}

/** Step "close": unmount, shut the appliance down cleanly (it flushes), remove the markers. */
export async function closeSource(opened: OpenedSource): Promise<void> {
  opened.report.message("Closing the overlay");
  const g = handleOf(opened);
  await g.umountAll();
  await g.shutdown();
  await g.close();
  opened.g = null;
  await rm(markerPath(opened.options.workdir, "convert"), { force: true });
  for (const index of opened.metadataIn.source.disks.keys()) {
    await rm(placeholderPath(opened.options.workdir, index), { force: true });
  }
}

/**
 * Step "describe": the target's layout (buses, firmware, NICs) from what the conversion found,
 * as metadata.out, written to the work dir.
 */
export async function describeTarget(
  opened: OpenedSource,
  inspected: InspectedSource,
  converted: ConvertedSource,
): Promise<MetadataOut> {
  const { report, metadataIn } = opened;
  const source = metadataIn.source;
  const { guestcaps } = converted;
  report.message("Assigning disks to buses");
  const buses = assignBuses(source, guestcaps);
  report.message("Checking if the guest needs BIOS or UEFI to boot");
  const firmware = targetFirmware(source, inspected.inspection);
  if (firmware === "uefi") report.info("This guest requires UEFI on the target to boot.");

  const metadataOut: MetadataOut = {
    schemaVersion: 1,
    kind: "metadata.out",
    inspection: {
      ...inspected.inspection,
      applications: converted.applications.map((app) => ({
        name: app.app2_name,
        displayName: app.app2_display_name,
        epoch: app.app2_epoch,
        version: app.app2_version,
        release: app.app2_release,
        arch: app.app2_arch,
      })),
    },
    guestcaps,
    target: {
      firmware,
      buses,
      nics: mapNetworks(source.nics, opened.options.networks).map((nic): TargetNic => ({
        ...nic,
        targetModel: guestcaps.netBus,
      })),
      bootDevice: inspected.bootDevice,
    },
    conversion: converted.conversion,
  };
  await writeMetadata("metadata.out", metadataOutPath(opened.options.workdir), metadataOut);
  return metadataOut;
}

/** helper-v2v-convert: open, inspect, convert, trim, close, describe. */
export async function convertGuest(
  options: ConvertOptions,
  report: ConvertReporter,
): Promise<MetadataOut> {
  // A bad network mapping fails before the appliance starts.
  const metadataIn = await readMetadata("metadata.in", metadataInPath(options.workdir));
  mapNetworks(metadataIn.source.nics, options.networks);
  const opened = await openSource(options, report, metadataIn);
  const inspected = await inspectSource(opened);
  const converted = await convertSource(opened, inspected);
  await trimSource(opened);
  await closeSource(opened);
  return describeTarget(opened, inspected, converted);
}

/**
 * fstrim every filesystem through the overlay: freed blocks become holes in the overlay, so the
 * copy neither reads nor writes them. A filesystem that cannot be trimmed only costs copy time.
 */
async function trimFilesystems(g: Guestfs, report: ConvertReporter): Promise<void> {
  const filesystems = await g.listFilesystems();
  for (const [device, type] of Object.entries(filesystems)) {
    if (type === "unknown" || type === "swap" || type === "") continue;
    try {
      await g.mountOptions("discard", device, "/");
      await g.fstrim("/");
      report.log(`trimmed ${device} (${type})`);
    } catch (err) {
      report.warning(
        `fstrim on guest filesystem ${device} failed; the copy will include its free space (${err instanceof Error ? err.message : String(err)})`,
      );
    } finally {
      await g.umountAll();
    }
  }
}

function placeholderPath(workdir: string, index: number): string {
  return path.join(workdir, `placeholder${index}.img`);
}

/**
 * Launches the appliance on the overlays (the inNN sockets), with an empty placeholder disk in
 * place of each disk in `placeholders` (bare-disks.ts), so that every disk keeps its name.
 */
async function openAppliance(
  options: ConvertOptions,
  disks: MetadataIn["source"]["disks"],
  placeholders: ReadonlySet<number>,
  report: ConvertReporter,
): Promise<Guestfs> {
  const g = await Guestfs.create();
  g.onLog((kind, text) => report.log(`libguestfs ${kind}: ${text}`));
  await g.setIdentifier("v2v");
  if (options.verbose) await g.setVerbose(true);
  if (options.trace) await g.setTrace(true);
  // virt-v2v gives the appliance twice the default memory and up to 8 vCPUs: conversion runs
  // package tools and initramfs rebuilds inside it.
  await g.setMemsize((await g.getMemsize()) * 2);
  await g.setSmp(Math.max(1, Math.min(8, os.availableParallelism())));
  for (const [index, disk] of disks.entries()) {
    if (placeholders.has(index)) {
      const file = placeholderPath(options.workdir, index);
      await writeFile(file, "");
      await truncate(file, PLACEHOLDER_BYTES);
      await g.addDrive(file, { format: "raw" });
      continue;
    }
    // libguestfs reaches an NBD export by its server ("unix:PATH" or "tcp:HOST:PORT") and,
    // in place of a file name, the export's name.
    const endpoint = diskEndpoint(options.workdir, disk);
    await g.addDrive(endpoint.exportName, {
      format: "raw",
      protocol: "nbd",
      server: [
        endpoint.transport === "unix"
          ? `unix:${endpoint.socket}`
          : `tcp:${endpoint.host}:${endpoint.port}`,
      ],
      cachemode: "unsafe",
      discard: "besteffort",
    });
  }
  await g.launch();
  if (placeholders.size > 0) {
    const devices = await g.listDevices();
    for (const index of placeholders) {
      const device = devices[index];
      if (device !== undefined) await g.partInit(device, "mbr");
    }
  }
  await openEncryptedDevices(g, options.keys, { log: report.log, ask: options.askKey });
  return g;
}
