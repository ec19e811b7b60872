/**
 * `-i libvirt -ic vpx://… -it vddk` as the supervisor's table sees it (virt-v2v's input_vddk),
 * and the checks of its options, shared by the supervisor (helperArgs, before anything starts)
 * and the helper's precheck. Kept free of the helper's own modules, so that the supervisor reads
 * it without loading them.
 */
import { UserError, bandwidthHelperArgs, type InputModeDescriptor } from "@split-v2v/common";

/**
 * The `-io vddk-KEY=VALUE` keys (without "vddk-"): virt-v2v 2.2's eight, and newer virt-v2v's
 * compression (the VDDK transfer compression) and file (the file= of each disk, overriding the
 * datastore path the guest's XML gives).
 */
export const VDDK_OPTION_KEYS = [
  "compression",
  "config",
  "cookie",
  "file",
  "libdir",
  "nfchostport",
  "port",
  "snapshot",
  "thumbprint",
  "transports",
] as const;

export type VddkOptionKey = (typeof VDDK_OPTION_KEYS)[number];

/** The -io vddk-* options, checked. */
export interface VddkOptions {
  compression: string | null;
  config: string | null;
  cookie: string | null;
  /** -io vddk-file, in order: one per guest disk, or none. */
  files: string[];
  libdir: string | null;
  nfchostport: string | null;
  port: string | null;
  snapshot: string | null;
  /** null: the helper asks the server for its certificate's SHA1 fingerprint (newer virt-v2v). */
  thumbprint: string | null;
  transports: string | null;
}

/** The compression modes nbdkit's vddk plugin (and VDDK) know. */
const COMPRESSIONS = ["none", "zlib", "fastlz", "skipz"];

/** A SHA1 fingerprint as VDDK wants it: 20 bytes in hex, separated by colons. */
const THUMBPRINT = /^[0-9a-f]{2}(:[0-9a-f]{2}){19}$/i;

export function checkThumbprint(thumbprint: string): string {
  if (!THUMBPRINT.test(thumbprint)) {
    throw new UserError(
      `-io vddk-thumbprint=${thumbprint}: not an SSL thumbprint; it is the SHA1 fingerprint of the server's certificate, 20 hexadecimal bytes separated by colons (xx:xx:…:xx). To find it, see the nbdkit-vddk-plugin(1) manual`,
    );
  }
  return thumbprint;
}

/**
 * Splits and checks the -io values as virt-v2v does: only vddk-* keys it knows, each once
 * (except vddk-file, given once per disk), values in the form VDDK takes.
 */
export function parseVddkOptions(values: readonly string[]): VddkOptions {
  const options: VddkOptions = {
    compression: null,
    config: null,
    cookie: null,
    files: [],
    libdir: null,
    nfchostport: null,
    port: null,
    snapshot: null,
    thumbprint: null,
    transports: null,
  };
  const seen = new Set<string>();
  for (const value of values) {
    // virt-v2v splits at the first "=": a key without one has the empty value.
    const separator = value.indexOf("=");
    const key = separator < 0 ? value : value.slice(0, separator);
    const optionValue = separator < 0 ? "" : value.slice(separator + 1);
    const name = key.startsWith("vddk-") ? key.slice("vddk-".length) : null;
    if (name === null || !(VDDK_OPTION_KEYS as readonly string[]).includes(name))
      throw new UserError(`-it vddk: ‘-io ${key}’ is not a valid input option`);
    const vddkKey = name as VddkOptionKey;
    if (vddkKey === "file") {
      options.files.push(optionValue);
      continue;
    }
    if (seen.has(vddkKey))
      throw new UserError("-it vddk: duplicate -io options on the command line");
    seen.add(vddkKey);
    options[vddkKey] = optionValue;
  }
  if (options.thumbprint !== null) checkThumbprint(options.thumbprint);
  if (options.compression !== null && !COMPRESSIONS.includes(options.compression)) {
    throw new UserError(
      `-io vddk-compression=${options.compression}: unknown compression; VDDK knows ${COMPRESSIONS.join(", ")}`,
    );
  }
  if (options.port !== null && !/^[0-9]+$/.test(options.port))
    throw new UserError(`-io vddk-port=${options.port}: expected a port number`);
  return options;
}

/** The vCenter or ESXi server and the user, from -ic (vpx://USER@SERVER/DATACENTER/…). */
export interface VcenterAccess {
  /** The -ic URI as given (libvirt opens it). */
  uri: string;
  server: string;
  /** The URI's user, unescaped (DOMAIN%5cuser is DOMAIN\user); virt-v2v assumes root. */
  user: string;
}

