/* SPDX-License-Identifier: MIT OR Apache-2.0 */

/* The container, driven from our own sd-event loop, on layers built from busybox-static.
 *
 *   test-executor HELPER    HELPER: the static job helper, tests/tools/job-helper (seccomp, tcp, fds, segv
 *                           checks)
 *
 * Runs as root and as an unprivileged user (tests/run-as-user.sh); skips when the machine has no busybox or
 * no user namespaces. */

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <sys/ioctl.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/fd-util.h"
#include "basic/parse-util.h"
#include "basic/process-util.h"
#include "basic/string-util.h"
#include "basic/tests.h"
#include "executor/executor.h"

#define BUSYBOX "/bin/busybox"

#define ASSERT_SYSCALL(expr)                                                                    \
        ({                                                                                      \
                if ((expr) < 0) {                                                               \
                        fprintf(stderr, "%s:%d: '%s' failed: %m\n", __FILE__, __LINE__, #expr);  \
                        abort();                                                                \
                }                                                                               \
        })

static struct {
        sd_event *event;
        Executor *x;
        char *tmp, *scratch, *layer1, *layer2, *host_rw, *host_ro, *helper;
} T;

typedef struct Job {
        ExecSpec spec;
        const char *layers[4];
        const char *args[8];
        const char *env[4];
        ExecMount mounts[8];
        ExecResult result;
        bool done;
        TextBuf tty;
        Execution *e;
} Job;

static void on_done(Execution *e, ExecResult *r, void *userdata) {
        Job *j = userdata;
        j->result = *r;
        j->done = true;
}

static void on_tty(Execution *e, const void *data, size_t size, void *userdata) {
        Job *j = userdata;
        textbuf_append_len(&j->tty, data, size);
}

static void job_init(Job *j, const char *script) {
        *j = (Job) {};
        j->layers[0] = T.layer1;
        j->args[0] = "-c";
        j->args[1] = script;
        j->env[0] = "PATH=/bin";
        j->spec = (ExecSpec) {
                .layers = j->layers,
                .n_layers = 1,
                .mounts = j->mounts,
                .network = NETWORK_DISABLED,
                .program = "sh",
                .arguments = j->args,
                .environment = j->env,
                .timeout = 30 * USEC_PER_SEC,
                .inline_limit = 1 << 20,
                .seccomp = true,
        };
}

static void job_add_mount(Job *j, MountType type, const char *mount_point) {
        j->mounts[j->spec.n_mounts++] = (ExecMount) { .type = type, .mount_point = mount_point };
}

/* proc, sys and tmp, as the test runners' default container has them. */
static void job_add_runner_mounts(Job *j) {
        job_add_mount(j, MOUNT_PROC, "/proc");
        job_add_mount(j, MOUNT_SYS, "/sys");
        job_add_mount(j, MOUNT_TMP, "/tmp");
}

static void job_start(Job *j) {
        ASSERT_OK(executor_start(T.x, &j->spec, on_done, on_tty, j, &j->e));
}

static void job_wait(Job *j) {
        while (!j->done)
                ASSERT_OK(sd_event_run(T.event, UINT64_MAX));
        j->e = execution_free(j->e);
}

static void job_done(Job *j) {
        exec_result_done(&j->result);
        textbuf_done(&j->tty);
}

static const char *job_out(const Job *j) {
        return j->result.out.data ?: "";
}

static const char *job_err(const Job *j) {
        return j->result.err.data ?: "";
}

static void job_run(Job *j) {
        job_start(j);
        job_wait(j);
        if (j->result.outcome == EXEC_ERROR)
                fprintf(stderr, "  error: %s: %s\n", j->result.error_step, strerror(j->result.error_errno));
        else if (j->result.outcome != EXEC_EXITED || j->result.status != 0)
                fprintf(stderr, "  %s %d\n  stdout: %s\n  stderr: %s\n",
                        exec_outcome_to_string(j->result.outcome), j->result.status, job_out(j), job_err(j));
}

static void assert_exited(const Job *j, int code) {
        ASSERT_EQ(j->result.outcome, EXEC_EXITED);
        ASSERT_EQ(j->result.status, code);
}

/* Run, expect success with exactly this output, and clean up. */
static void job_run_expect(Job *j, const char *out) {
        job_run(j);
        assert_exited(j, 0);
        ASSERT_STREQ(job_out(j), out);
        job_done(j);
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        return 0;
}

/* Run the loop for a while, for jobs that must be seen running. */
static void loop_for(usec_t usec) {
        usec_t until = now(CLOCK_MONOTONIC) + usec;
        sd_event_source *s = NULL;

        ASSERT_OK(sd_event_add_time(T.event, &s, CLOCK_MONOTONIC, until, 0, on_timer, NULL));
        while (now(CLOCK_MONOTONIC) < until)
                ASSERT_OK(sd_event_run(T.event, UINT64_MAX));
        sd_event_source_disable_unref(s);
}

/* Is a process with exactly this argv alive anywhere on the host? */
static bool host_has_process(const char *arg0, const char *arg1) {
        DIR *d = opendir("/proc");
        struct dirent *de;
        bool found = false;
        size_t l0 = strlen(arg0) + 1, l1 = strlen(arg1) + 1;

        ASSERT_TRUE(d);
        while (!found && (de = readdir(d))) {
                _cleanup_free_ char *path = NULL, *cmdline = NULL;
                size_t size;

                if (de->d_name[0] < '0' || de->d_name[0] > '9')
                        continue;
                path = strjoin("/proc/", de->d_name, "/cmdline");
                ASSERT_TRUE(path);
                if (read_full_file(path, 4096, &cmdline, &size) < 0)
                        continue;
                found = size == l0 + l1 && memcmp(cmdline, arg0, l0) == 0 &&
                        memcmp(cmdline + l0, arg1, l1) == 0;
        }
        closedir(d);
        return found;
}

static void write_file(const char *dir, const char *name, const char *content) {
        _cleanup_free_ char *p = strjoin(dir, "/", name);
        ASSERT_TRUE(p);
        ASSERT_OK(write_file_atomic(p, content, strlen(content), 0644));
}

static void make_dirs(const char *dir, const char *const *names) {
        for (const char *const *n = names; *n; n++) {
                _cleanup_free_ char *p = strjoin(dir, "/", *n);
                ASSERT_TRUE(p);
                ASSERT_SYSCALL((mkdir(p, 0755)));
        }
}

static void copy_file(const char *from, const char *to) {
        _cleanup_free_ char *data = NULL;
        size_t size;

        ASSERT_OK(read_full_file(from, 64 << 20, &data, &size));
        ASSERT_OK(write_file_atomic(to, data, size, 0755));
}

static bool path_exists(const char *dir, const char *name) {
        _cleanup_free_ char *p = strjoin(dir, "/", name);
        ASSERT_TRUE(p);
        return access(p, F_OK) == 0;
}

static void build_layers(void) {
        static const char *const applets[] = {
                "sh", "echo", "cat", "ls", "id", "true", "false", "sleep", "kill", "yes", "head", "tr", "wc",
                "pwd", "tty", "stty", "test", "grep", "cut", "setsid", "touch", "stat", "sed", "readlink",
                NULL,
        };
        static const char *const dirs1[] = {
                "bin", "opt", "opt/bin", "proc", "sys", "tmp", "dev", "dev/pts", "dev/shm", "dev/mqueue",
                "mnt", "mnt/ro", "mnt/rw", "work", "data", NULL,
        };
        static const char *const devs[] = { "null", "zero", "full", "random", "urandom", "tty", "fuse",
                                            NULL };
        static const char *const dirs2[] = { "data", NULL };
        _cleanup_free_ char *bb = NULL, *helper = NULL;

        make_dirs(T.layer1, dirs1);
        bb = strjoin(T.layer1, "/bin/busybox");
        helper = strjoin(T.layer1, "/bin/helper");
        ASSERT_TRUE(bb && helper);
        copy_file(BUSYBOX, bb);
        copy_file(T.helper, helper);
        for (const char *const *a = applets; *a; a++) {
                _cleanup_free_ char *l = strjoin(T.layer1, "/bin/", *a);
                ASSERT_TRUE(l);
                ASSERT_SYSCALL((symlink("busybox", l)));
        }
        {
                _cleanup_free_ char *l = strjoin(T.layer1, "/opt/bin/hello");
                ASSERT_TRUE(l);
                ASSERT_SYSCALL((symlink("/bin/busybox", l)));
        }
        for (const char *const *d = devs; *d; d++) {
                _cleanup_free_ char *n = strjoin("dev/", *d);
                ASSERT_TRUE(n);
                write_file(T.layer1, n, "");
        }
        write_file(T.layer1, "data/which", "layer1\n");
        write_file(T.layer1, "data/only1", "only in layer1\n");

        make_dirs(T.layer2, dirs2);
        write_file(T.layer2, "data/which", "layer2\n");

        write_file(T.host_ro, "hostfile", "from the host\n");
}

TEST(exit_codes) {
        Job j;

        job_init(&j, "exit 3");
        job_run(&j);
        assert_exited(&j, 3);
        ASSERT_TRUE(j.result.setup_usec > 0);
        job_done(&j);

        job_init(&j, "echo hello; echo world >&2");
        job_run(&j);
        assert_exited(&j, 0);
        ASSERT_STREQ(job_out(&j), "hello\n");
        ASSERT_STREQ(job_err(&j), "world\n");
        ASSERT_EQ(j.result.out.truncated, 0);
        job_done(&j);

        /* run time is measured from the execve */
        job_init(&j, "sleep 0.3");
        job_run(&j);
        assert_exited(&j, 0);
        ASSERT_TRUE(j.result.run_usec >= 300 * USEC_PER_MSEC);
        ASSERT_TRUE(j.result.setup_usec < 5 * USEC_PER_SEC);
        job_done(&j);
}

TEST(signals) {
        Job j;

        job_init(&j, NULL);
        j.spec.program = "/bin/helper";
        j.args[0] = "segv";
        job_run(&j);
        ASSERT_EQ(j.result.outcome, EXEC_SIGNALED);
        ASSERT_EQ(j.result.status, SIGSEGV);
        job_done(&j);

        job_init(&j, "echo started; exec sleep 100");
        job_start(&j);
        loop_for(200 * USEC_PER_MSEC);
        ASSERT_OK(execution_kill(j.e));
        job_wait(&j);
        ASSERT_EQ(j.result.outcome, EXEC_SIGNALED);
        ASSERT_EQ(j.result.status, SIGKILL);
        ASSERT_STREQ(job_out(&j), "started\n");
        job_done(&j);

        /* Killed before it even exists (the zygote has not cloned it yet). */
        job_init(&j, "exec sleep 100");
        job_start(&j);
        ASSERT_OK(execution_kill(j.e));
        job_wait(&j);
        ASSERT_EQ(j.result.outcome, EXEC_SIGNALED);
        ASSERT_EQ(j.result.status, SIGKILL);
        job_done(&j);
}

TEST(timeout) {
        char script[256], arg[32];
        unsigned n = 100000 + (unsigned) getpid() % 100000;
        Job j;

        job_init(&j, "echo before; trap '' TERM; sleep 100");
        j.spec.timeout = USEC_PER_SEC; /* long enough for the first output on a loaded machine */
        job_run(&j);
        ASSERT_EQ(j.result.outcome, EXEC_TIMED_OUT);
        ASSERT_STREQ(job_out(&j), "before\n");
        job_done(&j);

        /* Children that ignore SIGTERM die too, and none is left on the host. */
        snprintf(arg, sizeof arg, "%u", n);
        snprintf(script, sizeof script, "(trap '' TERM; exec sleep %s) & echo started; wait", arg);
        job_init(&j, script);
        j.spec.timeout = USEC_PER_SEC; /* long enough for the first output on a loaded machine */
        job_run(&j);
        ASSERT_EQ(j.result.outcome, EXEC_TIMED_OUT);
        ASSERT_STREQ(job_out(&j), "started\n");
        ASSERT_FALSE(host_has_process("sleep", arg));
        job_done(&j);
}

TEST(orphans_die_with_the_job) {
        char script[256], arg[32];
        Job j;

        /* A double fork: the sleep is reparented to PID 1, keeps stdout open, and would outlive the job. */
        snprintf(arg, sizeof arg, "%u", 200000 + (unsigned) getpid() % 100000);
        snprintf(script, sizeof script, "(sleep %s &); echo parent done", arg);
        job_init(&j, script);
        job_run(&j);
        assert_exited(&j, 0);
        ASSERT_STREQ(job_out(&j), "parent done\n");
        ASSERT_TRUE(j.result.run_usec < 10 * USEC_PER_SEC);
        ASSERT_FALSE(host_has_process("sleep", arg));
        job_done(&j);
}

/* The sleep job of free_while_running is gone, and was never reported. */
static void assert_sleep_gone(const Job *j, const char *arg) {
        ASSERT_FALSE(j->done);
        ASSERT_FALSE(host_has_process("sleep", arg));
}

/* Free the executor, which kills and reaps what is left, synchronously, and make a new one. */
static void executor_renew(void) {
        T.x = executor_free(T.x);
        ASSERT_OK(executor_new(T.event, T.scratch, &T.x));
}

TEST(free_while_running) {
        char arg[32];
        Job j;

        snprintf(arg, sizeof arg, "%u", 300000 + (unsigned) getpid() % 100000);
        job_init(&j, NULL);
        j.spec.program = "sleep";
        j.args[0] = arg;
        job_start(&j);
        loop_for(200 * USEC_PER_MSEC);
        ASSERT_TRUE(host_has_process("sleep", arg));
        j.e = execution_free(j.e);
        ASSERT_EQ(executor_n_orphans(T.x), 1);
        while (executor_n_orphans(T.x) > 0)
                ASSERT_OK(sd_event_run(T.event, UINT64_MAX));
        assert_sleep_gone(&j, arg);

        /* Freed before the zygote cloned it: killed and reaped as soon as it exists... */
        job_start(&j);
        j.e = execution_free(j.e);
        while (executor_n_orphans(T.x) == 0)
                ASSERT_OK(sd_event_run(T.event, UINT64_MAX));
        while (executor_n_orphans(T.x) > 0)
                ASSERT_OK(sd_event_run(T.event, UINT64_MAX));
        assert_sleep_gone(&j, arg);
        /* ... or by executor_free(). */
        job_start(&j);
        j.e = execution_free(j.e);
        executor_renew();
        assert_sleep_gone(&j, arg);

        /* executor_free() reaps what is left, synchronously. */
        job_start(&j);
        loop_for(200 * USEC_PER_MSEC);
        ASSERT_TRUE(host_has_process("sleep", arg));
        j.e = execution_free(j.e);
        executor_renew();
        assert_sleep_gone(&j, arg);

        /* ... and running jobs too; their Executions stay valid until freed. */
        job_start(&j);
        loop_for(200 * USEC_PER_MSEC);
        executor_renew();
        assert_sleep_gone(&j, arg);
        j.e = execution_free(j.e);
}

TEST(prepared_ahead) {
        char arg[32];
        Job j;

        /* Set up, but nothing runs until released; through the zygote (a pooled network namespace) and
         * cloned by us (network local). */
        static const Network networks[] = { NETWORK_DISABLED, NETWORK_LOCAL };
        for (size_t i = 0; i < ELEMENTSOF(networks); i++) {
                job_init(&j, "echo ran");
                j.spec.network = networks[i];
                j.spec.gated = true;
                job_start(&j);
                loop_for(300 * USEC_PER_MSEC);
                ASSERT_FALSE(j.done);
                ASSERT_OK(execution_release(j.e));
                ASSERT_OK(execution_release(j.e)); /* twice is harmless */
                job_wait(&j);
                assert_exited(&j, 0);
                ASSERT_STREQ(job_out(&j), "ran\n");
                ASSERT_TRUE(j.result.setup_usec < 300 * USEC_PER_MSEC); /* counted from the release */
                job_done(&j);
        }

        /* A job that waits holds nothing of the others: one started just before it ends while it waits.
         * (The zygote clones the second while the first's pipe ends are still in the fd table they
         * share.) */
        Job first;
        job_init(&first, "echo first");
        job_init(&j, "echo second");
        j.spec.gated = true;
        job_start(&first);
        job_start(&j);
        for (usec_t until = now(CLOCK_MONOTONIC) + 10 * USEC_PER_SEC;
             !first.done && now(CLOCK_MONOTONIC) < until;)
                loop_for(10 * USEC_PER_MSEC);
        ASSERT_TRUE(first.done);
        ASSERT_FALSE(j.done);
        first.e = execution_free(first.e);
        assert_exited(&first, 0);
        ASSERT_STREQ(job_out(&first), "first\n");
        job_done(&first);
        ASSERT_OK(execution_release(j.e));
        job_wait(&j);
        ASSERT_STREQ(job_out(&j), "second\n");
        job_done(&j);

        /* The timeout starts at the release... */
        job_init(&j, "echo ok");
        j.spec.gated = true;
        j.spec.timeout = 200 * USEC_PER_MSEC;
        job_start(&j);
        loop_for(500 * USEC_PER_MSEC);
        ASSERT_FALSE(j.done);
        ASSERT_OK(execution_release(j.e));
        job_wait(&j);
        assert_exited(&j, 0);
        ASSERT_STREQ(job_out(&j), "ok\n");
        job_done(&j);
        /* ... and still applies after it. */
        job_init(&j, "echo started; sleep 100");
        j.spec.gated = true;
        j.spec.timeout = USEC_PER_SEC;
        job_start(&j);
        ASSERT_OK(execution_release(j.e));
        job_wait(&j);
        ASSERT_EQ(j.result.outcome, EXEC_TIMED_OUT);
        ASSERT_STREQ(job_out(&j), "started\n");
        job_done(&j);

        /* A job whose container cannot be made fails without being released. */
        job_init(&j, "echo never");
        j.spec.gated = true;
        j.spec.working_directory = "/no/such/directory";
        job_run(&j);
        ASSERT_EQ(j.result.outcome, EXEC_ERROR);
        ASSERT_TRUE(strstr(j.result.error_step, "working directory"));
        job_done(&j);

        /* Freed while it waits: reaped, never run, never reported. */
        snprintf(arg, sizeof arg, "%u", 400000 + (unsigned) getpid() % 100000);
        job_init(&j, NULL);
        j.spec.program = "sleep";
        j.args[0] = arg;
        j.spec.gated = true;
        job_start(&j);
        loop_for(200 * USEC_PER_MSEC);
        ASSERT_FALSE(host_has_process("sleep", arg));
        j.e = execution_free(j.e);
        while (executor_n_orphans(T.x) > 0)
                ASSERT_OK(sd_event_run(T.event, UINT64_MAX));
        assert_sleep_gone(&j, arg);
        /* Killed while it waits: reported as killed. */
        job_start(&j);
        loop_for(100 * USEC_PER_MSEC);
        ASSERT_OK(execution_kill(j.e));
        job_wait(&j);
        ASSERT_EQ(j.result.outcome, EXEC_SIGNALED);
        ASSERT_EQ(j.result.status, SIGKILL);
        ASSERT_FALSE(host_has_process("sleep", arg));
        job_done(&j);
}

/* The mount namespaces in our fd table ("mnt:[INODE]"), as one string. */
static char *mount_namespace_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        TextBuf b = {};
        char *s = NULL;
        struct dirent *de;

        ASSERT_TRUE(d);
        while ((de = readdir(d))) {
                char path[300], link[64];
                ssize_t n;

                snprintf(path, sizeof path, "/proc/self/fd/%s", de->d_name);
                n = readlink(path, link, sizeof link - 1);
                if (n <= 0)
                        continue;
                link[n] = 0;
                if (startswith(link, "mnt:[")) {
                        textbuf_append(&b, link);
                        textbuf_append_char(&b, ' ');
                }
        }
        closedir(d);
        ASSERT_OK(textbuf_steal(&b, &s));
        return s;
}

