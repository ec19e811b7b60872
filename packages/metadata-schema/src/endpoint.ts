/**
 * Where a source disk is served. metadata.in names either a socket in the work dir (`in0`, the
 * short form the project's own input helpers write) or an NBD URI (`disks[].endpoint`), so that
 * a program with its own NBD server (a warm-migration tool, say) can hand its disks to
 * helper-v2v-convert. The URI forms are the NBD URI specification's
 * (https://github.com/NetworkBlockDevice/nbd/blob/master/doc/uri.md) that libguestfs can reach:
 * nbd:// and nbd+tcp:// (TCP), nbd+unix:// (a Unix socket, `?socket=PATH`).
 */
import path from "node:path";

export type DiskEndpoint =
  | { transport: "unix"; socket: string; exportName: string }
  | { transport: "tcp"; host: string; port: number; exportName: string };

/** The IANA port of NBD, when a URI names none. */
export const NBD_DEFAULT_PORT = 10809;

/** Parses an NBD URI; throws an Error saying what is wrong with it. */
export function parseNbdUri(uri: string): DiskEndpoint {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new Error(`${uri}: not a URI`);
  }
  // The export name is the path without its leading slash (percent-decoded).
  const exportName = decodeURIComponent(url.pathname.replace(/^\//, ""));
  switch (url.protocol) {
    case "nbd:":
    case "nbd+tcp:": {
      if (url.hostname === "") throw new Error(`${uri}: a TCP NBD URI needs a host`);
      const port = url.port === "" ? NBD_DEFAULT_PORT : Number(url.port);
      return { transport: "tcp", host: url.hostname.replace(/^\[|\]$/g, ""), port, exportName };
    }
    case "nbd+unix:": {
      const socket = url.searchParams.get("socket");
      if (socket === null || socket === "")
        throw new Error(`${uri}: an nbd+unix URI needs ?socket=PATH`);
      return { transport: "unix", socket, exportName };
    }
    case "nbds:":
    case "nbds+unix:":
    case "nbds+tcp:":
      throw new Error(`${uri}: NBD over TLS is not supported (libguestfs cannot reach it)`);
    default:
      throw new Error(`${uri}: not an NBD URI (nbd://, nbd+tcp://, nbd+unix://)`);
  }
}

/** Where disk `disk` of metadata.in is served: its endpoint, else its socket in `workdir`. */
export function diskEndpoint(
  workdir: string,
  disk: { socket?: string; endpoint?: string },
): DiskEndpoint {
  if (disk.endpoint !== undefined) return parseNbdUri(disk.endpoint);
  if (disk.socket !== undefined) {
    return { transport: "unix", socket: path.join(workdir, disk.socket), exportName: "" };
  }
  throw new Error("the disk names neither a socket nor an endpoint");
}

/** The endpoint as an NBD URI (for nbdcopy, nbdinfo and logs). */
export function endpointUri(endpoint: DiskEndpoint): string {
  const exportPath = `/${encodeURIComponent(endpoint.exportName)}`;
  if (endpoint.transport === "unix") {
    return `nbd+unix://${exportPath}?socket=${encodeURIComponent(endpoint.socket)}`;
  }
  const host = endpoint.host.includes(":") ? `[${endpoint.host}]` : endpoint.host;
  return `nbd://${host}:${endpoint.port}${exportPath}`;
}
