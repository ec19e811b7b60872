#!/bin/bash
# imageio-writer.sh: an nbdkit sh plugin (nbdkit-sh-plugin(3)) that serves an oVirt image
# transfer as a writable NBD export: each NBD request becomes one imageio request, made by curl.
# Shipped with @split-v2v/helper-output-rhv-upload (virt-v2v -o rhv-upload), which starts it as
#
#   nbdkit … sh script=imageio-writer.sh urlconfig=FILE size=BYTES [cafile=CA.PEM] insecure=true|false
#          zero=true|false flush=true|false
#
#   urlconfig  a curl config file (mode 0600) holding `url = "https://HOST:PORT/images/TICKET"`:
#              the transfer URL carries a ticket, so it is kept off every command line
#   size       the disk's virtual size (imageio has no HEAD; the engine's disk says it)
#   cafile     CA bundle for the imageio server's certificate; insecure=true skips the check
#   zero/flush whether the server has imageio's "zero" and "flush" features (OPTIONS)
#
# The imageio requests (https://github.com/oVirt/ovirt-imageio/blob/master/docs/images.md):
#   pwrite  PUT   /images/TICKET?flush=y|n  Content-Range: bytes START-END/*, the data
#   zero    PATCH /images/TICKET  {"op":"zero","offset":…,"size":…,"flush":false|true}
#   flush   PATCH /images/TICKET  {"op":"flush"}
#   pread   GET   /images/TICKET  Range: bytes=START-END
# An error is one "EIO …" line on stderr (nbdkit's convention) with the HTTP status and the
# start of imageio's answer; the URL, and so the ticket, is never printed.

set -u
method=${1-}

setting() { cat "$tmpdir/setting-$1" 2>/dev/null; }

curl_imageio() {
    local tls=()
    if [ "$(setting insecure)" = true ]; then
        tls=(--insecure)
    elif [ -n "$(setting cafile)" ]; then
        tls=(--cacert "$(setting cafile)")
    fi
    curl --silent --show-error --config "$(setting urlconfig)" \
        "${tls[@]}" "$@"
}

fail() {
    local what=$1 output=$2
    output=$(printf '%s' "$output" | tr '\n\r' '  ' | cut -c1-300)
    echo "EIO imageio $what failed: $output" >&2
    exit 1
}

fua_of() { case ",$1," in *,fua,*) [ "$(setting flush)" = true ] ;; *) false ;; esac; }

case "$method" in
    config)
        case "$2" in
            urlconfig|size|cafile|insecure|zero|flush)
                printf '%s' "$3" > "$tmpdir/setting-$2" ;;
            *) echo "unknown parameter $2" >&2; exit 1 ;;
        esac
        ;;
    config_complete)
        for key in urlconfig size; do
            if [ ! -s "$tmpdir/setting-$key" ]; then echo "$key parameter is required" >&2; exit 1; fi
        done
        if [ ! -r "$(setting urlconfig)" ]; then echo "cannot read the urlconfig file" >&2; exit 1; fi
        ;;
    thread_model) echo parallel ;;
    open) echo imageio ;;
    get_size) setting size ;;
    can_write) exit 0 ;;
    can_flush) [ "$(setting flush)" = true ] || exit 3 ;;
    can_zero) [ "$(setting zero)" = true ] || exit 3 ;;
    can_fua) if [ "$(setting flush)" = true ]; then echo native; else echo none; fi ;;
    can_cache) echo none ;;
    can_trim|can_extents|can_fast_zero|is_rotational) exit 3 ;;
    # Each request is its own HTTP connection, so several NBD connections could share the
    # disk; but the helper limits the requests in flight with nbdkit --threads on a single
    # NBD connection, as 2.2's plugin does with its pool of (at most 4) HTTP connections.
    can_multi_conn) exit 3 ;;
    pread)
        count=$3 offset=$4
        curl_imageio --fail --range "$offset-$((offset + count - 1))" --output - ||
            { echo "EIO imageio GET offset $offset size $count failed" >&2; exit 1; }
        ;;
    pwrite)
        count=$3 offset=$4 flags=${5-}
        flush=n
        if fua_of "$flags"; then flush=y; fi
        output=$(curl_imageio --fail-with-body --request PUT --url-query "flush=$flush" \
            --header "Content-Range: bytes $offset-$((offset + count - 1))/*" \
            --header "Content-Type: application/octet-stream" \
            --data-binary @- 2>&1) ||
            fail "PUT offset $offset size $count" "$output"
        ;;
    zero)
        count=$3 offset=$4 flags=${5-}
        flush=false
        if fua_of "$flags"; then flush=true; fi
        output=$(curl_imageio --fail-with-body --request PATCH --header "Content-Type: application/json" \
            --data-binary "{\"op\":\"zero\",\"offset\":$offset,\"size\":$count,\"flush\":$flush}" 2>&1) ||
            fail "PATCH zero offset $offset size $count" "$output"
        ;;
    flush)
        output=$(curl_imageio --fail-with-body --request PATCH --header "Content-Type: application/json" \
            --data-binary '{"op":"flush"}' 2>&1) ||
            fail "PATCH flush" "$output"
        ;;
    load|unload|get_ready|after_fork|preconnect|close|dump_plugin) ;;
    *) exit 2 ;;
esac
