/**
 * `--mac MAC:ip:ADDR[,GW[,LEN[,NS,…]]]`: give the NIC with that MAC address a static IP address
 * in the converted guest (virt-v2v 2.2's configure_network_interfaces). The NIC is a new device
 * on KVM, so its settings cannot be written offline: a PowerShell script does it at first boot.
 */
import type { StaticIpAddress } from "../../networks.js";

/** The PowerShell lines of v2vnetcf.ps1. */
export function staticIpScript(
  addresses: readonly StaticIpAddress[],
  virtioNet: boolean,
): string[] {
  const lines = ["# Uncomment this line for lots of debug output.", "# Set-PSDebug -Trace 1", ""];
  if (virtioNet) {
    // The NIC only shows up once netkvm (installed by PnP at this same boot) is active.
    lines.push(
      "# Wait for the netkvm (virtio-net) driver to become active.",
      "$adapters = @()",
      "While (-Not $adapters) {",
      "    Start-Sleep -Seconds 5",
      '    $adapters = Get-NetAdapter -Physical | Where DriverFileName -eq "netkvm.sys"',
      "    Write-Host \"adapters = '$adapters'\"",
      "}",
      "",
    );
  }
  for (const address of addresses) {
    lines.push(
      `$mac_address = '${address.mac.replaceAll(":", "-")}'`,
      "$ifindex = (Get-NetAdapter -Physical | Where MacAddress -eq $mac_address).ifIndex",
      "if ($ifindex) {",
      '    Write-Host "setting IP address of adapter at $ifindex"',
    );
    const args = ["-InterfaceIndex", "$ifindex", "-IPAddress", `'${address.address}'`];
    if (address.gateway !== null) args.push("-DefaultGateway", `'${address.gateway}'`);
    if (address.prefixLength !== null) args.push("-PrefixLength", String(address.prefixLength));
    lines.push(`    New-NetIPAddress ${args.join(" ")}`);
    if (address.nameservers.length > 0) {
      lines.push(
        `    Set-DnsClientServerAddress -InterfaceIndex $ifindex -ServerAddresses (${address.nameservers.map((server) => `'${server}'`).join(",")})`,
      );
    }
    lines.push("}", "");
  }
  return lines;
}