TEST(mount_namespace_held) {
        _cleanup_free_ char *before = mount_namespace_fds(), *running = NULL, *expected = NULL;
        Job j;

        /* From its release to its end, the executor holds the job's mount namespace, so that the job's
         * exit does not wait to free it; then a thread of the executor closes it.  (Linux 6.11 and later:
         * on older kernels there is no PIDFD_GET_MNT_NAMESPACE, and nothing to check.) */
        _cleanup_close_ int self = pidfd_open(getpid(), 0), ns = -EBADF;
        ASSERT_TRUE(self >= 0);
        ns = ioctl(self, _IO(0xFF, 3) /* PIDFD_GET_MNT_NAMESPACE */, 0);
        if (ns < 0 && IN_SET(errno, ENOTTY, EINVAL)) {
                fprintf(stderr, "no PIDFD_GET_MNT_NAMESPACE here: not checked\n");
                return;
        }
        ASSERT_TRUE(ns >= 0);
        ns = safe_close(ns);
        free(before);
        before = mount_namespace_fds();

        job_init(&j, "readlink /proc/self/ns/mnt; sleep 0.5");
        job_add_runner_mounts(&j);
        j.spec.gated = true;
        job_start(&j);
        loop_for(200 * USEC_PER_MSEC);
        ASSERT_OK(execution_release(j.e));
        loop_for(150 * USEC_PER_MSEC);
        ASSERT_FALSE(j.done);
        running = mount_namespace_fds();
        job_wait(&j);
        assert_exited(&j, 0);
        int n = (int) strcspn(job_out(&j), "\n");
        ASSERT_TRUE(asprintf(&expected, "%s%.*s ", before, n, job_out(&j)) > 0);
        ASSERT_STREQ(running, expected);
        for (usec_t until = now(CLOCK_MONOTONIC) + 5 * USEC_PER_SEC;; loop_for(10 * USEC_PER_MSEC)) {
                _cleanup_free_ char *after = mount_namespace_fds();
                if (streq(after, before))
                        break;
                ASSERT_TRUE(now(CLOCK_MONOTONIC) < until);
        }
        job_done(&j);
}

