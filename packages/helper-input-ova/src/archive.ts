/**
 * The OVA as a set of files, whatever its packaging (virt-v2v 2.2's input/OVA.ml):
 *
 *   directory            used as it is
 *   tar (uncompressed)   read in place: nothing is unpacked, disks are served from inside it
 *   zip                  unpacked with `unzip -j` into the large temp dir (the user is told)
 *   tar.gz, tar.xz       unpacked with tar into the large temp dir (the user is told)
 *
 * The file type is sniffed from its first bytes as virt-v2v does (detect_file_type). Every path is
 * relative to the top of the OVA; none may leave it (`..`, absolute, a symbolic link pointing
 * outside): those are refused with virt-v2v's "invalid OVA file" error.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, open, readFile, readdir, realpath, rm, stat } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { UserError, onCleanup } from "@split-v2v/common";
import {
  hashTarMember,
  listTarMembers,
  normaliseArchivePath,
  readTarMember,
  streamTarMember,
  tarExtractArgs,
  type TarMember,
} from "./tar.js";

/** A regular file of the OVA. */
export type OvaFile =
  | { kind: "file"; name: string; path: string }
  | { kind: "tar-member"; name: string; tar: string; member: TarMember };

export interface OvaArchive {
  /** The OVA as the user named it. */
  readonly origin: string;
  /** How it is read: files in a directory (given, or unpacked), or members of a tar in place. */
  readonly kind: "directory" | "tar";
  /** Where it was unpacked, when it was (a compressed OVA); null when read where it is. */
  readonly unpackedInto: string | null;
  /** Paths of every regular file, relative to the top, sorted. */
  readonly files: readonly string[];
  /**
   * The file at `name` (a normalised relative path), or null if there is none. A path that leads
   * outside the OVA, or to a link inside a tar, is an error; `shownAs` names it in that error.
   */
  lookup(name: string, shownAs?: string): Promise<OvaFile | null>;
  /** The content of a small file (a descriptor or manifest). */
  read(file: OvaFile): Promise<Buffer>;
  /** Feeds a file's content to `consume` (stops when it returns false). */
  stream(file: OvaFile, consume: (chunk: Buffer) => boolean | Promise<boolean>): Promise<void>;
  /** The hex digest of a file's content. */
  hash(file: OvaFile, algorithm: string): Promise<string>;
  /** A command (program and arguments) writing the file's content on its stdout. */
  contentCommand(file: OvaFile): [string, string[]];
  /** How messages name a file: its path for a directory the user gave, else its path in the OVA. */
  describe(file: OvaFile): string;
}

/** Descriptors and manifests larger than this are not what they claim to be. */
const MAX_DESCRIPTOR_BYTES = 64 * 1024 * 1024;

/** A path relative to the top that stays inside it; else virt-v2v's "outside the archive" error. */
export function insideArchive(relative: string, shownAs: string): string {
  const outside = () =>
    new UserError(
      `-i ova: invalid OVA file: path ‘${shownAs}’ references a file outside the archive`,
    );
  if (relative.startsWith("/")) throw outside();
  const normalised = normaliseArchivePath(relative);
  if (normalised === ".." || normalised.startsWith("../")) throw outside();
  return normalised;
}

function isInside(directory: string, candidate: string): boolean {
  return (
    candidate === directory ||
    candidate.startsWith(directory.endsWith("/") ? directory : `${directory}/`)
  );
}

class DirectoryArchive implements OvaArchive {
  readonly kind = "directory";

  private constructor(
    readonly origin: string,
    readonly unpackedInto: string | null,
    private readonly top: string,
    private readonly realTop: string,
    readonly files: readonly string[],
  ) {}

