/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/* The broker under systemd: reloading, the watchdog, and the D-Bus object. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "basic/log.h"
#include "broker-manager.h"

static void on_reloaded(void *userdata) {
        manager_notify_status(userdata);
}

int manager_control_start(Manager *m, const Config *config) {
        /* Only log-level and cache-size change live, which DaemonControl applies. */
        int r = daemon_control_new(m->event, config, m->cache, /* live= */ NULL, /* apply= */ NULL,
                                   on_reloaded, m, &m->control);
        if (r < 0)
                return log_error_errno(r, "Failed to set up reloading and the watchdog: %m");
        return manager_dbus_start(m, config);
}

void manager_control_done(Manager *m) {
        m->bus = bus_service_free(m->bus);
        m->control = daemon_control_free(m->control);
}

void manager_log_worker(int level, const char *worker, uint64_t job_id, const char *format, ...) {
        char worker_field[300], job_field[40];
        const char *fields[3] = { worker_field };
        va_list ap;

        if (log_get_max_level() < level)
                return; /* the debug line of every job costs more than its formatting is worth */
        (void) snprintf(worker_field, sizeof worker_field, "WORKER=%s", strna(worker));
        if (job_id != 0) {
                (void) snprintf(job_field, sizeof job_field, "JOB_ID=%" PRIu64, job_id);
                fields[1] = job_field;
        }
        va_start(ap, format);
        daemon_log_structv(level, fields, format, ap);
        va_end(ap);
}
