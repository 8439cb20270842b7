#!/usr/bin/env python3
# SPDX-License-Identifier: MIT OR Apache-2.0
"""The cluster end to end on 127.0.0.1: a broker on a free port, two workers with their own caches, jobs
through maelstrom-run --broker, a worker killed in the middle of its jobs, maelstrom-admin status and stop.

Jobs are built from busybox-static and the static job helper, as in test-run.py.  Every wait is bounded."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

from testlib import wait_for

BUILD = os.environ.get("MAELSTROM_BUILD_ROOT") or sys.exit("MAELSTROM_BUILD_ROOT is not set")
BUSYBOX = shutil.which("busybox", path="/bin:/usr/bin")
APPLETS = ["sh", "cat", "echo", "sleep", "true", "wc"]
LAYERS = [
    {"paths": ["job-helper"], "prepend_prefix": "/bin"},
    {"paths": ["/bin/busybox"]},
    {"symlinks": [{"link": f"/bin/{a}", "target": "/bin/busybox"} for a in APPLETS]},
    {"stubs": ["/{proc,sys,tmp,dev}/", "/dev/{null,zero}"]},
]
S = {}  # broker, workers, directories


def sh(script):
    return {"program": "/bin/sh", "arguments": ["-c", script], "layers": LAYERS}


def start_worker(name):
    log = open(os.path.join(S["root"], f"{name}.log"), "w")
    S.setdefault("logs", []).append(log)
    p = subprocess.Popen([os.path.join(S["bin"], "maelstrom-worker"), "-c", "-", "-b", S["address"],
                          "--cache-root", os.path.join(S["root"], name), "--slots", "2", "--log-level", "debug"],
                         stdout=log, stderr=log, env=S["env"])
    S["workers"][name] = p
    return p


def setUpModule():
    if BUSYBOX is None:
        raise unittest.SkipTest("busybox is not installed")
    if os.geteuid() != 0:
        raise unittest.SkipTest("the workers of this test run as root")
    root = tempfile.mkdtemp(prefix="maelstrom-cluster-test-")
    S.update(root=root, bin=os.path.join(root, "bin"), project=os.path.join(root, "project"), workers={})
    os.makedirs(S["bin"])
    os.makedirs(S["project"])
    # maelstrom-run finds its local worker next to itself.
    for prog in ["src/runners/maelstrom-run", "src/runners/maelstrom-admin", "daemons/worker/maelstrom-worker",
                 "daemons/broker/maelstrom-broker"]:
        shutil.copy(os.path.join(BUILD, prog), S["bin"])
    shutil.copy(os.environ.get("MAELSTROM_TEST_JOB_HELPER") or os.path.join(BUILD, "tests/tools/job-helper"),
                os.path.join(S["project"], "job-helper"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAELSTROM_", "XDG_", "NOTIFY_SOCKET"))}
    env.update(HOME=root, XDG_CACHE_HOME=os.path.join(root, "cache"), XDG_CONFIG_HOME=os.path.join(root, "config"))
    S["env"] = env

    log = open(os.path.join(root, "broker.log"), "w+")
    S.setdefault("logs", []).append(log)
    S["broker"] = subprocess.Popen([os.path.join(S["bin"], "maelstrom-broker"), "-c", "-", "--address", "127.0.0.1",
                                    "--port", "0", "--cache-root", os.path.join(root, "broker"),
                                    "--log-level", "debug"], stdout=log, stderr=log, env=env)

    def port():
        with open(os.path.join(root, "broker.log")) as f:
            m = re.search(r"Listening on port (\d+)", f.read())
            return m and int(m.group(1))
    S["address"] = f"127.0.0.1:{wait_for('the broker to listen', port, timeout=20)}"
    start_worker("worker1")
    start_worker("worker2")
    wait_for("two workers", lambda: status_field(r"Workers: (\d+)") == 2)


def tearDownModule():
    for p in list(S.get("workers", {}).values()) + ([S["broker"]] if "broker" in S else []):
        if p.poll() is None:
            p.kill()
        p.wait(timeout=30)
    for log in S.get("logs", []):
        log.close()
    if "root" in S:
        shutil.rmtree(S["root"], ignore_errors=True)


def admin(*args, timeout=30):
    return subprocess.run([os.path.join(S["bin"], "maelstrom-admin"), "-b", S["address"], *args],
                          capture_output=True, text=True, env=S["env"], timeout=timeout)


def status_field(pattern):
    p = admin("status")
    m = re.search(pattern, p.stdout) if p.returncode == 0 else None
    return m and int(m.group(1))


def run_jobs(jobs, cache="client", wait=True):
    args = [os.path.join(S["bin"], "maelstrom-run"), "--broker", S["address"],
            "--cache-root", os.path.join(S["root"], cache), "--slots", "1"]
    with tempfile.TemporaryFile("w+") as stdin:
        stdin.write("".join(json.dumps(j) + "\n" for j in jobs))
        stdin.seek(0)
        p = subprocess.Popen(args, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             cwd=S["project"], env=S["env"])
    if not wait:
        return p
    out, err = p.communicate(timeout=120)
    return p.returncode, out, err


class Cluster(unittest.TestCase):
    def test_a_jobs_run_on_the_cluster(self):
        rc, out, err = run_jobs([sh(f"echo job{i}") for i in range(10)])
        self.assertEqual(rc, 0, err)
        self.assertEqual(sorted(out.split()), sorted(f"job{i}" for i in range(10)))
        # A failing job reports its exit code through the broker.
        rc, out, err = run_jobs([{"program": "/bin/job-helper", "arguments": ["exit", "3"], "layers": LAYERS}])
        self.assertEqual(rc, 1)
        self.assertIn("exited with code 3", err)

    def test_b_jobs_spread_over_the_workers(self):
        # Four jobs on 2 + 2 slots: all run at once, two on each worker.
        p = run_jobs([sh(f"sleep 3; echo spread{i}") for i in range(4)], wait=False)
        try:
            wait_for("four running jobs", lambda: status_field(r"(\d+) running") == 4)
            used = [int(u) for u in re.findall(r"worker \S+: 2 slots, (\d+) used", admin("status").stdout)]
            self.assertEqual(used, [2, 2])
        finally:
            out, err = p.communicate(timeout=120)
        self.assertEqual(p.returncode, 0, err)
        self.assertEqual(sorted(out.split()), [f"spread{i}" for i in range(4)])

    def test_c_killed_worker_jobs_complete_elsewhere(self):
        p = run_jobs([sh(f"sleep 2; echo survived{i}") for i in range(4)], wait=False)
        try:
            wait_for("four running jobs", lambda: status_field(r"(\d+) running") == 4)
            victim = S["workers"]["worker1"]
            victim.kill()
            victim.wait(timeout=30)
            wait_for("one worker", lambda: status_field(r"Workers: (\d+)") == 1)
        finally:
            out, err = p.communicate(timeout=120)
        self.assertEqual(p.returncode, 0, err)
        # Every job completed, exactly once.
        self.assertEqual(sorted(out.split()), [f"survived{i}" for i in range(4)])
        start_worker("worker1")
        wait_for("two workers again", lambda: status_field(r"Workers: (\d+)") == 2)

    def test_d_local_only_job_runs_locally(self):
        # A bind mount names this machine's files: the job runs on the client's local worker.
        data = os.path.join(S["project"], "data")
        os.makedirs(data, exist_ok=True)
        with open(os.path.join(data, "f"), "w") as f:
            f.write("local bytes\n")
        j = sh("cat /mnt/f")
        j["layers"] = LAYERS + [{"stubs": ["/mnt/"]}]
        j["mounts"] = [{"type": "bind", "mount_point": "/mnt", "local_path": "data", "read_only": True}]
        rc, out, err = run_jobs([j, sh("echo remote")])
        self.assertEqual(rc, 0, err)
        self.assertEqual(sorted(out.splitlines()), ["local bytes", "remote"])

    def test_e_status(self):
        p = admin("status")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"Workers: 2, slots: 0 used of 4")
        self.assertRegex(p.stdout, r"Jobs: 0 awaiting artifacts, 0 pending, 0 running, \d+ completed")
        self.assertGreater(status_field(r"(\d+) completed"), 15)
        self.assertGreater(status_field(r"Cache: (\d+) bytes"), 0)

    def test_z_stop(self):
        p = admin("stop")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(S["broker"].wait(timeout=30), 0)
        for name, w in S["workers"].items():
            self.assertEqual(w.wait(timeout=30), 0, name)


if __name__ == "__main__":
    unittest.main(verbosity=2)
