#!/usr/bin/env python3
"""The process-per-case floor: every test case run as a bare process (no container, no runner, no worker),
at most CORES at a time, longest first, the way a runner that starts one process per case would order them
if it cost nothing.  No runner of that kind can take less wall time, so it tells how much of a gap to
`cargo test` or `go test` is ours and how much comes with one process per case.

The launcher adds as little as it can: each case starts with os.posix_spawn (glibc's clone with CLONE_VM |
CLONE_VFORK, no copy of this process's memory), stdin, stdout and stderr on /dev/null, from one loop that
blocks in os.wait() for a free slot; the working directory is this process's own, changed only between
cases of different directories.  Used by bench/run-cargo.sh (imported) and bench/run-go.sh:

    bench/floor.py CASES.json CORES TIMEOUT
    bench/floor.py --bound NS-FLOOR CHECK.json CASES.json CORES TIMEOUT

CASES.json is a list of {"duration": SECONDS, "argv": [...], "cwd": DIR, "env": {...} (optional: this
process's environment otherwise), "name": "..."}.  Prints one JSON line: {"wall", "cpu", "cases",
"failed": [[name, exit status], ...], "timeout"}.

**The bound** (--bound, bound()): the least a runner that follows the spec can take, which must ask the build
tool whether the test binaries are up to date and start each case in a container of its own.  The build
tool's no-op check (CHECK.json: {"cwd": DIR, "commands": [ARGV, ...]}, run one after the other) at the same
time as the cases run by NS-FLOOR (bench/ns-floor.c, built as BUILD-DIR/bench/ns-floor) with --mounts: each
case in the namespaces the spec gives a job, with the two mounts a job cannot share with another (its proc
and a tmpfs), longest first, CORES at a time.  No root file system, devices, runner, worker or messages.
Timed from the check's start to the end of both; "cpu" is the check's and NS-FLOOR's (with its cases), and
"check_failed" says whether the check failed.
"""
import json, os, shlex, signal, subprocess, sys, tempfile, time


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout()


def cases_from_events(events, case):
    """The cases for run(), from a runner's --json-events file (none when there is no file, as when its
    warm-up failed): each `finished` event that ran (not IGNORED or NOT_RUN) becomes case(event), the case's
    dict, or None when no binary lists that case (it would run nothing and pass at once, so it is left out).
    Returns (cases, how many were ignored or not run, "package name" of each left out)."""
    cases, skipped, unmapped = [], 0, []
    if not os.path.exists(events):
        return cases, skipped, unmapped
    with open(events) as f:
        for line in f:
            e = json.loads(line)
            if e.get("event") != "finished":
                continue
            if e["outcome"] in ("IGNORED", "NOT_RUN"):
                skipped += 1
                continue
            c = case(e)
            if c is None:
                unmapped.append(f"{e['package']} {e['name']}")
            else:
                cases.append(c)
    return cases, skipped, unmapped


def run(cases, cores, timeout):
    """cases: dicts as above.  Returns a dict: wall seconds from the first spawn to the last exit, cpu
    seconds (user + system of the cases and of this loop over the same span), the number of cases, the
    failed ones as (name, exit status as os.waitstatus_to_exitcode gives it: negative for a signal), and
    whether the time limit stopped it (the cases still running are then killed)."""
    order = sorted(cases, key=lambda c: -c["duration"])  # stable: ties keep their order
    devnull = os.open(os.devnull, os.O_RDWR)  # not inherited (O_CLOEXEC); dup2 makes 0, 1, 2 of it
    actions = [(os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, devnull, 1),
               (os.POSIX_SPAWN_DUP2, devnull, 2)]
    base_env = dict(os.environ)
    spawns = [(c["argv"][0], c["argv"], c.get("env", base_env), c["cwd"], c.get("name", c["argv"][-1]))
              for c in order]
    cwd = os.getcwd()
    here = None
    running = {}
    failed = []
    timed_out = False

    def reap():
        pid, status = os.wait()
        name = running.pop(pid, None)
        if name is None:
            return  # not one of ours (nothing else should be running)
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            failed.append((name, code))

    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    t0, c0 = time.monotonic(), os.times()
    try:
        for path, argv, env, d, name in spawns:
            while len(running) >= cores:
                reap()
            if d != here:
                os.chdir(d)
                here = d
            running[os.posix_spawn(path, argv, env, file_actions=actions)] = name
        while running:
            reap()
    except _Timeout:
        timed_out = True
        for pid in running:
            os.kill(pid, signal.SIGKILL)
        for pid in list(running):
            os.waitpid(pid, 0)
        running.clear()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        os.chdir(cwd)
        os.close(devnull)
    t1, c1 = time.monotonic(), os.times()
    cpu = (c1.user - c0.user) + (c1.system - c0.system) + (c1.children_user - c0.children_user) + \
        (c1.children_system - c0.children_system)
    return {"wall": t1 - t0, "cpu": cpu, "cases": len(order), "failed": failed, "timeout": timed_out}


def bound(cases, cores, timeout, ns_floor, check):
    """The bound (see above) of cases (as for run()); check is {"cwd": DIR, "commands": [argv, ...]}.
    Returns a dict as run() does, with "check_failed"."""
    with tempfile.TemporaryDirectory(prefix="floor-bound-") as tmp:
        path = os.path.join(tmp, "cases.json")
        with open(path, "w") as f:
            json.dump(cases, f)
        mounts = os.path.join(tmp, "tmp")  # the cases' tmpfs, in their own mount namespaces
        os.mkdir(mounts)
        script = " && ".join(shlex.join(c) for c in check["commands"]) or "true"
        t0, c0 = time.monotonic(), os.times()
        checker = subprocess.Popen(["sh", "-c", script], cwd=check["cwd"], stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        launched = subprocess.run([ns_floor, "--mounts", mounts, path, str(cores), str(timeout)],
                                  stdin=subprocess.DEVNULL, capture_output=True, text=True)
        check_rc = checker.wait()
        t1, c1 = time.monotonic(), os.times()
    if launched.returncode != 0:
        raise RuntimeError(f"{ns_floor} failed: {launched.stderr.strip()}")
    res = json.loads(launched.stdout)
    res["wall"] = t1 - t0
    res["cpu"] = (c1.children_user - c0.children_user) + (c1.children_system - c0.children_system)
    res["check_failed"] = check_rc != 0
    return res


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) == 6 and args[0] == "--bound":
        with open(args[2]) as f:
            check = json.load(f)
        with open(args[3]) as f:
            cases = json.load(f)
        print(json.dumps(bound(cases, int(args[4]), float(args[5]), args[1], check)))
    elif len(args) == 3:
        with open(args[0]) as f:
            cases = json.load(f)
        print(json.dumps(run(cases, int(args[1]), float(args[2]))))
    else:
        sys.exit("usage: floor.py CASES.json CORES TIMEOUT\n"
                 "       floor.py --bound NS-FLOOR CHECK.json CASES.json CORES TIMEOUT")
