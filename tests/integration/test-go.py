#!/usr/bin/env python3
# SPDX-License-Identifier: MIT OR Apache-2.0
"""maelstrom-go-test end to end, from the installed binaries, in standalone mode, on small Go modules that
the test writes (no dependencies, so no module proxy is needed)."""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

from runner_test_util import UserRun, Watcher, install, outcomes as outcomes_and_order, read, summary, write

STATE = {}
MODULE = "example.com/gm"


def find_go():
    for c in [shutil.which("go"), "/usr/local/go/bin/go", "/usr/lib/go/bin/go"]:
        if c and os.access(c, os.X_OK):
            return c
    return None


# The main module: one package per concern.
FILES = {
    "go.mod": f"""
        module {MODULE}

        go 1.21
    """,
    "root.go": """
        package gm

        func Double(x int) int { return 2 * x }
    """,
    "root_test.go": """
        package gm

        import "testing"

        func TestRoot(t *testing.T) {
            if Double(2) != 4 {
                t.Fatal("wrong")
            }
        }
    """,
    "basic/basic.go": """
        package basic

        func Reverse(s string) string {
            r := []rune(s)
            for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
                r[i], r[j] = r[j], r[i]
            }
            return string(r)
        }
    """,
    "basic/basic_test.go": """
        package basic

        import (
            "fmt"
            "os"
            "strings"
            "testing"
            "time"
        )

        func TestPass(t *testing.T) {
            if Reverse("abc") != "cba" {
                t.Fatal("reverse")
            }
        }

        func TestFail(t *testing.T) {
            fmt.Println("out of TestFail")
            fmt.Fprintln(os.Stderr, "err of TestFail")
            t.Errorf("it went wrong")
        }

        func TestPanic(t *testing.T) { panic("a panic") }

        func TestSkip(t *testing.T) { t.Skip("not today") }

        func TestSleep(t *testing.T) { time.Sleep(60 * time.Second) }

        func TestSub(t *testing.T) {
            t.Run("one", func(t *testing.T) {})
            t.Run("skipped", func(t *testing.T) { t.Skip("sub skip") })
        }

        func TestSubFail(t *testing.T) {
            t.Run("good", func(t *testing.T) {})
            t.Run("bad", func(t *testing.T) { t.Fatal("sub failed") })
        }

        func BenchmarkReverse(b *testing.B) {
            for i := 0; i < b.N; i++ {
                Reverse("hello")
            }
        }

        func ExampleReverse() {
            fmt.Println(Reverse("hello"))
            // Output: olleh
        }

        func ExampleReverse_wrong() {
            fmt.Println(Reverse("hello"))
            // Output: hello
        }

        func ExampleReverse_noOutput() {
            fmt.Println(Reverse("not run"))
        }

        func FuzzReverse(f *testing.F) {
            f.Add("seed")
            f.Fuzz(func(t *testing.T, s string) {
                if Reverse(Reverse(s)) != s {
                    t.Fatal("not an involution")
                }
            })
        }

        func FuzzCorpus(f *testing.F) {
            f.Fuzz(func(t *testing.T, s string) {
                if strings.Contains(s, "boom") {
                    t.Fatalf("seed %q from the corpus", s)
                }
            })
        }
    """,
    # A seed corpus file under testdata/fuzz: it must reach the container.
    "basic/testdata/fuzz/FuzzCorpus/seed1": """
        go test fuzz v1
        string("kaboom")
    """,
    "pkgdir/renamed.go": """
        package renamed

        func Name() string { return "renamed" }
    """,
    "pkgdir/renamed_ext_test.go": """
        package renamed_test

        import (
            "testing"

            "example.com/gm/pkgdir"
        )

        func TestExternal(t *testing.T) {
            if renamed.Name() != "renamed" {
                t.Fatal("name")
            }
        }
    """,
    "data/data.go": """
        package data
    """,
    "data/data_test.go": """
        package data

        import (
            "os"
            "path/filepath"
            "runtime"
            "strings"
            "testing"
        )

        func TestGolden(t *testing.T) {
            b, err := os.ReadFile("testdata/golden.txt")
            if err != nil || string(b) != "golden\\n" {
                t.Fatalf("golden: %q %v", b, err)
            }
            b, err = os.ReadFile("testdata/deeper/nested.txt")
            if err != nil || string(b) != "nested\\n" {
                t.Fatalf("nested: %q %v", b, err)
            }
            // The testdata/ of a directory above, as packages share it.
            b, err = os.ReadFile("../testdata/shared.txt")
            if err != nil || string(b) != "shared\\n" {
                t.Fatalf("shared: %q %v", b, err)
            }
        }

        func TestWorkingDirectory(t *testing.T) {
            // The package's directory at its path, as go test runs it (where the source paths compiled
            // into the binary point), but for a module under /tmp, where the container mounts a tmpfs.
            _, file, _, _ := runtime.Caller(0)
            want := filepath.Dir(file)
            if strings.HasPrefix(want, "/tmp/") {
                want = "/go/src/example.com/gm/data"
            } else if b, err := os.ReadFile(filepath.Join(want, "testdata", "golden.txt")); err != nil ||
                string(b) != "golden\\n" {
                t.Fatalf("golden next to %s: %q %v", file, b, err)
            }
            wd, err := os.Getwd()
            if err != nil || wd != want {
                t.Fatalf("working directory %q %v, not %q", wd, err, want)
            }
            if _, err := os.Stat("data.go"); err != nil {
                t.Fatal("the package's own files are missing")
            }
        }

        func TestOnlyThisPackage(t *testing.T) {
            // Not the subdirectories (other than testdata), nor other packages.
            for _, p := range []string{"sub/sub.go", "../basic/basic.go", "../go.mod"} {
                if _, err := os.Stat(p); err == nil {
                    t.Errorf("%s is in the container", p)
                }
            }
        }
    """,
    "data/testdata/golden.txt": "golden\n",
    "testdata/shared.txt": "shared\n",
    "data/testdata/deeper/nested.txt": "nested\n",
    "data/sub/sub.go": """
        package sub
    """,
    "isolation/isolation_test.go": """
        package isolation

        import (
            "net"
            "os"
            "testing"
            "time"
        )

        func TestPidOne(t *testing.T) {
            if os.Getpid() != 1 {
                t.Fatalf("pid %d", os.Getpid())
            }
        }

        func TestNoNetwork(t *testing.T) {
            ifaces, err := net.Interfaces()
            if err != nil {
                t.Fatal(err)
            }
            for _, i := range ifaces {
                if i.Name != "lo" {
                    t.Errorf("interface %s", i.Name)
                }
            }
            if c, err := net.DialTimeout("tcp", "127.0.0.1:22", time.Second); err == nil {
                c.Close()
                t.Fatal("connected")
            }
        }

        func TestReadOnlyRoot(t *testing.T) {
            if err := os.WriteFile("/written", []byte("x"), 0o644); err == nil {
                t.Fatal("wrote to /")
            }
            if err := os.WriteFile(t.TempDir()+"/f", []byte("x"), 0o644); err != nil {
                t.Fatal("cannot write to a temporary directory:", err)
            }
        }
    """,
    "broken/broken.go": """
        package broken

        func Broken() int { return "not an int" }
    """,
    "broken/broken_test.go": """
        package broken

        import "testing"

        func TestNeverRuns(t *testing.T) {}
    """,
    # Two packages whose test binaries go names alike (util.test).
    "dup/one/util/util_test.go": """
        package util

        import "testing"

        func TestOne(t *testing.T) {}
    """,
    "dup/two/util/util_test.go": """
        package util

        import "testing"

        func TestTwo(t *testing.T) {}
    """,
    "notests/notests.go": """
        package notests
    """,
    "nested/go.mod": """
        module example.com/nested

        go 1.21
    """,
    "nested/nested_test.go": """
        package nested

        import "testing"

        func TestNested(t *testing.T) {}
    """,
}

