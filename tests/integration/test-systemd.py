#!/usr/bin/env python3
# SPDX-License-Identifier: MIT OR Apache-2.0
"""The daemons under systemd, without systemd as PID 1: the installed units pass systemd-analyze verify and keep
their exposure scores; socket activation through systemd-socket-activate (the broker accepts clients on the
inherited TCP socket, the worker serves local clients on its inherited unix socket and checks their
credentials); readiness, status, the watchdog, reloading on SIGHUP and stopping, through a NOTIFY_SOCKET the test
listens on; structured fields (WORKER=, JOB_ID=) through a journal socket the test listens on.

Only 127.0.0.1 and unix sockets in a scratch directory are used.  Every wait is bounded."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

from testlib import Processes, busybox_layers, clean_env, ensure_user, free_port, install_build, sh_job, wait_for

BUILD = os.environ.get("MAELSTROM_BUILD_ROOT") or sys.exit("MAELSTROM_BUILD_ROOT is not set")
BUSYBOX = shutil.which("busybox", path="/bin:/usr/bin")
TEST_USER = "maelstrom-test"
LAYERS = busybox_layers(["sh", "echo"])
UNITS = ["maelstrom-broker.socket", "maelstrom-broker.service", "maelstrom-worker.service",
         "maelstrom-worker@.service", "maelstrom-worker.socket"]
# The highest exposure scores (systemd-analyze security --offline, in tenths) the units may have: the broker
# takes every restriction; the worker builds containers (see the comments in its unit).
MAX_EXPOSURE = {"maelstrom-broker.service": 20, "maelstrom-worker.service": 35, "maelstrom-worker@.service": 35}
S = {}


def setUpModule():
    root, found = install_build(BUILD, "maelstrom-systemd-test-")
    found.update({os.path.basename(k): v for k, v in list(found.items()) if k.startswith(("usr/local/bin/",
                                                                                          "usr/bin/", "lib/"))})
    S.update(root=root, files=found, procs=[], daemons=Processes(root))
    S["bin"] = os.path.dirname(found["maelstrom-worker"])
    env = clean_env(root)
    S["env"] = env


def tearDownModule():
    if "daemons" in S:
        S["daemons"].kill_all()
    for p in S.get("procs", []):
        if p.poll() is None:
            p.kill()
        p.wait(timeout=30)
    if "root" in S:
        if not os.environ.get("MAELSTROM_TEST_KEEP"):
            shutil.rmtree(S["root"], ignore_errors=True)


def scratch(name):
    d = os.path.join(S["root"], name)
    os.makedirs(d, exist_ok=True)
    return d


def socket_activate(listen, fdname, argv, log):
    """Runs argv under systemd-socket-activate, which execs it on the first connection."""
    cmd = ["systemd-socket-activate", "-l", listen, f"--fdname={fdname}"]
    for k in ("HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "ASAN_OPTIONS", "UBSAN_OPTIONS"):
        if k in S["env"]:
            cmd.append(f"-E{k}={S['env'][k]}")
    p = subprocess.Popen(cmd + argv, stdout=log, stderr=log, env=S["env"])
    S["procs"].append(p)

    def listening():
        with open(log.name) as f:
            return "Listening on" in f.read()
    # Connecting before it has bound the socket would be refused.
    wait_for("systemd-socket-activate to listen", listening, timeout=20)
    return p


def stop(p):
    p.send_signal(signal.SIGTERM)
    return p.wait(timeout=30)


class Units(unittest.TestCase):
    def unit_dir(self):
        d = scratch("units")
        for unit in UNITS:
            self.assertIn(unit, S["files"], f"{unit} was not installed")
            with open(S["files"][unit]) as f:
                text = f.read()
            # ExecStart= names the installed binaries: point it at the scratch installation.
            text = re.sub(r"(ExecStart=)(\S*/)(maelstrom-\w+)",
                          lambda m: m.group(1) + os.path.join(S["bin"], m.group(3)), text)
            with open(os.path.join(d, unit), "w") as f:
                f.write(text)
        return d

    def test_verify(self):
        d = self.unit_dir()
        p = subprocess.run(["systemd-analyze", "verify", "--man=no", "--generators=no",
                            *[os.path.join(d, u) for u in UNITS]], capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        # Warnings about our units are failures too (warnings about the host's units are not ours).
        ours = [line for line in p.stderr.splitlines() if "maelstrom" in line]
        self.assertEqual(ours, [], p.stderr)

    def test_exposure(self):
        d = self.unit_dir()
        for unit, limit in MAX_EXPOSURE.items():
            p = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager",
                                f"--threshold={limit}", os.path.join(d, unit)], capture_output=True, text=True,
                               timeout=120)
            score = re.search(r"Overall exposure level for \S+: (\d+\.\d)", p.stdout)
            self.assertTrue(score, p.stdout + p.stderr)
            self.assertEqual(p.returncode, 0, f"{unit}: exposure {score.group(1)} above {limit / 10}")
            self.assertLessEqual(float(score.group(1)) * 10, limit)

    def test_sysusers_and_tmpfiles(self):
        root = scratch("sysroot")
        os.makedirs(os.path.join(root, "etc"), exist_ok=True)
        conf = [p for n, p in S["files"].items() if re.search(r"sysusers\.d/maelstrom-(broker|worker)\.conf$", n)]
        self.assertEqual(len(conf), 2)
        p = subprocess.run(["systemd-sysusers", f"--root={root}", *conf], check=True, capture_output=True,
                           text=True, timeout=60)
        self.assertNotIn("onflict", p.stderr)
        with open(os.path.join(root, "etc/passwd")) as f:
            users = {line.split(":")[0]: line.split(":") for line in f}
        with open(os.path.join(root, "etc/group")) as f:
            groups = [line.split(":")[0] for line in f]
        self.assertIn("maelstrom-broker", users)
        self.assertIn("maelstrom-worker", users)
        self.assertIn("maelstrom", groups)
        self.assertEqual(users["maelstrom-worker"][6].strip(), "/usr/sbin/nologin")

        conf = [p for n, p in S["files"].items() if n.endswith("tmpfiles.d/maelstrom-worker.conf")]
        self.assertEqual(len(conf), 1)
        subprocess.run(["systemd-tmpfiles", "--create", f"--root={root}", conf[0]], check=True,
                       capture_output=True, timeout=60)
        self.assertTrue(os.path.isdir(os.path.join(root, "run/maelstrom")))


def http2_greeted(path, user=None):
    """Connects to the unix socket (as user) and says the HTTP/2 preface: True if the server answers with its
    SETTINGS frame, False if it closes the connection."""
    script = ("import socket,sys\n"
              "s=socket.socket(socket.AF_UNIX); s.settimeout(20); s.connect(sys.argv[1])\n"
              "try:\n"
              " s.sendall(b'PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n'+bytes([0,0,0,4,0,0,0,0,0]))\n"
              " d=s.recv(9)\n"
              "except (BrokenPipeError, ConnectionResetError):\n"
              " d=b''\n"
              "sys.exit(0 if len(d)==9 and d[3]==4 else 3)\n")
    cmd = [sys.executable, "-c", script, path]
    if user:
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--inh-caps=-all"] + cmd
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if p.returncode not in (0, 3):
        raise AssertionError(f"the socket client failed: {p.stderr}")
    return p.returncode == 0


class SocketActivation(unittest.TestCase):
    def test_broker(self):
        d = scratch("sa-broker")
        port = free_port()
        with open(os.path.join(d, "log"), "w") as log:
            p = socket_activate(f"127.0.0.1:{port}", "grpc",
                                [os.path.join(S["bin"], "maelstrom-broker"), "-c", "-", "--bus=none", "--cache-root",
                                 os.path.join(d, "cache"), "--log-level", "debug"], log)
            admin = subprocess.run([os.path.join(S["bin"], "maelstrom-admin"), "-b", f"127.0.0.1:{port}", "status"],
                                   capture_output=True, text=True, env=S["env"], timeout=60)
            self.assertEqual(admin.returncode, 0, admin.stderr)
            self.assertRegex(admin.stdout, r"Workers: 0")
            self.assertEqual(stop(p), 0)
        with open(os.path.join(d, "log")) as f:
            text = f.read()
        self.assertIn("Serving a socket passed by systemd", text)
        self.assertNotIn("Listening on port", text)

    def test_worker_local_clients(self):
        if BUSYBOX is None:
            self.skipTest("busybox is not installed")
        if os.geteuid() != 0:
            self.skipTest("checking other users' credentials needs root")
        user = ensure_user(TEST_USER)
        d = scratch("sa-worker")
        os.chmod(d, 0o755)
        sock = os.path.join(d, "worker.sock")
        project = scratch("sa-worker-project")
        with open(os.path.join(d, "log"), "w") as log:
            p = socket_activate(sock, "jobs", [os.path.join(S["bin"], "maelstrom-worker"), "-c", "-", "--bus=none",
                                               "--cache-root", os.path.join(d, "cache"), "--slots", "2",
                                               "--log-level", "debug"], log)
            wait_for("the socket", lambda: os.path.exists(sock))
            # Jobs from a client that connects as it would to a broker (root may).
            jobs = "".join(json.dumps(sh_job(f"echo local{i}", LAYERS)) + "\n" for i in range(3))
            run = subprocess.run([os.path.join(S["bin"], "maelstrom-run"), "--broker", f"unix:{sock}",
                                  "--cache-root", os.path.join(d, "client"), "--slots", "1"],
                                 input=jobs, capture_output=True, text=True, cwd=project, env=S["env"], timeout=120)
            self.assertEqual(run.returncode, 0, run.stderr)
            self.assertEqual(sorted(run.stdout.split()), ["local0", "local1", "local2"])

            # The file permissions let anyone connect; the worker's own check refuses a stranger...
            os.chmod(sock, 0o777)
            self.assertTrue(http2_greeted(sock))
            self.assertFalse(http2_greeted(sock, TEST_USER))
            # ... and lets in a member of the socket's group.
            os.chown(sock, 0, user.pw_gid)
            self.assertTrue(http2_greeted(sock, TEST_USER))
            self.assertEqual(stop(p), 0)
        with open(os.path.join(d, "log")) as f:
            text = f.read()
        self.assertIn("Serving local clients on the socket from systemd", text)
        self.assertRegex(text, rf"Refused a local client \(uid {user.pw_uid}\)")


class NotifySocket:
    """The datagram socket sd_notify() writes to, read all the time as systemd does (a daemon blocks in
    sd_notify() once a few datagrams wait)."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.1)
        self.messages = []
        self.seen = 0  # messages before this one were matched or passed over by wait()
        self.lock = threading.Lock()
        self.closed = False
        self.thread = threading.Thread(target=self.read, daemon=True)
        self.thread.start()

    def read(self):
        while not self.closed:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            message = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
            with self.lock:
                self.messages.append(message)

    def close(self):
        self.closed = True
        self.thread.join()
        self.sock.close()

    def poll(self):
        """The messages so far."""
        with self.lock:
            return list(self.messages)

    def wait(self, what, predicate, timeout=30):
        """Waits for a message for which predicate (of its fields) holds, after the one the last wait() found;
        returns it."""
        def found():
            messages = self.poll()
            for i in range(self.seen, len(messages)):
                if predicate(messages[i]):
                    self.seen = i + 1
                    return messages[i]
            return None
        return wait_for(what, found, timeout=timeout, interval=0.01)

    def status(self):
        """The last STATUS= sent."""
        return next((m["STATUS"] for m in reversed(self.poll()) if "STATUS" in m), "")

    def count(self, key):
        return sum(1 for m in self.poll() if key in m)


