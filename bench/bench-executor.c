/* SPDX-License-Identifier: MIT OR Apache-2.0 */

/* Container throughput: N trivial jobs (/bin/true, a symlink to busybox, in one small layer), K at a time,
 * through the executor, from one sd-event loop.  Prints one line:
 *
 *   jobs=N parallel=K network=M seconds=S jobs_per_second=R setup_usec=A run_usec=B start_usec=T
 *   cpu_usec_per_job=C
 *
 * where A and B are the mean setup (start to execve) and run (execve to reaped) times, T the mean time the
 * loop spends inside executor_start(), and C the CPU time (user + system, this process and its children) per
 * job.
 *
 *   bench-executor ROOT N K [disabled|loopback|local]      (ROOT: a layer directory with /bin/true)
 *   bench-executor --spawn N K                             plain posix_spawn of /bin/true, for reference
 *
 * BENCH_RSS_MB=M in the environment first touches M MiB of heap, to see what a large worker (gRPC, caches)
 * costs each clone: the child gets a copy of the parent's page tables.  BENCH_PROC=1 gives each job a proc
 * mount on /proc (the container then locks its mounts: see executor.c).  BENCH_RUNNER=1 gives each job the
 * test runners' default container instead: two layers, and tmp, proc, sys and five devices (ROOT then needs
 * /tmp, /proc, /sys and /dev/{full,null,random,urandom,zero}). */

#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/parse-util.h"
#include "executor/executor.h"

typedef struct Bench {
        sd_event *event;
        Executor *x;
        ExecSpec spec;
        unsigned n, started, finished, failed;
        usec_t setup_total, run_total, start_total;
} Bench;

static int bench_start_one(Bench *b);

static void on_done(Execution *e, ExecResult *r, void *userdata) {
        Bench *b = userdata;

        if (r->outcome != EXEC_EXITED || r->status != 0) {
                if (b->failed++ == 0)
                        fprintf(stderr, "job failed: %s %d %s %s\n", exec_outcome_to_string(r->outcome),
                                r->status, strempty(r->error_step),
                                r->error_errno ? strerror(r->error_errno) : "");
        }
        b->setup_total += r->setup_usec;
        b->run_total += r->run_usec;
        exec_result_done(r);
        execution_free(e);
        b->finished++;
        if (b->started < b->n && bench_start_one(b) < 0)
                b->n = b->started; /* give up starting more */
        if (b->finished == b->n)
                (void) sd_event_exit(b->event, 0);
}

static int bench_start_one(Bench *b) {
        Execution *e;
        usec_t t = now(CLOCK_MONOTONIC);
        int r = executor_start(b->x, &b->spec, on_done, NULL, b, &e);
        b->start_total += now(CLOCK_MONOTONIC) - t;
        if (r < 0) {
                fprintf(stderr, "executor_start: %s\n", strerror(-r));
                return r;
        }
        b->started++;
        return 0;
}

static int parse_count(const char *s, unsigned *ret) {
        unsigned v;
        int r = safe_atou(s, &v);
        if (r < 0)
                return r;
        if (v == 0)
                return -ERANGE;
        *ret = v;
        return 0;
}

static usec_t cpu_usec(void) {
        struct rusage self, children;
        getrusage(RUSAGE_SELF, &self);
        getrusage(RUSAGE_CHILDREN, &children);
        return (usec_t) (self.ru_utime.tv_sec + self.ru_stime.tv_sec + children.ru_utime.tv_sec +
                         children.ru_stime.tv_sec) * USEC_PER_SEC +
               (usec_t) (self.ru_utime.tv_usec + self.ru_stime.tv_usec + children.ru_utime.tv_usec +
                         children.ru_stime.tv_usec);
}

static int bench_spawn(unsigned n, unsigned k) {
        char *argv[] = { (char *) "/bin/true", NULL };
        unsigned started = 0, running = 0;
        usec_t t0 = now(CLOCK_MONOTONIC), c0 = cpu_usec();

        while (started < n || running > 0) {
                while (running < k && started < n) {
                        pid_t pid;
                        if (posix_spawn(&pid, argv[0], NULL, NULL, argv, NULL) != 0)
                                return EXIT_FAILURE;
                        started++;
                        running++;
                }
                if (wait(NULL) > 0)
                        running--;
        }
        double s = (double) (now(CLOCK_MONOTONIC) - t0) / USEC_PER_SEC;
        printf("jobs=%u parallel=%u network=spawn seconds=%.3f jobs_per_second=%.0f setup_usec=0 run_usec=0 "
               "cpu_usec_per_job=%.0f\n", n, k, s, n / s, (double) (cpu_usec() - c0) / n);
        return EXIT_SUCCESS;
}

