#!/usr/bin/env bash
# Install the JavaScript the book serves itself, so that it renders with no network:
# MathJax 3 (math), RequireJS and the ipywidgets HTML manager (saved widget state).
# `npm pack` fetches each package's tarball from the npm registry, without its
# dependencies (the files used here are self-contained bundles).
# Usage: scripts/install_web_assets.sh DEST   (the Makefile uses _assets/vendor)
set -euo pipefail
dest=${1:?usage: $0 DEST}
command -v npm >/dev/null || { echo "npm is needed to fetch MathJax and the widget manager (install Node.js)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent mathjax@3.2.2 @jupyter-widgets/html-manager@1.0.15 requirejs@2.3.7 >/dev/null)
for tarball in "$work"/*.tgz; do
  mkdir -p "$work/$(basename "$tarball" .tgz)"
  tar -xzf "$tarball" -C "$work/$(basename "$tarball" .tgz)"
done

rm -rf "$dest" && mkdir -p "$dest"
cp -r "$work"/mathjax-3.2.2/package/es5 "$dest/mathjax"
cp "$work"/jupyter-widgets-html-manager-1.0.15/package/dist/embed-amd.js "$dest/embed-amd.js"
cp "$work"/requirejs-2.3.7/package/require.js "$dest/require.min.js"
echo "web assets installed in $dest ($(du -sh "$dest" | cut -f1))"
