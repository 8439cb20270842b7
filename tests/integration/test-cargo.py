#!/usr/bin/env python3
# SPDX-License-Identifier: MIT OR Apache-2.0
"""cargo-maelstrom end to end, from the installed binaries, in standalone mode, on small Cargo workspaces
that the test writes (no dependencies, so no registry is needed)."""

import fcntl
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
import xml.etree.ElementTree as ET

from runner_test_util import UserRun, Watcher, install, outcomes, read, summary, write
from testlib import local_worker

STATE = {}


def find_cargo():
    for c in [shutil.which("cargo"), os.path.expanduser("~/.cargo/bin/cargo"), "/root/.cargo/bin/cargo"]:
        if c and os.access(c, os.X_OK):
            return c
    return None


LIB_RS = """
pub fn add(a: i32, b: i32) -> i32 { a + b }

#[cfg(test)]
mod tests {
    #[test] fn adds() { assert_eq!(super::add(1, 2), 3); }
    #[test] fn fails() { println!("out of fails"); eprintln!("err of fails"); assert_eq!(super::add(1, 2), 4); }
    #[test] fn panics() { panic!("it went wrong"); }
    #[test] #[ignore] fn ignored() { panic!("an ignored case must not run"); }
    #[test] fn sleeps() { std::thread::sleep(std::time::Duration::from_secs(60)); }
}

#[cfg(test)]
mod isolation {
    #[test] fn pid_one() { assert_eq!(std::process::id(), 1); }
    #[test] fn no_network() {
        let dev = std::fs::read_to_string("/proc/net/dev").unwrap();
        let ifaces: Vec<&str> = dev.lines().skip(2).map(|l| l.trim().split(':').next().unwrap()).collect();
        assert_eq!(ifaces, vec!["lo"]);
        assert!(std::net::TcpStream::connect("127.0.0.1:22").is_err());
    }
    #[test] fn read_only_root() { assert!(std::fs::write("/written", b"x").is_err()); }
    #[test] fn reads_layer_file() {
        assert_eq!(std::fs::read_to_string("/data/input.txt").unwrap(), "from a layer\\n");
    }
    #[test] fn named_container_env() { assert_eq!(std::env::var("GREETING").unwrap(), "hello"); }
}

#[cfg(test)]
mod order {
    fn sleep(ms: u64) { std::thread::sleep(std::time::Duration::from_millis(ms)); }
    #[test] fn a_quick() {}
    #[test] fn b_long() { sleep(600); }
    #[test] fn c_medium() { sleep(300); }
    #[test] fn d_failing() { panic!("fails every time"); }
}
"""

SPEC = """
[containers.greeter]
layers = [{ stubs = ["/{proc,sys,tmp}/", "/dev/{full,null,random,urandom,zero}"] }]
mounts = [
    { type = "tmp", mount_point = "/tmp" },
    { type = "proc", mount_point = "/proc" },
    { type = "devices", devices = ["full", "null", "random", "urandom", "zero"] },
]
environment = { GREETING = "hello" }

[[directives]]
layers = [{ stubs = ["/{proc,sys,tmp}/", "/dev/{full,null,random,urandom,zero}"] }]
mounts = [
    { type = "tmp", mount_point = "/tmp" },
    { type = "proc", mount_point = "/proc" },
    { type = "sys", mount_point = "/sys" },
    { type = "devices", devices = ["full", "null", "random", "urandom", "zero"] },
]

[[directives]]
filter = "name.equals(isolation::reads_layer_file)"
added_layers = [{ paths = ["data/input.txt"] }]

[[directives]]
filter = "name.equals(isolation::named_container_env)"
parent = "greeter"

[[directives]]
filter = "name.equals(tests::sleeps)"
timeout = 1
"""


def small_crate(name, lib_rs, spec=None):
    """A one-package workspace under the scratch directory."""
    ws = os.path.join(STATE["root"], name)
    write(f"{ws}/Cargo.toml", f"""
        [package]
        name = "{name}"
        version = "0.1.0"
        edition = "2021"
    """)
    write(f"{ws}/src/lib.rs", lib_rs)
    if spec is not None:
        write(f"{ws}/cargo-maelstrom.toml", spec)
    return ws


def make_workspace(root):
    write(f"{root}/Cargo.toml", """
        [workspace]
        members = ["alpha", "beta"]
        resolver = "2"
    """)
    write(f"{root}/alpha/Cargo.toml", """
        [package]
        name = "alpha"
        version = "0.1.0"
        edition = "2021"
    """)
    write(f"{root}/alpha/src/lib.rs", LIB_RS)
    write(f"{root}/alpha/tests/integration.rs", """
        #[test] fn adds_from_outside() { assert_eq!(alpha::add(2, 2), 4); }
    """)
    write(f"{root}/beta/Cargo.toml", """
        [package]
        name = "beta"
        version = "0.1.0"
        edition = "2021"
    """)
    write(f"{root}/beta/src/main.rs", """
        fn main() { println!("beta"); }
        #[test] fn in_binary() { assert_eq!(1 + 1, 2); }
    """)
    write(f"{root}/data/input.txt", "from a layer\n")
    write(f"{root}/cargo-maelstrom.toml", SPEC)


def setUpModule():
    cargo = find_cargo()
    if cargo is None:
        raise unittest.SkipTest("cargo is not installed")
    root = tempfile.mkdtemp(prefix="cargo-maelstrom-test-")
    program = install(root, "cargo-maelstrom")
    ws = os.path.join(root, "ws")
    make_workspace(ws)
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(program) + ":" + os.path.dirname(cargo) + ":" + env.get("PATH", "")
    env["CARGO_TARGET_DIR"] = os.path.join(ws, "target")
    env["CARGO_TERM_COLOR"] = "never"
    env["RUST_BACKTRACE"] = "0"
    env["XDG_CACHE_HOME"] = os.path.join(root, "cache")
    env.pop("MAELSTROM_CARGO_MAELSTROM_SLOTS", None)
    # Build the tests once, so that the runs below only rebuild nothing.
    subprocess.run([cargo, "test", "--no-run", "--workspace", "-q"], cwd=ws, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600)
    STATE.update(root=root, ws=ws, env=env, bin=program, cargo=cargo)


