/**
 * Keeping the guest's network configuration working on the new NIC.
 *
 * A guest installed on VMware names its vmxnet3 NIC by its PCI slot there (ens160, ens192,
 * ens224…), and its configuration (ifupdown, NetworkManager, ifcfg, netplan, systemd-networkd)
 * says that name. On KVM the virtio NIC sits in another slot and gets another name (ens3,
 * enp1s0), so the configuration no longer applies and the guest comes up without an address:
 * virt-v2v 2.2 leaves it so. Here every name the configuration uses is pinned to the NIC that
 * takes its place, matched by MAC address (virt-v2v keeps each NIC's MAC), with a systemd
 * `.link` file where the guest's udev is systemd's, or a udev rule on older guests. No
 * configuration file is rewritten: what the guest's administrator wrote (static addresses,
 * routes, VLANs and bonds on top) stays exactly as it was, and applies again.
 *
 * Names in the kernel's own namespace (eth0…) are pinned only when the configuration names one
 * and nothing else: a guest configured with them names its NICs that way already
 * (net.ifnames=0, or udev's persistent rules by MAC, which a new MAC would no longer match), and
 * renaming several into that namespace races with the kernel.
 */
import type { GuestCaps, SourceGuest } from "@split-v2v/metadata-schema";
import type { ConversionContext } from "../family.js";

/** A guest file holding network configuration, and its text. */
export interface NetworkConfigFile {
  path: string;
  text: string;
}

/** The globs of the network configuration files each network stack reads. */
const CONFIG_GLOBS = [
  "/etc/network/interfaces",
  "/etc/network/interfaces.d/*",
  "/etc/NetworkManager/system-connections/*",
  "/etc/sysconfig/network-scripts/ifcfg-*",
  "/etc/sysconfig/network/ifcfg-*",
  "/etc/netplan/*.yaml",
  "/etc/systemd/network/*.network",
];

/** Names a NIC gets from udev's predictable naming, the ones to carry over. */
const PREDICTABLE_NAME = /^(en[a-z0-9]+|em\d+|p\d+p\d+(_\d+)?)$/;
/** The kernel's own names (net.ifnames=0, or udev's old persistent rules). */
const KERNEL_NAME = /^eth\d+$/;

/** The physical interface behind a name: "ens192:1" (alias) and "ens192.100" (VLAN) are ens192. */
function baseInterface(name: string): string {
  return name.split(/[:.@]/)[0] ?? name;
}

