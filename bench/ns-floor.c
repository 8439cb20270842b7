/* SPDX-License-Identifier: MIT OR Apache-2.0 */

/* The namespace floor: bench/floor.py's cases, each started in the namespaces that the spec gives every job,
 * as cheaply as plain code can.  floor.py runs every case as a bare process: the least any runner that
 * starts one process per case can take.  This runs each case as PID 1 of new user, mount, PID, IPC, UTS and
 * cgroup namespaces, in a network namespace made once here (lo down) that every case shares, which is
 * cheaper than the executor's pool.  With --mounts, each case also mounts what a job cannot share with
 * another: a proc of its own PID namespace on /proc, and a tmpfs (on DIR, where it hides nothing the cases
 * need).  Nothing else: no root file system or devices (a runner could make those once and share them), no
 * runner, worker or messages.  So no runner that gives each case a container of its own, as the spec has
 * it, can finish sooner on this machine (bench/floor.py --bound adds the build tool's check).  Each case
 * copies the host's mount namespace, which has more mounts than a container's.
 *
 * As floor.py: the cases longest first, at most CORES at a time, from one loop that blocks in wait() for a
 * free slot; each started by a vfork-style clone (CLONE_VM | CLONE_VFORK, with the namespaces' flags) whose
 * child writes its id maps, mounts, changes to the case's directory, puts /dev/null on 0, 1 and 2 and
 * execs; "wall" is from the first clone to the last exit.  Each case's mount namespace is held open until
 * then, and closed before we exit: freeing one at the job's exit would wait for an RCU grace period before
 * the exit is reported (the executor holds them too, and frees them on a thread of its own).
 *
 *   ns-floor [--mounts DIR] CASES.json CORES TIMEOUT
 *
 * CASES.json and the JSON line it prints are floor.py's ("wall", "cpu", "cases", "failed", "timeout"); cpu
 * is our own and our reaped children's user and system time.  Run it as root or as any user who may create
 * user namespaces. */

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "basic/fd-util.h"
#include "basic/macro.h"
#include "basic/parse-util.h"

extern char **environ;

typedef struct Case {
        size_t index; /* in the file: ties keep its order, as in floor.py */
        double duration;
        const char *name, *cwd;
        char **argv, **envp;
} Case;

typedef struct Running {
        pid_t pid;
        const Case *c;
} Running;

static volatile sig_atomic_t timed_out;
static int devnull = -EBADF;
static const char *tmp_dir; /* --mounts */
static char child_stack[256 * 1024] __attribute__((aligned(16)));

static void on_alarm(int sig) {
        (void) sig;
        timed_out = 1;
}

static _noreturn_ void die(const char *what) {
        fprintf(stderr, "ns-floor: %s\n", what);
        exit(EXIT_FAILURE);
}

static int write_file(const char *path, const char *text) {
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        ssize_t n = write(fd, text, strlen(text));
        int r = n < 0 ? -errno : 0;
        close(fd);
        return r;
}

/* Our ids (those of the namespace we made at the start, where we are 0) as 0 in a new user namespace. */
static int map_ids(const char *uid_map, const char *gid_map) {
        int r = write_file("/proc/self/uid_map", uid_map);
        if (r >= 0)
                r = write_file("/proc/self/setgroups", "deny");
        if (r >= 0)
                r = write_file("/proc/self/gid_map", gid_map);
        return r;
}

/* The child, on child_stack in our memory while we wait (CLONE_VFORK): system calls only.  Exit statuses
 * 124-127 are its own failures, reported as the case's. */
static int child(void *userdata) {
        const Case *c = userdata;

        if (map_ids("0 0 1\n", "0 0 1\n") < 0)
                _exit(125);
        if (tmp_dir && (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 ||
                        mount("tmpfs", tmp_dir, "tmpfs", MS_NOSUID | MS_NODEV, NULL) < 0))
                _exit(124);
        if (chdir(c->cwd) < 0)
                _exit(126);
        for (int fd = 0; fd < 3; fd++)
                if (dup2(devnull, fd) < 0)
                        _exit(126);
        execve(c->argv[0], c->argv, c->envp);
        _exit(127);
}

