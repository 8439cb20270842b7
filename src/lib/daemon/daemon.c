/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/uio.h>

#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

#include "basic/log.h"
#include "basic/string-util.h"
#include "basic/time-util.h"
#include "config/config-main.h"
#include "daemon/daemon.h"

struct DaemonControl {
        const Config *initial;
        Config *reloaded;
        Cache *cache;
        char **live;
        sd_event_source *sighup;
        daemon_apply_t apply;
        daemon_reloaded_t reloaded_cb;
        void *userdata;
};

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        DaemonControl *d = userdata;
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_strv_free_ char **changed = NULL;

        (void) sd_notifyf(/* unset_environment= */ false, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64,
                          now(CLOCK_MONOTONIC));
        if (config_main_reload(daemon_control_config(d), (const char *const *) d->live, &c, &changed) >= 0) {
                if (strv_contains(changed, "cache-size")) {
                        int r = cache_set_size_target(d->cache, config_get_number(c, "cache-size"));
                        if (r < 0)
                                log_warning_errno(r, "Failed to evict down to the new cache size, "
                                                  "ignoring: %m");
                }
                if (d->apply)
                        d->apply(c, changed, d->userdata);
                config_free(d->reloaded);
                d->reloaded = TAKE_PTR(c);
        }
        (void) sd_notify(/* unset_environment= */ false, "READY=1");
        if (d->reloaded_cb)
                d->reloaded_cb(d->userdata);
        return 0;
}

int daemon_control_new(sd_event *e, const Config *initial, Cache *cache, const char *const *live,
                       daemon_apply_t apply, daemon_reloaded_t reloaded, void *userdata,
                       DaemonControl **ret) {
        _cleanup_(daemon_control_freep) DaemonControl *d = NULL;
        int r;

        d = calloc(1, sizeof(DaemonControl));
        if (!d)
                return -ENOMEM;
        *d = (DaemonControl) {
                .initial = initial,
                .cache = cache,
                .apply = apply,
                .reloaded_cb = reloaded,
                .userdata = userdata,
        };
        d->live = strv_copy((char *const *) live);
        if (!d->live || strv_extend(&d->live, "cache-size") < 0)
                return -ENOMEM;
        /* Pets the watchdog from the loop itself, so a stuck loop is noticed; a no-op without
         * WatchdogSec=. */
        r = sd_event_set_watchdog(e, true);
        if (r < 0)
                return r;
        r = sd_event_add_signal(e, &d->sighup, SIGHUP, on_sighup, d);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(d->sighup, "sighup");
        *ret = TAKE_PTR(d);
        return 0;
}

DaemonControl *daemon_control_free(DaemonControl *d) {
        if (!d)
                return NULL;
        d->sighup = sd_event_source_disable_unref(d->sighup);
        config_free(d->reloaded);
        strv_free(d->live);
        return mfree(d);
}

const Config *daemon_control_config(const DaemonControl *d) {
        return d->reloaded ?: d->initial;
}

void daemon_status_init(DaemonStatus *s, sd_event *e, daemon_status_send_t send, void *userdata) {
        *s = (DaemonStatus) { .event = e, .send = send, .userdata = userdata };
}

static void daemon_status_send(DaemonStatus *s) {
        s->sent = now(CLOCK_MONOTONIC);
        s->send(s->userdata);
}

static int on_status_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        daemon_status_send(userdata);
        return 0;
}

void daemon_status_changed(DaemonStatus *s) {
        int enabled = SD_EVENT_OFF, r;
        usec_t next;

        if (s->timer && sd_event_source_get_enabled(s->timer, &enabled) >= 0 && enabled != SD_EVENT_OFF)
                return; /* it will send the state of then */
        next = s->sent + DAEMON_STATUS_INTERVAL_USEC;
        if (s->sent == 0 || now(CLOCK_MONOTONIC) >= next)
                return daemon_status_send(s);
        if (s->timer)
                r = sd_event_source_set_time(s->timer, next);
        else
                r = sd_event_add_time(s->event, &s->timer, CLOCK_MONOTONIC, next, /* accuracy= */ 0,
                                      on_status_timer, s);
        if (r >= 0)
                r = sd_event_source_set_enabled(s->timer, SD_EVENT_ONESHOT);
        if (r < 0)
                daemon_status_send(s); /* no timer: send it now */
}

void daemon_status_done(DaemonStatus *s) {
        s->timer = sd_event_source_disable_unref(s->timer);
}

static void on_bus_lost(BusService *s, int error, void *userdata) {
        sd_bus *bus = bus_service_get_bus(s);

        if (bus_service_is_explicit(s)) {
                log_error_errno(error, "Lost the D-Bus name or connection, exiting: %m");
                (void) sd_event_exit(sd_bus_get_event(bus), error);
                return;
        }
        log_warning_errno(error, "Lost the D-Bus name or connection, going on without D-Bus: %m");
}

int daemon_bus_start(sd_event *e, BusServiceOptions *o, BusService **ret) {
        BusService *s = NULL;
        bool explicit;
        int why, r;

        o->lost = on_bus_lost;
        r = bus_service_new(e, o, &s, &explicit, &why);
        if (r < 0)
                return log_error_errno(r, "Failed to export %s on the %s bus: %m", o->name,
                                       o->bus ?: "default");
        if (!s && why < 0)
                log_warning_errno(why, "No D-Bus bus to export %s on, going on without it: %m", o->name);
        else if (!s)
                log_info("Not on D-Bus, as configured.");
        else
                log_debug("Exporting %s on the %s bus.", o->name,
                          bus_kind_to_string(bus_service_get_kind(s)));
        *ret = s;
        return 0;
}

void daemon_log_struct(int level, const char *const *fields, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        daemon_log_structv(level, fields, format, ap);
        va_end(ap);
}

void daemon_log_structv(int level, const char *const *fields, const char *format, va_list ap) {
        char message[2048], priority[32], identifier[300];
        struct iovec iov[3 + DAEMON_LOG_MAX_FIELDS];
        size_t n = 0;

        if (log_get_max_level() < level)
                return;
        (void) vsnprintf(message, sizeof message, format, ap);

        if (log_get_journal()) {
                _cleanup_free_ char *m = strjoin("MESSAGE=", message);

                (void) snprintf(priority, sizeof priority, "PRIORITY=%d", level);
                (void) snprintf(identifier, sizeof identifier, "SYSLOG_IDENTIFIER=%s",
                                log_get_program() ?: program_invocation_short_name);
                if (m) {
                        iov[n++] = (struct iovec) { m, strlen(m) };
                        iov[n++] = (struct iovec) { priority, strlen(priority) };
                        iov[n++] = (struct iovec) { identifier, strlen(identifier) };
                        for (size_t i = 0; fields && fields[i] && i < DAEMON_LOG_MAX_FIELDS; i++)
                                iov[n++] = (struct iovec) { (void *) fields[i], strlen(fields[i]) };
                        if (sd_journal_sendv(iov, (int) n) >= 0)
                                return;
                }
        }
        log_full(level, "%s", message);
}