function ifupdownNames(text: string): string[] {
  const names: string[] = [];
  for (const line of text.split("\n")) {
    const words = line.replace(/#.*/, "").trim().split(/\s+/);
    const [keyword, ...rest] = words;
    if (keyword === "iface" && rest[0] !== undefined) names.push(rest[0]);
    else if (keyword === "auto" || keyword?.startsWith("allow-")) names.push(...rest);
  }
  return names;
}

/** key=value lines (NetworkManager keyfiles, ifcfg, networkd), values unquoted. */
function keyValues(text: string, key: string): string[] {
  const values: string[] = [];
  const pattern = new RegExp(`^\\s*${key}\\s*=\\s*(.*?)\\s*$`);
  for (const line of text.split("\n")) {
    const match = pattern.exec(line);
    if (match?.[1] !== undefined) values.push(match[1].replace(/^(["'])(.*)\1$/, "$2"));
  }
  return values;
}

/**
 * netplan's `ethernets:` entries that name a device: an entry with a `match:` picks its device
 * by other properties (a MAC, a driver), so its id is only a label.
 */
function netplanNames(text: string): string[] {
  const lines = text.split("\n").map((line) => line.replace(/\s+#.*$/, ""));
  const names: string[] = [];
  for (let index = 0; index < lines.length; index++) {
    const section = /^(\s*)ethernets:\s*$/.exec(lines[index] ?? "");
    if (section === null) continue;
    const sectionIndent = section[1]?.length ?? 0;
    let entryIndent: number | null = null;
    let current: { name: string; matched: boolean } | null = null;
    const finish = (): void => {
      if (current !== null && !current.matched) names.push(current.name);
    };
    for (index++; index < lines.length; index++) {
      const line = lines[index] ?? "";
      if (line.trim() === "") continue;
      const indent = /^\s*/.exec(line)?.[0].length ?? 0;
      if (indent <= sectionIndent) {
        index--;
        break;
      }
      entryIndent ??= indent;
      const entry = /^\s*["']?([A-Za-z0-9_.:@-]+)["']?:\s*$/.exec(line);
      if (indent === entryIndent && entry?.[1] !== undefined) {
        finish();
        current = { name: entry[1], matched: false };
      } else if (current !== null && /^\s*match:/.test(line)) {
        current.matched = true;
      }
    }
    finish();
  }
  return names;
}

/** The interface names one configuration file refers to (as written, before filtering). */
function namesInFile(file: NetworkConfigFile): string[] {
  const { path, text } = file;
  if (path.startsWith("/etc/network/")) return ifupdownNames(text);
  if (path.startsWith("/etc/NetworkManager/")) return keyValues(text, "interface-name");
  if (path.includes("/ifcfg-")) return keyValues(text, "DEVICE");
  if (path.startsWith("/etc/netplan/")) return netplanNames(text);
  if (path.endsWith(".network")) {
    return keyValues(text, "Name").flatMap((value) => value.split(/\s+/));
  }
  return [];
}

/**
 * The predictable NIC names the guest's network configuration refers to, in the order udev
 * gives them on one bus (ens160 < ens192 < ens224), each once.
 */
export function configuredInterfaceNames(files: readonly NetworkConfigFile[]): string[] {
  const names = new Set<string>();
  const kernelNames = new Set<string>();
  for (const file of files) {
    for (const written of namesInFile(file)) {
      const name = baseInterface(written);
      if (PREDICTABLE_NAME.test(name)) names.add(name);
      else if (KERNEL_NAME.test(name)) kernelNames.add(name);
    }
  }
  // A lone ethN is safe to pin (the kernel gives a lone NIC that name anyway, and udev keeps
  // it instead of a predictable one); several could swap with the kernel's own names.
  if (names.size === 0 && kernelNames.size === 1) return [...kernelNames];
  return [...names].sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
}

/** How a pinned name finds its NIC on KVM: by MAC, or (one NIC without a MAC) by its driver. */
export interface PinnedName {
  name: string;
  mac: string | null;
}

/**
 * Pairs the configured names with the source's NICs, both in order (on VMware the first NIC,
 * ethernet0, has the lowest PCI slot and so the lowest ensN). A single NIC without a MAC (a
 * plain disk image as the source) is matched by its driver instead. The rest is warned about.
 */
export function pinNames(
  names: readonly string[],
  nics: SourceGuest["nics"],
): { pinned: PinnedName[]; unpaired: string[] } {
  if (names.length === 1 && nics.length === 1 && nics[0]?.mac === null) {
    return { pinned: [{ name: names[0]!, mac: null }], unpaired: [] };
  }
  const macs = nics.map((nic) => nic.mac).filter((mac): mac is string => mac !== null);
  const pinned = names
    .slice(0, macs.length)
    .map((name, index) => ({ name, mac: macs[index]!.toLowerCase() }));
  return { pinned, unpaired: names.slice(macs.length) };
}

/** The kernel driver of the target's NIC model, which a `.link` file can match. */
export function netDriver(netBus: GuestCaps["netBus"]): string {
  return netBus === "virtio-net" ? "virtio_net" : netBus === "e1000" ? "e1000" : "8139cp 8139too";
}

/** A systemd `.link` file that gives `pin.name` to the NIC with its MAC (and the target's driver). */
export function linkFileText(pin: PinnedName, driver: string): string {
  return [
    "# Written by virt-v2v (split-v2v) when this guest was converted to run on KVM: its network",
    `# configuration names ${pin.name}, its NIC's name before the conversion; the NIC that took`,
    "# its place keeps that name. (Driver= keeps VLANs and bonds, which share the MAC, out.)",
    "[Match]",
    ...(pin.mac === null ? [] : [`MACAddress=${pin.mac}`]),
    `Driver=${driver}`,
    "",
    "[Link]",
    `Name=${pin.name}`,
    "",
  ].join("\n");
}

/** The udev rule that does the same on guests whose udev is not systemd's. */
export function udevRuleLine(pin: PinnedName, driver: string): string {
  const match =
    pin.mac === null
      ? `DRIVERS=="${driver.split(" ")[0]}"`
      : `DRIVERS=="?*", ATTR{address}=="${pin.mac}"`;
  return `SUBSYSTEM=="net", ACTION=="add", ${match}, ATTR{type}=="1", NAME="${pin.name}"`;
}

const UDEV_RULES_FILE = "/etc/udev/rules.d/70-virt-v2v-net-names.rules";

async function readConfigFiles(context: ConversionContext): Promise<NetworkConfigFile[]> {
  const { g } = context;
  const files: NetworkConfigFile[] = [];
  for (const glob of CONFIG_GLOBS) {
    for (const path of await g.globExpand(glob)) {
      if (!(await g.isFile(path))) continue;
      files.push({ path, text: (await g.readFile(path)).toString("utf8") });
    }
  }
  return files;
}

async function hasSystemdUdev(context: ConversionContext): Promise<boolean> {
  for (const path of [
    "/lib/systemd/systemd-udevd",
    "/usr/lib/systemd/systemd-udevd",
    "/usr/lib/systemd/systemd-networkd",
  ]) {
    if (await context.g.isFile(path)) return true;
  }
  return false;
}

/**
 * Pins every NIC name the guest's configuration uses to the NIC that replaces it; resolves to
 * the names pinned (MAC → name; ANY_MAC for the one NIC of a source without MACs).
 */
export async function keepNetworkNames(
  context: ConversionContext,
  netBus: GuestCaps["netBus"],
): Promise<Map<string, string>> {
  const { g } = context;
  const files = await readConfigFiles(context);
  const names = configuredInterfaceNames(files);
  if (names.length === 0) {
    context.log("network names: the guest's configuration names no predictable NIC name");
    return new Map();
  }
  context.log(`network names: ${names.join(", ")} in ${files.map((file) => file.path).join(", ")}`);
  const { pinned, unpaired } = pinNames(names, context.source.nics);
  if (unpaired.length > 0) {
    context.warning(
      `the guest's network configuration names ${unpaired.join(", ")}, but the source has no NIC with a MAC address left for ${unpaired.length === 1 ? "it" : "them"}: after conversion, rename ${unpaired.length === 1 ? "that interface" : "those interfaces"} in the guest's network configuration`,
    );
  }
  const driver = netDriver(netBus);
  if (await hasSystemdUdev(context)) {
    await g.mkdirP("/etc/systemd/network");
    for (const pin of pinned) {
      const file = `/etc/systemd/network/10-virt-v2v-${pin.name}.link`;
      await g.write(file, linkFileText(pin, driver));
      context.recordChange(
        file,
        `NIC name ${pin.name} kept for the NIC ${pin.mac === null ? `with driver ${driver}` : `with MAC ${pin.mac}`}`,
      );
    }
  } else if (pinned.length > 0) {
    await g.mkdirP("/etc/udev/rules.d");
    const rules = pinned.map((pin) => udevRuleLine(pin, driver));
    await g.write(
      UDEV_RULES_FILE,
      `# Written by virt-v2v (split-v2v): NIC names this guest's network configuration uses.\n${rules.join("\n")}\n`,
    );
    context.recordChange(
      UDEV_RULES_FILE,
      `NIC names ${pinned.map((pin) => pin.name).join(", ")} kept by MAC address`,
    );
  }
  return new Map(pinned.map((pin) => [pin.mac ?? ANY_MAC, pin.name]));
}

/** The key of keepNetworkNames' result for a name pinned by driver (the guest's one NIC). */
export const ANY_MAC = "*";
