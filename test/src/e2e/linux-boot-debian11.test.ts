// Debian 11 (bullseye: kernel 5.10, systemd 247, grub 2.06), as an older VMware install has it:
// / by UUID= in fstab, root=/dev/sda1 on the kernel line, and eth0 (net.ifnames=0).
// The test itself, shared by the Debian releases, is in ../support/debian-boot.ts.
import { debianBootTest } from "../support/debian-boot.js";

debianBootTest("bullseye");
