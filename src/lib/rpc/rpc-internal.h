/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* Shared between the rpc-*.c files only. */

#include <assert.h>
#include <pthread.h>

#include <grpc/byte_buffer.h>
#include <grpc/grpc.h>

#include "rpc/rpc.h"

/* What a completion-queue tag is.  Every tag we give gRPC is an RpcOp embedded in the object it concerns;
 * the completion thread links completed ones into the context's queue through op->next. */
typedef enum RpcOpType {
        RPC_OP_CALL_SEND,       /* a send batch: initial metadata, a message, half-close or status */
        RPC_OP_CALL_RECV,       /* a receive batch: one message (and the client's initial metadata) */
        RPC_OP_CALL_STATUS,     /* client: RECV_STATUS_ON_CLIENT; server: RECV_CLOSE_ON_SERVER */
        RPC_OP_SERVER_REQUEST,  /* a new call on a method (or on any unregistered method) */
        RPC_OP_SERVER_SHUTDOWN, /* grpc_server_shutdown_and_notify() is done */
        _RPC_OP_TYPE_MAX,
} RpcOpType;

typedef struct RpcOp {
        RpcOpType type;
        void *owner;
        bool ok;              /* written by the completion thread, read by the loop after the queue lock */
        struct RpcOp *next;   /* in RpcContext's queue */
        /* Under the context's lock.  quiet: when it completes successfully, the completion thread queues it
         * without waking the loop (a send that nothing waits for: the next wake-up dispatches it).  queued:
         * it is in the queue, not yet taken by the loop. */
        bool quiet, queued;
} RpcOp;

static inline void rpc_op_init(RpcOp *op, RpcOpType type, void *owner) {
        *op = (RpcOp) { .type = type, .owner = owner };
}

struct RpcContext {
        sd_event *event;
        sd_event_source *event_source;
        int event_fd;

        grpc_completion_queue *cq;
        bool grpc_initialized;
        pthread_t thread;
        bool thread_started;

        pthread_mutex_t lock;  /* protects queue_head/queue_tail, wake_pending, RpcOp's quiet and queued */
        RpcOp *queue_head, *queue_tail;
        bool wake_pending;     /* the eventfd was (is being) written, and the loop has not taken the queue */

        /* Objects not yet torn down (servers, channels, calls), and how many of those the caller still
         * holds. rpc_context_free() waits for the former to reach zero; the latter must already be. */
        size_t n_objects;
        size_t n_handles;
};

/* Marks an op that is about to be started as quiet or not (see RpcOp). */
void rpc_context_op_set_quiet(RpcContext *c, RpcOp *op, bool quiet);
/* Something now waits for a quiet op: its completion wakes the loop after all (at once if it is already
 * queued). */
void rpc_context_op_unquiet(RpcContext *c, RpcOp *op);

/* Completion handlers, called on the loop thread for each completed op. */
void rpc_call_dispatch(RpcOp *op);
void rpc_server_dispatch(RpcOp *op);

/* Server side: wraps a new grpc_call that a server method received.  Takes the grpc_call reference and one
 * reference on the server (released with rpc_server_call_gone()) in every case. */
int rpc_call_new_server(
                RpcContext *c,
                grpc_call *gcall,
                RpcServer *server,
                const char *method,
                RpcMethodKind kind,
                const RpcLimits *limits,
                RpcCall **ret);
/* Starts the status and receive batches of a server call. */
int rpc_call_start_server(RpcCall *call);
void rpc_server_call_gone(RpcServer *s);
/* Client side: creates and starts a call. */
int rpc_call_new_client(
                RpcContext *c,
                grpc_channel *channel,
                const RpcMethod *method,
                const RpcLimits *limits,
                const RpcCallHandlers *handlers,
                void *userdata,
                RpcCall **ret);
/* Aborts a call because of a local error: a server finishes it with the status for error (unless it already
 * finished: then it keeps that status), a client cancels it with that status and takes no more messages. */
void rpc_call_abort(RpcCall *call, int error, const char *message);

/* The caller's limits (NULL = all defaults) with the defaults filled in; -ERANGE if out of range. */
int rpc_limits_resolve(const RpcLimits *limits, RpcLimits *ret);
/* Channel arguments for limits (max receive message size, retries off).  args must have room for
 * RPC_CHANNEL_ARGS_MAX entries; the result points into it. */
#define RPC_CHANNEL_ARGS_MAX 4
grpc_channel_args rpc_limits_to_channel_args(
                const RpcLimits *limits,
                grpc_arg args[static RPC_CHANNEL_ARGS_MAX]);

static inline bool rpc_method_is_valid(const RpcMethod *m) {
        return m->path && m->path[0] == '/' && m->kind >= 0 && m->kind < _RPC_METHOD_KIND_MAX;
}

/* Checks that fd is a stream socket and makes it non-blocking (gRPC's poller needs that). */
int rpc_prepare_stream_fd(int fd, bool listening);

/* gRPC's call errors to errno (rpc-error.c, next to the status table). */
int rpc_call_error_to_errno(grpc_call_error e);

/* Object accounting for rpc_context_free(). */
static inline void rpc_context_object_added(RpcContext *c) {
        c->n_objects++;
        c->n_handles++;
}
static inline void rpc_context_handle_dropped(RpcContext *c) {
        assert(c->n_handles > 0);
        c->n_handles--;
}
static inline void rpc_context_object_removed(RpcContext *c) {
        assert(c->n_objects > 0);
        c->n_objects--;
}
