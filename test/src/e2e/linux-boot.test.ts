// Debian 12 (bookworm), as on VMware: root=/dev/sda1 in fstab and on the kernel line, ens192.
// Converted with -o qemu and booted by running the script -o qemu writes (DIR/NAME.sh).
// The test itself, shared by the Debian releases, is in ../support/debian-boot.ts.
import { debianBootTest } from "../support/debian-boot.js";

debianBootTest("bios", { kind: "disk" }, "qemu");
