/**
 * `-o openstack` (aliases osp, rhosp) as the supervisor's table sees it, and the checks of its
 * options that need neither the `openstack` program nor the cloud (virt-v2v 2.2's
 * Output_openstack.parse_options, in its order and words). Kept free of the helper's own
 * modules, so that the supervisor reads it without loading them.
 */
import {
  UserError,
  checkOutputAllocation,
  outputBoolean,
  outputOptionPairs,
  outputOptionArgs,
  type OutputModeDescriptor,
  type OutputRequest,
} from "@split-v2v/common";

/** The options checked and defaulted. */
export interface CheckedOpenstackOptions {
  /** -oo server-id: the conversion appliance (the VM this runs in), by name or UUID. */
  serverId: string;
  /** -oo guest-id: saved on every volume as virt_v2v_guest_id, or null. */
  guestId: string | null;
  /** -oo dev-disk-by-id: where attached volumes appear (default /dev/disk/by-id). */
  devDiskById: string;
  /** -oo verify-server-certificate (default true; false adds --insecure). */
  verifyServerCertificate: boolean;
  /** Each -oo os-KEY=VALUE as the openstack program's --os-KEY=VALUE, in the order given. */
  authentication: string[];
  /** -oc: the OpenStack authentication (Keystone) URL, passed as --os-auth-url. */
  authUrl: string | null;
  /** -os: the Cinder volume type, or null for the cloud's default. */
  volumeType: string | null;
  /** -on: the guest's name (default: the source's name). */
  name: string | undefined;
}

/** Where udev puts the links to attached volumes (2.2's default for -oo dev-disk-by-id). */
export const DEFAULT_DEV_DISK_BY_ID = "/dev/disk/by-id";

/** 2.2's `-oo ?` text for this mode (query_output_options), word for word. */
export const OPENSTACK_OPTIONS_HELP = `virt-v2v -oo server-id=<NAME|UUID> [os-*=...]

Specify the name or UUID of the conversion appliance using

  virt-v2v ... -o openstack -oo server-id=<NAME|UUID>

When virt-v2v runs it will attach the Cinder volumes to the
conversion appliance, so this name or UUID must be the name
of the virtual machine on OpenStack where virt-v2v is running.

In addition, all usual OpenStack “os-*” parameters or “OS_*”
environment variables can be used.

Openstack “--os-*” parameters must be written as “virt-v2v -oo os-*”.

For example:

  virt-v2v -oo os-username=<NAME>

                equivalent to openstack: --os-username=<NAME>
            or the environment variable: OS_USERNAME=<NAME>

  virt-v2v -oo os-project-name=<NAME>

                equivalent to openstack: --os-project-name=<NAME>
            or the environment variable: OS_PROJECT_NAME=<NAME>

The os-* parameters and environment variables are optional.
`;

/**
 * The option errors that need no `openstack` program, in 2.2's order and words: -oa and -of
 * (only sparse raw: a Cinder volume is written as a raw block device), each -oo known, then
 * server-id given. A repeated -oo takes its last value, as in 2.2.
 */
export function checkOutputOpenstackOptions(request: OutputRequest): CheckedOpenstackOptions {
  const allocation = checkOutputAllocation(request.allocation);
  if (allocation !== "sparse" || (request.format ?? "raw") !== "raw") {
    throw new UserError("-o openstack mode only supports -oa sparse -of raw");
  }
  let serverId: string | null = null;
  let guestId: string | null = null;
  let devDiskById: string | null = null;
  let verifyServerCertificate = true;
  const authentication: string[] = [];
  for (const { key, value } of outputOptionPairs(request.options)) {
    if (key === "server-id") serverId = value;
    else if (key === "dev-disk-by-id") devDiskById = value;
    else if (key === "verify-server-certificate")
      verifyServerCertificate = outputBoolean("openstack", key, value);
    else if (key === "guest-id") guestId = value;
    // Any other os-* is handed to the openstack program unchanged, as its --os-* option.
    else if (key.startsWith("os-")) authentication.push(`--${key}=${value}`);
    else throw new UserError(`-o openstack: unknown output option ‘-oo ${key}’`);
  }
  if (serverId === null) throw new UserError("openstack: -oo server-id=<NAME|UUID> not present");
  return {
    serverId,
    guestId,
    devDiskById: devDiskById ?? DEFAULT_DEV_DISK_BY_ID,
    verifyServerCertificate,
    authentication,
    authUrl: request.connection ?? null,
    volumeType: request.storage ?? null,
    name: request.name,
  };
}

/**
 * What every openstack command gets before its subcommand: the -oo os-* options, then -oc as
 * --os-auth-url, then --insecure when the server's certificate is not to be verified (2.2's
 * order). The OS_* environment variables reach the program through its environment.
 */
export function openstackGlobalArgs(checked: CheckedOpenstackOptions): string[] {
  const args = [...checked.authentication];
  if (checked.authUrl !== null) args.push(`--os-auth-url=${checked.authUrl}`);
  if (!checked.verifyServerCertificate) args.push("--insecure");
  return args;
}

/** 2.2's to_string: the server id is worth showing for diagnostics (the last one given). */
function describeOpenstack(request: OutputRequest): string {
  let serverId: string | null = null;
  for (const option of request.options) {
    if (option.startsWith("server-id=")) serverId = option.slice("server-id=".length);
  }
  return serverId === null ? "-o openstack" : `-o openstack -oo server-id=${serverId}`;
}

export const outputOpenstackMode: OutputModeDescriptor = {
  kind: "output",
  name: "openstack",
  aliases: ["osp", "rhosp"],
  program: "helper-v2v-output-openstack",
  helperPackage: "@split-v2v/helper-output-openstack",
  summary:
    "Cinder volumes on OpenStack, written from the conversion appliance (a VM in the cloud) with the openstack program",
  usage:
    "-o openstack -oo server-id=NAME|UUID [-oo guest-id=ID] [-oo verify-server-certificate=false] [-oo dev-disk-by-id=DIR] [-oo os-*=…] [-oc AUTH-URL] [-os VOLUME-TYPE] [-on NAME]",
  options: [
    {
      name: "server-id",
      value: "NAME|UUID",
      help: "The conversion appliance: the OpenStack VM virt-v2v runs in (required)",
    },
    {
      name: "guest-id",
      value: "ID",
      help: "Saved on each volume as the virt_v2v_guest_id property",
    },
    {
      name: "verify-server-certificate",
      value: "true|false",
      help: "Verify the API endpoints' certificates (default: true; false: --insecure)",
    },
    {
      name: "dev-disk-by-id",
      value: "DIR",
      help: "Where attached volumes appear (default: /dev/disk/by-id)",
    },
    {
      name: "os-*",
      value: "VALUE",
      help: "Any openstack --os-* option (os-username=NAME: --os-username=NAME)",
    },
  ],
  optionsHelp: OPENSTACK_OPTIONS_HELP,
  capabilities: ["output:openstack"],
  stages: ["precheck", "setup", "final"],
  // The target is an attached Cinder volume, a block device whose old contents no one promises
  // to be zeroes (2.2 only asks for a best-effort discard), so the copy writes the zeroes too.
  targetIsZero: false,
  helperArgs(request) {
    checkOutputOpenstackOptions(request);
    return outputOptionArgs(request);
  },
  description: describeOpenstack,
};