int main(int argc, char *argv[]) {
        static const char *const args[] = { NULL };
        static const char *const env[] = { "PATH=/bin", NULL };
        Bench b = {};
        const char *layers[1];
        ExecMount proc = { .type = MOUNT_PROC, .mount_point = "/proc" };
        static const ExecMount runner_mounts[] = {
                { .type = MOUNT_TMP, .mount_point = "/tmp" },
                { .type = MOUNT_PROC, .mount_point = "/proc" },
                { .type = MOUNT_SYS, .mount_point = "/sys" },
                { .type = MOUNT_DEVICES,
                  .devices = 1U << DEVICE_FULL | 1U << DEVICE_NULL | 1U << DEVICE_RANDOM |
                          1U << DEVICE_URANDOM | 1U << DEVICE_ZERO },
        };
        const char *runner_layers[2];
        char empty_layer[] = "/tmp/bench-executor-empty-XXXXXX";
        _cleanup_free_ char *ballast = NULL;
        char scratch[] = "/tmp/bench-executor-XXXXXX";
        unsigned k;
        int r;

        if (argc == 4 && streq(argv[1], "--spawn")) {
                if (parse_count(argv[2], &b.n) < 0 || parse_count(argv[3], &k) < 0)
                        return EXIT_FAILURE;
                return bench_spawn(b.n, k);
        }
        if (argc < 4 || argc > 5 || parse_count(argv[2], &b.n) < 0 || parse_count(argv[3], &k) < 0) {
                fprintf(stderr, "usage: %s ROOT N K [disabled|loopback|local]\n", argv[0]);
                return EXIT_FAILURE;
        }
        layers[0] = argv[1];
        b.spec = (ExecSpec) {
                .layers = layers,
                .n_layers = 1,
                .network = NETWORK_DISABLED,
                .program = "true",
                .arguments = args,
                .environment = env,
                .inline_limit = 1 << 20,
                .seccomp = true,
        };
        if (argc == 5) {
                if (streq(argv[4], "loopback"))
                        b.spec.network = NETWORK_LOOPBACK;
                else if (streq(argv[4], "local"))
                        b.spec.network = NETWORK_LOCAL;
                else if (!streq(argv[4], "disabled"))
                        return EXIT_FAILURE;
        }

        if (getenv("BENCH_PROC") && streq(getenv("BENCH_PROC"), "1")) {
                b.spec.mounts = &proc;
                b.spec.n_mounts = 1;
        }
        /* The test runners' default container: tmp, proc, sys and five devices, over two layers (the root
         * and an empty one, as the runner's stubs and binary layers). */
        if (getenv("BENCH_RUNNER") && streq(getenv("BENCH_RUNNER"), "1")) {
                b.spec.mounts = runner_mounts;
                b.spec.n_mounts = ELEMENTSOF(runner_mounts);
                if (!mkdtemp(empty_layer))
                        return EXIT_FAILURE;
                runner_layers[0] = argv[1];
                runner_layers[1] = empty_layer;
                b.spec.layers = runner_layers;
                b.spec.n_layers = 2;
        }

        if (!mkdtemp(scratch))
                return EXIT_FAILURE;
        if (getenv("BENCH_RSS_MB")) {
                unsigned mb;
                if (safe_atou(getenv("BENCH_RSS_MB"), &mb) < 0)
                        return EXIT_FAILURE;
                ballast = malloc((size_t) mb << 20);
                if (!ballast && mb > 0)
                        return EXIT_FAILURE;
                memset(ballast, 1, (size_t) mb << 20);
        }
        r = sd_event_default(&b.event);
        if (r >= 0)
                r = executor_new(b.event, scratch, &b.x);
        if (r < 0) {
                fprintf(stderr, "setup: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }

        usec_t t0 = now(CLOCK_MONOTONIC), c0 = cpu_usec();
        for (unsigned i = 0; i < k && i < b.n; i++)
                if (bench_start_one(&b) < 0)
                        return EXIT_FAILURE;
        r = sd_event_loop(b.event);
        double s = (double) (now(CLOCK_MONOTONIC) - t0) / USEC_PER_SEC;
        usec_t cpu = cpu_usec() - c0;

        b.x = executor_free(b.x);
        b.event = sd_event_unref(b.event);
        (void) rmdir(scratch);
        if (b.spec.n_layers == 2)
                (void) rmdir(empty_layer);
        if (r < 0 || b.failed > 0 || b.finished != b.n) {
                fprintf(stderr, "%u of %u jobs failed\n", b.failed, b.n);
                return EXIT_FAILURE;
        }
        printf("jobs=%u parallel=%u network=%s seconds=%.3f jobs_per_second=%.0f setup_usec=%.0f "
               "run_usec=%.0f start_usec=%.0f cpu_usec_per_job=%.0f\n",
               b.n, k, argc == 5 ? argv[4] : "disabled", s, b.n / s, (double) b.setup_total / b.n,
               (double) b.run_total / b.n, (double) b.start_total / b.n, (double) cpu / b.n);
        return EXIT_SUCCESS;
}
