#!/bin/bash
# Container throughput: our executor against bubblewrap, on the same one-layer root (busybox-static with
# /bin/true), N jobs with K at a time, in one run.  Also a plain posix_spawn of /bin/true for reference, and
# our executor with each network mode (a network namespace is most of a container's cost), and with the test
# runners' default container.  Last, what each shape of container costs the kernel apart from our executor
# (bench-container-shapes: everything per job, as the executor does, against a template made once).
#
#   bench/run-executor.sh [BUILD-DIR] [N] [K]      (defaults: build 2000 2)
set -euo pipefail
build=${1:-build}
n=${2:-2000}
k=${3:-2}
bench="$build/bench/bench-executor"
[ -x "$bench" ] || { echo "build first: ninja -C $build" >&2; exit 1; }
command -v bwrap >/dev/null || { echo "needs bubblewrap (apt install bubblewrap)" >&2; exit 1; }
[ -x /bin/busybox ] || { echo "needs busybox-static" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
root="$tmp/root"
mkdir -p "$root/bin" "$root/proc" "$root/dev" "$root/tmp" "$root/sys"
touch "$root/dev/full" "$root/dev/null" "$root/dev/random" "$root/dev/urandom" "$root/dev/zero"
cp /bin/busybox "$root/bin/busybox"
ln -s busybox "$root/bin/true"

"$bench" --spawn "$n" "$k"
ours=""
for net in local disabled loopback; do
        line=$("$bench" "$root" "$n" "$k" "$net")
        echo "$line"
        [ "$net" = disabled ] && ours=$(sed -n 's/.*jobs_per_second=\([0-9]*\).*/\1/p' <<<"$line")
done
# The test runners' default container (tmp, proc, sys and devices over two layers), network disabled.
echo "runner container: $(BENCH_RUNNER=1 "$bench" "$root" "$n" "$k" disabled)"

bwrap_rate() {
        local start end
        start=$(date +%s.%N)
        seq "$n" | xargs -P"$k" -I{} bwrap "$@" --ro-bind "$root" / /bin/true
        end=$(date +%s.%N)
        python3 -c "print(round($n / ($end - $start)))"
}
theirs=$(bwrap_rate --unshare-all)
echo "bwrap --unshare-all: jobs_per_second=$theirs"
echo "bwrap --unshare-all --share-net: jobs_per_second=$(bwrap_rate --unshare-all --share-net)"
python3 -c "print('ours (network disabled) / bwrap --unshare-all: %.2fx' % ($ours / $theirs))"
shapes="$build/bench/bench-container-shapes"
[ -x "$shapes" ] && "$shapes" "$root" 1000 3
