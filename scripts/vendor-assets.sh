#!/usr/bin/env bash
# Vendor the marketplace's JavaScript into the package (no CDN at run time): fetch htmx from the npm
# registry with `npm pack`, keep only dist/htmx.min.js, and record name, version, sha256 and licence.
# Run it to refresh the vendored copy; the file it writes ships in the wheel.
set -euo pipefail
cd "$(dirname "$0")/.."

HTMX="${HTMX:-htmx.org@2}"
dest=src/quanta/interfaces/web/static/vendor
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

command -v npm >/dev/null || { echo "error: npm is needed (Debian: apt-get install npm)" >&2; exit 1; }
tarball="$(cd "$work" && npm pack --silent "$HTMX" 2>/dev/null | tail -n 1)"
tar -xzf "$work/$tarball" -C "$work"
meta() { node -p "require('$work/package/package.json').$1"; }
name="$(meta name)"
version="$(meta version)"
licence="$(meta license)"

mkdir -p "$dest"
cp "$work/package/dist/htmx.min.js" "$dest/htmx.min.js"
cp "$work/package/LICENSE" "$dest/htmx.LICENSE"
sha="$(sha256sum "$dest/htmx.min.js" | cut -d' ' -f1)"
cat > "$dest/VERSIONS" <<VERSIONS
# Vendored by scripts/vendor-assets.sh from the npm registry; do not edit by hand.
# file	package	version	sha256	licence
htmx.min.js	$name	$version	$sha	$licence
VERSIONS
echo "vendored $name $version ($licence) into $dest/htmx.min.js, sha256 $sha"