TEST(concurrent_jobs) {
        Job jobs[36];

        /* They share the executor's scratch directory, each in its own mount namespace.  A pool as large as
         * that: more jobs are handed to the zygote at once than a datagram socket queues. */
        executor_set_netns_pool_max(T.x, ELEMENTSOF(jobs));
        for (size_t i = 0; i < ELEMENTSOF(jobs); i++) {
                job_init(&jobs[i], "sleep 0.2; echo $FOO > /tmp/x; cat /tmp/x");
                jobs[i].env[1] = i % 2 ? "FOO=odd" : "FOO=even";
                jobs[i].spec.writable = i % 3 == 0;
                jobs[i].spec.network = (Network) (i % _NETWORK_MAX);
                job_add_mount(&jobs[i], MOUNT_TMP, "/tmp");
                job_start(&jobs[i]);
        }
        for (size_t i = 0; i < ELEMENTSOF(jobs); i++) {
                job_wait(&jobs[i]);
                assert_exited(&jobs[i], 0);
                ASSERT_STREQ(job_out(&jobs[i]), i % 2 ? "odd\n" : "even\n");
                job_done(&jobs[i]);
        }
        executor_set_netns_pool_max(T.x, 4);
        /* Each job's first process had a stack of its own; as many as may be are kept for the next. */
        ASSERT_EQ(executor_n_child_stacks_kept(), EXECUTOR_CHILD_STACKS_KEPT_MAX);
        Job again;
        job_init(&again, "echo again");
        job_start(&again);
        ASSERT_EQ(executor_n_child_stacks_kept(), EXECUTOR_CHILD_STACKS_KEPT_MAX - 1);
        job_wait(&again);
        assert_exited(&again, 0);
        job_done(&again);
        ASSERT_EQ(executor_n_child_stacks_kept(), EXECUTOR_CHILD_STACKS_KEPT_MAX);
}

TEST(output_limits) {
        Job j;

        job_init(&j, "yes abcdefghi | head -c 5000; yes xyz | head -c 3000 >&2");
        j.spec.inline_limit = 1000;
        job_run(&j);
        assert_exited(&j, 0);
        ASSERT_EQ(j.result.out.size, 1000);
        ASSERT_EQ(j.result.out.truncated, 4000);
        ASSERT_EQ(j.result.err.size, 1000);
        ASSERT_EQ(j.result.err.truncated, 2000);
        for (size_t i = 0; i < 1000; i++) {
                ASSERT_EQ(j.result.out.data[i], "abcdefghi\n"[i % 10]);
                ASSERT_EQ(j.result.err.data[i], "xyz\n"[i % 4]);
        }
        job_done(&j);

        /* Larger than a pipe's buffer, and kept whole. */
        job_init(&j, "yes 0123456789abcdef | head -c 300000");
        job_run(&j);
        assert_exited(&j, 0);
        ASSERT_EQ(j.result.out.size, 300000);
        ASSERT_EQ(j.result.out.truncated, 0);
        for (size_t i = 0; i < 300000; i++)
                ASSERT_EQ(j.result.out.data[i], "0123456789abcdef\n"[i % 17]);
        job_done(&j);

        job_init(&j, "echo something");
        j.spec.inline_limit = 0;
        job_run(&j);
        assert_exited(&j, 0);
        ASSERT_EQ(j.result.out.size, 0);
        ASSERT_EQ(j.result.out.truncated, 10);
        job_done(&j);
}

TEST(process_environment) {
        _cleanup_close_ int leaked = -EBADF;
        Job j;

        /* PID 1, session and process-group leader, no controlling terminal (tty_nr 0). */
        job_init(&j, "echo $$; cat /proc/1/stat");
        job_add_mount(&j, MOUNT_PROC, "/proc");
        job_run(&j);
        assert_exited(&j, 0);
        ASSERT_TRUE(startswith(job_out(&j), "1\n1 (")); /* sh execs cat in its place */
        {
                _cleanup_strv_free_ char **f = NULL;
                ASSERT_OK(strv_split_whitespace(strchr(job_out(&j), '\n') + 1, &f));
                ASSERT_TRUE(strv_length(f) > 6);
                ASSERT_STREQ(f[3], "0"); /* ppid */
                ASSERT_STREQ(f[4], "1"); /* process group */
                ASSERT_STREQ(f[5], "1"); /* session */
                ASSERT_STREQ(f[6], "0"); /* tty_nr */
        }
        job_done(&j);

        /* Every fd above 2 closed, even one the worker left inheritable. */
        leaked = fcntl(STDERR_FILENO, F_DUPFD, 20);
        ASSERT_TRUE(leaked >= 20);
        job_init(&j, NULL);
        j.spec.program = "/bin/helper";
        j.args[0] = "fds";
        job_add_mount(&j, MOUNT_PROC, "/proc");
        job_run_expect(&j, "0 1 2\n");

        /* Standard input is empty. */
        job_init(&j, "cat; echo rc=$?");
        j.spec.timeout = 5 * USEC_PER_SEC;
        job_run_expect(&j, "rc=0\n");

        /* Environment, user and group, working directory. */
        job_init(&j, "echo $FOO; id -u; id -g; pwd");
        j.env[1] = "FOO=bar";
        j.spec.user = 1234;
        j.spec.group = 5678;
        j.spec.working_directory = "/work";
        job_run_expect(&j, "bar\n1234\n5678\n/work\n");

        job_init(&j, "id -u; id -g");
        job_run(&j);
        ASSERT_STREQ(job_out(&j), "0\n0\n");
        job_done(&j);

        /* The hostname is the host's. */
        {
                char host[256] = {};
                ASSERT_SYSCALL((gethostname(host, sizeof host - 1)));
                job_init(&j, "cat /proc/sys/kernel/hostname");
                job_add_mount(&j, MOUNT_PROC, "/proc");
                job_run(&j);
                assert_exited(&j, 0);
                ASSERT_TRUE(strneq(job_out(&j), host, strlen(host)));
                job_done(&j);
        }
}

