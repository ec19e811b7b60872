/**
 * --network / --bridge / --mac: how the source's NICs map onto the target's networks
 * (virt-v2v's networks.ml).
 */
import { UserError } from "@split-v2v/common";
import type { SourceNic } from "@split-v2v/metadata-schema";

export interface NetworkMapping {
  /** -n in:out or -n out (in = null: the default for every network). */
  networks: Array<{ from: string | null; to: string }>;
  /** -b in:out or -b out. */
  bridges: Array<{ from: string | null; to: string }>;
  /** --mac MAC:network:OUT / --mac MAC:bridge:OUT */
  macs: Array<{ mac: string; type: "network" | "bridge"; to: string }>;
  /** --mac MAC:ip:ADDR[,GW[,LEN[,NS,…]]] (written into Windows guests by their converter). */
  staticIps: StaticIpAddress[];
}

/** One --mac MAC:ip:… option: a static address for the NIC with that MAC. */
export interface StaticIpAddress {
  mac: string;
  address: string;
  gateway: string | null;
  prefixLength: number | null;
  nameservers: string[];
}

/** virt-v2v's sanity check: an address starts with hex digits, ':' or '.' (v4 or v6). */
function checkIpAddress(what: string, address: string): void {
  if (!/^[0-9A-Fa-f:.]/.test(address))
    throw new UserError(
      `cannot parse --mac ip ${what}: doesn’t look like “${address}” is an IP address`,
    );
}

/** ADDR[,GW[,LEN[,NS,…]]], as virt-v2v 2.2 parses it. */
export function parseStaticIp(mac: string, value: string): StaticIpAddress {
  const [address = "", gateway, length, ...nameservers] = value.split(",");
  checkIpAddress("ipaddr", address);
  if (gateway !== undefined) checkIpAddress("gw", gateway);
  for (const nameserver of nameservers) checkIpAddress("nameserver", nameserver);
  let prefixLength: number | null = null;
  if (length !== undefined) {
    if (!/^[+-]?\d+$/.test(length))
      throw new UserError(`cannot parse --mac ip prefix length field as an integer: ${length}`);
    prefixLength = Number(length);
    if (prefixLength < 0 || prefixLength > 128)
      throw new UserError("--mac ip prefix length field is out of range");
  }
  return { mac, address, gateway: gateway ?? null, prefixLength, nameservers };
}

export function parseNetworkMapping(
  networks: string[],
  bridges: string[],
  macs: string[],
): NetworkMapping {
  const parse = (values: string[], option: string) => {
    const seen = new Set<string>();
    return values.map((value) => {
      const colon = value.indexOf(":");
      const from = colon < 0 ? null : value.slice(0, colon);
      const to = colon < 0 ? value : value.slice(colon + 1);
      const key = from ?? "";
      if (seen.has(key)) {
        throw new UserError(
          from === null
            ? `duplicate ${option} parameter.  Only one default mapping is allowed.`
            : `duplicate ${option} parameter.  Duplicate mappings specified for ${option === "-n" ? "network" : "bridge"} ${from}.`,
        );
      }
      seen.add(key);
      return { from, to };
    });
  };
  const staticIps: StaticIpAddress[] = [];
  const parsedMacs = macs.flatMap((value) => {
    const match = /^((?:[0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}):(network|bridge|ip):(.*)$/.exec(value);
    if (!match) throw new UserError(`cannot parse --mac "${value}" parameter`);
    if (match[2] === "ip") {
      staticIps.push(parseStaticIp(match[1]!, match[3]!));
      return [];
    }
    return [
      { mac: match[1]!.toLowerCase(), type: match[2] as "network" | "bridge", to: match[3]! },
    ];
  });
  return {
    networks: parse(networks, "-n"),
    bridges: parse(bridges, "-b"),
    macs: parsedMacs,
    staticIps,
  };
}

export function mapNetworks(nics: readonly SourceNic[], mapping: NetworkMapping): SourceNic[] {
  return nics.map((nic) => {
    const byMac =
      nic.mac === null ? undefined : mapping.macs.find((m) => m.mac === nic.mac!.toLowerCase());
    if (byMac) return { ...nic, networkType: byMac.type, network: byMac.to };
    const table = nic.networkType === "network" ? mapping.networks : mapping.bridges;
    const specific = table.find((m) => m.from === nic.network);
    const fallback = table.find((m) => m.from === null);
    const target = specific ?? fallback;
    return target ? { ...nic, network: target.to } : { ...nic };
  });
}
