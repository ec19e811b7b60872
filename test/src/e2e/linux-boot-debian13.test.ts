// Debian 13 (trixie: kernel 6.12 with compressed modules, systemd 257, grub 2.12), as on VMware:
// root=/dev/sda1 in fstab and on the kernel line, ens192. Given as a VMware guest (-i vmx, its
// NIC's MAC in the .vmx) with --mac MAC:ip:…, so it also shows a static address on Linux.
// The test itself, shared by the Debian releases, is in ../support/debian-boot.ts.
import { debianBootTest } from "../support/debian-boot.js";

debianBootTest("trixie", { kind: "vmx-static-ip" });
