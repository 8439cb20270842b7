#!/bin/bash
# Cargo test runners side by side: for each pinned crate of bench/cargo-crates.txt, the wall time of its
# whole test suite (unit, binary and integration tests; no doctests) under `cargo test --tests`,
# `cargo nextest run` and our cargo-maelstrom, with the test binaries already built, R rounds alternating in
# one run, and the medians as ratios.
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

python3 - "$here" "$@" <<'PY'
import json, os, shutil, signal, statistics, subprocess, sys, time

here, wanted = sys.argv[1], sys.argv[2:]
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
    # The test executables (lib, bins, integration tests), from a no-op build.
    out = checked(["cargo", "test", "--no-run", "--locked", "--message-format=json"], d, timeout,
                  f"listing the test binaries of {name}", capture=True)
    bins = []
    for line in out.splitlines():
        if not line.startswith("{"):
            continue
        m = json.loads(line)
        if m.get("reason") == "compiler-artifact" and m["profile"]["test"] and m.get("executable"):
            bins.append(m["executable"])
    listing = checked(["cargo", "test", "--tests", "--locked", "-q", "--", "--list", "--format", "terse"], d,
                      timeout, f"listing the cases of {name}", capture=True)
    cases = sum(1 for l in listing.splitlines() if l.endswith(": test"))
    listing = checked(["cargo", "test", "--tests", "--locked", "-q", "--", "--list", "--format", "terse",
                       "--ignored"], d, timeout, f"listing the ignored cases of {name}", capture=True)
    ignored = sum(1 for l in listing.splitlines() if l.endswith(": test"))
    return d, bins, cases, ignored


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
}
missing = {"nextest": "not installed", "maelstrom": "missing"}


def time_one(label, crate, d, rnd):
    cmd = runners[label]
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
    d, bins, cases, ignored = prepare(name, version)
    start = startup_ms(d, bins)
    noop = statistics.median(run(["cargo", "test", "--tests", "--no-run"], d, timeout)[1] for _ in range(3))
    results = {label: [] for label in runners}
    labels = list(runners)
    for _ in range(warmup):
        for label in labels:
            if runners[label]:
                time_one(label, name, d, "warmup")
    for rnd in range(rounds):
        # Rotate the order each round, so that drift in the machine's load falls on every runner.
        for label in labels[rnd % len(labels):] + labels[:rnd % len(labels)]:
            results[label].append(time_one(label, name, d, rnd) if runners[label] else missing[label])
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
    print(f"# {name} rounds: " + ", ".join(f"{l} " + " ".join(cell(r) for r in res)
                                           for l, res in results.items()),
          flush=True)


print("| crate | version | cases (ignored) | binaries | cargo test s | nextest s | maelstrom s "
      "| maelstrom/nextest | maelstrom/cargo test | nextest/cargo test | cargo test ms/case | start-up ms |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for name, version, cases, ignored, nbins, med, start, noop in rows:
    ct, nx, ml = med["cargo test"], med["nextest"], med["maelstrom"]
    ct_s = value(ct)
    # How long one case holds a core under cargo test: its time less cargo's own no-op build check,
    # times the cores its harness uses, over the cases run.
    run_cases = max(cases - ignored, 1)
    per_case = (f"{max(1000 * (ct_s - noop) * cores / run_cases, 0):.1f}" if isinstance(ct_s, float)
                else "-")
    print(f"| {name} | {version} | {cases} ({ignored}) | {nbins} | {cell(ct)} | {cell(nx)} | {cell(ml)} "
          f"| {ratio(ml, nx)} | {ratio(ml, ct)} | {ratio(nx, ct)} | {per_case} | {start:.1f} |")
PY
