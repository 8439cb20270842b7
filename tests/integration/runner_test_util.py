# SPDX-License-Identifier: MIT OR Apache-2.0
"""What the end-to-end tests of the test runners (test-cargo.py, test-go.py) share: installing the build,
writing small projects, reading the simple UI's lines, following a --watch run's output, and running a
runner as the unprivileged test user."""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

from testlib import ensure_user

BUILD = os.environ.get("MAELSTROM_BUILD_ROOT") or sys.exit("MAELSTROM_BUILD_ROOT is not set")


def read(path):
    with open(path) as f:
        return f.read()


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(textwrap.dedent(text).lstrip())


def install(root, program, own_copy=False):
    """The path of program in the build installed under root (or in $MAELSTROM_TEST_INSTALLED, unless
    own_copy)."""
    given = None if own_copy else os.environ.get("MAELSTROM_TEST_INSTALLED")
    destdir = given or os.path.join(root, "install")
    if not given:
        subprocess.run(["meson", "install", "-C", BUILD, "--destdir", destdir, "--no-rebuild", "--quiet"],
                       check=True, stdout=subprocess.DEVNULL)
    found = [os.path.join(dp, f) for dp, _, fs in os.walk(destdir) for f in fs if f == program]
    assert found, program + " was not installed"
    return found[0]


class UserRun:
    """A run of a runner as the unprivileged test user, as a developer runs it (rootless local worker and
    containers), in a scratch directory under /var/tmp: the build installed there where the user can read it,
    and the user's own home/, tmp/ and project.  Skips the test when not root."""

    def __init__(self, test, prefix, program):
        if os.geteuid() != 0:
            test.skipTest("needs root to become the test user")
        self.user = ensure_user("maelstrom-test")
        self.home = tempfile.mkdtemp(prefix=prefix, dir="/var/tmp")
        test.addCleanup(shutil.rmtree, self.home, True)
        os.chmod(self.home, 0o755)
        self.program = install(self.home, program, own_copy=True)
        for d in ["home", "tmp"]:
            os.mkdir(os.path.join(self.home, d))

    def path(self, *parts):
        return os.path.join(self.home, *parts)

    def run(self, args, cwd, path, env, keep=()):
        """Runs the program with args as the user, in cwd, with PATH the program's directory then path, HOME
        and TMPDIR the user's, and env; everything under the scratch directory but the installed build and
        the directories in keep becomes the user's first."""
        kept = (self.path("install"),) + tuple(keep)
        for dp, _, fns in os.walk(self.home):
            if not dp.startswith(kept):
                for n in [dp] + [os.path.join(dp, f) for f in fns]:
                    os.chown(n, self.user.pw_uid, self.user.pw_gid)
        env = dict(env, PATH=":".join([os.path.dirname(self.program), path, "/usr/bin:/bin"]),
                   HOME=self.path("home"), TMPDIR=self.path("tmp"))
        return subprocess.run(["setpriv", f"--reuid={self.user.pw_uid}", f"--regid={self.user.pw_gid}",
                               "--init-groups", self.program, *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=600)


LINE = re.compile(r"^(\S+) (\S+) \.\.\. (OK|FAIL|TIMEOUT|ERROR|IGNORED) \((\d+\.\d{3})s\)$")


def outcomes(stdout):
    """{(package, name): outcome} of the simple UI's lines, and the names in order."""
    found, order = {}, []
    for line in stdout.splitlines():
        m = LINE.match(line)
        if m:
            found[(m.group(1), m.group(2))] = m.group(3)
            order.append(m.group(2))
    return found, order


def summary(stdout):
    """(cases, passed, failed, timed out, errors, ignored, not run) of the summary line, or None."""
    m = re.search(r"Summary: (\d+) cases: (\d+) passed, (\d+) failed, (\d+) timed out, (\d+) errors, "
                  r"(\d+) ignored, (\d+) not run", stdout)
    return tuple(map(int, m.groups())) if m else None


class Watcher:
    """A runner started with --watch, its stdout read as it comes."""

    def __init__(self, args, cwd, env, stderr=False):
        """stderr: read the runner's stderr too, with its stdout."""
        self.p = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT if stderr else subprocess.DEVNULL)
        os.set_blocking(self.p.stdout.fileno(), False)
        self.out = ""

    def wait_for(self, text, count, seconds):
        """Whether text shows count times within seconds."""
        deadline = time.monotonic() + seconds
        while self.out.count(text) < count and time.monotonic() < deadline:
            try:
                chunk = os.read(self.p.stdout.fileno(), 65536)
            except BlockingIOError:
                chunk = None
            if chunk:
                self.out += chunk.decode(errors="replace")
            else:
                time.sleep(0.05)
        return self.out.count(text) >= count

    def stop(self):
        """Ctrl-C; returns the exit status."""
        self.p.send_signal(signal.SIGINT)
        try:
            self.p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        self.p.stdout.close()
        return self.p.returncode
