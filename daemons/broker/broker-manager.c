/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <systemd/sd-daemon.h>

#include "basic/fd-util.h"
#include "basic/log.h"
#include "basic/string-util.h"
#include "basic/time-util.h"
#include "broker-manager.h"
#include "maelstrom/v1/cluster.pb-c.h"
#include "proto/proto-util.h"

static const RpcMethod method_status = { "/maelstrom.v1.AdminService/Status", RPC_METHOD_UNARY };
static const RpcMethod method_stop = { "/maelstrom.v1.AdminService/Stop", RPC_METHOD_UNARY };

/* After Stop, how long queued messages get to leave before the broker exits. */
#define STOP_GRACE_USEC (300 * USEC_PER_MSEC)

static void manager_send_status(void *userdata);

int manager_new(const Config *config, Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        const char *root;
        sigset_t mask;
        int r;

        m = calloc(1, sizeof(Manager));
        if (!m)
                return log_oom();
        r = scheduler_init(&m->scheduler);
        if (r < 0)
                return log_oom();
        /* Workers set the next jobs' containers up while their slots are busy (see worker-job.c). */
        m->scheduler.prepare_ahead = true;

        /* Signals are handled by the loop; block them before gRPC starts its threads. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        r = RET_NERRNO(sigprocmask(SIG_BLOCK, &mask, NULL));
        if (r < 0)
                return log_error_errno(r, "Failed to block signals: %m");
        r = sd_event_default(&m->event);
        if (r < 0)
                return log_error_errno(r, "Failed to allocate the event loop: %m");
        r = sd_event_set_signal_exit(m->event, true);
        if (r < 0)
                return log_error_errno(r, "Failed to exit on SIGTERM and SIGINT: %m");
        (void) sd_event_set_watchdog(m->event, true);
        daemon_status_init(&m->status, m->event, manager_send_status, m);

        root = config_get_string(config, "cache-root");
        r = mkdir_p(root, 0700);
        if (r < 0)
                return log_error_errno(r, "Failed to create the cache directory '%s': %m", root);
        m->cache_size = config_get_number(config, "cache-size");
        r = cache_new(root, m->cache_size, &m->cache);
        if (r == -EBUSY)
                return log_error_errno(r, "The cache '%s' is in use by another broker.", root);
        if (r < 0)
                return log_error_errno(r, "Failed to open the cache '%s': %m", root);
        r = blob_service_new(m->cache, manager_blob_stored, m, &m->blobs);
        if (r >= 0)
                r = manifest_table_new(m->cache, &m->manifests);
        if (r < 0)
                return log_oom();

        r = rpc_context_new(m->event, &m->rpc);
        if (r < 0)
                return log_error_errno(r, "Failed to set up gRPC: %m");
        r = rpc_server_new(m->rpc, /* limits= */ NULL, &m->server);
        if (r < 0)
                return log_error_errno(r, "Failed to create the gRPC server: %m");
        r = manager_add_job_methods(m);
        if (r < 0)
                return log_error_errno(r, "Failed to register the gRPC methods: %m");

        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        manager_control_done(m);
        m->stopping = true;
        clients_free_all(m);
        workers_free_all(m);
        m->http = http_server_free(m->http);
        m->server = rpc_server_free(m->server);
        m->rpc = rpc_context_free(m->rpc);
        m->blobs = blob_service_free(m->blobs);
        m->manifests = manifest_table_free(m->manifests);
        m->cache = cache_free(m->cache);
        m->exit_timer = sd_event_source_disable_unref(m->exit_timer);
        daemon_status_done(&m->status);
        scheduler_done(&m->scheduler);
        sd_event_unref(m->event);
        free(m);
        return NULL;
}

static void manager_send_status(void *userdata) {
        Manager *m = userdata;
        unsigned slots = 0, used = 0, workers = 0;

        for (SchedWorker *w = m->scheduler.workers; w; w = w->next) {
                slots += w->slots;
                used += sched_worker_busy(w);
                workers++;
        }
        (void) sd_notifyf(/* unset_environment= */ false,
                          "STATUS=Port %u: %u workers, %u of %u slots in use, %zu jobs pending, %" PRIu64
                          " awaiting artifacts",
                          m->port, workers, used, slots, sched_n_pending(&m->scheduler), m->n_awaiting);
}

void manager_notify_status(Manager *m) {
        bus_service_mark_changed(m->bus);
        daemon_status_changed(&m->status);
}

/* ---- AdminService ---- */

static void on_plain_closed(RpcCall *call, RpcStatus status, const char *message, void *userdata) {
        rpc_call_free(call);
}

static int call_reply(RpcCall *call, const void *message) {
        int r = blob_call_send_message(call, message);
        if (r < 0)
                return r;
        return rpc_call_finish(call, RPC_STATUS_OK, /* message= */ NULL);
}

static int on_status_message(RpcCall *call, const void *data, size_t size, void *userdata) {
        Manager *m = userdata;
        _cleanup_(proto_freep) Maelstrom__V1__StatusRequest *req = NULL;
        Maelstrom__V1__StatusReply reply = MAELSTROM__V1__STATUS_REPLY__INIT;
        int r;

        r = proto_unpack(&maelstrom__v1__status_request__descriptor, data, size, (void **) &req);
        if (r < 0)
                return r;
        r = manager_fill_status(m, &reply);
        if (r < 0)
                return r;
        r = call_reply(call, &reply);
        free(reply.workers);
        return r;
}

