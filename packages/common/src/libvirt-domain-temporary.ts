// TEMPORARY until the lead's fetchDomainXml lands in @split-v2v/libvirt-domain: a stand-in with
// its announced signature, so that -i libvirt -ic vpx:// and -ic xen+ssh:// can be built and
// tested now. It reads the stand-in file only; it cannot open the -ic connection (that needs
// @split-v2v/libvirt, which common cannot depend on). When fetchDomainXml lands, the two
// helpers import it from @split-v2v/libvirt-domain and this file (and common's
// ./libvirt-domain-temporary export) goes.
import { readFile } from "node:fs/promises";
import { UserError } from "./errors.js";

/** Tests only: the guest's domain XML is read from this file instead of over the -ic connection. */
export const DOMAIN_XML_STANDIN_ENV = "SPLIT_V2V_STANDIN_DOMAIN_XML";

/** The guest's domain XML over the -ic connection (password from the file), or from the stand-in file. */
export async function fetchDomainXml(
  uri: string,
  guest: string,
  options: { passwordFile: string | null },
): Promise<string> {
  void options;
  const standin = process.env[DOMAIN_XML_STANDIN_ENV];
  if (standin !== undefined && standin !== "") return readFile(standin, "utf8");
  throw new UserError(
    `-i libvirt -ic ${uri} ${guest}: opening the libvirt connection is not wired in yet (fetchDomainXml of @split-v2v/libvirt-domain)`,
  );
}
