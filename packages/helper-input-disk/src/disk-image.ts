/**
 * What qemu-img says about a local disk image: its format and virtual size. qemu-img reads the
 * format headers; we never parse them ourselves.
 */
import { access, constants, stat } from "node:fs/promises";
import { execa } from "execa";
import { UserError, errnoReason } from "@split-v2v/common";

export interface DiskImageInfo {
  path: string;
  format: string;
  virtualSize: number;
}

interface QemuImgInfo {
  format?: unknown;
  "virtual-size"?: unknown;
}

/** Fails with a clear message unless `path` is a readable file or block device. */
export async function checkReadable(path: string): Promise<void> {
  try {
    await access(path, constants.R_OK);
  } catch (err) {
    throw new UserError(
      `-i disk: cannot read disk image ${path}: ${errnoReason(err)}; check the path and its permissions`,
    );
  }
  const info = await stat(path);
  if (!info.isFile() && !info.isBlockDevice()) {
    throw new UserError(`-i disk: ${path} is not a disk image file or block device`);
  }
}

/** Format and size; `forcedFormat` (-if) is trusted for the format, as virt-v2v does. */
export async function inspectDiskImage(
  path: string,
  forcedFormat: string | null,
): Promise<DiskImageInfo> {
  const args = ["info", "--output=json"];
  if (forcedFormat !== null) args.push("-f", forcedFormat);
  args.push(path);
  const result = await execa("qemu-img", args, { reject: false, env: { LANG: "C" } });
  if (result.exitCode !== 0) {
    const detail = String(result.stderr).trim().split("\n").pop() ?? "";
    throw new UserError(`-i disk: qemu-img cannot read ${path}: ${detail}`);
  }
  const info = JSON.parse(String(result.stdout)) as QemuImgInfo;
  if (typeof info.format !== "string" || typeof info["virtual-size"] !== "number") {
    throw new Error(`qemu-img info gave no format or size for ${path}`);
  }
  return { path, format: forcedFormat ?? info.format, virtualSize: info["virtual-size"] };
}