static int on_exit_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        return sd_event_exit(m->event, 0);
}

void manager_stop(Manager *m) {
        log_info("Stopping the cluster, as asked.");
        manager_stop_all(m);
        if (!m->exit_timer &&
            sd_event_add_time_relative(m->event, &m->exit_timer, CLOCK_MONOTONIC, STOP_GRACE_USEC,
                                       /* accuracy= */ 0, on_exit_timer, m) < 0)
                (void) sd_event_exit(m->event, 0);
}

static int on_stop_message(RpcCall *call, const void *data, size_t size, void *userdata) {
        Manager *m = userdata;
        _cleanup_(proto_freep) Maelstrom__V1__StopRequest *req = NULL;
        Maelstrom__V1__StopReply reply = MAELSTROM__V1__STOP_REPLY__INIT;
        int r;

        r = proto_unpack(&maelstrom__v1__stop_request__descriptor, data, size, (void **) &req);
        if (r < 0)
                return r;
        r = call_reply(call, &reply);
        manager_stop(m);
        return r;
}

static int on_new_admin_call(RpcServer *server, RpcCall *call, void *userdata) {
        const RpcCallHandlers handlers = {
                .message = streq(rpc_call_get_method(call), method_status.path) ? on_status_message
                                                                                 : on_stop_message,
                .closed = on_plain_closed,
        };
        rpc_call_set_handlers(call, &handlers, userdata);
        return 0;
}

/* ---- listening ---- */

static int manager_serve_http_take(Manager *m, int fd) {
        int r = http_server_new_take(m->event, fd, manager_http_handler, m, &m->http);
        if (r < 0)
                return log_error_errno(r, "Failed to serve HTTP: %m");
        log_info("Serving the status page and metrics on HTTP port %u.", http_server_get_port(m->http));
        return 0;
}

/* The port a TCP socket is bound to, 0 if none. */
static uint16_t socket_port(int fd) {
        union {
                struct sockaddr sa;
                struct sockaddr_in in;
                struct sockaddr_in6 in6;
        } u = {};
        socklen_t l = sizeof(u);

        if (getsockname(fd, &u.sa, &l) < 0)
                return 0;
        return ntohs(u.sa.sa_family == AF_INET6 ? u.in6.sin6_port
                     : u.sa.sa_family == AF_INET ? u.in.sin_port
                     : 0);
}

int manager_listen(Manager *m, const Config *config) {
        _cleanup_strv_free_ char **names = NULL;
        const char *host = config_get_string(config, "address") ?: "[::]";
        unsigned n_listeners = 0;
        int n, r;

        r = rpc_server_add_method(m->server, &method_status, on_new_admin_call, m);
        if (r >= 0)
                r = rpc_server_add_method(m->server, &method_stop, on_new_admin_call, m);
        if (r < 0)
                return log_error_errno(r, "Failed to register the gRPC methods: %m");

        n = sd_listen_fds_with_names(/* unset_environment= */ true, &names);
        if (n < 0)
                return log_error_errno(n, "Failed to get the sockets from systemd: %m");
        for (int i = 0; i < n; i++) {
                int fd = SD_LISTEN_FDS_START + i;
                bool http = names && names[i] && streq(names[i], BROKER_FD_NAME_HTTP);

                if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, /* listening= */ 1) <= 0 || (http && m->http)) {
                        log_warning("File descriptor %d from systemd is not a listening stream socket, or a "
                                    "second one for HTTP, ignoring.", fd);
                        (void) close(fd);
                        continue;
                }
                (void) fcntl(fd, F_SETFD, FD_CLOEXEC);
                if (http) {
                        r = manager_serve_http_take(m, fd);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (m->port == 0)
                        m->port = socket_port(fd);
                r = rpc_server_add_listener_take(m->server, fd);
                if (r < 0)
                        return log_error_errno(r, "Failed to serve the socket from systemd: %m");
                log_info("Serving a socket passed by systemd.");
                n_listeners++;
        }
        if (n_listeners == 0) {
                _cleanup_free_ char *address = NULL;

                if (asprintf(&address, "%s:%u", host, (unsigned) config_get_number(config, "port")) < 0)
                        return log_oom();
                r = rpc_server_listen_tcp(m->server, address, &m->port);
                if (r < 0)
                        return log_error_errno(r, "Failed to listen on '%s': %m", address);
                log_info("Listening on port %u.", m->port);
        }
        if (!m->http && config_is_set(config, "http-port")) {
                uint16_t port = (uint16_t) config_get_number(config, "http-port");
                int fd;

                r = http_listen(host, port, &fd);
                if (r < 0)
                        return log_error_errno(r, "Failed to listen for HTTP on '%s' port %u: %m", host,
                                               port);
                r = manager_serve_http_take(m, fd);
                if (r < 0)
                        return r;
        }
        r = rpc_server_start(m->server);
        if (r < 0)
                return log_error_errno(r, "Failed to start the gRPC server: %m");
        return 0;
}

int manager_run(Manager *m) {
        int r;

        (void) sd_notify(/* unset_environment= */ false, "READY=1");
        manager_notify_status(m);
        r = sd_event_loop(m->event);
        (void) sd_notify(/* unset_environment= */ false, "STOPPING=1");
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        return 0;
}
