#!/usr/bin/env python3
# SPDX-License-Identifier: MIT OR Apache-2.0
"""The cluster end to end on 127.0.0.1: a broker on a free port, two workers with their own caches, jobs
through maelstrom-run --broker, a worker killed in the middle of its jobs, a client killed in the middle of
its jobs, a 100 MB layer uploaded once, cargo-maelstrom through the broker, misbehaving peers, a worker that
runs as an unprivileged user, maelstrom-admin status and stop.

Jobs are built from busybox-static and the static job helper, as in test-run.py.  Every wait is bounded."""

import hashlib
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest
import urllib.error
import urllib.request

from testlib import wait_for

BUILD = os.environ.get("MAELSTROM_BUILD_ROOT") or sys.exit("MAELSTROM_BUILD_ROOT is not set")
BUSYBOX = shutil.which("busybox", path="/bin:/usr/bin")
APPLETS = ["sh", "cat", "echo", "sleep", "true", "wc", "sha256sum"]
TEST_USER = "maelstrom-test"
BIG_SIZE = 100 * 1024 * 1024
LAYERS = [
    {"paths": ["job-helper"], "prepend_prefix": "/bin"},
    {"paths": ["/bin/busybox"]},
    {"symlinks": [{"link": f"/bin/{a}", "target": "/bin/busybox"} for a in APPLETS]},
    {"stubs": ["/{proc,sys,tmp,dev}/", "/dev/{null,zero}"]},
]
S = {}  # broker, workers, directories


def sh(script):
    return {"program": "/bin/sh", "arguments": ["-c", script], "layers": LAYERS}


def start_worker(name, user=None, extra=()):
    log = open(os.path.join(S["root"], f"{name}.log"), "w")
    S.setdefault("logs", []).append(log)
    args = [os.path.join(S["bin"], "maelstrom-worker"), "-c", "-", "-b", S["address"],
            "--cache-root", os.path.join(S["root"], name), "--slots", "2", "--log-level", "debug", *extra]
    if user:
        os.makedirs(os.path.join(S["root"], name))
        shutil.chown(os.path.join(S["root"], name), user, user)
        args = ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--inh-caps=-all", *args]
    p = subprocess.Popen(args, stdout=log, stderr=log, env=S["env"], cwd="/")
    S["workers"][name] = p
    return p


