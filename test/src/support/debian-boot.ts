/**
 * The Linux conversion, proven by booting: a Debian guest built for VMware (disk named sda in
 * fstab or on grub's kernel line, open-vm-tools, an initramfs without virtio drivers, so only a
 * correct conversion boots) is converted with `virt-v2v -i disk … -o local`, then booted under
 * qemu with the devices of its libvirt XML (virtio-blk, virtio-net); or converted with
 * `-o qemu` and booted by running the script that writes. The conversion runs once;
 * every check reads its result. One test file per Debian release calls this, so that the
 * runner can spread the releases over its lanes. (The fixture's own test shows what the
 * unconverted images are.)
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import {
  UUID_ROOT,
  bootGuest,
  bootScript,
  debianGuest,
  debianVariant,
  modulesIn,
  newestInitramfs,
  type DebianGuestVariant,
} from "../fixtures/debian-guest.js";
import { guestfishEnvironment } from "../fixtures/guests.js";
import { leftovers, makeSandbox, sha256, virtV2v } from "./run.js";

/**
 * How long a converted guest may take from kernel start to a finished boot, and to an address
 * on its NIC, under TCG (Debian 12
 * converted by virt-v2v 2.2 takes about 60 s here; before its first-boot network steps were
 * bounded and detached, ours took 293 s).
 */
export const SETTLE_BOUND_SECONDS = 120;

/** How the variant's fstab names / after conversion: renamed to vda1, or its UUID= kept. */
function expectedRootInFstab(variant: DebianGuestVariant): RegExp {
  return variant === "bullseye"
    ? new RegExp(`^UUID=${UUID_ROOT}\\s+/\\s`, "m")
    : /^\/dev\/vda1\s+\/\s/m;
}

/**
 * The source as virt-v2v is given it: the disk image itself (-i disk: no NIC, so no MAC), or a
 * VMware guest's .vmx beside its disk (-i vmx: a vmxnet3 NIC with a MAC), converted with
 * `--mac MAC:ip:…` so that the guest comes up with that static address instead of DHCP.
 */
export type DebianBootSource = { kind: "disk" } | { kind: "vmx-static-ip" };

/** The vmx source's NIC, and the static address --mac gives it (qemu's user network is 10.0.2/24). */
const VMX_MAC = "00:50:56:8a:3c:19";
const STATIC_ADDRESS = "10.0.2.50";
const STATIC_MAC_OPTION = `${VMX_MAC}:ip:${STATIC_ADDRESS},10.0.2.2,24,10.0.2.3`;

/**
 * A VMware guest folder around a cached image, as ESXi keeps it: NAME.vmx, the descriptor
 * NAME.vmdk and its raw extent NAME-flat.vmdk, here a symbolic link to the image (read only
 * through the conversion's overlay, like any source).
 */
async function vmwareGuestFolder(directory: string, image: string): Promise<string> {
  await mkdir(directory, { recursive: true });
  const descriptor = path.join(directory, "debian.vmdk");
  const { size } = await stat(image);
  await execa("qemu-img", [
    "create",
    "-q",
    "-f",
    "vmdk",
    "-o",
    "subformat=monolithicFlat",
    descriptor,
    String(size),
  ]);
  const flat = path.join(directory, "debian-flat.vmdk");
  await rm(flat);
  await symlink(image, flat);
  const vmx = path.join(directory, "debian.vmx");
  await writeFile(
    vmx,
    [
      'displayName = "debian"',
      'guestOS = "debian12-64"',
      'memSize = "1024"',
      'numvcpus = "1"',
      'scsi0.present = "TRUE"',
      'scsi0.virtualDev = "pvscsi"',
      'scsi0:0.present = "TRUE"',
      'scsi0:0.deviceType = "scsi-hardDisk"',
      'scsi0:0.fileName = "debian.vmdk"',
      'ethernet0.present = "TRUE"',
      'ethernet0.virtualDev = "vmxnet3"',
      'ethernet0.networkName = "VM Network"',
      'ethernet0.addressType = "vpx"',
      `ethernet0.generatedAddress = "${VMX_MAC}"`,
      "",
    ].join("\n"),
  );
  return vmx;
}

/**
 * Where the converted guest goes: `-o local` (the disk and a libvirt XML, booted under qemu
 * with the XML's devices), or `-o qemu` (the disk and a script, booted by running the script).
 */
export type DebianBootOutput = "local" | "qemu";

