// Debian 12 (bookworm), as on VMware: root=/dev/sda1 in fstab and on the kernel line, ens192.
// The test itself, shared by the Debian releases, is in ../support/debian-boot.ts.
import { debianBootTest } from "../support/debian-boot.js";

debianBootTest("bios");
