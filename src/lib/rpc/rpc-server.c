/* SPDX-License-Identifier: MIT OR Apache-2.0 */

/* RpcServer: a grpc_server whose registered methods each keep one request for a new call pending on the
 * context's completion queue, plus one catch-all request that answers unregistered methods UNIMPLEMENTED
 * (without it, gRPC would keep such calls waiting forever).
 *
 * Like calls, a server is reference counted internally: the handle, each pending request, the pending
 * shutdown, and each RpcCall it made.  rpc_server_free() starts grpc_server_shutdown_and_notify() and
 * cancels every call; the grpc_server is destroyed once the last reference goes, which is after gRPC
 * reported the shutdown done, as grpc_server_destroy() requires. */

#include <assert.h>
#include <stdio.h>
#include <sys/socket.h>

#include <grpc/grpc_posix.h>
#include <grpc/grpc_security.h>

#include "basic/fd-util.h"
#include "basic/log.h"
#include "basic/time-util.h"
#include "rpc/rpc-internal.h"

/* Accepting: at most this many connections per wake-up, and at most this many wake-ups per interval (when
 * accept() keeps failing, e.g. EMFILE, the listener pauses for the rest of the interval). */
#define ACCEPT_PER_WAKEUP 16
#define ACCEPT_RATELIMIT_INTERVAL_USEC (100 * USEC_PER_MSEC)
#define ACCEPT_RATELIMIT_BURST 64U

typedef struct RpcServerMethod {
        RpcServer *server;
        char *path; /* NULL: the catch-all for methods not registered */
        RpcMethodKind kind;
        rpc_call_handler_t handler;
        void *userdata;
        void *registration; /* grpc_server_register_method() */

        RpcOp request_op;
        bool request_pending;
        grpc_call *new_call;
        gpr_timespec deadline;
        grpc_metadata_array request_metadata;
        grpc_call_details details; /* catch-all only */
} RpcServerMethod;

typedef struct RpcListener {
        RpcServer *server;
        int fd;
        sd_event_source *source;
        rpc_accept_filter_t filter;
        void *userdata;
} RpcListener;

struct RpcServer {
        RpcContext *context;
        grpc_server *server;
        RpcLimits limits;

        unsigned n_refs;
        bool started;
        bool handle_dropped;
        RpcOp shutdown_op;

        RpcServerMethod **methods; /* the catch-all last, once started */
        size_t n_methods;
        RpcListener **listeners;
        size_t n_listeners;
        unsigned n_calls;
};

static RpcServerMethod *server_method_free(RpcServerMethod *m) {
        if (!m)
                return NULL;
        assert(!m->request_pending);
        if (m->new_call)
                grpc_call_unref(m->new_call);
        grpc_metadata_array_destroy(&m->request_metadata);
        grpc_call_details_destroy(&m->details);
        free(m->path);
        return mfree(m);
}

static RpcListener *listener_free(RpcListener *l) {
        if (!l)
                return NULL;
        l->source = sd_event_source_disable_unref(l->source);
        safe_close(l->fd);
        return mfree(l);
}

static void server_destroy(RpcServer *s) {
        for (size_t i = 0; i < s->n_methods; i++)
                server_method_free(s->methods[i]);
        free(s->methods);
        for (size_t i = 0; i < s->n_listeners; i++)
                listener_free(s->listeners[i]);
        free(s->listeners);
        if (s->server)
                grpc_server_destroy(s->server);
        rpc_context_object_removed(s->context);
        free(s);
}

static void server_unref(RpcServer *s) {
        assert(s->n_refs > 0);
        if (--s->n_refs == 0)
                server_destroy(s);
}

void rpc_server_call_gone(RpcServer *s) {
        assert(s->n_calls > 0);
        s->n_calls--;
        server_unref(s);
}

