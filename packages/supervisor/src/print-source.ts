/**
 * --print-source: the source guest exactly as virt-v2v 2.2 prints it (string_of_source). Newer
 * virt-v2v (2.8+) adds a "UEFI secureboot:" line after "firmware:"; 2.2 does not, and tools
 * (and 2.2's own tests) compare this text, so 2.2's wins. The secure-boot flag stays in
 * metadata.in, where tools can read it.
 */
import type { SourceGuest } from "@split-v2v/metadata-schema";

function controller(value: string | null): string {
  return value === null ? "" : ` [${value}]`;
}

function display(value: SourceGuest["display"]): string {
  if (value === null) return "";
  let text = value.type;
  if (value.keymap !== null) text += ` ${value.keymap}`;
  if (value.password !== null) text += " with password";
  const listen = value.listen;
  if (listen.kind === "address") text += ` listening on address ${listen.value ?? ""}`;
  else if (listen.kind === "network") text += ` listening on network ${listen.value ?? ""}`;
  else if (listen.kind === "socket")
    text += listen.value
      ? ` listening on Unix domain socket ${listen.value}`
      : " listening on automatically created Unix domain socket";
  else if (listen.kind === "private-fd") text += " listening on private fd";
  return text;
}

export function formatSource(source: SourceGuest): string {
  const topology = source.cpuTopology
    ? `sockets: ${source.cpuTopology.sockets} cores/socket: ${source.cpuTopology.cores} threads/core: ${source.cpuTopology.threads}`
    : "";
  const disks = source.disks.map((disk) => `\t${disk.id}${controller(disk.controller)}`);
  const removables = source.removables.map(
    (r) =>
      `\t${r.type === "cdrom" ? "CD-ROM" : "Floppy"}${controller(r.controller)}${r.slot === null ? "" : ` in slot ${r.slot}`}`,
  );
  const nics = source.nics.map(
    (nic) =>
      `\t${nic.networkType === "bridge" ? "Bridge" : "Network"} "${nic.network}"${nic.mac === null ? "" : ` mac: ${nic.mac}`}${nic.model === null ? "" : ` [${nic.model}]`}`,
  );
  return [
    `    source name: ${source.name}`,
    `hypervisor type: ${source.hypervisor}`,
    `       VM genid: ${source.genid ?? ""}`,
    `         memory: ${source.memoryBytes} (bytes)`,
    `       nr vCPUs: ${source.vcpus}`,
    `     CPU vendor: ${source.cpuVendor ?? ""}`,
    `      CPU model: ${source.cpuModel ?? ""}`,
    `   CPU topology: ${topology}`,
    `   CPU features: ${[...source.features].sort().join(",")}`,
    `       firmware: ${source.firmware}`,
    `        display: ${display(source.display)}`,
    `          sound: ${source.sound ?? ""}`,
    "disks:",
    disks.join("\n"),
    "removable media:",
    removables.join("\n"),
    "NICs:",
    nics.join("\n"),
    "",
  ].join("\n");
}

export function printSourceText(source: SourceGuest): string {
  return `Source guest information (--print-source option):\n\n${formatSource(source)}\n`;
}