static char **string_array(json_object *a, const char *what) {
        if (!json_object_is_type(a, json_type_array))
                die(what);
        size_t n = json_object_array_length(a);
        char **v = calloc(n + 1, sizeof(char *));
        if (!v)
                die("out of memory");
        for (size_t i = 0; i < n; i++) {
                json_object *s = json_object_array_get_idx(a, i);
                if (!json_object_is_type(s, json_type_string))
                        die(what);
                v[i] = (char *) json_object_get_string(s);
        }
        return v;
}

static char **env_array(json_object *o) {
        if (!o)
                return environ;
        if (!json_object_is_type(o, json_type_object))
                die("a case's \"env\" is not an object");
        size_t n = (size_t) json_object_object_length(o), i = 0;
        char **v = calloc(n + 1, sizeof(char *));
        if (!v)
                die("out of memory");
        json_object_object_foreach(o, key, value) {
                if (asprintf(&v[i++], "%s=%s", key, json_object_get_string(value)) < 0)
                        die("out of memory");
        }
        return v;
}

static int by_duration(const void *a, const void *b) {
        const Case *x = a, *y = b;
        if (x->duration != y->duration)
                return x->duration < y->duration ? 1 : -1;
        return x->index < y->index ? -1 : x->index > y->index;
}

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static double cpu_seconds(void) {
        struct rusage self, children;
        getrusage(RUSAGE_SELF, &self);
        getrusage(RUSAGE_CHILDREN, &children);
        const struct timeval *t[] = {
                &self.ru_utime, &self.ru_stime, &children.ru_utime, &children.ru_stime,
        };
        double s = 0;
        for (size_t i = 0; i < ELEMENTSOF(t); i++)
                s += (double) t[i]->tv_sec + (double) t[i]->tv_usec / 1e6;
        return s;
}

/* Reaps one of ours (blocking); false when the time limit interrupted the wait. */
static bool reap(Running *running, size_t *n_running, json_object *failed) {
        int status;
        pid_t pid = waitpid(-1, &status, __WALL);
        if (pid < 0) {
                if (errno == EINTR)
                        return false;
                die("waitpid() failed");
        }
        for (size_t i = 0; i < *n_running; i++) {
                if (running[i].pid != pid)
                        continue;
                int code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
                if (code != 0) {
                        json_object *f = json_object_new_array();
                        json_object_array_add(f, json_object_new_string(running[i].c->name));
                        json_object_array_add(f, json_object_new_int(code));
                        json_object_array_add(failed, f);
                }
                running[i] = running[--*n_running];
                break;
        }
        return true;
}

