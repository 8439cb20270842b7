#!/usr/bin/env python3
# SPDX-License-Identifier: MIT OR Apache-2.0
"""maelstrom-run end to end, from the installed binaries, in standalone mode (a transient local worker).

Jobs are built from busybox-static and a static helper (tests/tools/job-helper.c).  With --as-user, the
whole suite re-runs itself as an unprivileged user it creates, so the rootless path is covered too."""

import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import time
import unittest

from testlib import children, local_worker

BUILD = os.environ.get("MAELSTROM_BUILD_ROOT") or sys.exit("MAELSTROM_BUILD_ROOT is not set")
TEST_USER = "maelstrom-test"
BUSYBOX = shutil.which("busybox", path="/bin:/usr/bin")
APPLETS = ["sh", "cat", "echo", "ls", "sleep", "id", "true", "false", "pwd", "mkdir", "touch", "hostname",
           "env", "grep", "wc", "head", "ps", "stat", "readlink", "mount", "ip", "tty", "test", "kill", "stty"]

STATE = {}  # set up once: install dir, project dir


def setUpModule():
    if BUSYBOX is None:
        raise unittest.SkipTest("busybox is not installed")
    root = tempfile.mkdtemp(prefix="maelstrom-run-test-")
    os.chmod(root, 0o755)
    destdir = os.path.join(root, "install")
    if os.environ.get("MAELSTROM_TEST_INSTALLED"):
        destdir = os.environ["MAELSTROM_TEST_INSTALLED"]
    else:
        subprocess.run(["meson", "install", "-C", BUILD, "--destdir", destdir, "--no-rebuild", "--quiet"],
                       check=True, stdout=subprocess.DEVNULL)
    binaries = [os.path.join(dp, f) for dp, _, fs in os.walk(destdir) for f in fs if f == "maelstrom-run"]
    assert binaries, "maelstrom-run was not installed"
    project = os.path.join(root, "project")
    os.makedirs(project)
    helper_path = os.environ.get("MAELSTROM_TEST_JOB_HELPER") or os.path.join(BUILD, "tests/tools/job-helper")
    shutil.copy(helper_path, os.path.join(project, "job-helper"))
    STATE.update(root=root, run=binaries[0], project=project, home=os.path.join(root, "home"))
    os.makedirs(STATE["home"])


def tearDownModule():
    if "root" in STATE:
        shutil.rmtree(STATE["root"], ignore_errors=True)


BASE_LAYERS = [
    {"paths": ["job-helper"], "prepend_prefix": "/bin"},
    {"paths": ["/bin/busybox"]},
    {"symlinks": [{"link": f"/bin/{a}", "target": "/bin/busybox"} for a in APPLETS]},
    {"stubs": ["/{proc,sys,tmp,mnt,dev}/", "/dev/{full,null,random,urandom,zero,fuse,tty}", "/dev/{shm,pts,mqueue}/",
               "/data/"]},
]


def job(program, *args, **fields):
    j = {"program": program, "arguments": list(args), "layers": BASE_LAYERS}
    j.update(fields)
    return j


def sh(script, **fields):
    return job("/bin/sh", "-c", script, **fields)


def helper(*args, **fields):
    return job("/bin/job-helper", *args, **fields)