static int server_method_new(RpcServer *s, const char *path, RpcMethodKind kind, RpcServerMethod **ret) {
        RpcServerMethod *m, **a;

        a = reallocarray(s->methods, s->n_methods + 1, sizeof(RpcServerMethod *));
        if (!a)
                return -ENOMEM;
        s->methods = a;

        m = calloc(1, sizeof(RpcServerMethod));
        if (!m)
                return -ENOMEM;
        m->server = s;
        m->kind = kind;
        rpc_op_init(&m->request_op, RPC_OP_SERVER_REQUEST, m);
        grpc_metadata_array_init(&m->request_metadata);
        grpc_call_details_init(&m->details);
        if (path) {
                m->path = strdup(path);
                if (!m->path) {
                        server_method_free(m);
                        return -ENOMEM;
                }
        }

        s->methods[s->n_methods++] = m;
        *ret = m;
        return 0;
}

static int server_method_request(RpcServerMethod *m) {
        RpcServer *s = m->server;
        grpc_completion_queue *cq = s->context->cq;
        grpc_call_error e;

        assert(!m->request_pending);

        if (m->path)
                e = grpc_server_request_registered_call(
                                s->server, m->registration, &m->new_call, &m->deadline, &m->request_metadata,
                                /* optional_payload= */ NULL, cq, cq, &m->request_op);
        else
                e = grpc_server_request_call(s->server, &m->new_call, &m->details, &m->request_metadata, cq,
                                             cq, &m->request_op);
        if (e != GRPC_CALL_OK)
                return rpc_call_error_to_errno(e);

        m->request_pending = true;
        s->n_refs++;
        return 0;
}

/* Refuses a call that is already wrapped: sends the status, and lets it go. */
static void server_refuse(RpcCall *call, RpcStatus status, const char *message) {
        (void) rpc_call_finish(call, status, message);
        rpc_call_free(call);
}

static void server_new_call(RpcServer *s, RpcServerMethod *m, grpc_call *gcall) {
        RpcCall *call;
        int r;

        /* The call's reference on the server; rpc_call_new_server() takes it over, even on failure. */
        s->n_refs++;
        s->n_calls++;
        r = rpc_call_new_server(s->context, gcall, s, m->path ?: "(unregistered)",
                                m->path ? m->kind : RPC_METHOD_BIDI_STREAMING, &s->limits, &call);
        if (r < 0) {
                log_debug_errno(r, "rpc: failed to set up a new call: %m");
                return;
        }

        r = rpc_call_start_server(call);
        if (r < 0) {
                log_debug_errno(r, "rpc: failed to start a new call on '%s': %m", rpc_call_get_method(call));
                rpc_call_free(call);
                return;
        }

        if (!m->path)
                server_refuse(call, RPC_STATUS_UNIMPLEMENTED, "Unknown method");
        else if (s->handle_dropped)
                server_refuse(call, RPC_STATUS_UNAVAILABLE, "The server is shutting down");
        else if (s->n_calls > s->limits.max_calls)
                server_refuse(call, RPC_STATUS_RESOURCE_EXHAUSTED, "Too many calls");
        else {
                r = m->handler(s, call, m->userdata);
                if (r < 0)
                        server_refuse(call, rpc_status_from_errno(r), strerror(-r));
        }
}

static void server_on_request(RpcServerMethod *m, bool ok) {
        RpcServer *s = m->server;
        grpc_call *gcall;
        int r;

        m->request_pending = false;
        if (!ok)
                return; /* the server is shutting down */

        gcall = TAKE_PTR(m->new_call);
        /* The metadata's strings belong to the call; the arrays are ours to reuse. */
        grpc_metadata_array_destroy(&m->request_metadata);
        grpc_metadata_array_init(&m->request_metadata);
        grpc_call_details_destroy(&m->details);
        grpc_call_details_init(&m->details);

        /* Ask for the next call first: gRPC holds incoming calls until one is requested. */
        if (!s->handle_dropped) {
                r = server_method_request(m);
                if (r < 0)
                        log_debug_errno(r, "rpc: cannot wait for calls on '%s' any more: %m",
                                        strna(m->path));
        }

        server_new_call(s, m, gcall);
}

