#!/bin/bash
# maelstrom-go-test against `go test -count=1` on real Go modules, pinned to exact versions (fetched through
# the Go module proxy into a scratch copy), side by side in one run.  Each module is run once by both first,
# untimed: the test binaries and go's build cache are then warm, and maelstrom-go-test's listing state knows
# every case's duration (so the longest go first).  Then RUNS timed runs of each, alternating; the median
# wall times and their ratio are printed, with the load average before and after each module.
#
#   bench/run-go.sh [BUILD-DIR] [RUNS] [MODULE...]      (defaults: build 3, every module)
#
# MODULE picks modules by a part of their path (e.g. go-toml).  With BASELINE=OTHER-BUILD-DIR in the
# environment, that build (e.g. of the commit before a change) runs too, in the same alternation, with its
# own listing state and cache, so that before and after compare within one run.
set -euo pipefail
build=$(realpath "${1:-build}")
runs=${2:-3}
shift $(($# < 2 ? $# : 2))
wanted=("$@")
baseline=${BASELINE:+$(realpath "$BASELINE")}
export PATH="/usr/local/go/bin:$PATH"
command -v go >/dev/null || { echo "needs go (https://go.dev/dl)" >&2; exit 1; }

# module@version, then the package paths (relative to the module) that do not build with a recent go, left
# out of both runs.
modules=(
        "golang.org/x/text@v0.22.0 cmd/gotext message/pipeline"
        "github.com/pelletier/go-toml/v2@v2.2.2"
        "github.com/go-playground/validator/v10@v10.22.0"
        "github.com/stretchr/testify@v1.9.0"
)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
meson install -C "$build" --destdir "$tmp/install" --no-rebuild --quiet >/dev/null
ours=$(find "$tmp/install" -name maelstrom-go-test -type f | head -1)
if [ -n "$baseline" ]; then
        meson install -C "$baseline" --destdir "$tmp/baseline" --no-rebuild --quiet >/dev/null
        base=$(find "$tmp/baseline" -name maelstrom-go-test -type f | head -1)
fi
export XDG_CACHE_HOME="$tmp/xdg-cache"
export GOTOOLCHAIN=local

# "WALL CPU" in seconds: CPU is user + system time of the command and of every process it waited for (the
# local worker, the containers, go's tools), which a shared machine's load moves less than the wall time.
# Run it in a subshell, whose `times` then counts this command only.
seconds() {
        local start end
        start=$(date +%s.%N)
        "$@" >"$tmp/out" 2>&1 || true
        end=$(date +%s.%N)
        times >"$tmp/times"
        python3 - "$start" "$end" "$(tail -1 "$tmp/times")" <<'PY'
import re, sys
cpu = sum(int(m) * 60 + float(s) for m, s in re.findall(r"(\d+)m([\d.]+)s", sys.argv[3]))
print("%.2f %.2f" % (float(sys.argv[2]) - float(sys.argv[1]), cpu))
PY
}

median() {
        python3 -c 'import statistics, sys; print("%.2f" % statistics.median(map(float, sys.argv[1:])))' "$@"
}

# The baseline keeps its state apart from ours: maelstrom-go-test keeps both in the module's directory.
in_baseline_copy() {
        local work=$1; shift
        (cd "$work.baseline" && "$@")
}

if [ -n "$baseline" ]; then
        printf '%-42s %6s %10s %10s %10s %8s %8s\n' module cases "ours (s)" "base (s)" "go test (s)" ours/go \
                base/go
else
        printf '%-42s %6s %10s %10s %8s\n' module cases "ours (s)" "go test (s)" ours/go
fi
for m in "${modules[@]}"; do
        read -r modver excluded <<<"$m"
        if [ ${#wanted[@]} -gt 0 ]; then
                match=0
                for w in "${wanted[@]}"; do
                        [[ $modver == *"$w"* ]] && match=1
                done
                [ $match = 1 ] || continue
        fi
        load_before=$(cut -d' ' -f1-3 /proc/loadavg)
        dir=$(go mod download -json "$modver" | python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')
        work="$tmp/src/${modver//\//_}"
        mkdir -p "$tmp/src"
        cp -r "$dir" "$work"
        chmod -R u+w "$work"
        if [ -n "$baseline" ]; then
                cp -r "$work" "$work.baseline"
        fi
        cd "$work"
        go mod download

        module=$(go list -m)
        exclude="none"
        packages=$(go list ./...)
        for p in $excluded; do
                exclude="$exclude | package_path.equals($p)"
                packages=$(grep -vx "$module/$p" <<<"$packages")
        done

        # Warm: build everything once, learn the durations (twice: the client's digest cache keeps only
        # files that were older than a second when it hashed them).
        "$ours" --ui quiet -x "$exclude" >/dev/null 2>&1 || true
        "$ours" --ui quiet -x "$exclude" >"$tmp/warm-ours" 2>&1 || true
        if [ -n "$baseline" ]; then
                in_baseline_copy "$work" "$base" --ui quiet -x "$exclude" >/dev/null 2>&1 || true
                in_baseline_copy "$work" "$base" --ui quiet -x "$exclude" >/dev/null 2>&1 || true
        fi
        go test -count=1 $packages >"$tmp/warm-go" 2>&1 || true
        cases=$(sed -n 's/^Summary: \([0-9]*\) cases.*/\1/p' "$tmp/warm-ours")

        ours_times=() base_times=() go_times=() ours_cpu=() base_cpu=() go_cpu=()
        for _ in $(seq "$runs"); do
                read -r w c <<<"$(seconds "$ours" --ui quiet -x "$exclude")"
                ours_times+=("$w") ours_cpu+=("$c")
                if [ -n "$baseline" ]; then
                        read -r w c <<<"$(seconds in_baseline_copy "$work" "$base" --ui quiet -x "$exclude")"
                        base_times+=("$w") base_cpu+=("$c")
                fi
                read -r w c <<<"$(seconds go test -count=1 $packages)"
                go_times+=("$w") go_cpu+=("$c")
        done
        o=$(median "${ours_times[@]}")
        g=$(median "${go_times[@]}")
        ratio() {
                python3 -c "print('%.2fx' % ($1 / $2))"
        }
        if [ -n "$baseline" ]; then
                b=$(median "${base_times[@]}")
                printf '%-42s %6s %10s %10s %10s %8s %8s\n' "$modver" "$cases" "$o" "$b" "$g" "$(ratio "$o" "$g")" \
                        "$(ratio "$b" "$g")"
                echo "    ours: ${ours_times[*]}; base: ${base_times[*]}; go test: ${go_times[*]}"
                echo "    CPU (s), medians: ours $(median "${ours_cpu[@]}"), base $(median "${base_cpu[@]}"), go test" \
                        "$(median "${go_cpu[@]}")"
        else
                printf '%-42s %6s %10s %10s %8s\n' "$modver" "$cases" "$o" "$g" "$(ratio "$o" "$g")"
                echo "    ours: ${ours_times[*]}; go test: ${go_times[*]}"
                echo "    CPU (s), medians: ours $(median "${ours_cpu[@]}"), go test $(median "${go_cpu[@]}")"
        fi
        echo "    ours: $(grep '^Summary' "$tmp/warm-ours")"
        echo "    load average before: $load_before; after: $(cut -d' ' -f1-3 /proc/loadavg)"
        cd - >/dev/null
done
