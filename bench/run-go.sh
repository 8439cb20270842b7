#!/bin/bash
# maelstrom-go-test against `go test -count=1` on real Go modules, pinned to exact versions (fetched through
# the Go module proxy into a scratch copy), side by side in one run.  Each module is run once by both first,
# untimed: the test binaries and go's build cache are then warm, and maelstrom-go-test's listing state knows
# every case's duration (so the longest go first).  Then RUNS timed runs of each, alternating; the median
# wall times and their ratio are printed.
#
#   bench/run-go.sh [BUILD-DIR] [RUNS]      (defaults: build 3)
set -euo pipefail
build=$(realpath "${1:-build}")
runs=${2:-3}
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
export XDG_CACHE_HOME="$tmp/xdg-cache"
export GOTOOLCHAIN=local

seconds() {
        local start end
        start=$(date +%s.%N)
        "$@" >"$tmp/out" 2>&1 || true
        end=$(date +%s.%N)
        python3 -c "print('%.2f' % ($end - $start))"
}

median() {
        python3 -c 'import statistics, sys; print("%.2f" % statistics.median(map(float, sys.argv[1:])))' "$@"
}

printf '%-42s %6s %10s %10s %8s\n' module cases "ours (s)" "go test (s)" ours/go
for m in "${modules[@]}"; do
        read -r modver excluded <<<"$m"
        dir=$(go mod download -json "$modver" | python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')
        work="$tmp/src/${modver//\//_}"
        mkdir -p "$tmp/src"
        cp -r "$dir" "$work"
        chmod -R u+w "$work"
        cd "$work"
        go mod download

        module=$(go list -m)
        exclude="none"
        packages=$(go list ./...)
        for p in $excluded; do
                exclude="$exclude | package_path.equals($p)"
                packages=$(grep -vx "$module/$p" <<<"$packages")
        done

        # Warm: build everything once, learn the durations.
        "$ours" --ui quiet -x "$exclude" >"$tmp/warm-ours" 2>&1 || true
        go test -count=1 $packages >"$tmp/warm-go" 2>&1 || true
        cases=$(sed -n 's/^Summary: \([0-9]*\) cases.*/\1/p' "$tmp/warm-ours")

        ours_times=() go_times=()
        for _ in $(seq "$runs"); do
                ours_times+=("$(seconds "$ours" --ui quiet -x "$exclude")")
                go_times+=("$(seconds go test -count=1 $packages)")
        done
        o=$(median "${ours_times[@]}")
        g=$(median "${go_times[@]}")
        printf '%-42s %6s %10s %10s %8s\n' "$modver" "$cases" "$o" "$g" "$(python3 -c "print('%.2fx' % ($o / $g))")"
        echo "    ours: ${ours_times[*]}; go test: ${go_times[*]}"
        echo "    ours: $(grep '^Summary' "$tmp/warm-ours")"
        cd - >/dev/null
done