void rpc_server_dispatch(RpcOp *op) {
        switch (op->type) {
        case RPC_OP_SERVER_REQUEST: {
                RpcServerMethod *m = op->owner;
                RpcServer *s = m->server;

                /* The request's reference keeps s (and m) alive through the handler. */
                server_on_request(m, op->ok);
                server_unref(s);
                return;
        }
        case RPC_OP_SERVER_SHUTDOWN:
                server_unref(op->owner);
                return;
        case RPC_OP_CALL_SEND:
        case RPC_OP_CALL_RECV:
        case RPC_OP_CALL_STATUS:
        case _RPC_OP_TYPE_MAX:
                break;
        }
        assert(!"not a server op");
}

int rpc_server_new(RpcContext *c, const RpcLimits *limits, RpcServer **ret) {
        grpc_arg args[RPC_CHANNEL_ARGS_MAX];
        grpc_channel_args channel_args;
        RpcServer *s;
        RpcLimits l;
        int r;

        assert(c);
        assert(ret);

        r = rpc_limits_resolve(limits, &l);
        if (r < 0)
                return r;

        s = calloc(1, sizeof(RpcServer));
        if (!s)
                return -ENOMEM;
        s->context = c;
        s->n_refs = 1;
        s->limits = l;
        rpc_op_init(&s->shutdown_op, RPC_OP_SERVER_SHUTDOWN, s);
        rpc_context_object_added(c);

        channel_args = rpc_limits_to_channel_args(&s->limits, args);
        s->server = grpc_server_create(&channel_args, /* reserved= */ NULL);
        if (!s->server) {
                rpc_server_free(s);
                return -ENOMEM;
        }
        grpc_server_register_completion_queue(s->server, c->cq, /* reserved= */ NULL);

        *ret = s;
        return 0;
}

int rpc_server_add_method(
                RpcServer *s,
                const RpcMethod *method,
                rpc_call_handler_t handler,
                void *userdata) {

        RpcServerMethod *m;
        int r;

        assert(s);
        assert(method);
        assert(handler);

        if (!rpc_method_is_valid(method))
                return -EINVAL;
        if (s->started)
                return -EBUSY;
        for (size_t i = 0; i < s->n_methods; i++)
                if (streq_ptr(s->methods[i]->path, method->path))
                        return -EEXIST;

        r = server_method_new(s, method->path, method->kind, &m);
        if (r < 0)
                return r;
        m->handler = handler;
        m->userdata = userdata;
        m->registration = grpc_server_register_method(s->server, m->path, /* host= */ NULL,
                                                      GRPC_SRM_PAYLOAD_NONE, /* flags= */ 0);
        if (!m->registration) {
                s->methods[--s->n_methods] = server_method_free(m);
                return -EINVAL;
        }
        return 0;
}

int rpc_server_listen_tcp(RpcServer *s, const char *address, uint16_t *ret_port) {
        grpc_server_credentials *creds;
        int port;

        assert(s);
        assert(address);

        if (s->started)
                return -EBUSY;

        creds = grpc_insecure_server_credentials_create();
        if (!creds)
                return -ENOMEM;
        port = grpc_server_add_http2_port(s->server, address, creds);
        grpc_server_credentials_release(creds);
        if (port <= 0 || port > UINT16_MAX)
                return -EADDRNOTAVAIL;

        if (ret_port)
                *ret_port = (uint16_t) port;
        return 0;
}