def start_daemon(name, argv, notify, watchdog_usec=None):
    env = dict(S["env"], NOTIFY_SOCKET=notify.path)
    if watchdog_usec:
        env["WATCHDOG_USEC"] = str(watchdog_usec)
    return S["daemons"].spawn(name, argv, env)


def read_log(name):
    return S["daemons"].read_log(name)


def write(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)


class Lifecycle(unittest.TestCase):
    """A broker and a worker started as systemd would start their services: Type=notify, WatchdogSec=."""

    def admin_status(self):
        p = subprocess.run([os.path.join(S["bin"], "maelstrom-admin"), "-b", self.address, "status"],
                           capture_output=True, text=True, env=S["env"], timeout=60)
        return p.stdout if p.returncode == 0 else ""

    def worker_slots(self):
        m = re.search(r"worker \S+: (\d+) slots", self.admin_status())
        return m and int(m.group(1))

    def test_lifecycle(self):
        d = scratch("lifecycle")
        nb, nw = NotifySocket(os.path.join(d, "notify-broker")), NotifySocket(os.path.join(d, "notify-worker"))
        self.addCleanup(nb.close)
        self.addCleanup(nw.close)
        broker_conf, worker_conf = os.path.join(d, "broker.conf"), os.path.join(d, "worker.conf")
        write(broker_conf, 'address = "127.0.0.1";\ncache-size = "100 MB";\n')
        broker = start_daemon("lifecycle-broker",
                              [os.path.join(S["bin"], "maelstrom-broker"), "-c", broker_conf, "--bus=none",
                               "--cache-root", os.path.join(d, "broker"), "--log-level", "debug"], nb,
                              watchdog_usec=400000)

        # Ready, with the port it chose in its status; then the watchdog is petted, a few times a period.
        nb.wait("READY=1 from the broker", lambda m: m.get("READY") == "1")
        status = wait_for("the broker's status", lambda: re.search(r"Port (\d+)", nb.status()))
        self.address = "127.0.0.1:" + status.group(1)
        before = nb.count("WATCHDOG")
        time.sleep(1.0)
        self.assertGreaterEqual(nb.count("WATCHDOG") - before, 3)

        write(worker_conf, f'broker = "{self.address}";\nslots = 2;\n')
        worker = start_daemon("lifecycle-worker",
                              [os.path.join(S["bin"], "maelstrom-worker"), "-c", worker_conf, "--bus=none",
                               "--cache-root", os.path.join(d, "worker"), "--log-level", "debug"], nw,
                              watchdog_usec=400000)
        nw.wait("READY=1 from the worker", lambda m: m.get("READY") == "1")
        wait_for("the worker attached", lambda: nw.status().startswith("Attached to"))
        wait_for("the worker's two slots at the broker", lambda: self.worker_slots() == 2)
        before = nw.count("WATCHDOG")
        time.sleep(1.0)
        self.assertGreaterEqual(nw.count("WATCHDOG") - before, 3)

        # A reload changes the slots live, and the broker hears of it.
        write(worker_conf, f'broker = "{self.address}";\nslots = 3;\n')
        worker.send_signal(signal.SIGHUP)
        m = nw.wait("RELOADING=1", lambda m: m.get("RELOADING") == "1")
        self.assertTrue(m.get("MONOTONIC_USEC", "").isdigit())
        nw.wait("READY=1 after the reload", lambda m: m.get("READY") == "1")
        wait_for("three slots", lambda: "of 3 slots" in nw.status())
        wait_for("the worker's three slots at the broker", lambda: self.worker_slots() == 3)
        self.assertIn("Reloaded the configuration (changed: slots)", read_log("lifecycle-worker"))

        # Broken configurations keep the old one, and say why.
        for broken in ["slots = ;\n", f'broker = "{self.address}";\nslots = 5000;\n']:
            write(worker_conf, broken)
            worker.send_signal(signal.SIGHUP)
            nw.wait("RELOADING=1", lambda m: m.get("RELOADING") == "1")
            nw.wait("READY=1 after the failed reload", lambda m: m.get("READY") == "1")
            self.assertIn("of 3 slots", nw.status())
        log = read_log("lifecycle-worker")
        self.assertEqual(log.count("Failed to reload the configuration, keeping the old one"), 2, log)
        self.assertIn("worker.conf", log)
        self.assertEqual(self.worker_slots(), 3)

        # A value that cannot change live is named.
        write(worker_conf, f'broker = "{self.address}";\nslots = 3;\nseccomp = "none";\n')
        worker.send_signal(signal.SIGHUP)
        nw.wait("READY=1 after the reload", lambda m: m.get("READY") == "1")
        wait_for("the notice", lambda: "The new value of 'seccomp' takes effect when maelstrom-worker restarts"
                 in read_log("lifecycle-worker"))

        # The broker reloads its cache size (the command line's log level wins over the file's).
        write(broker_conf, 'address = "127.0.0.1";\ncache-size = "200 MB";\nlog-level = "error";\n')
        broker.send_signal(signal.SIGHUP)
        nb.wait("READY=1 after the broker's reload", lambda m: m.get("READY") == "1")
        wait_for("the broker's reload", lambda: "(changed: cache-size)" in read_log("lifecycle-broker"))

        # Stopping: STOPPING=1, and a clean exit.
        worker.send_signal(signal.SIGTERM)
        self.assertEqual(worker.wait(timeout=30), 0)
        nw.wait("STOPPING=1 from the worker", lambda m: m.get("STOPPING") == "1")
        broker.send_signal(signal.SIGTERM)
        self.assertEqual(broker.wait(timeout=30), 0)
        nb.wait("STOPPING=1 from the broker", lambda m: m.get("STOPPING") == "1")