TEST(path_search) {
        Job j;

        /* In PATH, after a directory that does not exist; argv[0] is the program as written. */
        job_init(&j, NULL);
        j.env[0] = "PATH=/nonexistent:/opt/bin";
        j.spec.program = "hello";
        j.args[0] = NULL;
        job_run(&j);
        /* busybox looks up the applet by argv[0]: "hello" is none, which proves argv[0] was kept as
         * written */
        ASSERT_EQ(j.result.outcome, EXEC_EXITED);
        ASSERT_TRUE(strstr(job_err(&j), "hello: applet not found"));
        job_done(&j);

        /* Without PATH: /bin:/usr/bin. */
        job_init(&j, NULL);
        j.env[0] = NULL;
        j.spec.program = "echo";
        j.args[0] = "found";
        job_run_expect(&j, "found\n");

        job_init(&j, "echo $0");
        j.spec.program = "/bin/sh";
        job_run(&j);
        ASSERT_STREQ(job_out(&j), "/bin/sh\n");
        job_done(&j);
}

TEST(root_file_system) {
        const char *layers2[] = { T.layer1, T.layer2 };
        Job j;

        /* Read-only by default. */
        job_init(&j, "echo x > /newfile");
        job_run(&j);
        ASSERT_EQ(j.result.outcome, EXEC_EXITED);
        ASSERT_TRUE(j.result.status != 0);
        ASSERT_TRUE(strstr(job_err(&j), "Read-only file system"));
        job_done(&j);

        /* Writable: works, and leaves the layers alone. */
        job_init(&j, "echo x > /newfile && cat /newfile && echo changed > /data/which && cat /data/which");
        j.spec.writable = true;
        job_run(&j);
        assert_exited(&j, 0);
        ASSERT_STREQ(job_out(&j), "x\nchanged\n");
        ASSERT_FALSE(path_exists(T.layer1, "newfile"));
        job_done(&j);

        /* Later layers cover earlier ones, read-only and writable. */
        for (int writable = 0; writable < 2; writable++) {
                job_init(&j, "cat /data/which /data/only1");
                memcpy(j.layers, layers2, sizeof layers2);
                j.spec.n_layers = 2;
                j.spec.writable = writable;
                job_run_expect(&j, "layer2\nonly in layer1\n");
        }

        /* Many layers: more than one fsconfig() string can name, so they are added one by one. */
        {
                const char *many[40];
                char *dirs[40] = {};
                Job k;

                for (size_t i = 0; i < ELEMENTSOF(many); i++) {
                        char name[32], content[32];
                        snprintf(name, sizeof name, "/many-%zu", i);
                        snprintf(content, sizeof content, "%zu\n", i);
                        dirs[i] = strjoin(T.tmp, name);
                        ASSERT_TRUE(dirs[i]);
                        ASSERT_SYSCALL(mkdir(dirs[i], 0755));
                        write_file(dirs[i], "which", content);
                        many[i] = i == 0 ? T.layer1 : dirs[i];
                }
                job_init(&k, "cat /which /data/which");
                k.spec.layers = many;
                k.spec.n_layers = ELEMENTSOF(many);
                job_run_expect(&k, "39\nlayer1\n");
                for (size_t i = 0; i < ELEMENTSOF(many); i++)
                        free(dirs[i]);
        }

        /* Only the layers are visible. */
        job_init(&j, "ls /; test -e /etc/passwd || echo no-passwd");
        job_run_expect(&j, "bin\ndata\ndev\nmnt\nopt\nproc\nsys\ntmp\nwork\nno-passwd\n");
}

TEST(mounts) {
        _cleanup_free_ char *host_file = NULL, *content = NULL;
        Job j;

        job_init(&j, "cat /proc/self/mounts; echo hi > /tmp/x && cat /tmp/x; ls /sys/class/net; "
                     "stat -c %a /dev/pts/ptmx; echo /proc/[0-9]*");
        job_add_mount(&j, MOUNT_TMP, "/tmp");
        job_add_mount(&j, MOUNT_PROC, "/proc");
        job_add_mount(&j, MOUNT_SYS, "/sys");
        job_add_mount(&j, MOUNT_DEVPTS, "/dev/pts");
        job_add_mount(&j, MOUNT_MQUEUE, "/dev/mqueue");
        job_run(&j);
        assert_exited(&j, 0);
        ASSERT_TRUE(strstr(job_out(&j), "\ntmpfs /tmp tmpfs "));
        ASSERT_TRUE(strstr(job_out(&j), "\nproc /proc proc "));
        ASSERT_TRUE(strstr(job_out(&j), "\nsysfs /sys sysfs "));
        ASSERT_TRUE(strstr(job_out(&j), "\ndevpts /dev/pts devpts "));
        ASSERT_TRUE(strstr(job_out(&j), "ptmxmode=666"));
        ASSERT_TRUE(strstr(job_out(&j), "\nmqueue /dev/mqueue mqueue "));
        ASSERT_TRUE(strstr(job_out(&j), "\nhi\nlo\n666\n"));
        /* Only the job's own processes: */
        ASSERT_TRUE(strstr(job_out(&j), "\n/proc/1\n"));
        job_done(&j);

        /* Bind mounts: read-write lands on the host, read-only refuses writes. */
        job_init(&j, "cat /mnt/ro/hostfile; echo from-job > /mnt/rw/new && echo rw-ok; "
                     "echo x > /mnt/ro/new || echo ro-refused");
        j.mounts[0] = (ExecMount) { .type = MOUNT_BIND, .mount_point = "/mnt/ro", .source = T.host_ro,
                                    .read_only = true };
        j.mounts[1] = (ExecMount) { .type = MOUNT_BIND, .mount_point = "/mnt/rw", .source = T.host_rw };
        j.spec.n_mounts = 2;
        job_run(&j);
        assert_exited(&j, 0);
        ASSERT_STREQ(job_out(&j), "from the host\nrw-ok\nro-refused\n");
        ASSERT_TRUE(strstr(job_err(&j), "Read-only file system"));
        host_file = strjoin(T.host_rw, "/new");
        ASSERT_OK(read_full_file(host_file, 4096, &content, NULL));
        ASSERT_STREQ(content, "from-job\n");
        ASSERT_FALSE(path_exists(T.host_ro, "new"));
        job_done(&j);

        /* Devices. */
        job_init(&j,
                 "echo x > /dev/null && head -c 3 /dev/zero | wc -c && head -c 5 /dev/urandom | wc -c && "
                 "head -c 2 /dev/random | wc -c && test -d /dev/shm && echo shm; echo x > /dev/full");
        j.mounts[0] = (ExecMount) {
                .type = MOUNT_DEVICES,
                .devices = 1U << DEVICE_NULL | 1U << DEVICE_ZERO | 1U << DEVICE_FULL | 1U << DEVICE_RANDOM |
                           1U << DEVICE_URANDOM | 1U << DEVICE_TTY | 1U << DEVICE_SHM |
                           (access("/dev/fuse", F_OK) == 0 ? 1U << DEVICE_FUSE : 0),
        };
        j.spec.n_mounts = 1;
        job_run(&j);
        ASSERT_STREQ(job_out(&j), "3\n5\n2\nshm\n");
        ASSERT_TRUE(strstr(job_err(&j), "No space left on device"));
        job_done(&j);

        /* Mounts apply in order: a tmpfs, then a bind inside it is refused for lack of a mount point. */
        job_init(&j, "true");
        job_add_mount(&j, MOUNT_TMP, "/mnt");
        j.mounts[1] = (ExecMount) { .type = MOUNT_BIND, .mount_point = "/mnt/rw", .source = T.host_rw };
        j.spec.n_mounts = 2;
        job_run(&j);
        ASSERT_EQ(j.result.outcome, EXEC_ERROR);
        ASSERT_EQ(j.result.error_errno, ENOENT);
        ASSERT_TRUE(strstr(j.result.error_step, "/mnt/rw"));
        job_done(&j);
}

static void assert_exec_error(Job *j, int error, const char *needle) {
        job_run(j);
        ASSERT_EQ(j->result.outcome, EXEC_ERROR);
        ASSERT_EQ(j->result.error_errno, error);
        ASSERT_TRUE(j->result.error_step);
        if (!strstr(j->result.error_step, needle)) {
                fprintf(stderr, "'%s' does not mention '%s'\n", j->result.error_step, needle);
                abort();
        }
        job_done(j);
}

