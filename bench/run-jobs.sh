#!/bin/bash
# Job throughput: N trivial jobs (/bin/true from busybox, one small layer, the cache warm) through
# maelstrom-run --slots 2, against the same container started N times with bubblewrap, two at a time, in the
# same run.
#
#   bench/run-jobs.sh [BUILD-DIR] [N] [SLEEP]      (default: build 1000, no sleep)
#
# With SLEEP (seconds, e.g. 0.05), each job is `sleep SLEEP` instead of `true`: a job that waits rather than
# computes, so the result is mostly what a slot loses between one job and the next (ending a container,
# reporting, starting the next), given as "turnaround" per job: wall time x 2 slots / N - SLEEP.
set -euo pipefail
build=$(realpath "${1:-build}")
n=${2:-1000}
sleep_s=${3:-}
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
ln -s busybox "$tmp/root/bin/sleep"
if [ -n "$sleep_s" ]; then
        program=(/bin/sleep "$sleep_s")
else
        program=(/bin/true)
fi

jobs="$tmp/jobs.json"
python3 - "$n" "$busybox" "${program[@]}" > "$jobs" <<'PY'
import json, sys
n, busybox, program, args = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
layers = [{"paths": [busybox], "strip_prefix": busybox.rsplit("/", 1)[0], "prepend_prefix": "/bin"},
          {"symlinks": [{"link": "/bin/true", "target": "busybox"}, {"link": "/bin/sleep", "target": "busybox"}]}]
for _ in range(n):
    print(json.dumps({"program": program, "arguments": args, "layers": layers}))
PY

export XDG_CACHE_HOME="$tmp/cache"
# Warm the cache (layers built and materialised once).
"$run" --slots 2 < <(head -1 "$jobs")

t0=$(date +%s.%N)
"$run" --slots 2 < "$jobs"
t1=$(date +%s.%N)
seq "$n" | xargs -P2 -I{} bwrap --unshare-all --ro-bind "$tmp/root" / "${program[@]}"
t2=$(date +%s.%N)

python3 - "$n" "$t0" "$t1" "$t2" "${sleep_s:-0}" <<'PY'
import sys
n, t0, t1, t2, sleep_s = int(sys.argv[1]), *map(float, sys.argv[2:])
ours, bwrap = n / (t1 - t0), n / (t2 - t1)
print(f"maelstrom-run --slots 2: {ours:8.0f} jobs/s")
print(f"bwrap, 2 at a time:      {bwrap:8.0f} jobs/s")
print(f"ratio (ours / bwrap):    {ours / bwrap:8.2f}")
if sleep_s > 0:
    turn_ours, turn_bwrap = ((t1 - t0) * 2 / n - sleep_s) * 1e3, ((t2 - t1) * 2 / n - sleep_s) * 1e3
    print(f"turnaround per job: ours {turn_ours:.2f} ms, bwrap {turn_bwrap:.2f} ms, "
          f"ratio {turn_ours / turn_bwrap:.2f}")
PY
