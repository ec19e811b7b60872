/**
 * helper-v2v-convert's work, in virt-v2v 2.2's order: open the overlays with libguestfs, inspect,
 * check free space, convert by guest family, trim every filesystem (so the copy skips free space),
 * close, assign target buses and firmware, write metadata.out.
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
import { Guestfs } from "@split-v2v/libguestfs";
import {
  diskEndpoint,
  readMetadata,
  writeMetadata,
  type ConversionReport,
  type MetadataIn,
  type MetadataOut,
  type TargetNic,
} from "@split-v2v/metadata-schema";
import { rm, truncate, writeFile } from "node:fs/promises";
import { ensureWorkingAccel } from "./accel.js";
import { bareDataDisks, isBareDiskFailure, PLACEHOLDER_BYTES } from "./bare-disks.js";
import { openEncryptedDevices, type KeyStore } from "./luks.js";
import { selectConverter } from "./families/index.js";
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
}

export interface ConvertReporter {
  message: (text: string) => void;
  info: (text: string) => void;
  warning: (text: string) => void;
  log: (line: string) => void;
}

export async function convertGuest(
  options: ConvertOptions,
  report: ConvertReporter,
): Promise<MetadataOut> {
  /** Warnings from before the conversion starts, for metadata.out too. */
  const earlyWarnings: string[] = [];
  const warnEarly = (text: string): void => {
    earlyWarnings.push(text);
    report.warning(text);
  };
  const metadataIn = await readMetadata("metadata.in", metadataInPath(options.workdir));
  const source = metadataIn.source;
  const mappedNics = mapNetworks(source.nics, options.networks);

  await ensureWorkingAccel({ cacheDir: options.cacheDir, warn: report.warning, log: report.log });

  report.message("Opening the source");
  // The open handle, for the clean-up below (the appliance may be opened twice, see bare-disks.ts).
  let g: Guestfs | null = null;
  // On an error or a signal, a libguestfs call may still be running on a worker thread, where
  // closing the handle would race with it: end the appliance (our child) instead, which makes
  // that call fail at once, and let the process exit.
  onCleanup("libguestfs appliance", () => {
    if (g !== null) killChildProcesses();
  });
  // nbdkit's cow-on-read (remote inputs) keys on this file: cache reads only during conversion.
  await writeFile(markerPath(options.workdir, "convert"), "");
  g = await openAppliance(options, source.disks, new Set(), report);

  report.message("Inspecting the source");
  let roots: string[];
  try {
    roots = await g.inspectOs();
  } catch (error) {
    if (!isBareDiskFailure(error)) throw error;
    const bare = await bareDataDisks(g);
    if (bare.length === 0) throw error;
    for (const index of bare) {
      warnEarly(
        `disk ${index + 1} has no partition table (raw data, or a filesystem on the whole disk): it is copied unmodified, and left out of inspection and conversion`,
      );
    }
    report.log(
      `inspection failed (${errorMessage(error)}); opening the appliance again without disks ${bare.map((i) => i + 1).join(", ")}`,
    );
    await g.close();
    g = null;
    g = await openAppliance(options, source.disks, new Set(bare), report);
    roots = await g.inspectOs();
  }
  const root = await chooseRoot(roots, options.root, options.askRoot);
  const inspected = await describeRoot(g, root);
  const converter = selectConverter(inspected);
  await mountFilesystems(g, inspected, warnEarly);
  const inspection = (await converter.refineInspection?.(g, inspected, report.log)) ?? inspected;

  report.message("Checking for sufficient free disk space in the guest");
  await checkFreeSpace(g, inspection);

  report.message(`Converting ${inspection.productName} to run on KVM`);
  const conversion: ConversionReport = {
    family: converter.family,
    converter: inspection.distro,
    changes: [],
    warnings: [...earlyWarnings],
  };
  const guestcaps = await converter.convert({
    g,
    inspection,
    source,
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
  });

  report.message("Mapping filesystem data to avoid copying unused and blank areas");
  await g.umountAll();
  await trimFilesystems(g, report);

  report.message("Closing the overlay");
  await g.umountAll();
  await g.shutdown();
  await g.close();
  g = null;
  await rm(markerPath(options.workdir, "convert"), { force: true });
  for (const index of source.disks.keys()) {
    await rm(placeholderPath(options.workdir, index), { force: true });
  }

  report.message("Assigning disks to buses");
  const buses = assignBuses(source, guestcaps);
  report.message("Checking if the guest needs BIOS or UEFI to boot");
  const firmware = targetFirmware(source, inspection);
  if (firmware === "uefi") report.info("This guest requires UEFI on the target to boot.");

  const metadataOut: MetadataOut = {
    schemaVersion: 1,
    kind: "metadata.out",
    inspection,
    guestcaps,
    target: {
      firmware,
      buses,
      nics: mappedNics.map((nic): TargetNic => ({ ...nic, targetModel: guestcaps.netBus })),
    },
    conversion,
  };
  await writeMetadata("metadata.out", metadataOutPath(options.workdir), metadataOut);
  return metadataOut;
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
