/**
 * Where the Windows drivers come from: virtio-win, as a directory tree or as its ISO image
 * (virt-v2v's copy_from_virtio_win). `$VIRTIO_WIN` (or its old name `$VIRTIO_WIN_DIR`) names
 * either; without it, /usr/share/virtio-win/virtio-win.iso, else the /usr/share/virtio-win tree.
 *
 * The ISO is read through a second, read-only libguestfs appliance, never mounted on the host
 * (which would need root and leave a mount behind on a crash). It is opened once, on first use,
 * for both the drivers and the guest agent.
 */
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { onCleanup, UserError, errorMessage } from "@split-v2v/common";
import { Guestfs } from "@split-v2v/libguestfs";

/** Where virtio-win is looked for when the environment does not say. */
export const DEFAULT_VIRTIO_WIN_DIR = "/usr/share/virtio-win";

export interface VirtioWinLocation {
  /** The directory or ISO image (it may not exist: then there are no drivers). */
  path: string;
  /** Set by $VIRTIO_WIN / $VIRTIO_WIN_DIR rather than the default. */
  fromEnvironment: boolean;
}

export async function locateVirtioWin(
  environment: NodeJS.ProcessEnv = process.env,
  defaultDir: string = DEFAULT_VIRTIO_WIN_DIR,
): Promise<VirtioWinLocation> {
  const fromEnvironment = environment.VIRTIO_WIN ?? environment.VIRTIO_WIN_DIR;
  if (fromEnvironment !== undefined && fromEnvironment !== "")
    return { path: fromEnvironment, fromEnvironment: true };
  const iso = path.join(defaultDir, "virtio-win.iso");
  const isoExists = await stat(iso).then(
    () => true,
    () => false,
  );
  return { path: isoExists ? iso : defaultDir, fromEnvironment: false };
}

/** The files of virtio-win, by path relative to its root ("amd64/2k22/viostor.sys"). */
export interface VirtioWinSource {
  readonly location: string;
  /** Every regular file's path that `wanted` accepts, in the tree's order. */
  files(wanted: (path: string) => boolean): Promise<string[]>;
  /** Copies one of those files into the guest at `guestPath`. */
  copyInto(g: Guestfs, file: string, guestPath: string): Promise<void>;
  close(): Promise<void>;
}

export async function openVirtioWin(
  location: string,
  log: (line: string) => void,
): Promise<VirtioWinSource> {
  const info = await stat(location).catch(() => null);
  if (info?.isDirectory()) return new DirectorySource(location, log);
  if (info?.isFile() || info?.isBlockDevice()) return new IsoSource(location, log);
  log(`virtio-win: ${location} does not exist; no drivers or guest agent from it`);
  return new EmptySource(location);
}

class EmptySource implements VirtioWinSource {
  constructor(readonly location: string) {}
  files(): Promise<string[]> {
    return Promise.resolve([]);
  }
  copyInto(): Promise<void> {
    return Promise.reject(new Error(`virtio-win at ${this.location} has no files`));
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** A directory tree; symbolic links are followed, as `find -L` does for virt-v2v. */
class DirectorySource implements VirtioWinSource {
  private listing: string[] | null = null;

  constructor(
    readonly location: string,
    private readonly log: (line: string) => void,
  ) {}

  private async walk(relative: string, into: string[], seen: Set<string>): Promise<void> {
    const directory = path.join(this.location, relative);
    const identity = await stat(directory);
    const key = `${identity.dev}:${identity.ino}`;
    if (seen.has(key)) return; // a symbolic link loop
    seen.add(key);
    const entries = (await readdir(directory)).sort();
    for (const name of entries) {
      const child = relative === "" ? name : `${relative}/${name}`;
      const info = await stat(path.join(this.location, child)).catch(() => null);
      if (info === null) continue; // dangling symbolic link
      if (info.isDirectory()) await this.walk(child, into, seen);
      else if (info.isFile()) into.push(child);
    }
  }

  async files(wanted: (path: string) => boolean): Promise<string[]> {
    if (this.listing === null) {
      const listing: string[] = [];
      await this.walk("", listing, new Set());
      this.listing = listing;
      this.log(`virtio-win: directory ${this.location}, ${listing.length} files`);
    }
    return this.listing.filter(wanted);
  }

  copyInto(g: Guestfs, file: string, guestPath: string): Promise<void> {
    this.log(`virtio-win: copying ${this.location}/${file} to ${guestPath}`);
    return g.upload(path.join(this.location, file), guestPath);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** An ISO image, read through its own read-only appliance. */
class IsoSource implements VirtioWinSource {
  private handle: Promise<{ g: Guestfs; listing: string[]; scratch: string }> | null = null;
  private unregister: (() => void) | null = null;

  constructor(
    readonly location: string,
    private readonly log: (line: string) => void,
  ) {}

  private open(): Promise<{ g: Guestfs; listing: string[]; scratch: string }> {
    this.handle ??= (async () => {
      this.log(`virtio-win: opening the ISO ${this.location} in a second appliance`);
      const g = await Guestfs.create();
      g.setIdentifier("virtio_win");
      g.onLog((kind, text) => this.log(`libguestfs virtio_win ${kind}: ${text}`));
      try {
        await g.addDrive(this.location, { readonly: true, format: "raw" });
        await g.launch();
        await g.mountRo("/dev/sda", "/");
      } catch (err) {
        await g.close();
        throw new UserError(
          `${this.location}: cannot open virtio-win ISO file: ${errorMessage(err)}; check that VIRTIO_WIN names the virtio-win ISO or its unpacked directory`,
        );
      }
      // find lists directories too; is_file on the few chosen paths tells them apart.
      const listing = (await g.find("/")).map((entry) => entry.replace(/^\/+/, ""));
      this.log(`virtio-win: ISO ${this.location}, ${listing.length} entries`);
      // Where files pass through on their way from this appliance to the guest's.
      const scratch = await mkdtemp(path.join(os.tmpdir(), "v2v-virtio-win-"));
      this.unregister = onCleanup("virtio-win scratch directory", () =>
        rm(scratch, { recursive: true, force: true }),
      );
      return { g, listing, scratch };
    })();
    return this.handle;
  }

  async files(wanted: (path: string) => boolean): Promise<string[]> {
    const { g, listing } = await this.open();
    const chosen: string[] = [];
    for (const entry of listing.filter(wanted)) if (await g.isFile(`/${entry}`)) chosen.push(entry);
    return chosen;
  }

  async copyInto(guest: Guestfs, file: string, guestPath: string): Promise<void> {
    const { g, scratch } = await this.open();
    // download + upload stream the file: no size limit, unlike read_file + write.
    const local = path.join(scratch, "file");
    this.log(`virtio-win: copying ${this.location}:/${file} to ${guestPath}`);
    await g.download(`/${file}`, local);
    await guest.upload(local, guestPath);
    await rm(local, { force: true });
  }

  async close(): Promise<void> {
    const opening = this.handle;
    this.handle = null;
    const opened = await opening?.catch(() => null);
    if (opened === undefined || opened === null) return;
    await opened.g.shutdown().catch(() => {});
    await opened.g.close();
    await rm(opened.scratch, { recursive: true, force: true });
    this.unregister?.();
  }
}
