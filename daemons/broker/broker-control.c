/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/* The broker under systemd: reloading, the watchdog, and the D-Bus object. */
#include "basic/log.h"
#include "broker-manager.h"

static void on_reloaded(void *userdata) {
        manager_notify_status(userdata);
}

int manager_control_start(Manager *m, const Config *config) {
        /* Only log-level and cache-size change live, which DaemonControl applies. */
        int r = daemon_control_new(m->event, config, m->cache, /* live= */ NULL, /* apply= */ NULL, on_reloaded, m,
                                   &m->control);
        if (r < 0)
                return log_error_errno(r, "Failed to set up reloading and the watchdog: %m");
        return manager_dbus_start(m, config);
}

void manager_control_done(Manager *m) {
        m->bus = bus_service_free(m->bus);
        m->control = daemon_control_free(m->control);
}
