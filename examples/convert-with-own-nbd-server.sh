#!/usr/bin/env bash
# A supervisor that is not split-v2v's, in a few lines of shell: it serves a disk image with its
# own nbdkit (TCP on 127.0.0.1, writes kept in nbdkit's cow overlay, so the image is never
# touched), writes metadata.in by hand (the disk named by an NBD URI, disks[].endpoint), runs
# helper-v2v-convert on it, reads metadata.out with jq, and saves the converted disk with
# nbdcopy. This is how a warm-migration tool hands a disk it already serves to the converter.
#
# usage: convert-with-own-nbd-server.sh DISK.img OUTPUT.img [PORT]
#   env HELPER_V2V_CONVERT: the converter (default: helper-v2v-convert on PATH)
# Needs: nbdkit, nbdinfo and nbdcopy (libnbd-bin), jq.
# See packages/metadata-schema/CONTRACT.md for the files and the command line used here.
set -euo pipefail
disk=${1:?usage: $0 DISK.img OUTPUT.img [PORT]}
output=${2:?usage: $0 DISK.img OUTPUT.img [PORT]}
port=${3:-10899}
convert=${HELPER_V2V_CONVERT:-helper-v2v-convert}

workdir=$(mktemp -d -t example-v2v.XXXXXX)
nbdkit_pid=""
cleanup() {
  [ -n "$nbdkit_pid" ] && kill "$nbdkit_pid" 2>/dev/null && wait "$nbdkit_pid" 2>/dev/null
  rm -rf "$workdir"
}
trap cleanup EXIT

# 1. Serve the disk: read-only underneath, every write in the overlay (the cow filter).
nbdkit --exit-with-parent --foreground --ipaddr 127.0.0.1 --port "$port" \
  --pidfile "$workdir/nbdkit.pid" --filter=cow file "$disk" &
nbdkit_pid=$!
for _ in $(seq 100); do [ -s "$workdir/nbdkit.pid" ] && break; sleep 0.1; done
uri="nbd://127.0.0.1:$port/"
size=$(nbdinfo --size "$uri")

# 2. metadata.in, by hand: what the source hypervisor would say about the guest. The field
#    "x-example-tool" is not in the schema: readers of the same version accept (and ignore) it.
cat > "$workdir/metadata.in" <<JSON
{
  "schemaVersion": 1,
  "kind": "metadata.in",
  "x-example-tool": "convert-with-own-nbd-server.sh",
  "input": { "mode": "disk", "description": "$uri (served by the example script)" },
  "source": {
    "name": "example",
    "hypervisor": "unknownhv",
    "genid": null,
    "memoryBytes": 2147483648,
    "vcpus": 1,
    "cpuVendor": null,
    "cpuModel": null,
    "cpuTopology": null,
    "features": ["acpi", "apic", "pae"],
    "firmware": "unknown",
    "uefiSecureBoot": false,
    "display": null,
    "sound": null,
    "disks": [
      { "id": 0, "endpoint": "$uri", "overlay": true, "virtualSize": $size, "controller": null, "format": "raw" }
    ],
    "removables": [],
    "nics": []
  }
}
JSON

# 3. Convert: the helper writes only through the endpoint, then describes the result.
"$convert" "$workdir"

# 4. What the conversion found and made.
jq -r '"guest: \(.inspection.distro) \(.inspection.majorVersion) (\(.inspection.osinfo)), block bus \(.guestcaps.blockBus), net bus \(.guestcaps.netBus)"' \
  "$workdir/metadata.out"
jq -r '.conversion.changes[:5][] | "changed \(.what): \(.detail)"' "$workdir/metadata.out"

# 5. Keep the converted disk: the overlay's view of the image, copied out.
nbdcopy --flush "$uri" "$output"
echo "converted disk: $output"
