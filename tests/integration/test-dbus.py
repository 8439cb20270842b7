#!/usr/bin/env python3
# SPDX-License-Identifier: MIT OR Apache-2.0
"""The daemons' D-Bus objects on a private dbus-daemon that runs like the system bus (default deny, with our
installed policy files included): the live objects against dbus/*.xml, properties while jobs run,
PropertiesChanged and the broker's signals, SetSlots, Drain, DrainWorker, Status, Stop; the bus policy (an
unprivileged user may read but not stop), and polkit: a member of the group "maelstrom" is refused without
polkit on the bus, and asks it when it is there (tests/tools/fake-polkit stands in for polkitd).

Runs as root: the daemons run as root, the unprivileged calls through setpriv.  Only 127.0.0.1 and unix sockets
in a scratch directory are used.  Every wait is bounded."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import unittest
import xml.etree.ElementTree as ET

from testlib import (Processes, busybox_layers, clean_env, ensure_group, ensure_user, install_build, sh_job,
                     wait_for)

BUILD = os.environ.get("MAELSTROM_BUILD_ROOT") or sys.exit("MAELSTROM_BUILD_ROOT is not set")
BUSYBOX = shutil.which("busybox", path="/bin:/usr/bin")
TEST_USER = "maelstrom-test"
LAYERS = busybox_layers(["sh", "echo", "sleep"])
BROKER = ("org.maelstrom.Broker1", "/org/maelstrom/Broker1", "org.maelstrom.Broker1")
WORKER = ("org.maelstrom.Worker1", "/org/maelstrom/Worker1", "org.maelstrom.Worker1")
S = {}

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <!-- As Debian's system.conf: holes are punched by the services' policy files. -->
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
  </policy>
  <policy user="root">
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Monitoring"/>
  </policy>
  <!-- As polkit's own policy file. -->
  <policy user="root">
    <allow own="org.freedesktop.PolicyKit1"/>
  </policy>
  <policy context="default">
    <allow send_destination="org.freedesktop.PolicyKit1"/>
  </policy>
{includes}
</busconfig>
"""


def setUpModule():
    if os.geteuid() != 0:
        raise unittest.SkipTest("the daemons of this test run as root, the unprivileged calls through setpriv")
    if BUSYBOX is None:
        raise unittest.SkipTest("busybox is not installed")
    if not shutil.which("dbus-daemon") or not shutil.which("busctl"):
        raise unittest.SkipTest("dbus-daemon or busctl is not installed")
    root, files = install_build(BUILD, "maelstrom-dbus-test-")
    S.update(root=root, files=files, procs=Processes(root), user=ensure_user(TEST_USER),
             group=ensure_group("maelstrom"))
    S["bin"] = os.path.dirname(next(p for k, p in files.items() if k.endswith("bin/maelstrom-worker")))
    policies = [p for k, p in files.items() if "dbus-1/system.d/" in k]
    assert len(policies) == 2, policies

    socket_path = os.path.join(root, "bus")
    with open(os.path.join(root, "bus.conf"), "w") as f:
        f.write(BUS_CONFIG.format(socket=socket_path,
                                  includes="\n".join(f"  <include>{p}</include>" for p in policies)))
    S["dbus"] = spawn("dbus-daemon", ["dbus-daemon", "--config-file", os.path.join(root, "bus.conf"), "--nofork"])
    S["address"] = f"unix:path={socket_path}"
    wait_for("the bus", lambda: os.path.exists(socket_path))
    env = clean_env(root, DBUS_SYSTEM_BUS_ADDRESS=S["address"])
    S["env"] = env
    S["monitor"] = Monitor()


def tearDownModule():
    if "procs" in S:
        S["procs"].kill_all()
    if "root" in S and not os.environ.get("MAELSTROM_TEST_KEEP"):
        shutil.rmtree(S["root"], ignore_errors=True)


def spawn(name, argv, **kwargs):
    return S["procs"].spawn(name, argv, kwargs.pop("env", S.get("env")), **kwargs)


def read_log(name):
    return S["procs"].read_log(name)


