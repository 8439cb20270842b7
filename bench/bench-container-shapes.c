/* SPDX-License-Identifier: MIT OR Apache-2.0 */

/* What the shape of a container costs, apart from our executor: N trivial jobs (ROOT/bin/true), one after
 * another, in plain code, in each of these shapes, ROUNDS times alternated:
 *
 *   per-job      the executor's container, everything made for each job: a user and PID namespace (clone),
 *                mount and IPC namespaces, the id maps, a read-only overlayfs of two layers, five device
 *                binds, proc with its host-wide entries bound read-only, a tmpfs, pivot_root and the old
 *                root detached, then a second user namespace (with mount, UTS and cgroup ones) to lock the
 *                mounts;
 *   template     all that made once (the "template"); each job joins its user and mount namespaces and
 *                makes only new mount, IPC, UTS, cgroup and PID namespaces, proc (with the read-only binds)
 *                and a tmpfs, from a process that then exits (so the job's PID 1 is our child);
 *   template-tmp the template, without the tmpfs;
 *   template-ro  the template, without the read-only binds over proc;
 *   bare         fork and exec of the same program, no container.
 *
 * It prints, for each, the wall time and the whole machine's busy CPU time (from /proc/stat, so the kernel
 * threads that finish a namespace's teardown count) per job.  No network namespace in any: the executor
 * pools those.  Run it as an unprivileged user too (the rootless path).
 *
 *   bench-container-shapes ROOT [N [ROUNDS]]      (ROOT: a layer with /bin/true, /dev/{full,null,random,
 *                                                  urandom,zero} files, /proc and /tmp; defaults 1000 3) */

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "basic/fd-util.h"
#include "basic/parse-util.h"

static const char *layer, *empty_layer, *mount_point;
static char uid_map[64], gid_map[64];
static int template_user = -EBADF, template_mnt = -EBADF;

/* In a job's child: fail loudly (the parent reports the exit status). */
#define CHECK(expr)                                                                                        \
        do {                                                                                               \
                if ((expr) < 0) {                                                                          \
                        fprintf(stderr, "%s:%d: %s: %m\n", __FILE__, __LINE__, #expr);                     \
                        _exit(120);                                                                        \
                }                                                                                          \
        } while (0)

typedef enum Shape {
        SHAPE_PER_JOB,
        SHAPE_TEMPLATE,
        SHAPE_TEMPLATE_NO_TMP,
        SHAPE_TEMPLATE_NO_PROC_RO,
        SHAPE_BARE,
        _SHAPE_MAX,
} Shape;

static const char *const shape_names[_SHAPE_MAX] = {
        [SHAPE_PER_JOB] = "per-job",
        [SHAPE_TEMPLATE] = "template",
        [SHAPE_TEMPLATE_NO_TMP] = "template-tmp",
        [SHAPE_TEMPLATE_NO_PROC_RO] = "template-ro",
        [SHAPE_BARE] = "bare",
};

static void write_at(int dir, const char *name, const char *text) {
        int fd = openat(dir, name, O_WRONLY | O_CLOEXEC);
        CHECK(fd);
        CHECK(write(fd, text, strlen(text)));
        safe_close(fd);
}

/* Our own ids as root of a new user namespace (from the parent's ids: a user namespace created by us). */
static void write_maps(void) {
        write_at(AT_FDCWD, "/proc/self/uid_map", uid_map);
        write_at(AT_FDCWD, "/proc/self/setgroups", "deny");
        write_at(AT_FDCWD, "/proc/self/gid_map", gid_map);
}

static void mount_proc(const char *dir, bool read_only_entries) {
        static const char *const host_wide[] = { "sys", "sysrq-trigger", "irq", "bus", "fs", NULL };
        char path[512];

        CHECK(mount("proc", dir, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL));
        for (const char *const *e = host_wide; read_only_entries && *e; e++) {
                snprintf(path, sizeof path, "%s/%s", dir, *e);
                if (access(path, F_OK) < 0)
                        continue;
                CHECK(mount(path, path, NULL, MS_BIND | MS_REC, NULL));
                CHECK(mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL));
        }
}

