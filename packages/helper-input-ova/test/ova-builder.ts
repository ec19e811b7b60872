/**
 * Building OVAs for the tests with the real tools (tar, gzip, xz, zip, qemu-img), and finding
 * upstream virt-v2v's OVF test descriptors in ../shared (never copied into this repository).
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";

export type Packaging = "tar" | "tar.gz" | "tar.xz" | "zip" | "directory";

export async function scratch(
  label: string,
): Promise<{ dir: string; dispose: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `input-ova-${label}-`));
  return { dir, dispose: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Packs `names` (paths relative to `source`, in this order) as `packaging`. For "directory" the
 * source folder itself is the OVA.
 */
export async function pack(
  packaging: Packaging,
  source: string,
  names: string[],
  output: string,
  tarFormat: "gnu" | "ustar" | "pax" = "gnu",
): Promise<string> {
  switch (packaging) {
    case "directory":
      return source;
    case "tar":
      await execa("tar", [`--format=${tarFormat}`, "-cf", output, ...names], { cwd: source });
      return output;
    case "tar.gz":
      await execa("tar", ["-czf", output, ...names], { cwd: source });
      return output;
    case "tar.xz":
      await execa("tar", ["-cJf", output, ...names], { cwd: source });
      return output;
    case "zip":
      await execa("zip", ["-q", "-r", output, ...names], { cwd: source });
      return output;
  }
}

export async function digest(file: string, algorithm: "sha1" | "sha256"): Promise<string> {
  return createHash(algorithm)
    .update(await readFile(file))
    .digest("hex");
}

/** A raw file of `bytes` zero bytes, as upstream's `guestfish disk-create NAME raw 10k`. */
export async function rawDisk(file: string, bytes: number): Promise<void> {
  await execa("truncate", ["-s", String(bytes), file]);
}

/** The monorepo root (the nearest package.json with workspaces above this file). */
function repositoryRoot(): string {
  let directory = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = path.join(directory, "package.json");
    if (
      existsSync(manifest) &&
      "workspaces" in (JSON.parse(readFileSync(manifest, "utf8")) as object)
    )
      return directory;
    const parent = path.dirname(directory);
    if (parent === directory) throw new Error("no repository root above the tests");
    directory = parent;
  }
}

/** ../shared/testdata/virt-v2v-upstream/ova beside the repository, or null when absent. */
export function upstreamOvaDir(): string | null {
  const directory = path.resolve(
    repositoryRoot(),
    "..",
    "shared",
    "testdata",
    "virt-v2v-upstream",
    "ova",
  );
  return existsSync(directory) ? directory : null;
}

export const UPSTREAM_MISSING =
  "upstream virt-v2v test data (../shared/testdata/virt-v2v-upstream/ova) not found";

/** A minimal OVF with one SCSI disk per entry. */
export function minimalOvf(disks: Array<{ href: string; compression?: string }>): string {
  const files = disks
    .map(
      (disk, index) =>
        `<File ovf:href="${disk.href}" ovf:id="file${index}"${disk.compression ? ` ovf:compression="${disk.compression}"` : ""}/>`,
    )
    .join("");
  const diskSection = disks
    .map((_, index) => `<Disk ovf:diskId="vmdisk${index}" ovf:fileRef="file${index}"/>`)
    .join("");
  const items = disks
    .map(
      (_, index) =>
        `<Item><rasd:HostResource>ovf:/disk/vmdisk${index}</rasd:HostResource><rasd:InstanceID>${10 + index}</rasd:InstanceID><rasd:Parent>3</rasd:Parent><rasd:ResourceType>17</rasd:ResourceType></Item>`,
    )
    .join("");
  return `<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData">
  <References>${files}</References>
  <DiskSection>${diskSection}</DiskSection>
  <VirtualSystem ovf:id="vm"><Name>test-guest</Name>
    <VirtualHardwareSection>
      <Item><rasd:InstanceID>3</rasd:InstanceID><rasd:ResourceType>6</rasd:ResourceType></Item>
      ${items}
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
`;
}