def setUpModule():
    if BUSYBOX is None:
        raise unittest.SkipTest("busybox is not installed")
    if os.geteuid() != 0:
        raise unittest.SkipTest("the workers of this test run as root")
    root = tempfile.mkdtemp(prefix="maelstrom-cluster-test-")
    os.chmod(root, 0o755)  # the unprivileged worker runs the programs in bin/
    S.update(root=root, bin=os.path.join(root, "bin"), project=os.path.join(root, "project"), workers={})
    os.makedirs(S["bin"])
    os.makedirs(S["project"])
    # maelstrom-run finds its local worker next to itself.
    for prog in ["src/runners/maelstrom-run", "src/runners/maelstrom-admin", "src/runners/cargo-maelstrom",
                 "src/runners/maelstrom-go-test",
                 "daemons/worker/maelstrom-worker", "daemons/broker/maelstrom-broker", "tests/tools/bad-peer"]:
        shutil.copy(os.path.join(BUILD, prog), S["bin"])
    shutil.copy(os.environ.get("MAELSTROM_TEST_JOB_HELPER") or os.path.join(BUILD, "tests/tools/job-helper"),
                os.path.join(S["project"], "job-helper"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAELSTROM_", "XDG_", "NOTIFY_SOCKET"))}
    env.update(HOME=root, XDG_CACHE_HOME=os.path.join(root, "cache"), XDG_CONFIG_HOME=os.path.join(root, "config"))
    S["env"] = env

    log = open(os.path.join(root, "broker.log"), "w+")
    S.setdefault("logs", []).append(log)
    S["broker"] = subprocess.Popen([os.path.join(S["bin"], "maelstrom-broker"), "-c", "-", "--address", "127.0.0.1",
                                    "--port", "0", "--http-port", "0", "--cache-root", os.path.join(root, "broker"),
                                    "--log-level", "debug"], stdout=log, stderr=log, env=env)

    def port():
        with open(os.path.join(root, "broker.log")) as f:
            m = re.search(r"Listening on port (\d+)", f.read())
            return m and int(m.group(1))
    S["address"] = f"127.0.0.1:{wait_for('the broker to listen', port, timeout=20)}"

    def http_port():
        with open(os.path.join(root, "broker.log")) as f:
            m = re.search(r"metrics on HTTP port (\d+)", f.read())
            return m and int(m.group(1))
    S["http"] = f"http://127.0.0.1:{wait_for('the broker to serve HTTP', http_port, timeout=20)}"
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


def transfers():
    """The broker's transfer counters: blobs and bytes received by PutBlob, blobs and bytes sent by GetBlob."""
    p = admin("status")
    assert p.returncode == 0, p.stderr
    m = re.search(r"Transfers: (\d+) blobs \((\d+) bytes\) received, (\d+) blobs \((\d+) bytes\) sent", p.stdout)
    assert m, p.stdout
    return dict(zip(["blobs_received", "bytes_received", "blobs_sent", "bytes_sent"], map(int, m.groups())))


def marked_processes(marker):
    """Pids of this machine's processes whose command line contains marker (jobs included)."""
    found = []
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if marker.encode() in f.read():
                    found.append(int(pid))
        except (OSError, ValueError):
            pass
    return found


def blob_path(cache, digest):
    """A blob in the broker's cache ("broker") or in a worker's (its name)."""
    return os.path.join(S["root"], cache, "" if cache == "broker" else "cache", "blob", digest[:2], digest)


def bad_peer(*args):
    p = subprocess.run([os.path.join(S["bin"], "bad-peer"), S["address"], *args], capture_output=True, text=True,
                       env=S["env"], timeout=120)
    return p.returncode, p.stdout, p.stderr


RESULT_LINE = re.compile(r"^(\S+) (\S+) \.\.\. (OK|FAIL|TIMEOUT|ERROR|IGNORED) ")


def write_tree(root, files):
    for name, text in files.items():
        os.makedirs(os.path.dirname(os.path.join(root, name)), exist_ok=True)
        with open(os.path.join(root, name), "w") as f:
            f.write(text)


def runner_outcomes(runner, cwd, env, *extra):
    """Runs a test runner with the simple UI: its exit status, {case: outcome}, and its output."""
    p = subprocess.run([os.path.join(S["bin"], runner), "--ui", "simple", *extra], cwd=cwd, env=env,
                       capture_output=True, text=True, timeout=300)
    found = {m.group(2): m.group(3) for m in map(RESULT_LINE.match, p.stdout.splitlines()) if m}
    return p.returncode, found, p.stdout + p.stderr


def find_cargo():
    for c in [shutil.which("cargo"), os.path.expanduser("~/.cargo/bin/cargo"), "/root/.cargo/bin/cargo"]:
        if c and os.access(c, os.X_OK):
            return c
    return None


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
        # A layer the workers do not have, given twice: both wait for the one blob.
        token = os.urandom(8).hex()
        with open(os.path.join(S["project"], "twice.txt"), "w") as f:
            f.write(token)
        twice = {"paths": ["twice.txt"], "prepend_prefix": "/data"}
        j = sh("cat /data/twice.txt")
        j["layers"] = [twice] + LAYERS + [dict(twice)]
        rc, out, err = run_jobs([j])
        self.assertEqual((rc, out), (0, token), err)

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
        self.assertRegex(p.stdout, r"Cache: \d+ bytes, target 1000000000 bytes")
        # Every layer was uploaded, and fetched by the workers.
        self.assertGreater(status_field(r"Transfers: (\d+) blobs \(\d+ bytes\) received"), 0)
        self.assertGreater(status_field(r"received, (\d+) blobs \(\d+ bytes\) sent"), 0)

    def test_e_http(self):
        def get(path, method="GET"):
            with urllib.request.urlopen(urllib.request.Request(S["http"] + path, method=method), timeout=30) as r:
                return r.status, r.headers.get("Content-Type"), r.read().decode()

        status, ctype, text = get("/metrics")
        self.assertEqual(status, 200)
        self.assertEqual(ctype, "text/plain; version=0.0.4; charset=utf-8")
        samples = {}
        for line in text.splitlines():
            if not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                samples[name] = int(value)
        # The same numbers as maelstrom-admin status.
        t = transfers()
        self.assertEqual(samples["maelstrom_broker_workers"], 2)
        self.assertEqual(samples["maelstrom_broker_slots"], 4)
        self.assertEqual(samples["maelstrom_broker_slots_used"], 0)
        self.assertEqual(samples['maelstrom_broker_jobs{state="running"}'], 0)
        self.assertEqual(samples['maelstrom_broker_jobs{state="pending"}'], 0)
        self.assertEqual(samples['maelstrom_broker_jobs{state="awaiting_artifacts"}'], 0)
        self.assertEqual(samples["maelstrom_broker_jobs_completed_total"], status_field(r"(\d+) completed"))
        self.assertEqual(samples["maelstrom_broker_cache_bytes"], status_field(r"Cache: (\d+) bytes"))
        self.assertEqual(samples["maelstrom_broker_blobs_received_total"], t["blobs_received"])
        self.assertEqual(samples["maelstrom_broker_blob_bytes_received_total"], t["bytes_received"])
        self.assertEqual(samples["maelstrom_broker_blobs_sent_total"], t["blobs_sent"])
        self.assertEqual(samples["maelstrom_broker_blob_bytes_sent_total"], t["bytes_sent"])
        # Every sample has a TYPE line.
        types = set(re.findall(r"^# TYPE (\S+) (?:gauge|counter)$", text, re.M))
        self.assertEqual({re.sub(r"\{.*", "", n) for n in samples}, types)

        status, ctype, text = get("/")
        self.assertEqual((status, ctype), (200, "text/html; charset=utf-8"))
        self.assertIn("<h2>Workers (2)</h2>", text)
        self.assertEqual(get("/metrics", method="HEAD")[2], "")
        for path, method, code in [("/nope", "GET", 404), ("/", "POST", 405)]:
            with self.assertRaises(urllib.error.HTTPError) as e:
                get(path, method)
            self.assertEqual(e.exception.code, code)

    def test_f_killed_client_jobs_disappear(self):
        marker = f"orphan-{os.getpid()}"
        p = run_jobs([sh(f"sleep 300; echo {marker}-{i}") for i in range(4)], wait=False)
        try:
            wait_for("four running jobs", lambda: status_field(r"(\d+) running") == 4)
            wait_for("the jobs' processes", lambda: len(marked_processes(marker)) == 4)
        finally:
            p.kill()
            p.communicate(timeout=30)
        # The broker drops the client's jobs and the workers kill them.
        wait_for("no running jobs", lambda: status_field(r"(\d+) running") == 0)
        wait_for("free slots", lambda: status_field(r"slots: (\d+) used") == 0)
        wait_for("the jobs' processes to go", lambda: marked_processes(marker) == [])
        self.assertEqual(status_field(r"(\d+) pending"), 0)
        self.assertEqual(status_field(r"Clients: (\d+)"), 0)
        # The workers take new jobs.
        rc, out, err = run_jobs([sh(f"echo after{i}") for i in range(4)])
        self.assertEqual(rc, 0, err)
        self.assertEqual(sorted(out.split()), [f"after{i}" for i in range(4)])

    def test_g_big_layer_uploaded_once(self):
        big = os.path.join(S["project"], "big.bin")
        with open(big, "wb") as f:
            for _ in range(BIG_SIZE // (1 << 20)):
                f.write(os.urandom(1 << 20))
        with open(big, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        S["big_digest"] = digest
        # Four jobs on 2 + 2 slots: both workers run two, so both fetch the layer.
        j = sh("sleep 1; sha256sum /data/big.bin")
        j["layers"] = LAYERS + [{"paths": ["big.bin"], "prepend_prefix": "/data"}]
        before = transfers()
        rc, out, err = run_jobs([j] * 4)
        self.assertEqual(rc, 0, err)
        # Byte-exact inside every job.
        self.assertEqual(out.splitlines(), [f"{digest}  /data/big.bin"] * 4)
        after = transfers()
        # Uploaded once to the broker, fetched once by each worker.
        self.assertGreaterEqual(after["bytes_received"] - before["bytes_received"], BIG_SIZE)
        self.assertLess(after["bytes_received"] - before["bytes_received"], 2 * BIG_SIZE)
        self.assertGreaterEqual(after["bytes_sent"] - before["bytes_sent"], 2 * BIG_SIZE)
        self.assertLess(after["bytes_sent"] - before["bytes_sent"], 3 * BIG_SIZE)
        for cache in ["broker", "worker1", "worker2"]:
            self.assertTrue(os.path.exists(blob_path(cache, digest)), cache)

        # A second run, and a run of a client with a fresh cache: the broker has every blob, and the workers
        # too.  Nothing is uploaded nor fetched.
        for cache in ["client", "client-fresh"]:
            rc, out, err = run_jobs([j] * 4, cache=cache)
            self.assertEqual(rc, 0, err)
            self.assertEqual(out.splitlines(), [f"{digest}  /data/big.bin"] * 4)
            again = transfers()
            self.assertEqual(again, after, cache)

    def test_h_bad_peers(self):
        # A client in the middle of its jobs, which must not notice anything.
        p = run_jobs([sh(f"sleep 4; echo bystander{i}") for i in range(2)], wait=False)
        try:
            wait_for("two running jobs", lambda: status_field(r"(\d+) running") == 2)

            # Garbage bytes, and an HTTP/2 preface followed by garbage: the broker closes the connection.
            for prefix in [b"", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"]:
                with socket.create_connection(("127.0.0.1", int(S["address"].rsplit(":", 1)[1])), timeout=10) as c:
                    try:
                        c.sendall(prefix + os.urandom(256 * 1024))
                        while c.recv(65536):
                            pass
                    except (ConnectionResetError, BrokenPipeError):
                        pass

            # An oversized message, a message that is no protobuf, a blob whose data is not what its digest
            # names: each fails its call only.
            self.assertEqual(bad_peer("oversized")[:2], (0, "closed: RESOURCE_EXHAUSTED\n"))
            self.assertEqual(bad_peer("garbage")[:2], (0, "closed: INVALID_ARGUMENT\n"))
            # A batch of more items than a batch may hold.
            self.assertEqual(bad_peer("big-batch")[:2], (0, "closed: RESOURCE_EXHAUSTED\n"))
            before = transfers()
            self.assertEqual(bad_peer("bad-digest")[:2], (0, "closed: INVALID_ARGUMENT\n"))
            self.assertEqual(transfers()["blobs_received"], before["blobs_received"])
            digest = hashlib.sha256(b"the data the digest names").hexdigest()
            self.assertFalse(os.path.exists(blob_path("broker", digest)))

            # A blob that is no manifest, named as a manifest layer: the broker fails the job.
            rc, out, err = bad_peer("bad-manifest")
            self.assertEqual(rc, 0, err)
            self.assertRegex(out, r"^closed: OK\nerror: layer: manifest [0-9a-f]{64}: malformed\n$")

            # A worker that vanishes after the first chunk of a 100 MB blob.
            self.assertIn("big_digest", S, "needs the blob of test_g")
            self.assertEqual(bad_peer("vanish", S["big_digest"])[:2], (0, "first chunk\n"))
        finally:
            out, err = p.communicate(timeout=120)
        self.assertEqual(p.returncode, 0, err)
        self.assertEqual(sorted(out.split()), ["bystander0", "bystander1"])
        # Everyone else is still served: the workers, and new clients.
        self.assertEqual(status_field(r"Workers: (\d+)"), 2)
        rc, out, err = run_jobs([sh(f"echo fine{i}") for i in range(4)])
        self.assertEqual(rc, 0, err)
        self.assertEqual(sorted(out.split()), [f"fine{i}" for i in range(4)])

    def test_i_cargo_maelstrom_through_the_broker(self):
        cargo = find_cargo()
        if cargo is None:
            self.skipTest("cargo is not installed")
        ws = os.path.join(S["root"], "ws")
        files = {
            "Cargo.toml": '[package]\nname = "clustered"\nversion = "0.1.0"\nedition = "2021"\n',
            "src/lib.rs": textwrap.dedent("""
                #[cfg(test)]
                mod tests {
                    #[test] fn passes() { assert_eq!(1 + 1, 2); }
                    #[test] fn fails() { assert_eq!(1 + 1, 3); }
                    #[test] fn pid_one() { assert_eq!(std::process::id(), 1); }
                    #[test] fn reads_layer_file() {
                        assert_eq!(std::fs::read_to_string("/data/input.txt").unwrap(), "from a layer\\n");
                    }
                    #[test] #[ignore] fn ignored() {}
                }
            """),
            "data/input.txt": "from a layer\n",
            "cargo-maelstrom.toml": textwrap.dedent("""
                [[directives]]
                layers = [{ stubs = ["/{proc,sys,tmp}/", "/dev/{full,null,random,urandom,zero}"] }]
                mounts = [
                    { type = "tmp", mount_point = "/tmp" },
                    { type = "proc", mount_point = "/proc" },
                    { type = "devices", devices = ["full", "null", "random", "urandom", "zero"] },
                ]

                [[directives]]
                filter = "name.equals(tests::reads_layer_file)"
                added_layers = [{ paths = ["data/input.txt"] }]
            """),
        }
        write_tree(ws, files)
        # cargo needs the real home (its toolchains); the caches stay in the scratch directory.
        env = dict(S["env"], HOME=os.path.expanduser("~"), CARGO_TARGET_DIR=os.path.join(ws, "target"),
                   CARGO_TERM_COLOR="never", PATH=S["bin"] + ":" + os.path.dirname(cargo) + ":" +
                   S["env"].get("PATH", ""))
        subprocess.run([cargo, "test", "--no-run", "-q"], cwd=ws, env=env, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=600)
        completed = status_field(r"(\d+) completed")
        standalone = runner_outcomes("cargo-maelstrom", ws, env)
        clustered = runner_outcomes("cargo-maelstrom", ws, env, "--broker", S["address"])
        self.assertEqual(standalone[1], {"tests::passes": "OK", "tests::fails": "FAIL", "tests::pid_one": "OK",
                                         "tests::reads_layer_file": "OK", "tests::ignored": "IGNORED"},
                         standalone[2])
        self.assertEqual(clustered[:2], standalone[:2], clustered[2])
        # The four cases that run went through the broker.
        self.assertGreaterEqual(status_field(r"(\d+) completed") - completed, 4)

    def test_i_go_test_through_the_broker(self):
        go = shutil.which("go") or ("/usr/local/go/bin/go" if os.access("/usr/local/go/bin/go", os.X_OK) else None)
        if go is None:
            self.skipTest("go is not installed")
        mod = os.path.join(S["root"], "gomod")
        files = {
            "go.mod": "module example.com/clustered\n\ngo 1.21\n",
            "pkg/pkg_test.go": textwrap.dedent("""
                package pkg

                import (
                    "os"
                    "testing"
                )

                func TestPasses(t *testing.T) {}
                func TestFails(t *testing.T) { t.Fatal("no") }
                func TestPidOne(t *testing.T) {
                    if os.Getpid() != 1 {
                        t.Fatal(os.Getpid())
                    }
                }
                func TestTestdata(t *testing.T) {
                    b, err := os.ReadFile("testdata/golden.txt")
                    if err != nil || string(b) != "gold\\n" {
                        t.Fatal(err, string(b))
                    }
                }
                func TestSkipped(t *testing.T) { t.Skip("later") }
            """),
            "pkg/testdata/golden.txt": "gold\n",
        }
        write_tree(mod, files)
        # go needs the real home (its build cache); the runner's caches stay in the module.
        env = dict(S["env"], HOME=os.path.expanduser("~"), GOFLAGS="-mod=mod", GOTOOLCHAIN="local",
                   PATH=S["bin"] + ":" + os.path.dirname(go) + ":" + S["env"].get("PATH", ""))
        completed = status_field(r"(\d+) completed")
        standalone = runner_outcomes("maelstrom-go-test", mod, env)
        clustered = runner_outcomes("maelstrom-go-test", mod, env, "--broker", S["address"])
        self.assertEqual(standalone[1], {"TestPasses": "OK", "TestFails": "FAIL", "TestPidOne": "OK",
                                         "TestTestdata": "OK", "TestSkipped": "IGNORED"}, standalone[2])
        self.assertEqual(clustered[:2], standalone[:2], clustered[2])
        # All five ran through the broker (a skip is known only once the case has run).
        self.assertGreaterEqual(status_field(r"(\d+) completed") - completed, 5)

    def test_j_unprivileged_worker(self):
        try:
            pwd.getpwnam(TEST_USER)
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", TEST_USER],
                           check=True)
        w = start_worker("worker-user", user=TEST_USER)
        try:
            wait_for("three workers", lambda: status_field(r"Workers: (\d+)") == 3)
            # Six jobs on 2 + 2 + 2 slots: the unprivileged worker runs two of them.
            p = run_jobs([sh(f"sleep 3; echo unprivileged{i}") for i in range(6)], wait=False)
            try:
                wait_for("six running jobs", lambda: status_field(r"(\d+) running") == 6)
                self.assertRegex(admin("status").stdout, rf"worker \S+:{w.pid}: 2 slots, 2 used")
            finally:
                out, err = p.communicate(timeout=120)
            self.assertEqual(p.returncode, 0, err)
            self.assertEqual(sorted(out.split()), [f"unprivileged{i}" for i in range(6)])
            with open(f"/proc/{w.pid}/status") as f:
                uid = re.search(r"^Uid:\s+(\d+)", f.read(), re.M).group(1)
            self.assertEqual(int(uid), pwd.getpwnam(TEST_USER).pw_uid)
        finally:
            w.terminate()
            self.assertEqual(w.wait(timeout=30), 0)
            del S["workers"]["worker-user"]
        wait_for("two workers", lambda: status_field(r"Workers: (\d+)") == 2)

    def test_k_worker_whose_cache_is_smaller_than_a_job(self):
        # A worker whose cache cannot hold one job's layers (busybox alone is larger) still runs it: what the
        # job has in the cache stays while the rest is fetched.  Before, each blob stored evicted one fetched
        # before it, and the job was fetched again and again, for ever.
        for name in ("worker1", "worker2"):
            w = S["workers"].pop(name)
            w.terminate()
            self.assertEqual(w.wait(timeout=30), 0, name)
        wait_for("no worker", lambda: status_field(r"Workers: (\d+)") == 0)
        small = start_worker("worker-small", extra=["--cache-size", "100 KB"])
        try:
            wait_for("the small worker", lambda: status_field(r"Workers: (\d+)") == 1)
            p = run_jobs([sh("echo small")], wait=False)
            try:
                out, err = p.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                out, err = p.communicate()
                with open(os.path.join(S["root"], "worker-small.log")) as f:
                    self.fail(f"the job did not end: {err}\nthe worker's log ends with:\n{f.read()[-3000:]}")
            self.assertEqual(p.returncode, 0, err)
            self.assertEqual(out, "small\n")
        finally:
            small.terminate()
            self.assertEqual(small.wait(timeout=30), 0)
            del S["workers"]["worker-small"]
            start_worker("worker1")
            start_worker("worker2")
            wait_for("two workers again", lambda: status_field(r"Workers: (\d+)") == 2)

    def test_z_stop(self):
        p = admin("stop")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(S["broker"].wait(timeout=30), 0)
        for name, w in S["workers"].items():
            self.assertEqual(w.wait(timeout=30), 0, name)


if __name__ == "__main__":
    unittest.main(verbosity=2)
