/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <systemd/sd-daemon.h>

#include "basic/fd-util.h"
#include "basic/log.h"
#include "basic/string-util.h"
#include "worker-manager.h"

int manager_new(const Config *config, Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        _cleanup_free_ char *cache_dir = NULL, *scratch_dir = NULL;
        sigset_t mask;
        int r;

        m = calloc(1, sizeof(Manager));
        if (!m)
                return log_oom();
        m->copy_pipe[0] = m->copy_pipe[1] = -EBADF;
        m->slots = (unsigned) config_get_number(config, "slots");
        m->inline_limit = config_get_number(config, "inline-limit");
        m->seccomp = streq(config_get_string(config, "seccomp"), "default");
        m->local = config_get_bool(config, "local");
        if (!m->local && config_get_string(config, "broker")) {
                m->broker = strdup(config_get_string(config, "broker"));
                if (!m->broker)
                        return log_oom();
        }
        m->cache_root = strdup(config_get_string(config, "cache-root"));
        if (!m->cache_root)
                return log_oom();
        r = prioq_new(job_compare, &m->queue);
        if (r < 0)
                return log_oom();

        /* Signals are handled by the loop; block them before gRPC starts its threads, so they inherit the
         * mask (SIGCHLD above all: the executor watches its jobs through pidfds). */
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
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
        daemon_status_init(&m->status, m->event, manager_send_status, m);

        r = mkdir(m->cache_root, 0700);
        if (r < 0 && errno != EEXIST)
                return log_error_errno(errno, "Failed to create the cache directory '%s': %m",
                                       m->cache_root);
        cache_dir = strjoin(m->cache_root, "/cache");
        scratch_dir = strjoin(m->cache_root, "/scratch");
        if (!cache_dir || !scratch_dir)
                return log_oom();
        r = cache_new(cache_dir, config_get_number(config, "cache-size"), &m->cache);
        if (r == -EBUSY)
                return log_error_errno(r, "The cache '%s' is in use by another worker.", cache_dir);
        if (r < 0)
                return log_error_errno(r, "Failed to open the cache '%s': %m", cache_dir);
        r = mkdir(scratch_dir, 0700);
        if (r < 0 && errno != EEXIST)
                return log_error_errno(errno, "Failed to create '%s': %m", scratch_dir);
        r = executor_new(m->event, scratch_dir, &m->executor);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the executor: %m");
        manager_size_netns_pool(m);

        r = rpc_context_new(m->event, &m->rpc);
        if (r < 0)
                return log_error_errno(r, "Failed to set up gRPC: %m");
        r = rpc_server_new(m->rpc, /* limits= */ NULL, &m->server);
        if (r < 0)
                return log_error_errno(r, "Failed to create the gRPC server: %m");
        r = blob_service_new(m->cache, manager_blob_stored, m, &m->blobs);
        if (r < 0)
                return log_oom();
        r = manager_add_methods(m);
        if (r < 0)
                return log_error_errno(r, "Failed to register the gRPC methods: %m");

        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        manager_control_done(m);
        /* Sessions first (they drop their jobs, killing those that run), then the server. */
        m->stopping = true;
        sessions_free_all(m);
        fetches_free_all(m);
        copies_free_all(m);
        m->reconnect_timer = sd_event_source_disable_unref(m->reconnect_timer);
        m->client_hangup = sd_event_source_disable_unref(m->client_hangup);
        daemon_status_done(&m->status);
        m->broker_channel = rpc_channel_free(m->broker_channel);
        m->server = rpc_server_free(m->server);
        m->blobs = blob_service_free(m->blobs);
        m->rpc = rpc_context_free(m->rpc);
        m->executor = executor_free(m->executor);
        m->cache = cache_free(m->cache);
        prioq_free(m->queue);
        free(m->cache_root);
        free(m->broker);
        sd_event_unref(m->event);
        free(m);
        return NULL;
}

static int on_client_hangup(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Manager *m = userdata;
        log_debug("The client closed its connection, exiting.");
        return sd_event_exit(m->event, 0);
}

int manager_serve_local_take(Manager *m, int fd) {
        _cleanup_close_ int watch_fd = -EBADF;
        int type = 0, r;
        socklen_t l = sizeof type;

        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) < 0 || type != SOCK_STREAM) {
                safe_close(fd);
                return log_error_errno(SYNTHETIC_ERRNO(ENOTSOCK),
                                       "--local serves a client on file descriptor 3, which must be a "
                                       "connected stream socket: a client starts the local worker, not a "
                                       "user.");
        }
        /* The worker exits when its client's session ends, but a client may also close the connection before
         * any session reached us (gRPC starts a call lazily; a client with a broker may have nothing to run
         * locally).  So the connection itself is watched for the peer's hang-up too. */
        watch_fd = RET_NERRNO(fcntl(fd, F_DUPFD_CLOEXEC, 3));
        if (watch_fd < 0) {
                safe_close(fd);
                return log_error_errno(watch_fd, "Failed to duplicate the client's socket: %m");
        }
        r = sd_event_add_io(m->event, &m->client_hangup, watch_fd, EPOLLRDHUP, on_client_hangup, m);
        if (r >= 0)
                r = sd_event_source_set_io_fd_own(m->client_hangup, true);
        if (r < 0) {
                safe_close(fd);
                return log_error_errno(r, "Failed to watch the client's socket: %m");
        }
        TAKE_FD(watch_fd);
        r = rpc_server_add_connection_take(m->server, fd);
        if (r < 0)
                return log_error_errno(r, "Failed to serve the client: %m");
        return 0;
}

int manager_run(Manager *m) {
        int r;

        if (!m->local)
                (void) sd_notify(/* unset_environment= */ false, "READY=1");
        r = sd_event_loop(m->event);
        if (!m->local)
                (void) sd_notify(/* unset_environment= */ false, "STOPPING=1");
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        return r;
}