int main(int argc, char **argv) {
        unsigned cores;
        double timeout;
        char map[64], path[64];

        char *end;
        if (argc == 6 && streq(argv[1], "--mounts")) {
                tmp_dir = argv[2];
                argc -= 2;
                argv += 2;
        }
        if (argc != 4 || safe_atou(argv[2], &cores) < 0 || cores == 0)
                die("usage: ns-floor [--mounts DIR] CASES.json CORES TIMEOUT");
        timeout = strtod(argv[3], &end);
        if (end == argv[3] || *end || !(timeout > 0))
                die("usage: ns-floor [--mounts DIR] CASES.json CORES TIMEOUT (TIMEOUT in seconds, above 0)");
        json_object *root = json_object_from_file(argv[1]);
        if (!root || !json_object_is_type(root, json_type_array))
                die("the cases file is not a JSON array");
        size_t n = json_object_array_length(root);
        Case *cases = calloc(n ? n : 1, sizeof(Case));
        Running *running = calloc(cores, sizeof(Running));
        int *held = malloc((n ? n : 1) * sizeof(int));
        if (!cases || !running || !held)
                die("out of memory");
        for (size_t i = 0; i < n; i++)
                held[i] = -EBADF;
        struct rlimit files;
        if (getrlimit(RLIMIT_NOFILE, &files) >= 0 && files.rlim_cur < files.rlim_max) {
                files.rlim_cur = files.rlim_max;
                (void) setrlimit(RLIMIT_NOFILE, &files);
        }
        for (size_t i = 0; i < n; i++) {
                json_object *o = json_object_array_get_idx(root, i), *v;
                Case *c = &cases[i];
                c->index = i;
                if (!json_object_object_get_ex(o, "argv", &v))
                        die("a case has no \"argv\"");
                c->argv = string_array(v, "a case's \"argv\" is not a list of strings");
                if (!c->argv[0])
                        die("a case's \"argv\" is empty");
                if (!json_object_object_get_ex(o, "cwd", &v) || !json_object_is_type(v, json_type_string))
                        die("a case has no \"cwd\" string");
                c->cwd = json_object_get_string(v);
                c->duration = json_object_object_get_ex(o, "duration", &v) ? json_object_get_double(v) : 0;
                c->name = json_object_object_get_ex(o, "name", &v) ? json_object_get_string(v) : c->argv[0];
                c->envp = env_array(json_object_object_get(o, "env"));
        }
        qsort(cases, n, sizeof(Case), by_duration);

        devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (devnull < 0)
                die("cannot open /dev/null");
        /* Our own user namespace, where we are 0 and hold every capability, and in it the network namespace
         * that every case inherits: the executor's zygotes do the same for its pool. */
        uid_t uid = geteuid();
        gid_t gid = getegid();
        if (unshare(CLONE_NEWUSER) < 0)
                die("cannot create a user namespace");
        snprintf(map, sizeof map, "0 %u 1\n", (unsigned) uid);
        if (write_file("/proc/self/uid_map", map) < 0 || write_file("/proc/self/setgroups", "deny") < 0)
                die("cannot map our user id");
        snprintf(map, sizeof map, "0 %u 1\n", (unsigned) gid);
        if (write_file("/proc/self/gid_map", map) < 0)
                die("cannot map our group id");
        if (unshare(CLONE_NEWNET) < 0)
                die("cannot create a network namespace");

        struct sigaction sa = { .sa_handler = on_alarm }; /* no SA_RESTART: waitpid() returns EINTR */
        sigaction(SIGALRM, &sa, NULL);
        struct itimerval limit = {
                .it_value = { .tv_sec = (time_t) timeout,
                              .tv_usec = (suseconds_t) ((timeout - (double) (time_t) timeout) * 1e6) },
        };
        json_object *failed = json_object_new_array();
        size_t n_running = 0;
        double t0 = now(), c0 = cpu_seconds();
        setitimer(ITIMER_REAL, &limit, NULL);
        for (size_t i = 0; i < n && !timed_out; i++) {
                while (n_running >= cores && !timed_out)
                        reap(running, &n_running, failed);
                if (timed_out)
                        break;
                pid_t pid = clone(child, child_stack + sizeof child_stack,
                                  CLONE_VM | CLONE_VFORK | CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID |
                                          CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP | SIGCHLD,
                                  &cases[i]);
                if (pid < 0)
                        die("clone() failed");
                running[n_running++] = (Running) { .pid = pid, .c = &cases[i] };
                /* After CLONE_VFORK the case has exec'd or died: it cannot have been reaped yet, but it may
                 * be gone already (then its namespace is too). */
                snprintf(path, sizeof path, "/proc/%d/ns/mnt", (int) pid);
                held[i] = open(path, O_RDONLY | O_CLOEXEC);
        }
        while (n_running > 0 && !timed_out)
                reap(running, &n_running, failed);
        if (timed_out) {
                for (size_t i = 0; i < n_running; i++)
                        kill(running[i].pid, SIGKILL);
                while (n_running > 0)
                        reap(running, &n_running, failed);
        }
        double t1 = now(), c1 = cpu_seconds();
        for (size_t i = 0; i < n; i++)
                safe_close(held[i]);

        json_object *result = json_object_new_object();
        json_object_object_add(result, "wall", json_object_new_double(t1 - t0));
        json_object_object_add(result, "cpu", json_object_new_double(c1 - c0));
        json_object_object_add(result, "cases", json_object_new_int((int) n));
        json_object_object_add(result, "failed", failed);
        json_object_object_add(result, "timeout", json_object_new_boolean(timed_out));
        puts(json_object_to_json_string_ext(result, JSON_C_TO_STRING_PLAIN));
        return EXIT_SUCCESS;
}