def journal_fields(datagram):
    """The fields of a datagram of journald's native protocol (KEY=value lines, or KEY, a length and the value)."""
    fields, i = {}, 0
    while i < len(datagram):
        end = datagram.index(b"\n", i)
        line = datagram[i:end]
        if b"=" in line:
            key, value = line.split(b"=", 1)
            i = end + 1
        else:
            size = int.from_bytes(datagram[end + 1:end + 9], "little")
            key, value = line, datagram[end + 9:end + 9 + size]
            i = end + 9 + size + 1
        fields[key.decode()] = value.decode(errors="replace")
    return fields


class Journal(unittest.TestCase):
    """The broker logs to the journal with fields, when stderr is the journal's (JOURNAL_STREAM): run in a
    mount namespace where /run/systemd/journal/socket is the test's socket."""

    def test_worker_and_job_fields(self):
        if os.geteuid() != 0 or BUSYBOX is None:
            self.skipTest("needs root (a mount namespace, containers) and busybox")
        d = scratch("journal")
        sock_path = os.path.join(d, "journal.sock")
        journal = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        journal.bind(sock_path)
        journal.settimeout(0.2)
        self.addCleanup(journal.close)
        port = free_port()
        log = open(os.path.join(d, "broker.log"), "w")
        self.addCleanup(log.close)
        st = os.fstat(log.fileno())
        env = dict(S["env"], JOURNAL_STREAM=f"{st.st_dev}:{st.st_ino}")
        script = ("mount -t tmpfs tmpfs /run/systemd && mkdir /run/systemd/journal && "
                  "touch /run/systemd/journal/socket && mount --bind \"$0\" /run/systemd/journal/socket && "
                  "exec \"$@\"")
        broker = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c", script, sock_path,
                                   os.path.join(S["bin"], "maelstrom-broker"), "-c", "-", "--bus=none",
                                   "--address", "127.0.0.1", "--port", str(port), "--cache-root",
                                   os.path.join(d, "broker"), "--log-level", "debug"],
                                  stdout=log, stderr=log, env=env)
        S["procs"].append(broker)
        address = f"127.0.0.1:{port}"
        worker = S["daemons"].spawn("journal-worker", [os.path.join(S["bin"], "maelstrom-worker"), "-c", "-",
                                                       "--bus=none", "--broker", address, "--slots", "1",
                                                       "--cache-root", os.path.join(d, "worker")], S["env"])
        messages = []

        def received(predicate):
            try:
                messages.append(journal_fields(journal.recv(65536)))
            except socket.timeout:
                pass
            return next((m for m in messages if predicate(m)), None)
        attached = wait_for("the attachment in the journal", lambda: received(
            lambda m: "attached" in m.get("MESSAGE", "")), interval=0)
        self.assertRegex(attached["MESSAGE"], r"^Worker '\S+' attached with 1 slots\.$")
        self.assertEqual(attached["WORKER"], re.search(r"Worker '(\S+)'", attached["MESSAGE"]).group(1))
        self.assertEqual(attached["PRIORITY"], "6")
        self.assertEqual(attached["SYSLOG_IDENTIFIER"], "maelstrom-broker")

        run = subprocess.run([os.path.join(S["bin"], "maelstrom-run"), "--broker", address, "--cache-root",
                              os.path.join(d, "client")], input=json.dumps(sh_job("echo hi", LAYERS)) + "\n",
                             capture_output=True, text=True, cwd=d, env=S["env"], timeout=120)
        self.assertEqual(run.returncode, 0, run.stderr)
        dispatched = wait_for("the job in the journal", lambda: received(lambda m: "JOB_ID" in m), interval=0)
        self.assertEqual(dispatched["WORKER"], attached["WORKER"])
        self.assertEqual(dispatched["PRIORITY"], "7")
        self.assertIn(f"as job {dispatched['JOB_ID']}.", dispatched["MESSAGE"])
        # The other messages went to stderr, with the priority prefix journald reads.
        with open(os.path.join(d, "broker.log")) as f:
            self.assertRegex(f.read(), r"(?m)^<6>Listening on port \d+\.$")
        worker.terminate()
        broker.terminate()
        self.assertEqual(broker.wait(timeout=30), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