/** Registers the test of one Debian variant with a single BIOS disk (bios, bullseye, trixie). */
export function debianBootTest(
  variant: DebianGuestVariant,
  source: DebianBootSource = { kind: "disk" },
  output: DebianBootOutput = "local",
): void {
  const { release, nic } = debianVariant(variant);
  const staticIp = source.kind === "vmx-static-ip";
  const how = [
    staticIp ? `-i vmx, --mac …:ip:${STATIC_ADDRESS}` : "-i disk",
    ...(output === "qemu" ? ["-o qemu, booted by its script"] : []),
  ].join("; ");
  test(`a VMware-style Debian ${release} guest (${nic}, ${how}) converts and boots on virtio-blk and virtio-net`, async (t) => {
    const guest = await debianGuest(variant);
    const sandbox = await makeSandbox(`linux-boot-${variant}`);
    t.after(() => sandbox.dispose());
    const before = await sha256(guest.path);

    const input = staticIp
      ? [
          "-i",
          "vmx",
          await vmwareGuestFolder(path.join(sandbox.tmp, "vmfs"), guest.path),
          "--mac",
          STATIC_MAC_OPTION,
        ]
      : ["-i", "disk", guest.path];
    const conversion = await virtV2v(
      [...input, "-o", output, "-os", sandbox.out, "-on", "debian"],
      sandbox,
    );
    assert.equal(conversion.exitCode, 0, `${conversion.stdout}\n${conversion.stderr}`);
    assert.match(conversion.stdout, /^virt-v2v: This guest has virtio drivers installed\.$/m);
    assert.match(
      conversion.stdout,
      /^virt-v2v: The QEMU Guest Agent will be installed for this guest at first boot\.$/m,
    );
    assert.match(conversion.stdout, new RegExp(`Converting ${release}\\.\\d+ to run on KVM`));
    assert.equal(await sha256(guest.path), before, "the source image is unchanged");
    assert.deepEqual(await leftovers(sandbox), { processes: [], workdirs: [] });
    const disk = path.join(sandbox.out, "debian-sda");
    // -o local: the libvirt XML; -o qemu: the script that boots the guest.
    const xml =
      output === "local" ? await readFile(path.join(sandbox.out, "debian.xml"), "utf8") : null;
    if (xml !== null) assert.match(xml, /<target dev='vda' bus='virtio'\/>/);
    const script = path.join(sandbox.out, "debian.sh");
    if (output === "qemu") {
      assert.deepEqual((await readdir(sandbox.out)).sort(), ["debian-sda", "debian.sh"]);
      assert.equal((await stat(script)).mode & 0o777, 0o755);
      await execa("sh", ["-n", script]);
      const text = await readFile(script, "utf8");
      assert.ok(
        text.includes(
          `    -drive file=${disk},format=raw,if=none,id=drive-vblk-0,media=disk \\\n    -device virtio-blk-pci,drive=drive-vblk-0 \\\n`,
        ),
        text,
      );
      // A Linux guest's serial console is the script's stdout; the source's NIC keeps its MAC.
      assert.match(text, / {4}-serial stdio\n$/);
      assert.equal(text.includes(`-device virtio-net-pci,netdev=net0,mac=${VMX_MAC}`), staticIp);
    }

    await t.test(
      `it boots: root on /dev/vda1, ${nic} up with ${staticIp ? `the static address ${STATIC_ADDRESS}` : "an address from DHCP"}, VMware tools gone, settled`,
      async () => {
        // The NIC keeps the source's MAC, as libvirt gives it from the XML; a plain disk image
        // has none: qemu's default one, as libvirt would make one up. The script has a NIC only
        // for the source's: for a plain disk image the test adds one, as for the XML.
        if (xml !== null) assert.equal(xml.includes(`<mac address='${VMX_MAC}'/>`), staticIp);
        const timeoutMs = 8 * 60 * 1000;
        const boot =
          output === "qemu"
            ? await bootScript({
                script,
                ...(staticIp ? {} : { nic: { mac: null } }),
                timeoutMs,
              })
            : await bootGuest({
                disks: [disk],
                bus: "virtio",
                nic: { mac: staticIp ? VMX_MAC : null },
                timeoutMs,
              });
        const context = `marker: ${boot.markerLine}; console ends with:\n${boot.console.slice(-2000)}`;
        assert.equal(boot.mounts.root, "/dev/vda1", context);
        // The guest's /etc/network/interfaces names its VMware NIC: the virtio NIC took that
        // name, so ifupdown configured it (DHCP from qemu's user network).
        const address = staticIp ? STATIC_ADDRESS.replace(/\./g, "\\.") : "10\\.0\\.2\\.\\d+";
        assert.match(boot.mounts.net ?? "", new RegExp(`^${nic}/${address}/24$`), context);
        assert.equal(boot.mounts.vmtools, "absent", context);
        // The first boot does not wait on the network: the guest-agent script gives up at
        // once here (no resolver answers) and runs outside the boot anyway.
        assert.equal(boot.mounts.state, "running", context);
        const settled = Number(boot.mounts.settled);
        assert.ok(settled < SETTLE_BOUND_SECONDS, `settled after ${settled} s; ${context}`);
        // ifupdown brings an allow-hotplug NIC up as udev reports it, which may be just after
        // the boot settled: the address must be there within the same bound.
        const networkUp = Number(boot.mounts.netup);
        assert.ok(
          networkUp < SETTLE_BOUND_SECONDS,
          `the address came ${boot.mounts.netup} s after the kernel started; ${context}`,
        );
        t.diagnostic(
          `Debian ${release}: settled ${settled} s and an address ${networkUp} s after the kernel started; qemu ran ${boot.seconds.toFixed(0)} s`,
        );
      },
    );

    await t.test(
      "the converted disk: VMware tools gone, devices renamed, NIC name pinned, virtio in the initramfs",
      async () => {
        const initrdDir = path.join(sandbox.tmp, "initrd");
        await mkdir(initrdDir);
        const script = [
          "inspect-list-applications2 /dev/sda1 | grep 'app2_name: open-vm-tools' || echo no-open-vm-tools",
          "cat /etc/fstab",
          "grep root= /boot/grub/grub.cfg",
          "ls /usr/lib/virt-sysprep/scripts",
          `cat /etc/systemd/network/10-virt-v2v-${nic}.link`,
          "cat /etc/network/interfaces",
          "is-file /usr/bin/vmtoolsd",
          // Drivers built into the kernel need no place in the initramfs (Debian 13 builds
          // virtio_pci in).
          "glob cat /boot/config-*",
          // The initramfs images, copied out in the same appliance launch.
          `glob copy-out /boot/initrd.img-* ${initrdDir}`,
        ].join("\n");
        const result = await execa("guestfish", ["--ro", "--format=raw", "-a", disk, "-i"], {
          input: script,
          env: guestfishEnvironment(),
        });
        const output = String(result.stdout);
        assert.match(output, /^no-open-vm-tools$/m, "open-vm-tools was removed");
        assert.match(output, expectedRootInFstab(variant), "fstab names the root");
        assert.doesNotMatch(output, /\/dev\/sda/, "no sda left in fstab or grub.cfg");
        assert.match(output, /root=\/dev\/vda1/, "grub.cfg boots root=/dev/vda1");
        assert.match(output, /^0001-install-qemu-guest-agent$/m);
        assert.match(output, /^false$/m, "vmtoolsd is gone");
        assert.match(
          output,
          new RegExp(`^Driver=virtio_net\\n\\n\\[Link\\]\\nName=${nic}$`, "m"),
          `${nic} pinned to the virtio NIC`,
        );
        if (staticIp) {
          assert.match(output, new RegExp(`^MACAddress=${VMX_MAC}$`, "m"), "pinned by its MAC");
          // The DHCP stanza is kept, commented out, above the static one --mac asked for.
          assert.match(output, new RegExp(`^# \\(virt-v2v\\) iface ${nic} inet dhcp$`, "m"));
          assert.match(output, new RegExp(`^iface ${nic} inet static$`, "m"));
          assert.match(
            output,
            new RegExp(`^\\s+address ${STATIC_ADDRESS.replace(/\./g, "\\.")}`, "m"),
          );
        }
        const initrd = newestInitramfs(await readdir(initrdDir));
        assert.ok(initrd !== undefined, "an initramfs in /boot");
        const listing = await execa("lsinitramfs", [path.join(initrdDir, initrd)]);
        const modules = modulesIn(String(listing.stdout).split("\n"));
        for (const [module, config] of [
          ["virtio_blk", "CONFIG_VIRTIO_BLK"],
          ["virtio_pci", "CONFIG_VIRTIO_PCI"],
        ] as const) {
          const builtIn = new RegExp(`^${config}=y$`, "m").test(output);
          assert.ok(
            builtIn || modules.includes(module),
            `${module} in the initramfs or the kernel`,
          );
        }
      },
    );
  });
}
