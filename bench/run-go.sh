#!/bin/bash
# maelstrom-go-test against `go test -count=1` on real Go modules, pinned to exact versions (fetched through
# the Go module proxy into a scratch copy), side by side in one run.  Each module is run once by both first,
# untimed: the test binaries and go's build cache are then warm, and maelstrom-go-test's listing state knows
# every case's duration (so the longest go first).  Then RUNS timed runs of each, alternating, the order
# rotating each round (what runs first in a round follows the last of the round before, on a machine that
# one left busy); the median wall times and their ratio are printed, with the load average before and after
# each module.
#
# Each run also times the process-per-case floor: every case that the warm-up's maelstrom-go-test ran (from
# its --json-events; IGNORED ones left out) run as a bare process, exactly as the runner runs it,
# `<test binary> -test.run '^Name$' -test.timeout=0 -test.v`, in the package's source directory, with no
# container, runner or worker, at most one per core at a time, longest first by the warm-up's durations
# (bench/floor.py: posix_spawn from one loop that waits for a free slot; the binaries come from our own
# `go test -c -o DIR/ PACKAGE...`, untimed).  No runner that starts a process per case can beat it: ours/floor
# is what our runner adds, floor/go what one process per case costs whatever the runner.  Its wall time is
# measured by the launcher from the first spawn to the last exit, its CPU is the cases' and the launcher's.
# A case that its binary does not list (-test.list .) would run nothing and pass at once: it is left out and
# reported.
#
# And the bound: the least a runner that follows the spec can take (bench/floor.py --bound): go's own check
# that the test binaries are up to date (`go list` as our runner runs it, and the floor's `go test -c`
# commands again), at the same time as the floor's cases each started in the namespaces the spec gives a job,
# with its own proc and tmpfs and nothing else (BUILD-DIR/bench/ns-floor), at most one per core at a time.
# Where bound/go is above 1, no runner that gives each case a container of its own, as the spec does, can
# be as fast as `go test` on that module here.
#
#   bench/run-go.sh [BUILD-DIR] [RUNS] [MODULE...]      (defaults: build 3, every module)
#
# MODULE picks modules by a part of their path (e.g. go-toml).  With BASELINE=OTHER-BUILD-DIR in the
# environment, that build (e.g. of the commit before a change) runs too, in the same alternation, with its
# own listing state and cache, so that before and after compare within one run.  OURS_ARGS adds options to
# our runs only, the warm-up's too (e.g. OURS_ARGS="--slots 3" with BASELINE naming the same build compares
# slot counts).  EDIT=DIR (with one MODULE) adds a new test to the package in DIR (relative to the module)
# before each timed run of ours, base and go test, so that go builds that package again each time, as after
# an edit; the floor's binaries stay as they were.
set -euo pipefail
here=$(dirname "$(realpath "$0")")
build=$(realpath "${1:-build}")
runs=${2:-3}
shift $(($# < 2 ? $# : 2))
wanted=("$@")
baseline=${BASELINE:+$(realpath "$BASELINE")}
read -ra ours_args <<<"${OURS_ARGS:-}"
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
        python3 -c 'import statistics, sys
try:
        print("%.2f" % statistics.median(map(float, sys.argv[1:])))
except ValueError:  # the floor without cases
        print("n/a")' "$@"
}

# The baseline keeps its state apart from ours: maelstrom-go-test keeps both in the module's directory.
in_baseline_copy() {
        local work=$1; shift
        (cd "$work.baseline" && "$@")
}

# The floor's cases (bench/floor.py): each case that the warm-up's maelstrom-go-test ran (its --json-events,
# IGNORED and NOT_RUN left out) as it runs them, `<binary> -test.run '^Name$' -test.timeout=0 -test.v`, with
# the package's source directory as the working directory.  The binaries are our own, built into
# FLOOR-DIR by `go test -c -o FLOOR-DIR/N/ PACKAGE...`: one command, or one per N when packages share a
# binary name (go names a binary after the import path's last element, or the one before a /vN).  Prints
# the number of cases and what could not be mapped to a binary on stderr.
floor_cases() {
        local events=$1 floor_dir=$2 out=$3; shift 3
        FLOOR_PY_DIR=$here python3 - "$events" "$floor_dir" "$out" "$@" <<'PY'
import json, os, re, subprocess, sys

events, floor_dir, out, packages = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
sys.path.insert(0, os.environ["FLOOR_PY_DIR"])
import floor  # bench/floor.py


def binary_name(import_path):
    elems = import_path.split("/")
    if len(elems) > 1 and re.fullmatch(r"v[2-9][0-9]*|v1[0-9]+", elems[-1]):
        return elems[-2] + ".test"
    return elems[-1] + ".test"


slots, binary = [], {}
for p in packages:
    name = binary_name(p)
    n = 0
    while n < len(slots) and name in slots[n]:
        n += 1
    if n == len(slots):
        slots.append({})
    slots[n][name] = p
    binary[p] = os.path.join(floor_dir, str(n), name)
for n, slot in enumerate(slots):
    d = os.path.join(floor_dir, str(n)) + "/"
    os.makedirs(d, exist_ok=True)
    # Packages without test files write nothing; a package that fails to build leaves its cases unmapped.
    subprocess.run(["go", "test", "-c", "-o", d] + list(slot.values()), stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
dirs = dict(l.split("\t", 1) for l in subprocess.run(
    ["go", "list", "-f", "{{.ImportPath}}\t{{.Dir}}"] + packages, check=True, capture_output=True,
    text=True).stdout.splitlines())
# What each binary lists (tests, examples, fuzz targets): a name the binary does not know would match nothing
# and pass at once, so such a case is left out and reported instead.
listed = {}
def known(b, name):
    if b not in listed:
        r = subprocess.run([b, "-test.list", "."], capture_output=True, text=True)
        listed[b] = set(r.stdout.split())
    return name in listed[b]


def case(e):
    b = binary.get(e["package"])
    if not b or not os.path.exists(b) or not known(b, e["name"]):
        return None
    # go_case_argv(): the name as a regexp matching only itself.
    run = "^" + re.sub(r"([\\.+*?()|\[\]{}^$])", r"\\\1", e["name"]) + "$"
    return {"duration": e["duration"], "name": f"{e['package']} {e['name']}",
            "argv": [b, "-test.run", run, "-test.timeout=0", "-test.v"], "cwd": dirs[e["package"]]}


cases, skipped, unmapped = floor.cases_from_events(events, case)
with open(out, "w") as f:
    json.dump(cases, f)
# The bound's check (floor.py --bound): go list as our runner runs it, then the same go test -c commands as
# above, which now find the binaries up to date.
check = [["go", "list", "-e", "-json=Dir,ImportPath,Name,TestGoFiles,XTestGoFiles,Module,Error", "./..."]]
for n, slot in enumerate(slots):
    check.append(["go", "test", "-c", "-o", os.path.join(floor_dir, str(n)) + "/"] + list(slot.values()))
with open(out + ".check", "w") as f:
    json.dump({"cwd": os.getcwd(), "commands": check}, f)
print(f"    floor: {len(cases)} cases from the warm-up's --json-events ({skipped} ignored or not run), "
      f"{sum(c['duration'] for c in cases):.2f} s of case run time"
      + (f"; {len(unmapped)} without a binary that lists them, left out: {', '.join(unmapped[:5])}"
         if unmapped else ""))
PY
}

# One floor run: "WALL CPU FAILED" (bench/floor.py measures from its first spawn to its last exit); with
# --bound before the arguments, one run of the bound.
floor_run() {
        local bound=()
        if [ "$1" = --bound ]; then
                bound=(--bound "$build/bench/ns-floor" "$2.check")
                shift
        fi
        python3 "$here/floor.py" "${bound[@]}" "$1" "$(nproc)" 600 | python3 -c '
import json, sys
r = json.load(sys.stdin)
if not r["cases"]:
    sys.exit(print("n/a n/a 0"))
print("%.2f %.2f %d%s%s" % (r["wall"], r["cpu"], len(r["failed"]), " timeout" if r["timeout"] else "",
                           " check-failed" if r.get("check_failed") else ""))
for n, code in r["failed"]:
    print("exit %d: %s" % (code, n), file=sys.stderr)' 2>>"$2"
}

ratio() {
        python3 -c 'import sys
try:
        print("%.2fx" % (float(sys.argv[1]) / float(sys.argv[2])))
except ValueError:
        print("-")' "$1" "$2"
}

if [ -n "$baseline" ]; then
        row='%-42s %6s %10s %10s %10s %10s %10s %8s %8s %10s %10s %8s\n'
        # shellcheck disable=SC2059
        printf "$row" module cases "ours (s)" "base (s)" "go test (s)" "floor (s)" "bound (s)" ours/go \
                base/go ours/floor floor/go bound/go
else
        row='%-42s %6s %10s %10s %10s %10s %8s %10s %10s %8s\n'
        # shellcheck disable=SC2059
        printf "$row" module cases "ours (s)" "go test (s)" "floor (s)" "bound (s)" ours/go ours/floor \
                floor/go bound/go
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
        "$ours" --ui quiet -x "$exclude" "${ours_args[@]}" >/dev/null 2>&1 || true
        rm -f "$tmp/events.jsonl"
        "$ours" --ui quiet -x "$exclude" "${ours_args[@]}" --json-events "$tmp/events.jsonl" \
                >"$tmp/warm-ours" 2>&1 || true
        if [ -n "$baseline" ]; then
                in_baseline_copy "$work" "$base" --ui quiet -x "$exclude" >/dev/null 2>&1 || true
                in_baseline_copy "$work" "$base" --ui quiet -x "$exclude" >/dev/null 2>&1 || true
        fi
        go test -count=1 $packages >"$tmp/warm-go" 2>&1 || true
        cases=$(sed -n 's/^Summary: \([0-9]*\) cases.*/\1/p' "$tmp/warm-ours")
        floor_note=$(floor_cases "$tmp/events.jsonl" "$tmp/floor-bin/${modver//\//_}" "$tmp/floor-cases.json" \
                $packages)
        : >"$tmp/floor-failed"
        : >"$tmp/bound-failed"
        floor_run "$tmp/floor-cases.json" /dev/null >/dev/null  # warm, untimed, like the others

        edit_package=
        if [ -n "${EDIT:-}" ]; then
                edit_package=$(go list -f '{{.Name}}' "./$EDIT")
        fi
        # A new test in the edited package of the copy at $1.
        edit() {
                [ -n "$edit_package" ] || return 0
                printf 'package %s\n\nimport "testing"\n\nfunc TestMaelstromBenchEdit%s(t *testing.T) {}\n' \
                        "$edit_package" "$RANDOM$RANDOM" >"$1/$EDIT/maelstrom_bench_edit_test.go"
        }

        ours_times=() base_times=() go_times=() ours_cpu=() base_cpu=() go_cpu=()
        floor_times=() floor_cpu=() floor_failed=() bound_times=() bound_cpu=() bound_failed=()
        # The order rotates each round: what runs right after the floor (two cores saturated by bare
        # processes) or after go test starts on a machine they left busy.
        sides=(ours go floor bound)
        [ -n "$baseline" ] && sides=(ours base go floor bound)
        for ((round = 0; round < runs; round++)); do
                for ((k = 0; k < ${#sides[@]}; k++)); do
                        case ${sides[(round + k) % ${#sides[@]}]} in
                        ours)
                                edit "$work"
                                read -r w c <<<"$(seconds "$ours" --ui quiet -x "$exclude" "${ours_args[@]}")"
                                ours_times+=("$w") ours_cpu+=("$c");;
                        base)
                                edit "$work.baseline"
                                read -r w c <<<"$(seconds in_baseline_copy "$work" "$base" --ui quiet \
                                                  -x "$exclude")"
                                base_times+=("$w") base_cpu+=("$c");;
                        go)
                                edit "$work"
                                read -r w c <<<"$(seconds go test -count=1 $packages)"
                                go_times+=("$w") go_cpu+=("$c");;
                        floor)
                                read -r w c f <<<"$(floor_run "$tmp/floor-cases.json" "$tmp/floor-failed")"
                                floor_times+=("$w") floor_cpu+=("$c") floor_failed+=("$f");;
                        bound)
                                edit "$work"
                                read -r w c f <<<"$(floor_run --bound "$tmp/floor-cases.json" \
                                                    "$tmp/bound-failed")"
                                bound_times+=("$w") bound_cpu+=("$c") bound_failed+=("$f");;
                        esac
                done
        done
        o=$(median "${ours_times[@]}")
        g=$(median "${go_times[@]}")
        fl=$(median "${floor_times[@]}")
        bd=$(median "${bound_times[@]}")
        cpu_medians="go test $(median "${go_cpu[@]}"), floor $(median "${floor_cpu[@]}"), bound"
        cpu_medians+=" $(median "${bound_cpu[@]}")"
        # shellcheck disable=SC2059
        if [ -n "$baseline" ]; then
                b=$(median "${base_times[@]}")
                printf "$row" "$modver" "$cases" "$o" "$b" "$g" "$fl" "$bd" "$(ratio "$o" "$g")" \
                        "$(ratio "$b" "$g")" "$(ratio "$o" "$fl")" "$(ratio "$fl" "$g")" \
                        "$(ratio "$bd" "$g")"
                echo "    ours: ${ours_times[*]}; base: ${base_times[*]}; go test: ${go_times[*]};" \
                        "floor: ${floor_times[*]}; bound: ${bound_times[*]}"
                echo "    CPU (s), medians: ours $(median "${ours_cpu[@]}")," \
                        "base $(median "${base_cpu[@]}"), $cpu_medians"
        else
                printf "$row" "$modver" "$cases" "$o" "$g" "$fl" "$bd" "$(ratio "$o" "$g")" \
                        "$(ratio "$o" "$fl")" "$(ratio "$fl" "$g")" "$(ratio "$bd" "$g")"
                echo "    ours: ${ours_times[*]}; go test: ${go_times[*]}; floor: ${floor_times[*]};" \
                        "bound: ${bound_times[*]}"
                echo "    CPU (s), medians: ours $(median "${ours_cpu[@]}"), $cpu_medians"
        fi
        echo "    ours: $(grep '^Summary' "$tmp/warm-ours")"
        echo "$floor_note"
        # The floor runs in the host with this script's environment; a case that fails there is timed all the
        # same, and counted here.
        failed_names=$(sort -u "$tmp/floor-failed" | head -5 | sed 's/^/; /' | tr -d '\n')
        echo "    floor: cases that failed run bare, each run: ${floor_failed[*]}$failed_names"
        failed_names=$(sort -u "$tmp/bound-failed" | head -5 | sed 's/^/; /' | tr -d '\n')
        echo "    bound: cases that failed, each run: ${bound_failed[*]}$failed_names"
        echo "    load average before: $load_before; after: $(cut -d' ' -f1-3 /proc/loadavg)"
        cd - >/dev/null
done
