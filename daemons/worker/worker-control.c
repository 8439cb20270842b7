/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/* The worker under systemd (reloading, the watchdog), and the operations its D-Bus object offers: changing
 * the slots, draining, pruning the cache, stopping. */
#include "basic/log.h"
#include "basic/string-util.h"
#include "worker-manager.h"

/* The values a reload changes live, besides log-level and cache-size (which DaemonControl applies). */
static const char *const live_values[] = { "slots", "inline-limit", NULL };

static void set_slots(Manager *m, unsigned slots) {
        m->slots = slots;
        manager_size_netns_pool(m);
        manager_send_slots(m);
        manager_dispatch(m);
        manager_notify_status(m);
}

static void on_reload(const Config *c, char *const *changed, void *userdata) {
        Manager *m = userdata;

        if (strv_contains(changed, "slots"))
                set_slots(m, (unsigned) config_get_number(c, "slots"));
        if (strv_contains(changed, "inline-limit"))
                m->inline_limit = config_get_number(c, "inline-limit");
}

static void on_reloaded(void *userdata) {
        manager_notify_status(userdata);
}

int manager_control_start(Manager *m, const Config *config) {
        int r;

        if (m->local)
                return 0;
        r = daemon_control_new(m->event, config, m->cache, live_values, on_reload, on_reloaded, m,
                               &m->control);
        if (r < 0)
                return log_error_errno(r, "Failed to set up reloading and the watchdog: %m");
        return manager_dbus_start(m, config);
}

void manager_control_done(Manager *m) {
        m->bus = bus_service_free(m->bus);
        m->control = daemon_control_free(m->control);
}

int manager_set_slots(Manager *m, unsigned slots) {
        if (slots < 1 || slots > WORKER_SLOTS_MAX)
                return -EINVAL;
        log_notice("Running %u jobs at once from now on%s.", slots,
                   m->draining ? ", no longer draining" : "");
        if (m->draining) {
                m->draining = false;
                /* A draining worker let its broker go: attach again. */
                if (m->broker && !m->broker_session && !m->reconnect_timer)
                        (void) manager_connect(m);
        }
        set_slots(m, slots);
        return 0;
}

void manager_drain(Manager *m) {
        if (m->draining)
                return;
        log_notice("Draining: the %u running jobs finish, no new ones start.", m->running);
        m->draining = true;
        manager_send_slots(m);
        manager_notify_status(m);
}

int manager_prune_cache(Manager *m) {
        int r = cache_trim(m->cache, /* target= */ 0);
        if (r < 0)
                return log_warning_errno(r, "Failed to prune the cache: %m");
        log_info("Pruned the cache: %" PRIu64 " bytes in use remain.", cache_get_bytes(m->cache));
        return 0;
}

void manager_stop(Manager *m) {
        log_info("Stopping, as asked.");
        m->stopping = true;
        (void) sd_event_exit(m->event, 0);
}
