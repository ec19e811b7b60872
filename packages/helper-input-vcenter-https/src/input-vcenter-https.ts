/**
 * -i libvirt -ic vpx://… (esx://, gsx://) over HTTPS: a guest of VMware vCenter or ESXi. Its
 * description comes from libvirt's ESX driver (the domain XML); each disk, `[datastore] path.vmdk`
 * there, is read from the server's /folder URL by nbdkit's curl plugin and served on WORKDIR/inN
 * through a copy-on-write overlay (virt-v2v 2.2's input_vcenter_https.ml, vCenter.ml and
 * nbdkit_curl.ml). The plans here read the disks as they are; serveInputDisks adds the overlay.
 */
import { mkdir, rm } from "node:fs/promises";
import path from "node:path";
import {
  UserError,
  checkPasswordFile,
  describeLibvirtInput,
  libvirtGuestArg,
  markerPath,
  onCleanup,
  parseLibvirtUri,
  serverTmpDir,
  type BandwidthLimit,
  type InputDiskPlan,
  type LibvirtUri,
} from "@split-v2v/common";
import { fetchRemoteDomain, serveDomain } from "@split-v2v/libvirt-domain";
import type { MetadataIn } from "@split-v2v/metadata-schema";
import { curlDiskPlan } from "./nbdkit-curl.js";
import {
  checkedDiskUrl,
  sslVerify,
  writeCookieScript,
  writeCurlCredentials,
  type VcenterCredentials,
} from "./vcenter.js";

export interface InputVcenterHttpsCheckOptions {
  /** The arguments after `-i libvirt`: the guest's name. */
  args: string[];
  /** -ic: the vpx://, esx:// or gsx:// URI. */
  connection: string | null;
  /** -ip: the password of the URI's user (required in this mode). */
  passwordFile: string | null;
  /** --bandwidth / --bandwidth-file (null: no limit). */
  bandwidth: BandwidthLimit | null;
  warn: (text: string) => void;
}

export interface InputVcenterHttpsOptions extends InputVcenterHttpsCheckOptions {
  workdir: string;
  /** Serve through an overlay (the default). In-place is refused, as by virt-v2v. */
  overlay?: boolean;
  verbose: boolean;
  log: (line: string) => void;
}

export interface CheckedVcenterHttps {
  guest: string;
  uri: LibvirtUri;
  server: string;
  passwordFile: string;
}

/**
 * Every check that needs no connection: the guest's name, -ip (required: RHBZ#1960087) and its
 * file, the -ic URI with a server in it. Starts nothing, writes nothing.
 */
export async function precheckInputVcenterHttps(
  options: InputVcenterHttpsCheckOptions,
): Promise<CheckedVcenterHttps> {
  const guest = libvirtGuestArg(options.args);
  if (options.passwordFile === null)
    throw new UserError("-i libvirt: expecting -ip passwordfile parameter for vCenter connection");
  if (options.connection === null)
    throw new UserError("-i libvirt: expecting -ic parameter for vcenter connection");
  const uri = parseLibvirtUri(options.connection);
  if (uri.server === null)
    throw new UserError("-i libvirt: expecting -ic parameter to contain vcenter server name");
  await checkPasswordFile(options.passwordFile);
  return { guest, uri, server: uri.server, passwordFile: options.passwordFile };
}

/**
 * vCenter is slow enough without a proxy in the way (RHBZ#1354507): curl, its cookie script and
 * nbdkit (which inherit this process's environment) go to the server directly.
 */
function unsetProxyVariables(): void {
  for (const name of [
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
  ])
    delete process.env[name];
}

interface PlannedDisk {
  plan: InputDiskPlan;
  url: string;
}

/** Serves the guest's disks on WORKDIR/in0… and writes metadata.in (prechecks first if needed). */
export async function setUpInputVcenterHttps(
  options: InputVcenterHttpsOptions,
  checked?: CheckedVcenterHttps,
): Promise<{ sockets: string[]; metadata: MetadataIn }> {
  if (options.overlay === false)
    throw new UserError("in-place mode does not work with HTTP source");
  const found = checked ?? (await precheckInputVcenterHttps(options));
  unsetProxyVariables();

  // libvirt's ESX driver names every disk as a file "[datastore] path", never a pool volume.
  const domain = await fetchRemoteDomain(found.uri.uri, found.guest, {
    passwordFile: found.passwordFile,
    warn: options.warn,
  });
  const datacenterPath = domain.vmware.datacenterPath;
  if (datacenterPath === null)
    throw new UserError(
      "vcenter: <vmware:datacenterpath> was not found in the XML.  You need to upgrade to libvirt ≥ 1.2.20.",
    );

  // The credentials live in files of the work dir's server tmp dir (mode 0700), removed at exit.
  const tmpDir = serverTmpDir(options.workdir);
  await mkdir(tmpDir, { recursive: true, mode: 0o700 });
  const credentialsFile = path.resolve(tmpDir, "vcenter-curl.conf");
  onCleanup("vCenter credentials", () => rm(credentialsFile, { force: true }));
  const login = await writeCurlCredentials(found.uri, found.passwordFile, credentialsFile);
  // As virt-v2v's HEAD request: without a user in the URI, the password is not sent.
  let probe: VcenterCredentials = login;
  if (found.uri.user === null) {
    options.warn("-ip PASSWORD_FILE parameter ignored because 'user@' was not given in the URL");
    probe = { curlConfig: null, sslVerify: sslVerify(found.uri) };
  }

  const marker = markerPath(options.workdir, "convert");
  // Every disk is checked (HEAD) before any server starts: a missing one fails in seconds.
  const planned: PlannedDisk[] = [];
  for (const [index, disk] of domain.disks.entries()) {
    if (disk.source.kind !== "file")
      // libvirt's ESX driver reports every disk as a file "[datastore] path".
      throw new Error(`a vCenter guest's disk of kind ${disk.source.kind}`);
    const url = await checkedDiskUrl(
      datacenterPath,
      found.uri,
      found.server,
      disk.source.path,
      probe,
      options.log,
    );
    const cookieScript = path.resolve(tmpDir, `vcenter-cookie${index}.sh`);
    onCleanup(`cookie script ${index}`, () => rm(cookieScript, { force: true }));
    await writeCookieScript(cookieScript, url, login);
    planned.push({
      url,
      plan: curlDiskPlan({
        url,
        cookieScript,
        sslVerify: login.sslVerify,
        cowOnReadMarker: marker,
        bandwidth: options.bandwidth,
      }),
    });
  }

  return serveDomain(domain, {
    mode: "libvirt",
    description: describeLibvirtInput(found.uri.uri, options.args),
    workdir: options.workdir,
    verbose: options.verbose,
    log: options.log,
    planDisk: (_disk, index) => planned[index]!.plan,
    // nbdkit serves the flat extent's bytes: a raw disk.
    diskFormat: () => "raw",
    diskLocation: (_disk, index) => planned[index]!.url,
  });
}