def busctl(*args, user=None, groups=None, check=True, env=None):
    """busctl on the test bus, with JSON output; as user (with only the supplementary groups given) if set.
    Returns the parsed output, or (with check=False) the CompletedProcess."""
    cmd = ["busctl", f"--address={S['address']}", "--json=short", *args]
    if user:
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user}",
               f"--groups={','.join(str(g) for g in groups)}" if groups else "--clear-groups",
               "--inh-caps=-all"] + cmd
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
    if not check:
        return p
    if p.returncode != 0:
        raise AssertionError(f"busctl {' '.join(args)} failed: {p.stderr}")
    return json.loads(p.stdout) if p.stdout.strip() else None


def call_error(obj, method, signature="", *args, **kwargs):
    """Calls a method that must fail: returns the error's name and message (busctl says them at debug level)."""
    cmd = [*obj, method, *([signature, *map(str, args)] if signature else [])]
    env = dict(os.environ, SYSTEMD_LOG_LEVEL="debug")
    p = busctl("call", *cmd, check=False, env=env, **kwargs)
    if p.returncode == 0:
        raise AssertionError(f"{obj[2]}.{method} succeeded")
    m = re.search(r"type=error .*error-name=(\S+) error-message=(.*)", p.stderr)
    if not m:
        raise AssertionError(f"no error in: {p.stderr}")
    return m.group(1), m.group(2)


def call(obj, method, signature="", *args, **kwargs):
    return busctl("call", obj[0], obj[1], obj[2], method, *([signature, *map(str, args)] if signature else []),
                  **kwargs)


def get(obj, prop, **kwargs):
    return busctl("get-property", obj[0], obj[1], obj[2], prop, **kwargs)["data"]


def has_owner(name):
    p = busctl("call", "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "NameHasOwner", "s",
               name)
    return p["data"][0]