int rpc_server_start(RpcServer *s) {
        RpcServerMethod *catch_all;
        int r;

        assert(s);
        assert(!s->handle_dropped);

        if (s->started)
                return 0;

        r = server_method_new(s, /* path= */ NULL, RPC_METHOD_BIDI_STREAMING, &catch_all);
        if (r < 0)
                return r;

        grpc_server_start(s->server);
        s->started = true;

        for (size_t i = 0; i < s->n_methods; i++) {
                r = server_method_request(s->methods[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* What connections and listeners need first: a stream socket, non-blocking, and a started server. */
static int server_prepare_fd(RpcServer *s, int fd, bool listening) {
        int r;

        assert(s);

        r = rpc_prepare_stream_fd(fd, listening);
        if (r < 0)
                return r;
        return rpc_server_start(s);
}

int rpc_server_add_connection_take(RpcServer *s, int fd) {
        _cleanup_close_ int fd_close = fd;
        grpc_server_credentials *creds;
        int r;

        r = server_prepare_fd(s, fd, /* listening= */ false);
        if (r < 0)
                return r;

        creds = grpc_insecure_server_credentials_create();
        if (!creds)
                return -ENOMEM;
        grpc_server_add_channel_from_fd(s->server, TAKE_FD(fd_close), creds);
        grpc_server_credentials_release(creds);
        return 0;
}

static int listener_on_io(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        RpcListener *l = userdata;

        for (unsigned i = 0; i < ACCEPT_PER_WAKEUP; i++) {
                int cfd, r;

                cfd = accept4(l->fd, /* addr= */ NULL, /* addrlen= */ NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (cfd < 0) {
                        r = -errno;
                        if (IN_SET(r, -EINTR, -ECONNABORTED))
                                continue;
                        if (r != -EAGAIN)
                                log_debug_errno(r, "rpc: accept() failed: %m");
                        break;
                }

                if (l->filter && l->filter(cfd, l->userdata) < 0) {
                        safe_close(cfd);
                        continue;
                }
                r = rpc_server_add_connection_take(l->server, cfd);
                if (r < 0)
                        log_debug_errno(r, "rpc: failed to serve an accepted connection: %m");
        }
        return 0;
}

int rpc_server_add_listener_take(RpcServer *s, int fd) {
        return rpc_server_add_filtered_listener_take(s, fd, /* filter= */ NULL, /* userdata= */ NULL);
}

int rpc_server_add_filtered_listener_take(RpcServer *s, int fd, rpc_accept_filter_t filter, void *userdata) {
        _cleanup_close_ int fd_close = fd;
        RpcListener *l, **a;
        int r;

        r = server_prepare_fd(s, fd, /* listening= */ true);
        if (r < 0)
                return r;

        a = reallocarray(s->listeners, s->n_listeners + 1, sizeof(RpcListener *));
        if (!a)
                return -ENOMEM;
        s->listeners = a;

        l = calloc(1, sizeof(RpcListener));
        if (!l)
                return -ENOMEM;
        l->server = s;
        l->fd = TAKE_FD(fd_close);
        l->filter = filter;
        l->userdata = userdata;
        s->listeners[s->n_listeners++] = l;

        r = sd_event_add_io(s->context->event, &l->source, l->fd, EPOLLIN, listener_on_io, l);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_description(l->source, "rpc-listener");
        r = sd_event_source_set_ratelimit(l->source, ACCEPT_RATELIMIT_INTERVAL_USEC, ACCEPT_RATELIMIT_BURST);
        if (r < 0)
                goto fail;
        return 0;

fail:
        s->listeners[--s->n_listeners] = listener_free(l);
        return r;
}

RpcServer *rpc_server_free(RpcServer *s) {
        if (!s)
                return NULL;

        assert(!s->handle_dropped);
        s->handle_dropped = true;

        for (size_t i = 0; i < s->n_listeners; i++)
                s->listeners[i] = listener_free(s->listeners[i]);
        s->n_listeners = 0;

        /* grpc_server_destroy() needs a completed shutdown, even for a server that never started. */
        if (s->server) {
                grpc_server_shutdown_and_notify(s->server, s->context->cq, &s->shutdown_op);
                s->n_refs++;
                grpc_server_cancel_all_calls(s->server);
        }

        rpc_context_handle_dropped(s->context);
        server_unref(s);
        return NULL;
}
