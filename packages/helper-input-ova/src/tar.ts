/**
 * An uncompressed tar file read in place, with GNU tar as the only reader of its format: `tar -tRvf`
 * lists the members and the block number of each header, `tar -xO` streams a member's content.
 * We never parse tar headers ourselves.
 *
 * Where a member's data lies (to serve a disk in place, no copy): virt-v2v 2.2 takes it to start
 * one block after the reported header. GNU tar reports the first header of a member written with a
 * GNU long name (the ././@LongLink one, so the data is further on), but the last header of a member
 * with pax extended headers. So there are two candidates: one block after the reported header, and
 * just before the next entry (data is padded to whole blocks and followed at once by the next
 * header). When they differ, or whenever a member is to be served, the candidates are checked
 * against what `tar -xO` streams for that member, and only a match is used. A member that matches
 * nowhere (stored sparse, with `tar --sparse`) cannot be read in place, and says so.
 */
import { createHash } from "node:crypto";
import { open, stat } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { execa } from "execa";
import { UserError } from "@split-v2v/common";

export const TAR_BLOCK = 512;

export type TarMemberType = "file" | "directory" | "symlink" | "hardlink" | "other";

export interface TarMember {
  /** The member's name as stored (without a link's target). */
  storedName: string;
  /** The name as a normalised relative path: no "./", no "//", no trailing "/". */
  name: string;
  /** 1 for the first member stored under this name, 2 for the next… (tar --occurrence). */
  occurrence: number;
  type: TarMemberType;
  /** The file's length in bytes. */
  size: number;
  /** Where the data may start, as explained above; empty when it cannot be in this file. */
  candidateOffsets: number[];
  linkTarget: string | null;
}

/** Normalises a path inside an archive: relative, no ".", no empty segments. */
export function normaliseArchivePath(name: string): string {
  const normalised = path.posix.normalize(name.replace(/\/+$/, ""));
  return normalised.replace(/^(\.\/)+/, "") || ".";
}

const TYPE_CHARACTERS: Record<string, TarMemberType> = {
  "-": "file",
  d: "directory",
  l: "symlink",
  h: "hardlink",
};

/** `block N: -rw-r--r-- 0/0   10240 2024-01-01 12:00 name` (LANG=C, --numeric-owner). */
const ENTRY = /^block (\d+): (\S)\S* (\S+) +(\S+) (\S+) (\S+) (.*)$/;
/** `block N: ** Block of NULs **`, `block N: ** End of File **`. */
const MARKER = /^block (\d+): \*\* [^*]+ \*\*$/;

const TAR_ENV = { LANG: "C", LC_ALL: "C" };

function lastLine(text: unknown): string {
  return String(text).trim().split("\n").pop() ?? "";
}

/** Lists the members of an uncompressed tar file. */
export async function listTarMembers(tarFile: string): Promise<TarMember[]> {
  const result = await execa(
    "tar",
    ["--no-auto-compress", "--quoting-style=literal", "--numeric-owner", "-tRvf", tarFile],
    { env: TAR_ENV, reject: false },
  );
  if (result.exitCode !== 0) {
    throw new UserError(`-i ova: tar cannot list ${tarFile}: ${lastLine(result.stderr)}`);
  }
  const fileSize = (await stat(tarFile)).size;
  const entries: Array<{ block: number; type: TarMemberType; size: number; text: string }> = [];
  const boundaries: number[] = [];
  for (const line of String(result.stdout).split("\n")) {
    if (line === "") continue;
    const marker = MARKER.exec(line);
    if (marker) {
      boundaries.push(Number(marker[1]));
      continue;
    }
    const entry = ENTRY.exec(line);
    if (!entry) {
      throw new UserError(
        `-i ova: failed to parse line returned by tar: ${JSON.stringify(line)} (listing ${tarFile})`,
      );
    }
    const block = Number(entry[1]);
    // Device files show "major,minor" where others show the size.
    const size = /^\d+$/.test(entry[4]!) ? Number(entry[4]) : 0;
    entries.push({ block, type: TYPE_CHARACTERS[entry[2]!] ?? "other", size, text: entry[7]! });
    boundaries.push(block);
  }
  boundaries.sort((a, b) => a - b);

  const occurrences = new Map<string, number>();
  return entries.map((entry) => {
    let storedName = entry.text;
    let linkTarget: string | null = null;
    const separator =
      entry.type === "symlink" ? " -> " : entry.type === "hardlink" ? " link to " : null;
    if (separator !== null) {
      const at = entry.text.indexOf(separator);
      if (at >= 0) {
        storedName = entry.text.slice(0, at);
        linkTarget = entry.text.slice(at + separator.length);
      }
    }
    const occurrence = (occurrences.get(storedName) ?? 0) + 1;
    occurrences.set(storedName, occurrence);

    const candidateOffsets: number[] = [];
    if (entry.type === "file") {
      const afterHeader = (entry.block + 1) * TAR_BLOCK;
      const next = boundaries.find((block) => block > entry.block);
      const padded = Math.ceil(entry.size / TAR_BLOCK) * TAR_BLOCK;
      const candidates = [afterHeader];
      if (next !== undefined) candidates.push(next * TAR_BLOCK - padded);
      for (const offset of candidates) {
        if (
          offset >= afterHeader &&
          offset + entry.size <= fileSize &&
          !candidateOffsets.includes(offset)
        )
          candidateOffsets.push(offset);
      }
    }
    return {
      storedName,
      name: normaliseArchivePath(storedName),
      occurrence,
      type: entry.type,
      size: entry.size,
      candidateOffsets,
      linkTarget,
    };
  });
}

