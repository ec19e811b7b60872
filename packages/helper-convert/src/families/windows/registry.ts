/**
 * The guest's Windows registry, edited through libguestfs's hivex calls on the hive files
 * (virt-v2v's Registry and Regedit modules). Every edit of a hive happens in memory and is
 * committed once, at the end, to a new file that then replaces the hive: a failure before or
 * during the commit leaves the hive exactly as it was.
 */
import { UserError, errorMessage } from "@split-v2v/common";
import { GuestfsError, HiveType, type Guestfs } from "@split-v2v/libguestfs";

/** A registry value to write, typed as Windows types it. */
export type RegistryValue =
  | { type: "none" }
  | { type: "sz"; value: string }
  | { type: "expand-sz"; value: string }
  | { type: "binary"; value: Buffer }
  | { type: "dword"; value: number }
  | { type: "multi-sz"; value: readonly string[] };

/** One key (a path of node names from the hive's root) and the values to set in it. */
export interface RegistryEdit {
  path: readonly string[];
  values: ReadonlyArray<readonly [name: string, value: RegistryValue]>;
}

/** A string as the registry stores it: UTF-16LE with a terminating NUL. */
export function encodeRegistryString(text: string): Buffer {
  return Buffer.concat([Buffer.from(text, "utf16le"), Buffer.alloc(2)]);
}

/** A UTF-16LE registry string without its terminating NUL(s). */
export function decodeRegistryString(data: Buffer): string {
  return data.toString("utf16le").replace(/\0+$/, "");
}

/** REG_MULTI_SZ: each string NUL-terminated, then an empty string ends the list. */
export function encodeMultiString(strings: readonly string[]): Buffer {
  return Buffer.concat([...strings.map(encodeRegistryString), Buffer.alloc(2)]);
}

export function decodeMultiString(data: Buffer): string[] {
  return data
    .toString("utf16le")
    .split("\0")
    .filter((entry) => entry !== "");
}

export function encodeDword(value: number): Buffer {
  const data = Buffer.alloc(4);
  data.writeUInt32LE(value >>> 0);
  return data;
}

function encodeValue(value: RegistryValue): { type: number; data: Buffer } {
  switch (value.type) {
    case "none":
      return { type: HiveType.NONE, data: Buffer.alloc(0) };
    case "sz":
      return { type: HiveType.SZ, data: encodeRegistryString(value.value) };
    case "expand-sz":
      return { type: HiveType.EXPAND_SZ, data: encodeRegistryString(value.value) };
    case "binary":
      return { type: HiveType.BINARY, data: value.value };
    case "dword":
      return { type: HiveType.DWORD, data: encodeDword(value.value) };
    case "multi-sz":
      return { type: HiveType.MULTI_SZ, data: encodeMultiString(value.value) };
  }
}

/** An open hive: lookups and edits relative to its root node. */
export class Hive {
  /** Something was changed (a hive nobody changed is not rewritten). */
  changed = false;

  constructor(
    readonly g: Guestfs,
    /** The hive file in the guest, for messages. */
    readonly file: string,
    readonly root: bigint,
  ) {}

  /** The node at `path` below `from` (default: the root), or null when a part is missing. */
  async getNode(path: readonly string[], from: bigint = this.root): Promise<bigint | null> {
    let node = from;
    for (const name of path) {
      const child = await this.g.hivexNodeGetChild(node, name);
      if (child === null) return null;
      node = child;
    }
    return node;
  }

  /** The node at `path`, creating the missing parts. */
  async createPath(path: readonly string[], from: bigint = this.root): Promise<bigint> {
    let node = from;
    for (const name of path) {
      const child = await this.g.hivexNodeGetChild(node, name);
      if (child !== null) {
        node = child;
        continue;
      }
      node = await this.g.hivexNodeAddChild(node, name);
      this.changed = true;
    }
    return node;
  }

  async childNames(node: bigint): Promise<string[]> {
    const children = await this.g.hivexNodeChildren(node);
    const names: string[] = [];
    for (const child of children) names.push(await this.g.hivexNodeName(child));
    return names;
  }

  /** A string value of a node, or null when the node has no such value. */
  async getString(node: bigint, name: string): Promise<string | null> {
    const value = await this.g.hivexNodeGetValue(node, name);
    return value === null ? null : this.g.hivexValueString(value);
  }

