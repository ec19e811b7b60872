/**
 * @split-v2v/libvirt-domain: libvirt domain XML read as virt-v2v 2.2 reads it, for -i libvirtxml
 * and -i libvirt, and how each of its disks is served.
 */
export {
  parseDomainXml,
  type DomainDisk,
  type DomainDiskSource,
  type ParsedDomain,
  type ParseDomainOptions,
  type VolumeXmlReader,
} from "./domain-xml.js";
export {
  domainDiskPlan,
  domainDiskLocation,
  CURL_OPTIONAL_FILTERS,
  type DomainDiskPlanOptions,
} from "./disk-plan.js";
export { driveIndex, uriQuote } from "./names.js";
export { checkLocalDomainDisks, serveDomain, type ServeDomainOptions } from "./serve-domain.js";
export {
  DOMAIN_XML_STANDIN_ENV,
  domainXmlOf,
  fetchDomainXml,
  fetchRemoteDomain,
  libvirtVolumeReader,
  openLibvirt,
} from "./fetch.js";
