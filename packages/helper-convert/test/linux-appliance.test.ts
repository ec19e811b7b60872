// Linux conversion pieces that need a real guest filesystem, on scratch disks in one appliance
// launch (20-40 s under TCG): removing the serial console for targets without a serial port
// (virt-v2v 2.2's remove_console for -o rhv/vdsm), and finding the disk that holds /boot
// (virt-v2v 2.13's target boot device).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { execa } from "execa";
import { Guestfs } from "@split-v2v/libguestfs";
import { ensureWorkingAccel } from "../src/accel.js";
import type { Inspection } from "@split-v2v/metadata-schema";
import { findBootDevice } from "../src/convert.js";
import type { ConversionContext } from "../src/families/family.js";
import { removeSerialConsole } from "../src/families/linux/tweaks.js";

let directory = "";
let g: Guestfs | null = null;

function guest(): Guestfs {
  if (g === null) throw new Error("the appliance did not start");
  return g;
}

const GRUB_DEFAULTS = [
  'GRUB_DEFAULT="0"',
  'GRUB_CMDLINE_LINUX="ro console=xvc0 quiet console=tty0"',
  'GRUB_CMDLINE_LINUX_DEFAULT="console=hvc0"',
  "",
].join("\n");
const INITTAB = [
  "id:3:initdefault:",
  "1:2345:respawn:/sbin/mingetty tty1",
  "co:2345:respawn:/sbin/agetty xvc0 9600 vt100-nav",
  "S0:2345:respawn:/sbin/agetty ttyS0 115200",
  "",
].join("\n");
const SECURETTY = ["console", "xvc0", "hvc0", "tty1", ""].join("\n");

function inspectionWith(type: string, mountpoints: Inspection["mountpoints"]): Inspection {
  return {
    root: "/dev/sda1",
    type,
    distro: "rhel",
    osinfo: "rhel6.10",
    arch: "x86_64",
    majorVersion: 6,
    minorVersion: 10,
    packageFormat: "rpm",
    packageManagement: "yum",
    productName: "test guest",
    productVariant: "unknown",
    hostname: "test",
    mountpoints,
    firmware: { type: "bios", espDevices: [] },
    windows: null,
  };
}

describe("Linux conversion on a real filesystem", () => {
  before(async () => {
    directory = await mkdtemp(path.join(tmpdir(), "linux-appliance-test-"));
    const disks = ["data.img", "boot.img", "root.img"].map((name) => path.join(directory, name));
    for (const disk of disks) await execa("truncate", ["-s", "64M", disk]);
    await ensureWorkingAccel({ cacheDir: path.join(directory, "cache"), warn: () => undefined });
    g = new Guestfs();
    for (const disk of disks) await g.addDrive(disk, { format: "raw" });
    await g.launch();
    // /dev/sda: data only; /boot on /dev/sdb1, / on /dev/sdc1.
    for (const device of ["/dev/sda", "/dev/sdb", "/dev/sdc"]) await g.partDisk(device, "mbr");
    await g.mkfs("ext4", "/dev/sdc1");
    await g.mount("/dev/sdc1", "/");
    await g.mkdirP("/etc/default");
    await g.write("/etc/default/grub", GRUB_DEFAULTS);
    await g.write("/etc/inittab", INITTAB);
    await g.write("/etc/securetty", SECURETTY);
  });

  after(async () => {
    try {
      if (g !== null) {
        await g.umountAll().catch(() => undefined);
        await g.shutdown().catch(() => undefined);
        await g.close();
      }
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it("without a serial console: Xen consoles leave the command lines, serial gettys go", async () => {
    const changes: string[] = [];
    const context = {
      g: guest(),
      log: () => undefined,
      recordChange: (what: string, detail: string) => changes.push(`${what}: ${detail}`),
    } as unknown as ConversionContext;
    await guest().augInit("/", 1);
    await removeSerialConsole(context, {
      kind: "grub2",
      config: "/boot/grub2/grub.cfg",
      augeasDevicePaths: [
        "/files/etc/sysconfig/grub/GRUB_CMDLINE_LINUX",
        "/files/etc/default/grub/GRUB_CMDLINE_LINUX",
        "/files/etc/default/grub/GRUB_CMDLINE_LINUX_DEFAULT",
      ],
    });
    await guest().augClose();
    const read = async (file: string) => (await guest().readFile(file)).toString("utf8");
    assert.match(await read("/etc/default/grub"), /^GRUB_CMDLINE_LINUX="ro quiet console=tty0"$/m);
    assert.match(await read("/etc/default/grub"), /^GRUB_CMDLINE_LINUX_DEFAULT=""$/m);
    assert.equal(
      await read("/etc/inittab"),
      "id:3:initdefault:\n1:2345:respawn:/sbin/mingetty tty1\n",
    );
    assert.equal(await read("/etc/securetty"), "console\ntty1\n");
    assert.ok(changes.some((change) => change.startsWith("/etc/inittab")));
  });

  it("the boot device is the disk of /boot; unknown without /boot or off Linux", async () => {
    const log = () => undefined;
    const withBoot = inspectionWith("linux", [
      { mountpoint: "/", device: "/dev/sdc1" },
      { mountpoint: "/boot", device: "/dev/sdb1" },
    ]);
    assert.equal(await findBootDevice(guest(), withBoot, log), 1);
    const noBoot = inspectionWith("linux", [{ mountpoint: "/", device: "/dev/sdc1" }]);
    assert.equal(await findBootDevice(guest(), noBoot, log), null);
    const onLvm = inspectionWith("linux", [{ mountpoint: "/boot", device: "/dev/vg/boot" }]);
    assert.equal(await findBootDevice(guest(), onLvm, log), null);
    assert.equal(await findBootDevice(guest(), { ...withBoot, type: "windows" }, log), null);
  });
});
