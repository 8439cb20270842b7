#!/bin/bash
# lib/rpc's cost against gRPC's bare core API, side by side in one run: round trips on one bidirectional
# stream, and one-way small and large messages, over a socketpair, both ends in one process.  Each figure is
# the median of RUNS runs (the machines are shared and noisy).
#
#   bench/run-rpc.sh [BUILD-DIR] [RUNS]      (defaults: build, 5)
set -euo pipefail
build=${1:-build}
runs=${2:-5}
for b in bench-rpc bench-grpc-raw; do
        [ -x "$build/bench/$b" ] || { echo "build first: ninja -C $build" >&2; exit 1; }
done

rounds=20000
count=100000
size=32

# median of the wall-clock seconds (first field) over $runs runs of "$@"
median() {
        for _ in $(seq "$runs"); do "$@"; done | sort -n |
                awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}

ours_pp=$(median "$build/bench/bench-rpc" pingpong $rounds)
raw_pp=$(median "$build/bench/bench-grpc-raw" pingpong $rounds)
ours_ow=$(median "$build/bench/bench-rpc" oneway $count $size)
raw_ow=$(median "$build/bench/bench-grpc-raw" oneway $count $size)
# Large messages, as blob uploads send them.
ours_big=$(median "$build/bench/bench-rpc" oneway 5000 65536)
raw_big=$(median "$build/bench/bench-grpc-raw" oneway 5000 65536)

python3 - "$ours_pp" "$raw_pp" "$ours_ow" "$raw_ow" "$ours_big" "$raw_big" $rounds $count $size <<'PY'
import sys
ours_pp, raw_pp, ours_ow, raw_ow, ours_big, raw_big = map(float, sys.argv[1:7])
rounds, count, size = map(int, sys.argv[7:10])
print(f"{'exchange':<34} {'lib/rpc':>14} {'raw core':>14} {'ours/raw':>9}")
print(f"{'ping-pong, us per round trip':<34} {ours_pp / rounds * 1e6:>14.1f} {raw_pp / rounds * 1e6:>14.1f} "
      f"{ours_pp / raw_pp:>8.1f}x")
print(f"{'ping-pong, round trips per second':<34} {rounds / ours_pp:>14,.0f} {rounds / raw_pp:>14,.0f}")
print(f"{f'one-way {size} B, messages per second':<34} {count / ours_ow:>14,.0f} {count / raw_ow:>14,.0f} "
      f"{ours_ow / raw_ow:>8.1f}x")
mib = 5000 * 65536 / 2**20
print(f"{'one-way 64 KiB, MiB per second':<34} {mib / ours_big:>14,.0f} {mib / raw_big:>14,.0f} "
      f"{ours_big / raw_big:>8.1f}x")
PY
