# SPDX-License-Identifier: MIT OR Apache-2.0
"""Helpers shared by the integration tests."""

import grp
import os
import pwd
import socket
import subprocess
import tempfile
import time


def wait_for(what, predicate, timeout=30, interval=0.1):
    """Polls predicate until it returns something true, and returns that; fails after timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = predicate()
        if v:
            return v
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def free_port():
    """A TCP port of 127.0.0.1 that nothing listens on (now)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_user(name):
    """The passwd entry of a system user, created if needed (as root)."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name], check=True)
        return pwd.getpwnam(name)


def ensure_group(name):
    """The group entry of a system group, created if needed (as root)."""
    try:
        return grp.getgrnam(name)
    except KeyError:
        subprocess.run(["groupadd", "--system", name], check=True)
        return grp.getgrnam(name)


def busybox_layers(applets):
    """Layers of a job that runs busybox's applets (busybox-static)."""
    return [
        {"paths": ["/bin/busybox"]},
        {"symlinks": [{"link": f"/bin/{a}", "target": "/bin/busybox"} for a in applets]},
        {"stubs": ["/{proc,sys,tmp,dev}/", "/dev/{null,zero}"]},
    ]


def sh_job(script, layers):
    return {"program": "/bin/sh", "arguments": ["-c", script], "layers": layers}


class Processes:
    """Programs a test runs in the background, each logging to DIR/NAME.log; killed by kill_all()."""

    def __init__(self, directory):
        self.directory = directory
        self.procs = []

    def spawn(self, name, argv, env, stdout=None, **kwargs):
        with open(self.log_path(name), "w") as log:
            p = subprocess.Popen(argv, stdout=stdout or log, stderr=log, env=env, **kwargs)
        self.procs.append(p)
        return p

    def log_path(self, name):
        return os.path.join(self.directory, f"{name}.log")

    def read_log(self, name):
        with open(self.log_path(name)) as f:
            return f.read()

    def kill_all(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.kill()
            p.wait(timeout=30)


def install_build(build, prefix):
    """Installs the build into a new scratch directory: returns the directory and the installed files, as
    {path relative to the installation's root: absolute path}."""
    root = tempfile.mkdtemp(prefix=prefix)
    os.chmod(root, 0o755)
    destdir = os.path.join(root, "install")
    subprocess.run(["meson", "install", "-C", build, "--destdir", destdir, "--no-rebuild", "--quiet"],
                   check=True, stdout=subprocess.DEVNULL)
    return root, {os.path.relpath(os.path.join(dp, f), destdir): os.path.join(dp, f)
                  for dp, _, fs in os.walk(destdir) for f in fs}


def clean_env(root, **extra):
    """The environment without our variables nor systemd's, with HOME and the XDG directories under root."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MAELSTROM_", "XDG_", "NOTIFY_SOCKET", "LISTEN_", "WATCHDOG_", "DBUS_"))}
    env.update(HOME=root, XDG_CACHE_HOME=os.path.join(root, "cache"), XDG_CONFIG_HOME=os.path.join(root, "config"),
               **extra)
    return env


def children(pid):
    """The pids of the process's children."""
    out = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            out += [int(c) for c in f.read().split()]
    return out


def local_worker(client_pid, timeout=20):
    """The local worker, a client's child (maelstrom-run, a test runner), once it is there."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pid in children(client_pid):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as c:
                    if b"--local" in c.read():
                        return pid
            except OSError:  # a child that is gone already
                pass
        time.sleep(0.05)
    return None
