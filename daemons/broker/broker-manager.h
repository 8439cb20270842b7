/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* The broker's Manager: owns the event loop, the gRPC server (JobService, WorkerService, AdminService), the
 * blob cache, the clients, the workers and the jobs. */

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "basic/macro.h"
#include "blobrpc/blobrpc.h"
#include "broker-http.h"
#include "broker-manifests.h"
#include "broker-scheduler.h"
#include "cache/cache.h"
#include "config/config.h"
#include "daemon/daemon.h"
#include "rpc/rpc.h"

typedef struct BrokerClient BrokerClient;
typedef struct BrokerWorker BrokerWorker;
typedef struct BrokerJob BrokerJob;

typedef struct Manager {
        sd_event *event;
        RpcContext *rpc;
        RpcServer *server;
        Cache *cache;
        BlobService *blobs;
        ManifestTable *manifests;
        HttpServer *http;        /* http-port, or NULL */
        uint16_t port;
        uint64_t cache_size;     /* the target, bytes */
        sd_event_source *exit_timer;
        DaemonStatus status;     /* STATUS= (rate limited) */

        Scheduler scheduler;
        BrokerClient *clients;   /* list */
        unsigned n_clients;
        BrokerWorker *workers;   /* list */
        BrokerJob *awaiting;     /* jobs awaiting artifacts (list) */
        uint64_t n_awaiting, n_completed;
        uint64_t next_worker_job_id;
        bool stopping;

        /* Under systemd and on D-Bus (broker-control.c, broker-dbus.c) */
        DaemonControl *control;  /* SIGHUP and the watchdog */
        BusService *bus;         /* the D-Bus object, or NULL */
} Manager;

int manager_new(const Config *config, Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);
/* Takes the sockets from systemd, or listens on the configured port. */
int manager_listen(Manager *m, const Config *config);
int manager_run(Manager *m);
/* STATUS= for systemd (at most once per STATUS_INTERVAL_USEC: the last state wins) and PropertiesChanged. */
void manager_notify_status(Manager *m);
/* Stops every worker and drops every client (AdminService Stop, D-Bus Stop); the loop exits shortly after,
 * once the messages left. */
void manager_stop(Manager *m);

/* ---- broker-control.c ---- */
/* Reloading on SIGHUP, the watchdog, and the D-Bus object.  config is borrowed: it must outlive m. */
int manager_control_start(Manager *m, const Config *config);
void manager_control_done(Manager *m);
/* Logs about a worker (and a job, the broker's id of it that the worker sees, unless 0), with WORKER= and
 * JOB_ID= for the journal (journalctl WORKER=host:1234). */
_printf_(4, 5) void manager_log_worker(int level, const char *worker, uint64_t job_id, const char *format,
                                       ...);

/* ---- broker-dbus.c: org.maelstrom.Broker1 ---- */
/* Exports the object on the bus config's "bus" value names; m->bus stays NULL without D-Bus.
 * bus_service_mark_changed(m->bus) when what the properties show changes, and
 * bus_service_emit_signal(m->bus, "WorkerAttached", "su", name, slots) / ("WorkerDetached", "s", name) as
 * workers come and go. */
int manager_dbus_start(Manager *m, const Config *config);

/* ---- broker-jobs.c ---- */
int manager_add_job_methods(Manager *m);
void manager_dispatch(Manager *m);
void manager_blob_stored(const Digest *d, void *userdata);
/* Tells every worker to stop and drops every client. */
void manager_stop_all(Manager *m);
void clients_free_all(Manager *m);
void workers_free_all(Manager *m);
/* DrainWorker: the attached worker of that name gets no new jobs from now on.  -ENOENT if there is none. */
int manager_drain_worker(Manager *m, const char *name);
/* For AdminService Status (a Maelstrom__V1__StatusReply *); the workers' array is malloc()ed into it. */
int manager_fill_status(Manager *m, void *reply);

/* ---- broker-status.c ---- */
/* The status (a Maelstrom__V1__StatusReply *) as Prometheus text, and as an HTML page. */
int broker_format_metrics(const void *status_reply, char **ret);
int broker_format_status_page(const void *status_reply, char **ret);
/* The pages of the HTTP endpoint (an http_handler_t; userdata is the Manager). */
int manager_http_handler(const char *path, void *userdata, int *ret_status, const char **ret_type,
                         char **ret_body);
