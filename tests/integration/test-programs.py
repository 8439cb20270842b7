#!/usr/bin/env python3
# SPDX-License-Identifier: MIT OR Apache-2.0
"""The command line of every program: --help, --version, --print-config, configuration precedence through
files and environment, error messages, and the plain "not available yet" exit."""

import os
import re
import subprocess
import sys
import tempfile
import unittest

BUILD = os.environ.get("MAELSTROM_BUILD_ROOT") or sys.exit("MAELSTROM_BUILD_ROOT is not set")
SOURCE = os.environ.get("MAELSTROM_SOURCE_ROOT") or sys.exit("MAELSTROM_SOURCE_ROOT is not set")

BINARIES = {
    "maelstrom-broker": "daemons/broker/maelstrom-broker",
    "maelstrom-worker": "daemons/worker/maelstrom-worker",
    "cargo-maelstrom": "src/runners/cargo-maelstrom",
    "maelstrom-go-test": "src/runners/maelstrom-go-test",
    "maelstrom-pytest": "src/runners/maelstrom-pytest",
    "maelstrom-run": "src/runners/maelstrom-run",
    "maelstrom-admin": "src/runners/maelstrom-admin",
}

ENV_PREFIX = {
    "maelstrom-broker": "MAELSTROM_BROKER_",
    "maelstrom-worker": "MAELSTROM_WORKER_",
    "cargo-maelstrom": "CARGO_MAELSTROM_",
    "maelstrom-go-test": "MAELSTROM_GO_TEST_",
    "maelstrom-pytest": "MAELSTROM_PYTEST_",
    "maelstrom-run": "MAELSTROM_RUN_",
    "maelstrom-admin": "MAELSTROM_ADMIN_",
}

# The configuration values each program must have, from the spec (not from our code).
CLIENT = ["log-level", "broker", "slots", "cache-size", "inline-limit", "container-image-depot-root",
          "accept-invalid-remote-container-tls-certs"]
RUNNER = CLIENT + ["repeat", "stop-after", "timeout", "quiet", "ui"]
VALUES = {
    "maelstrom-broker": ["log-level", "address", "port", "http-port", "cache-root", "cache-size", "bus"],
    "maelstrom-worker": ["log-level", "broker", "slots", "cache-root", "cache-size", "inline-limit", "seccomp",
                         "bus", "instance"],
    "cargo-maelstrom": RUNNER + ["features", "all-features", "no-default-features", "profile", "target",
                                 "target-dir", "manifest-path", "frozen", "locked", "offline",
                                 "extra-test-binary-args"],
    "maelstrom-go-test": RUNNER + ["vet", "short", "fullpath", "extra-test-binary-args"],
    "maelstrom-pytest": RUNNER + ["collect-from-module", "extra-pytest-args", "extra-pytest-collect-args",
                                  "extra-pytest-test-args"],
    "maelstrom-run": CLIENT + ["cache-root", "escape-char"],
    "maelstrom-admin": ["log-level", "broker"],
}
# Command-line options (not values) from the spec.
OPTIONS = {
    "cargo-maelstrom": ["--include", "--exclude", "--list-tests", "--list", "--init", "--watch", "--list-binaries",
                        "--list-packages", "--junit", "--json-events", "-i", "-x", "-l", "-w"],
    "maelstrom-go-test": ["--include", "--exclude", "--list-tests", "--init", "--watch"],
    "maelstrom-pytest": ["--include", "--exclude", "--list-tests", "--init", "--watch"],
    "maelstrom-run": ["--file", "-f", "--one", "-1", "--tty", "-t"],
    "maelstrom-worker": ["--local"],
}
SHORT = {"log-level": "-L", "broker": "-b", "port": "-p", "repeat": "-r", "stop-after": "-s", "timeout": "-t",
         "quiet": "-q", "features": "-F"}


def env_name(value):
    return value.upper().replace("-", "_")


def clean_env(home):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAELSTROM_", "CARGO_MAELSTROM_", "XDG_"))}
    env.pop("JOURNAL_STREAM", None)
    env["HOME"] = home
    env["XDG_CONFIG_HOME"] = os.path.join(home, "config")
    env["XDG_CONFIG_DIRS"] = os.path.join(home, "xdg-dirs")
    env["XDG_CACHE_HOME"] = os.path.join(home, "cache")
    return env