  static async open(origin: string, top: string, unpacked: boolean): Promise<DirectoryArchive> {
    const absoluteTop = path.resolve(top);
    const realTop = await realpath(absoluteTop);
    const files: string[] = [];
    // Breadth first, as virt-v2v's find_files; directory links are not followed (a loop, or a
    // tree outside the OVA), links to files are listed and checked when used.
    const queue = [""];
    while (queue.length > 0) {
      const relative = queue.shift()!;
      const entries = await readdir(path.join(absoluteTop, relative), { withFileTypes: true });
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const entry of entries) {
        const child = relative === "" ? entry.name : `${relative}/${entry.name}`;
        if (entry.isDirectory()) queue.push(child);
        else if (entry.isFile()) files.push(child);
        else if (entry.isSymbolicLink()) {
          const target = await stat(path.join(absoluteTop, child)).catch(() => null);
          if (target?.isFile()) files.push(child);
        }
      }
    }
    files.sort();
    return new DirectoryArchive(origin, unpacked ? absoluteTop : null, absoluteTop, realTop, files);
  }

  async lookup(name: string, shownAs = name): Promise<OvaFile | null> {
    const relative = insideArchive(name, shownAs);
    let real: string;
    try {
      real = await realpath(path.join(this.top, relative));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw err;
    }
    if (!isInside(this.realTop, real)) {
      throw new UserError(
        `-i ova: invalid OVA file: path ‘${shownAs}’ references a file outside the archive`,
      );
    }
    if (!(await stat(real)).isFile()) return null;
    return { kind: "file", name: relative, path: real };
  }

  async read(file: OvaFile): Promise<Buffer> {
    const target = this.pathOf(file);
    const size = (await stat(target)).size;
    if (size > MAX_DESCRIPTOR_BYTES) {
      throw new UserError(
        `-i ova: ${this.describe(file)} is ${size} bytes long, too large for a descriptor`,
      );
    }
    return readFile(target);
  }

  async stream(
    file: OvaFile,
    consume: (chunk: Buffer) => boolean | Promise<boolean>,
  ): Promise<void> {
    const input = createReadStream(this.pathOf(file));
    try {
      for await (const chunk of input) if (!(await consume(chunk as Buffer))) break;
    } finally {
      input.destroy();
    }
  }

  async hash(file: OvaFile, algorithm: string): Promise<string> {
    const digest = createHash(algorithm);
    await this.stream(file, (chunk) => {
      digest.update(chunk);
      return true;
    });
    return digest.digest("hex");
  }

  contentCommand(file: OvaFile): [string, string[]] {
    return ["cat", ["--", this.pathOf(file)]];
  }

  describe(file: OvaFile): string {
    return this.unpackedInto === null ? this.pathOf(file) : file.name;
  }

  private pathOf(file: OvaFile): string {
    if (file.kind !== "file") throw new Error(`${file.name} is not a file of ${this.origin}`);
    return file.path;
  }
}

class TarArchive implements OvaArchive {
  readonly kind = "tar";
  readonly unpackedInto = null;

  private constructor(
    readonly origin: string,
    private readonly tar: string,
    /** By normalised name; a name stored twice means the last one, as tar -x leaves it. */
    private readonly members: Map<string, TarMember>,
    readonly files: readonly string[],
  ) {}

  static async open(origin: string): Promise<TarArchive> {
    const tar = path.resolve(origin);
    const members = new Map<string, TarMember>();
    for (const member of await listTarMembers(tar)) members.set(member.name, member);
    const files = [...members.values()]
      .filter((member) => member.type === "file")
      .map((member) => member.name)
      .sort();
    return new TarArchive(origin, tar, members, files);
  }

  async lookup(name: string, shownAs = name): Promise<OvaFile | null> {
    const relative = insideArchive(name, shownAs);
    const member = this.members.get(relative);
    if (member === undefined || member.type === "directory") return null;
    if (member.type === "symlink" || member.type === "hardlink") {
      throw new UserError(
        `-i ova: invalid OVA file: path ‘${shownAs}’ is a ${member.type === "symlink" ? "symbolic" : "hard"} link in the archive (to ‘${member.linkTarget ?? "?"}’); the OVA must hold the file itself`,
      );
    }
    if (member.type !== "file") {
      throw new UserError(`-i ova: invalid OVA file: path ‘${shownAs}’ is not a regular file`);
    }
    return { kind: "tar-member", name: relative, tar: this.tar, member };
  }

  read(file: OvaFile): Promise<Buffer> {
    return readTarMember(this.tar, this.memberOf(file), MAX_DESCRIPTOR_BYTES);
  }

  stream(file: OvaFile, consume: (chunk: Buffer) => boolean | Promise<boolean>): Promise<void> {
    return streamTarMember(this.tar, this.memberOf(file), consume);
  }

  hash(file: OvaFile, algorithm: string): Promise<string> {
    return hashTarMember(this.tar, this.memberOf(file), algorithm);
  }

  contentCommand(file: OvaFile): [string, string[]] {
    return ["tar", tarExtractArgs(this.tar, this.memberOf(file))];
  }

  describe(file: OvaFile): string {
    return file.name;
  }

  private memberOf(file: OvaFile): TarMember {
    if (file.kind !== "tar-member") throw new Error(`${file.name} is not a member of ${this.tar}`);
    return file.member;
  }
}

export type OvaFileType = "tar" | "zip" | "gzip" | "xz" | "unknown";

/** virt-v2v's detect_file_type: magic numbers of the first bytes. */
export function detectFileType(head: Buffer): OvaFileType {
  const at = (offset: number, bytes: string) =>
    head.length >= offset + bytes.length &&
    head.subarray(offset, offset + bytes.length).equals(Buffer.from(bytes, "latin1"));
  if (at(0, "\xfd7zXZ\x00")) return "xz";
  if (at(0, "PK\x03\x04") || at(0, "PK\x05\x06") || at(0, "PK\x07\x08")) return "zip";
  if (at(257, "ustar\x00") || at(257, "ustar  \x00")) return "tar";
  if (at(0, "\x1f\x8b")) return "gzip";
  return "unknown";
}

