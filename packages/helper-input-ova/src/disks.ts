/**
 * From an OVF disk (`File@href`) to what qemu-nbd serves:
 *
 * - the file is looked up relative to the OVF's folder; when it is absent, the highest-numbered
 *   snapshot `<href>.N` is taken instead (VMware exports such OVAs: RHBZ#1570407);
 * - a disk inside an uncompressed tar is served where it lies, through qemu's block layer:
 *   `{"driver": FORMAT, "file": {"driver": "raw", "offset": …, "size": …, "file": <the tar>}}`
 *   — the format decoder (vmdk) over an offset/size view of the tar, and (added by
 *   serveInputDisks) qemu-nbd's snapshot overlay over both: no byte of the disk is copied;
 * - a gzip-compressed disk (`ovf:compression="gzip"`) is the one thing that must be unpacked: it is
 *   uncompressed into the large temp dir, and the user is told.
 *
 * The format is probed by qemu-img (virt-v2v 2.2 lets qemu probe too) and then given to qemu-nbd
 * explicitly. A probed image could name other files (a VMDK descriptor's extents, a qcow2 backing
 * file); any that is not inside the OVA is refused, so an OVA cannot make us read host files.
 */
import { realpath } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { UserError, type InputDiskPlan } from "@split-v2v/common";
import { insideArchive, type OvaArchive, type OvaFile } from "./archive.js";
import { TAR_BLOCK, tarMemberDataOffset } from "./tar.js";

/** The file of a disk's href, or virt-v2v's "not found in the OVA archive" error. */
export async function locateDiskFile(
  archive: OvaArchive,
  ovfFolder: string,
  href: string,
): Promise<OvaFile> {
  const wanted = insideArchive(ovfFolder === "." ? href : `${ovfFolder}/${href}`, href);
  const direct = await archive.lookup(wanted, href);
  if (direct !== null) return direct;

  let best: { name: string; number: bigint } | null = null;
  for (const name of archive.files) {
    if (!name.startsWith(`${wanted}.`)) continue;
    const suffix = name.slice(wanted.length + 1);
    if (!/^\d+$/.test(suffix)) continue;
    const number = BigInt(suffix);
    if (best === null || number > best.number) best = { name, number };
  }
  const snapshot =
    best === null
      ? null
      : await archive.lookup(best.name, `${href}.${best.name.slice(wanted.length + 1)}`);
  if (snapshot === null) {
    throw new UserError(
      `-i ova: OVF references file ‘${href}’ which was not found in the OVA archive`,
    );
  }
  return snapshot;
}

/** What qemu-img says about an image. */
interface QemuImgInfo {
  format?: unknown;
  "virtual-size"?: unknown;
  "backing-filename"?: unknown;
  "format-specific"?: { type?: unknown; data?: { extents?: unknown } };
}

export interface ServableDisk {
  /** qemu-nbd reading the disk as it is (serveInputDisks adds the snapshot overlay). */
  plan: InputDiskPlan;
  format: string;
  virtualSize: number;
  /** Where the disk is, for logs and metadata: a path, or the json: view of a tar member. */
  location: string;
}

/** The raw offset/size view of a member of the tar, as a qemu block-node description. */
export function tarMemberView(tar: string, offset: number, size: number) {
  return {
    driver: "raw",
    offset,
    // qemu wants a whole number of sectors; tar pads each member to 512 bytes anyway.
    size: Math.ceil(size / TAR_BLOCK) * TAR_BLOCK,
    file: { driver: "file", filename: tar },
  };
}

async function qemuImgInfo(image: string, shownAs: string): Promise<QemuImgInfo> {
  const result = await execa("qemu-img", ["info", "--output=json", image], {
    reject: false,
    env: { LANG: "C" },
  });
  if (result.exitCode !== 0) {
    const detail = String(result.stderr).trim().split("\n").pop() ?? "";
    throw new UserError(`-i ova: qemu-img cannot read the disk ${shownAs}: ${detail}`);
  }
  return JSON.parse(String(result.stdout)) as QemuImgInfo;
}

/** The files an image refers to besides itself: a backing file, VMDK extents. */
function referencedFiles(info: QemuImgInfo): string[] {
  const files: string[] = [];
  if (typeof info["backing-filename"] === "string") files.push(info["backing-filename"]);
  const extents = info["format-specific"]?.data?.extents;
  if (Array.isArray(extents)) {
    for (const extent of extents as unknown[]) {
      if (typeof extent === "object" && extent !== null) {
        const filename = (extent as { filename?: unknown }).filename;
        if (typeof filename === "string") files.push(filename);
      }
    }
  }
  return files;
}

