#!/usr/bin/env bash
# Install the JavaScript the book serves itself, so that it renders with no network:
# MathJax 3, for the math. (Sliders need nothing: their static version is a
# self-contained matplotlib animation.) `npm pack` fetches the package's tarball
# from the npm registry, without dependencies: MathJax's es5 folder is self-contained.
# Usage: scripts/install_web_assets.sh DEST   (the Makefile uses _assets/vendor)
set -euo pipefail
dest=${1:?usage: $0 DEST}
command -v npm >/dev/null || { echo "npm is needed to fetch MathJax (install Node.js)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent mathjax@3.2.2 >/dev/null)
for tarball in "$work"/*.tgz; do
  mkdir -p "$work/$(basename "$tarball" .tgz)"
  tar -xzf "$tarball" -C "$work/$(basename "$tarball" .tgz)"
done

rm -rf "$dest" && mkdir -p "$dest"
cp -r "$work"/mathjax-3.2.2/package/es5 "$dest/mathjax"
echo "web assets installed in $dest ($(du -sh "$dest" | cut -f1))"
