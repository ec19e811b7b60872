/**
 * The kernels installed in a Linux guest, what each can drive, and which one the converted guest
 * should boot (virt-v2v's linux_kernels.ml and configure_kernel).
 */
import type { Guestfs } from "@split-v2v/libguestfs";
import type { GuestCaps, Inspection } from "@split-v2v/metadata-schema";

export interface InstalledKernel {
  /** The module directory's name, which dracut and update-initramfs call the kernel version. */
  version: string;
  vmlinuz: string;
  /** The initramfs that boots it, if there is one. */
  initrd: string | null;
  /** Module names (dashes as underscores), loadable or built in. */
  modules: Set<string>;
  /** CONFIG_* options set to y or m in /boot/config-VERSION. */
  config: Map<string, string>;
}

/** A kernel drives a device when it has the module, or the driver is built in (CONFIG_X=y). */
export function kernelSupports(
  kernel: InstalledKernel,
  module: string,
  configKey: string,
): boolean {
  return kernel.modules.has(module) || kernel.config.get(`CONFIG_${configKey}`) === "y";
}

const moduleName = (file: string): string | null => {
  const match = /([^/]+)\.ko(?:\.[a-z]+)?$/.exec(file.trim());
  return match ? match[1]!.replace(/-/g, "_") : null;
};

async function readTextIfFile(g: Guestfs, file: string): Promise<string | null> {
  return (await g.isFile(file)) ? (await g.readFile(file)).toString("utf8") : null;
}

/** Every kernel with both a module directory and a /boot/vmlinuz-VERSION. */
export async function detectKernels(g: Guestfs): Promise<InstalledKernel[]> {
  const kernels: InstalledKernel[] = [];
  const modulesRoot = (await g.isDir("/lib/modules")) ? "/lib/modules" : "/usr/lib/modules";
  if (!(await g.isDir(modulesRoot))) return kernels;
  for (const version of (await g.ls(modulesRoot)).sort()) {
    const directory = `${modulesRoot}/${version}`;
    const vmlinuz = `/boot/vmlinuz-${version}`;
    if (!(await g.isDir(directory)) || !(await g.exists(vmlinuz))) continue;
    const modules = new Set<string>();
    for (const file of await g.find(directory)) {
      const name = moduleName(file);
      if (name !== null) modules.add(name);
    }
    for (const line of ((await readTextIfFile(g, `${directory}/modules.builtin`)) ?? "").split(
      "\n",
    )) {
      const name = moduleName(line);
      if (name !== null) modules.add(name);
    }
    const config = new Map<string, string>();
    for (const line of ((await readTextIfFile(g, `/boot/config-${version}`)) ?? "").split("\n")) {
      const match = /^(CONFIG_[A-Z0-9_]+)=([ym])$/.exec(line.trim());
      if (match) config.set(match[1]!, match[2]!);
    }
    let initrd: string | null = null;
    for (const candidate of [
      `/boot/initrd.img-${version}`,
      `/boot/initramfs-${version}.img`,
      `/boot/initrd-${version}.img`,
      `/boot/initrd-${version}`,
    ]) {
      if (await g.exists(candidate)) {
        initrd = candidate;
        break;
      }
    }
    kernels.push({ version, vmlinuz, initrd, modules, config });
  }
  return kernels;
}

function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/).map((part) => (/^\d+$/.test(part) ? Number(part) : part));
  const pb = b.split(/[.-]/).map((part) => (/^\d+$/.test(part) ? Number(part) : part));
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (typeof x === "number" && typeof y === "number") {
      if (x !== y) return x - y;
    } else if (String(x) !== String(y)) return String(x) < String(y) ? -1 : 1;
  }
  return 0;
}

/** A debug build of a kernel has the same version as its plain build ("…-debug", "…+debug"). */
function isDebugKernel(version: string): boolean {
  return /[-+.]debug$/.test(version);
}

/** virt-v2v's preference: virtio_net support first, then the newest version, then non-debug. */
export function chooseBestKernel<K extends Pick<InstalledKernel, "version" | "modules">>(
  kernels: K[],
): K | null {
  const baseVersion = (kernel: K) => kernel.version.replace(/[-+.]debug$/, "");
  return (
    [...kernels].sort((a, b) => {
      const byVirtio = Number(b.modules.has("virtio_net")) - Number(a.modules.has("virtio_net"));
      if (byVirtio !== 0) return byVirtio;
      const byVersion = compareVersions(baseVersion(b), baseVersion(a));
      if (byVersion !== 0) return byVersion;
      return Number(isDebugKernel(a.version)) - Number(isDebugKernel(b.version));
    })[0] ?? null
  );
}

/** What the guest can drive once it boots `kernel` (virt-v2v's guestcaps for Linux). */
export function guestcapsForKernel(
  kernel: InstalledKernel | null,
  inspection: Inspection,
): GuestCaps {
  const supports = (module: string, key: string) =>
    kernel ? kernelSupports(kernel, module, key) : false;
  const machine = (): GuestCaps["machine"] => {
    if (inspection.arch !== "x86_64" && inspection.arch !== "i386" && inspection.arch !== "i686")
      return "virt";
    // virt-v2v pivots on 2007: distributions older than that use i440fx.
    const major = inspection.majorVersion;
    switch (inspection.distro) {
      case "rhel":
      case "centos":
      case "scientificlinux":
      case "redhat-based":
      case "oraclelinux":
      case "rocky":
        return major <= 4 ? "i440fx" : "q35";
      case "sles":
      case "suse-based":
      case "opensuse":
        return major < 10 ? "i440fx" : "q35";
      case "debian":
      case "ubuntu":
      case "linuxmint":
      case "kalilinux":
        return major < 4 ? "i440fx" : "q35";
      default:
        return "q35";
    }
  };
  return {
    blockBus: supports("virtio_blk", "VIRTIO_BLK") ? "virtio-blk" : "ide",
    netBus: supports("virtio_net", "VIRTIO_NET") ? "virtio-net" : "e1000",
    virtioRng: supports("virtio_rng", "HW_RANDOM_VIRTIO"),
    virtioBalloon: supports("virtio_balloon", "VIRTIO_BALLOON"),
    isaPvpanic: supports("pvpanic", "PVPANIC"),
    virtioSocket: supports("vmw_vsock_virtio_transport", "VIRTIO_VSOCKETS"),
    machine: machine(),
    arch: inspection.arch === "i386" ? "i686" : inspection.arch,
    acpi: true,
    virtio10: true,
    // RHEL 9 needs x86-64-v2, more than qemu's default CPU model offers.
    defaultCpu: !(
      inspection.distro === "rhel" &&
      inspection.majorVersion >= 9 &&
      inspection.arch === "x86_64"
    ),
    // Linux keeps the hardware clock in UTC and applies the time zone itself.
    rtcUtc: true,
  };
}