class Run(unittest.TestCase):
    def maelstrom_run(self, jobs, *args, stdin=None, timeout=120, env=None):
        if stdin is None:
            stdin = "".join(j if isinstance(j, str) else json.dumps(j) + "\n" for j in jobs)
        e = {k: v for k, v in os.environ.items() if not k.startswith(("MAELSTROM_", "XDG_"))}
        e.update(HOME=STATE["home"], XDG_CACHE_HOME=os.path.join(STATE["home"], "cache"),
                 XDG_CONFIG_HOME=os.path.join(STATE["home"], "config"), MAELSTROM_RUN_SLOTS="2")
        e.update(env or {})
        return subprocess.run([STATE["run"], *args], input=stdin.encode() if isinstance(stdin, str) else stdin,
                              capture_output=True, cwd=STATE["project"], env=e, timeout=timeout)

    def one(self, j, *args, **kw):
        p = self.maelstrom_run([j], *args, **kw)
        return p, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")

    def assert_ok(self, j, *args, **kw):
        p, out, err = self.one(j, *args, **kw)
        self.assertEqual(p.returncode, 0, f"stdout={out!r} stderr={err!r}")
        return out

    # ---- basics ----

    def test_hello(self):
        self.assertEqual(self.assert_ok(sh("echo hello")), "hello\n")

    def test_exit_code(self):
        p, out, err = self.one(helper("exit", "3"))
        self.assertEqual(p.returncode, 1)
        self.assertIn("job 1: exited with code 3", err)

    def test_killed_by_signal(self):
        p, out, err = self.one(helper("segv"))
        self.assertEqual(p.returncode, 1)
        self.assertIn(f"job 1: killed by signal {int(signal.SIGSEGV)}", err)

    def test_arguments_and_argv0(self):
        out = self.assert_ok(job("job-helper", "args", "a b", "", "$HOME", working_directory="/bin",
                                 environment={"PATH": "/bin"}))
        self.assertEqual(out, "[job-helper]\n[args]\n[a b]\n[]\n[$HOME]\n")

    def test_path_search(self):
        self.assertEqual(self.assert_ok(job("echo", "found", environment={"PATH": "/nowhere:/bin"})), "found\n")

    def test_many_jobs_output_whole_per_job(self):
        jobs = [sh(f"for i in 1 2 3; do echo job{n}-$i; sleep 0.0{n % 3}; done") for n in range(20)]
        p = self.maelstrom_run(jobs)
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.decode().splitlines()
        self.assertEqual(len(lines), 60)
        for n in range(20):
            i = lines.index(f"job{n}-1")
            self.assertEqual(lines[i:i + 3], [f"job{n}-1", f"job{n}-2", f"job{n}-3"])

    def test_output_to_a_slow_reader_sharing_stdin(self):
        # stdin and stdout are one socket, so one open file description: reading the jobs without blocking must
        # not make writing the output fail when the reader is slow.
        ours, theirs = socket.socketpair()
        e = {k: v for k, v in os.environ.items() if not k.startswith(("MAELSTROM_", "XDG_"))}
        e.update(HOME=STATE["home"], XDG_CACHE_HOME=os.path.join(STATE["home"], "cache"))
        p = subprocess.Popen([STATE["run"], "--inline-limit", "8MB"], stdin=theirs, stdout=theirs,
                             stderr=subprocess.PIPE, cwd=STATE["project"], env=e)
        theirs.close()
        ours.sendall(json.dumps(helper("output", "3000000", "0")).encode())
        ours.shutdown(socket.SHUT_WR)
        time.sleep(1)
        data = b""
        while chunk := ours.recv(1 << 16):
            data += chunk
        ours.close()
        p.wait(timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr.read())
        self.assertEqual(len(data), 3000000)

    def test_stdout_and_stderr_separate(self):
        p, out, err = self.one(sh("echo to-out; echo to-err >&2"))
        self.assertEqual(p.returncode, 0)
        self.assertEqual(out, "to-out\n")
        self.assertIn("to-err\n", err)

    # ---- process model ----

    def test_pid1_and_session_leader(self):
        out = self.assert_ok(helper("ids", user=0, group=0))
        self.assertIn("pid=1 ppid=0 sid=1 pgid=1 ", out)

    def test_pid1_outlives_its_own_signals(self):
        # The kernel protects a namespace's init from signals with the default action sent from inside
        # (README): kill(getpid(), SIGTERM) returns, and abort() falls back to a fault.
        p, out, err = self.one(helper("kill-self", str(int(signal.SIGTERM))))
        self.assertEqual(out, "alive\n")
        self.assertIn("job 1: exited with code 3", err)
        p, out, err = self.one(helper("abort"))
        self.assertIn(f"job 1: killed by signal {int(signal.SIGSEGV)}", err)

    def test_fds_closed(self):
        r, w = os.pipe()
        try:
            p = self.maelstrom_run([helper("fds")], timeout=60)
        finally:
            os.close(r)
            os.close(w)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.decode(), "0 1 2\n")

    def test_stdin_is_empty(self):
        # maelstrom-run's own stdin carries the jobs; the job must see none of it.
        self.assertEqual(self.assert_ok(helper("stdin")), "stdin: 0 bytes, eof\n")

    def test_orphans_die_with_the_job(self):
        marker = f"mt-orphan{os.getpid() % 100000}"
        out = self.assert_ok(helper("orphan", marker))
        self.assertEqual(out, "orphaned\n")
        time.sleep(0.2)
        ps = subprocess.run(["ps", "-eo", "comm"], capture_output=True, text=True).stdout.split()
        self.assertNotIn(marker, ps)

    def test_timeout_with_children_ignoring_signals(self):
        start = time.monotonic()
        p, out, err = self.one(helper("ignore-term", timeout=1))
        self.assertLess(time.monotonic() - start, 30)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(out, "started\n")  # output so far is kept
        self.assertIn("job 1: timed out", err)

    def test_output_beyond_inline_limit(self):
        p, out, err = self.one(helper("output", "5000", "7000"), "--inline-limit", "1000")
        # The job exited 0: cut output is reported, and is not a failure of the run.
        self.assertEqual(p.returncode, 0)
        self.assertEqual(out, "o" * 1000)
        self.assertTrue(err.startswith("e" * 1000))
        self.assertIn("job 1: stdout truncated, 4000 bytes lost", err)
        self.assertIn("job 1: stderr truncated, 6000 bytes lost", err)

    # ---- container fields ----

    def test_environment_map_and_list(self):
        out = self.assert_ok(helper("env", environment={"A": "1", "B": "$env{MT_OUTER}"}),
                             env={"MT_OUTER": "outer"})
        self.assertEqual(sorted(out.split()), ["A=1", "B=outer"])
        out = self.assert_ok(helper("env", environment=[
            {"vars": {"A": "1", "B": "2"}, "extend": False},
            {"vars": {"B": "$prev{B}$prev{A}", "C": "$env{MT_UNSET:-dflt}", "D": "$$"}, "extend": True},
            {"vars": {"A": "$prev{A}x"}, "extend": True}]))
        self.assertEqual(sorted(out.split()), ["A=1x", "B=21", "C=dflt", "D=$"])

    def test_working_directory(self):
        self.assertEqual(self.assert_ok(sh("pwd", working_directory="/tmp")), "/tmp\n")

    def test_user_and_group(self):
        self.assertEqual(self.assert_ok(sh("id -u; id -g", user=1234, group=4321)), "1234\n4321\n")

    def test_read_only_root(self):
        out = self.assert_ok(helper("write", "/data/x"))
        self.assertEqual(out, "write: EROFS\n")

    def test_writable_root_is_thrown_away(self):
        out = self.assert_ok(sh("echo hi > /data/x && cat /data/x", enable_writable_file_system=True))
        self.assertEqual(out, "hi\n")
        out = self.assert_ok(sh("test -e /data/x && echo leaked || echo clean", enable_writable_file_system=True))
        self.assertEqual(out, "clean\n")

    def test_priority_orders_the_queue(self):
        # One slot: while the first job runs, the others queue and come out by priority, then in order.
        jobs = [sh("sleep 1; echo first"), sh("echo zero-a", priority=0), sh("echo five", priority=5),
                sh("echo minus", priority=-3), sh("echo zero-b"), sh("echo five-b", priority=5)]
        p = self.maelstrom_run(jobs, "--slots", "1")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.decode().split(), ["first", "five", "five-b", "zero-a", "zero-b", "minus"])

    def test_priority_and_timeout_fields(self):
        self.assert_ok(sh("true", priority=-5, timeout=30))

    # ---- layers ----

    def test_layer_tar(self):
        path = os.path.join(STATE["project"], "layer.tar")
        with tarfile.open(path, "w") as t:
            data = b"from the tar\n"
            info = tarfile.TarInfo("etc/greeting")
            info.size = len(data)
            import io
            t.addfile(info, io.BytesIO(data))
        out = self.assert_ok(sh("cat /etc/greeting", layers=BASE_LAYERS + [{"tar": "layer.tar"}]))
        self.assertEqual(out, "from the tar\n")

    def test_layer_glob_and_prefixes(self):
        d = os.path.join(STATE["project"], "assets", "deep", "er")
        os.makedirs(d, exist_ok=True)
        for name in ("a.txt", "b.txt", "c.bin"):
            with open(os.path.join(d, name), "w") as f:
                f.write(name)
        layers = BASE_LAYERS + [{"glob": "assets/**/*.txt", "strip_prefix": "assets/deep", "prepend_prefix": "/g"}]
        out = self.assert_ok(sh("ls /g/er", layers=layers))
        self.assertEqual(out.split(), ["a.txt", "b.txt"])

    def test_layer_paths_follow_symlinks_and_canonicalize(self):
        p = STATE["project"]
        with open(os.path.join(p, "real"), "w") as f:
            f.write("real content")
        if not os.path.lexists(os.path.join(p, "link")):
            os.symlink("real", os.path.join(p, "link"))
        out = self.assert_ok(sh("readlink /link; cat /link", layers=BASE_LAYERS + [{"paths": ["link", "real"]}]))
        self.assertEqual(out, "real\nreal content")
        out = self.assert_ok(sh("test -L /x/link && echo link || cat /x/link",
                                layers=BASE_LAYERS + [{"paths": ["link"], "follow_symlinks": True,
                                                       "prepend_prefix": "/x"}]))
        self.assertEqual(out, "real content")
        out = self.assert_ok(sh(f"cat {p}/real", layers=BASE_LAYERS + [{"paths": ["real"], "canonicalize": True}]))
        self.assertEqual(out, "real content")

    def test_layer_stubs_and_symlinks(self):
        layers = BASE_LAYERS + [{"stubs": ["/s/{a,b}/", "/s/c/{d,e}"]},
                                {"symlinks": [{"link": "/s/ln", "target": "/s/c/d"}]}]
        out = self.assert_ok(sh("ls -F /s; ls /s/c; readlink /s/ln", layers=layers))
        self.assertEqual(out.split(), ["a/", "b/", "c/", "ln@", "d", "e", "/s/c/d"])

    def test_layer_shared_library_dependencies(self):
        binary = shutil.which("env") or "/usr/bin/env"
        layers = [{"paths": [binary]}, {"shared-library-dependencies": [binary]}]
        self.assertEqual(self.assert_ok(job(binary, "X=1", binary, "-0", layers=layers, environment={})).strip("\0"),
                         "X=1")
        layers = [{"paths": [binary]}, {"shared_library_dependencies": [binary]}]
        self.assert_ok(job(binary, layers=layers))

    def test_later_layers_cover_earlier(self):
        for n, text in (("1", "one"), ("2", "two")):
            os.makedirs(os.path.join(STATE["project"], f"cover-{n}"), exist_ok=True)
            with open(os.path.join(STATE["project"], f"cover-{n}", "f"), "w") as f:
                f.write(text)
        layers = BASE_LAYERS + [{"paths": ["cover-1/f"], "strip_prefix": "cover-1", "prepend_prefix": "/v"},
                                {"paths": ["cover-2/f"], "strip_prefix": "cover-2", "prepend_prefix": "/v"}]
        self.assertEqual(self.assert_ok(sh("cat /v/f", layers=layers)), "two")

    def test_same_layer_twice(self):
        # Two layers of the same content are one directory, which overlayfs refuses to take twice (ELOOP).
        once = {"paths": ["cover-1/f"], "strip_prefix": "cover-1", "prepend_prefix": "/w"}
        os.makedirs(os.path.join(STATE["project"], "cover-1"), exist_ok=True)
        with open(os.path.join(STATE["project"], "cover-1", "f"), "w") as f:
            f.write("one")
        layers = [once] + BASE_LAYERS + [dict(once), BASE_LAYERS[0]]
        self.assertEqual(self.assert_ok(sh("cat /w/f", layers=layers)), "one")

    # ---- mounts ----

    def test_mount_tmp_proc_sys(self):
        mounts = [{"type": "tmp", "mount_point": "/tmp"}, {"type": "proc", "mount_point": "/proc"},
                  {"type": "sys", "mount_point": "/sys"}]
        out = self.assert_ok(sh("echo x > /tmp/f && cat /tmp/f; ls /proc | grep -c '^[0-9]'; "
                                "test -d /sys/kernel && echo sys", mounts=mounts))
        # Only the job's own processes: the shell and the grep/ls pipeline.
        lines = out.split()
        self.assertEqual(lines[0], "x")
        self.assertLessEqual(int(lines[1]), 4)
        self.assertEqual(lines[2], "sys")

    def test_mount_devpts_mqueue(self):
        mounts = [{"type": "devpts", "mount_point": "/dev/pts"}, {"type": "mqueue", "mount_point": "/dev/mqueue"},
                  {"type": "proc", "mount_point": "/proc"}]
        out = self.assert_ok(sh("grep -E ' /dev/(pts|mqueue) ' /proc/mounts", mounts=mounts))
        self.assertIn("devpts /dev/pts devpts", out)
        self.assertIn("ptmxmode=666", out)
        self.assertIn("mqueue /dev/mqueue mqueue", out)

    def test_mount_bind_read_write_and_read_only(self):
        host = os.path.join(STATE["project"], "shared")
        os.makedirs(host, exist_ok=True)
        with open(os.path.join(host, "in"), "w") as f:
            f.write("from host")
        out = self.assert_ok(sh("cat /mnt/in; echo back > /mnt/out",
                                mounts=[{"type": "bind", "mount_point": "/mnt", "local_path": "shared"}]))
        self.assertEqual(out, "from host")
        with open(os.path.join(host, "out")) as f:
            self.assertEqual(f.read(), "back\n")
        out = self.assert_ok(helper("write", "/mnt/out2", mounts=[
            {"type": "bind", "mount_point": "/mnt", "local_path": "shared", "read_only": True}]))
        self.assertEqual(out, "write: EROFS\n")
        self.assertFalse(os.path.exists(os.path.join(host, "out2")))

    def test_mount_devices(self):
        out = self.assert_ok(sh("head -c 4 /dev/zero | wc -c; echo x > /dev/null && echo null-ok",
                                mounts=[{"type": "devices", "devices": ["null", "zero", "full", "random", "urandom"]}]))
        self.assertEqual(out.split(), ["4", "null-ok"])

    # ---- network ----

    def test_network_disabled(self):
        out = self.assert_ok(helper("interfaces"))
        self.assertEqual(out, "lo down\n")
        self.assertRegex(self.assert_ok(helper("tcp")), r"^(listen EADDRNOTAVAIL|connect ENETUNREACH)\n$")

    def test_network_loopback(self):
        self.assertEqual(self.assert_ok(helper("interfaces", network="loopback")), "lo up\n")
        self.assertEqual(self.assert_ok(helper("tcp", network="loopback")), "connected\n")

    def test_network_local_and_host_isolation(self):
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen(4)
        port = str(server.getsockname()[1])
        try:
            self.assertEqual(self.assert_ok(helper("connect", "127.0.0.1", port, network="local")), "connect: ok\n")
            for network in ("disabled", "loopback"):
                out = self.assert_ok(helper("connect", "127.0.0.1", port, network=network))
                self.assertNotEqual(out, "connect: ok\n", network)
        finally:
            server.close()

    def test_sys_with_local_network_is_an_error(self):
        p, out, err = self.one(sh("true", network="local", mounts=[{"type": "sys", "mount_point": "/sys"}]))
        self.assertEqual(p.returncode, 1)
        self.assertIn("not compatible with local networking", err)

    # ---- isolation ----

    def test_cannot_see_host_files(self):
        out = self.assert_ok(sh("ls /; test -e /etc/passwd && echo passwd-visible || echo no-passwd"))
        self.assertEqual(sorted(out.split()), sorted(["bin", "data", "dev", "mnt", "proc", "sys", "tmp",
                                                      "no-passwd"]))

    def test_cannot_see_host_processes(self):
        out = self.assert_ok(sh("ls /proc | grep -c '^[0-9]'", mounts=[{"type": "proc", "mount_point": "/proc"}]))
        self.assertLessEqual(int(out), 3)

    def test_cannot_write_outside_bind_mounts(self):
        outside = os.path.join(STATE["project"], "outside-marker")
        out = self.assert_ok(helper("write", outside, enable_writable_file_system=True))
        self.assertIn("write:", out)
        self.assertFalse(os.path.exists(outside))

    def test_seccomp_default_filter(self):
        for call in ("keyctl", "bpf", "perf_event_open"):
            self.assertEqual(self.assert_ok(helper("syscall", call)), "EPERM\n", call)
        self.assertEqual(self.assert_ok(helper("syscall", "getpid")), "ok\n")

    # ---- bad input ----

    def test_malformed_json_earlier_jobs_still_run(self):
        stdin = json.dumps(sh("echo first")) + "\n" + '{"program": "/bin/sh", "arguments": [}\n'
        p = self.maelstrom_run([], stdin=stdin)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stdout.decode(), "first\n")
        self.assertRegex(p.stderr.decode(), r"line 2, column \d+")

    def test_bad_jobs_fail_alone(self):
        bad_tar = os.path.join(STATE["project"], "evil.tar")
        with tarfile.open(bad_tar, "w") as t:
            info = tarfile.TarInfo("../../escape")
            info.size = 0
            import io
            t.addfile(info, io.BytesIO(b""))
        jobs = [
            sh("echo one"),
            dict(sh("true"), programm="x"),                                # unknown field
            {"arguments": [], "layers": BASE_LAYERS},                       # missing program
            sh("true", layers=BASE_LAYERS + [{"tar": "no-such.tar"}]),      # missing layer file
            sh("true", layers=BASE_LAYERS + [{"tar": "evil.tar"}]),         # tar with ../
            sh("true", mounts=[{"type": "tmp", "mount_point": "/nonexistent"}]),  # missing mount point
            job("/bin/no-such-program"),                                   # missing program file
            sh("echo eight"),
        ]
        p = self.maelstrom_run(jobs)
        out, err = p.stdout.decode(), p.stderr.decode()
        self.assertEqual(p.returncode, 1)
        self.assertEqual(sorted(out.split()), ["eight", "one"])
        self.assertRegex(err, r"job 2\b.*unknown field 'programm'")
        self.assertRegex(err, r"job 3\b.*program")
        self.assertRegex(err, r"job 4\b.*no-such\.tar")
        self.assertRegex(err, r"job 5: execution error: .*")
        self.assertRegex(err, r"job 6: execution error: .*/nonexistent")
        self.assertRegex(err, r"job 7: execution error: .*no-such-program")
        self.assertFalse(os.path.exists(os.path.join(STATE["root"], "escape")))

    def test_image_parent_and_added_layers(self):
        jobs = [
            sh("true", image="docker://busybox"),
            dict(sh("true"), parent="no-such-container"),
            {"program": "/bin/true", "added_layers": BASE_LAYERS},
            sh("echo fine"),
        ]
        p = self.maelstrom_run(jobs)
        out, err = p.stdout.decode(), p.stderr.decode()
        self.assertEqual(p.returncode, 1)
        self.assertEqual(out, "fine\n")
        self.assertRegex(err, r"job 1\b.*(image|not available)")
        self.assertRegex(err, r"job 2\b.*no-such-container")
        self.assertRegex(err, r"job 3\b.*added_layers")

    # ---- modes ----

    def test_one_exits_like_the_job(self):
        spec = json.dumps(helper("exit", "7"))
        p = self.maelstrom_run([], "--one", stdin=spec)
        self.assertEqual(p.returncode, 7)
        p = self.maelstrom_run([], "--one", stdin=json.dumps(helper("segv")))
        self.assertEqual(p.returncode, -signal.SIGSEGV)

    def test_one_with_positional_arguments(self):
        spec = json.dumps(job("/bin/false"))
        p = self.maelstrom_run([], "--one", "--", "/bin/echo", "replaced", stdin=spec)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.decode(), "replaced\n")

    def test_file_option(self):
        path = os.path.join(STATE["project"], "jobs.json")
        with open(path, "w") as f:
            f.write(json.dumps(sh("echo from-file")))
        p = self.maelstrom_run([], "--file", "jobs.json", stdin="")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.decode(), "from-file\n")

    def tty_run(self, j, keys, *args, wait=30):
        """Run maelstrom-run --tty on a pseudo-terminal of ours; type keys once the job prints 'ready'."""
        import pty
        import select
        path = os.path.join(STATE["project"], "tty-job.json")
        with open(path, "w") as f:
            f.write(json.dumps(j))
        master, slave = pty.openpty()
        import fcntl
        import struct
        import termios
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 101, 0, 0))
        e = {k: v for k, v in os.environ.items() if not k.startswith(("MAELSTROM_", "XDG_"))}
        e.update(HOME=STATE["home"], XDG_CACHE_HOME=os.path.join(STATE["home"], "cache"))
        p = subprocess.Popen([STATE["run"], "--tty", "--file", path, *args], stdin=slave, stdout=slave,
                             stderr=slave, cwd=STATE["project"], env=e, start_new_session=True)
        os.close(slave)
        out = b""
        typed = False
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
            if not typed and b"ready" in out:
                os.write(master, keys)
                typed = True
            if p.poll() is not None and not ready:
                break
        p.wait(timeout=30)
        os.close(master)
        return p.returncode, out.decode(errors="replace")

    def test_tty(self):
        rc, out = self.tty_run(sh("tty; stty size; echo ready; read line; echo \"got [$line]\"; exit 3",
                                  mounts=[{"type": "devpts", "mount_point": "/dev/pts"}]), b"typed\r")
        self.assertEqual(rc, 3, out)
        self.assertRegex(out, r"/dev/pts/\d+")
        self.assertIn("33 101", out)
        self.assertIn("got [typed]", out)

    def test_tty_escape_detaches(self):
        rc, out = self.tty_run(sh("echo ready; sleep 60"), b"\x1d.", wait=20)
        self.assertEqual(rc, 1)
        self.assertIn("detached", out)
        rc, out = self.tty_run(sh("echo ready; read line; echo \"got [$line]\""), b"x~.y\r", "--escape-char", "~")
        self.assertEqual(rc, 1)
        self.assertIn("detached", out)
        self.assertNotIn("got", out)

    def test_next_job_prepared_while_the_slot_is_busy(self):
        # One slot, busy for seconds: the next job's container is made meanwhile and waits, in namespaces of
        # its own, before its execve (it is still the worker's program); it runs when the slot frees.
        e = {k: v for k, v in os.environ.items() if not k.startswith(("MAELSTROM_", "XDG_"))}
        e.update(HOME=STATE["home"], XDG_CACHE_HOME=os.path.join(STATE["home"], "cache"))
        p = subprocess.Popen([STATE["run"], "--slots", "1"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, cwd=STATE["project"], env=e)
        p.stdin.write("".join(json.dumps(j) + "\n" for j in [sh("sleep 3; echo first"), sh("echo second")]).encode())
        p.stdin.close()
        p.stdin = None
        worker = local_worker(p.pid)
        self.assertIsNotNone(worker)

        def prepared():
            found = set()
            for pid in children(worker):
                try:
                    with open(f"/proc/{pid}/cmdline", "rb") as c, open(f"/proc/{worker}/cmdline", "rb") as w:
                        same_program = c.read() == w.read()
                    other_pidns = os.readlink(f"/proc/{pid}/ns/pid") != os.readlink(f"/proc/{worker}/ns/pid")
                except FileNotFoundError:
                    continue
                if same_program and other_pidns:
                    found.add(pid)
            return found

        # The same process found twice, half a second apart: not a container caught during its set-up.
        waiting, deadline = set(), time.monotonic() + 2.5
        while time.monotonic() < deadline:
            now = prepared()
            if waiting & now:
                break
            waiting = now
            time.sleep(0.5)
        self.assertTrue(waiting & prepared(), "no container waited while the slot was busy")
        out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 0, err)
        self.assertEqual(out.decode().split(), ["first", "second"])

    def test_a_large_file_is_copied_while_other_jobs_run(self):
        # The local worker copies a large file into its cache on a thread: the other slot's job starts and
        # ends meanwhile.  Copied on the worker's loop, the first job's copy (768 MiB, about a second) held
        # everything up, the second job started only after it, and so ended after the first.
        big = os.path.join(STATE["project"], "big")
        with open(big, "wb") as f:
            f.truncate(768 << 20)
        os.chmod(big, 0o644)
        try:
            layers = BASE_LAYERS + [{"paths": ["big"], "prepend_prefix": "/data"}]
            p = self.maelstrom_run([job("/bin/echo", "big", layers=layers), sh("sleep 0.3; echo small")],
                                   timeout=300)
        finally:
            os.unlink(big)
        self.assertEqual(p.returncode, 0, p.stderr.decode(errors="replace"))
        self.assertEqual(p.stdout.decode().split(), ["small", "big"])

    def test_worker_death_fails_the_jobs(self):
        e = {k: v for k, v in os.environ.items() if not k.startswith(("MAELSTROM_", "XDG_"))}
        e.update(HOME=STATE["home"], XDG_CACHE_HOME=os.path.join(STATE["home"], "cache"))
        p = subprocess.Popen([STATE["run"]], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             cwd=STATE["project"], env=e)
        # A duration no other run on the machine uses, so that the process list below is about this job only.
        marker = f"sleep {100000 + os.getpid() % 100000}"
        p.stdin.write(json.dumps(sh(f"echo started; exec {marker}")).encode())
        p.stdin.flush()
        worker = local_worker(p.pid)
        self.assertIsNotNone(worker)
        time.sleep(0.5)
        os.kill(worker, signal.SIGKILL)
        p.stdin.close()
        p.stdin = None
        out, err = p.communicate(timeout=30)
        self.assertEqual(p.returncode, 1)
        self.assertRegex(err.decode(), r"job 1: execution error: .*(local worker|connection)")
        # The job died with its worker.
        time.sleep(0.5)
        ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout.splitlines()
        self.assertNotIn(marker, ps)

    def test_no_leftovers(self):
        cache = os.path.join(STATE["home"], "cache", "maelstrom", "run")
        self.assert_ok(sh("true"))
        # No local worker of ours (other test runs on the machine may have their own).
        ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout.splitlines()
        self.assertEqual([a for a in ps if "--local" in a and cache in a], [])
        with open("/proc/self/mountinfo") as f:
            self.assertNotIn(cache, f.read())
        # Nothing half-made or temporary stays in the local worker's directories.
        scratch = os.path.join(cache, "local-worker", "scratch")
        self.assertEqual(os.listdir(scratch), [])
        tmp = os.path.join(cache, "local-worker", "cache", "tmp")
        self.assertEqual(os.listdir(tmp), [])


