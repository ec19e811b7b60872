/**
 * `--mac MAC:ip:ADDR[,GW[,LEN[,NS…]]]` for Linux guests (virt-v2v 2.2 applies it to Windows
 * only; newer virt-v2v the same). The address is written for the network stack the guest uses,
 * each in its own file matched to the NIC by MAC address where the stack can match by MAC:
 *   NetworkManager: a keyfile in /etc/NetworkManager/system-connections (mode 0600);
 *   netplan: /etc/netplan/90-virt-v2v-MAC.yaml;
 *   systemd-networkd: /etc/systemd/network/05-virt-v2v-MAC.network (sorted before the guest's);
 *   ifupdown: the NIC's stanza in /etc/network/interfaces (its old `iface NAME inet …` stanza,
 *   wherever it is, is commented out), NAME being the name the guest's configuration uses for
 *   that NIC (network-names.ts pinned it), or v2v-MAC, pinned here.
 */
import type { StaticIpAddress } from "../../networks.js";
import type { ConversionContext } from "../family.js";
import { logDiff, rewriteText } from "./guest-files.js";
import { ANY_MAC, linkFileText } from "./network-names.js";

function isIpv6(address: string): boolean {
  return address.includes(":");
}

function withPrefix(ip: StaticIpAddress): string {
  return `${ip.address}/${ip.prefixLength ?? (isIpv6(ip.address) ? 64 : 24)}`;
}

function macTag(mac: string): string {
  return mac.toLowerCase().replace(/:/g, "");
}

export function networkManagerKeyfile(ip: StaticIpAddress): string {
  const family = isIpv6(ip.address) ? "ipv6" : "ipv4";
  const other = family === "ipv4" ? "ipv6" : "ipv4";
  return [
    "# Written by virt-v2v (split-v2v): --mac " + ip.mac + ":ip:…",
    "[connection]",
    `id=virt-v2v ${ip.mac.toLowerCase()}`,
    "type=ethernet",
    "autoconnect=true",
    "autoconnect-priority=100",
    "",
    "[ethernet]",
    `mac-address=${ip.mac.toUpperCase()}`,
    "",
    `[${family}]`,
    "method=manual",
    `address1=${withPrefix(ip)}${ip.gateway === null ? "" : `,${ip.gateway}`}`,
    ...(ip.nameservers.length === 0 ? [] : [`dns=${ip.nameservers.join(";")};`]),
    "",
    `[${other}]`,
    other === "ipv6" ? "method=auto" : "method=disabled",
    "",
  ].join("\n");
}

export function netplanFile(ip: StaticIpAddress): string {
  const lines = [
    "# Written by virt-v2v (split-v2v): --mac " + ip.mac + ":ip:…",
    "network:",
    "  version: 2",
    "  ethernets:",
    `    virt-v2v-${macTag(ip.mac)}:`,
    "      match:",
    `        macaddress: "${ip.mac.toLowerCase()}"`,
    "      dhcp4: false",
    `      addresses: ["${withPrefix(ip)}"]`,
  ];
  if (ip.gateway !== null) {
    lines.push("      routes:", `        - to: default`, `          via: "${ip.gateway}"`);
  }
  if (ip.nameservers.length > 0) {
    lines.push(
      "      nameservers:",
      `        addresses: [${ip.nameservers.map((ns) => `"${ns}"`).join(", ")}]`,
    );
  }
  return `${lines.join("\n")}\n`;
}

export function networkdFile(ip: StaticIpAddress): string {
  return [
    "# Written by virt-v2v (split-v2v): --mac " + ip.mac + ":ip:…",
    "[Match]",
    `MACAddress=${ip.mac.toLowerCase()}`,
    "",
    "[Network]",
    `Address=${withPrefix(ip)}`,
    ...(ip.gateway === null ? [] : [`Gateway=${ip.gateway}`]),
    ...ip.nameservers.map((ns) => `DNS=${ns}`),
    "",
  ].join("\n");
}

export function ifupdownStanza(name: string, ip: StaticIpAddress): string {
  return [
    `# Static address set by virt-v2v (split-v2v): --mac ${ip.mac}:ip:…`,
    `allow-hotplug ${name}`,
    `iface ${name} ${isIpv6(ip.address) ? "inet6" : "inet"} static`,
    `    address ${withPrefix(ip)}`,
    ...(ip.gateway === null ? [] : [`    gateway ${ip.gateway}`]),
    ...(ip.nameservers.length === 0 ? [] : [`    dns-nameservers ${ip.nameservers.join(" ")}`]),
    "",
  ].join("\n");
}

