/**
 * The .vmx file format, read the way virt-v2v reads it (input/parse_vmx.ml, VMX.ml upstream).
 *
 * VMX is unspecified; what virt-v2v relies on, and so what this module reproduces:
 * - one `key = "value"` per line; blank lines and `#` comments are skipped; any other line is
 *   ignored with a warning; a trailing CR is dropped;
 * - keys are case-insensitive (ASCII) and split on dots into namespaces: `scsi0:0.fileName` is
 *   the key `filename` in the namespace `scsi0:0`;
 * - in values, `|XX` (two hex digits) stands for the byte 0xXX (`|22` is a double quote);
 * - the first of two equal keys wins, with a warning;
 * - a namespace holding `present = "FALSE"` is dropped with everything under it.
 *
 * The file is handled as bytes until the end (an escape may encode one byte of a UTF-8
 * sequence), then keys and values are decoded as UTF-8.
 */
import { parseOcamlInteger } from "@split-v2v/common";

// Numbers are read as OCaml reads them, which libvirt XML shares (@split-v2v/common); still part
// of this package's face.
export { parseOcamlInteger };

/** An entry of a namespace: a key with its value, or a nested namespace. */
export type VmxEntry =
  | { readonly kind: "key"; readonly value: string }
  | { readonly kind: "namespace"; readonly entries: VmxNamespace };

export type VmxNamespace = ReadonlyMap<string, VmxEntry>;

/** A value that is present but is not what its key needs (a number, a boolean). */
export class VmxValueError extends Error {
  override readonly name = "VmxValueError";
  constructor(
    readonly key: string,
    readonly value: string,
    readonly expected: string,
  ) {
    super(`${key} = "${value}" in the VMX file is not ${expected}`);
  }
}

/** ASCII-only lower case, as OCaml's String.lowercase_ascii: other bytes are left alone. */
function lowercaseAscii(text: string): string {
  return text.replace(/[A-Z]+/g, (upper) => upper.toLowerCase());
}

/** Bytes (one char per byte, latin1) to the text they encode in UTF-8. */
function decodeBytes(bytes: string): string {
  return Buffer.from(bytes, "latin1").toString("utf8");
}

const HEX_DIGIT = /^[0-9a-fA-F]$/;

/** Replaces every `|XX` escape by the byte it names; a `|` not followed by two hex digits stays. */
export function removeVmxEscapes(bytes: string): string {
  let out = "";
  for (let i = 0; i < bytes.length;) {
    const c = bytes[i]!;
    if (c === "|" && i <= bytes.length - 3) {
      const hex = bytes.slice(i + 1, i + 3);
      if (HEX_DIGIT.test(hex[0]!) && HEX_DIGIT.test(hex[1]!)) {
        out += String.fromCharCode(parseInt(hex, 16));
        i += 3;
        continue;
      }
    }
    out += c;
    i += 1;
  }
  return out;
}

// PCRE's \s without Unicode: space, \t, \n, \v, \f, \r. `.` in PCRE matches anything but \n.
const LINE = /^([^ \t=]+)[ \t\n\v\f\r]*=[ \t\n\v\f\r]*"([^\n]*)"$/;
const LEADING_SPACE = /^[ \t\n\v\f\r]*/;

function isTrueOrFalse(value: string): boolean | null {
  const lower = lowercaseAscii(value);
  if (lower === "true") return true;
  if (lower === "false") return false;
  return null;
}

type MutableNamespace = Map<string, VmxEntry>;

function insert(
  namespace: MutableNamespace,
  path: readonly string[],
  value: string,
  warn: (text: string) => void,
): void {
  const [head, ...rest] = path;
  if (head === undefined) return;
  if (rest.length === 0) {
    if (namespace.has(head)) warn(`vmx parser: duplicate key '${head}' ignored`);
    else namespace.set(head, { kind: "key", value });
    return;
  }
  // A key and a namespace of the same name cannot coexist: the namespace replaces the key.
  const existing = namespace.get(head);
  const inner: MutableNamespace =
    existing?.kind === "namespace" ? new Map(existing.entries) : new Map();
  insert(inner, rest, value, warn);
  namespace.set(head, { kind: "namespace", entries: inner });
}

