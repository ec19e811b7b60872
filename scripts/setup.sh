#!/usr/bin/env bash
# Installs everything split-v2v needs on Debian 12 and builds it. Idempotent: a second run
# installs nothing and rebuilds only what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

# The real components (never re-implemented): NBD servers and tools, qemu, libguestfs with its
# appliance kernel, hivex, ntfs-3g for Windows guests, OVMF for UEFI guests, setpriv (util-linux)
# to tie servers' lifetime to their parent, virt-xml-validate for the tests.
PACKAGES=(
  nbdkit libnbd0 libnbd-bin qemu-utils qemu-system-x86
  libguestfs0 libguestfs-tools libguestfs-xfs linux-image-amd64
  libhivex0 libhivex-bin libwin-hivex-perl ntfs-3g ovmf util-linux
  libvirt-clients libxml2-utils
  # -i libvirt: libvirt's client library (its test driver needs no daemon); -i libvirt -ic vpx://
  # over HTTPS: curl, which the cookie script runs.
  libvirt0 curl
  # -o libvirt's tests: libvirtd with its qemu and storage drivers, run by the tests themselves
  # as a private session daemon in a temporary directory (no service is enabled or started).
  libvirt-daemon libvirt-daemon-driver-qemu
  # -i ova: zip OVAs are unpacked with unzip; tar, gzip and xz-utils for the others.
  unzip tar gzip xz-utils
  # Tests: test guests (a real Debian built with debootstrap, an rpm database built with rpm),
  # lsinitramfs to look into initramfs images, guestfs.h to check the binding's call table,
  # an sshd on 127.0.0.1 for -i vmx -it ssh, zip for test OVAs, xorriso for a virtio-win ISO.
  # The phony RHEL guest's rpm database is written with rpm and sqlite3, its modules.dep with
  # depmod (kmod).
  debootstrap initramfs-tools-core rpm sqlite3 kmod libguestfs-dev
  openssh-server openssh-client openssl zip xorriso
  # Debian's virt-v2v 2.2, which tests and the benchmark compare split-v2v's text and speed with.
  virt-v2v
  # ifquery, to check the ifupdown configuration the Linux converter writes; jq, which the
  # example supervisor script (examples/) reads metadata.out with.
  ifupdown jq
)

missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# npm ci only when the lock file changed since the last install.
stamp=node_modules/.split-v2v-installed
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  npm ci --no-audit --no-fund
  touch "$stamp"
fi

npx tsc -b
