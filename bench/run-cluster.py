#!/usr/bin/env python3
# SPDX-License-Identifier: MIT OR Apache-2.0
"""The cluster's benchmarks, each against an anchor measured in the same run (docs/PERFORMANCE.md):

  scaling   200 jobs that sleep 0.5 s, through a broker with 1, 2, 4 and 8 workers of 4 slots each, all on
            this machine: the wall time against the ideal 200 x 0.5 s / total slots.
  overhead  20,000 trivial jobs (/bin/true) through a broker and one worker of 2 slots, against the same
            jobs on maelstrom-run's transient local worker with 2 slots: jobs per second, and the broker's
            CPU time per job (utime + stime from /proc/PID/stat) and context switches per job (all its
            threads, from /proc/PID/task/*/status).
  transfer  a 1 GiB layer of random bytes from the client to the broker to a worker over loopback (both
            hops verify the SHA-256), against the same bytes through socat twice (client to relay, relay
            to sink, each writing a file), plain and with sha256sum over what each hop receives.

  bench/run-cluster.py BUILD-DIR {scaling,overhead,transfer,all} [--runs N]

Needs root or unprivileged user namespaces, busybox-static, and for transfer socat (apt-get install socat)
and 3 GiB free in $TMPDIR.  Everything runs from a scratch install of BUILD-DIR and is removed afterwards."""

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

BUSYBOX = shutil.which("busybox", path="/bin:/usr/bin")
APPLETS = ["true", "sleep"]


def layers():
    d = os.path.dirname(BUSYBOX)
    return [{"paths": [BUSYBOX], "strip_prefix": d, "prepend_prefix": "/bin"},
            {"symlinks": [{"link": f"/bin/{a}", "target": "busybox"} for a in APPLETS]}]