class Programs(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.home = self.tmp.name
        self.env = clean_env(self.home)

    def tearDown(self):
        self.tmp.cleanup()

    def run_prog(self, prog, *args, env=None, stdin=subprocess.DEVNULL, **kw):
        return subprocess.run([os.path.join(BUILD, BINARIES[prog]), *args], env=env or self.env,
                              stdin=stdin, capture_output=True, text=True, timeout=30, **kw)

    def write(self, rel, text):
        path = os.path.join(self.home, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        return path

    def print_config(self, prog, *args, env=None):
        p = self.run_prog(prog, "-P", *args, env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        values = {}
        for line in p.stdout.splitlines():
            m = re.match(r"^([a-z0-9-]+) = (.*?)  # (.*)$", line)
            if m:
                values[m.group(1)] = (m.group(2), m.group(3))
                continue
            m = re.match(r"^# ([a-z0-9-]+) is not set  # (.*)$", line)
            self.assertTrue(m, f"unexpected --print-config line {line!r}")
            values[m.group(1)] = (None, m.group(2))
        return values

    def test_help_lists_every_value_with_both_env_names(self):
        for prog, values in VALUES.items():
            with self.subTest(prog=prog):
                p = self.run_prog(prog, "--help")
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertTrue(p.stdout.startswith(f"Usage: {prog} "), p.stdout[:100])
                for v in values:
                    self.assertRegex(p.stdout, rf"--{v}\b|-- [A-Z-]+\.\.\.", f"{prog}: {v} missing")
                    self.assertIn(f"env: {ENV_PREFIX[prog]}{env_name(v)}, MAELSTROM_{env_name(v)}", p.stdout,
                                  f"{prog}: env names of {v}")
                for o in OPTIONS.get(prog, []):
                    self.assertRegex(p.stdout, rf"(^|[ ,]){re.escape(o)}\b", f"{prog}: option {o}")
                for v, s in SHORT.items():
                    if v in values:
                        self.assertRegex(p.stdout, rf"{s}, --{v}\b")
                for common in ("--help", "--version", "--print-config", "--config-file", "-c", "-P", "-h"):
                    self.assertIn(common, p.stdout)
                self.assertIn("Configuration files", p.stdout)
                self.assertIn("type: ", p.stdout)
                self.assertIn("default: ", p.stdout)
                # -h is the same.
                self.assertEqual(self.run_prog(prog, "-h").stdout, p.stdout)

    def test_help_names_the_files_searched(self):
        p = self.run_prog("maelstrom-run", "--help")
        self.assertIn(os.path.join(self.home, "config/maelstrom/run/config.toml"), p.stdout)
        self.assertIn(os.path.join(self.home, "xdg-dirs/maelstrom/run/config.toml"), p.stdout)
        p = self.run_prog("maelstrom-worker", "--help")
        self.assertIn("/etc/maelstrom/worker.conf", p.stdout)

    def test_version(self):
        for prog in BINARIES:
            with self.subTest(prog=prog):
                p = self.run_prog(prog, "--version")
                self.assertEqual(p.returncode, 0)
                self.assertRegex(p.stdout, rf"^{prog} \d+\.\d+\.\d+\n$")

    def test_print_config_has_every_value_with_its_source(self):
        for prog, values in VALUES.items():
            with self.subTest(prog=prog):
                got = self.print_config(prog, "-c", "-")
                main_list = {"extra-test-binary-args", "extra-pytest-args"}
                for v in values:
                    self.assertIn(v, got, f"{prog}: {v} missing from --print-config")
                    if v not in main_list:
                        self.assertIn(got[v][1], ("default", "unset"), f"{prog}: {v}")
        got = self.print_config("maelstrom-run", "-c", "-")
        self.assertEqual(got["cache-size"], ('"1 GB"', "default"))
        self.assertEqual(got["inline-limit"], ('"1 MB"', "default"))
        self.assertEqual(got["slots"], (str(os.cpu_count()), "default"))
        self.assertEqual(got["cache-root"], (f'"{self.home}/cache/maelstrom/run"', "default"))
        self.assertEqual(got["container-image-depot-root"], (f'"{self.home}/cache/maelstrom/containers"', "default"))
        self.assertEqual(got["broker"], (None, "unset"))

    def test_client_precedence(self):
        path = self.write("config/maelstrom/run/config.toml",
                          '# run\nslots = 3\ncache-size = "2 GiB"\nbroker = "file:1"\ninline-limit = 1000\n')
        self.write("xdg-dirs/maelstrom/run/config.toml", 'slots = 9\nescape-char = "^A"\n')
        got = self.print_config("maelstrom-run")
        self.assertEqual(got["slots"], ("3", f"{path}:2"))
        self.assertEqual(got["cache-size"], ('"2 GiB"', f"{path}:3"))
        self.assertEqual(got["inline-limit"], ('"1000"', f"{path}:5"))
        self.assertEqual(got["escape-char"][0], '"^A"')
        env = dict(self.env, MAELSTROM_SLOTS="4", MAELSTROM_BROKER="generic:2")
        got = self.print_config("maelstrom-run", env=env)
        self.assertEqual(got["slots"], ("4", "environment variable MAELSTROM_SLOTS"))
        self.assertEqual(got["broker"], ('"generic:2"', "environment variable MAELSTROM_BROKER"))
        env["MAELSTROM_RUN_SLOTS"] = "5"
        got = self.print_config("maelstrom-run", env=env)
        self.assertEqual(got["slots"], ("5", "environment variable MAELSTROM_RUN_SLOTS"))
        got = self.print_config("maelstrom-run", "--slots=6", "-b", "[::1]:7", env=env)
        self.assertEqual(got["slots"], ("6", "command line"))
        self.assertEqual(got["broker"], ('"[::1]:7"', "command line"))
        # -c - ignores the files but not the environment.
        got = self.print_config("maelstrom-run", "-c", "-", env=env)
        self.assertEqual(got["cache-size"], ('"1 GB"', "default"))
        self.assertEqual(got["slots"][0], "5")
        # An empty MAELSTROM_BROKER means standalone mode.
        got = self.print_config("maelstrom-run", env=dict(self.env, MAELSTROM_BROKER=""))
        self.assertEqual(got["broker"][0], None)

    def test_runner_lists(self):
        self.write("config/maelstrom/cargo-maelstrom/config.toml", 'extra-test-binary-args = ["--a", "b"]\n')
        got = self.print_config("cargo-maelstrom")
        self.assertEqual(got["extra-test-binary-args"][0], '["--a", "b"]')
        got = self.print_config("cargo-maelstrom", "--", "--test-threads=1", "x")
        self.assertEqual(got["extra-test-binary-args"], ('["--test-threads=1", "x"]', "command line"))
        got = self.print_config("cargo-maelstrom", env=dict(self.env, CARGO_MAELSTROM_EXTRA_TEST_BINARY_ARGS=" p  q "))
        self.assertEqual(got["extra-test-binary-args"][0], '["p", "q"]')
        # "cargo maelstrom" passes the subcommand name first.
        p = self.run_prog("cargo-maelstrom", "maelstrom", "--version")
        self.assertEqual(p.stdout, "cargo-maelstrom 0.1.0\n")

    def test_daemon_precedence(self):
        conf = self.write("broker.conf", 'port = 1234;\ncache-size = "5 MB";\nlog-level = "debug";\n')
        got = self.print_config("maelstrom-broker", "-c", conf)
        self.assertEqual(got["port"], ("1234", f"{conf}:1"))
        self.assertEqual(got["cache-size"], ('"5 MB"', f"{conf}:2"))
        env = dict(self.env, MAELSTROM_PORT="2000")
        self.assertEqual(self.print_config("maelstrom-broker", "-c", conf, env=env)["port"][0], "2000")
        env["MAELSTROM_BROKER_PORT"] = "3000"
        self.assertEqual(self.print_config("maelstrom-broker", "-c", conf, env=env)["port"][0], "3000")
        self.assertEqual(self.print_config("maelstrom-broker", "-c", conf, "-p", "4000", env=env)["port"],
                         ("4000", "command line"))
        self.assertEqual(self.print_config("maelstrom-broker", "-c", "-")["port"], ("0", "default"))

    def test_shipped_conf_files_document_every_key(self):
        for daemon in ("broker", "worker"):
            prog = f"maelstrom-{daemon}"
            with self.subTest(daemon=daemon):
                with open(os.path.join(SOURCE, "conf", f"{daemon}.conf")) as f:
                    text = f.read()
                # As shipped, everything is commented out: the effective values are the defaults.
                got = self.print_config(prog, "-c", os.path.join(SOURCE, "conf", f"{daemon}.conf"))
                self.assertTrue(all(src == "default" or src == "unset" for _, src in got.values()), got)
                keys = re.findall(r"^#([a-z-]+) = .*;$", text, re.M)
                self.assertEqual(sorted(keys), sorted(VALUES[prog]))
                # Uncommented, every line parses and has the right type.
                uncommented = re.sub(r"^#([a-z-]+ = )", r"\1", text, flags=re.M)
                path = self.write(f"{daemon}-all.conf", uncommented)
                got = self.print_config(prog, "-c", path)
                for k in keys:
                    self.assertTrue(got[k][1].startswith(path + ":"), (k, got[k]))

    def test_errors_name_file_line_and_key(self):
        path = self.write("config/maelstrom/run/config.toml", 'slots = 2\n\ncache-sise = "1 GB"\n')
        p = self.run_prog("maelstrom-run", "-P")
        self.assertEqual(p.returncode, 2)
        self.assertIn(f"{path}:3: unknown key 'cache-sise'", p.stderr)
        self.write("config/maelstrom/run/config.toml", 'slots = "two"\n')
        p = self.run_prog("maelstrom-run")
        self.assertEqual(p.returncode, 2)
        self.assertIn(f"{path}:1: key 'slots': wrong type: expected an integer, got a string", p.stderr)
        self.write("config/maelstrom/run/config.toml", 'inline-limit = "10 XB"\n')
        p = self.run_prog("maelstrom-run")
        self.assertIn(f"{path}:1: key 'inline-limit': invalid size '10 XB'", p.stderr)
        self.write("config/maelstrom/run/config.toml", 'slots = \n')
        p = self.run_prog("maelstrom-run")
        self.assertEqual(p.returncode, 2)
        self.assertIn(f"{path}:1:", p.stderr)
        conf = self.write("worker.conf", 'slots = 2;\nseccomp = "strict";\n')
        p = self.run_prog("maelstrom-worker", "-c", conf)
        self.assertEqual(p.returncode, 2)
        self.assertIn(f"{conf}:2: key 'seccomp': invalid value 'strict'", p.stderr)
        p = self.run_prog("maelstrom-worker", "-c", "-", "--slots", "0")
        self.assertEqual(p.returncode, 2)
        self.assertIn("option --slots: number 0 for 'slots' is out of range", p.stderr)
        p = self.run_prog("maelstrom-go-test", "--frobnicate")
        self.assertEqual(p.returncode, 2)
        self.assertIn("unknown option '--frobnicate'", p.stderr)
        p = self.run_prog("maelstrom-pytest", "-c", "-", env=dict(self.env, MAELSTROM_PYTEST_REPEAT="x"))
        self.assertIn("environment variable MAELSTROM_PYTEST_REPEAT: invalid number 'x' for 'repeat'", p.stderr)

    def test_not_available_exits_2(self):
        for prog, args in [("maelstrom-pytest", [])]:
            with self.subTest(prog=prog):
                p = self.run_prog(prog, *args)
                self.assertEqual(p.returncode, 2)
                self.assertIn("not available yet", p.stderr)
                self.assertEqual(p.stdout, "")

    def test_worker_needs_a_broker(self):
        p = self.run_prog("maelstrom-worker", "-c", "-")
        self.assertEqual(p.returncode, 2)
        self.assertIn("No broker configured", p.stderr)

    def test_admin_usage(self):
        p = self.run_prog("maelstrom-admin", "-b", "h:1")
        self.assertEqual(p.returncode, 2)
        self.assertIn("Expected exactly one command", p.stderr)
        p = self.run_prog("maelstrom-admin", "-b", "h:1", "restart")
        self.assertIn("Unknown command 'restart'", p.stderr)
        p = self.run_prog("maelstrom-admin", "status")
        self.assertIn("No broker configured", p.stderr)

    def test_log_prefix_for_journald(self):
        with open(os.path.join(self.home, "stderr"), "w+") as err:
            st = os.fstat(err.fileno())
            env = dict(self.env, JOURNAL_STREAM=f"{st.st_dev}:{st.st_ino}")
            subprocess.run([os.path.join(BUILD, BINARIES["maelstrom-run"]), "--bogus"], env=env,
                           stderr=err, stdout=subprocess.DEVNULL, timeout=30)
            err.seek(0)
            self.assertRegex(err.read(), r"^<3>unknown option '--bogus'")
        p = self.run_prog("maelstrom-run", "--bogus")
        self.assertRegex(p.stderr, r"^maelstrom-run: unknown option '--bogus'")

    def test_log_level_filters(self):
        # Debug messages do not show at the default level; an invalid level is an error.
        p = self.run_prog("maelstrom-run", "-L", "loud")
        self.assertEqual(p.returncode, 2)
        self.assertIn("invalid value 'loud' for 'log-level' (expected one of: error, warning, info, debug)", p.stderr)
        p = self.run_prog("maelstrom-run", "-L", "error", "-P")
        self.assertIn('log-level = "error"  # command line', p.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
