/**
 * The -ic URI of -i libvirt, read into the parts virt-v2v takes from libxml2's xmlParseURI
 * (its Xml.parse_uri): scheme, server, port, user and the raw query string. The remote modes
 * (vpx://, esx://, gsx://, xen+ssh://) read the server and the credentials from it.
 */
import { UserError } from "./errors.js";
import type { InputRequest } from "./modes.js";
import {
  bandwidthHelperArgs,
  bandwidthLimitOf,
  type BandwidthArguments,
  type BandwidthLimit,
} from "./remote-disks.js";

export interface LibvirtUri {
  /** The URI as given. */
  uri: string;
  /** "vpx", "xen+ssh"…, lower case; null without one. */
  scheme: string | null;
  /** The host name (an IPv6 address without its brackets); null when absent or empty. */
  server: string | null;
  /** null when absent (xmlParseURI's 0). */
  port: number | null;
  /** Percent-decoded; null when absent. */
  user: string | null;
  /** The query string as written, without "?" (not decoded); null when absent. */
  queryRaw: string | null;
  /** The path, as written. */
  path: string;
}

function unparseable(uri: string): UserError {
  return new UserError(
    `could not parse '-ic ${uri}'.  Original error message was: parse_uri: unable to parse URI`,
  );
}

/** Reads -ic; a URI that cannot be parsed gets virt-v2v's message. */
export function parseLibvirtUri(uri: string): LibvirtUri {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(uri)?.[1]?.toLowerCase() ?? null;
  if (scheme === null)
    return { uri, scheme, server: null, port: null, user: null, queryRaw: null, path: uri };
  let parsed: URL;
  try {
    parsed = new URL(uri);
  } catch {
    throw unparseable(uri);
  }
  let user: string | null = null;
  try {
    user = parsed.username === "" ? null : decodeURIComponent(parsed.username);
  } catch {
    throw unparseable(uri);
  }
  const server = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  const query = uri.indexOf("?");
  const fragment = uri.indexOf("#", query < 0 ? 0 : query);
  return {
    uri,
    scheme,
    server: server === "" ? null : server,
    port: parsed.port === "" ? null : Number(parsed.port),
    user,
    queryRaw: query < 0 ? null : uri.slice(query + 1, fragment < 0 ? undefined : fragment),
    path: parsed.pathname,
  };
}

/** virt-v2v's to_string of the -i libvirt modes: "-i libvirt -ic URI GUEST". */
export function describeLibvirtInput(
  connection: string | null | undefined,
  args: readonly string[],
): string {
  return ["-i libvirt", ...(connection ? [`-ic ${connection}`] : []), ...args].join(" ");
}

/** The -i libvirt modes' one argument: the guest's name. */
export function libvirtGuestArg(args: readonly string[]): string {
  if (args.length !== 1)
    throw new UserError("-i libvirt: expecting a libvirt guest name on the command line");
  return args[0]!;
}

/** What the remote -i libvirt helpers' prechecks take from their command lines. */
export interface RemoteLibvirtCheckOptions {
  /** The arguments after `-i libvirt`: the guest's name. */
  args: string[];
  /** -ic: the URI. */
  connection: string | null;
  /** -ip: the password file. */
  passwordFile: string | null;
  /** --bandwidth / --bandwidth-file (null: no limit). */
  bandwidth: BandwidthLimit | null;
  warn: (text: string) => void;
}

/** A remote -i libvirt helper's parsed -ic, -ip and bandwidth options, as its precheck takes them. */
export function remoteLibvirtCheckOptions(
  args: string[],
  options: { ic: string | undefined; ip: string | undefined } & BandwidthArguments,
  warn: (text: string) => void,
): RemoteLibvirtCheckOptions {
  return {
    args,
    connection: options.ic ?? null,
    passwordFile: options.ip ?? null,
    bandwidth: bandwidthLimitOf(options),
    warn,
  };
}

/**
 * The helper arguments of an -i libvirt mode (after WORKDIR): -ic, -ip, with `bandwidth` the
 * bandwidth limit, then the guest's name. No -io is allowed in these modes, as in virt-v2v 2.2.
 */
export function libvirtHelperArgs(
  request: InputRequest,
  options: { bandwidth: boolean },
): string[] {
  if (request.inputOptions.length > 0)
    throw new UserError("no -io (input options) are allowed here");
  libvirtGuestArg(request.args);
  return [
    ...(request.inputConnection === undefined ? [] : ["-ic", request.inputConnection]),
    ...(request.inputPassword ? ["-ip", request.inputPassword] : []),
    ...(options.bandwidth ? bandwidthHelperArgs(request) : []),
    "--",
    ...request.args,
  ];
}

/** The helper arguments of a remote -i libvirt mode: libvirtHelperArgs with the bandwidth limit. */
export function libvirtRemoteHelperArgs(request: InputRequest): string[] {
  return libvirtHelperArgs(request, { bandwidth: true });
}