TEST(errors) {
        _cleanup_free_ char *missing = strjoin(T.tmp, "/does-not-exist");
        Job j;

        job_init(&j, NULL);
        j.spec.program = "no-such-program";
        assert_exec_error(&j, ENOENT, "no-such-program");

        job_init(&j, NULL);
        j.spec.program = "/bin/no-such-program";
        assert_exec_error(&j, ENOENT, "/bin/no-such-program");

        job_init(&j, NULL);
        j.spec.program = "/data/which"; /* not executable */
        assert_exec_error(&j, EACCES, "/data/which");

        job_init(&j, "true");
        job_add_mount(&j, MOUNT_TMP, "/no-such-dir");
        assert_exec_error(&j, ENOENT, "/no-such-dir");

        job_init(&j, "true");
        job_add_mount(&j, MOUNT_TMP, "/");
        assert_exec_error(&j, EINVAL, "root directory");

        job_init(&j, "true");
        j.mounts[0] = (ExecMount) { .type = MOUNT_BIND, .mount_point = "/mnt/rw", .source = missing };
        j.spec.n_mounts = 1;
        assert_exec_error(&j, ENOENT, missing);

        job_init(&j, "true");
        job_add_mount(&j, MOUNT_SYS, "/sys");
        j.spec.network = NETWORK_LOCAL;
        assert_exec_error(&j, EPERM, "network 'local'");

        job_init(&j, "true");
        j.spec.working_directory = "/no-such-dir";
        assert_exec_error(&j, ENOENT, "/no-such-dir");

        job_init(&j, "true");
        j.layers[0] = missing;
        assert_exec_error(&j, ENOENT, missing);
}

TEST(mount_lock) {
        const bool root = geteuid() == 0;
        _cleanup_free_ char *expected = NULL;
        Job j;

        /* A job that runs as the host's root may write any sysctl (the kernel checks the uid only), so the
         * host's entries of its proc are read-only; and with a read-only bind mount (or, as the host's root,
         * a proc or sys), none of its mounts can be undone or made writable, although it has every
         * capability in its namespaces.  It can still mount over them.  A job that runs as another user
         * gets no read-only entries (/proc/sys is then no mount of its own), as the kernel refuses it
         * every write there. */
        job_init(&j, "v=$(cat /proc/sys/vm/stat_interval); helper sysctl /proc/sys/vm/stat_interval $v; "
                     "helper umount /proc/sys; helper remount-rw /proc/sys; "
                     "helper sysctl /proc/sys/vm/stat_interval $v; helper umount /proc; "
                     "helper remount-rw /sys; helper umount /sys; "
                     "helper remount-rw /mnt/ro; helper umount /mnt/ro; helper write /mnt/ro/new; "
                     "helper tmpfs /tmp && echo hi > /tmp/x && cat /tmp/x; "
                     "grep -c ' /proc/sys proc ro,' /proc/self/mounts; echo $$; id -u; id -g");
        job_add_runner_mounts(&j);
        j.mounts[j.spec.n_mounts++] = (ExecMount) { .type = MOUNT_BIND, .mount_point = "/mnt/ro",
                                                    .source = T.host_ro, .read_only = true };
        expected = strjoin(root ? "sysctl: EROFS\numount: EINVAL\nremount-rw: EPERM\nsysctl: EROFS\n"
                                : "sysctl: EACCES\numount: EINVAL\nremount-rw: EINVAL\nsysctl: EACCES\n",
                           "umount: EINVAL\n"
                           "remount-rw: EPERM\numount: EINVAL\n"
                           "remount-rw: EPERM\numount: EINVAL\nwrite: EROFS\n"
                           "tmpfs: ok\nhi\n", root ? "1" : "0", "\n1\n0\n0\n");
        ASSERT_TRUE(expected);
        job_run_expect(&j, expected);
        ASSERT_FALSE(path_exists(T.host_ro, "new"));

        /* The runners' default container (proc, sys, tmp, devices; no read-only bind): as the host's root
         * the job is locked as above.  As another user it is not (its proc can be unmounted), and needs not
         * be: whatever it remounts, it may write no sysctl, no IRQ setting, no sysfs attribute (of the host
         * or of the pooled network namespace), and nothing in its read-only root. */
        job_init(&j, "v=$(cat /proc/sys/vm/stat_interval); helper sysctl /proc/sys/vm/stat_interval $v; "
                     "helper write /proc/irq/default_smp_affinity; "
                     "helper remount-rw /sys >/dev/null; helper remount-sb-rw /sys >/dev/null; "
                     "helper write /sys/kernel/mm/transparent_hugepage/enabled; "
                     "helper write /sys/class/net/lo/tx_queue_len; "
                     "helper remount-rw / >/dev/null; helper remount-sb-rw / >/dev/null; helper write /new; "
                     "helper umount /proc");
        job_add_runner_mounts(&j);
        j.mounts[j.spec.n_mounts++] = (ExecMount) { .type = MOUNT_DEVICES, .devices = 1U << DEVICE_NULL };
        job_run_expect(&j, root ? "sysctl: EROFS\nwrite: EROFS\nwrite: EROFS\nwrite: EROFS\n"
                                  "write: EROFS\numount: EINVAL\n"
                                : "sysctl: EACCES\nwrite: EACCES\nwrite: EACCES\nwrite: EACCES\n"
                                  "write: EROFS\numount: ok\n");

        /* The ids are the job's, a writable root stays writable, bind mounts keep read-write. */
        job_init(&j, "id -u; id -g; echo x > /new && cat /new; "
                     "echo from-job > /mnt/rw/locked && echo rw-ok; grep -c '^NSpid:.1$' /proc/1/status");
        job_add_mount(&j, MOUNT_PROC, "/proc");
        j.mounts[j.spec.n_mounts++] = (ExecMount) { .type = MOUNT_BIND, .mount_point = "/mnt/rw",
                                                    .source = T.host_rw };
        j.spec.user = 1234;
        j.spec.group = 5678;
        j.spec.writable = true;
        job_run_expect(&j, "1234\n5678\nx\nrw-ok\n1\n");
}

static char *interfaces(const char *proc_net_dev) {
        _cleanup_strv_free_ char **l = NULL;
        const char *p = proc_net_dev;

        /* Two header lines, then "  name: counters...", up to the first line without a colon. */
        for (int i = 0; i < 2 && p; i++)
                p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL;
        while (p && *p) {
                const char *colon = strchr(p, ':'), *eol = strchrnul(p, '\n');
                if (!colon || colon > eol)
                        break;
                p += strspn(p, " ");
                ASSERT_OK(strv_consume(&l, strndup(p, (size_t) (colon - p))));
                p = strchr(colon, '\n');
                p = p ? p + 1 : NULL;
        }
        return strv_join(l, " ");
}

TEST(network) {
        _cleanup_free_ char *host_dev = NULL, *host_ifs = NULL;
        Job j;

        /* disabled: lo is down, nothing reachable, no other interface */
        job_init(&j, "cat /sys/class/net/lo/flags; cat /proc/net/dev; /bin/helper tcp");
        job_add_mount(&j, MOUNT_PROC, "/proc");
        job_add_mount(&j, MOUNT_SYS, "/sys");
        job_run(&j);
        assert_exited(&j, 0);
        ASSERT_TRUE(startswith(job_out(&j), "0x8\n"));
        {
                _cleanup_free_ char *ifs = interfaces(strchr(job_out(&j), '\n') + 1);
                ASSERT_STREQ(ifs, "lo");
        }
        ASSERT_TRUE(strstr(job_out(&j), "\nlisten EADDRNOTAVAIL\n") ||
                    strstr(job_out(&j), "\nconnect ENETUNREACH\n"));
        job_done(&j);

        /* loopback: lo is up and a local TCP connection works */
        job_init(&j, "cat /sys/class/net/lo/flags; /bin/helper tcp");
        job_add_mount(&j, MOUNT_SYS, "/sys");
        j.spec.network = NETWORK_LOOPBACK;
        job_run_expect(&j, "0x9\nconnected\n");

        /* local: the host's interfaces */
        ASSERT_OK(read_full_file("/proc/net/dev", 1 << 20, &host_dev, NULL));
        host_ifs = interfaces(host_dev);
        ASSERT_TRUE(host_ifs);
        job_init(&j, "cat /proc/net/dev");
        job_add_mount(&j, MOUNT_PROC, "/proc");
        j.spec.network = NETWORK_LOCAL;
        job_run(&j);
        assert_exited(&j, 0);
        {
                _cleanup_free_ char *ifs = interfaces(job_out(&j));
                ASSERT_STREQ(ifs, host_ifs);
        }
        job_done(&j);
}

/* Whether the process of this /proc entry is a child of ours with this name (comm). */
static bool proc_entry_is_our_child(const char *entry, const char *comm) {
        _cleanup_free_ char *path = NULL, *stat = NULL;
        char *name, *end;
        int ppid;

        if (entry[0] < '1' || entry[0] > '9')
                return false;
        path = strjoin("/proc/", entry, "/stat");
        ASSERT_TRUE(path);
        if (read_full_file(path, 4096, &stat, NULL) < 0)
                return false;
        /* "pid (comm) state ppid ..." */
        name = strchr(stat, '(');
        end = strrchr(stat, ')');
        if (!name || !end || sscanf(end + 2, "%*c %d", &ppid) != 1 || ppid != getpid())
                return false;
        *end = 0;
        return streq(name + 1, comm);
}

/* A child of ours with this name (comm), or 0. */
static pid_t find_child(const char *comm) {
        DIR *d = opendir("/proc");
        struct dirent *de;
        pid_t found = 0;

        ASSERT_TRUE(d);
        while (found == 0 && (de = readdir(d)))
                if (proc_entry_is_our_child(de->d_name, comm) && sscanf(de->d_name, "%d", &found) != 1)
                        found = 0;
        closedir(d);
        return found;
}