def cpu_seconds(pid):
    """utime + stime of a process, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def context_switches(pid):
    """Voluntary and involuntary context switches of all the threads of a process."""
    n = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                n += sum(int(l.split()[1]) for l in f if l.startswith(("voluntary_ctxt", "nonvoluntary_ctxt")))
        except FileNotFoundError:
            pass
    return n


def wait_for(what, predicate, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = predicate()
        if v:
            return v
        time.sleep(0.1)
    sys.exit(f"timed out waiting for {what}")


class Env:
    def __init__(self, build):
        self.tmp = tempfile.mkdtemp(prefix="maelstrom-bench-cluster-")
        subprocess.run(["meson", "install", "-C", build, "--destdir", os.path.join(self.tmp, "install"),
                        "--no-rebuild", "--quiet"], check=True, stdout=subprocess.DEVNULL)
        found = {}
        for dp, _, fs in os.walk(os.path.join(self.tmp, "install")):
            for f in fs:
                found[f] = os.path.join(dp, f)
        self.run_bin, self.worker_bin = found["maelstrom-run"], found["maelstrom-worker"]
        self.broker_bin, self.admin_bin = found["maelstrom-broker"], found["maelstrom-admin"]
        self.project = os.path.join(self.tmp, "project")
        os.makedirs(self.project)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("MAELSTROM_", "NOTIFY_SOCKET"))}
        self.env["XDG_CACHE_HOME"] = os.path.join(self.tmp, "client-cache")

    def close(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run_jobs(self, jobs, broker=None, slots=2):
        """Runs the jobs with maelstrom-run; returns the wall time in seconds."""
        path = os.path.join(self.tmp, "jobs.json")
        with open(path, "w") as f:
            f.writelines(json.dumps(j) + "\n" for j in jobs)
        args = [self.run_bin, "--slots", str(slots)] + (["--broker", broker] if broker else [])
        with open(path) as stdin:
            t0 = time.monotonic()
            p = subprocess.run(args, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               cwd=self.project, env=self.env)
            t = time.monotonic() - t0
        if p.returncode != 0:
            sys.exit(f"maelstrom-run failed ({p.returncode}): {p.stderr[-2000:]}")
        return t


class Cluster:
    """A broker on 127.0.0.1 and workers, each with a fresh cache."""

    def __init__(self, env, workers, slots):
        self.env, self.dir = env, tempfile.mkdtemp(prefix="cluster-", dir=env.tmp)
        self.log = open(os.path.join(self.dir, "broker.log"), "w+")
        self.broker = subprocess.Popen([env.broker_bin, "-c", "-", "--address", "127.0.0.1", "--port", "0",
                                        "--cache-root", os.path.join(self.dir, "broker"), "--cache-size", "8 GB"],
                                       stdout=self.log, stderr=self.log, env=env.env)

        def port():
            self.log.seek(0)
            m = re.search(r"Listening on port (\d+)", self.log.read())
            return m and m.group(1)
        self.address = f"127.0.0.1:{wait_for('the broker', port)}"
        self.workers = [subprocess.Popen([env.worker_bin, "-c", "-", "-b", self.address, "--slots", str(slots),
                                          "--cache-size", "8 GB", "--cache-root",
                                          os.path.join(self.dir, f"worker{i}")],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env.env)
                        for i in range(workers)]
        wait_for(f"{workers} workers", lambda: self.status().get("workers") == workers)

    def status(self):
        p = subprocess.run([self.env.admin_bin, "-b", self.address, "status"], capture_output=True, text=True,
                           env=self.env.env)
        m = re.search(r"Workers: (\d+)", p.stdout)
        return {"workers": int(m.group(1))} if m else {}

    def stop(self):
        subprocess.run([self.env.admin_bin, "-b", self.address, "stop"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, env=self.env.env)
        for p in self.workers + [self.broker]:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def scaling(env, runs):
    n, sleep, slots = 200, 0.5, 4
    job = {"program": "/bin/sleep", "arguments": [str(sleep)], "layers": layers()}
    print(f"scaling: {n} jobs of sleep {sleep} s on workers of {slots} slots.  proportional = {n} x {sleep} s "
          f"/ slots; waves = ceil({n} / slots) x {sleep} s, the least that whole jobs allow")
    print(f"{'workers':>7} {'slots':>5} {'wall s':>7} {'proportional':>12} {'waves':>6} {'wall/prop.':>10} "
          f"{'wall/waves':>10} {'speed-up':>8}")
    for run in range(runs):
        base = None
        for w in [1, 2, 4, 8]:
            c = Cluster(env, w, slots)
            try:
                # Every worker fetches the layers: a full wave of longer jobs.
                env.run_jobs([dict(job, arguments=["1"])] * (w * slots), broker=c.address)
                t = env.run_jobs([job] * n, broker=c.address)
            finally:
                c.stop()
            prop, waves = n * sleep / (w * slots), -(-n // (w * slots)) * sleep
            base = base or t
            print(f"{w:>7} {w * slots:>5} {t:>7.2f} {prop:>12.2f} {waves:>6.2f} {t / prop:>10.3f} {t / waves:>10.3f} "
                  f"{base / t:>8.2f}", flush=True)
        print()


def overhead(env, runs):
    n = 20000
    job = {"program": "/bin/true", "layers": layers()}
    print(f"overhead: {n} trivial jobs; through a broker and one worker of 2 slots, and on the local worker "
          f"(--slots 2)")
    for run in range(runs):
        c = Cluster(env, 1, 2)
        try:
            env.run_jobs([job] * 10, broker=c.address)
            b0, w0 = cpu_seconds(c.broker.pid), cpu_seconds(c.workers[0].pid)
            s0 = context_switches(c.broker.pid)
            t_broker = env.run_jobs([job] * n, broker=c.address)
            b1, w1 = cpu_seconds(c.broker.pid), cpu_seconds(c.workers[0].pid)
            s1 = context_switches(c.broker.pid)
        finally:
            c.stop()
        env.run_jobs([job] * 10)
        t_local = env.run_jobs([job] * n)
        print(f"run {run + 1}: broker {n / t_broker:6.0f} jobs/s, local {n / t_local:6.0f} jobs/s, "
              f"broker/local {t_local / t_broker:5.2f}; broker CPU {(b1 - b0) / n * 1e6:5.1f} us/job, "
              f"{(s1 - s0) / n:4.1f} context switches/job; worker CPU {(w1 - w0) / n * 1e6:5.0f} us/job", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port):
    """Whether a TCP socket listens on port (socat accepts one connection only: no probing)."""
    with open("/proc/net/tcp") as f:
        return any(l.split()[1].endswith(f":{port:04X}") and l.split()[3] == "0A" for l in list(f)[1:])


def socat_hop(src, dst, verify=False):
    """Sends the file src through socat over loopback into the file dst; with verify, the receiver also
    computes the SHA-256 of what arrives, as it arrives.  Returns the seconds taken, the receiver's start
    excluded."""
    port = free_port()
    listen = f"socat -u TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr STDOUT"
    sink = subprocess.Popen(f"{listen} | tee {dst} | sha256sum >/dev/null" if verify else f"{listen} > {dst}",
                            shell=True)
    wait_for("socat to listen", lambda: listening(port), timeout=10)
    t0 = time.monotonic()
    subprocess.run(["socat", "-u", f"OPEN:{src}", f"TCP:127.0.0.1:{port}"], check=True)
    sink.wait(timeout=300)
    return time.monotonic() - t0


def transfer(env, runs):
    if not shutil.which("socat"):
        sys.exit("socat is not installed (apt-get install socat)")
    size = 1 << 30
    big = os.path.join(env.project, "big.bin")
    with open(big, "wb") as f, open("/dev/urandom", "rb") as r:
        for _ in range(size >> 20):
            f.write(r.read(1 << 20))
    job = {"program": "/bin/true", "layers": layers() + [{"paths": ["big.bin"], "prepend_prefix": "/data"}]}
    print("transfer: a 1 GiB layer, client -> broker -> worker (each hop verified), against socat "
          "client -> relay -> sink")
    for run in range(runs):
        # The client hashes the file once (kept in its digest cache); then a fresh broker and worker.
        c = Cluster(env, 1, 1)
        try:
            env.run_jobs([job], broker=c.address)
        finally:
            c.stop()
        c = Cluster(env, 1, 1)
        try:
            t_ours = env.run_jobs([job], broker=c.address)
        finally:
            c.stop()
        relay, sink = os.path.join(env.tmp, "relay"), os.path.join(env.tmp, "sink")
        t_socat = socat_hop(big, relay) + socat_hop(relay, sink)
        t_verified = socat_hop(big, relay, verify=True) + socat_hop(relay, sink, verify=True)
        t0 = time.monotonic()
        subprocess.run(["sha256sum", big], check=True, stdout=subprocess.DEVNULL)
        t_sha = time.monotonic() - t0
        os.unlink(relay)
        os.unlink(sink)
        mib = size / (1 << 20)
        print(f"run {run + 1}: ours {t_ours:5.2f} s ({mib / t_ours:4.0f} MiB/s); socat two hops {t_socat:5.2f} s "
              f"({mib / t_socat:4.0f} MiB/s), ours/socat {t_ours / t_socat:4.2f}; socat two hops with sha256sum "
              f"{t_verified:5.2f} s, ours/that {t_ours / t_verified:4.2f}; sha256sum alone {t_sha:4.2f} s",
              flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("build")
    ap.add_argument("what", choices=["scaling", "overhead", "transfer", "all"])
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    if BUSYBOX is None:
        sys.exit("busybox is not installed")
    env = Env(os.path.realpath(a.build))
    try:
        for what in ["scaling", "overhead", "transfer"] if a.what == "all" else [a.what]:
            globals()[what](env, a.runs)
    finally:
        env.close()


if __name__ == "__main__":
    main()
