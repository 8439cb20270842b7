#!/usr/bin/env python3
# SPDX-License-Identifier: MIT OR Apache-2.0
"""Drive pattern-eval with a table of test filter patterns for the three runner syntaxes.

Usage: test-pattern-eval.py PATTERN-EVAL

Each row is (pattern, test case or None, expected): expected is True/False/None (unknown) for a match, or
("error", column) for a pattern that must be refused at that column.  Requests for one syntax go through one
pattern-eval process, one JSON line each, and the answers must come back in order.
"""

import json
import subprocess
import sys

U = "unknown"  # marks a field left out of the test case

CARGO_CASE = {"name": "io::read_all", "package": "core-io", "kind": "test", "target": "integration"}
GO_CASE = {"name": "TestReadAll", "package_import_path": "example.com/m/io/util", "package_path": "io/util",
           "package_name": "util"}
PYTEST_CASE = {"name": "test_read[1-2]", "file": "tests/io/test_read.py", "package": "tests.io",
               "node_id": "tests/io/test_read.py::test_read[1-2]", "markers": ["slow", "net"]}


def err(column):
    return ("error", column)


def glob_escape(s):
    return "".join("\\" + ch if ch in "[]{}*?\\" else ch for ch in s)


def common_rows(case, field, value):
    """Rows that hold for every syntax: field is a compound selector whose value in case is value."""
    rows = []
    for word in ("all", "al", "any", "an", "true", "tr", "tru", "all()", "true()"):
        rows.append((word, case, True))
    for word in ("none", "non", "no", "n", "false", "f", "fals", "none()", "f()"):
        rows.append((word, case, False))
    for bad, column in (("a", 1), ("t", 1), ("All", 1), ("alll", 1), ("", 1), ("all()()", 6), ("all ()", 5),
                        ("(all", 5), ("all)", 4), ("()", 2), ("!", 2), ("! all", 2), ("notall", 1),
                        ("not(all)", 4), ("all and(none)", 5), ("all AND none", 5), ("all &", 6),
                        ("all | | none", 7), ("all none", 5), ("| all", 1), ("(all)or(none)", 6),
                        ("all minus(none)", 5), ("all andnone", 5)):
        rows.append((bad, None, err(column)))
    # Operators, every spelling, against the truth table.
    for a, b in (("all", "all"), ("all", "none"), ("none", "all"), ("none", "none")):
        va, vb = a == "all", b == "all"
        for op in ("&", "&&", "+", " & ", " && ", " + ", " and "):
            rows.append((a + op + b, case, va and vb))
        for op in ("\\", "-", " \\ ", " - ", " minus "):
            rows.append((a + op + b, case, va and not vb))
        for op in ("|", "||", " | ", " || ", " or "):
            rows.append((a + op + b, case, va or vb))
    for text, expected in (("!all", False), ("~none", True), ("not all", False), ("not  none", True),
                           ("!!all", True), ("not ~all", True), ("!(none | all)", False),
                           ("all | all & none", True), ("(all | all) & none", False),
                           ("none & none | all", True), ("all - all | all", True), ("all - (all | all)", False),
                           ("  ( all )  ", True), ("((( none )))", False), ("not all or all", True),
                           ("all - none - none", True), ("all - none - all", False)):
        rows.append((text, case, expected))
    # The field's matchers.
    n = len(value)
    for text, expected in (
            ("%s.equals(%s)" % (field, value), True),
            ("%s.equals(%s)" % (field, value[:-1]), False),
            ("%s.eq[%s]" % (field, value), True),
            ("%s.contains{%s}" % (field, value[1:-1]), True),
            ("%s.c<%s>" % (field, value + "x"), False),
            (("%s.starts_with/%s/" if "/" not in value else "%s.starts_with<%s>") % (field, value[: n // 2]),
             True),
            ("%s.s(%s)" % (field, value[1:]), False),
            ("%s.ends_with(%s)" % (field, value[n // 2:]), True),
            ("%s.en(%s)" % (field, value[:-1]), False),
            ("%s.matches(^%s$)" % (field, value[0]), False),
            ("%s.m(^%s)" % (field, value[0]), True),
            ("%s.m(%s)" % (field, value[2:4]), True),
            ("%s.globs(*)" % field, True),
            ("%s.g(%s*)" % (field, value[0]), True),
            ("%s.g(%s)" % (field, value[0]), False),
            ("%s.g(?%s)" % (field, glob_escape(value[1:])), True),
            ("%s.contains()" % field, True),
            ("%s.equals()" % field, False),
            ("!%s.equals(%s)" % (field, value), False),
            ("all - %s.equals(%s)" % (field, value), False),
    ):
        rows.append((text, case, expected))
        unknown = {k: None for k in case}
        rows.append((text, unknown, None if field in text else expected))
    col = len(field) + 2
    rows.append(("%s.e(x)" % field, None, err(col)))
    rows.append(("%s.x(x)" % field, None, err(col)))
    rows.append(("%s.equals" % field, None, err(col + 6)))
    rows.append(("%s.equals(x" % field, None, err(col + 8)))
    rows.append(("%s.matches(*)" % field, None, err(col + 8)))
    rows.append(("%s.matches((a)" % field, None, err(col + 8 + 3)))
    rows.append(("%s.globs([a)" % field, None, err(col + 6)))
    rows.append(("%s.globs({a)" % field, None, err(col + 6)))
    rows.append((field, None, err(len(field) + 1)))
    # Unknown logic.
    unknown = {k: None for k in case}
    for text, expected in (("%s.eq(x)", None), ("none & %s.eq(x)", False), ("%s.eq(x) & none", False),
                           ("all | %s.eq(x)", True), ("%s.eq(x) | all", True), ("none | %s.eq(x)", None),
                           ("all - %s.eq(x)", None), ("%s.eq(x) - all", False), ("!%s.eq(x)", None)):
        rows.append((text % field, unknown, expected))
    return rows


def cargo_rows():
    c = CARGO_CASE
    rows = common_rows(c, "name", c["name"]) + common_rows(c, "package", c["package"])
    for word, kind in (("library", "library"), ("l", "library"), ("binary", "binary"), ("bi", "binary"),
                       ("benchmark", "benchmark"), ("be", "benchmark"), ("bench", "benchmark"),
                       ("example", "example"), ("e", "example"), ("test", "test"), ("te", "test")):
        for k in ("library", "binary", "test", "example", "benchmark"):
            rows.append((word, dict(c, kind=k), k == kind))
        rows.append((word, dict(c, kind=None), None))
    for text, case, expected in (
            ("test.equals(integration)", c, True),
            ("te.eq(integration)", c, True),
            ("binary.equals(integration)", c, False),
            ("binary.equals(integration)", dict(c, kind="binary"), True),
            ("bi.c(integ)", dict(c, kind="binary", target=None), None),
            ("bi.c(integ)", dict(c, kind="test", target=None), False),
            ("be.c(integ)", dict(c, kind=None), None),
            ("e.starts_with(int)", dict(c, kind="example"), True),
            ("e.starts_with(x)", dict(c, kind="example"), False),
            ("test.matches(^int.*n$)", c, True),
            ("test.globs(int*)", c, True),
            ("test - name.c(read)", c, False),
            ("test - name.c(write)", c, True),
            ("library | test", c, True),
            ("library & n.c(io)", c, False),
            ("p.eq(core-io) & te", c, True),
            ("n.m(::read_) and not bi", c, True),
            ("name.matches((read|write)_all$)", c, True),
            ("name.matches((read|write)_all$)", dict(c, name="io::read_all_x"), False),
            ("name.equals([io::read_all])", dict(c, name="[io::read_all]"), True),
            ("name.equals((io::read_all))", dict(c, name="(io::read_all)"), True),
            ("name.equals<<a>>", dict(c, name="<a>"), True),
            ("name.equals{{a}{b}}", dict(c, name="{a}{b}"), True),
            ("name.equals/a(b/", dict(c, name="a(b"), True),
            ("name.globs(io::{read,write}_*)", c, True),
            ("name.globs(io::{write,open}_*)", c, False),
            ("name.globs(io::[q-s]ead_all)", c, True),
            ("name.globs(io::[!q-s]ead_all)", c, False),
            ("name.globs(io\\:\\:read_all)", c, True),
            ("name.globs(**)", c, True),
            ("package.globs(core?io)", c, True),
    ):
        rows.append((text, case, expected))
    for bad, column in (("b", 1), ("t.eq(x)", 1), ("n.e(x)", 3), ("library.eq(x)", 1), ("b.eq(x)", 1),
                        ("name", 5), ("package()", 8), ("markers.contains(x)", 1), ("file.eq(x)", 1),
                        ("target.eq(x)", 1)):
        rows.append((bad, None, err(column)))
    return rows


def go_rows():
    c = GO_CASE
    rows = common_rows(c, "name", c["name"])
    rows += common_rows(c, "package_import_path", c["package_import_path"])
    rows += common_rows(c, "package_path", c["package_path"])
    rows += common_rows(c, "package_name", c["package_name"])
    for text, case, expected in (
            ("p.c(m/io)", c, True),
            ("package.eq(example.com/m/io/util)", c, True),  # "package" abbreviates package_import_path
            ("pa.eq(example.com/m/io/util)", c, True),
            ("package_.eq(example.com/m/io/util)", c, True),
            ("package_i.eq(example.com/m/io/util)", c, True),
            ("package_p.eq(io/util)", c, True),
            ("package_n.eq(util)", c, True),
            ("package_n.eq(io/util)", c, False),
            ("package_path.equals()", dict(c, package_path=""), True),
            ("n.s(Test) & package_name.eq(util)", c, True),
            ("name.m(^Test) - package_path.starts_with(io/)", c, False),
            ("n.g(Test*All)", c, True),
            ("p.eq(x)", dict(c, package_import_path=None), None),
    ):
        rows.append((text, case, expected))
    for bad, column in (("package_x.eq(x)", 1), ("library", 1), ("test", 1), ("file.eq(x)", 1),
                        ("package_name", 13), ("markers.contains(x)", 1)):
        rows.append((bad, None, err(column)))
    return rows


def pytest_rows():
    c = PYTEST_CASE
    rows = common_rows(c, "name", c["name"]) + common_rows(c, "file", c["file"])
    rows += common_rows(c, "package", c["package"]) + common_rows(c, "node_id", c["node_id"])
    for text, case, expected in (
            ("markers.contains(slow)", c, True),
            ("markers.contains(net)", c, True),
            ("markers.contains(sl)", c, False),
            ("markers.c<slow>", c, True),
            ("markers.contains(slow)", dict(c, markers=[]), False),
            ("markers.contains(slow)", dict(c, markers=None), None),
            ("all - markers.contains(slow)", c, False),
            ("not markers.contains(gpu)", c, True),
            ("na.eq(test_read[1-2])", c, True),
            ("no.ends_with([1-2])", c, True),
            ("f.g(tests/**/test_*.py)", c, True),
            ("f.g(tests/*.py)", c, True),
            ("p.eq(tests.io) & markers.contains(net)", c, True),
            ("name.matches(\\[\\d-\\d\\]$)", c, True),
            ("name.equals(test_read[1-2])", c, True),
            ("name.equals[test_read[1-2]]", c, True),
    ):
        rows.append((text, case, expected))
    for bad, column in (("n.eq(x)", 1), ("markers.equals(x)", 9), ("marker.contains(x)", 1),
                        ("m.contains(x)", 1), ("markers", 8), ("library", 1), ("target.eq(x)", 1),
                        ("package_path.eq(x)", 1)):
        rows.append((bad, None, err(column)))
    return rows


def filter_rows(case, field, value):
    """-i/-x lists: (include, exclude, case, expected)."""
    eq = "%s.equals(%s)" % (field, value)
    ne = "%s.equals(%s)" % (field, value + "x")
    unknown = {k: None for k in case}
    return [
        ([], [], case, True),
        ([eq], [], case, True),
        ([ne], [], case, False),
        ([ne, eq], [], case, True),
        ([], [eq], case, False),
        ([], [ne], case, True),
        ([eq], [ne], case, True),
        ([eq], [ne, eq], case, False),
        ([], [], unknown, True),
        ([eq], [], unknown, None),
        ([], [eq], unknown, None),
        (["none"], [eq], unknown, False),
        ([eq, "all"], [], unknown, True),
        (["all"], ["all"], unknown, False),
        ([eq, "%s.equals(" % field], [], case, err(len(field) + 9)),
        ([], ["all", "nonsense"], case, err(1)),
    ]


def run(tool, syntax, rows, filters):
    requests = []
    for text, case, expected in rows:
        req = {"pattern": text}
        if case is not None:
            req["test"] = case
        requests.append((req, expected))
    for include, exclude, case, expected in filters:
        requests.append(({"include": include, "exclude": exclude, "test": case}, expected))

    stdin = "".join(json.dumps(r) + "\n" for r, _ in requests)
    proc = subprocess.run([tool, syntax], input=stdin, capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        return ["%s: pattern-eval exited %d: %s" % (syntax, proc.returncode, proc.stderr)]
    answers = proc.stdout.splitlines()
    if len(answers) != len(requests):
        return ["%s: %d answers to %d requests" % (syntax, len(answers), len(requests))]

    failures = []
    for (req, expected), line in zip(requests, answers):
        got = json.loads(line)
        if isinstance(expected, tuple):
            ok = (got.get("ok") is False and got.get("column") == expected[1]
                  and got.get("error", "").startswith("expected ")
                  and got.get("error", "").endswith(" at column %d" % expected[1]))
        elif "test" in req:
            ok = got.get("ok") is True and "match" in got and got["match"] == expected
        else:
            ok = got.get("ok") is True
        if not ok:
            failures.append("%s: %s -> %s, expected %r" % (syntax, json.dumps(req), line, expected))
    return failures, len(requests)


def main():
    tool = sys.argv[1]
    total = 0
    failures = []
    for syntax, rows, filters in (
            ("cargo", cargo_rows(), filter_rows(CARGO_CASE, "name", CARGO_CASE["name"])),
            ("go", go_rows(), filter_rows(GO_CASE, "package_path", GO_CASE["package_path"])),
            ("pytest", pytest_rows(), filter_rows(PYTEST_CASE, "node_id", PYTEST_CASE["node_id"]))):
        result = run(tool, syntax, rows, filters)
        if isinstance(result, list):
            failures += result
            continue
        f, n = result
        failures += f
        total += n

    # Bad requests get an answer too, and the tool keeps going.
    proc = subprocess.run([tool, "cargo"], input='not json\n{"pattern": 3}\n{"pattern": "all"}\n',
                          capture_output=True, text=True, timeout=60)
    lines = proc.stdout.splitlines()
    if proc.returncode != 0 or len(lines) != 3 or json.loads(lines[2]) != {"ok": True} or \
            json.loads(lines[0])["ok"] is not False or json.loads(lines[1])["ok"] is not False:
        failures.append("bad requests: %r %r" % (proc.stdout, proc.stderr))

    for f in failures[:50]:
        print("FAIL " + f)
    print("%d cases, %d failed" % (total, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