/** Arguments of `tar` extracting exactly this member (its name verbatim, this occurrence) to stdout. */
export function tarExtractArgs(tarFile: string, member: TarMember): string[] {
  return [
    "--no-auto-compress",
    "--no-wildcards",
    `--occurrence=${member.occurrence}`,
    "-xOf",
    tarFile,
    "--",
    member.storedName,
  ];
}

function extractToStdout(tarFile: string, member: TarMember) {
  return execa("tar", tarExtractArgs(tarFile, member), {
    env: TAR_ENV,
    reject: false,
    buffer: { stdout: false, stderr: true },
    stdin: "ignore",
  });
}

/** Feeds a member's content, as GNU tar extracts it, to `consume`; stops early if it returns false. */
export async function streamTarMember(
  tarFile: string,
  member: TarMember,
  consume: (chunk: Buffer) => Promise<boolean> | boolean,
): Promise<void> {
  const child = extractToStdout(tarFile, member);
  let stoppedEarly = false;
  try {
    for await (const chunk of child.stdout as Readable) {
      if (!(await consume(chunk as Buffer))) {
        stoppedEarly = true;
        break;
      }
    }
  } finally {
    if (stoppedEarly) child.kill("SIGTERM");
  }
  const result = await child;
  if (!stoppedEarly && result.exitCode !== 0) {
    throw new UserError(
      `-i ova: tar cannot extract ${member.storedName} from ${tarFile}: ${lastLine(result.stderr)}`,
    );
  }
}

/** A member's whole content (for the small files: the OVF and manifests). */
export async function readTarMember(
  tarFile: string,
  member: TarMember,
  maxBytes: number,
): Promise<Buffer> {
  if (member.size > maxBytes) {
    throw new UserError(
      `-i ova: ${member.name} in ${tarFile} is ${member.size} bytes long, too large for a descriptor (at most ${maxBytes})`,
    );
  }
  const chunks: Buffer[] = [];
  await streamTarMember(tarFile, member, (chunk) => {
    chunks.push(chunk);
    return true;
  });
  return Buffer.concat(chunks);
}

/** The hex digest of a member's content. */
export async function hashTarMember(
  tarFile: string,
  member: TarMember,
  algorithm: string,
): Promise<string> {
  const hash = createHash(algorithm);
  await streamTarMember(tarFile, member, (chunk) => {
    hash.update(chunk);
    return true;
  });
  return hash.digest("hex");
}

/** How much of a member is compared before its place is trusted (more only if still ambiguous). */
const VERIFY_BYTES = 1024 * 1024;

/**
 * The byte offset of a member's data in the tar file, checked against GNU tar's own extraction
 * of it; or a UserError saying why it cannot be read in place.
 */
export async function tarMemberDataOffset(tarFile: string, member: TarMember): Promise<number> {
  const cannot = (why: string) =>
    new UserError(
      `-i ova: ${member.name} in ${tarFile} cannot be read in place: ${why}; repack the OVA as a plain tar (tar -cf, without --sparse)`,
    );
  if (member.type !== "file") throw cannot("it is not a regular file");
  let candidates = [...member.candidateOffsets];
  if (candidates.length === 0)
    throw cannot("its data does not lie in one piece in the archive (stored sparse?)");
  if (member.size === 0) return candidates[0]!;

  const handle = await open(tarFile, "r");
  try {
    const check = async (limit: number) => {
      let position = 0;
      await streamTarMember(tarFile, member, async (chunk) => {
        const survivors: number[] = [];
        const stored = Buffer.alloc(chunk.length);
        for (const offset of candidates) {
          const { bytesRead } = await handle.read(stored, 0, chunk.length, offset + position);
          if (bytesRead === chunk.length && stored.equals(chunk)) survivors.push(offset);
        }
        candidates = survivors;
        position += chunk.length;
        return candidates.length > 0 && position < limit;
      });
    };
    await check(VERIFY_BYTES);
    // Two places with the same first megabyte (a disk that starts with zeroes): compare it all.
    if (candidates.length > 1 && member.size > VERIFY_BYTES) await check(Infinity);
  } finally {
    await handle.close();
  }
  if (candidates.length === 0)
    throw cannot("its data does not lie in one piece in the archive (stored sparse?)");
  return candidates[0]!;
}
