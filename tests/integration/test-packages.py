#!/usr/bin/env python3
# SPDX-License-Identifier: MIT OR Apache-2.0
"""The Debian and RPM packages: they build (tools/build-packages: dpkg-buildpackage, rpmbuild, and lintian without
errors), install into a scratch root with every file where it should be, the users created and no unit enabled,
and uninstall cleanly.

The scratch root is a copy-on-write overlay of this machine's root (whose upper layer is a tmpfs) in a private
mount namespace: the packages' dependencies and the tools their maintainer scripts run (systemd-sysusers,
deb-systemd-helper, rpm) are there, and nothing reaches the real root.  Needs root; slow (both packages are
built), so it runs only when meson is configured with -Dpackage_tests=true (tools/run-tests does).  With
MAELSTROM_TEST_PACKAGES=DIR it takes the packages tools/build-packages left in DIR instead of building them."""

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

SOURCE = os.environ.get("MAELSTROM_SOURCE_ROOT") or sys.exit("MAELSTROM_SOURCE_ROOT is not set")
S = {}

DEBS = {
    "maelstrom-common": ["/usr/share/polkit-1/actions/org.maelstrom.policy"],
    "maelstrom-broker": ["/usr/bin/maelstrom-broker", "/etc/maelstrom/broker.conf",
                         "/lib/systemd/system/maelstrom-broker.service", "/lib/systemd/system/maelstrom-broker.socket",
                         "/usr/lib/sysusers.d/maelstrom-broker.conf",
                         "/usr/share/dbus-1/system.d/org.maelstrom.Broker1.conf",
                         "/usr/share/dbus-1/interfaces/org.maelstrom.Broker1.xml",
                         "/usr/share/man/man1/maelstrom-broker.1.gz"],
    "maelstrom-worker": ["/usr/bin/maelstrom-worker", "/etc/maelstrom/worker.conf",
                         "/lib/systemd/system/maelstrom-worker.service", "/lib/systemd/system/maelstrom-worker@.service",
                         "/lib/systemd/system/maelstrom-worker.socket", "/usr/lib/sysusers.d/maelstrom-worker.conf",
                         "/usr/lib/tmpfiles.d/maelstrom-worker.conf",
                         "/usr/share/dbus-1/system.d/org.maelstrom.Worker1.conf",
                         "/usr/share/dbus-1/interfaces/org.maelstrom.Worker1.xml",
                         "/usr/share/man/man1/maelstrom-worker.1.gz"],
    "maelstrom-clients": [f"/usr/bin/{p}" for p in ["maelstrom-run", "maelstrom-admin", "cargo-maelstrom",
                                                    "maelstrom-go-test", "maelstrom-pytest"]] +
                         [f"/usr/share/man/man1/{p}.1.gz" for p in ["maelstrom-run", "maelstrom-admin",
                                                                     "cargo-maelstrom", "maelstrom-go-test",
                                                                     "maelstrom-pytest"]],
    "libmaelstrom-dev": ["/usr/include/maelstrom/maelstrom.h", "/usr/share/maelstrom/proto/maelstrom/v1/job.proto",
                         "/usr/share/maelstrom/proto/maelstrom/v1/cluster.proto"],
}
# The same files in the RPM packages, with the RPM names and paths.
RPM_NAMES = {"maelstrom-common": "maelstrom-common", "maelstrom-broker": "maelstrom-broker",
             "maelstrom-worker": "maelstrom-worker", "maelstrom-clients": "maelstrom-clients",
             "libmaelstrom-dev": "maelstrom-devel"}
RPMS = {RPM_NAMES[p]: [f.replace("/lib/systemd/", "/usr/lib/systemd/").replace(".1.gz", ".1") for f in files]
        for p, files in DEBS.items()}

# Run inside the overlay, chrooted: installs, looks around, removes, and writes what it saw as JSON.
INSIDE = r"""
import glob, json, os, subprocess, sys

def run(*args):
    p = subprocess.run(args, capture_output=True, text=True)
    return {"rc": p.returncode, "out": p.stdout, "err": p.stderr}

def files(listing):
    return [f for f in listing.splitlines() if f.startswith("/") and not os.path.isdir(f)]

debs, rpms = json.loads(sys.argv[1]), json.loads(sys.argv[2])
r = {}
r["dpkg_install"] = run("dpkg", "-i", *sorted(f for f in glob.glob("/pkgs/deb/*.deb") if "-dbgsym_" not in f))
r["deb_files"] = {p: files(run("dpkg", "-L", p)["out"]) for p in debs}
r["conffiles"] = run("dpkg-query", "-W", "-f=${Conffiles}\n", *debs)["out"]
r["users"] = {u: run("getent", "passwd", u)["rc"] == 0 for u in ("maelstrom-broker", "maelstrom-worker")}
r["group"] = run("getent", "group", "maelstrom")["rc"] == 0
r["enabled"] = [f for f in glob.glob("/etc/systemd/system/**", recursive=True) if "maelstrom" in f]
r["version"] = run("maelstrom-worker", "--version")["out"]
r["dpkg_purge"] = run("dpkg", "--purge", *debs)
r["deb_left"] = [f for fs in r["deb_files"].values() for f in fs if os.path.lexists(f)]
r["etc_left"] = os.path.lexists("/etc/maelstrom")
r["dpkg_after"] = run("dpkg-query", "-W", "-f=${db:Status-Abbrev}${Package}\n", *debs)["out"]

r["rpm_install"] = run("rpm", "-i", "--nodeps", *sorted(glob.glob("/pkgs/rpm/RPMS/*/*.rpm")))
r["rpm_files"] = {p: files(run("rpm", "-ql", p)["out"]) for p in rpms}
r["rpm_config"] = run("rpm", "-qc", "maelstrom-broker", "maelstrom-worker")["out"]
r["rpm_erase"] = run("rpm", "-e", "--nodeps", *rpms)
r["rpm_left"] = [f for fs in r["rpm_files"].values() for f in fs if os.path.lexists(f)]
r["rpm_after"] = run("rpm", "-q", *rpms)["out"]
with open("/report/report.json", "w") as f:
    json.dump(r, f)
"""


