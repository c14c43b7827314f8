#!/bin/sh
# Baseline tree for A/B of client-side changes while other rooms move under us:
# BASE gets everything of this tree (ts/, native/, package.json) except ts/client and ts/graph,
# which come from SNAP (a copy taken before the change); then tsc builds BASE/dist.
#   bench/profile/mkbase.sh SNAP BASE
set -e
snap=$1; base=$2
here=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$base"
rm -rf "$base/ts" "$base/native" "$base/dist"
cp -a "$here/ts" "$base/ts"
rm -rf "$base/ts/client" "$base/ts/graph"
cp -a "$snap/client" "$base/ts/client"
cp -a "$snap/graph" "$base/ts/graph"
cp -a "$here/native" "$base/native"
cp "$here/package.json" "$here/tsconfig.json" "$base/"
[ -e "$base/node_modules" ] || ln -s "$here/node_modules" "$base/node_modules"
cd "$base" && "$here/node_modules/.bin/tsc" -p tsconfig.json
