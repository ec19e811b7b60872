/**
 * Encrypted guests: LUKS devices opened before inspection, as virt-v2v 2.2 does it
 * (libguestfs-common's inspect_decrypt): every partition holding LUKS, then, after a rescan for
 * the volume groups they held (LVM on LUKS), every logical volume holding LUKS (LUKS on LVM).
 * A device opened from a partition is /dev/mapper/cryptsda2 (from its name), one opened from a
 * logical volume /dev/mapper/luks-UUID, which is how the guest's own crypttab and fstab usually
 * name it, so inspection can follow them.
 *
 * The keys come from the supervisor on this helper's stdin (never on a command line, never
 * logged): the JSON document KeyStore, which `--keys-from-stdin` tells this helper to read.
 */
import { open } from "node:fs/promises";
import { execa } from "execa";
import { UserError, errorMessage } from "@split-v2v/common";
import type { Guestfs } from "@split-v2v/libguestfs";

/** A key for the devices `id` names: a device name, a LUKS UUID, or "all". */
export interface DeviceKey {
  id: string;
  key: string;
}

/** What the convert helper reads on stdin with --keys-from-stdin (a JSON document). */
export interface KeyStore {
  /** --key selectors, in command-line order, with file keys already read. */
  keys: DeviceKey[];
  /** --keys-from-stdin lines: one each, in order, for devices no --key names. */
  passphrases: string[];
}

export const EMPTY_KEY_STORE: KeyStore = { keys: [], passphrases: [] };

/** Parses and checks a KeyStore document (from the supervisor, or another program). */
export function parseKeyStore(text: string): KeyStore {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UserError(
      'the keys on stdin are not a JSON document ({"keys":[{"id":…,"key":…}],"passphrases":[…]})',
    );
  }
  const isStringArray = (v: unknown): v is string[] =>
    Array.isArray(v) && v.every((item) => typeof item === "string");
  if (typeof value !== "object" || value === null) {
    throw new UserError("the keys on stdin must be a JSON object with keys and passphrases");
  }
  const record = value as Record<string, unknown>;
  const keys = record.keys ?? [];
  const passphrases = record.passphrases ?? [];
  if (
    !Array.isArray(keys) ||
    !keys.every(
      (k: unknown) =>
        typeof k === "object" &&
        k !== null &&
        typeof (k as Record<string, unknown>).id === "string" &&
        typeof (k as Record<string, unknown>).key === "string",
    ) ||
    !isStringArray(passphrases)
  ) {
    throw new UserError(
      'the keys on stdin must look like {"keys":[{"id":"/dev/sda2","key":"…"}],"passphrases":["…"]}',
    );
  }
  return { keys: keys as DeviceKey[], passphrases };
}

/**
 * The device-mapper name of a logical volume (/dev/VG/LV → /dev/mapper/VG-LV, with the
 * dashes of each part doubled), which newer virt-v2v accepts as a --key ID.
 */
export function mapperName(lv: string): string | null {
  const match = /^\/dev\/([^/]+)\/([^/]+)$/.exec(lv);
  if (match === null) return null;
  const double = (part: string): string => part.replace(/-/g, "--");
  return `/dev/mapper/${double(match[1]!)}-${double(match[2]!)}`;
}

/** The keys to try on one device, in order: those of --key selectors naming it (or "all"). */
export function keysFor(store: KeyStore, names: readonly string[]): string[] {
  return store.keys
    .filter((entry) => entry.id === "all" || names.includes(entry.id))
    .map((entry) => entry.key);
}

/** virt-v2v's map name for a partition: "crypt" and the name's letters and digits. */
function partitionMapName(device: string): string {
  return `crypt${device.replace(/^\/dev\//, "").replace(/[^A-Za-z0-9]/g, "")}`;
}

export interface DecryptReport {
  log: (line: string) => void;
  /** Asks the user for a device's passphrase (virt-v2v opens /dev/tty), or null. */
  ask: ((device: string) => Promise<string | null>) | null;
}

/** Opens every LUKS device of the guest; resolves to the devices opened. */
export async function openEncryptedDevices(
  g: Guestfs,
  store: KeyStore,
  report: DecryptReport,
): Promise<string[]> {
  const passphrases = [...store.passphrases];
  const opened: string[] = [];
  const openAll = async (devices: readonly string[], fromLvs: boolean): Promise<boolean> => {
    let any = false;
    for (const device of devices) {
      const type = await g.vfsType(device).catch(() => "");
      if (type !== "crypto_LUKS") continue;
      const uuid = await g.luksUuid(device).catch(() => null);
      const names = [device, ...(uuid === null ? [] : [uuid])];
      if (fromLvs) {
        const mapper = mapperName(device);
        if (mapper !== null) names.push(mapper);
      }
      let candidates = keysFor(store, names);
      if (candidates.length === 0) {
        const next = passphrases.shift() ?? (await report.ask?.(device)) ?? null;
        if (next === null) {
          throw new UserError(
            `could not find key to open LUKS encrypted ${device}: give one with --key ${device}:key:PASSPHRASE (or ${device}:file:FILE, or the LUKS UUID ${uuid ?? "…"} as the ID), or on stdin with --keys-from-stdin`,
          );
        }
        candidates = [next];
      }
      const mapname = fromLvs && uuid !== null ? `luks-${uuid}` : partitionMapName(device);
      let lastError = "";
      let done = false;
      for (const key of candidates) {
        try {
          await g.cryptsetupOpen(device, key, mapname);
          done = true;
          break;
        } catch (error) {
          lastError = errorMessage(error);
        }
      }
      if (!done) {
        throw new UserError(
          `could not open LUKS encrypted ${device}: none of the ${candidates.length} key(s) given for it works (${lastError}); check the passphrase given with --key or --keys-from-stdin`,
        );
      }
      report.log(`opened LUKS device ${device} as /dev/mapper/${mapname}`);
      opened.push(device);
      any = true;
    }
    return any;
  };
  if (await openAll(await g.listPartitions(), false)) await g.lvmScan(true);
  await openAll(await g.lvs(), true);
  return opened;
}

/**
 * Reads a passphrase from the user's terminal with echo off (on with --echo-keys), as virt-v2v
 * does when no key was given; null when there is no terminal.
 */
export async function askOnTerminal(device: string, echo = false): Promise<string | null> {
  let tty;
  try {
    tty = await open("/dev/tty", "r+");
  } catch {
    return null;
  }
  try {
    if (!echo) await execa("stty", ["-echo"], { stdin: { file: "/dev/tty" }, reject: false });
    await tty.write(`Enter key or passphrase ("${device}"): `);
    const chunks: Buffer[] = [];
    const buffer = Buffer.alloc(1);
    for (;;) {
      const { bytesRead } = await tty.read(buffer, 0, 1, null);
      if (bytesRead === 0 || buffer[0] === 0x0a) break;
      chunks.push(Buffer.from(buffer));
    }
    await tty.write("\n");
    return Buffer.concat(chunks).toString("utf8").replace(/\r$/, "");
  } finally {
    if (!echo) await execa("stty", ["echo"], { stdin: { file: "/dev/tty" }, reject: false });
    await tty.close();
  }
}