def setUpModule():
    if os.geteuid() != 0:
        raise unittest.SkipTest("installing packages into an overlay of the root needs root")
    for tool in ("dpkg-buildpackage", "rpmbuild", "unshare"):
        if not shutil.which(tool):
            raise unittest.SkipTest(f"{tool} is not installed")
    root = tempfile.mkdtemp(prefix="maelstrom-packages-test-")
    S["root"] = root
    packages = os.environ.get("MAELSTROM_TEST_PACKAGES")
    if not packages:
        packages = os.path.join(root, "packages")
        p = subprocess.run([os.path.join(SOURCE, "tools/build-packages"), packages], capture_output=True, text=True,
                           timeout=1800)
        if p.returncode != 0:
            raise AssertionError(f"tools/build-packages failed:\n{p.stdout}\n{p.stderr}")
    S["packages"] = os.path.abspath(packages)

    report = os.path.join(root, "report")
    os.makedirs(report)
    with open(os.path.join(root, "inside.py"), "w") as f:
        f.write(INSIDE)
    ov = os.path.join(root, "overlay")
    os.makedirs(ov)
    script = f"""set -e
mount -t tmpfs tmpfs {ov}
mkdir {ov}/upper {ov}/work {ov}/root
mount -t overlay overlay -o lowerdir=/,upperdir={ov}/upper,workdir={ov}/work {ov}/root
mount --rbind /dev {ov}/root/dev
mount -t proc proc {ov}/root/proc
mount -t tmpfs tmpfs {ov}/root/run
mkdir -p {ov}/root/pkgs {ov}/root/report
mount --bind {S['packages']} {ov}/root/pkgs
mount --bind {report} {ov}/root/report
cp {root}/inside.py {ov}/root/inside.py
exec chroot {ov}/root /usr/bin/python3 /inside.py "$1" "$2"
"""
    p = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
                        json.dumps(list(DEBS)), json.dumps(list(RPMS))],
                       capture_output=True, text=True, timeout=600,
                       env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C.UTF-8"})
    if p.returncode != 0:
        raise AssertionError(f"installing in the overlay failed:\n{p.stdout}\n{p.stderr}")
    with open(os.path.join(report, "report.json")) as f:
        S["report"] = json.load(f)


def tearDownModule():
    if "root" in S and not os.environ.get("MAELSTROM_TEST_KEEP"):
        shutil.rmtree(S["root"], ignore_errors=True)


class Packages(unittest.TestCase):
    def test_built(self):
        debs = sorted(os.path.basename(f).split("_")[0] for f in glob.glob(os.path.join(S["packages"], "deb/*.deb")))
        self.assertEqual([d for d in debs if not d.endswith("-dbgsym")], sorted(DEBS))
        rpms = sorted(os.path.basename(f).rsplit("-", 2)[0]
                      for f in glob.glob(os.path.join(S["packages"], "rpm/RPMS/*/*.rpm")))
        self.assertEqual(rpms, sorted(RPMS))
        with open(os.path.join(S["packages"], "lintian.txt")) as f:
            lintian = f.read()
        self.assertNotRegex(lintian, r"(?m)^E: ")

    def test_deb(self):
        r = S["report"]
        self.assertEqual(r["dpkg_install"]["rc"], 0, r["dpkg_install"]["err"])
        for package, expected in DEBS.items():
            self.assertEqual(sorted(f for f in r["deb_files"][package] if not f.startswith("/usr/share/doc/")
                                    and not f.startswith("/usr/share/lintian/")),
                             sorted(expected), package)
        self.assertIn("/etc/maelstrom/broker.conf", r["conffiles"])
        self.assertIn("/etc/maelstrom/worker.conf", r["conffiles"])
        self.assertEqual(r["users"], {"maelstrom-broker": True, "maelstrom-worker": True})
        self.assertTrue(r["group"])
        self.assertEqual(r["enabled"], [])  # nothing enabled
        self.assertRegex(r["version"], r"^maelstrom-worker \d")
        self.assertEqual(r["dpkg_purge"]["rc"], 0, r["dpkg_purge"]["err"])
        self.assertEqual(r["deb_left"], [])
        self.assertFalse(r["etc_left"])
        self.assertNotIn("ii", r["dpkg_after"])

    def test_rpm(self):
        r = S["report"]
        self.assertEqual(r["rpm_install"]["rc"], 0, r["rpm_install"]["err"])
        for package, expected in RPMS.items():
            files = [f for f in r["rpm_files"][package] if not f.startswith("/usr/lib/.build-id")]
            self.assertEqual(sorted(files), sorted(expected), package)
        self.assertEqual(sorted(r["rpm_config"].split()), ["/etc/maelstrom/broker.conf", "/etc/maelstrom/worker.conf"])
        self.assertEqual(r["rpm_erase"]["rc"], 0, r["rpm_erase"]["err"])
        self.assertEqual(r["rpm_left"], [])
        self.assertEqual(r["rpm_after"].count("is not installed"), len(RPMS))


if __name__ == "__main__":
    unittest.main(verbosity=2)