/* "PID:NAMESPACE " for each child of ours with this name (comm), in the order of /proc: the mount namespaces
 * they are in. */
static char *children_mount_namespaces(const char *comm) {
        DIR *d = opendir("/proc");
        struct dirent *de;
        TextBuf b = {};
        char *text = NULL;

        ASSERT_TRUE(d);
        while ((de = readdir(d))) {
                char link[300], ns[64];
                ssize_t n;

                if (!proc_entry_is_our_child(de->d_name, comm))
                        continue;
                snprintf(link, sizeof link, "/proc/%s/ns/mnt", de->d_name);
                n = readlink(link, ns, sizeof ns - 1);
                ASSERT_TRUE(n > 0);
                ns[n] = 0;
                textbuf_appendf(&b, "%s:%s ", de->d_name, ns);
        }
        closedir(d);
        ASSERT_OK(textbuf_steal(&b, &text));
        return text;
}

static int write_proc_self(const char *name, const char *text) {
        _cleanup_free_ char *path = strjoin("/proc/self/", name);
        _cleanup_close_ int fd = -EBADF;

        if (!path)
                return -ENOMEM;
        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        return write(fd, text, strlen(text)) < 0 ? -errno : 0;
}

/* How many of our fds are sysfs mounts (the pool's are detached mounts in our fd table, which the zygotes
 * share). */
static unsigned count_sysfs_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        unsigned n = 0;

        ASSERT_TRUE(d);
        while ((de = readdir(d))) {
                struct statfs sfs;
                unsigned fd;

                if (safe_atou(de->d_name, &fd) < 0 || (int) fd == dirfd(d))
                        continue;
                if (fstatfs((int) fd, &sfs) >= 0 && sfs.f_type == SYSFS_MAGIC)
                        n++;
        }
        closedir(d);
        return n;
}

/* Whether this kernel lets a process clone a detached mount that another process made, from a mount
 * namespace of its own (newer kernels do): try it in user and mount namespaces of our own. */
static bool kernel_clones_detached_mounts(void) {
        pid_t pid = fork();
        int status;

        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                char uid_map[64], gid_map[64];
                long fs, mnt, clone;
                pid_t child;

                /* Our ids mapped, so that we may make the nested user namespace below. */
                snprintf(uid_map, sizeof uid_map, "0 %u 1", (unsigned) geteuid());
                snprintf(gid_map, sizeof gid_map, "0 %u 1", (unsigned) getegid());
                if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0 ||
                    write_proc_self("uid_map", uid_map) < 0 || write_proc_self("setgroups", "deny") < 0 ||
                    write_proc_self("gid_map", gid_map) < 0)
                        _exit(2);
                fs = syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC);
                if (fs < 0 || syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                        _exit(2);
                mnt = syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, 0);
                if (mnt < 0)
                        _exit(2);
                child = fork();
                if (child == 0) {
                        if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
                                _exit(2);
                        clone = syscall(SYS_open_tree, mnt, "",
                                        OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
                        _exit(clone >= 0 ? 0 : 1);
                }
                if (child < 0 || waitpid(child, &status, 0) != child || !WIFEXITED(status))
                        _exit(2);
                _exit(WEXITSTATUS(status));
        }
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) < 2);
        return WEXITSTATUS(status) == 0;
}

static bool process_is_zombie(pid_t pid) {
        _cleanup_free_ char *stat = NULL;
        char path[64];
        const char *end;

        snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
        ASSERT_OK(read_full_file(path, 4096, &stat, NULL));
        end = strrchr(stat, ')');
        ASSERT_TRUE(end);
        return end[2] == 'Z';
}

/* The cookie of the job's network namespace, from the line "netns=N" that starts its output. */
static uint64_t job_netns(const Job *j) {
        const char *p = startswith(job_out(j), "netns=");
        char num[32];
        uint64_t v;
        size_t l;

        ASSERT_TRUE(p);
        l = strspn(p, "0123456789");
        ASSERT_TRUE(l > 0 && l < sizeof num);
        memcpy(num, p, l);
        num[l] = 0;
        ASSERT_OK(safe_atou64(num, &v));
        return v;
}

/* Run a job whose script starts with "helper netns; ", expect this output after the cookie, and return
 * the cookie. */
static uint64_t pool_job_run(Job *j, const char *expect) {
        const char *rest;
        uint64_t cookie;

        job_run(j);
        assert_exited(j, 0);
        cookie = job_netns(j);
        rest = strchr(job_out(j), '\n') + 1;
        if (!streq(rest, expect)) {
                fprintf(stderr, "expected:\n%sgot:\n%s", expect, rest);
                abort();
        }
        job_done(j);
        return cookie;
}

static void pool_job_init(Job *j, Network network, const char *script) {
        job_init(j, script);
        j->spec.network = network;
}

