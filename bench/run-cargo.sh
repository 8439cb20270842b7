#!/bin/bash
# Cargo test runners side by side: for each pinned crate of bench/cargo-crates.txt, the wall time of its
# whole test suite (unit, binary and integration tests; no doctests) under `cargo test --tests`,
# `cargo nextest run` and our cargo-maelstrom, with the test binaries already built, R rounds alternating in
# one run, and the medians as ratios.
#
# A fourth column, `floor`, is the process-per-case floor: every case that the warm-up's cargo-maelstrom ran
# (from its --json-events; IGNORED ones left out) run as a bare process, `<binary> --exact --nocapture
# <name>` in its package's directory with CARGO_MANIFEST_DIR set, as cargo test runs the binary, with no
# container, runner or worker, at most one per core at a time, longest first by the warm-up's durations
# (bench/floor.py: posix_spawn from one loop that waits for a free slot).  No runner that starts a process
# per case can beat it, so maelstrom/floor is what our runner adds and floor/cargo test what one process per
# case costs whatever the runner.  It is timed in the same rotation as the others, from its first spawn to
# its last exit.  Cases that fail bare
# (the host environment is not cargo's: only CARGO_MANIFEST_DIR is set) are timed all the same and counted
# in the output, their names in the logs.  A case that its binary does not list (`--list`) would run nothing
# and pass at once: it is left out and reported.
#
# A fifth, `bound`, is the least a runner that follows the spec can take (bench/floor.py --bound): cargo's
# no-op build check as cargo-maelstrom runs it (`cargo metadata`, then `cargo test --no-run`), at the same
# time as the floor's cases each started in the namespaces the spec gives a job, with its own proc and tmpfs
# and nothing else (BUILD-DIR/bench/ns-floor), at most one per core at a time.  Where bound/cargo test is
# above 1, no runner that gives each case a container of its own, as the spec does, can be as fast as
# `cargo test` on that crate here.
#
#   bench/run-cargo.sh [BUILD-DIR] [CRATE...]      (default: build, every crate of the list)
#
# Environment: ROUNDS (default 3), WARMUP untimed rounds before them (default 1, for warm caches), TIMEOUT
# seconds for one timed command (default 300), BUILD_TIMEOUT for fetching and building one crate (default
# 3600), CARGO_MAELSTROM (default: BUILD-DIR installed into a scratch directory), BENCH_CARGO_DIR (default
# ${XDG_CACHE_HOME:-~/.cache}/maelstrom-bench/cargo: each crate's source and target directory, kept across
# runs, and the logs of the last run), BENCH_RUST_BACKTRACE (RUST_BACKTRACE for the tests, default 0).
#
# Each crate's source comes through cargo itself (a throwaway package depending on `NAME = "=VERSION"`,
# `cargo fetch`, then a copy of the crate's directory from cargo's registry source cache) and builds with
# the Cargo.lock it ships (--locked).  bench/cargo-maelstrom/NAME.toml, when present, becomes the crate's
# cargo-maelstrom.toml (what its tests need beyond the default container).  Needs cargo-nextest
# (`cargo install cargo-nextest --locked`); cargo-maelstrom's column says "n/a" while the runner exits 2
# as "not available", and "fail" (with its log) when it fails.
set -euo pipefail
here=$(dirname "$(realpath "$0")")
build=${1:-build}
[ $# -gt 0 ] && shift
command -v cargo >/dev/null || { echo "needs cargo" >&2; exit 1; }
export BENCH_CARGO_DIR=${BENCH_CARGO_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/maelstrom-bench/cargo}
mkdir -p "$BENCH_CARGO_DIR"
if [ -z "${CARGO_MAELSTROM:-}" ]; then
        # The installed layout: cargo-maelstrom finds maelstrom-worker next to itself.
        install_dir=$(mktemp -d)
        trap 'rm -rf "$install_dir"' EXIT
        meson install -C "$build" --destdir "$install_dir" --no-rebuild --quiet >/dev/null
        CARGO_MAELSTROM=$(find "$install_dir" -name cargo-maelstrom -type f | head -1)
fi
export CARGO_MAELSTROM
# Every crate builds into its own target/ (a CARGO_TARGET_DIR of the caller would mix them).
unset CARGO_TARGET_DIR CARGO_BUILD_TARGET_DIR
export CARGO_TERM_COLOR=never
# Backtraces off unless asked for: with RUST_BACKTRACE=1 every panicking case symbolises the binary's debug
# info, once per process (about 0.1 s each here), which a runner of one process per case pays per case and
# cargo test once per binary.
export RUST_BACKTRACE=${BENCH_RUST_BACKTRACE:-0} RUST_LIB_BACKTRACE=${BENCH_RUST_BACKTRACE:-0}

python3 - "$here" "$(realpath "$build")/bench/ns-floor" "$@" <<'PY'
import json, os, shutil, signal, statistics, subprocess, sys, time

here, ns_floor, wanted = sys.argv[1], sys.argv[2], sys.argv[3:]
sys.path.insert(0, here)
import floor  # bench/floor.py
work = os.environ["BENCH_CARGO_DIR"]
rounds = int(os.environ.get("ROUNDS", "3"))
warmup = int(os.environ.get("WARMUP", "1"))
timeout = float(os.environ.get("TIMEOUT", "300"))
build_timeout = float(os.environ.get("BUILD_TIMEOUT", "3600"))
maelstrom = os.path.abspath(os.environ["CARGO_MAELSTROM"])
cores = len(os.sched_getaffinity(0))  # what libtest's default thread count follows
logs = os.path.join(work, "logs")
shutil.rmtree(logs, ignore_errors=True)
os.makedirs(logs)


def die(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


def run(cmd, cwd, limit, log=None, capture=False):
    """Run cmd in its own process group, stopped at the time limit.  Returns (rc or None on timeout,
    seconds, stdout if captured)."""
    out = subprocess.PIPE if capture else (open(log, "ab") if log else subprocess.DEVNULL)
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT if log else subprocess.DEVNULL,
                         stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        data, _ = p.communicate(timeout=limit)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        # SIGTERM first, so that a runner can stop the cases it started in process groups of their own.
        os.killpg(p.pid, signal.SIGTERM)
        try:
            data, _ = p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            data, _ = p.communicate()
        rc = None
    secs = time.monotonic() - t0
    if out not in (subprocess.PIPE, subprocess.DEVNULL):
        out.close()
    return rc, secs, (data.decode(errors="replace") if capture else None)


def checked(cmd, cwd, limit, what, capture=False):
    log = os.path.join(logs, "setup.log")
    with open(log, "a") as f:
        f.write(f"$ (cd {cwd} && {' '.join(cmd)})\n")
    rc, _, data = run(cmd, cwd, limit, None if capture else log, capture)
    if rc != 0:
        die(f"{what} failed ({'timed out' if rc is None else f'exit {rc}'}); see {log}")
    return data


def crate_list():
    crates = []
    with open(os.path.join(here, "cargo-crates.txt")) as f:
        for line in f:
            fields = line.split("#", 1)[0].split()
            if fields:
                crates.append((fields[0], fields[1]))
    if not wanted:
        return crates
    known = dict(crates)
    for w in wanted:
        if w not in known:
            die(f"unknown crate {w} (bench/cargo-crates.txt has {', '.join(known)})")
    return [(w, known[w]) for w in wanted]


def fetch(name, version):
    """The crate's source, copied out of cargo's registry cache into work/NAME-VERSION (kept)."""
    dest = os.path.join(work, f"{name}-{version}")
    if os.path.exists(os.path.join(dest, ".maelstrom-bench-source")):
        return dest
    pkg = os.path.join(work, "fetch", f"{name}-{version}")
    os.makedirs(pkg, exist_ok=True)
    with open(os.path.join(pkg, "Cargo.toml"), "w") as f:
        f.write('[package]\nname = "maelstrom-bench-fetch"\nversion = "0.0.0"\nedition = "2021"\n'
                'publish = false\n\n[lib]\npath = "lib.rs"\n\n[workspace]\n\n'
                f'[dependencies]\n{name} = "={version}"\n')
    open(os.path.join(pkg, "lib.rs"), "w").close()
    checked(["cargo", "fetch"], pkg, build_timeout, f"cargo fetch of {name} {version}")
    meta = json.loads(checked(["cargo", "metadata", "--format-version", "1", "--offline"], pkg,
                              build_timeout, "cargo metadata", capture=True))
    src = [os.path.dirname(p["manifest_path"]) for p in meta["packages"]
           if p["name"] == name and p["version"] == version]
    if not src:
        die(f"cargo metadata does not show {name} {version}")
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(src[0], dest + ".tmp", symlinks=True)
    open(os.path.join(dest + ".tmp", ".maelstrom-bench-source"), "w").close()
    os.rename(dest + ".tmp", dest)
    return dest


def prepare(name, version):
    d = fetch(name, version)
    spec = os.path.join(here, "cargo-maelstrom", f"{name}.toml")
    target_spec = os.path.join(d, "cargo-maelstrom.toml")
    if os.path.exists(spec):
        shutil.copyfile(spec, target_spec)
    elif os.path.exists(target_spec):
        os.unlink(target_spec)
    print(f"building {name} {version} in {d}", file=sys.stderr)
    # Every package of the lock file, optional ones too: nextest's `cargo metadata` wants them all.
    checked(["cargo", "fetch", "--locked"], d, build_timeout, f"fetching the dependencies of {name}")
    checked(["cargo", "test", "--no-run", "--locked"], d, build_timeout, f"building the tests of {name}")
    # The test executables (lib, bins, integration tests), from a no-op build, each under the id that
    # cargo-maelstrom gives its cases as their package (nextest's binary id: the library's under the
    # package's name, the others package::target, package::bin/target, ...), with its package's directory.
    meta = json.loads(checked(["cargo", "metadata", "--format-version", "1", "--no-deps", "--offline"], d,
                              timeout, f"cargo metadata of {name}", capture=True))
    package_names = {p["id"]: p["name"] for p in meta["packages"]}
    out = checked(["cargo", "test", "--no-run", "--locked", "--message-format=json"], d, timeout,
                  f"listing the test binaries of {name}", capture=True)
    bins = []
    artifacts = {}
    for line in out.splitlines():
        if not line.startswith("{"):
            continue
        m = json.loads(line)
        if m.get("reason") == "compiler-artifact" and m["profile"]["test"] and m.get("executable"):
            bins.append(m["executable"])
            bid = binary_id(package_names[m["package_id"]], m["target"]["name"], m["target"]["kind"])
            if bid:
                artifacts[bid] = (m["executable"], os.path.dirname(m["manifest_path"]))
    listing = checked(["cargo", "test", "--tests", "--locked", "-q", "--", "--list", "--format", "terse"], d,
                      timeout, f"listing the cases of {name}", capture=True)
    cases = sum(1 for l in listing.splitlines() if l.endswith(": test"))
    listing = checked(["cargo", "test", "--tests", "--locked", "-q", "--", "--list", "--format", "terse",
                       "--ignored"], d, timeout, f"listing the ignored cases of {name}", capture=True)
    ignored = sum(1 for l in listing.splitlines() if l.endswith(": test"))
    return d, bins, artifacts, cases, ignored


# src/runners/cargo-maelstrom.c: cargo_binary_id() and src/lib/testrunner: cargo_target_kind_from_cargo().
BINARY_ID_PREFIX = {"lib": "", "rlib": "", "dylib": "", "cdylib": "", "staticlib": "", "proc-macro": "",
                    "bin": "bin/", "test": "", "example": "example/", "bench": "bench/"}


def binary_id(package, target, kinds):
    for k in kinds:
        if k in BINARY_ID_PREFIX:
            if BINARY_ID_PREFIX[k] == "" and k != "test":
                return package
            return f"{package}::{BINARY_ID_PREFIX[k]}{target}"
    return None  # a build script or such: cargo-maelstrom does not run it


def floor_cases(events, artifacts):
    """The floor's cases from cargo-maelstrom's --json-events: each finished case that was not IGNORED (or
    NOT_RUN), as cargo-maelstrom runs it (`<binary> --exact --nocapture <name>`), in its package's
    directory with CARGO_MANIFEST_DIR, as cargo test runs it.  Returns (cases, ignored, unmapped)."""
    # What each binary lists: a name it does not know would run nothing and pass at once, so such a case is
    # left out and reported instead.
    listed = {}

    def known(exe, pkg_dir, name):
        if exe not in listed:
            out = run([exe, "--list", "--format", "terse"], pkg_dir, timeout, capture=True)[2] or ""
            listed[exe] = {l[:-len(": test")] for l in out.splitlines() if l.endswith(": test")}
        return name in listed[exe]

    def case(e):
        if e["package"] not in artifacts or not known(*artifacts[e["package"]], e["name"]):
            return None
        exe, pkg_dir = artifacts[e["package"]]
        return {"duration": e["duration"], "argv": [exe, "--exact", "--nocapture", e["name"]],
                "cwd": pkg_dir, "env": dict(os.environ, CARGO_MANIFEST_DIR=pkg_dir),
                "name": f"{e['package']} {e['name']}"}

    return floor.cases_from_events(events, case)


def startup_ms(d, bins, n=11):
    """Median over the binaries of each one's median `<bin> --list` time: a process start-up."""
    per_bin = []
    for b in bins:
        per_bin.append(statistics.median(run([b, "--list"], d, 60)[1] for _ in range(n)))
    return 1000 * statistics.median(per_bin)


have_nextest = run(["cargo", "nextest", "--version"], ".", 60)[0] == 0
have_maelstrom = os.access(maelstrom, os.X_OK)
runners = {
    "cargo test": ["cargo", "test", "--tests"],
    "nextest": ["cargo", "nextest", "run"] if have_nextest else None,
    "maelstrom": [maelstrom, "--ui", "simple"] if have_maelstrom else None,
    # Every case run bare (bench/floor.py), from the durations of the warm-up's cargo-maelstrom.
    "floor": "floor" if have_maelstrom else None,
    # The same cases in the namespaces of a container, beside cargo's no-op check (floor.py --bound).
    "bound": "bound" if have_maelstrom and os.access(ns_floor, os.X_OK) else None,
}
missing = {"nextest": "not installed", "maelstrom": "missing", "floor": "n/a", "bound": "n/a"}
floor_failed = {"floor": {}, "bound": {}}  # label -> crate -> the failed count of each round


def time_floor(label, crate, d, rnd, cases):
    if not cases:
        return "n/a"
    log = os.path.join(logs, f"{crate}-{label}-{rnd}.log")
    if label == "bound":
        check = [["cargo", "metadata", "--format-version", "1", "--no-deps"],
                 ["cargo", "test", "--no-run", "--message-format=json-render-diagnostics", "--workspace"]]
        res = floor.bound(cases, cores, timeout, ns_floor, {"cwd": d, "commands": check})
    else:
        res = floor.run(cases, cores, timeout)
    with open(log, "w") as f:
        f.write(f"{res['cases']} cases, {len(res['failed'])} failed, {res['wall']:.3f} s, "
                f"{res['cpu']:.3f} s of CPU{', timed out' if res['timeout'] else ''}"
                f"{', the check failed' if res.get('check_failed') else ''}\n")
        for n, code in res["failed"]:
            f.write(f"exit {code}: {n}\n")
    if res["timeout"]:
        return "timeout"
    if res.get("check_failed"):
        return "fail(check)"
    if rnd != "warmup":
        floor_failed[label].setdefault(crate, []).append(len(res["failed"]))
    return res["wall"]


def time_one(label, crate, d, rnd, extra=(), cases=None):
    if label in ("floor", "bound"):
        return time_floor(label, crate, d, rnd, cases)
    cmd = runners[label] + list(extra)
    log = os.path.join(logs, f"{crate}-{label.replace(' ', '-')}-{rnd}.log")
    rc, secs, _ = run(cmd, d, timeout, log)
    if rc == 0:
        return secs
    if rc is None:
        return "timeout"
    with open(log, errors="replace") as f:
        text = f.read()
    if label == "maelstrom" and rc == 2 and "not available" in text:
        return "n/a"
    return f"fail({rc})"


def value(v):
    return v[0] if isinstance(v, tuple) else v


def cell(v):
    if isinstance(v, tuple):
        return f"{v[0]:.2f} ({v[1]})"
    return f"{v:.2f}" if isinstance(v, float) else v


def ratio(a, b):
    a, b = value(a), value(b)
    return f"{a / b:.2f}" if isinstance(a, float) and isinstance(b, float) else "-"


load = open("/proc/loadavg").read().split()[0]
print(f"# {time.strftime('%Y-%m-%d')}, {cores} cores, load {load}, {rounds} rounds, "
      f"{runners['maelstrom'][0] if have_maelstrom else 'no cargo-maelstrom'}")
print(f"# logs: {logs}", flush=True)
rows = []
for name, version in crate_list():
    d, bins, artifacts, cases, ignored = prepare(name, version)
    start = startup_ms(d, bins)
    noop = statistics.median(run(["cargo", "test", "--tests", "--no-run"], d, timeout)[1] for _ in range(3))
    results = {label: [] for label in runners}
    labels = list(runners)
    # The warm-up's cargo-maelstrom writes --json-events: the cases it ran, with their durations, for the
    # floor (an untimed run of its own when there is no warm-up).
    events = os.path.join(logs, f"{name}-maelstrom-events.jsonl")
    for w in range(max(warmup, 1 if have_maelstrom else 0)):
        for label in labels:
            if runners[label] and label not in ("floor", "bound") and (w < warmup or label == "maelstrom"):
                time_one(label, name, d, "warmup", ["--json-events", events] if label == "maelstrom" else ())
    fcases, fignored, unmapped = floor_cases(events, artifacts) if have_maelstrom and os.path.exists(events) \
        else ([], 0, [])
    if have_maelstrom:
        print(f"# {name} floor: {len(fcases)} cases from cargo-maelstrom's --json-events ({fignored} ignored, "
              f"not run), {sum(c['duration'] for c in fcases):.2f} s of case run time"
              + (f"; {len(unmapped)} that no test binary lists, left out: {', '.join(unmapped[:5])}"
                 if unmapped else ""), flush=True)
    if warmup and fcases:
        time_one("floor", name, d, "warmup", cases=fcases)
        if runners["bound"]:
            time_one("bound", name, d, "warmup", cases=fcases)
    for rnd in range(rounds):
        # Rotate the order each round, so that drift in the machine's load falls on every runner.
        for label in labels[rnd % len(labels):] + labels[:rnd % len(labels)]:
            results[label].append(time_one(label, name, d, rnd, cases=fcases) if runners[label]
                                  else missing[label])
    med = {}
    for label, res in results.items():
        # The median of the rounds that passed; a round that failed or hung is counted next to it (nextest
        # has a rare missed wake-up that leaves a case blocked on its full output pipe).
        good = [r for r in res if isinstance(r, float)]
        bad = [r for r in res if not isinstance(r, float)]
        if not good:
            med[label] = bad[0]
        elif bad:
            med[label] = (statistics.median(good), f"{len(bad)} of {len(res)} {bad[0]}")
        else:
            med[label] = statistics.median(good)
    rows.append((name, version, cases, ignored, len(bins), med, start, noop))
    per_round = [f"{l} " + " ".join(cell(r) for r in res) for l, res in results.items()]
    per_round.append("maelstrom/floor " + " ".join(ratio(m, f) for m, f in zip(results["maelstrom"],
                                                                                results["floor"])))
    per_round.append("floor/cargo test " + " ".join(ratio(f, c) for f, c in zip(results["floor"],
                                                                                 results["cargo test"])))
    per_round.append("bound/cargo test " + " ".join(ratio(f, c) for f, c in zip(results["bound"],
                                                                                 results["cargo test"])))
    print(f"# {name} rounds: " + ", ".join(per_round), flush=True)
    for label, failed in floor_failed.items():
        # The floor runs in the host, not in cargo's environment: a case may need more of it (cargo sets
        # CARGO_PKG_NAME and the like at run time too, which we do not).
        if name in failed:
            print(f"# {name} {label}: cases that failed run bare, each round (timed all the same; their "
                  f"names in {logs}/{name}-{label}-*.log): {' '.join(map(str, failed[name]))}", flush=True)


print("| crate | version | cases (ignored) | binaries | cargo test s | nextest s | maelstrom s | floor s "
      "| bound s | maelstrom/nextest | maelstrom/cargo test | nextest/cargo test | maelstrom/floor "
      "| floor/cargo test | bound/cargo test | cargo test ms/case | start-up ms |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for name, version, cases, ignored, nbins, med, start, noop in rows:
    ct, nx, ml, fl, bd = med["cargo test"], med["nextest"], med["maelstrom"], med["floor"], med["bound"]
    ct_s = value(ct)
    # How long one case holds a core under cargo test: its time less cargo's own no-op build check,
    # times the cores its harness uses, over the cases run.
    run_cases = max(cases - ignored, 1)
    per_case = (f"{max(1000 * (ct_s - noop) * cores / run_cases, 0):.1f}" if isinstance(ct_s, float)
                else "-")
    print(f"| {name} | {version} | {cases} ({ignored}) | {nbins} | {cell(ct)} | {cell(nx)} | {cell(ml)} "
          f"| {cell(fl)} | {cell(bd)} | {ratio(ml, nx)} | {ratio(ml, ct)} | {ratio(nx, ct)} "
          f"| {ratio(ml, fl)} | {ratio(fl, ct)} | {ratio(bd, ct)} | {per_case} | {start:.1f} |")
PY
