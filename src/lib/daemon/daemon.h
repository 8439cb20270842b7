/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* What both daemons do under systemd, on their sd-event loop: pet the watchdog when WatchdogSec= asks, and
 * reload the configuration on SIGHUP, telling systemd (RELOADING=1 with MONOTONIC_USEC=, then READY=1).  A
 * reload parses the same command line with the files and environment of now (config_main_reload(), which
 * logs what changed, or why it failed: then the old configuration stays in force and apply is not called),
 * and applies the live values the daemons share: log-level, and cache-size to their cache.  Like
 * config-main.c, this is a part of src/lib that talks to the administrator: it logs. */

#include <stdarg.h>

#include <systemd/sd-event.h>

#include "basic/macro.h"
#include "basic/time-util.h"
#include "bus/bus.h"
#include "cache/cache.h"
#include "config/config.h"

typedef struct DaemonControl DaemonControl;

/* After a successful reload: c is the new configuration, changed the names of the values that differ from
 * the one before.  The daemon applies those it can change live (the list given to daemon_control_new(); the
 * others were logged as taking effect at the next start; log-level and cache-size are applied already). */
typedef void (*daemon_apply_t)(const Config *c, char *const *changed, void *userdata);
/* After every reload attempt, once READY=1 is sent: e.g. for a new STATUS=. */
typedef void (*daemon_reloaded_t)(void *userdata);

/* SIGHUP must be blocked already (the daemons block it before gRPC starts its threads).  initial is
 * borrowed: it must outlive the DaemonControl. */
int daemon_control_new(sd_event *e, const Config *initial, Cache *cache, const char *const *live,
                       daemon_apply_t apply, daemon_reloaded_t reloaded, void *userdata,
                       DaemonControl **ret);
DaemonControl *daemon_control_free(DaemonControl *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(DaemonControl *, daemon_control_free);

/* The configuration in force: the initial one, or the last one reloaded. */
const Config *daemon_control_config(const DaemonControl *d);

/* Exports a daemon's D-Bus object (o->lost is set here) and logs where, or why not.  When the bus was named
 * explicitly (--bus=), failing to reach it is an error, and losing the name or the connection later makes
 * the loop exit with that error (systemd restarts the daemon); when it was not, the daemon goes on without
 * D-Bus after one warning.  *ret is NULL when there is no D-Bus. */
int daemon_bus_start(sd_event *e, BusServiceOptions *o, BusService **ret);

/* STATUS= for systemd, which changes with every job: the daemon says when its state changed, and send (which
 * calls sd_notifyf() with the state of that moment) runs at once if it last ran at least
 * DAEMON_STATUS_INTERVAL_USEC ago, or else once that interval is over. */
#define DAEMON_STATUS_INTERVAL_USEC (200 * USEC_PER_MSEC)

typedef void (*daemon_status_send_t)(void *userdata);

typedef struct DaemonStatus {
        sd_event *event; /* borrowed */
        sd_event_source *timer;
        usec_t sent;
        daemon_status_send_t send;
        void *userdata;
} DaemonStatus;

void daemon_status_init(DaemonStatus *s, sd_event *e, daemon_status_send_t send, void *userdata);
void daemon_status_changed(DaemonStatus *s);
void daemon_status_done(DaemonStatus *s);

/* At most this many fields besides the message, priority and identifier. */
#define DAEMON_LOG_MAX_FIELDS 8U
/* Logs like log_full(level, ...), and when stderr is connected to the journal, sends the message to the
 * journal directly instead, with the fields ("WORKER=host:1234", "JOB_ID=7", NULL-terminated) for operators
 * to query (journalctl WORKER=host:1234).  Elsewhere, or if the journal refuses it, the fields are
 * dropped. */
_printf_(3, 4) void daemon_log_struct(int level, const char *const *fields, const char *format, ...);
_printf_(3, 0) void daemon_log_structv(int level, const char *const *fields, const char *format, va_list ap);