TEST(network_pool) {
        _cleanup_free_ char *scratch = strjoin(T.tmp, "/scratch-pool");
        bool root = geteuid() == 0;
        uint64_t disabled, loopback, cookie;
        Job j, jobs[3];

        /* An executor of its own (and the only one, with the only zygote), with one pooled namespace per
         * mode, so that the jobs run one after the other get the same one. */
        ASSERT_TRUE(scratch);
        ASSERT_SYSCALL(mkdir(scratch, 0755));
        T.x = executor_free(T.x);
        ASSERT_OK(executor_new(T.event, scratch, &T.x));
        executor_set_netns_pool_max(T.x, 1);

        /* disabled: lo is down, and stays so: the job has no capability over the namespace. */
        pool_job_init(&j, NETWORK_DISABLED, "helper netns; helper lo-set up; helper lo");
        disabled = pool_job_run(&j, "lo-set: EPERM\nlo down\n");
        pool_job_init(&j, NETWORK_DISABLED, "helper netns; helper lo; ls /sys/class/net; "
                                            "cat /sys/class/net/lo/flags; "
                                            "helper sysctl /sys/class/net/lo/mtu 1280");
        job_add_mount(&j, MOUNT_SYS, "/sys");
        ASSERT_EQ(pool_job_run(&j, root ? "lo down\nlo\n0x8\nsysctl: EROFS\n"
                                        : "lo down\nlo\n0x8\nsysctl: EACCES\n"),
                  disabled);

        /* loopback: lo is up, and stays so. */
        pool_job_init(&j, NETWORK_LOOPBACK, "helper netns; helper lo-set down; helper lo");
        loopback = pool_job_run(&j, "lo-set: EPERM\nlo up\n");
        ASSERT_TRUE(loopback != disabled);
        pool_job_init(&j, NETWORK_LOOPBACK, "helper netns; helper lo; cat /sys/class/net/lo/flags");
        job_add_mount(&j, MOUNT_SYS, "/sys");
        ASSERT_EQ(pool_job_run(&j, "lo up\n0x9\n"), loopback);

        /* A zygote makes a mount namespace of its own once, for its first sysfs, not for each: the kernel
         * frees the namespace that a new one replaces only after an RCU grace period, and the zygote would
         * wait for that, with every job behind. */
        {
                _cleanup_free_ char *before = children_mount_namespaces("executor-zygote"), *after = NULL;
                ASSERT_TRUE(before && strchr(before, ':'));
                for (int i = 0; i < 2; i++) {
                        pool_job_init(&j, i == 0 ? NETWORK_LOOPBACK : NETWORK_DISABLED,
                                      "helper netns; cat /sys/class/net/lo/flags");
                        job_add_mount(&j, MOUNT_SYS, "/sys");
                        ASSERT_EQ(pool_job_run(&j, i == 0 ? "0x9\n" : "0x8\n"),
                                  i == 0 ? loopback : disabled);
                }
                after = children_mount_namespaces("executor-zygote");
                ASSERT_STREQ(after, before);
        }

        /* Where the kernel lets a job clone a detached mount that the zygote made, each pooled namespace
         * keeps its sysfs for the jobs after (and those jobs above saw their own namespace's, each time):
         * one for each of the two namespaces, not one per job.  Elsewhere each job attaches a new one, and
         * none is kept. */
        {
                unsigned expected = kernel_clones_detached_mounts() ? 2 : 0;
                ASSERT_EQ(count_sysfs_fds(), expected);
        }

        /* What a job listened on is gone with it, in the same namespace. */
        pool_job_init(&j, NETWORK_LOOPBACK, "helper netns; helper unix-listen maelstrom-pool; "
                                            "helper tcp-listen 4242");
        ASSERT_EQ(pool_job_run(&j, "listening\nlistening\n"), loopback);
        pool_job_init(&j, NETWORK_LOOPBACK, "helper netns; helper unix-connect maelstrom-pool; "
                                            "helper connect 127.0.0.1 4242");
        ASSERT_EQ(pool_job_run(&j, "unix-connect: ECONNREFUSED\nconnect: ECONNREFUSED\n"), loopback);
        pool_job_init(&j, NETWORK_DISABLED, "helper netns; helper unix-listen maelstrom-pool");
        ASSERT_EQ(pool_job_run(&j, "listening\n"), disabled);
        pool_job_init(&j, NETWORK_DISABLED, "helper netns; helper unix-connect maelstrom-pool");
        ASSERT_EQ(pool_job_run(&j, "unix-connect: ECONNREFUSED\n"), disabled);

        /* A connection in TIME_WAIT would keep its port in use for a minute: that namespace is thrown away,
         * and the next job gets a new one, where the port is free (and which goes to the pool). */
        pool_job_init(&j, NETWORK_LOOPBACK, "helper netns; helper tcp-time-wait 4243");
        ASSERT_EQ(pool_job_run(&j, "time-wait\n"), loopback);
        pool_job_init(&j, NETWORK_LOOPBACK, "helper netns; helper tcp-listen 4243; helper lo");
        cookie = pool_job_run(&j, "listening\nlo up\n");
        ASSERT_TRUE(cookie != loopback);
        pool_job_init(&j, NETWORK_LOOPBACK, "helper netns");
        ASSERT_EQ(pool_job_run(&j, ""), cookie);

        /* sysctls: a job in a pooled namespace may not write them, not even as the host's root (which the
         * kernel lets write any, whatever its capabilities): its /proc/sys is read-only.  The next job sees
         * the default. */
        pool_job_init(&j, NETWORK_DISABLED,
                      "helper netns; helper sysctl /proc/sys/net/ipv4/ip_local_port_range '40000 40100'; "
                      "cat /proc/sys/net/ipv4/ip_local_port_range");
        job_add_mount(&j, MOUNT_PROC, "/proc");
        ASSERT_EQ(pool_job_run(&j, root ? "sysctl: EROFS\n32768\t60999\n"
                                        : "sysctl: EACCES\n32768\t60999\n"),
                  disabled);
        pool_job_init(&j, NETWORK_DISABLED, "helper netns; cat /proc/sys/net/ipv4/ip_local_port_range");
        job_add_mount(&j, MOUNT_PROC, "/proc");
        ASSERT_EQ(pool_job_run(&j, "32768\t60999\n"), disabled);

        /* Jobs that run at once never share a namespace: two from the pool, the third one of its own. */
        executor_set_netns_pool_max(T.x, 2);
        pool_job_init(&jobs[0], NETWORK_DISABLED, "helper netns; helper unix-listen maelstrom-busy 1");
        job_start(&jobs[0]);
        loop_for(300 * USEC_PER_MSEC);
        for (size_t i = 1; i < ELEMENTSOF(jobs); i++) {
                pool_job_init(&jobs[i], NETWORK_DISABLED,
                              "helper netns; helper unix-connect maelstrom-busy");
                job_start(&jobs[i]);
        }
        {
                uint64_t cookies[ELEMENTSOF(jobs)];
                for (size_t i = 0; i < ELEMENTSOF(jobs); i++) {
                        job_wait(&jobs[i]);
                        assert_exited(&jobs[i], 0);
                        cookies[i] = job_netns(&jobs[i]);
                        ASSERT_STREQ(strchr(job_out(&jobs[i]), '\n') + 1,
                                     i == 0 ? "listening\n" : "unix-connect: ECONNREFUSED\n");
                        job_done(&jobs[i]);
                }
                ASSERT_EQ(cookies[0], disabled);
                ASSERT_TRUE(cookies[0] != cookies[1] && cookies[1] != cookies[2] &&
                            cookies[0] != cookies[2]);
        }

        /* A listening socket kept alive past the job (in flight, in a cycle that the kernel's garbage
         * collector frees some time later) keeps the namespace from the next job until it is gone: either
         * way, nothing answers there. */
        pool_job_init(&j, NETWORK_DISABLED, "helper netns; helper unix-leak maelstrom-leak");
        (void) pool_job_run(&j, "leaked\n");
        for (int i = 0; i < 5; i++) {
                pool_job_init(&j, NETWORK_DISABLED, "helper netns; helper unix-connect maelstrom-leak");
                (void) pool_job_run(&j, "unix-connect: ECONNREFUSED\n");
        }

        /* Without its zygote the pool is gone, and jobs make their own namespaces. */
        {
                pid_t zygote = find_child("executor-zygote");
                ASSERT_TRUE(zygote > 0);
                ASSERT_SYSCALL(kill(zygote, SIGKILL));
                while (!process_is_zombie(zygote))
                        usleep(1000);
                /* The executor notices from its loop (and then ends the other zygote too). */
                loop_for(100 * USEC_PER_MSEC);
        }
        pool_job_init(&j, NETWORK_DISABLED, "helper netns; helper lo");
        ASSERT_TRUE(pool_job_run(&j, "lo down\n") != disabled);
        pool_job_init(&j, NETWORK_LOOPBACK, "helper netns; helper lo-set down; helper lo");
        ASSERT_TRUE(pool_job_run(&j, "lo-set: ok\nlo down\n") != loopback);
        ASSERT_EQ(find_child("executor-zygote"), 0);

        T.x = executor_free(T.x);
        ASSERT_SYSCALL(rmdir(scratch));
        ASSERT_OK(executor_new(T.event, T.scratch, &T.x));
}

static int rm_rf(const char *path);

/* The device number of the job's root file system, from the line "dev=N" that starts its output. */
static unsigned long root_dev(const Job *j) {
        unsigned long dev;
        ASSERT_TRUE(sscanf(job_out(j), "dev=%lu", &dev) == 1);
        return dev;
}

TEST(shared_root) {
        _cleanup_free_ char *layer3 = strjoin(T.tmp, "/layer3"), *old3 = strjoin(T.tmp, "/layer3.old");
        bool shared = kernel_clones_detached_mounts();
        Job a, b, c;

        ASSERT_TRUE(layer3 && old3);
        ASSERT_SYSCALL(mkdir(layer3, 0755));
        write_file(layer3, "which", "layer3 v1\n");

        /* Where the kernel lets a job clone a detached mount, a read-only root is made once for the jobs
         * with the same layers: two of them running at once have the same file system at /, a job with
         * other layers another one.  (b starts once a's container is made: the root is kept then.) */
        job_init(&a, "echo dev=$(stat -c %d /); cat /which; sleep 1");
        a.layers[1] = layer3;
        a.spec.n_layers = 2;
        b = a;
        b.spec.layers = b.layers;
        job_init(&c, "echo dev=$(stat -c %d /); sleep 1");
        job_start(&a);
        loop_for(300 * USEC_PER_MSEC);
        job_start(&b);
        job_start(&c);
        job_wait(&a);
        job_wait(&b);
        job_wait(&c);
        assert_exited(&a, 0);
        assert_exited(&b, 0);
        assert_exited(&c, 0);
        ASSERT_STREQ(strchr(job_out(&a), '\n') + 1, "layer3 v1\n");
        ASSERT_STREQ(strchr(job_out(&b), '\n') + 1, "layer3 v1\n");
        ASSERT_EQ((root_dev(&a) == root_dev(&b)), shared);
        ASSERT_TRUE(root_dev(&a) != root_dev(&c));
        job_done(&a);
        job_done(&b);
        job_done(&c);

        /* A layer made again at the same path (as the worker's cache does after evicting it) is another
         * layer: the next job sees what it holds now, not the kept root. */
        ASSERT_SYSCALL(rename(layer3, old3));
        ASSERT_SYSCALL(mkdir(layer3, 0755));
        write_file(layer3, "which", "layer3 v2\n");
        job_init(&a, "cat /which; echo x > /new 2>/dev/null || echo read-only");
        a.layers[1] = layer3;
        a.spec.n_layers = 2;
        job_run_expect(&a, "layer3 v2\nread-only\n");
        ASSERT_OK(rm_rf(old3));
        ASSERT_OK(rm_rf(layer3));
}

TEST(seccomp) {
        static const char *const denied[] = { "keyctl", "add_key", "bpf", "perf_event_open", NULL };
        Job j;

        for (const char *const *s = denied; *s; s++) {
                job_init(&j, NULL);
                j.spec.program = "/bin/helper";
                j.args[0] = "syscall";
                j.args[1] = *s;
                job_run_expect(&j, "EPERM\n");
        }

        job_init(&j, NULL);
        j.spec.program = "/bin/helper";
        j.args[0] = "syscall";
        j.args[1] = "getpid";
        job_run(&j);
        ASSERT_STREQ(job_out(&j), "ok\n");
        job_done(&j);

        /* One filter, and no_new_privs, whether the job installed the filter itself or inherited it from the
         * zygote that cloned it (as an unprivileged user, jobs with a proc mount are in the pool); none
         * without. */
        for (int on = 0; on < 2; on++) {
                job_init(&j, "grep -E '^(NoNewPrivs|Seccomp|Seccomp_filters):' /proc/self/status");
                job_add_mount(&j, MOUNT_PROC, "/proc");
                j.spec.seccomp = on;
                job_run_expect(&j, on ? "NoNewPrivs:\t1\nSeccomp:\t2\nSeccomp_filters:\t1\n"
                                      : "NoNewPrivs:\t0\nSeccomp:\t0\nSeccomp_filters:\t0\n");
        }

        /* Without the filter, keyctl answers for itself. */
        job_init(&j, NULL);
        j.spec.program = "/bin/helper";
        j.spec.seccomp = false;
        j.args[0] = "syscall";
        j.args[1] = "keyctl";
        job_run(&j);
        assert_exited(&j, 0);
        ASSERT_TRUE(!streq(job_out(&j), "EPERM\n"));
        job_done(&j);
}

/* Does the terminal output have this line? */
static bool has_line(const char *s, const char *line) {
        for (const char *p = s; (p = strstr(p, line)); p++)
                if ((p == s || p[-1] == '\n') && startswith(p + strlen(line), "\r\n"))
                        return true;
        return false;
}