/* The read-only root and the devices on mount_point, in our own mount namespace. */
static void mount_root(void) {
        static const char *const devices[] = { "full", "null", "random", "urandom", "zero", NULL };
        char options[1024], target[512], source[64];

        CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
        snprintf(options, sizeof options, "lowerdir=%s:%s", layer, empty_layer);
        CHECK(mount("overlay", mount_point, "overlay", MS_RDONLY, options));
        for (const char *const *d = devices; *d; d++) {
                snprintf(target, sizeof target, "%s/dev/%s", mount_point, *d);
                snprintf(source, sizeof source, "/dev/%s", *d);
                CHECK(mount(source, target, NULL, MS_BIND, NULL));
        }
}

/* pivot_root into mount_point, then the second user namespace that locks every mount. */
static void pivot_and_lock(void) {
        int self = open("/proc/self", O_PATH | O_DIRECTORY | O_CLOEXEC);
        CHECK(self);
        CHECK(chdir(mount_point));
        CHECK(syscall(SYS_pivot_root, ".", "."));
        CHECK(umount2(".", MNT_DETACH));
        CHECK(chdir("/"));
        CHECK(unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWCGROUP));
        write_at(self, "uid_map", "0 0 1\n");
        write_at(self, "gid_map", "0 0 1\n");
        safe_close(self);
}

static _noreturn_ void exec_true(void) {
        char *const argv[] = { (char *) "true", NULL }, *const envp[] = { NULL };
        execve("/bin/true", argv, envp);
        _exit(121);
}

static pid_t clone_flags(unsigned long flags) {
        return (pid_t) syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0);
}

/* Reaps one child; anything but a clean exit ends the benchmark. */
static void reap(pid_t pid, const char *what) {
        int status;
        if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                fprintf(stderr, "%s failed (status 0x%x)\n", what, (unsigned) status);
                _exit(EXIT_FAILURE);
        }
}

/* In a child cloned with new user and PID namespaces: the whole container, entered (the executor's shape;
 * for the template, a proc without read-only binds and no tmpfs). */
static void make_container(bool per_job) {
        char path[512];

        CHECK(unshare(CLONE_NEWNS | CLONE_NEWIPC));
        write_maps();
        mount_root();
        snprintf(path, sizeof path, "%s/proc", mount_point);
        mount_proc(path, per_job);
        if (per_job) {
                snprintf(path, sizeof path, "%s/tmp", mount_point);
                CHECK(mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, NULL));
        }
        pivot_and_lock();
}

static void job_per_job(void) {
        pid_t pid = clone_flags(CLONE_NEWUSER | CLONE_NEWPID);
        CHECK(pid);
        if (pid == 0) {
                make_container(/* per_job= */ true);
                exec_true();
        }
        reap(pid, "job");
}

/* The template: made by a process that then waits; we keep its user and mount namespaces open.  Its proc
 * has no read-only binds: the kernel lets a job mount its own proc only while one is fully visible. */
static pid_t template_make(void) {
        int pipe_fds[2];
        char path[512], byte;

        CHECK(pipe2(pipe_fds, O_CLOEXEC));
        pid_t pid = clone_flags(CLONE_NEWUSER | CLONE_NEWPID);
        CHECK(pid);
        if (pid == 0) {
                make_container(/* per_job= */ false);
                CHECK(write(pipe_fds[1], "x", 1));
                pause();
                _exit(0);
        }
        safe_close(pipe_fds[1]);
        if (read(pipe_fds[0], &byte, 1) != 1) {
                fprintf(stderr, "the template failed\n");
                _exit(EXIT_FAILURE);
        }
        safe_close(pipe_fds[0]);
        snprintf(path, sizeof path, "/proc/%d/ns/user", (int) pid);
        template_user = open(path, O_RDONLY | O_CLOEXEC);
        snprintf(path, sizeof path, "/proc/%d/ns/mnt", (int) pid);
        template_mnt = open(path, O_RDONLY | O_CLOEXEC);
        CHECK(template_user);
        CHECK(template_mnt);
        return pid;
}

