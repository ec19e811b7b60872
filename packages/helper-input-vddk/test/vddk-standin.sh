#!/usr/bin/env bash
# A STAND-IN for nbdkit's vddk plugin (tests only): VMware's VDDK and a vCenter cannot exist
# here, so nbdkit's sh plugin runs this script with exactly the parameters the vddk plugin would
# get (helper-input-vddk's SPLIT_V2V_STANDIN_NBDKIT_VDDK). Like the plugin it refuses parameters
# it does not know, needs server, vm=moref=…, file and thumbprint, reads password=+FILE, and
# checks libdir; it serves the datastore path "[DS] DIR/NAME.vmdk" from the local raw extent
# $VDDK_STANDIN_DATASTORES/DS/DIR/NAME-flat.vmdk (ESXi keeps a descriptor and a -flat.vmdk).
#
# Environment:
#   VDDK_STANDIN_DATASTORES      the directory holding one directory per datastore (required)
#   VDDK_STANDIN_PASSWORD_FILE   a file with the password expected (required)
#   VDDK_STANDIN_THUMBPRINT      the thumbprint expected (optional)
#   VDDK_STANDIN_LOG             a file where each call's method is appended (optional)
# nbdkit's sh plugin gives $tmpdir, one per nbdkit, where the parameters are kept between calls.
set -euo pipefail

method="${1:-}"
if [ -n "${VDDK_STANDIN_LOG:-}" ]; then echo "$method" >>"$VDDK_STANDIN_LOG"; fi

param() { cat "$tmpdir/param.$1" 2>/dev/null; }
fail() { echo "vddk stand-in: $*" >&2; exit 1; }

# The vddk plugin's parameters (nbdkit-vddk-plugin(1)).
known=" compression config cookie create create-adapter-type create-hwversion create-size
  create-type export file libdir nfchostport password port server single-link snapshot
  thumbprint transports unbuffered user vm "

flat_file() {
  local file
  file="$(param file)"
  [[ "$file" =~ ^\[([^]]+)\]\ (.+)\.vmdk$ ]] ||
    fail "file=$file: not a datastore path \"[datastore] path.vmdk\""
  echo "$VDDK_STANDIN_DATASTORES/${BASH_REMATCH[1]}/${BASH_REMATCH[2]}-flat.vmdk"
}

case "$method" in
  config)
    key="$2" value="$3"
    [[ "$known" == *" $key "* ]] || fail "unknown parameter '$key'"
    [ -e "$tmpdir/param.$key" ] && fail "parameter '$key' given twice"
    printf '%s' "$value" >"$tmpdir/param.$key"
    ;;
  config_complete)
    for required in server vm file thumbprint user password; do
      [ -e "$tmpdir/param.$required" ] || fail "the '$required' parameter is required"
    done
    [[ "$(param vm)" == moref=?* ]] || fail "vm=$(param vm): expected vm=moref=ID"
    password="$(param password)"
    # A password on the command line would show in every process listing.
    [[ "$password" == +?* ]] || fail "password: expected +FILE"
    [ -r "${password#+}" ] || fail "password=+${password#+}: cannot read the file"
    [ "$(cat "${password#+}")" = "$(cat "$VDDK_STANDIN_PASSWORD_FILE")" ] ||
      fail "VixDiskLib: Cannot connect to host $(param server): login refused for $(param user)"
    if [ -n "${VDDK_STANDIN_THUMBPRINT:-}" ] && [ "$(param thumbprint)" != "$VDDK_STANDIN_THUMBPRINT" ]; then
      fail "VixDiskLib: the server's thumbprint is not $(param thumbprint)"
    fi
    if [ -e "$tmpdir/param.libdir" ]; then
      [ -d "$(param libdir)" ] || fail "libdir=$(param libdir): not a directory"
    fi
    flat="$(flat_file)"
    [ -r "$flat" ] || fail "VixDiskLib_Open: $(param file): cannot open $flat"
    printf '%s' "$flat" >"$tmpdir/flat"
    ;;
  get_size)
    stat -L -c %s "$(cat "$tmpdir/flat")"
    ;;
  pread)
    # pread HANDLE COUNT OFFSET: exactly COUNT bytes on stdout.
    dd if="$(cat "$tmpdir/flat")" iflag=skip_bytes,count_bytes skip="$4" count="$3" \
      bs=1M status=none
    ;;
  *)
    # Every other method: nbdkit's defaults (read-only, no extents), as the stand-in needs no more.
    exit 2
    ;;
esac