  /** The raw bytes and type of a value, or null when the node has no such value. */
  async getRaw(node: bigint, name: string): Promise<{ type: number; data: Buffer } | null> {
    const value = await this.g.hivexNodeGetValue(node, name);
    if (value === null) return null;
    return {
      type: await this.g.hivexValueType(value),
      data: await this.g.hivexValueValue(value),
    };
  }

  /** A REG_DWORD value, or null when absent or not four bytes. */
  async getDword(node: bigint, name: string): Promise<number | null> {
    const raw = await this.getRaw(node, name);
    return raw !== null && raw.data.length >= 4 ? raw.data.readUInt32LE(0) : null;
  }

  async setValue(node: bigint, name: string, value: RegistryValue): Promise<void> {
    const { type, data } = encodeValue(value);
    await this.setRaw(node, name, type, data);
  }

  async setRaw(node: bigint, name: string, type: number, data: Buffer): Promise<void> {
    await this.g.hivexNodeSetValue(node, name, type, data);
    this.changed = true;
  }

  /** Deletes a node with its subkeys and values. */
  async deleteNode(node: bigint): Promise<void> {
    await this.g.hivexNodeDeleteChild(node);
    this.changed = true;
  }

  /** Creates each key (and its parents) and sets its values (virt-v2v's reg_import). */
  async importEdits(edits: readonly RegistryEdit[]): Promise<void> {
    for (const edit of edits) {
      const node = await this.createPath(edit.path);
      for (const [name, value] of edit.values) await this.setValue(node, name, value);
    }
  }
}

/** How a hive that cannot be read is reported: the user's guest is damaged, not split-v2v. */
function unreadableHive(file: string, err: unknown): UserError {
  if (err instanceof GuestfsError && err.code === "ENOENT") {
    return new UserError(
      `the Windows registry hive ${file} is missing from the guest; a Windows guest without its registry cannot be converted`,
    );
  }
  return new UserError(
    `the Windows registry hive ${file} in the guest is damaged and cannot be read (${errorMessage(err)}); repair the guest's registry in Windows (or restore the hive from a backup) and convert it again`,
  );
}

/** A failure of the hivex calls themselves means a hive hivex cannot parse. */
function isHivexFailure(err: unknown): boolean {
  return err instanceof GuestfsError && err.call.startsWith("guestfs_hivex");
}

/**
 * Opens a hive. Strictly, even to read: a hive that hivex can only read "unsafe" (as
 * inspection does) cannot be written, and every conversion writes the SYSTEM hive.
 */
async function openHive(g: Guestfs, file: string, write: boolean): Promise<Hive> {
  try {
    await g.hivexOpen(file, { write });
  } catch (err) {
    throw unreadableHive(file, err);
  }
  try {
    return new Hive(g, file, await g.hivexRoot());
  } catch (err) {
    await g.hivexClose();
    throw unreadableHive(file, err);
  }
}

/** Opens `file` read-only, runs `read` on it, closes it. */
export async function withHiveReadonly<T>(
  g: Guestfs,
  file: string,
  read: (hive: Hive) => Promise<T>,
): Promise<T> {
  const hive = await openHive(g, file, false);
  try {
    return await read(hive);
  } catch (err) {
    throw isHivexFailure(err) ? unreadableHive(file, err) : err;
  } finally {
    await g.hivexClose();
  }
}

/**
 * Opens `file` for writing, runs `edit` on it, and commits all its changes at once: to a new
 * file beside the hive, which then replaces it (a rename, so the hive is either the old one or
 * the new one). If `edit` or the commit fails, nothing is written; if `edit` changed nothing,
 * the hive is not rewritten.
 */
export async function withHiveWrite<T>(
  g: Guestfs,
  file: string,
  edit: (hive: Hive) => Promise<T>,
): Promise<T> {
  const hive = await openHive(g, file, true);
  let result: T;
  try {
    result = await edit(hive);
  } catch (err) {
    await g.hivexClose();
    throw isHivexFailure(err) ? unreadableHive(file, err) : err;
  }
  if (!hive.changed) {
    await g.hivexClose();
    return result;
  }
  const staged = `${file}.v2v-new`;
  try {
    await g.hivexCommit(staged);
  } catch (err) {
    await g.rmRf(staged).catch(() => {});
    throw new Error(`could not write the guest's registry hive ${file}: ${errorMessage(err)}`);
  } finally {
    await g.hivexClose();
  }
  await g.mv(staged, file);
  return result;
}