async function readHead(file: string, bytes: number): Promise<Buffer> {
  const handle = await open(file, "r");
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** The first bytes of a compressed file's content: the decompressor is stopped once we have them. */
async function uncompressedHead(command: string, file: string, bytes: number): Promise<Buffer> {
  const child = execa(command, ["-c", "-d", file], {
    reject: false,
    buffer: false,
    stdin: "ignore",
    stderr: "ignore",
  });
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of child.stdout) {
    chunks.push(chunk as Buffer);
    length += (chunk as Buffer).length;
    if (length >= bytes) break;
  }
  child.kill("SIGTERM");
  await child;
  return Buffer.concat(chunks).subarray(0, bytes);
}

function unsupportedFormat(ova: string): UserError {
  return new UserError(
    `-i ova: ${ova}: unsupported file format; formats which we currently understand for '-i ova' are: tar (uncompressed, compress with gzip or xz), zip`,
  );
}

/**
 * Where virt-v2v puts big temporary files: $VIRT_V2V_TMPDIR, else libguestfs's cache dir
 * ($LIBGUESTFS_CACHEDIR, else $TMPDIR, else /var/tmp).
 */
export function largeTmpDir(env: NodeJS.ProcessEnv = process.env): string {
  for (const name of ["VIRT_V2V_TMPDIR", "LIBGUESTFS_CACHEDIR", "TMPDIR"]) {
    const value = env[name];
    if (value !== undefined && value !== "") return value;
  }
  return "/var/tmp";
}

/** A fresh directory `ova.XXXXXX` in the large temp dir, removed when the helper exits. */
export async function largeScratchDir(): Promise<string> {
  const directory = await mkdtemp(path.join(largeTmpDir(), "ova."));
  onCleanup(`temporary directory ${directory}`, () =>
    rm(directory, { recursive: true, force: true }),
  );
  return directory;
}

export interface OpenOvaOptions {
  /** Tells the user something worth knowing (printed as "virt-v2v: …"). */
  info: (text: string) => void;
  log: (line: string) => void;
}

async function run(command: string, args: string[], what: string): Promise<void> {
  const result = await execa(command, args, { reject: false, stdin: "ignore", env: { LANG: "C" } });
  if (result.exitCode !== 0) {
    const detail = String(result.stderr).trim().split("\n").slice(-2).join("; ");
    throw new UserError(`-i ova: error unpacking ${what}: ${detail || `${command} failed`}`);
  }
}

/** How an OVA is packaged, as far as its first bytes tell: what opening it will cost. */
export type OvaPackaging = "directory" | "tar" | "zip" | "gzip" | "xz";

/**
 * The OVA's packaging, read from its first bytes (for a compressed file, the first bytes of its
 * content, which must be a tar); any other file is virt-v2v's "unsupported file format" error.
 * Cheap: nothing is unpacked.
 */
export async function ovaPackaging(
  ova: string,
  options: Pick<OpenOvaOptions, "log">,
): Promise<OvaPackaging> {
  const info = await stat(ova);
  if (info.isDirectory()) return "directory";
  if (!info.isFile()) throw unsupportedFormat(ova);
  const type = detectFileType(await readHead(ova, 512));
  options.log(`${ova}: file type ${type}`);
  switch (type) {
    case "tar":
    case "zip":
      return type;
    case "gzip":
    case "xz":
      if (detectFileType(await uncompressedHead(type, ova, 512)) !== "tar")
        throw unsupportedFormat(ova);
      return type;
    case "unknown":
      throw unsupportedFormat(ova);
  }
}

/**
 * Opens an OVA file or directory (of the packaging ovaPackaging found, when the caller has it);
 * see the module comment for what each packaging costs.
 */
export async function openOva(
  ova: string,
  options: OpenOvaOptions,
  packaging?: OvaPackaging,
): Promise<OvaArchive> {
  const kind = packaging ?? (await ovaPackaging(ova, options));
  switch (kind) {
    case "directory":
      return DirectoryArchive.open(ova, ova, false);
    case "tar":
      return TarArchive.open(ova);
    case "zip": {
      const directory = await largeScratchDir();
      options.info(
        `-i ova: ${ova} is a zip file: unpacking it into ${directory} (set VIRT_V2V_TMPDIR to unpack elsewhere)`,
      );
      // -j as virt-v2v: the files land in one folder; -o: a name stored twice is not a question.
      await run("unzip", ["-q", "-o", "-j", "-d", directory, ova], ova);
      return DirectoryArchive.open(ova, directory, true);
    }
    case "gzip":
    case "xz": {
      const directory = await largeScratchDir();
      options.info(
        `-i ova: ${ova} is a ${kind}-compressed tar file: unpacking it into ${directory} (set VIRT_V2V_TMPDIR to unpack elsewhere)`,
      );
      await run(
        "tar",
        [
          kind === "gzip" ? "--gzip" : "--xz",
          "--no-same-owner",
          "--no-same-permissions",
          "-xf",
          ova,
          "-C",
          directory,
        ],
        ova,
      );
      return DirectoryArchive.open(ova, directory, true);
    }
  }
}
