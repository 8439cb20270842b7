#!/usr/bin/env python3
# SPDX-License-Identifier: MIT OR Apache-2.0
"""Run the toml-test corpus against a toml-test "decoder".

Usage: toml-test.py DECODER CORPUS-DIR

Every valid/**/*.toml must decode (exit 0) to JSON equal to the .json beside it; every invalid/**/*.toml must be
rejected (exit 1).  Values are compared the way the upstream toml-test harness does: same type tags; integers and
floats as numbers (nan equals nan); date-times semantically (space or 'T', case of 't'/'z', fractional seconds
by value, offset date-times as instants); strings exactly; tables by key set; arrays in order.
"""

import concurrent.futures
import json
import math
import os
import re
import subprocess
import sys
from fractions import Fraction

TIMEOUT = 10
WORKERS = 4
SNIPPET = 300

SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer", "runtime error:")


class Mismatch(Exception):
    pass


def shorten(text, limit=SNIPPET):
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def is_leaf(v):
    return (isinstance(v, dict) and set(v.keys()) == {"type", "value"}
            and isinstance(v["type"], str) and isinstance(v["value"], str))


def days_from_civil(y, m, d):
    # Howard Hinnant's algorithm: days since 1970-01-01 in the proleptic Gregorian calendar.
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


TIME_RE = r"(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?"
DATE_RE = r"(\d{4})-(\d{2})-(\d{2})"
PATTERNS = {
    "datetime": re.compile(DATE_RE + "T" + TIME_RE + r"(Z|[+-]\d{2}:\d{2})$"),
    "datetime-local": re.compile(DATE_RE + "T" + TIME_RE + "$"),
    "date-local": re.compile(DATE_RE + "$"),
    "time-local": re.compile(TIME_RE + "$"),
}


def parse_datetime(kind, text):
    s = text.strip()
    if kind in ("datetime", "datetime-local") and len(s) > 10 and s[10] in " tT":
        s = s[:10] + "T" + s[11:]
    s = s.replace("z", "Z")
    m = PATTERNS[kind].match(s)
    if not m:
        raise Mismatch(f"cannot parse {kind} value {text!r}")
    g = m.groups()

    def time_part(h, mi, sec, frac):
        return int(h), int(mi), int(sec or 0), Fraction(int(frac), 10 ** len(frac)) if frac else Fraction(0)

    if kind == "date-local":
        return tuple(int(x) for x in g)
    if kind == "time-local":
        return time_part(*g)
    y, mo, d = (int(x) for x in g[:3])
    h, mi, sec, frac = time_part(*g[3:7])
    if kind == "datetime-local":
        return (y, mo, d, h, mi, sec, frac)
    off = g[7]
    offset = 0 if off == "Z" else (1 if off[0] == "+" else -1) * (int(off[1:3]) * 3600 + int(off[4:6]) * 60)
    return (days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset, frac)


def parse_float(text):
    try:
        return float(text.replace("_", ""))
    except ValueError:
        raise Mismatch(f"cannot parse float {text!r}")


def compare_leaf(path, want, have):
    if not is_leaf(have):
        raise Mismatch(f"{path}: expected a {want['type']} value, got {shorten(json.dumps(have), 80)}")
    kind = want["type"]
    if have["type"] != kind:
        raise Mismatch(f"{path}: expected type {kind}, got {have['type']}")
    w, h = want["value"], have["value"]
    if kind == "integer":
        try:
            equal = int(w) == int(h)
        except ValueError:
            raise Mismatch(f"{path}: cannot parse integer {h!r}")
    elif kind == "float":
        fw, fh = parse_float(w), parse_float(h)
        equal = (math.isnan(fw) and math.isnan(fh)) or fw == fh
    elif kind in PATTERNS:
        equal = parse_datetime(kind, w) == parse_datetime(kind, h)
    else:
        equal = w == h
    if not equal:
        raise Mismatch(f"{path}: expected {kind} {w!r}, got {h!r}")


