/**
 * OVA manifests (`*.mf`): every one found in the OVA is checked before anything else happens, as
 * virt-v2v does (input/OVA.ml get_manifest, Checksums.verify_checksum):
 *
 *   SHA1(disk1.vmdk)= 0123…        one line per file, SHA1 or SHA256, CRLF endings allowed
 *
 * Names are relative to the manifest's folder. A line that does not parse is a warning; a file the
 * OVA lacks is a warning (VMware lists files it did not export); a checksum that differs is
 * virt-v2v's fatal "corrupt OVA" error. The line syntax is newer virt-v2v's, which also accepts the
 * blanks `sha256sum --tag` puts around the name (`SHA256 (x) = …`); 2.2 accepted a subset of it.
 */
import path from "node:path";
import { UserError } from "@split-v2v/common";
import { insideArchive, type OvaArchive } from "./archive.js";

export interface ManifestEntry {
  algorithm: "sha1" | "sha256";
  /** The file's path relative to the top of the OVA. */
  file: string;
  /** As written in the manifest. */
  shownAs: string;
  expected: string;
}

const LINE = /^(SHA1|SHA256)\s*\((.*)\)\s*= ([0-9a-fA-F]+)\r?$/;

/** A string as OCaml's %S prints it, so that warnings read as virt-v2v's. */
export function ocamlQuoted(text: string): string {
  let quoted = '"';
  for (const byte of Buffer.from(text, "utf8")) {
    const char = String.fromCharCode(byte);
    if (char === '"' || char === "\\") quoted += `\\${char}`;
    else if (char === "\n") quoted += "\\n";
    else if (char === "\t") quoted += "\\t";
    else if (char === "\r") quoted += "\\r";
    else if (char === "\b") quoted += "\\b";
    else if (byte < 0x20 || byte >= 0x7f) quoted += `\\${String(byte).padStart(3, "0")}`;
    else quoted += char;
  }
  return `${quoted}"`;
}

/** The entries of one manifest; `manifest` is its path in the OVA. */
export function parseManifest(
  text: string,
  manifest: string,
  warn: (text: string) => void,
): ManifestEntry[] {
  const folder = path.posix.dirname(manifest);
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  const entries: ManifestEntry[] = [];
  for (const line of lines) {
    const match = LINE.exec(line);
    if (!match) {
      // A blank line says nothing wrong about any file.
      if (line.trim() !== "") warn(`unable to parse line from manifest file: ${ocamlQuoted(line)}`);
      continue;
    }
    const shownAs = match[2]!;
    entries.push({
      algorithm: match[1] === "SHA1" ? "sha1" : "sha256",
      file: insideArchive(folder === "." ? shownAs : `${folder}/${shownAs}`, shownAs),
      shownAs,
      expected: match[3]!,
    });
  }
  return entries;
}

/** Every manifest in the OVA (`*.mf` in any folder), read and checked. */
export async function verifyManifests(
  archive: OvaArchive,
  manifests: readonly string[],
  warn: (text: string) => void,
  log: (line: string) => void,
): Promise<void> {
  for (const manifest of manifests) {
    log(`ova: processing manifest file ${manifest}`);
    const file = await archive.lookup(manifest);
    if (file === null) continue;
    const entries = parseManifest((await archive.read(file)).toString("utf8"), manifest, warn);
    for (const entry of entries) {
      const target = await archive.lookup(entry.file, entry.shownAs);
      if (target === null) {
        warn(`manifest has a checksum for non-existent file ${entry.file} (ignored)`);
        continue;
      }
      const actual = await archive.hash(target, entry.algorithm);
      log(`ova: ${entry.algorithm}(${entry.file}) = ${actual}, manifest says ${entry.expected}`);
      if (actual.toLowerCase() !== entry.expected.toLowerCase()) {
        throw new UserError(
          `-i ova: corrupt OVA: checksum of disk ${archive.describe(target)} does not match manifest (actual = ${actual}, expected = ${entry.expected})`,
        );
      }
    }
  }
}
