/**
 * Where the .vmx file is: a local (or NFS-mounted) file, or with `-it ssh` a file on an ESXi
 * host named by `ssh://[user@]host[:port]/path.vmx`; and where the disks it names are.
 */
import path from "node:path";
import { UserError, type SshLocation } from "@split-v2v/common";

export type { SshLocation } from "@split-v2v/common";

export type VmxSource =
  | { kind: "file"; file: string }
  | { kind: "ssh"; uri: string; location: SshLocation; path: string };

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/;

function parseSshUri(arg: string): URL {
  try {
    // A scheme-less "//host/path" is a URI reference with a server, as libxml2 reads it.
    return new URL(SCHEME.test(arg) ? arg : `ssh:${arg}`);
  } catch {
    throw new UserError(`remote vmx ‘${arg}’ could not be parsed as a URI`);
  }
}

function decode(component: string, arg: string): string {
  try {
    return decodeURIComponent(component);
  } catch {
    throw new UserError(`remote vmx ‘${arg}’ could not be parsed as a URI`);
  }
}

/**
 * The single argument after `-i vmx`: a file, or with `-it ssh` an ssh:// URI, checked with
 * virt-v2v's messages.
 */
export function vmxSourceOfArg(arg: string, transport: "ssh" | null): VmxSource {
  if (transport === null) return { kind: "file", file: arg };
  const scheme = SCHEME.exec(arg)?.[1];
  if (scheme !== undefined && scheme !== "ssh")
    throw new UserError("vmx URI start with ‘ssh://...’");
  if (scheme === undefined && !arg.startsWith("//"))
    throw new UserError("vmx URI remote server name omitted");
  const uri = parseSshUri(arg);
  // IPv6 literals come bracketed in URIs; libssh wants the bare address.
  const server = uri.hostname.replace(/^\[(.*)\]$/, "$1");
  if (server === "") throw new UserError("vmx URI remote server name omitted");
  const remotePath = decode(uri.pathname, arg);
  if (remotePath === "" || remotePath === "/")
    throw new UserError("vmx URI path component looks incorrect");
  const port = uri.port === "" ? null : Number(uri.port);
  return {
    kind: "ssh",
    uri: arg,
    location: {
      server,
      port: port !== null && port > 0 ? port : null,
      user: uri.username === "" ? null : decode(uri.username, arg),
    },
    path: remotePath,
  };
}

/** OCaml's Filename.concat: one slash between, none added after a trailing one. */
function concat(directory: string, file: string): string {
  return directory.endsWith("/") ? directory + file : `${directory}/${file}`;
}

/**
 * A disk's path from the fileName in the .vmx: absolute names stand, relative ones are relative to
 * the .vmx file's folder (on the local machine or on the remote host alike).
 */
export function diskPathFor(vmxPath: string, fileName: string): string {
  if (fileName.startsWith("/")) return fileName;
  const absoluteVmx = vmxPath.startsWith("/") ? vmxPath : concat(process.cwd(), vmxPath);
  return concat(path.posix.dirname(absoluteVmx), fileName);
}

/**
 * The extent that holds a VMFS disk's data: `guest.vmdk` is a small text descriptor, its data is
 * `guest-flat.vmdk`. Over SSH that file is read raw, so snapshots (which chain to other files)
 * cannot be followed.
 */
export function flatVmdkPath(diskPath: string): string {
  return diskPath.replace(/\.vmdk$/, "-flat.vmdk");
}
