/**
 * vCenter and ESXi's HTTPS file access, as virt-v2v 2.2's vCenter.ml uses it: the URL of a disk's
 * flat extent under /folder, the HEAD request that checks it exists and that the credentials
 * are right (retrying without a snapshot's -00000N suffix), and the cookie script nbdkit's curl
 * plugin runs to log in.
 *
 * The password never appears on a command line: curl reads it from a config file (`curl -K`) that
 * only this user can read, which both the HEAD request and the cookie script use. (virt-v2v 2.2's
 * script passed it as `-u user:"$(cat FILE)"`, in curl's argv.)
 */
import { chmod, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import { execa } from "execa";
import { UserError, type LibvirtUri } from "@split-v2v/common";
import { uriQuote } from "@split-v2v/libvirt-domain";

/** `[datastore] path/guest.vmdk`, as libvirt's ESX driver names a disk. */
const SOURCE_RE = /^\[(.*)\] (.*)\.vmdk$/;
/** A snapshot's descriptor, `guest-000001.vmdk`: its flat extent is still guest-flat.vmdk. */
const SNAPSHOT_RE = /^(.*)-\d{6}(\.vmdk)$/;

/** Whether curl and nbdkit check the server's certificate: not when the URI says no_verify=1. */
export function sslVerify(uri: LibvirtUri): boolean {
  // As virt-v2v: the query string as written (a quoted "no_verify%3D1" is not seen).
  return uri.queryRaw === null || !uri.queryRaw.includes("no_verify=1");
}

/**
 * The HTTPS URL of a disk: `https://server[:port]/folder/PATH-flat.vmdk?dcPath=…&dsName=…`. A
 * path that is not `[datastore] path.vmdk` is taken as the URL itself, as virt-v2v does.
 */
export function httpsUrlFor(
  datacenterPath: string,
  uri: LibvirtUri,
  server: string,
  diskPath: string,
): string {
  const match = SOURCE_RE.exec(diskPath);
  if (match === null) return diskPath;
  const [, datastore, path] = match as unknown as [string, string, string];
  const port = uri.port === null || uri.port === 443 || uri.port < 1 ? "" : `:${uri.port}`;
  // Templates ("-delta.vmdk") are not handled, as in virt-v2v.
  return `https://${server}${port}/folder/${uriQuote(path)}-flat.vmdk?dcPath=${uriQuote(datacenterPath)}&dsName=${uriQuote(datastore)}`;
}

/** The disk path without a snapshot's -00000N suffix, or null when it has none. */
export function withoutSnapshotSuffix(diskPath: string): string | null {
  const match = SNAPSHOT_RE.exec(diskPath);
  return match === null ? null : `${match[1]}${match[2]}`;
}

/** A value in curl's config file syntax: double-quoted, backslash and quote escaped. */
function curlConfigString(value: string): string {
  return `"${value.replace(/[\\"]/g, (char) => `\\${char}`).replace(/\n/g, "\\n")}"`;
}

/** A word for sh, single-quoted. */
function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** How curl logs in to the server: the user and password, or nothing. */
export interface VcenterCredentials {
  /** The curl config file (mode 0600) holding `user = "USER:PASSWORD"`, or null for none. */
  curlConfig: string | null;
  sslVerify: boolean;
}

/**
 * Writes the curl config file of the login. As virt-v2v's cookie script: the URI's user, or
 * $LOGNAME when the URI names none; the password is the first line of the -ip file.
 */
export async function writeCurlCredentials(
  uri: LibvirtUri,
  passwordFile: string | null,
  file: string,
): Promise<VcenterCredentials> {
  const verify = sslVerify(uri);
  if (passwordFile === null) {
    if (uri.user === null) return { curlConfig: null, sslVerify: verify };
    await writeFile(file, `user = ${curlConfigString(uri.user)}\n`, { mode: 0o600 });
    return { curlConfig: file, sslVerify: verify };
  }
  const password = (await readFile(passwordFile, "utf8")).split("\n")[0]!;
  const user = uri.user ?? process.env.LOGNAME ?? os.userInfo().username;
  await writeFile(file, `user = ${curlConfigString(`${user}:${password}`)}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return { curlConfig: file, sslVerify: verify };
}

export interface HeadResponse {
  /** The last "HTTP/x.y NNN" status code, as three digits. */
  status: string;
  /** What curl printed (the headers), for the log. */
  lines: string[];
}

/** curl's arguments besides the URL: never ~/.curlrc (-q), the credentials' config file. */
function curlArgs(credentials: VcenterCredentials): string[] {
  return [
    "-q",
    ...(credentials.curlConfig === null ? [] : ["-K", credentials.curlConfig]),
    ...(credentials.sslVerify ? [] : ["--insecure"]),
  ];
}

/** A HEAD request for the URL, as virt-v2v's fetch_headers_from_url makes it. */
export async function fetchHeaders(
  url: string,
  credentials: VcenterCredentials,
  log: (line: string) => void,
): Promise<HeadResponse> {
  const result = await execa("curl", [...curlArgs(credentials), "--head", "--silent", url], {
    reject: false,
    stdin: "ignore",
  });
  const lines = String(result.stdout)
    .split("\n")
    .map((line) => line.replace(/\r$/, ""));
  log(`curl --head ${url}: exit ${result.exitCode ?? "?"}`);
  // The session cookie is as good as the password while it lasts: it stays out of the log.
  for (const line of lines)
    if (line !== "") log(`curl: ${line.replace(/^(set-cookie:\s*).*/i, "$1<hidden>")}`);
  const statuses = lines.filter((line) => line.length >= 12 && line.startsWith("HTTP/"));
  const last = statuses.at(-1);
  if (last === undefined)
    throw new UserError("vcenter: no status code in output of ‘curl’ command.");
  const status = last.slice(last.indexOf(" ") + 1, last.indexOf(" ") + 4);
  return { status, lines };
}

/**
 * The disk's URL, checked: it exists (for a snapshot, the base disk's flat file) and the
 * credentials are accepted. virt-v2v's messages for 401, 404 and other statuses.
 */
export async function checkedDiskUrl(
  datacenterPath: string,
  uri: LibvirtUri,
  server: string,
  diskPath: string,
  credentials: VcenterCredentials,
  log: (line: string) => void,
): Promise<string> {
  let url = httpsUrlFor(datacenterPath, uri, server, diskPath);
  let response = await fetchHeaders(url, credentials, log);
  const base = withoutSnapshotSuffix(diskPath);
  if (response.status === "404" && base !== null) {
    url = httpsUrlFor(datacenterPath, uri, server, base);
    response = await fetchHeaders(url, credentials, log);
  }
  if (response.status === "401") {
    throw new UserError(
      uri.user !== null
        ? "vcenter: incorrect username or password"
        : "vcenter: incorrect username or password.  You might need to specify the username in the URI like this: [vpx|esx|..]://USERNAME@[etc]",
    );
  }
  if (response.status === "404") throw new UserError(`vcenter: URL not found: ${url}`);
  if (response.status !== "200")
    throw new UserError(`vcenter: invalid response from server: ${response.status}`);
  return url;
}

/**
 * The cookie script (nbdkit-curl-plugin(1), "Example: VMware ESXi cookies"): a HEAD request with
 * the credentials, printing the session cookie from Set-Cookie. nbdkit runs it at the start and
 * again before vCenter's 30-minute session expires.
 */
export async function writeCookieScript(
  file: string,
  url: string,
  credentials: VcenterCredentials,
): Promise<void> {
  const curl = ["curl", ...curlArgs(credentials), "--head", "-s", url].map(shellQuote).join(" ");
  const sed = ["sed", "-ne", "{ s/^Set-Cookie: \\([^;]*\\);.*/\\1/ip }"].map(shellQuote).join(" ");
  await writeFile(file, `#!/bin/sh -\n\n${curl} |\n\t${sed}\n`, { mode: 0o700 });
  await chmod(file, 0o700);
}