def compare(path, want, have):
    if is_leaf(want):
        compare_leaf(path, want, have)
    elif isinstance(want, dict):
        if not isinstance(have, dict) or is_leaf(have):
            raise Mismatch(f"{path}: expected a table, got {shorten(json.dumps(have), 80)}")
        missing = sorted(set(want) - set(have))
        extra = sorted(set(have) - set(want))
        if missing:
            raise Mismatch(f"{path}: missing keys {missing}")
        if extra:
            raise Mismatch(f"{path}: unexpected keys {extra}")
        for k in want:
            compare(f"{path}.{k}" if path else k, want[k], have[k])
    elif isinstance(want, list):
        if not isinstance(have, list):
            raise Mismatch(f"{path}: expected an array, got {shorten(json.dumps(have), 80)}")
        if len(want) != len(have):
            raise Mismatch(f"{path}: expected an array of {len(want)} elements, got {len(have)}")
        for i, (w, h) in enumerate(zip(want, have)):
            compare(f"{path}[{i}]", w, h)
    else:
        raise Mismatch(f"{path}: malformed expected JSON {shorten(json.dumps(want), 80)}")


def run_decoder(decoder, toml_path):
    with open(toml_path, "rb") as f:
        data = f.read()
    return subprocess.run([decoder], input=data, capture_output=True, timeout=TIMEOUT)


def check_file(decoder, corpus, toml_path, valid):
    """Returns None on success, else a reason."""
    try:
        proc = run_decoder(decoder, toml_path)
    except subprocess.TimeoutExpired:
        return f"timed out after {TIMEOUT} s"
    except OSError as e:
        return f"could not run decoder: {e}"

    stderr = proc.stderr.decode("utf-8", errors="replace")
    if any(m in stderr for m in SANITIZER_MARKERS):
        return f"sanitizer report: {shorten(stderr)}"

    if not valid:
        if proc.returncode == 1:
            return None
        if proc.returncode == 0:
            return f"accepted invalid input; output: {shorten(proc.stdout)}"
        return f"exit status {proc.returncode} (expected 1); stderr: {shorten(stderr)}"

    if proc.returncode != 0:
        return f"rejected (exit status {proc.returncode}): {shorten(stderr)}"
    try:
        have = json.loads(proc.stdout.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        return f"decoder output is not valid JSON ({e}): {shorten(proc.stdout)}"
    json_path = toml_path[: -len(".toml")] + ".json"
    try:
        with open(json_path, "rb") as f:
            want = json.loads(f.read().decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        return f"cannot read expected JSON {os.path.relpath(json_path, corpus)}: {e}"
    try:
        compare("", want, have)
    except Mismatch as e:
        return f"{e}; output: {shorten(proc.stdout)}"
    return None


def collect(corpus, kind):
    root = os.path.join(corpus, kind)
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            if name.endswith(".toml"):
                found.append(os.path.join(dirpath, name))
    return found


def main(argv):
    if len(argv) != 3:
        print(f"usage: {argv[0]} DECODER CORPUS-DIR", file=sys.stderr)
        return 2
    decoder, corpus = os.path.abspath(argv[1]), argv[2]

    jobs = [(p, True) for p in collect(corpus, "valid")] + [(p, False) for p in collect(corpus, "invalid")]
    if not jobs:
        print(f"toml-test: no test files found in {corpus}", file=sys.stderr)
        print("toml-test: 0 passed, 0 failed")
        return 1

    passed = failed = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = [pool.submit(check_file, decoder, corpus, p, valid) for p, valid in jobs]
        for (p, valid), fut in zip(jobs, futures):
            reason = fut.result()
            if reason is None:
                passed += 1
            else:
                failed += 1
                print(f"FAIL {os.path.relpath(p, corpus)}: {reason}", flush=True)

    print(f"toml-test: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