/**
 * Comments out the `iface NAME inet[6] …` stanzas of one address family (the stanza line and
 * its indented or option lines, up to the next stanza), so a new one can take their place.
 */
export function commentOutStanzas(text: string, name: string, family: "inet" | "inet6"): string {
  const stanzaStart = /^\s*(iface|auto|allow-\S+|mapping|source|source-directory)\b/;
  const ours = new RegExp(`^\\s*iface\\s+${name.replace(/[.]/g, "\\.")}\\s+${family}\\s`);
  let inside = false;
  return text
    .split("\n")
    .map((line) => {
      if (stanzaStart.test(line)) inside = ours.test(line);
      return inside && line.trim() !== "" ? `# (virt-v2v) ${line}` : line;
    })
    .join("\n");
}

/** Writes every --mac …:ip:… address for the guest's network stack(s). */
export async function applyStaticIps(
  context: ConversionContext,
  pinnedNames: ReadonlyMap<string, string>,
  driver: string,
): Promise<void> {
  const { g } = context;
  if (context.staticIps.length === 0) return;
  const hasNetworkManager =
    (await g.exists("/usr/sbin/NetworkManager")) && (await g.isDir("/etc/NetworkManager"));
  const hasNetplan = await g.isDir("/etc/netplan");
  const hasIfupdown = await g.isFile("/etc/network/interfaces");
  const hasNetworkd = await g.isDir("/etc/systemd/network");
  const write = async (path: string, text: string, what: string): Promise<void> => {
    await g.write(path, text);
    context.recordChange(path, what);
    await logDiff(context, path, "", text);
  };
  for (const ip of context.staticIps) {
    const what = `static address ${withPrefix(ip)} for the NIC with MAC ${ip.mac.toLowerCase()}`;
    let written = false;
    if (hasNetworkManager) {
      const path = `/etc/NetworkManager/system-connections/virt-v2v-${macTag(ip.mac)}.nmconnection`;
      await g.mkdirP("/etc/NetworkManager/system-connections");
      await write(path, networkManagerKeyfile(ip), what);
      await g.chmod(0o600, path);
      written = true;
    }
    if (hasNetplan) {
      await write(`/etc/netplan/90-virt-v2v-${macTag(ip.mac)}.yaml`, netplanFile(ip), what);
      written = true;
    }
    if (hasIfupdown) {
      const mac = ip.mac.toLowerCase();
      let name = pinnedNames.get(mac) ?? pinnedNames.get(ANY_MAC);
      if (name === undefined) {
        name = `v2v${macTag(ip.mac).slice(-6)}`;
        await g.mkdirP("/etc/systemd/network");
        await write(
          `/etc/systemd/network/10-virt-v2v-${name}.link`,
          linkFileText({ name, mac }, driver),
          `NIC with MAC ${mac} named ${name}`,
        );
      }
      const family = isIpv6(ip.address) ? "inet6" : "inet";
      const files = [
        "/etc/network/interfaces",
        ...(await g.globExpand("/etc/network/interfaces.d/*")),
      ];
      for (const file of files) {
        await rewriteText(
          context,
          file,
          (text) => commentOutStanzas(text, name, family),
          `the old ${family} stanza of ${name} commented out (--mac ${mac}:ip:…)`,
        );
      }
      await rewriteText(
        context,
        "/etc/network/interfaces",
        (text) => `${text.replace(/\n*$/, "\n")}\n${ifupdownStanza(name, ip)}`,
        what,
      );
      written = true;
    }
    if (!written && hasNetworkd) {
      await write(
        `/etc/systemd/network/05-virt-v2v-${macTag(ip.mac)}.network`,
        networkdFile(ip),
        what,
      );
      written = true;
    }
    if (!written) {
      context.warning(
        `--mac ${ip.mac}:ip:${ip.address}: this guest has no network configuration virt-v2v knows (NetworkManager, netplan, ifupdown, systemd-networkd); set the address in the guest after conversion`,
      );
    }
  }
}