export function vcenterAccessOf(uri: string): VcenterAccess {
  let parsed: URL;
  try {
    parsed = new URL(uri);
  } catch (err: unknown) {
    throw new UserError(
      `could not parse '-ic ${uri}'.  Original error message was: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  // IPv6 literals come bracketed; VDDK takes the bare address.
  const server = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  if (server === "") throw new UserError(`‘-ic ${uri}’ URL does not contain a host name field`);
  const user = parsed.username === "" ? "root" : decodeURIComponent(parsed.username);
  return { uri, server, user };
}

/**
 * Every check of the request that needs nothing but the command line, in virt-v2v's order: the
 * -io options, one guest name, -ic with a host. Also -ip: virt-v2v asks for the password on the
 * terminal when it is missing, which a helper (whose terminal is the supervisor's log) cannot.
 */
export function checkVddkRequest(request: {
  args: readonly string[];
  inputConnection: string | null | undefined;
  inputPassword: string | null | undefined;
  inputOptions: readonly string[];
}): { guest: string; access: VcenterAccess; options: VddkOptions; passwordFile: string } {
  const options = parseVddkOptions(request.inputOptions);
  if (request.args.length !== 1)
    throw new UserError("-i libvirt: expecting a libvirt guest name on the command line");
  if (request.inputConnection === undefined || request.inputConnection === null)
    throw new UserError("-i libvirt: expecting -ic parameter for vcenter connection");
  const access = vcenterAccessOf(request.inputConnection);
  if (request.inputPassword === undefined || request.inputPassword === null) {
    throw new UserError(
      `-it vddk: the password of ‘${access.user}’ on ${access.server} is needed: write it to a file and give -ip FILE (split-v2v does not ask for it on the terminal)`,
    );
  }
  return { guest: request.args[0]!, access, options, passwordFile: request.inputPassword };
}

/** What `-io ?` prints: newer virt-v2v's list (2.2's eight and vddk-compression, vddk-file). */
const VDDK_OPTIONS_HELP = `Input options (-io) which can be used with -it vddk
(all settings are optional):

  -io vddk-compression=COMPR   Set VDDK compression mode (see
                                 nbdkit-vddk-plugin documentation)
  -io vddk-config=FILE         VDDK configuration file
  -io vddk-cookie=COOKIE       VDDK cookie
  -io vddk-file=FILE           Override nbdkit-vddk-plugin file= parameter
  -io vddk-libdir=LIBDIR       VDDK library parent directory
  -io vddk-nfchostport=PORT    VDDK nfchostport
  -io vddk-port=PORT           VDDK port
  -io vddk-snapshot=SNAPSHOT-MOREF
                               VDDK snapshot moref
  -io vddk-thumbprint=xx:xx:xx:...
                               VDDK server thumbprint (found by asking the
                                 server when not given)
  -io vddk-transports=MODE:MODE:..
                               VDDK transports

Refer to nbdkit-vddk-plugin(1) and the VDDK documentation for further
information on these settings.
`;

export const inputVddkMode: InputModeDescriptor = {
  kind: "input",
  name: "libvirt",
  aliases: [],
  program: "helper-v2v-input-vddk",
  helperPackage: "@split-v2v/helper-input-vddk",
  summary:
    "a guest on VMware vCenter or ESXi, its disks read with VMware's VDDK (nbdkit's vddk plugin)",
  usage:
    "-i libvirt -ic vpx://USER@VCENTER/DATACENTER/…|esx://USER@ESXI -it vddk -ip PASSWORD-FILE [-io vddk-…] GUEST",
  options: [
    { name: "vddk-compression", value: "COMPR", help: "Set VDDK compression mode" },
    { name: "vddk-config", value: "FILE", help: "VDDK configuration file" },
    { name: "vddk-cookie", value: "COOKIE", help: "VDDK cookie" },
    { name: "vddk-file", value: "FILE", help: "Override nbdkit-vddk-plugin file= parameter" },
    { name: "vddk-libdir", value: "LIBDIR", help: "VDDK library parent directory" },
    { name: "vddk-nfchostport", value: "PORT", help: "VDDK nfchostport" },
    { name: "vddk-port", value: "PORT", help: "VDDK port" },
    { name: "vddk-snapshot", value: "SNAPSHOT-MOREF", help: "VDDK snapshot moref" },
    { name: "vddk-thumbprint", value: "xx:xx:xx:...", help: "VDDK server thumbprint" },
    { name: "vddk-transports", value: "MODE:MODE:..", help: "VDDK transports" },
  ],
  optionsHelp: VDDK_OPTIONS_HELP,
  transports: ["vddk"],
  connectionSchemes: ["vpx", "esx", "gsx"],
  bandwidth: true,
  // virt-v2v's "input:libvirt" line is the local -i libvirt mode's.
  // virt-v2v 2.2 names this mode among its features, before the -i/-o lines.
  capabilities: ["vddk"],
  helperArgs(request) {
    const checked = checkVddkRequest(request);
    return [
      "-ic",
      checked.access.uri,
      // The password file's name only: the helper gives nbdkit password=+FILE.
      "-ip",
      checked.passwordFile,
      ...request.inputOptions.flatMap((option) => ["-io", option]),
      ...bandwidthHelperArgs(request),
      "--",
      checked.guest,
    ];
  },
  // virt-v2v's to_string: "-i libvirt -ic URI -it vddk GUEST".
  description: (request) =>
    [
      "-i libvirt",
      ...(request.inputConnection === undefined ? [] : [`-ic ${request.inputConnection}`]),
      "-it vddk",
      ...request.args,
    ].join(" "),
};