class Monitor:
    """busctl monitor in the background: the signals on the bus, as parsed JSON."""

    def __init__(self):
        self.signals = []
        self.lock = threading.Lock()
        self.proc = subprocess.Popen(["busctl", f"--address={S['address']}", "--json=short", "monitor"],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        S["procs"].procs.append(self.proc)
        threading.Thread(target=self.read, daemon=True).start()

    def read(self):
        for line in self.proc.stdout:
            try:
                m = json.loads(line)
            except ValueError:
                continue
            if m.get("type") == "signal":
                with self.lock:
                    self.signals.append(m)

    def find(self, member, predicate=lambda data: True):
        with self.lock:
            return [m["payload"]["data"] for m in self.signals if m.get("member") == member and predicate(
                m["payload"]["data"])]


def interface_of(xml_text, name):
    """The interface's members from introspection XML, normalized: {(kind, name): (args, annotations, ...)}."""
    iface = next(i for i in ET.fromstring(xml_text).iter("interface") if i.get("name") == name)
    members = {}
    for m in iface:
        annotations = tuple(sorted((a.get("name"), a.get("value")) for a in m.findall("annotation")))
        if m.tag == "property":
            members[(m.tag, m.get("name"))] = (m.get("type"), m.get("access"), annotations)
        else:
            args = tuple((a.get("name"), a.get("type"), a.get("direction") or ("in" if m.tag == "method" else None))
                         for a in m.findall("arg"))
            members[(m.tag, m.get("name"))] = (args, annotations)
    return members


def run_jobs(jobs, wait=True):
    with tempfile.TemporaryFile("w+") as stdin:
        stdin.write("".join(json.dumps(j) + "\n" for j in jobs))
        stdin.seek(0)
        p = subprocess.Popen([os.path.join(S["bin"], "maelstrom-run"), "--broker", S["broker_address"],
                              "--cache-root", os.path.join(S["root"], "client"), "--slots", "1"],
                             stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             cwd=S["root"], env=S["env"])
    return p if not wait else finish(p)


def finish(p):
    out, err = p.communicate(timeout=120)
    return p.returncode, out, err


class DBus(unittest.TestCase):
    """One broker and one worker, in order (the test names sort in the order they run)."""

    @classmethod
    def setUpClass(cls):
        S["broker"] = spawn("broker", [os.path.join(S["bin"], "maelstrom-broker"), "-c", "-", "--bus=system",
                                       "--address", "127.0.0.1", "--port", "0", "--cache-root",
                                       os.path.join(S["root"], "broker"), "--log-level", "debug"])
        wait_for("the broker's name", lambda: has_owner(BROKER[0]))
        S["broker_address"] = f"127.0.0.1:{get(BROKER, 'Port')}"
        S["worker"] = spawn("worker", [os.path.join(S["bin"], "maelstrom-worker"), "-c", "-", "--bus=system",
                                       "--broker", S["broker_address"], "--slots", "2", "--cache-root",
                                       os.path.join(S["root"], "worker"), "--log-level", "debug"])
        wait_for("the worker's name", lambda: has_owner(WORKER[0]))
        wait_for("the worker attached", lambda: get(BROKER, "Workers") == 1)

    def test_a_introspection_matches_the_xml(self):
        for obj in (BROKER, WORKER):
            live = subprocess.run(["busctl", f"--address={S['address']}", "introspect", "--xml-interface", obj[0],
                                   obj[1]], capture_output=True, text=True, check=True, timeout=60).stdout
            xml = next(p for k, p in S["files"].items() if k.endswith(f"dbus-1/interfaces/{obj[2]}.xml"))
            with open(xml) as f:
                contract = interface_of(f.read(), obj[2])
            self.assertEqual(interface_of(live, obj[2]), contract, obj[2])

    def test_b_attached_signal_and_properties_while_jobs_run(self):
        name = wait_for("WorkerAttached", lambda: S["monitor"].find("WorkerAttached"))[0][0]
        self.assertEqual(S["monitor"].find("WorkerAttached")[0][1], 2)
        S["worker_name"] = name
        self.assertEqual(get(WORKER, "Broker"), S["broker_address"])
        self.assertTrue(get(WORKER, "Connected"))
        self.assertEqual(get(BROKER, "TotalSlots"), 2)

        p = run_jobs([sh_job(f"sleep 2; echo busy{i}", LAYERS) for i in range(2)], wait=False)
        try:
            wait_for("two running jobs at the broker", lambda: get(BROKER, "JobsRunning") == 2)
            wait_for("two running jobs at the worker", lambda: get(WORKER, "RunningJobs") == 2)
            self.assertEqual(get(BROKER, "UsedSlots"), 2)
            self.assertEqual(get(BROKER, "Clients"), 1)
            status = call(BROKER, "Status")["data"][0]
            self.assertEqual(status["JobsRunning"]["data"], 2)
            self.assertEqual(status["WorkerList"]["data"], [[name, 2, 2]])
        finally:
            rc, out, err = finish(p)
        self.assertEqual(rc, 0, err)
        self.assertEqual(sorted(out.split()), ["busy0", "busy1"])
        wait_for("no running jobs", lambda: get(BROKER, "JobsRunning") == 0)
        self.assertGreaterEqual(get(BROKER, "JobsCompleted"), 2)
        self.assertGreater(get(BROKER, "CacheBytes"), 0)
        # The counters were announced.
        changed = S["monitor"].find("PropertiesChanged", lambda d: d[0] == BROKER[2])
        self.assertTrue(any(d[1].get("JobsRunning", {}).get("data") == 2 for d in changed), changed)
        changed = S["monitor"].find("PropertiesChanged", lambda d: d[0] == WORKER[2])
        self.assertTrue(any(d[1].get("RunningJobs", {}).get("data") == 2 for d in changed), changed)

    def test_c_set_slots(self):
        call(WORKER, "SetSlots", "u", 3)
        self.assertEqual(get(WORKER, "Slots"), 3)
        wait_for("three slots at the broker", lambda: get(BROKER, "TotalSlots") == 3)
        self.assertEqual(call_error(WORKER, "SetSlots", "u", 0),
                         ("org.freedesktop.DBus.Error.InvalidArgs", "Slots must be 1 to 1000, not 0."))
        self.assertEqual(get(WORKER, "Slots"), 3)

    def test_d_policy_unprivileged_user(self):
        # Anyone may read; only the methods that change state are refused, by the bus itself.
        self.assertEqual(get(WORKER, "Slots", user=TEST_USER), 3)
        self.assertEqual(get(BROKER, "Workers", user=TEST_USER), 1)
        self.assertEqual(call(BROKER, "Status", user=TEST_USER)["data"][0]["Workers"]["data"], 1)
        for obj, method in ((BROKER, "Stop"), (WORKER, "Stop"), (WORKER, "Drain")):
            name, message = call_error(obj, method, user=TEST_USER)
            self.assertEqual(name, "org.freedesktop.DBus.Error.AccessDenied")
            self.assertIn("Rejected send message", message)  # by dbus-daemon, not the daemon
        self.assertRegex(read_log("dbus-daemon"), r'Rejected send message.*member="Stop"')
        self.assertIsNone(S["broker"].poll())
        self.assertIsNone(S["worker"].poll())

    def test_e_polkit(self):
        gid = S["group"].gr_gid
        # A member of "maelstrom" gets through the bus; without polkit, the daemon refuses.
        self.assertEqual(call_error(WORKER, "SetSlots", "u", 4, user=TEST_USER, groups=[gid]),
                         ("org.freedesktop.DBus.Error.AccessDenied",
                          "Only root and the daemon's user may do this: polkit is not available."))

        polkit = spawn("fake-polkit", [os.path.join(BUILD, "tests/tools/fake-polkit"), "org.maelstrom.worker.set-slots",
                                       "challenge:org.maelstrom.worker.prune-cache"], stdout=subprocess.PIPE, text=True)
        wait_for("polkit's name", lambda: has_owner("org.freedesktop.PolicyKit1"))
        call(WORKER, "SetSlots", "u", 4, user=TEST_USER, groups=[gid])
        self.assertEqual(get(WORKER, "Slots"), 4)
        self.assertEqual(call_error(WORKER, "Drain", user=TEST_USER, groups=[gid]),
                         ("org.freedesktop.DBus.Error.AccessDenied", "Not authorized by polkit."))
        self.assertEqual(call_error(WORKER, "PruneCache", user=TEST_USER, groups=[gid])[0],
                         "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired")
        self.assertFalse(get(WORKER, "Draining"))
        # Root is never asked.
        call(WORKER, "SetSlots", "u", 3)
        polkit.terminate()
        polkit.wait(timeout=30)
        checks = polkit.stdout.read().splitlines()
        polkit.stdout.close()
        self.assertEqual([c.split()[1] for c in checks],
                         ["org.maelstrom.worker.set-slots", "org.maelstrom.worker.drain",
                          "org.maelstrom.worker.prune-cache"])
        # The subject is the caller's connection; busctl allows interactive authorization (flag 1).
        self.assertTrue(all(re.match(r"check \S+ system-bus-name :\d+\.\d+ 1$", c) for c in checks), checks)

    def test_f_drain(self):
        p = run_jobs([sh_job("sleep 2; echo drained", LAYERS)], wait=False)
        try:
            wait_for("a running job", lambda: get(WORKER, "RunningJobs") == 1)
            call(WORKER, "Drain")
            self.assertTrue(get(WORKER, "Draining"))
            wait_for("no slots at the broker", lambda: get(BROKER, "TotalSlots") == 0)
        finally:
            rc, out, err = finish(p)
        # The running job finished.
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.split(), ["drained"])
        # A new one waits at the broker: the worker takes nothing.
        p = run_jobs([sh_job("echo later", LAYERS)], wait=False)
        try:
            wait_for("a pending job", lambda: get(BROKER, "JobsPending") == 1)
            self.assertEqual(get(WORKER, "RunningJobs"), 0)
            # SetSlots ends the drain: the job runs.
            call(WORKER, "SetSlots", "u", 2)
            self.assertFalse(get(WORKER, "Draining"))
        finally:
            rc, out, err = finish(p)
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.split(), ["later"])

    def test_g_drain_worker_at_the_broker(self):
        self.assertEqual(call_error(BROKER, "DrainWorker", "s", "no-such-worker"),
                         ("org.maelstrom.Error.NotFound", "No worker 'no-such-worker' is attached."))
        call(BROKER, "DrainWorker", "s", S["worker_name"])
        self.assertEqual(get(BROKER, "TotalSlots"), 0)
        wait_for("the drained worker in the status",
                 lambda: call(BROKER, "Status")["data"][0]["WorkerList"]["data"] == [[S["worker_name"], 0, 0]])

    def test_h_stop(self):
        call(WORKER, "Stop")
        self.assertEqual(S["worker"].wait(timeout=30), 0)
        wait_for("WorkerDetached", lambda: S["monitor"].find("WorkerDetached"))
        self.assertEqual(S["monitor"].find("WorkerDetached")[0], [S["worker_name"]])
        call(BROKER, "Stop")
        self.assertEqual(S["broker"].wait(timeout=30), 0)
        self.assertFalse(has_owner(BROKER[0]))


if __name__ == "__main__":
    unittest.main(verbosity=2)