def tearDownModule():
    if "root" in STATE:
        shutil.rmtree(STATE["root"], ignore_errors=True)


def run(*args, cwd=None, timeout=300, env=None):
    p = subprocess.run([STATE["bin"], *args], cwd=cwd or STATE["ws"], env=env or STATE["env"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
    return p


class CargoMaelstrom(unittest.TestCase):
    def test_full_run(self):
        junit = os.path.join(STATE["root"], "junit.xml")
        events = os.path.join(STATE["root"], "events.jsonl")
        p = run("--ui", "simple", "--junit", junit, "--json-events", events)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        got, _ = outcomes(p.stdout)
        expected = {
            ("alpha", "tests::adds"): "OK",
            ("alpha", "tests::fails"): "FAIL",
            ("alpha", "tests::panics"): "FAIL",
            ("alpha", "tests::ignored"): "IGNORED",
            ("alpha", "tests::sleeps"): "TIMEOUT",
            ("alpha", "isolation::pid_one"): "OK",
            ("alpha", "isolation::no_network"): "OK",
            ("alpha", "isolation::read_only_root"): "OK",
            ("alpha", "isolation::reads_layer_file"): "OK",
            ("alpha", "isolation::named_container_env"): "OK",
            ("alpha", "order::a_quick"): "OK",
            ("alpha", "order::b_long"): "OK",
            ("alpha", "order::c_medium"): "OK",
            ("alpha", "order::d_failing"): "FAIL",
            ("alpha::integration", "adds_from_outside"): "OK",
            ("beta::bin/beta", "in_binary"): "OK",
        }
        self.assertEqual(got, expected, p.stdout)
        # A failure's captured output follows it; a passing case's does not.
        self.assertIn("out of fails", p.stdout)
        self.assertIn("err of fails", p.stdout)
        self.assertIn("it went wrong", p.stdout)
        self.assertNotIn("an ignored case must not run", p.stdout)
        self.assertIn("Summary: 16 cases: 11 passed, 3 failed, 1 timed out, 0 errors, 1 ignored, 0 not run",
                      p.stdout)
        self.assertRegex(p.stdout, r"(?m)^\s+FAIL alpha tests::fails")
        self.assertRegex(p.stdout, r"(?m)^\s+TIMEOUT alpha tests::sleeps")

        tree = ET.parse(junit)
        cases = tree.getroot().findall(".//testcase")
        self.assertEqual(len(cases), 16)
        self.assertEqual(len(tree.getroot().findall(".//failure")), 4)
        with open(events) as f:
            lines = [json.loads(l) for l in f]
        finished = [l for l in lines if l["event"] == "finished"]
        self.assertEqual(len(finished), 16)
        self.assertEqual({(l["package"], l["name"]): l["outcome"] for l in finished}, expected)
        self.assertTrue(any(l["event"] == "started" for l in lines))

        # The listing state learned every case.
        with open(os.path.join(STATE["ws"], "target/maelstrom/state/test-listing.toml")) as f:
            listing = f.read()
        self.assertIn('"tests::adds"', listing)
        self.assertIn('"adds_from_outside"', listing)

    def test_subcommand_and_selection(self):
        # As `cargo maelstrom`, from a subdirectory of the workspace.
        p = subprocess.run([STATE["cargo"], "maelstrom", "--ui", "simple", "-i", "package.equals(beta)"],
                           cwd=os.path.join(STATE["ws"], "alpha"), env=STATE["env"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=300)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        got, _ = outcomes(p.stdout)
        self.assertEqual(got, {("beta::bin/beta", "in_binary"): "OK"})

    def test_list(self):
        p = run("--list")
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        self.assertEqual(len(lines), 16, p.stdout)
        self.assertIn("alpha tests::ignored", lines)
        self.assertIn("alpha::integration adds_from_outside", lines)
        # In the order of the binary ids (cargo reports its units in no particular order), each one's
        # cases as it lists them.
        p = run("--list", "-i", "name.starts_with(order::)", "-i", "test", "-x", "name.contains(fail)")
        self.assertEqual(p.stdout.splitlines(),
                         ["alpha order::a_quick", "alpha order::b_long", "alpha order::c_medium",
                          "alpha::integration adds_from_outside"], p.stdout)
        p = run("--list-packages", "-x", "package.equals(alpha)")
        self.assertEqual(p.stdout.splitlines(), ["beta"])
        p = run("--list-binaries")
        self.assertEqual(sorted(p.stdout.splitlines()),
                         ["alpha (library)", "alpha::integration (test)", "beta::bin/beta (binary)"])
        p = run("--list", "-i", "name.equals(x")
        self.assertEqual(p.returncode, 2)
        self.assertIn("--include", p.stderr)
        self.assertIn("column", p.stderr)

    def test_cargo_test_habits_get_a_hint(self):
        # `cargo test NAME` and nextest's -p: the error says what we take instead, and that works.
        p = run("adds")
        self.assertEqual(p.returncode, 2)
        self.assertIn("unexpected argument 'adds' (to run the cases whose name contains it: "
                      "--include 'name.contains(adds)'", p.stderr)
        p = run("tests/")
        self.assertEqual(p.returncode, 2)
        self.assertIn("unexpected argument 'tests/' (to select what runs, use --include PATTERN;", p.stderr)
        p = run("-timeout", "5")
        self.assertEqual(p.returncode, 2)
        self.assertIn("unknown option '-timeout' (did you mean '--timeout'?)", p.stderr)
        p = run("-p", "alpha")
        self.assertEqual(p.returncode, 2)
        self.assertIn("unknown option '-p' (a cargo test flag: to run one package's cases, use --include "
                      "'package.equals(NAME)')", p.stderr)
        p = run("--release")
        self.assertEqual(p.returncode, 2)
        self.assertIn("unknown option '--release' (a cargo test flag: use --profile release)", p.stderr)
        p = run("--list", "--include", "package.equals(alpha)")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("alpha tests::adds", p.stdout.splitlines())
        p = run("--list", "--include", "name.contains(adds)")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("alpha tests::adds", p.stdout.splitlines())

    def test_libtest_arguments(self):
        # cargo test's habits after '--': --nocapture (which every case has already) is taken once; the
        # #[ignore]d cases run too with --include-ignored, and alone with --ignored.
        pattern = "name.equals(tests::ignored) | name.equals(tests::adds)"
        p = run("--ui", "simple", "-i", pattern, "--", "--nocapture")
        self.assertEqual(outcomes(p.stdout)[0], {("alpha", "tests::adds"): "OK",
                                                 ("alpha", "tests::ignored"): "IGNORED"}, p.stdout)
        p = run("--ui", "simple", "-i", pattern, "--", "--nocapture", "--include-ignored")
        self.assertEqual(outcomes(p.stdout)[0], {("alpha", "tests::adds"): "OK",
                                                 ("alpha", "tests::ignored"): "FAIL"}, p.stdout)
        self.assertIn("an ignored case must not run", p.stdout)
        p = run("--ui", "simple", "-i", pattern, "--", "--ignored")
        self.assertEqual(outcomes(p.stdout)[0], {("alpha", "tests::ignored"): "FAIL"}, p.stdout)
        # The cases left out keep their history.
        listing = read(os.path.join(STATE["ws"], "target", "maelstrom", "state", "test-listing.toml"))
        self.assertIn('"tests::adds"', listing)
        p = run("--list", "-i", pattern, "--", "--ignored")
        self.assertEqual(p.stdout.splitlines(), ["alpha tests::ignored"])
        # --skip NAME, with the case's --exact, would skip that very case, which would pass.
        p = run("--ui", "simple", "-i", pattern, "--", "--skip", "tests::adds")
        self.assertEqual(p.returncode, 2)
        self.assertIn("'--skip' for the test executables: each case runs alone, as --exact NAME; to leave "
                      "cases out, use --exclude 'name.contains(NAME)'", p.stderr)
        self.assertNotIn(" ... ", p.stdout)

    def test_repeat_and_stop_after(self):
        p = run("--ui", "simple", "-i", "name.equals(tests::adds)", "--repeat", "3")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(p.stdout.count("alpha tests::adds ... OK"), 3, p.stdout)

        p = run("--ui", "simple", "--slots", "1", "--stop-after", "1", "-i", "name.starts_with(tests::)")
        self.assertEqual(p.returncode, 1)
        counts = summary(p.stdout)
        self.assertTrue(counts, p.stdout)
        total, passed, failed, timed_out, errors, ignored, not_run = counts
        self.assertEqual(failed + timed_out + errors, 1, p.stdout)
        self.assertGreater(not_run, 0, p.stdout)
        self.assertEqual(total, 5)

    def test_order_of_second_run(self):
        # The first run learns durations and the failure; the second, on one slot, runs the failed case
        # first, then the longest first.
        args = ["--ui", "simple", "--slots", "1", "-i", "name.starts_with(order::)"]
        run(*args)
        p = run(*args)
        _, order = outcomes(p.stdout)
        self.assertEqual(order, ["order::d_failing", "order::b_long", "order::c_medium", "order::a_quick"],
                         p.stdout)

    def test_timeout_option_overrides(self):
        p = run("--ui", "simple", "-i", "name.equals(order::b_long)", "--timeout", "0.1")
        # A whole number of seconds only: a fraction is a usage error that names the value.
        if p.returncode == 2:
            self.assertIn("timeout", p.stderr)
            p = run("--ui", "simple", "-i", "name.equals(order::b_long)", "--timeout", "1")
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        else:
            self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
            self.assertIn("TIMEOUT", p.stdout)

    def test_init(self):
        ws = small_crate("gamma", "#[test] fn t() {}\n")
        p = run("--init", cwd=ws)
        self.assertEqual(p.returncode, 0, p.stderr)
        text = read(f"{ws}/cargo-maelstrom.toml")
        self.assertIn("[[directives]]", text)
        self.assertIn("RUST_BACKTRACE", text)
        p = run("--init", cwd=ws)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("exists", p.stderr)
        self.assertEqual(read(f"{ws}/cargo-maelstrom.toml"), text)
        # The written default runs the case.
        p = run("--ui", "simple", cwd=ws)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("gamma t ... OK", p.stdout)

    def test_build_dir_template(self):
        # <build-dir> is the profile's output directory: a layer can take files from it.
        ws = small_crate("epsilon", """
            #[test] fn reads_build_dir() {
                assert_eq!(std::fs::read_to_string("/built/marker.txt").unwrap(), "built\\n");
            }
        """, spec="""
            [[directives]]
            added_layers = [
                { paths = ["<build-dir>/marker.txt"], strip_prefix = "<build-dir>/", prepend_prefix = "/built" },
            ]
        """)
        build_dir = os.path.join(STATE["env"]["CARGO_TARGET_DIR"], "debug")
        os.makedirs(build_dir, exist_ok=True)
        write(os.path.join(build_dir, "marker.txt"), "built\n")
        p = run("--ui", "simple", cwd=ws)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("epsilon reads_build_dir ... OK", p.stdout)

    def test_bad_spec_file(self):
        ws = small_crate("delta", "#[test] fn t() {}\n", spec="[[directives]]\nfilter = \"all\"\nlayer = []\n")
        env, log = self.cargo_log_env()
        p = run("--ui", "simple", cwd=ws, env=env)
        self.assertEqual(p.returncode, 2)
        self.assertRegex(p.stderr, r"cargo-maelstrom\.toml:\d+:\d+: .*layer")
        # The run refuses the spec file before it builds: no early build either.
        with open(log) as f:
            self.assertNotIn("|test ", f.read())
        # A filter that does not parse is refused the same way, with where it is.
        write(f"{ws}/cargo-maelstrom.toml", "[[directives]]\nignore = true\nfilter = \"name.equals(t\"\n")
        os.unlink(log)
        p = run("--ui", "simple", cwd=ws, env=env)
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertRegex(p.stderr, r"cargo-maelstrom\.toml:3:10: directive 1: filter: .*column 14")
        if os.path.exists(log):
            with open(log) as f:
                self.assertNotIn("|test ", f.read())

    def test_build_error(self):
        ws = small_crate("broken", "#[test] fn t() { let x: u32 = \"no\"; }\n")
        p = run("--ui", "simple", cwd=ws)
        self.assertEqual(p.returncode, 1)
        self.assertIn("mismatched types", p.stderr)

    def cargo_log_env(self):
        """An environment whose $CARGO logs each command (its directory and arguments) and runs cargo."""
        log = os.path.join(STATE["root"], "cargo-commands.log")
        if os.path.exists(log):
            os.unlink(log)
        wrapper = os.path.join(STATE["root"], "logging-cargo")
        # cargo metadata is made slower, so that what starts while it runs shows in the log.
        write(wrapper, f"""
            #!/bin/sh
            echo "$(pwd -P)|$*" >> {log}
            if [ "$1" = metadata ]; then
                sleep 0.5
                {STATE["cargo"]} "$@"
                rc=$?
                echo "|metadata ended" >> {log}
                exit $rc
            fi
            exec {STATE["cargo"]} "$@"
        """)
        os.chmod(wrapper, 0o755)
        return dict(STATE["env"], CARGO=wrapper), log

    def builds(self, log, early):
        """The builds that log shows, checking whether the first started before cargo metadata ended."""
        with open(log) as f:
            lines = [l.rstrip("\n").split("|", 1) for l in f]
        self.assertTrue(any(args.startswith("metadata ") for _, args in lines), lines)
        builds = [i for i, (_, args) in enumerate(lines) if args.startswith("test --no-run")]
        self.assertTrue(builds, lines)
        ended = lines.index(["", "metadata ended"])
        self.assertEqual(builds[0] < ended, early, lines)
        return [tuple(lines[i]) for i in builds]

    def test_build_starts_with_metadata(self):
        # With no pattern, the build starts while cargo metadata runs, and the run takes it over when it was
        # started at the workspace's root: one build.
        env, log = self.cargo_log_env()
        ws = os.path.realpath(STATE["ws"])
        p = run("--list", env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(p.stdout.splitlines()), 16, p.stdout)
        builds = self.builds(log, early=True)
        self.assertEqual(len(builds), 1, builds)
        self.assertEqual(builds[0][0], ws)
        self.assertTrue(builds[0][1].endswith("--workspace"), builds)

        # From a member's directory, or one below it, too: the early build starts at the root, found above
        # (the nearest Cargo.toml with a [workspace] table), and is the one the run takes over.
        for where in (("alpha",), ("alpha", "src")):
            env, log = self.cargo_log_env()
            p = run("--list", cwd=os.path.join(ws, *where), env=env)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(len(p.stdout.splitlines()), 16, p.stdout)
            builds = self.builds(log, early=True)
            self.assertEqual([cwd for cwd, _ in builds], [ws], builds)

        # A pattern may leave packages out: no early build, only the one for the packages it can match.
        env, log = self.cargo_log_env()
        p = run("--list", "-i", "package.equals(beta)", env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.splitlines(), ["beta::bin/beta in_binary"], p.stdout)
        builds = self.builds(log, early=False)
        self.assertEqual(len(builds), 1, builds)
        self.assertIn("-p beta", builds[0][1])

        # --init builds nothing: no build starts, not even one stopped at once.
        env, log = self.cargo_log_env()
        ws_init = small_crate("eta_init", "#[test] fn t() {}\n")
        p = run("--init", cwd=ws_init, env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(log) as f:
            commands = f.read()
        self.assertIn("|metadata ", commands)
        self.assertNotIn("|test ", commands)

    def test_early_build_root_guess(self):
        # The early build starts where the root is guessed to be. A package that the workspace above it
        # excludes is its own root: the guess is wrong there, and the run stops the early build and builds at
        # the right place. A member outside the root's directory names its root with package.workspace.
        top = os.path.join(STATE["root"], "guess")
        write(f"{top}/ws/Cargo.toml", """
            [workspace]
            members = ["inner", "../far"]
            exclude = ["solo"]
            resolver = "2"
        """)
        for name, where, extra in (("inner", "ws/inner", ""), ("solo", "ws/solo", ""),
                                   ("far", "far", 'workspace = "../ws"')):
            write(f"{top}/{where}/Cargo.toml", f"""
                [package]
                name = "{name}"
                version = "0.1.0"
                edition = "2021"
                {extra}
            """)
            write(f"{top}/{where}/src/lib.rs", f"#[test] fn in_{name}() {{}}\n")
        top = os.path.realpath(top)

        def run_from(where):
            """The run's output, and the directories its builds started in."""
            env, log = self.cargo_log_env()
            p = run("--ui", "simple", cwd=f"{top}/{where}", env=env)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            return p.stdout, [cwd for cwd, _ in self.builds(log, early=True)]

        out, builds = run_from("ws/solo")
        self.assertIn("solo in_solo ... OK", out)
        self.assertNotIn("in_inner", out)
        self.assertEqual(builds, [f"{top}/ws", f"{top}/ws/solo"])

        out, builds = run_from("far")
        self.assertIn("far in_far ... OK", out)
        self.assertIn("inner in_inner ... OK", out)
        self.assertEqual(builds, [f"{top}/ws"])

    def test_relative_paths(self):
        # --manifest-path and --target-dir are relative to where the runner was started, although cargo
        # builds at the workspace's root.
        p = run("--list", "--manifest-path", "ws/Cargo.toml", "--target-dir", "relative-target",
                cwd=STATE["root"])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(len(p.stdout.splitlines()), 16, p.stdout)
        self.assertTrue(os.path.isdir(os.path.join(STATE["root"], "relative-target", "debug")))
        self.assertFalse(os.path.exists(os.path.join(STATE["ws"], "relative-target")))

    def test_broken_manifest_reported_once(self):
        # cargo metadata and the early build read the same manifest: its error is shown once.
        ws = small_crate("gamma_manifest", "#[test] fn t() {}\n")
        write(f"{ws}/Cargo.toml", """
            [package]
            name = "gamma_manifest"
            version = "0.1.0"
            edition = "2021"

            [dependencies]
            nothing = { verson = "1" }
        """)
        p = run("--ui", "simple", cwd=ws)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertEqual(p.stderr.count("failed to parse manifest"), 1, p.stderr)
        self.assertIn("Failed to run cargo metadata: exit status 101.", p.stderr)
        write(f"{ws}/Cargo.toml", "[package\n")
        p = run("--ui", "simple", cwd=ws)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertEqual(p.stderr.count("unclosed table"), 1, p.stderr)

    def test_listing_fails(self):
        # A test executable that cannot list its cases fails the run, and says which.
        ws = small_crate("zeta_listing", "#[test] fn t() {}\n")
        with open(f"{ws}/Cargo.toml", "a") as f:
            f.write('\n[[test]]\nname = "custom"\nharness = false\n')
        write(f"{ws}/tests/custom.rs", """
            fn main() {
                if std::env::args().any(|a| a == "--ignored") { std::process::exit(3); }
                println!("only: test");
            }
        """)
        p = run("--ui", "simple", cwd=ws)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertRegex(p.stderr, r"Failed to list the tests of \S*/custom-[0-9a-f]+: exit status 3\. "
                         r"A test target with 'harness = false' must answer '--list --format terse'")
        self.assertIn("zeta_listing t ... OK", p.stdout)
        # The summary says that not everything ran, under counts that have no failure.
        self.assertEqual(summary(p.stdout), (1, 1, 0, 0, 0, 0, 0), p.stdout)
        self.assertIn("The build, or the listing of a test binary, failed (see the errors above)", p.stdout)

    def test_listings_run_at_once(self):
        # Test executables list their cases at the same time: each of these two, asked for its list, waits
        # (at most 30 s) until the other has been asked too.
        ws = small_crate("eta_listing", "")
        marks = os.path.join(STATE["root"], "eta-marks")
        os.makedirs(marks)
        for me, other in (("first", "second"), ("second", "first")):
            with open(f"{ws}/Cargo.toml", "a") as f:
                f.write(f'\n[[test]]\nname = "{me}"\nharness = false\n')
            write(f"{ws}/tests/{me}.rs", f"""
                use std::{{env, fs, path::Path, thread, time::Duration}};
                fn main() {{
                    let args: Vec<String> = env::args().collect();
                    if !args.iter().any(|a| a == "--list") || args.iter().any(|a| a == "--ignored") {{
                        return;
                    }}
                    let marks = env::var("ETA_MARKS").unwrap();
                    fs::write(Path::new(&marks).join("{me}"), "").unwrap();
                    let mut seen = "not seen";
                    for _ in 0..300 {{
                        if Path::new(&marks).join("{other}").exists() {{ seen = "seen"; break; }}
                        thread::sleep(Duration::from_millis(100));
                    }}
                    fs::write(Path::new(&marks).join("{me}-saw"), seen).unwrap();
                    println!("{me}_case: test");
                }}
            """)
        p = run("--ui", "simple", cwd=ws, env=dict(STATE["env"], ETA_MARKS=marks))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(read(os.path.join(marks, "first-saw")), "seen")
        self.assertEqual(read(os.path.join(marks, "second-saw")), "seen")
        self.assertEqual(outcomes(p.stdout)[0], {("eta_listing::first", "first_case"): "OK",
                                              ("eta_listing::second", "second_case"): "OK"}, p.stdout)

    def test_watch(self):
        w = Watcher([STATE["bin"], "--ui", "simple", "--watch", "-i", "name.equals(tests::adds)"],
                    cwd=STATE["ws"], env=STATE["env"])
        try:
            self.assertTrue(w.wait_for("Watching", 1, 120), w.out)
            with open(os.path.join(STATE["ws"], "data/touched.txt"), "w") as f:
                f.write("change\n")
            self.assertTrue(w.wait_for("Watching", 2, 120), w.out)
            self.assertEqual(w.out.count("alpha tests::adds ... OK"), 2, w.out)
        finally:
            status = w.stop()
        # Interrupted while watching: the run's own status stands.
        self.assertEqual(status, 0)

    def test_dynamic_libraries_of_the_build(self):
        # With -C prefer-dynamic and a dylib crate, a test executable needs libstd from the toolchain and the
        # crate's library from target/debug/deps, which cargo test puts on LD_LIBRARY_PATH.  The workspace
        # is under /tmp, where the default container mounts a tmpfs: the libraries cannot stay at their
        # paths there.
        ws = os.path.join(STATE["root"], "iota_dylib")
        write(f"{ws}/Cargo.toml", '[workspace]\nmembers = ["iota_dep", "iota_app"]\nresolver = "2"\n')
        write(f"{ws}/.cargo/config.toml", '[build]\nrustflags = ["-C", "prefer-dynamic"]\n')
        write(f"{ws}/iota_dep/Cargo.toml", '[package]\nname = "iota_dep"\nversion = "0.1.0"\n'
              'edition = "2021"\n[lib]\ncrate-type = ["dylib"]\n')
        write(f"{ws}/iota_dep/src/lib.rs", "pub fn answer() -> u32 { 42 }\n")
        write(f"{ws}/iota_app/Cargo.toml", '[package]\nname = "iota_app"\nversion = "0.1.0"\n'
              'edition = "2021"\n[dependencies]\niota_dep = { path = "../iota_dep" }\n')
        write(f"{ws}/iota_app/src/lib.rs", """
            #[test]
            fn uses_the_dylib() { assert_eq!(iota_dep::answer(), 42); }
            #[test]
            fn library_path() {
                println!("LD_LIBRARY_PATH={}", std::env::var("LD_LIBRARY_PATH").unwrap());
                panic!("to show it");
            }
        """)
        env = dict(STATE["env"], CARGO_TARGET_DIR=os.path.join(ws, "target"))
        env.pop("LD_LIBRARY_PATH", None)
        p = run("--ui", "simple", cwd=ws, env=env)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("iota_app uses_the_dylib ... OK", p.stdout)
        self.assertIn("LD_LIBRARY_PATH=/.cargo-maelstrom/lib\n", p.stdout)
        # Then the one we were given, as cargo test does.
        p = run("--ui", "simple", cwd=ws, env=dict(env, LD_LIBRARY_PATH="/opt/given/lib"))
        self.assertIn("iota_app uses_the_dylib ... OK", p.stdout)
        self.assertIn("LD_LIBRARY_PATH=/.cargo-maelstrom/lib:/opt/given/lib\n", p.stdout)
        # A directive may extend it (or replace it): ours comes before the directives' environment.
        p = run("--init", cwd=ws, env=env)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        with open(f"{ws}/cargo-maelstrom.toml", "a") as f:
            f.write('\n[[directives]]\n'
                    'added_environment = { LD_LIBRARY_PATH = "$prev{LD_LIBRARY_PATH}:/opt/spec/lib" }\n')
        p = run("--ui", "simple", cwd=ws, env=env)
        self.assertIn("iota_app uses_the_dylib ... OK", p.stdout)
        self.assertIn("LD_LIBRARY_PATH=/.cargo-maelstrom/lib:/opt/spec/lib\n", p.stdout)
        # An executable that needs none of it gets no LD_LIBRARY_PATH.
        ws2 = small_crate("iota_plain", """
            #[test]
            fn no_library_path() { assert!(std::env::var_os("LD_LIBRARY_PATH").is_none()); }
        """)
        p = run("--ui", "simple", cwd=ws2)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_run_time_environment(self):
        # What cargo test gives a test at run time: its package's variables, and to an integration test the
        # paths of the package's binaries, which its container has there, and a writable
        # CARGO_TARGET_TMPDIR; and the package's directory, with its files, as the working directory.  Not under /tmp, where the default
        # container mounts a tmpfs.  cargo's own compile-time values are the reference.
        root = tempfile.mkdtemp(prefix="cargo-maelstrom-env-", dir="/var/tmp")
        self.addCleanup(shutil.rmtree, root, True)
        ws = os.path.join(root, "tool")
        write(f"{ws}/Cargo.toml", """
            [package]
            name = "tool"
            version = "1.2.3-rc.1"
            edition = "2021"
            authors = ["A <a@example.com>", "B"]
            description = "a tool"
        """)
        write(f"{ws}/src/main.rs", """
            fn main() { println!("tool says {}", std::env::args().nth(1).unwrap_or_default()); }
            #[test] fn in_the_binary() {
                assert_eq!(std::env::var("CARGO_PKG_NAME").unwrap(), "tool");
                assert!(std::env::var("CARGO_BIN_EXE_tool").is_err());
                // Its code does not name CARGO_TARGET_TMPDIR (a path made at run time): nothing there.
                let tmpdir = format!("{}/target/{}", env!("CARGO_MANIFEST_DIR"), "tmp");
                assert!(!std::path::Path::new(&tmpdir).exists());
            }
        """)
        write(f"{ws}/tests/cli.rs", """
            use std::env::var;
            #[test] fn runs_the_tool() {
                assert_eq!(var("CARGO_BIN_EXE_tool").unwrap(), env!("CARGO_BIN_EXE_tool"));
                let out = std::process::Command::new(env!("CARGO_BIN_EXE_tool")).arg("hi").output().unwrap();
                assert_eq!(String::from_utf8_lossy(&out.stdout), "tool says hi\n");
            }
            #[test] fn finds_the_tool_beside_itself() {
                // As assert_cmd's cargo_bin() finds a binary: from the test's own path, as cargo test
                // runs it (target/debug/deps/cli-*), the target directory is its directory's parent.
                let mut dir = std::env::current_exe().unwrap();
                dir.pop();
                if dir.ends_with("deps") { dir.pop(); }
                assert_eq!(dir.join("tool").to_str().unwrap(), env!("CARGO_BIN_EXE_tool"));
                let out = std::process::Command::new(dir.join("tool")).arg("hi").output().unwrap();
                assert_eq!(String::from_utf8_lossy(&out.stdout), "tool says hi\n");
            }
            #[test] fn package_variables() {
                assert_eq!(var("CARGO_MANIFEST_DIR").unwrap(), env!("CARGO_MANIFEST_DIR"));
                assert_eq!(var("CARGO_PKG_NAME").unwrap(), env!("CARGO_PKG_NAME"));
                assert_eq!(var("CARGO_PKG_VERSION").unwrap(), env!("CARGO_PKG_VERSION"));
                assert_eq!(var("CARGO_PKG_VERSION_PATCH").unwrap(), env!("CARGO_PKG_VERSION_PATCH"));
                assert_eq!(var("CARGO_PKG_VERSION_PRE").unwrap(), env!("CARGO_PKG_VERSION_PRE"));
                assert_eq!(var("CARGO_PKG_AUTHORS").unwrap(), env!("CARGO_PKG_AUTHORS"));
                assert_eq!(var("CARGO_PKG_DESCRIPTION").unwrap(), env!("CARGO_PKG_DESCRIPTION"));
                assert_eq!(var("CARGO_PKG_HOMEPAGE").unwrap(), env!("CARGO_PKG_HOMEPAGE"));
                // What insta (snapshot tests) would otherwise run cargo metadata for.
                assert_eq!(var("INSTA_WORKSPACE_ROOT").unwrap(), env!("CARGO_MANIFEST_DIR"));
            }
            #[test] fn writes_its_scratch_directory() {
                // What cargo gives integration tests to write in: writable in the container too.
                let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("scratch");
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(dir.join("f"), "x").unwrap();
                assert_eq!(std::fs::read_to_string(dir.join("f")).unwrap(), "x");
            }
            #[test] fn reads_its_package_files() {
                // As under cargo test: in the package's directory, which holds its files.
                let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
                assert_eq!(std::env::current_dir().unwrap(), dir);
                assert_eq!(std::fs::read_to_string("tests/data/in.txt").unwrap(), "input\n");
                assert_eq!(std::fs::read_to_string(dir.join("Cargo.toml")).unwrap().lines().nth(1),
                           Some(r#"name = "tool""#));
                assert!(std::fs::read_to_string(dir.join("src/main.rs")).unwrap().contains("fn main"));
                // Not the rest: other directories, the target directory.
                assert!(!dir.join("assets").exists());
                assert!(!dir.join("target/debug/.fingerprint").exists());
                // Nor a fixture project's target directory (a cache: it has a CACHEDIR.TAG).
                assert!(dir.join("tests/fixture/src/main.rs").exists());
                assert!(!dir.join("tests/fixture/target").exists());
                // A directive's file at the same path wins.
                assert_eq!(std::fs::read_to_string("tests/data/replaced.txt").unwrap(), "directive\n");
                assert!(std::fs::write("tests/data/new.txt", "x").is_err());
            }
            #[test] fn overridden() {
                assert_eq!(var("CARGO_PKG_DESCRIPTION").unwrap(), "from a directive");
            }
        """)
        write(f"{ws}/tests/data/in.txt", "input\n")
        write(f"{ws}/tests/data/replaced.txt", "package\n")
        write(f"{ws}/other/replaced.txt", "directive\n")
        write(f"{ws}/assets/big.bin", "x\n")
        write(f"{ws}/tests/fixture/src/main.rs", "fn main() {}\n")
        write(f"{ws}/tests/fixture/target/CACHEDIR.TAG", "Signature: 8a477f597d28d172789f06886806bc55\n")
        write(f"{ws}/tests/fixture/target/debug/fixture", "a build output\n")
        env = dict(STATE["env"], CARGO_TARGET_DIR=os.path.join(ws, "target"))
        p = run("--init", cwd=ws, env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(f"{ws}/cargo-maelstrom.toml", "a") as f:
            f.write('\n[[directives]]\nfilter = "name.equals(overridden)"\n'
                    'added_environment = { CARGO_PKG_DESCRIPTION = "from a directive" }\n'
                    '\n[[directives]]\nadded_layers = [{ glob = "other/replaced.txt", strip_prefix = "other", '
                    f'prepend_prefix = "{ws}/tests/data" }}]\n')
        expected = {("tool::bin/tool", "in_the_binary"): "OK", ("tool::cli", "runs_the_tool"): "OK",
                    ("tool::cli", "finds_the_tool_beside_itself"): "OK",
                    ("tool::cli", "package_variables"): "OK", ("tool::cli", "overridden"): "OK",
                    ("tool::cli", "writes_its_scratch_directory"): "OK",
                    ("tool::cli", "reads_its_package_files"): "OK"}
        # Built, then up to date: cargo reports the units in another order then, the test before the binary.
        for _ in range(2):
            p = run("--ui", "simple", cwd=ws, env=env)
            self.assertEqual(outcomes(p.stdout)[0], expected, p.stdout + p.stderr)
            self.assertEqual(p.returncode, 0)

    def test_as_an_unprivileged_user(self):
        # As a developer runs it: as an unprivileged user, whose local worker and containers are rootless.
        # The toolchain is this one's, linked where the user can read it (rustup keeps it under root's
        # home); the workspace, its target directory and the caches are the user's.
        u = UserRun(self, "cargo-maelstrom-user-", "cargo-maelstrom")
        sysroot = subprocess.run(["rustc", "--print", "sysroot"], env=STATE["env"], stdout=subprocess.PIPE,
                                 text=True, check=True).stdout.strip()
        toolchain = u.path("toolchain")
        os.mkdir(toolchain)
        if subprocess.run(["cp", "-al", f"{sysroot}/bin", f"{sysroot}/lib", toolchain],
                          stderr=subprocess.DEVNULL).returncode != 0:
            self.skipTest(f"cannot link {sysroot} where the test user can read it")
        ws = u.path("ws")
        write(f"{ws}/Cargo.toml", '[package]\nname = "rootless"\nversion = "0.1.0"\nedition = "2021"\n')
        write(f"{ws}/tests/data/input.txt", "input\n")
        write(f"{ws}/src/lib.rs", """
            #[test] fn pid_one() { assert_eq!(std::process::id(), 1); }
            #[test] fn no_network() {
                let dev = std::fs::read_to_string("/proc/net/dev").unwrap();
                assert_eq!(dev.lines().skip(2).map(|l| l.trim().split(':').next().unwrap()).collect::<Vec<_>>(),
                           vec!["lo"]);
                assert!(std::net::TcpStream::connect("127.0.0.1:22").is_err());
            }
            #[test] fn read_only_root() { assert!(std::fs::write("/written", b"x").is_err()); }
            #[test] fn reads_its_package_files() {
                assert_eq!(std::fs::read_to_string("tests/data/input.txt").unwrap(), "input\\n");
            }
        """)
        write(f"{ws}/tests/scratch.rs", """
            #[test] fn writes_its_scratch_directory() {
                let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("s");
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(dir.join("f"), "x").unwrap();
            }
        """)
        p = u.run(["--ui", "simple"], cwd=ws, path=os.path.join(toolchain, "bin"), keep=[toolchain],
                  env={"CARGO_HOME": u.path("home", ".cargo"), "CARGO_TERM_COLOR": "never",
                       "RUST_BACKTRACE": "0"})
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(outcomes(p.stdout)[0], {
            ("rootless", "pid_one"): "OK", ("rootless", "no_network"): "OK", ("rootless", "read_only_root"): "OK",
            ("rootless", "reads_its_package_files"): "OK",
            ("rootless::scratch", "writes_its_scratch_directory"): "OK"}, p.stdout + p.stderr)
        # The target directory, its state and cache are the user's.
        self.assertEqual(os.stat(os.path.join(ws, "target", "maelstrom")).st_uid, u.user.pw_uid)

    def test_second_run_waits_for_the_first(self):
        # A run holds its cache directory's lock until it and its local worker are gone: a second run in
        # the same project waits for it, and says so, instead of losing its worker to the first one's.
        ws = small_crate("theta_lock", "#[test] fn t() {}\n")
        self.assertEqual(run("--ui", "simple", cwd=ws).returncode, 0)
        cache = os.path.join(STATE["env"]["CARGO_TARGET_DIR"], "maelstrom/cache")  # shared by the tests
        with open(f"{cache}/lock", "r+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            w = Watcher([STATE["bin"], "--ui", "simple"], cwd=ws, env=STATE["env"], stderr=True)
            try:
                self.assertTrue(w.wait_for("Blocking waiting for the lock on", 1, 120), w.out)
                self.assertIn(f"{cache}: another run is using it", w.out)
                self.assertNotIn("Summary:", w.out)
                fcntl.flock(lock, fcntl.LOCK_UN)
                self.assertTrue(w.wait_for("Summary:", 1, 120), w.out)
                self.assertEqual(w.p.wait(timeout=60), 0, w.out)
                self.assertIn("theta_lock t ... OK", w.out)
            finally:
                w.stop()
        # Two at once: both pass.
        procs = [subprocess.Popen([STATE["bin"], "--ui", "simple"], cwd=ws, env=STATE["env"], text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(2)]
        for p in procs:
            out, _ = p.communicate(timeout=300)
            self.assertEqual(p.returncode, 0, out)
            self.assertIn("theta_lock t ... OK", out)

    def test_watch_reads_the_spec_file_again(self):
        ws = small_crate("eta_watch", "#[test] fn t() {}\n")
        w = Watcher([STATE["bin"], "--ui", "simple", "--watch"], cwd=ws, env=STATE["env"], stderr=True)
        try:
            self.assertTrue(w.wait_for("Watching", 1, 120), w.out)
            self.assertIn("eta_watch t ... OK", w.out)
            # A new directive applies to the next run.
            write(f"{ws}/cargo-maelstrom.toml", '[[directives]]\nfilter = "name.equals(t)"\nignore = true\n')
            self.assertTrue(w.wait_for("Watching", 2, 120), w.out)
            self.assertIn("eta_watch t ... IGNORED", w.out)
            # A wrong one is reported, and nothing runs until it is fixed.
            write(f"{ws}/cargo-maelstrom.toml", '[[directives]]\nfilter = "name.equals(t"\n')
            self.assertTrue(w.wait_for("Watching", 3, 120), w.out)
            self.assertIn("cargo-maelstrom.toml:2:10: directive 1: filter:", w.out)
            self.assertEqual(w.out.count("Summary:"), 2, w.out)
            os.unlink(f"{ws}/cargo-maelstrom.toml")
            self.assertTrue(w.wait_for("Watching", 4, 120), w.out)
            self.assertEqual(w.out.count("eta_watch t ... OK"), 2, w.out)
        finally:
            status = w.stop()
        self.assertEqual(status, 0)

    def test_watch_lets_other_runs_go_while_it_waits(self):
        # Between its runs a --watch session holds neither a local worker nor the cache's lock: another run
        # in the project goes ahead meanwhile, and the session's next run has a worker of its own.
        ws = small_crate("theta_watch", "#[test] fn t() {}\n")
        w = Watcher([STATE["bin"], "--ui", "simple", "--watch"], cwd=ws, env=STATE["env"], stderr=True)
        try:
            self.assertTrue(w.wait_for("Watching", 1, 120), w.out)
            self.assertIsNone(local_worker(w.p.pid, timeout=1), w.out)
            p = run("--ui", "simple", cwd=ws, timeout=120)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertNotIn("Blocking waiting for the lock", p.stderr)
            write(f"{ws}/src/lib.rs", "#[test] fn t() {}\n#[test] fn u() {}\n")
            self.assertTrue(w.wait_for("Watching", 2, 120), w.out)
            self.assertIn("theta_watch u ... OK", w.out)
            self.assertEqual(w.out.count("theta_watch t ... OK"), 2, w.out)
            # A change while another run holds the lock: the session waits for it, and Ctrl-C ends the
            # wait, with the status of the session's last run.
            cache = os.path.join(STATE["env"]["CARGO_TARGET_DIR"], "maelstrom/cache")
            with open(f"{cache}/lock", "r+") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                write(f"{ws}/src/lib.rs", "#[test] fn t() {}\n")
                self.assertTrue(w.wait_for("Blocking waiting for the lock on", 1, 120), w.out)
                w.p.send_signal(signal.SIGINT)
                self.assertEqual(w.p.wait(timeout=30), 0, w.out)
        finally:
            status = w.stop()
        self.assertEqual(status, 0)

if __name__ == "__main__":
    unittest.main(verbosity=2)