# The options module: vet, short, fullpath, and arguments for the test binary.
OPTS_FILES = {
    "go.mod": """
        module example.com/opts

        go 1.21
    """,
    "tagged_test.go": """
        //go:build extra

        package opts

        import "testing"

        func TestVia(t *testing.T) {}
    """,
    "opts_test.go": """
        package opts

        import (
            "flag"
            "fmt"
            "testing"
        )

        var greeting = flag.String("greeting", "", "")

        func TestLong(t *testing.T) {
            if testing.Short() {
                t.Skip("short mode")
            }
        }

        func TestGreeting(t *testing.T) {
            if *greeting != "hello" {
                t.Fatalf("greeting %q", *greeting)
            }
        }

        func TestVet(t *testing.T) {
            if false {
                fmt.Printf("%d\\n", "vet does not like this")
            }
        }

        func TestWhere(t *testing.T) { t.Error("where am I") }
    """,
}


# p_test.go of marking_module(): TestMark writes /marks/started, then runs the first %s; the second names
# another test.
MARK_TEST = ("package p\n\nimport (\n\t\"os\"\n\t\"testing\"\n)\n\n"
             "func TestMark(t *testing.T) {\n"
             "\tif err := os.WriteFile(\"/marks/started\", nil, 0o644); err != nil {\n"
             "\t\tt.Fatal(err)\n\t}\n"
             "%s}\n\nfunc %s(t *testing.T) {}\n")


def make_module(root, files):
    for path, text in files.items():
        write(os.path.join(root, path), text)


def setUpModule():
    go = find_go()
    if go is None:
        raise unittest.SkipTest("go is not installed")
    root = tempfile.mkdtemp(prefix="maelstrom-go-test-")
    program = install(root, "maelstrom-go-test")
    mod = os.path.join(root, "gm")
    make_module(mod, FILES)
    opts = os.path.join(root, "opts")
    make_module(opts, OPTS_FILES)
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(program) + ":" + os.path.dirname(go) + ":" + env.get("PATH", "")
    env["GOTOOLCHAIN"] = "local"
    env["GOPROXY"] = "off"
    env["XDG_CACHE_HOME"] = os.path.join(root, "cache")
    # go's own build cache stays where it is (warm), even though XDG_CACHE_HOME moves.
    if "GOCACHE" not in env:
        env["GOCACHE"] = subprocess.run([go, "env", "GOCACHE"], stdout=subprocess.PIPE, text=True,
                                        check=True).stdout.strip()
    for k in list(env):
        if k.startswith("MAELSTROM_GO_TEST_"):
            del env[k]
    STATE.update(root=root, mod=mod, opts=opts, env=env, bin=program, go=go)


def tearDownModule():
    if "root" in STATE:
        shutil.rmtree(STATE["root"], ignore_errors=True)