def as_user():
    """Re-run this file as the unprivileged test user."""
    if os.geteuid() != 0:
        print("--as-user needs root to create and become the test user; skipping")
        sys.exit(77)
    try:
        pwd.getpwnam(TEST_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", TEST_USER],
                       check=True)
    root = tempfile.mkdtemp(prefix="maelstrom-run-user-")
    os.chmod(root, 0o755)
    destdir = os.path.join(root, "install")
    subprocess.run(["meson", "install", "-C", BUILD, "--destdir", destdir, "--no-rebuild", "--quiet"],
                   check=True, stdout=subprocess.DEVNULL)
    # Everything the user needs goes where it can read it, whatever the permissions of the build tree.
    script = shutil.copy(__file__, os.path.join(root, "test-run.py"))
    shutil.copy(os.path.join(os.path.dirname(os.path.abspath(__file__)), "testlib.py"), root)
    helper_copy = shutil.copy(os.path.join(BUILD, "tests/tools/job-helper"), os.path.join(root, "job-helper"))
    shutil.chown(root, TEST_USER, TEST_USER)
    env = dict(os.environ, MAELSTROM_TEST_INSTALLED=destdir, MAELSTROM_TEST_JOB_HELPER=helper_copy, TMPDIR=root,
               HOME=root)
    python = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable
    try:
        r = subprocess.run(["setpriv", f"--reuid={TEST_USER}", f"--regid={TEST_USER}", "--init-groups", python,
                            script], env=env, cwd=root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    sys.exit(r.returncode)


if __name__ == "__main__":
    if "--as-user" in sys.argv:
        as_user()
    unittest.main(verbosity=2)
