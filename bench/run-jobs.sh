#!/bin/bash
# Job throughput: N trivial jobs (/bin/true from busybox, one small layer, the cache warm) through
# maelstrom-run --slots 2, against the same container started N times with bubblewrap, two at a time, in the
# same run.
#
#   bench/run-jobs.sh [BUILD-DIR] [N]      (default: build 1000)
set -euo pipefail
build=$(realpath "${1:-build}")
n=${2:-1000}
command -v bwrap >/dev/null || { echo "bubblewrap is not installed (apt-get install bubblewrap)" >&2; exit 1; }
busybox=$(command -v busybox)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
meson install -C "$build" --destdir "$tmp/install" --no-rebuild --quiet >/dev/null
run=$(find "$tmp/install" -name maelstrom-run -type f | head -1)

# The container root for bwrap: busybox and /bin/true.
mkdir -p "$tmp/root/bin"
cp "$busybox" "$tmp/root/bin/busybox"
ln -s busybox "$tmp/root/bin/true"

jobs="$tmp/jobs.json"
python3 - "$n" "$busybox" > "$jobs" <<'PY'
import json, sys
n, busybox = int(sys.argv[1]), sys.argv[2]
layers = [{"paths": [busybox], "strip_prefix": busybox.rsplit("/", 1)[0], "prepend_prefix": "/bin"},
          {"symlinks": [{"link": "/bin/true", "target": "busybox"}]}]
for _ in range(n):
    print(json.dumps({"program": "/bin/true", "layers": layers}))
PY

export XDG_CACHE_HOME="$tmp/cache"
# Warm the cache (layers built and materialised once).
"$run" --slots 2 < <(head -1 "$jobs")

t0=$(date +%s.%N)
"$run" --slots 2 < "$jobs"
t1=$(date +%s.%N)
seq "$n" | xargs -P2 -I{} bwrap --unshare-all --ro-bind "$tmp/root" / /bin/true
t2=$(date +%s.%N)

python3 - "$n" "$t0" "$t1" "$t2" <<'PY'
import sys
n, t0, t1, t2 = int(sys.argv[1]), *map(float, sys.argv[2:])
ours, bwrap = n / (t1 - t0), n / (t2 - t1)
print(f"maelstrom-run --slots 2: {ours:8.0f} jobs/s")
print(f"bwrap, 2 at a time:      {bwrap:8.0f} jobs/s")
print(f"ratio (ours / bwrap):    {ours / bwrap:8.2f}")
PY
