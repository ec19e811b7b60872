/**
 * Linux guests. This first version chooses the kernel the guest will boot and derives the
 * devices it can drive from that kernel's modules; the changes that make a VMware guest boot on
 * virtio (tools removal, device names, initramfs) are the Linux conversion's own piece of work
 * and are reported as not done, with a warning, rather than silently skipped.
 */
import type { GuestCaps, Inspection } from "@split-v2v/metadata-schema";
import type { ConversionContext, GuestConverter } from "./family.js";

/** The distributions virt-v2v 2.2 converts. */
const SUPPORTED_DISTROS = new Set([
  "fedora",
  "rhel",
  "centos",
  "scientificlinux",
  "redhat-based",
  "oraclelinux",
  "rocky",
  "sles",
  "suse-based",
  "opensuse",
  "altlinux",
  "debian",
  "ubuntu",
  "linuxmint",
  "kalilinux",
]);

export interface InstalledKernel {
  version: string;
  modules: Set<string>;
}

/** Kernel module names (virtio_blk) present under /lib/modules/VERSION, loadable or built in. */
async function kernelModules(context: ConversionContext, version: string): Promise<Set<string>> {
  const { g } = context;
  const directory = `/lib/modules/${version}`;
  const names = new Set<string>();
  for (const file of await g.find(directory)) {
    const match = /([^/]+)\.ko(?:\.[a-z]+)?$/.exec(file);
    if (match) names.add(match[1]!.replace(/-/g, "_"));
  }
  const builtin = `${directory}/modules.builtin`;
  if (await g.isFile(builtin)) {
    for (const line of (await g.readFile(builtin)).toString("utf8").split("\n")) {
      const match = /([^/]+)\.ko$/.exec(line.trim());
      if (match) names.add(match[1]!.replace(/-/g, "_"));
    }
  }
  return names;
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

/** virt-v2v's preference: virtio_net support first, then the newest version, then non-debug. */
export function chooseBestKernel(kernels: InstalledKernel[]): InstalledKernel | null {
  const score = (kernel: InstalledKernel) => [
    kernel.modules.has("virtio_net") ? 1 : 0,
    /debug/.test(kernel.version) ? 0 : 1,
  ];
  return (
    [...kernels].sort((a, b) => {
      const [na, da] = score(a);
      const [nb, db] = score(b);
      if (na !== nb) return nb! - na!;
      const byVersion = compareVersions(b.version, a.version);
      if (byVersion !== 0) return byVersion;
      return db! - da!;
    })[0] ?? null
  );
}

export function guestcapsForKernel(
  kernel: InstalledKernel | null,
  inspection: Inspection,
): GuestCaps {
  const has = (module: string) => kernel?.modules.has(module) ?? false;
  const virtioBlk = has("virtio_blk") && has("virtio_pci");
  const major = Number(/^(\d+)/.exec(kernel?.version ?? "0")?.[1] ?? 0);
  return {
    blockBus: virtioBlk ? "virtio-blk" : "ide",
    netBus: has("virtio_net") ? "virtio-net" : "e1000",
    virtioRng: has("virtio_rng"),
    virtioBalloon: has("virtio_balloon"),
    isaPvpanic: has("pvpanic"),
    virtioSocket: has("vmw_vsock_virtio_transport"),
    // Modern kernels (3.x and later) drive q35's PCIe and virtio 1.0 devices.
    machine: inspection.arch === "aarch64" ? "virt" : major >= 3 ? "q35" : "i440fx",
    arch: inspection.arch,
    acpi: true,
    virtio10: major >= 3,
    // RHEL 9 needs x86-64-v2, more than qemu's default CPU model offers.
    defaultCpu: !(
      inspection.distro === "rhel" &&
      inspection.majorVersion >= 9 &&
      inspection.arch === "x86_64"
    ),
  };
}

export const linuxConverter: GuestConverter = {
  family: "linux",
  unsupportedReason(inspection) {
    if (!SUPPORTED_DISTROS.has(inspection.distro)) {
      return `virt-v2v does not convert ${inspection.distro} guests (${inspection.productName}); supported Linux distributions are ${[...SUPPORTED_DISTROS].join(", ")}`;
    }
    if (inspection.packageFormat !== "deb" && inspection.packageFormat !== "rpm") {
      return `the ${inspection.distro} guest has no package format virt-v2v knows (found '${inspection.packageFormat}')`;
    }
    return null;
  },
  async convert(context) {
    const { g } = context;
    const kernels: InstalledKernel[] = [];
    if (await g.isDir("/lib/modules")) {
      for (const version of await g.ls("/lib/modules")) {
        if (await g.isDir(`/lib/modules/${version}`))
          kernels.push({ version, modules: await kernelModules(context, version) });
      }
    }
    const best = chooseBestKernel(kernels);
    if (best === null)
      context.warning(
        "no kernel was found in /lib/modules: the guest will use IDE and e1000 devices",
      );
    else
      context.log(
        `best kernel: ${best.version} (virtio_blk: ${best.modules.has("virtio_blk")}, virtio_net: ${best.modules.has("virtio_net")})`,
      );
    context.warning(
      "this version of split-v2v does not yet modify Linux guests (VMware tools removal, device names, initramfs): check that the converted guest boots",
    );
    return guestcapsForKernel(best, context.inspection);
  },
};
