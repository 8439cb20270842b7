#!/bin/bash
# TOML parsing speed: our parser against Python's tomllib (C-accelerated parts aside, the reference TOML 1.0
# parser on this machine), on the same generated documents, side by side in one run.
#
#   bench/run-toml.sh [BUILD-DIR]      (default: build)
set -euo pipefail
build=${1:-build}
bench="$build/bench/bench-toml"
[ -x "$bench" ] || { echo "build first: ninja -C $build" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# A cargo-maelstrom.toml-like spec file with many directives, and a listing-state-like file with many cases.
python3 - "$tmp" <<'PY'
import sys, os
d = sys.argv[1]
with open(os.path.join(d, "directives.toml"), "w") as f:
    f.write('[containers.base]\nlayers = [{ stubs = ["/{proc,sys,tmp}/", "/dev/{full,null,random,urandom,zero}"] }]\n')
    for i in range(2000):
        f.write(f'\n[[directives]]\nfilter = "package.equals(crate{i}) && name.starts_with(tests::)"\n'
                f'parent = "base"\ntimeout = {i % 60}\nenvironment = {{ RUST_BACKTRACE = "1", N = "{i}" }}\n'
                f'added_layers = [{{ glob = "data/{i}/**", strip_prefix = "data/" }}]\n'
                f'mounts = [{{ type = "tmp", mount_point = "/tmp" }}, {{ type = "proc", mount_point = "/proc" }}]\n')
with open(os.path.join(d, "listing.toml"), "w") as f:
    f.write('version = 1\n')
    for p in range(50):
        for a in range(4):
            f.write(f'\n[packages."pkg-{p}".artifacts."bin-{a}"]\ncases = [\n')
            for c in range(100):
                f.write(f'  {{ name = "tests::case_{c}", durations = [0.0{c}, 1.5e-3, 12.25], failed = {str(c % 7 == 0).lower()} }},\n')
            f.write(']\n')
PY

printf '%-16s %10s %12s %12s %8s\n' document size ours tomllib ratio
for doc in directives listing; do
        f="$tmp/$doc.toml"
        ours=$("$bench" "$f" 20)
        theirs=$(python3 - "$f" <<'PY'
import sys, time, tomllib
data = open(sys.argv[1], "rb").read().decode()
n = 5
t = time.process_time()
for _ in range(n):
    tomllib.loads(data)
print((time.process_time() - t) / n)
PY
)
        python3 -c "
import os
ours, theirs = $ours, $theirs
print('%-16s %9dK %10.2fms %10.2fms %7.1fx' % ('$doc', os.path.getsize('$f') // 1024, ours * 1e3, theirs * 1e3, theirs / ours))"
done