static char *run_tty_job(Job *j, const char *input, unsigned short rows, unsigned short columns) {
        char *s = NULL;

        job_start(j);
        if (input)
                ASSERT_OK(execution_tty_write(j->e, input, strlen(input)));
        if (rows > 0)
                ASSERT_OK(execution_tty_resize(j->e, rows, columns));
        job_wait(j);
        assert_exited(j, 0);
        ASSERT_EQ(j->result.out.size, 0);
        ASSERT_OK(textbuf_steal(&j->tty, &s));
        return s;
}

TEST(tty) {
        for (int devpts = 0; devpts < 2; devpts++) {
                _cleanup_free_ char *s = NULL;
                Job j;

                /* With devpts on /dev/pts the tty is the job's own and has a name; without, it comes from
                 * the host and works all the same, nameless. */
                job_init(&j,
                         "tty; test -t 0 && test -t 1 && test -t 2 && echo all-tty; stty size; read line; "
                         "echo got=$line");
                j.spec.tty = true;
                j.spec.rows = 40;
                j.spec.columns = 100;
                if (devpts) {
                        job_add_mount(&j, MOUNT_DEVPTS, "/dev/pts");
                        job_add_mount(&j, MOUNT_PROC, "/proc"); /* the mounts get locked: see mount_lock */
                }
                s = run_tty_job(&j, "hello\n", 0, 0);
                fprintf(stderr, "  tty output: %s", s);
                /* (the terminal echoes the input whenever it arrives) */
                ASSERT_TRUE(has_line(s, devpts ? "/dev/pts/0" : "not a tty"));
                ASSERT_TRUE(has_line(s, "all-tty"));
                ASSERT_TRUE(has_line(s, "40 100"));
                ASSERT_TRUE(strstr(s, "got=hello\r\n"));
                job_done(&j);

                /* resize while running */
                job_init(&j, "sleep 0.3; stty size");
                j.spec.tty = true;
                if (devpts)
                        job_add_mount(&j, MOUNT_DEVPTS, "/dev/pts");
                s = mfree(s);
                s = run_tty_job(&j, NULL, 12, 34);
                ASSERT_STREQ(s, "12 34\r\n");
                job_done(&j);
        }
}

static bool userns_works(void) {
        pid_t pid = fork();
        int status;

        ASSERT_TRUE(pid >= 0);
        if (pid == 0)
                _exit(unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0 ? 1 : 0);
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static int rm_rf(const char *path) {
        /* Small trees of our own making; nftw would do, a child "rm -rf" is simpler and safe here. */
        pid_t pid = fork();
        int status;

        if (pid < 0)
                return -errno;
        if (pid == 0) {
                execl("/bin/rm", "rm", "-rf", "--", path, (char *) NULL);
                _exit(127);
        }
        if (waitpid(pid, &status, 0) < 0)
                return -errno;
        return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

/* The policy field of /proc/PID/stat (after the command, which may hold spaces and parentheses), or -1. */
static int stat_policy(const char *stat) {
        const char *p = strrchr(stat, ')');
        _cleanup_strv_free_ char **f = NULL;

        if (!p || strv_split_whitespace(p + 1, &f) < 0 || strv_length(f) < 39)
                return -1;
        return atoi(f[38]); /* field 41; f[0] is field 3 */
}

/* The policies of our children that have not called execve since a zygote made them (the zygotes, and the
 * jobs they cloned that wait to be released), as "P P ...". */
static char *zygote_policies(void) {
        _cleanup_(textbuf_done) TextBuf b = {};
        DIR *d = opendir("/proc");
        struct dirent *de;

        ASSERT_TRUE(d);
        while ((de = readdir(d))) {
                _cleanup_free_ char *path = NULL, *stat = NULL;
                const char *p;

                if (de->d_name[0] < '0' || de->d_name[0] > '9')
                        continue;
                path = strjoin("/proc/", de->d_name, "/stat");
                ASSERT_TRUE(path);
                if (read_full_file(path, 4096, &stat, NULL) < 0 || !strstr(stat, " (executor-zygote) "))
                        continue;
                p = strrchr(stat, ')');
                if ((pid_t) atoi(p + 4) != getpid()) /* "<) S PPID" */
                        continue;
                textbuf_appendf(&b, "%s%d", b.len ? " " : "", stat_policy(stat));
        }
        closedir(d);
        return strdup(b.data ?: "");
}

TEST(scheduling_policy) {
        /* A worker runs its own threads as SCHED_BATCH (process_sched_batch()), and so the set-up of its
         * containers, which its zygotes and they clone; the jobs run as it was started.  A new executor,
         * so that this thread makes its zygotes; jobs through a zygote (a pooled network namespace) and
         * cloned by us (network local), prepared ahead and not. */
        static const Network networks[] = { NETWORK_DISABLED, NETWORK_LOCAL };
        int before = sched_getscheduler(0);
        Job j;

        ASSERT_TRUE(before >= 0);
        if (before != SCHED_OTHER) {
                ASSERT_EQ(process_sched_batch(), 0); /* left as it is */
                fprintf(stderr, "started with scheduling policy %d, not SCHED_OTHER: not checked\n", before);
                return;
        }
        ASSERT_EQ(process_sched_batch(), 1);
        ASSERT_TRUE(process_sched_batch_entered());
        ASSERT_EQ(sched_getscheduler(0), SCHED_BATCH);
        T.x = executor_free(T.x);
        ASSERT_OK(executor_new(T.event, T.scratch, &T.x));

        for (size_t i = 0; i < ELEMENTSOF(networks); i++)
                for (int gated = 0; gated < 2; gated++) {
                        job_init(&j, "cut -d ' ' -f 41 /proc/self/stat");
                        job_add_mount(&j, MOUNT_PROC, "/proc");
                        j.spec.network = networks[i];
                        j.spec.gated = gated;
                        job_start(&j);
                        if (gated) {
                                loop_for(100 * USEC_PER_MSEC);
                                if (networks[i] == NETWORK_DISABLED) {
                                        /* The zygotes, and the job waiting at its gate. */
                                        _cleanup_free_ char *p = zygote_policies();
                                        ASSERT_TRUE(strlen(p) >= 3); /* a zygote and the job at least */
                                        ASSERT_EQ(strspn(p, "3 "), strlen(p)); /* SCHED_BATCH */
                                }
                                ASSERT_OK(execution_release(j.e));
                        }
                        job_wait(&j);
                        assert_exited(&j, 0);
                        ASSERT_STREQ(job_out(&j), "0\n"); /* SCHED_OTHER */
                        job_done(&j);
                }
}

int main(int argc, char *argv[]) {
        char tmpl[] = "/tmp/test-executor-XXXXXX";

        if (argc != 2) {
                fprintf(stderr, "usage: %s HELPER\n", argv[0]);
                return EXIT_FAILURE;
        }
        if (access(BUSYBOX, X_OK) < 0) {
                fprintf(stderr, "no %s (apt install busybox-static), skipping\n", BUSYBOX);
                return EXIT_TEST_SKIP;
        }
        if (!userns_works()) {
                fprintf(stderr, "user namespaces are not available, skipping\n");
                return EXIT_TEST_SKIP;
        }
        fprintf(stderr, "running as uid %u\n", (unsigned) geteuid());

        T.helper = argv[1];
        T.tmp = mkdtemp(tmpl);
        ASSERT_TRUE(T.tmp);
        T.scratch = strjoin(T.tmp, "/scratch");
        T.layer1 = strjoin(T.tmp, "/layer1");
        T.layer2 = strjoin(T.tmp, "/layer2");
        T.host_rw = strjoin(T.tmp, "/host-rw");
        T.host_ro = strjoin(T.tmp, "/host-ro");
        ASSERT_TRUE(T.scratch && T.layer1 && T.layer2 && T.host_rw && T.host_ro);
        make_dirs(T.tmp,
                  (const char *const[]) { "scratch", "layer1", "layer2", "host-rw", "host-ro", NULL });
        build_layers();

        ASSERT_OK(sd_event_new(&T.event));
        ASSERT_OK(executor_new(T.event, T.scratch, &T.x));

        RUN(exit_codes);
        RUN(signals);
        RUN(timeout);
        RUN(orphans_die_with_the_job);
        RUN(free_while_running);
        RUN(prepared_ahead);
        RUN(mount_namespace_held);
        RUN(concurrent_jobs);
        RUN(output_limits);
        RUN(process_environment);
        RUN(path_search);
        RUN(root_file_system);
        RUN(mounts);
        RUN(mount_lock);
        RUN(errors);
        RUN(network);
        RUN(network_pool);
        RUN(shared_root);
        RUN(seccomp);
        RUN(tty);
        RUN(scheduling_policy); /* last: we run as SCHED_BATCH after it */

        T.x = executor_free(T.x);
        /* The executor cleaned its scratch directory up. */
        ASSERT_FALSE(path_exists(T.scratch, "root"));
        ASSERT_FALSE(path_exists(T.scratch, "empty"));
        T.event = sd_event_unref(T.event);
        ASSERT_OK(rm_rf(T.tmp));
        free(T.scratch);
        free(T.layer1);
        free(T.layer2);
        free(T.host_rw);
        free(T.host_ro);
        return EXIT_SUCCESS;
}
