#!/bin/sh
# A/B in alternation on a shared machine: base = a worktree of HEAD built to dist/ (same native .node), new = this tree.
#   bench/profile/ab.sh BASE_ROOT ROUNDS [run.mjs options...]
base=$1; rounds=$2; shift 2
here=$(cd "$(dirname "$0")/../.." && pwd)
i=0
while [ $i -lt "$rounds" ]; do
  echo "--- base"; node "$here/bench/profile/run.mjs" --root "$base" "$@"
  echo "--- new";  node "$here/bench/profile/run.mjs" --root "$here" "$@"
  i=$((i + 1))
done
