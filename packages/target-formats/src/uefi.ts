/**
 * UEFI firmware for the target: the first OVMF code/vars pair present on this host, searched in
 * the order libguestfs's UEFI table (used by virt-v2v 2.2) gives. Outputs that boot the guest
 * locally need it; without it a UEFI guest would not start, so its absence is an error.
 */
import { access } from "node:fs/promises";
import { UserError } from "@split-v2v/common";

export interface UefiFirmware {
  code: string;
  vars: string;
  /** This code image only boots with Secure Boot and SMM (q35 + smm on). */
  secureBootRequired: boolean;
}

const X86_64_FIRMWARE: readonly UefiFirmware[] = [
  {
    code: "/usr/share/OVMF/OVMF_CODE.fd",
    vars: "/usr/share/OVMF/OVMF_VARS.fd",
    secureBootRequired: false,
  },
  {
    code: "/usr/share/OVMF/OVMF_CODE.secboot.fd",
    vars: "/usr/share/OVMF/OVMF_VARS.fd",
    secureBootRequired: true,
  },
  {
    code: "/usr/share/edk2.git/ovmf-x64/OVMF_CODE-pure-efi.fd",
    vars: "/usr/share/edk2.git/ovmf-x64/OVMF_VARS-pure-efi.fd",
    secureBootRequired: false,
  },
  {
    code: "/usr/share/edk2/ovmf/OVMF_CODE.fd",
    vars: "/usr/share/edk2/ovmf/OVMF_VARS.fd",
    secureBootRequired: false,
  },
  {
    code: "/usr/share/edk2/ovmf/OVMF_CODE.secboot.fd",
    vars: "/usr/share/edk2/ovmf/OVMF_VARS.fd",
    secureBootRequired: true,
  },
  {
    code: "/usr/share/qemu/ovmf-x86_64-code.bin",
    vars: "/usr/share/qemu/ovmf-x86_64-vars.bin",
    secureBootRequired: false,
  },
];

const AARCH64_FIRMWARE: readonly UefiFirmware[] = [
  {
    code: "/usr/share/AAVMF/AAVMF_CODE.fd",
    vars: "/usr/share/AAVMF/AAVMF_VARS.fd",
    secureBootRequired: false,
  },
  {
    code: "/usr/share/edk2/aarch64/QEMU_EFI-pflash.raw",
    vars: "/usr/share/edk2/aarch64/vars-template-pflash.raw",
    secureBootRequired: false,
  },
];

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

export async function findUefiFirmware(arch: string): Promise<UefiFirmware> {
  const candidates =
    arch === "x86_64" ? X86_64_FIRMWARE : arch === "aarch64" ? AARCH64_FIRMWARE : [];
  for (const candidate of candidates) {
    if ((await exists(candidate.code)) && (await exists(candidate.vars))) return candidate;
  }
  throw new UserError(
    `cannot find firmware for UEFI guests (architecture ${arch}); install OVMF (Debian package 'ovmf') or AAVMF and try again`,
  );
}