def run(*args, cwd=None, timeout=600, env=None):
    return subprocess.run([STATE["bin"], *args], cwd=cwd or STATE["mod"], env=env or STATE["env"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)


def outcomes(stdout):
    """{(package, name): outcome} of the simple UI's lines."""
    return outcomes_and_order(stdout)[0]


B = MODULE + "/basic"
EXPECTED = {
    (MODULE, "TestRoot"): "OK",
    (B, "TestPass"): "OK",
    (B, "TestFail"): "FAIL",
    (B, "TestPanic"): "FAIL",
    (B, "TestSkip"): "IGNORED",
    (B, "TestSub"): "OK",
    (B, "TestSubFail"): "FAIL",
    (B, "ExampleReverse"): "OK",
    (B, "ExampleReverse_wrong"): "FAIL",
    (B, "FuzzReverse"): "OK",
    (B, "FuzzCorpus"): "FAIL",
    (MODULE + "/pkgdir", "TestExternal"): "OK",
    (MODULE + "/data", "TestGolden"): "OK",
    (MODULE + "/data", "TestWorkingDirectory"): "OK",
    (MODULE + "/data", "TestOnlyThisPackage"): "OK",
    (MODULE + "/isolation", "TestPidOne"): "OK",
    (MODULE + "/isolation", "TestNoNetwork"): "OK",
    (MODULE + "/isolation", "TestReadOnlyRoot"): "OK",
    (MODULE + "/dup/one/util", "TestOne"): "OK",
    (MODULE + "/dup/two/util", "TestTwo"): "OK",
}


class GoTest(unittest.TestCase):
    def test_full_run(self):
        # Everything but the sleeper (test_timeout has it).
        p = run("--ui", "simple", "-x", "name.equals(TestSleep)")
        out = p.stdout + p.stderr
        self.assertEqual(p.returncode, 1, out)
        self.assertEqual(outcomes(p.stdout), EXPECTED, out)
        # The package that did not build fails the run, but is no case.
        self.assertEqual(summary(p.stdout), (20, 14, 5, 0, 0, 1, 0), out)

        # The build error as go shows it, then the verdict; the other packages ran all the same.
        self.assertEqual(out.count("broken/broken.go:3:"), 1, out)
        self.assertEqual(out.count("FAIL\t" + MODULE + "/broken [build failed]"), 1, out)
        self.assertNotIn("TestNeverRuns", out)
        # A failure's output follows it, a subtest's failure shows, the seed from the corpus ran.
        self.assertIn("out of TestFail", out)
        self.assertIn("err of TestFail", out)
        self.assertIn("it went wrong", out)
        self.assertIn("a panic", out)
        self.assertIn("sub failed", out)
        self.assertIn('seed "kaboom" from the corpus', out)
        # Not cases: benchmarks, examples without output, the nested module, subtests on their own.
        for name in ["BenchmarkReverse", "ExampleReverse_noOutput", "TestNested", "TestSub/one"]:
            self.assertNotIn(" " + name + " ...", p.stdout)

        # State and binaries live under the module root; binaries that go names alike in different
        # directories; no binary for a package without tests.
        top = os.path.join(STATE["mod"], ".maelstrom-go-test")
        listing = read(os.path.join(top, "state", "test-listing.toml"))
        self.assertIn('"TestGolden"', listing)
        bins = os.path.join(top, "cache", "bin")
        self.assertEqual(sorted(os.listdir(bins)), ["0", "1"])
        # Beside each binary that listed its cases, the listing, kept for the next run.
        built = ["basic.test", "data.test", "gm.test", "isolation.test", "pkgdir.test", "util.test"]
        self.assertEqual(sorted(os.listdir(os.path.join(bins, "0"))),
                         sorted(built + [b + ".list" for b in built]))
        self.assertEqual(sorted(os.listdir(os.path.join(bins, "1"))), ["util.test", "util.test.list"])
        self.assertIn("TestGolden\n", read(os.path.join(bins, "0", "data.test.list")))

        # The second run finds every binary up to date, and runs the same.  go only touches them, and the
        # runner puts their times back (their bytes did not change), so the client need not hash them again.
        def binaries():
            d = os.path.join(bins, "0")
            return {f: (os.stat(os.path.join(d, f)).st_ino, os.stat(os.path.join(d, f)).st_mtime_ns)
                    for f in os.listdir(d)}
        before = binaries()
        p = run("--ui", "simple", "-x", "name.equals(TestSleep)")
        self.assertEqual(outcomes(p.stdout), EXPECTED, p.stdout + p.stderr)
        self.assertEqual(before, binaries())

    def test_changed_binary_runs(self):
        # A binary that go rebuilds is the one that runs, whatever its times were before.
        mod = os.path.join(STATE["root"], "changing")
        make_module(mod, {
            "go.mod": "module example.com/changing\n\ngo 1.21\n",
            "c.go": "package c\n\nconst Value = 1\n",
            "c_test.go": "package c\n\nimport \"testing\"\n\n"
                         "func TestValue(t *testing.T) { if Value != 1 { t.Fatal(Value) } }\n",
        })
        key = ("example.com/changing", "TestValue")
        p = run("--ui", "simple", cwd=mod)
        self.assertEqual(outcomes(p.stdout), {key: "OK"}, p.stdout + p.stderr)
        p = run("--ui", "simple", cwd=mod)
        self.assertEqual(outcomes(p.stdout), {key: "OK"}, p.stdout + p.stderr)
        write(os.path.join(mod, "c.go"), "package c\n\nconst Value = 2\n")
        p = run("--ui", "simple", cwd=mod)
        self.assertEqual(outcomes(p.stdout), {key: "FAIL"}, p.stdout + p.stderr)
        self.assertEqual(p.returncode, 1)

    def marking_module(self, name, test_go):
        # A module of packages p and q, whose p_test.go is test_go; p's cases have /marks, bound
        # read-write to the directory returned, where TestMark writes "started".
        mod = os.path.join(STATE["root"], name)
        marks = os.path.join(STATE["root"], name + "-marks")
        os.makedirs(marks)
        make_module(mod, {
            "go.mod": "module example.com/%s\n\ngo 1.21\n" % name.replace("-", ""),
            "p/p.go": "package p\n",
            "p/p_test.go": test_go,
            "q/q.go": "package q\n",
            "q/q_test.go": "package q\n\nimport \"testing\"\n\nfunc TestQ(t *testing.T) {}\n",
        })
        p = run("--init", cwd=mod)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        with open(os.path.join(mod, "maelstrom-go-test.toml"), "a") as f:
            f.write('\n[[directives]]\nfilter = "package_path.equals(p)"\n'
                    'added_layers = [{ stubs = ["/marks/"] }]\n'
                    'added_mounts = [{ type = "bind", mount_point = "/marks", local_path = "%s", '
                    'read_only = false }]\n' % marks)
        return mod, marks

    def waiting_go(self, name, mod, marks, command, then=""):
        # A go that, for the go commands that match the shell pattern command, waits (at most 30 s) for
        # TestMark to have run, and says whether it did; runs the shell command then; and goes on as go.
        # Returns a function that runs maelstrom-go-test in mod with it: (the process, "seen" or "not
        # seen", the --json-events).
        wrapper = os.path.join(STATE["root"], name + "-go")
        log = os.path.join(STATE["root"], name + "-log")
        write(os.path.join(wrapper, "go"), f"""#!/bin/sh
case "$*" in
{command})
        i=0
        while [ ! -e {marks}/started ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
        if [ -e {marks}/started ]; then echo seen >>{log}; else echo "not seen" >>{log}; fi
        {then};;
esac
exec {STATE["go"]} "$@"
""")
        os.chmod(os.path.join(wrapper, "go"), 0o755)
        env = dict(STATE["env"], PATH=wrapper + ":" + STATE["env"]["PATH"])

        def early_run():
            for f in os.listdir(marks):
                os.unlink(os.path.join(marks, f))
            if os.path.exists(log):
                os.unlink(log)
            p = run("--ui", "simple", "--json-events", os.path.join(mod, "events"), cwd=mod, env=env)
            events = [json.loads(line) for line in read(os.path.join(mod, "events")).splitlines()]
            return p, read(log).split("\n")[0], events
        return early_run

    def test_cases_start_while_go_builds(self):
        # A binary that go leaves as it was: its cases, known from its kept listing, start while go test -c
        # checks it; one that go rebuilds, or whose package no longer builds: what ran early is forgotten.
        mod, marks = self.marking_module("early", MARK_TEST % ("", "TestOther"))
        early_run = self.waiting_go("early", mod, marks, '"test -c"*')
        P, Q = "example.com/early/p", "example.com/early/q"
        all_ok = {(P, "TestMark"): "OK", (P, "TestOther"): "OK", (Q, "TestQ"): "OK"}

        # The first run has no binary yet (go is not made to wait for what cannot start early).
        p = run("--ui", "simple", cwd=mod)
        self.assertEqual(outcomes(p.stdout), all_ok, p.stdout + p.stderr)
        p, said, events = early_run()
        self.assertEqual(said, "seen", p.stdout + p.stderr)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(outcomes(p.stdout), all_ok, p.stdout + p.stderr)
        self.assertEqual(sorted((e["event"], e["name"]) for e in events if e["package"] == P),
                         sorted((e, n) for e in ("queued", "started", "finished")
                                for n in ("TestMark", "TestOther")))

        # Changed: the old binary's cases ran early, but only the new one's are shown.
        write(os.path.join(mod, "p", "p_test.go"),
              MARK_TEST % ('\tt.Fatal("the new TestMark")\n', "TestRenamed"))
        p, said, events = early_run()
        self.assertEqual(said, "seen", p.stdout + p.stderr)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertEqual(outcomes(p.stdout),
                         {(P, "TestMark"): "FAIL", (P, "TestRenamed"): "OK", (Q, "TestQ"): "OK"},
                         p.stdout + p.stderr)
        self.assertIn("the new TestMark", p.stdout)
        self.assertNotIn("TestOther", p.stdout + json.dumps(events))
        self.assertEqual(summary(p.stdout)[:3], (3, 2, 1), p.stdout)

        # Broken: the old binary's cases ran early, and the package fails to build; none of them shows.
        write(os.path.join(mod, "p", "p.go"), "package p\n\nvar x int = \"not an int\"\n")
        p, said, events = early_run()
        self.assertEqual(said, "seen", p.stdout + p.stderr)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertEqual(outcomes(p.stdout), {(Q, "TestQ"): "OK"}, p.stdout + p.stderr)
        self.assertIn(P + " [build failed]", p.stdout + p.stderr)
        self.assertEqual([e["package"] for e in events], [Q] * 3)

    def test_cases_start_before_go_list(self):
        # What go list printed last time is kept: the next run starts from it, and its cases (of binaries
        # whose listing is kept) start while go list runs; the builds wait for go list's answer, and what
        # started from a list that go list no longer prints is forgotten.
        mod, marks = self.marking_module("early-list", MARK_TEST % ("", "TestOther"))
        # go list fails when told to.
        fail = os.path.join(STATE["root"], "early-list-fail")
        early_run = self.waiting_go("early-list", mod, marks, "list*",
                                    f'if [ -e {fail} ]; then echo "go: told to fail" >&2; exit 1; fi')
        P, Q, R = "example.com/earlylist/p", "example.com/earlylist/q", "example.com/earlylist/r"
        all_ok = {(P, "TestMark"): "OK", (P, "TestOther"): "OK", (Q, "TestQ"): "OK"}

        def each_once(events):
            # Every case shown has its three events once: nothing of a forgotten start.
            got = sorted((e["package"], e["name"], e["event"]) for e in events)
            want = sorted((e["package"], e["name"], ev) for e in events if e["event"] == "finished"
                          for ev in ("queued", "started", "finished"))
            self.assertEqual(got, want)

        # The first run keeps go list's answer and the listings; it cannot start early.
        p = run("--ui", "simple", cwd=mod)
        self.assertEqual(outcomes(p.stdout), all_ok, p.stdout + p.stderr)
        self.assertTrue(os.path.exists(os.path.join(mod, ".maelstrom-go-test", "cache", "go-list.json")))
        p, said, events = early_run()
        self.assertEqual(said, "seen", p.stdout + p.stderr)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(outcomes(p.stdout), all_ok, p.stdout + p.stderr)
        each_once(events)

        # Another package: go list prints something else; the run starts again from its answer.
        write(os.path.join(mod, "r", "r.go"), "package r\n")
        write(os.path.join(mod, "r", "r_test.go"),
              "package r\n\nimport \"testing\"\n\nfunc TestR(t *testing.T) {}\n")
        p, said, events = early_run()
        self.assertEqual(said, "seen", p.stdout + p.stderr)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(outcomes(p.stdout), {**all_ok, (R, "TestR"): "OK"}, p.stdout + p.stderr)
        each_once(events)

        # go list fails: what started early is forgotten, and the run fails.
        write(fail, "")
        p, said, events = early_run()
        self.assertEqual(said, "seen", p.stdout + p.stderr)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertEqual(outcomes(p.stdout), {}, p.stdout + p.stderr)
        self.assertEqual(events, [])
        self.assertIn("go: told to fail", p.stderr)
        self.assertIn("Failed to run go list: exit status 1.", p.stdout + p.stderr)

    def test_warm_build_is_one_command(self):
        # Binaries missing: batches, one per CPU; all there: one go test -c for the directory.
        mod = os.path.join(STATE["root"], "several")
        files = {"go.mod": "module example.com/several\n\ngo 1.21\n"}
        for p in "abc":
            files[p + "/" + p + ".go"] = "package " + p + "\n"
            files[p + "/" + p + "_test.go"] = ("package " + p + "\n\nimport \"testing\"\n\n"
                                               "func TestIt(t *testing.T) {}\n")
        make_module(mod, files)
        wrapper = os.path.join(STATE["root"], "go-wrapper")
        log = os.path.join(STATE["root"], "go-commands")
        write(os.path.join(wrapper, "go"), f'#!/bin/sh\necho "$*" >>{log}\nexec {STATE["go"]} "$@"\n')
        os.chmod(os.path.join(wrapper, "go"), 0o755)
        env = dict(STATE["env"], PATH=wrapper + ":" + STATE["env"]["PATH"])

        def builds():
            p = run("--ui", "simple", cwd=mod, env=env)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertEqual(len(outcomes(p.stdout)), 3, p.stdout)
            commands = read(log).splitlines()
            os.unlink(log)
            return [c for c in commands if c.startswith("test -c")]
        self.assertEqual(len(builds()), min(3, os.cpu_count() or 1))
        self.assertEqual(len(builds()), 1)

    def test_timeout(self):
        p = run("--ui", "simple", "-i", "name.equals(TestSleep)", "--timeout", "1")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertEqual(outcomes(p.stdout), {(B, "TestSleep"): "TIMEOUT"}, p.stdout)

    def test_only_matching_packages_build(self):
        # The broken package cannot match, so it is not built and the run passes.
        p = run("--ui", "simple", "-i", "package_path.equals(data)")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(set(outcomes(p.stdout)), {(MODULE + "/data", n) for n in
                                                   ["TestGolden", "TestWorkingDirectory", "TestOnlyThisPackage"]})
        self.assertNotIn("broken", p.stdout + p.stderr)
        self.assertNotIn("cache-size", p.stderr)

    def test_a_cache_too_small_is_said(self):
        # The package's test binary alone is larger than 1 MB: the run works, and says what would keep it.
        p = run("--ui", "simple", "-i", "package_path.equals(data)", "--cache-size", "1 MB")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(len(outcomes(p.stdout)), 3, p.stdout)
        self.assertRegex(p.stderr, r"This run's files \([0-9]+ MB\) do not fit in the local worker's cache "
                         r"\(cache-size: 1 MB\): .*--cache-size \"1 GB\"")

    def test_from_subdirectory(self):
        # The module is found upward, and the whole module is its project.
        cwd = os.path.join(STATE["mod"], "data", "testdata", "deeper")
        p = run("--list", "-x", "package_path.equals(broken)", cwd=cwd)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(p.stdout.splitlines()), len(EXPECTED) + 1, p.stdout)
        self.assertIn(MODULE + "/dup/two/util TestTwo", p.stdout.splitlines())
        self.assertIn(MODULE + " TestRoot", p.stdout.splitlines())
        p = run("--ui", "simple", "-i", "package_name.equals(renamed)", cwd=os.path.join(STATE["mod"], "basic"))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(outcomes(p.stdout), {(MODULE + "/pkgdir", "TestExternal"): "OK"})
        self.assertFalse(os.path.exists(os.path.join(STATE["mod"], "basic", ".maelstrom-go-test")))

    def test_list_selectors(self):
        def listed(*patterns):
            args = ["--list"]
            for pat in patterns:
                args += ["-i", pat]
            p = run(*args, "-x", "package_path.equals(broken)")
            self.assertEqual(p.returncode, 0, p.stderr)
            return p.stdout.splitlines()

        self.assertEqual(listed("name.starts_with(Fuzz)"), [B + " FuzzReverse", B + " FuzzCorpus"])
        self.assertEqual(listed("n.m(^Example)"), [B + " ExampleReverse", B + " ExampleReverse_wrong"])
        self.assertEqual(listed("package_import_path.equals(example.com/gm/pkgdir)"),
                         [MODULE + "/pkgdir TestExternal"])
        self.assertEqual(listed("p.ends_with(/pkgdir)"), [MODULE + "/pkgdir TestExternal"])
        self.assertEqual(listed("package_i.eq(example.com/gm)"), [MODULE + " TestRoot"])
        # package_path is empty at the module root; package_name is the package clause, not the directory.
        self.assertEqual(listed("package_path.equals()"), [MODULE + " TestRoot"])
        self.assertEqual(listed("package_p.g(iso*)"), [MODULE + "/isolation TestPidOne",
                                                       MODULE + "/isolation TestNoNetwork",
                                                       MODULE + "/isolation TestReadOnlyRoot"])
        self.assertEqual(listed("package_name.equals(renamed)"), [MODULE + "/pkgdir TestExternal"])
        self.assertEqual(listed("package_n.equals(pkgdir)"), [])
        # Packages list in the order they finish building.
        self.assertEqual(sorted(listed("package_name.equals(gm) | name.equals(TestGolden)")),
                         [MODULE + " TestRoot", MODULE + "/data TestGolden"])
        # A build error shows when a listing needs the package.
        p = run("--list", "-i", "package_path.equals(broken)")
        self.assertEqual(p.returncode, 1)
        self.assertIn("[build failed]", p.stderr)
        # Bad patterns: go's selectors only ("package" is short for package_import_path).
        self.assertEqual(listed("package.equals(example.com/gm)"), [MODULE + " TestRoot"])
        for bad in ["file.equals(x)", "test", "package_x.equals(x)", "p.e(x)", "name.equals(x"]:
            p = run("--list", "-i", bad)
            self.assertEqual(p.returncode, 2, bad)
            self.assertIn("--include", p.stderr)

    def test_options(self):
        opts = STATE["opts"]
        o = "example.com/opts"
        # go vet runs by default, and fails the build; -vet=off builds it.
        p = run("--ui", "simple", cwd=opts)
        self.assertEqual(p.returncode, 1)
        self.assertIn("Printf format %d has arg", p.stdout + p.stderr)
        self.assertEqual(outcomes(p.stdout), {})
        p = run("--ui", "simple", "--vet", "off", cwd=opts)
        self.assertEqual(outcomes(p.stdout), {(o, "TestLong"): "OK", (o, "TestGreeting"): "FAIL",
                                              (o, "TestVet"): "OK", (o, "TestWhere"): "FAIL"}, p.stdout)
        self.assertRegex(p.stdout, r"(?m)^\s+opts_test\.go:\d+: where am I")
        # -test.short, -test.fullpath, and arguments for the binary (after --).
        p = run("--ui", "simple", "--vet", "off", "--short", "--fullpath", "--", "-greeting=hello", cwd=opts)
        self.assertEqual(outcomes(p.stdout), {(o, "TestLong"): "IGNORED", (o, "TestGreeting"): "OK",
                                              (o, "TestVet"): "OK", (o, "TestWhere"): "FAIL"}, p.stdout)
        self.assertIn(os.path.join(opts, "opts_test.go") + ":", p.stdout)
        env = dict(STATE["env"], MAELSTROM_GO_TEST_EXTRA_TEST_BINARY_ARGS="-greeting=hello")
        p = run("--ui", "simple", "--vet", "off", "-i", "name.equals(TestGreeting)", cwd=opts, env=env)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_go_test_habits_get_a_hint(self):
        # go test's flags are refused with what to use instead, and the advice works.
        opts = STATE["opts"]
        o = "example.com/opts"
        for args, hint in [(["-run", "TestVet"], "--include 'name.matches(REGEX)'"),
                           (["-run=^TestVet$"], "--include 'name.matches(REGEX)'"),
                           (["-count=1"], "use --repeat N"),
                           (["-v"], "every case is reported here"),
                           (["-p", "4"], "use --slots N"),
                           (["-tags", "extra"], "give it to go in GOFLAGS")]:
            p = run(*args, cwd=opts)
            self.assertEqual(p.returncode, 2, args)
            kind = "build" if args[0] == "-tags" else "test"
            self.assertIn("unknown option '%s' (a go %s flag: " % (args[0], kind), p.stderr)
            self.assertIn(hint, p.stderr)
        # After '--', a flag that would choose what each case runs (every case passed, having run TestVet).
        p = run("--ui", "simple", "--", "-test.run", "TestVet", cwd=opts)
        self.assertEqual(p.returncode, 2)
        self.assertIn("'-test.run' for the test binaries: each case runs alone", p.stderr)
        self.assertNotIn(" ... ", p.stdout)
        p = run("--ui", "simple", "--vet", "off", "-i", "name.matches(^TestV)", cwd=opts)
        self.assertEqual(outcomes(p.stdout), {(o, "TestVet"): "OK"}, p.stdout)
        env = dict(STATE["env"], GOFLAGS="-tags=extra")
        p = run("--ui", "simple", "--vet", "off", "-i", "name.matches(^TestV)", cwd=opts, env=env)
        self.assertEqual(outcomes(p.stdout), {(o, "TestVet"): "OK", (o, "TestVia"): "OK"}, p.stdout)

    def test_init_and_spec_file(self):
        d = os.path.join(STATE["root"], "initmod")
        make_module(d, {"go.mod": "module example.com/initmod\n\ngo 1.21\n",
                        "data.txt": "from the package\n",
                        "other/data.txt": "from a directive\n",
                        "a_test.go": 'package a\nimport ("os"; "testing")\n'
                                     'func TestEnv(t *testing.T) { if os.Getenv("GREETING") != "hi" '
                                     '{ t.Fatal("no greeting") } }\n'
                                     'func TestData(t *testing.T) { b, _ := os.ReadFile("data.txt"); '
                                     'if string(b) != "from a directive\\n" { t.Fatalf("%q", b) } }\n'})
        p = run("--init", cwd=d)
        self.assertEqual(p.returncode, 0, p.stderr)
        path = os.path.join(d, "maelstrom-go-test.toml")
        text = read(path)
        self.assertIn("[[directives]]", text)
        p = run("--init", cwd=d)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("exists", p.stderr)
        p = run("--ui", "simple", cwd=d)
        self.assertEqual(p.returncode, 1)
        with open(path, "a") as f:
            f.write('\n[[directives]]\nfilter = "name.equals(TestEnv)"\n'
                    'added_environment = { GREETING = "hi" }\n')
            # A directive's file at a path of the package's directory wins over the package's own.
            f.write('\n[[directives]]\nadded_layers = [{ glob = "other/data.txt", strip_prefix = "other", '
                    'prepend_prefix = "/go/src/example.com/initmod" }]\n')
        p = run("--ui", "simple", cwd=d)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("example.com/initmod TestEnv ... OK", p.stdout)
        self.assertIn("example.com/initmod TestData ... OK", p.stdout)
        with open(path, "a") as f:
            f.write('\n[[directives]]\nfilter = "markers.contains(x)"\n')
        p = run("--ui", "simple", cwd=d)
        self.assertEqual(p.returncode, 2)  # a usage error, as a bad key is
        self.assertRegex(p.stderr, r"maelstrom-go-test\.toml:\d+:\d+: directive \d+: filter")

    def test_a_case_that_runs_no_test_fails(self):
        # Exit status 0 from a binary that ran no test of the case's name is no pass (here its TestMain
        # changes -test.run; go test says "ok [no tests to run]").
        d = os.path.join(STATE["root"], "norun")
        make_module(d, {"go.mod": "module example.com/norun\n\ngo 1.21\n",
                        "a_test.go": 'package norun\nimport ("flag"; "os"; "testing")\n'
                                     'func TestMain(m *testing.M) { flag.Parse(); flag.Set("test.run", "^X$"); '
                                     'os.Exit(m.Run()) }\n'
                                     'func TestA(t *testing.T) { t.Fatal("never runs") }\n'})
        p = run("--ui", "simple", cwd=d)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertEqual(outcomes(p.stdout), {("example.com/norun", "TestA"): "FAIL"}, p.stdout)
        self.assertIn("FAIL example.com/norun TestA: exited with code 0, but the test binary ran no test of that "
                      "name", p.stdout)

    def test_as_an_unprivileged_user(self):
        # As a developer runs it: as an unprivileged user, whose local worker and containers are rootless.
        # The module's data and isolation packages, in a directory of the user's (under /var/tmp: the
        # packages' directories are at their paths in the containers); go's build cache is the user's own
        # (go builds the standard library for it first: some seconds).
        u = UserRun(self, "maelstrom-go-user-", "maelstrom-go-test")
        mod = u.path("mod")
        make_module(mod, {k: v for k, v in FILES.items()
                          if k == "go.mod" or k.startswith(("data/", "isolation/", "testdata/"))})
        p = u.run(["--ui", "simple"], cwd=mod, path=os.path.dirname(STATE["go"]),
                  env={"GOTOOLCHAIN": "local", "GOPROXY": "off", "GOFLAGS": ""})
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        i, d = MODULE + "/isolation", MODULE + "/data"
        self.assertEqual(outcomes(p.stdout), {
            (i, "TestPidOne"): "OK", (i, "TestNoNetwork"): "OK", (i, "TestReadOnlyRoot"): "OK",
            (d, "TestGolden"): "OK", (d, "TestWorkingDirectory"): "OK", (d, "TestOnlyThisPackage"): "OK"},
            p.stdout + p.stderr)
        # Its state and cache are the user's, in the module.
        self.assertEqual(os.stat(os.path.join(mod, ".maelstrom-go-test")).st_uid, u.user.pw_uid)

    def test_package_directory_at_its_path(self):
        # A module outside /tmp: its packages' directories are at their own paths in the containers, where
        # the source paths compiled into the binary point (runtime.Caller), and are the working directories.
        d = tempfile.mkdtemp(prefix="maelstrom-go-path-", dir="/var/tmp")
        self.addCleanup(shutil.rmtree, d, True)
        make_module(d, {k: v for k, v in FILES.items()
                        if k == "go.mod" or k.startswith(("data/", "testdata/"))})
        p = run("--ui", "simple", cwd=os.path.join(d, "data"))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        m = MODULE + "/data"
        self.assertEqual(outcomes(p.stdout), {(m, "TestGolden"): "OK", (m, "TestWorkingDirectory"): "OK",
                                              (m, "TestOnlyThisPackage"): "OK"}, p.stdout + p.stderr)

    def test_hints_for_what_the_container_leaves_out(self):
        # A case that needs the network, a writable root or a command fails in the default container: the
        # summary says which directive gives it.
        d = os.path.join(STATE["root"], "hints")
        make_module(d, {"go.mod": "module example.com/hints\n\ngo 1.21\n",
                        "h_test.go": 'package hints\nimport ("net"; "os"; "os/exec"; "testing")\n'
                                     'func TestWrites(t *testing.T) {\n'
                                     '    if err := os.WriteFile("out.txt", nil, 0o644); err != nil { t.Fatal(err) }\n'
                                     '}\n'
                                     'func TestDials(t *testing.T) {\n'
                                     '    c, err := net.Dial("tcp", "127.0.0.1:1")\n'
                                     '    if err != nil { t.Fatal(err) }\n'
                                     '    c.Close()\n'
                                     '}\n'
                                     'func TestRunsSh(t *testing.T) {\n'
                                     '    if err := exec.Command("sh", "-c", "true").Run(); err != nil { t.Fatal(err) }\n'
                                     '}\n'})
        p = run("--ui", "simple", cwd=d)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("Hint: 1 failed case could not use the network: a case's network namespace has lo "
                      "down unless a directive sets network = \"loopback\"", p.stdout)
        self.assertIn("Hint: 1 failed case wrote to a read-only file system: a case's root is read-only; it "
                      "may write under /tmp, or a directive sets enable_writable_file_system = true.", p.stdout)
        self.assertIn("Hint: 1 failed case ran a command that is not in the container", p.stdout)

    def test_short_cases_of_a_package_run_together(self):
        # On one slot, once the two packages' sleepers have let every case queue: the short cases (estimates
        # of a few milliseconds, interleaved across the packages) run package by package, in the order they
        # came, rather than one package's then the other's by their estimates, which a full cache pays for.
        d = os.path.join(STATE["root"], "together")
        files = {"go.mod": "module example.com/together\n\ngo 1.21\n"}
        for pkg in ("a", "b"):
            body = f'package {pkg}\nimport ("testing"; "time")\n'
            body += f'func TestSleep{pkg.upper()}(t *testing.T) {{ time.Sleep(time.Second) }}\n'
            body += "".join(f"func Test{pkg.upper()}{i}(t *testing.T) {{}}\n" for i in range(4))
            files[f"{pkg}/{pkg}_test.go"] = body
        make_module(d, files)
        listing = ["version = 1\n"]
        for pkg, estimates in (("a", [9, 7, 5, 3]), ("b", [8, 6, 4, 2])):
            path = "example.com/together/" + pkg
            key = f'[packages."{path}".artifacts."{path}".cases.'
            listing.append(f'{key}"TestSleep{pkg.upper()}"]\ndurations = [1.0]\nfailed = false\n')
            for i, ms in enumerate(estimates):
                listing.append(f'{key}"Test{pkg.upper()}{i}"]\ndurations = [{ms / 1000}]\nfailed = false\n')
        run("--list", cwd=d)  # builds the binaries: both packages are then listed at once
        state = os.path.join(d, ".maelstrom-go-test", "state")
        os.makedirs(state, exist_ok=True)
        write(os.path.join(state, "test-listing.toml"), "\n".join(listing))
        p = run("--ui", "simple", "--slots", "1", cwd=d)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        _, order = outcomes_and_order(p.stdout)
        short = [n[-2] for n in order if "Sleep" not in n]
        self.assertEqual(len(short), 8, p.stdout)
        switches = sum(1 for x, y in zip(short, short[1:]) if x != y)
        self.assertEqual(switches, 1, p.stdout)
        for pkg in "AB":
            self.assertEqual([n for n in order if n.startswith("Test" + pkg) and "Sleep" not in n],
                             [f"Test{pkg}{i}" for i in range(4)], p.stdout)

    def test_no_module(self):
        d = tempfile.mkdtemp(dir=STATE["root"])
        p = run("--list", cwd=d)
        self.assertEqual(p.returncode, 1)
        self.assertIn("No go.mod", p.stderr)

    def test_watch(self):
        # (A name alone cannot keep the broken package from building: the package path can.)
        touched = os.path.join(STATE["mod"], "data", "touched.txt")
        w = Watcher([STATE["bin"], "--ui", "simple", "--watch", "-i",
                     "package_path.equals() & name.equals(TestRoot)"], cwd=STATE["mod"], env=STATE["env"])
        try:
            self.assertTrue(w.wait_for("Watching", 1, 300), w.out)
            # What the run itself wrote under .maelstrom-go-test starts no new run.
            self.assertFalse(w.wait_for("Watching", 2, 2), w.out)
            with open(touched, "w") as f:
                f.write("change\n")
            self.assertTrue(w.wait_for("Watching", 2, 300), w.out)
            self.assertEqual(w.out.count(MODULE + " TestRoot ... OK"), 2, w.out)
        finally:
            status = w.stop()
            if os.path.exists(touched):
                os.unlink(touched)
        self.assertEqual(status, 0, w.out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
