#!/usr/bin/env bash
# Installs split-v2v like the tool it replaces: virt-v2v, the helper programs and v2v-metadata
# in PREFIX/bin, their manual pages in PREFIX/share/man/man1, and the programs' code (the built
# packages and their production dependencies) in PREFIX/lib/split-v2v. Every file it creates
# outside that folder is listed in PREFIX/lib/split-v2v/installed-files, and --uninstall
# removes exactly those and the folder. Installing again replaces an earlier installation.
#
#   bash scripts/install.sh [--prefix DIR]               (default /usr/local)
#   bash scripts/install.sh [--prefix DIR] --uninstall
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=/usr/local
uninstall=false
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix=${2:?--prefix needs a directory}; shift 2 ;;
    --prefix=*) prefix=${1#--prefix=}; shift ;;
    --uninstall) uninstall=true; shift ;;
    *) echo "install: unknown argument: $1 (use --prefix DIR, --uninstall)" >&2; exit 2 ;;
  esac
done
prefix=$(realpath -m "$prefix")
libdir=$prefix/lib/split-v2v
manifest=$libdir/installed-files

# Folders the installation created, deepest last; kept beside the manifest.
created_dirs=$libdir/created-dirs

remove_installation() {
  [ -f "$manifest" ] || return 0
  while IFS= read -r file; do
    [ -n "$file" ] && rm -f -- "$file"
  done < "$manifest"
  local created=()
  [ -f "$created_dirs" ] && mapfile -t created < "$created_dirs"
  rm -rf -- "$libdir"
  # Deepest first, and only those nothing else lives in now.
  for ((index = ${#created[@]} - 1; index >= 0; index--)); do
    rmdir -- "${created[index]}" 2>/dev/null || true
  done
}

# mkdir -p that remembers which folders did not exist, so that --uninstall removes them too.
new_dirs=()
make_dirs() {
  for directory in "$@"; do
    local missing=()
    local path=$directory
    while [ ! -e "$path" ]; do
      missing=("$path" "${missing[@]}")
      path=$(dirname "$path")
    done
    mkdir -p -- "$directory"
    new_dirs+=("${missing[@]}")
  done
}

if $uninstall; then
  if [ ! -f "$manifest" ]; then
    echo "install: nothing to uninstall: no split-v2v installation in $prefix" >&2
    exit 1
  fi
  remove_installation
  echo "split-v2v removed from $prefix"
  exit 0
fi

# Built, with its Debian packages present (idempotent).
bash scripts/setup.sh
remove_installation

make_dirs "$prefix/bin" "$prefix/share/man/man1" "$prefix/lib"
mkdir -p "$libdir/packages" "$libdir/node_modules/@split-v2v"
printf '%s\n' "${new_dirs[@]}" > "$created_dirs"
cp package.json "$libdir/"
# The workspace packages, as they run: manifest, programs, compiled code and their documents.
for package in packages/*/; do
  name=$(basename "$package")
  target=$libdir/packages/$name
  mkdir -p "$target"
  for part in package.json bin dist/src README.md CONTRACT.md schema; do
    [ -e "$package$part" ] || continue
    mkdir -p "$(dirname "$target/$part")"
    cp -R "$package$part" "$target/$part"
  done
  ln -s "../../packages/$name" "$libdir/node_modules/@split-v2v/$name"
done
# Their production dependencies only (npm's own list), with the layout npm gave them.
npm ls --omit=dev --all --parseable 2>/dev/null | while IFS= read -r dependency; do
  relative=${dependency#"$PWD"/}
  case "$relative" in
    node_modules/@split-v2v/* | "$PWD" | "") continue ;;
  esac
  [ -e "$libdir/$relative" ] && continue
  mkdir -p "$(dirname "$libdir/$relative")"
  cp -R "$relative" "$libdir/$relative"
done

: > "$manifest"
for bin in "$libdir"/packages/*/bin/*.mjs; do
  program=$(basename "$bin" .mjs)
  ln -sfn "$bin" "$prefix/bin/$program"
  echo "$prefix/bin/$program" >> "$manifest"
done
node scripts/man-pages.mjs "$libdir/man" > /dev/null
for page in "$libdir"/man/man1/*.1; do
  cp "$page" "$prefix/share/man/man1/"
  echo "$prefix/share/man/man1/$(basename "$page")" >> "$manifest"
done
rm -rf "$libdir/man"
echo "split-v2v installed in $prefix: $(wc -l < "$manifest") files (see $manifest); remove with: bash scripts/install.sh --prefix $prefix --uninstall"