static void job_template(bool tmp, bool proc_read_only_entries) {
        pid_t pid = fork();
        CHECK(pid);
        if (pid == 0) {
                CHECK(setns(template_user, CLONE_NEWUSER));
                CHECK(setns(template_mnt, CLONE_NEWNS));
                CHECK(unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP | CLONE_NEWPID));
                /* The job itself: PID 1 of the new namespace, and our parent's child. */
                pid_t job = clone_flags(CLONE_PARENT);
                CHECK(job);
                if (job == 0) {
                        mount_proc("/proc", proc_read_only_entries);
                        if (tmp)
                                CHECK(mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, NULL));
                        exec_true();
                }
                _exit(0);
        }
        reap(pid, "the job's parent");
        reap(-1, "job");
}

static void job_bare(void) {
        char path[512];
        pid_t pid = fork();
        CHECK(pid);
        if (pid == 0) {
                char *const argv[] = { (char *) "true", NULL }, *const envp[] = { NULL };
                snprintf(path, sizeof path, "%s/bin/true", layer);
                execve(path, argv, envp);
                _exit(121);
        }
        reap(pid, "job");
}

static double busy_seconds(void) {
        unsigned long long user, nice, system, idle, iowait, irq, softirq, steal;
        FILE *f = fopen("/proc/stat", "re");
        if (!f || fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &user, &nice, &system, &idle,
                         &iowait, &irq, &softirq, &steal) != 8) {
                fprintf(stderr, "cannot read /proc/stat\n");
                _exit(EXIT_FAILURE);
        }
        fclose(f);
        return (double) (user + nice + system + irq + softirq + steal) / (double) sysconf(_SC_CLK_TCK);
}

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
        char scratch[] = "/tmp/bench-container-shapes-XXXXXX", empty[64], target[64];
        unsigned n = 1000, rounds = 3;

        if (argc < 2 || argc > 4 || (argc > 2 && safe_atou(argv[2], &n) < 0) ||
            (argc > 3 && safe_atou(argv[3], &rounds) < 0) || n == 0) {
                fprintf(stderr, "usage: bench-container-shapes ROOT [N [ROUNDS]]\n");
                return EXIT_FAILURE;
        }
        layer = argv[1];
        if (!mkdtemp(scratch)) {
                fprintf(stderr, "mkdtemp: %m\n");
                return EXIT_FAILURE;
        }
        snprintf(empty, sizeof empty, "%s/empty", scratch);
        snprintf(target, sizeof target, "%s/root", scratch);
        if (mkdir(empty, 0755) < 0 || mkdir(target, 0755) < 0) {
                fprintf(stderr, "mkdir: %m\n");
                return EXIT_FAILURE;
        }
        empty_layer = empty;
        mount_point = target;
        snprintf(uid_map, sizeof uid_map, "0 %u 1\n", (unsigned) geteuid());
        snprintf(gid_map, sizeof gid_map, "0 %u 1\n", (unsigned) getegid());

        pid_t template = template_make();
        for (unsigned r = 0; r < rounds; r++)
                for (Shape s = 0; s < _SHAPE_MAX; s++) {
                        double busy = busy_seconds(), start = now();
                        for (unsigned i = 0; i < n; i++)
                                switch (s) {
                                case SHAPE_PER_JOB:
                                        job_per_job();
                                        break;
                                case SHAPE_TEMPLATE:
                                        job_template(true, true);
                                        break;
                                case SHAPE_TEMPLATE_NO_TMP:
                                        job_template(false, true);
                                        break;
                                case SHAPE_TEMPLATE_NO_PROC_RO:
                                        job_template(true, false);
                                        break;
                                case SHAPE_BARE:
                                case _SHAPE_MAX:
                                        job_bare();
                                        break;
                                }
                        printf("%-13s %.3f ms wall, %.3f ms busy CPU per job\n", shape_names[s],
                               (now() - start) * 1e3 / n, (busy_seconds() - busy) * 1e3 / n);
                        fflush(stdout);
                }
        (void) kill(template, SIGKILL);
        (void) waitpid(template, NULL, 0);
        (void) rmdir(empty);
        (void) rmdir(target);
        (void) rmdir(scratch);
        return EXIT_SUCCESS;
}
