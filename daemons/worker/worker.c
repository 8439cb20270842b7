/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <stdlib.h>

#include <systemd/sd-daemon.h>

#include "basic/log.h"
#include "basic/process-util.h"
#include "config/config-main.h"
#include "worker-conf.h"
#include "worker-manager.h"

/* The connection a client hands its transient local worker. */
#define LOCAL_FD 3

static int run(const Config *c) {
        _cleanup_(manager_freep) Manager *m = NULL;
        bool local = config_get_bool(c, "local"), cluster = config_get_string(c, "broker");
        int r;

        /* Before any thread: every thread of ours runs as SCHED_BATCH, the jobs as we were started. */
        r = process_sched_batch();
        if (r < 0)
                log_debug_errno(r, "Cannot run as SCHED_BATCH, going on as we are: %m");

        if (!local && !cluster && sd_listen_fds(/* unset_environment= */ false) <= 0) {
                log_error("No broker configured: set it with --broker/-b, MAELSTROM_WORKER_BROKER or the "
                          "broker key of worker.conf (or pass a socket for local clients, as "
                          "maelstrom-worker.socket does, or run a client's local worker with --local).");
                return EXIT_USAGE;
        }
        r = manager_new(c, &m);
        if (r < 0)
                return EXIT_FAILURE;
        if (local)
                r = manager_serve_local_take(m, LOCAL_FD);
        else {
                r = manager_listen_fds(m);
                if (r >= 0 && cluster)
                        r = manager_connect(m) == -ENOMEM ? -ENOMEM : 0; /* else it retries */
        }
        if (r >= 0)
                r = manager_control_start(m, c);
        if (r < 0)
                return EXIT_FAILURE;
        r = manager_run(m);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

int main(int argc, char **argv) {
        _cleanup_(config_freep) Config *c = NULL;
        int r;

        r = config_main_load(&worker_program, argc, argv, &c);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : EXIT_SUCCESS;
        return run(c);
}
