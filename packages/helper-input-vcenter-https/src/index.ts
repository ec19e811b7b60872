/**
 * @split-v2v/helper-input-vcenter-https: `-i libvirt -ic vpx://…` (and esx://, gsx://), a VMware
 * guest whose disks are read over HTTPS, as a helper program, and the pieces it is built from.
 */
export {
  setUpInputVcenterHttps,
  precheckInputVcenterHttps,
  type InputVcenterHttpsOptions,
  type InputVcenterHttpsCheckOptions,
  type CheckedVcenterHttps,
} from "./input-vcenter-https.js";
export {
  sslVerify,
  httpsUrlFor,
  withoutSnapshotSuffix,
  writeCurlCredentials,
  fetchHeaders,
  checkedDiskUrl,
  writeCookieScript,
  type VcenterCredentials,
  type HeadResponse,
} from "./vcenter.js";
export {
  curlDiskPlan,
  curlPluginParams,
  COOKIE_SCRIPT_RENEW_SECONDS,
  type CurlDiskOptions,
} from "./nbdkit-curl.js";

// The mode this package serves, as the supervisor's table and --describe see it.
export { inputVcenterHttpsMode } from "./mode.js";