function outsideError(shownAs: string, reference: string): UserError {
  return new UserError(
    `-i ova: invalid OVA file: the disk ${shownAs} refers to ${reference}, which is not inside the archive`,
  );
}

/** A disk read where it lies in the tar. */
async function servableTarMember(file: OvaFile & { kind: "tar-member" }): Promise<ServableDisk> {
  const offset = await tarMemberDataOffset(file.tar, file.member);
  const view = tarMemberView(file.tar, offset, file.member.size);
  const probe = `json:${JSON.stringify({ file: view })}`;
  const info = await qemuImgInfo(probe, file.name);
  const format = String(info.format);
  // The only file the image may name is its own view of the tar (qemu prints it back as json:).
  for (const reference of referencedFiles(info)) {
    let sameView = false;
    if (reference.startsWith("json:")) {
      try {
        const named = JSON.parse(reference.slice(5)) as {
          offset?: unknown;
          file?: { filename?: unknown };
        };
        sameView = named.offset === view.offset && named.file?.filename === file.tar;
      } catch {
        sameView = false;
      }
    }
    if (!sameView) throw outsideError(file.name, reference);
  }
  // The format is named (--format), never probed again by qemu-nbd; the json: file is the view.
  return {
    plan: { server: { kind: "qemu-nbd", file: probe, format } },
    format,
    virtualSize: Number(info["virtual-size"]),
    location: probe,
  };
}

/** A disk that is a file on the host: in a directory OVA, unpacked, or uncompressed. */
async function servableFile(
  filePath: string,
  shownAs: string,
  allowedTop: string,
): Promise<ServableDisk> {
  const info = await qemuImgInfo(filePath, shownAs);
  const format = String(info.format);
  const realTop = await realpath(allowedTop);
  for (const reference of referencedFiles(info)) {
    if (reference.startsWith("json:")) throw outsideError(shownAs, reference);
    const resolved = path.resolve(path.dirname(filePath), reference);
    let real: string;
    try {
      real = await realpath(resolved);
    } catch {
      throw outsideError(shownAs, reference);
    }
    if (real !== realTop && !real.startsWith(`${realTop}/`)) throw outsideError(shownAs, reference);
  }
  return {
    plan: { server: { kind: "qemu-nbd", file: filePath, format } },
    format,
    virtualSize: Number(info["virtual-size"]),
    location: filePath,
  };
}

export interface PrepareDiskOptions {
  archive: OvaArchive;
  /** The top directory files of a directory OVA must stay in. */
  archiveTop: string | null;
  /** A scratch directory in the large temp dir, created on first use. */
  scratchDir: () => Promise<string>;
  info: (text: string) => void;
}

/** Everything qemu-nbd needs to serve one disk of the OVA. */
export async function prepareDisk(
  file: OvaFile,
  compressed: boolean,
  index: number,
  options: PrepareDiskOptions,
): Promise<ServableDisk> {
  if (compressed) {
    const directory = await options.scratchDir();
    const uncompressed = path.join(directory, `disk${index}.img`);
    options.info(
      `-i ova: ${options.archive.describe(file)} is gzip-compressed (ovf:compression="gzip"): uncompressing it into ${uncompressed} (set VIRT_V2V_TMPDIR to use another directory)`,
    );
    const [program, args] = options.archive.contentCommand(file);
    try {
      await execa(program, args, { stdin: "ignore", env: { LANG: "C" } }).pipe(
        "gzip",
        ["-c", "-d"],
        { stdout: { file: uncompressed }, env: { LANG: "C" } },
      );
    } catch (err) {
      const stderr = (err as { stderr?: unknown }).stderr;
      const detail =
        String(stderr ?? "")
          .trim()
          .split("\n")
          .pop() || "see the log";
      throw new UserError(
        `-i ova: error uncompressing ${options.archive.describe(file)}: ${detail}`,
      );
    }
    return servableFile(uncompressed, file.name, directory);
  }
  if (file.kind === "tar-member") return servableTarMember(file);
  return servableFile(
    file.path,
    options.archive.describe(file),
    options.archiveTop ?? path.dirname(file.path),
  );
}