function isNotPresent(namespace: VmxNamespace): boolean {
  const present = namespace.get("present");
  return present?.kind === "key" && isTrueOrFalse(present.value) === false;
}

function dropNotPresent(namespace: VmxNamespace): VmxNamespace {
  const kept = new Map<string, VmxEntry>();
  for (const [name, entry] of namespace) {
    if (entry.kind === "key") kept.set(name, entry);
    else if (!isNotPresent(entry.entries))
      kept.set(name, { kind: "namespace", entries: dropNotPresent(entry.entries) });
  }
  return kept;
}

/** A parsed .vmx file. Paths are namespace names then a key name, compared case-insensitively. */
export class VmxFile {
  constructor(readonly root: VmxNamespace) {}

  /** The value of a key, or null when absent (or when the path names a namespace). */
  getString(path: readonly string[]): string | null {
    let namespace: VmxNamespace = this.root;
    for (const [index, part] of path.entries()) {
      const entry = namespace.get(lowercaseAscii(part));
      if (entry === undefined) return null;
      if (index === path.length - 1) return entry.kind === "key" ? entry.value : null;
      if (entry.kind !== "namespace") return null;
      namespace = entry.entries;
    }
    return null;
  }

  /** An integer key (OCaml int: 63 bits), or null when absent. */
  getInt(path: readonly string[]): bigint | null {
    return this.#getInteger(path, 63);
  }

  /** A 64-bit integer key, or null when absent. */
  getInt64(path: readonly string[]): bigint | null {
    return this.#getInteger(path, 64);
  }

  /** A TRUE/FALSE key (any case), or null when absent. */
  getBool(path: readonly string[]): boolean | null {
    const value = this.getString(path);
    if (value === null) return null;
    const result = isTrueOrFalse(value);
    if (result === null) throw new VmxValueError(path.join("."), value, "TRUE or FALSE");
    return result;
  }

  /** The top-level namespaces (name and contents), in the file's sorted key order. */
  topNamespaces(): Array<[string, VmxNamespace]> {
    const found: Array<[string, VmxNamespace]> = [];
    for (const [name, entry] of this.root)
      if (entry.kind === "namespace") found.push([name, entry.entries]);
    return found;
  }

  #getInteger(path: readonly string[], bits: 63 | 64): bigint | null {
    const value = this.getString(path);
    if (value === null) return null;
    const result = parseOcamlInteger(value, bits);
    if (result === null) throw new VmxValueError(path.join("."), value, "an integer");
    return result;
  }
}

/** The key of a namespace's entry, if that entry is a key. */
export function keyIn(namespace: VmxNamespace, name: string): string | null {
  const entry = namespace.get(lowercaseAscii(name));
  return entry?.kind === "key" ? entry.value : null;
}

/** Sorted byte-wise, as OCaml's StringMap orders keys. */
function sortedNamespace(namespace: VmxNamespace): VmxNamespace {
  const sorted = new Map<string, VmxEntry>();
  const names = [...namespace.keys()].sort((a, b) =>
    Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8")),
  );
  for (const name of names) {
    const entry = namespace.get(name)!;
    sorted.set(
      name,
      entry.kind === "namespace"
        ? { kind: "namespace", entries: sortedNamespace(entry.entries) }
        : entry,
    );
  }
  return sorted;
}

/**
 * Parses the bytes of a .vmx file. `warn` receives virt-v2v's warnings (unparseable lines,
 * duplicate keys).
 */
export function parseVmx(content: Buffer, warn: (text: string) => void): VmxFile {
  const bytes = content.toString("latin1");
  const root: MutableNamespace = new Map();
  for (const rawLine of bytes.split("\n")) {
    const line = rawLine.replace(/\r+$/, "");
    const trimmed = line.replace(LEADING_SPACE, "");
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const match = LINE.exec(line);
    if (!match) {
      warn(`vmx parser: cannot parse this line, ignoring: ${decodeBytes(line)}`);
      continue;
    }
    const key = decodeBytes(lowercaseAscii(match[1]!));
    const value = decodeBytes(removeVmxEscapes(match[2]!));
    insert(root, key.split("."), value, (text) => warn(text));
  }
  return new VmxFile(sortedNamespace(dropNotPresent(root)));
}
