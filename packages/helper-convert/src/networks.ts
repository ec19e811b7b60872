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
  const parsedMacs = macs.flatMap((value) => {
    const match = /^((?:[0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}):(network|bridge|ip):(.*)$/.exec(value);
    if (!match) throw new UserError(`cannot parse --mac "${value}" parameter`);
    if (match[2] === "ip") return []; // static IPs are written into Windows guests by their converter
    return [
      { mac: match[1]!.toLowerCase(), type: match[2] as "network" | "bridge", to: match[3]! },
    ];
  });
  return { networks: parse(networks, "-n"), bridges: parse(bridges, "-b"), macs: parsedMacs };
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
