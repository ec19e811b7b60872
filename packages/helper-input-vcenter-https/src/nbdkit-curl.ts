/**
 * nbdkit's curl plugin on a vCenter disk URL, as virt-v2v 2.2's Nbdkit_curl.create_curl builds
 * it: the URL, a long timeout (RHBZ#1146007), the cookie script and how often to run it again,
 * sslverify=false for a no_verify=1 URI; retry and cacheextents under the overlay, rate above it
 * (@split-v2v/common's remoteDiskPlan).
 */
import { remoteDiskPlan, type BandwidthLimit, type InputDiskPlan } from "@split-v2v/common";

/** vCenter's session lasts 30 minutes: the cookie is fetched again after 25. */
export const COOKIE_SCRIPT_RENEW_SECONDS = 25 * 60;

export interface CurlDiskOptions {
  url: string;
  cookieScript: string;
  sslVerify: boolean;
  /** The work dir's `convert` marker, for the overlay's cow-on-read. */
  cowOnReadMarker: string;
  bandwidth: BandwidthLimit | null;
}

/** The curl plugin's parameters, in virt-v2v's order. */
export function curlPluginParams(options: CurlDiskOptions): Array<[string, string]> {
  return [
    ["url", options.url],
    ["timeout", "2000"],
    ["cookie-script", options.cookieScript],
    ["cookie-script-renew", String(COOKIE_SCRIPT_RENEW_SECONDS)],
    ...(options.sslVerify ? [] : [["sslverify", "false"] as [string, string]]),
  ];
}

/** How one vCenter disk is served. */
export function curlDiskPlan(options: CurlDiskOptions): InputDiskPlan {
  return remoteDiskPlan(
    "curl",
    curlPluginParams(options),
    options.cowOnReadMarker,
    options.bandwidth,
  );
}
