/* SPDX-License-Identifier: MIT OR Apache-2.0 */

/* RpcCall: one gRPC call on either side, as three pipelines of batches.
 *
 *   send:    at most one batch in flight (gRPC allows one SEND_MESSAGE at a time): initial metadata, then
 *            the queued messages one by one, and last the half-close (client) or the status (server), which
 *            rides with the last message when it is already requested.
 *   receive: one RECV_MESSAGE at a time, re-armed as soon as one completes, until the peer's end or an
 *            error.
 *   status:  RECV_STATUS_ON_CLIENT or RECV_CLOSE_ON_SERVER, started with the call; completes when it is
 *            over.
 *
 * Each batch in flight holds a reference on the RpcCall, and so does the caller's handle; the last one tears
 * the call down.  That is what lets the owner free a call from inside its own callbacks, or while gRPC still
 * has batches of it: rpc_call_free() drops the handle, clears the handlers and cancels the call, and the
 * batches, which complete quickly once cancelled, release the rest.  "closed" is dispatched once the status
 * is known and no send or receive batch is left, so it is always the last callback. */

#include <assert.h>
#include <stdio.h>

#include <grpc/byte_buffer_reader.h>

#include "basic/log.h"
#include "rpc/rpc-internal.h"

/* The status message travels in an HTTP/2 trailer; peers limit their size (8 KiB by default). */
#define FINISH_MESSAGE_MAX 1024U

typedef struct RpcMessage {
        struct RpcMessage *next;
        grpc_slice slice;
        size_t size;
        bool batchable; /* rpc_call_send_batched(): may share a gRPC message with its batchable neighbours */
} RpcMessage;

struct RpcCall {
        RpcContext *context;
        RpcServer *server; /* server side: the server we hold a reference on */
        grpc_call *gcall;
        char *method;
        RpcMethodKind kind;
        bool is_server;
        RpcLimits limits;

        RpcCallHandlers handlers;
        void *userdata;

        unsigned n_refs;     /* the handle + one per batch in flight */
        bool handle_dropped; /* rpc_call_free() was called */
        bool closed;         /* "closed" was dispatched (or would have been) */
        bool user_cancelled; /* rpc_call_cancel(): no more messages are delivered */

        /* Sending. */
        RpcOp send_op;
        bool send_pending;
        bool send_quiet;  /* the batch in flight does not wake the loop when done (see rpc-context.c) */
        bool send_broken; /* a send batch failed: the call is ending */
        RpcMessage *queue_head, *queue_tail;
        RpcMessage *sending;           /* the messages in the send batch (a list) */
        grpc_byte_buffer *send_buffer; /* ... as one gRPC message */
        size_t n_queued, queued_bytes; /* including those being sent */
        usec_t hold_until;             /* rpc_call_send_batched() with a delay: the queue waits until then */
        usec_t last_send;              /* when the last batch with a message started (the loop's clock) */
        sd_event_source *hold_timer;
        uint64_t n_sent;               /* accepted by rpc_call_send(), ever */
        bool initial_metadata_sent;
        bool close_requested; /* rpc_call_close_send() or rpc_call_finish() */
        bool close_started;   /* ... and it is in a batch */
        RpcStatus finish_status;
        char *finish_message;

        /* Receiving. */
        RpcOp recv_op;
        bool recv_pending;
        bool recv_done;
        bool recv_initial_metadata_started;
        grpc_byte_buffer *recv_buffer;
        grpc_metadata_array recv_initial_metadata; /* client */
        uint64_t n_received;

        /* Status. */
        RpcOp status_op;
        bool status_pending;
        bool status_done;
        grpc_metadata_array trailing_metadata; /* client */
        grpc_status_code status;               /* client */
        grpc_slice status_details;             /* client: received; server: sent */
        int cancelled;                         /* server */
};

static bool kind_single_request(RpcMethodKind k) {
        return IN_SET(k, RPC_METHOD_UNARY, RPC_METHOD_SERVER_STREAMING);
}

static bool kind_single_response(RpcMethodKind k) {
        return IN_SET(k, RPC_METHOD_UNARY, RPC_METHOD_CLIENT_STREAMING);
}

static void message_free(RpcMessage *m) {
        grpc_slice_unref(m->slice);
        free(m);
}

static void message_free_list(RpcMessage *m) {
        while (m) {
                RpcMessage *next = m->next;
                message_free(m);
                m = next;
        }
}

static void call_drop_queue(RpcCall *c) {
        while (c->queue_head) {
                RpcMessage *m = c->queue_head;

                c->queue_head = m->next;
                c->n_queued--;
                c->queued_bytes -= m->size;
                message_free(m);
        }
        c->queue_tail = NULL;
        c->hold_until = 0;
}

static void call_destroy(RpcCall *c) {
        assert(!c->send_pending && !c->recv_pending && !c->status_pending);

        call_drop_queue(c);
        c->hold_timer = sd_event_source_disable_unref(c->hold_timer);
        if (c->recv_buffer)
                grpc_byte_buffer_destroy(c->recv_buffer);
        grpc_metadata_array_destroy(&c->recv_initial_metadata);
        grpc_metadata_array_destroy(&c->trailing_metadata);
        grpc_slice_unref(c->status_details);
        if (c->gcall)
                grpc_call_unref(c->gcall);
        if (c->server)
                rpc_server_call_gone(c->server);
        rpc_context_object_removed(c->context);
        free(c->finish_message);
        free(c->method);
        free(c);
}

static void call_unref(RpcCall *c) {
        assert(c->n_refs > 0);
        if (--c->n_refs == 0)
                call_destroy(c);
}

static int call_start_batch(RpcCall *c, const grpc_op *ops, size_t n, RpcOp *tag) {
        grpc_call_error e;

        e = grpc_call_start_batch(c->gcall, ops, n, tag, /* reserved= */ NULL);
        if (e != GRPC_CALL_OK)
                return rpc_call_error_to_errno(e);
        c->n_refs++;
        return 0;
}

/* A batch could not even be started: the call is unusable, end it. */
static void call_fail(RpcCall *c, int error, const char *what) {
        char buf[128];

        log_debug_errno(error, "rpc: %s on '%s' failed: %m", what, c->method);
        (void) snprintf(buf, sizeof(buf), "%s failed: %s", what, strerror(-error));
        (void) grpc_call_cancel_with_status(c->gcall, GRPC_STATUS_INTERNAL, buf, /* reserved= */ NULL);
}

/* The messages at the head of the queue that go out as one gRPC message: the head alone, or with the
 * batchable messages that follow a batchable head, within the batch limits.  *ret_last gets the last. */
static size_t call_batch(RpcCall *c, RpcMessage **ret_last) {
        RpcMessage *last = c->queue_head;
        size_t n = 1, bytes = last->size;

        if (last->batchable && bytes <= RPC_BATCH_MAX_SIZE)
                for (RpcMessage *m = last->next; m && m->batchable; m = m->next) {
                        if (n >= RPC_BATCH_MAX_MESSAGES || m->size > RPC_BATCH_MAX_SIZE - bytes)
                                break;
                        n++;
                        bytes += m->size;
                        last = m;
                }

        *ret_last = last;
        return n;
}

/* The messages of a batch, their bytes one after the other, as one byte buffer (their slices, uncopied). */
static grpc_byte_buffer *batch_buffer(RpcMessage *first, size_t n) {
        grpc_slice one[1], *slices = one;
        grpc_byte_buffer *bb;

        if (n > 1) {
                slices = calloc(n, sizeof(grpc_slice));
                if (!slices)
                        return NULL;
        }
        for (size_t i = 0; i < n; i++, first = first->next)
                slices[i] = first->slice;
        bb = grpc_raw_byte_buffer_create(slices, n);
        if (slices != one)
                free(slices);
        return bb;
}

/* Something waits for the send batch in flight to complete: it must wake the loop after all. */
static void call_send_unquiet(RpcCall *c) {
        if (!c->send_pending || !c->send_quiet)
                return;
        c->send_quiet = false;
        rpc_context_op_unquiet(c->context, &c->send_op);
}

static void call_send_next(RpcCall *c) {
        grpc_op ops[3] = {}, *o = ops;
        RpcMessage *m, *last = NULL;
        grpc_byte_buffer *bb = NULL;
        size_t n = 0;
        bool close, quiet;
        int r;

        if (c->closed)
                return;
        /* Batchable messages wait for company until the hold ends (its timer, or a message that cannot
         * wait). */
        if (c->hold_until > 0 && !c->close_requested)
                return;
        /* We are called because there is more to send: the batch in flight must tell us when it is done. */
        if (c->send_pending) {
                call_send_unquiet(c);
                return;
        }
        if (c->send_broken)
                return;

        m = c->queue_head;
        if (m)
                n = call_batch(c, &last);
        close = c->close_requested && !c->close_started && (!m || !last->next);
        /* Initial metadata alone only for a client: the server learns of a call from it. */
        if (!m && !close && (c->initial_metadata_sent || c->is_server))
                return;

        if (!c->initial_metadata_sent)
                *o++ = (grpc_op) { .op = GRPC_OP_SEND_INITIAL_METADATA };
        if (m) {
                bb = batch_buffer(m, n);
                if (!bb) {
                        c->send_broken = true;
                        call_fail(c, -ENOMEM, "Sending");
                        return;
                }
                *o++ = (grpc_op) { .op = GRPC_OP_SEND_MESSAGE, .data.send_message.send_message = bb };
        }
        if (close && c->is_server) {
                /* Never a static slice over our memory: gRPC may take such a slice for a constant and cache
                 * it by address (its HPACK encoder does that with method paths). */
                if (c->finish_message) {
                        grpc_slice_unref(c->status_details);
                        c->status_details = grpc_slice_from_copied_string(c->finish_message);
                }
                *o++ = (grpc_op) {
                        .op = GRPC_OP_SEND_STATUS_FROM_SERVER,
                        .data.send_status_from_server.status = (grpc_status_code) c->finish_status,
                        .data.send_status_from_server.status_details = c->finish_message ? &c->status_details
                                                                                         : NULL,
                };
        } else if (close)
                *o++ = (grpc_op) { .op = GRPC_OP_SEND_CLOSE_FROM_CLIENT };

        /* Nothing to do when it completes, unless something comes to wait for it meanwhile: it may complete
         * without waking the loop. */
        quiet = m && !last->next && !c->close_requested && !c->handlers.sent && !c->handle_dropped;
        rpc_context_op_set_quiet(c->context, &c->send_op, quiet);
        r = call_start_batch(c, ops, (size_t) (o - ops), &c->send_op);
        if (r < 0) {
                if (bb)
                        grpc_byte_buffer_destroy(bb);
                c->send_broken = true;
                call_fail(c, r, "Sending");
                return;
        }

        c->send_pending = true;
        c->send_quiet = quiet;
        c->initial_metadata_sent = true;
        if (m)
                (void) sd_event_now(c->context->event, CLOCK_MONOTONIC, &c->last_send);
        if (close)
                c->close_started = true;
        if (m) {
                c->queue_head = last->next;
                if (!c->queue_head)
                        c->queue_tail = NULL;
                last->next = NULL;
                c->sending = m;
                c->send_buffer = bb;
        }
}

static void call_recv_next(RpcCall *c) {
        grpc_op ops[2] = {}, *o = ops;
        int r;

        if (c->recv_pending || c->recv_done || c->closed)
                return;

        if (!c->is_server && !c->recv_initial_metadata_started)
                *o++ = (grpc_op) {
                        .op = GRPC_OP_RECV_INITIAL_METADATA,
                        .data.recv_initial_metadata.recv_initial_metadata = &c->recv_initial_metadata,
                };
        *o++ = (grpc_op) { .op = GRPC_OP_RECV_MESSAGE, .data.recv_message.recv_message = &c->recv_buffer };

        r = call_start_batch(c, ops, (size_t) (o - ops), &c->recv_op);
        if (r < 0) {
                c->recv_done = true;
                call_fail(c, r, "Receiving");
                return;
        }
        c->recv_pending = true;
        c->recv_initial_metadata_started = true;
}

static int call_finish_internal(RpcCall *c, RpcStatus status, const char *message) {
        char *m = NULL;

        if (message) {
                m = strndup(message, FINISH_MESSAGE_MAX);
                if (!m)
                        return -ENOMEM;
        }
        free(c->finish_message);
        c->finish_message = m;
        c->finish_status = status;
        c->close_requested = true;
        call_send_next(c);
        return 0;
}

void rpc_call_abort(RpcCall *c, int error, const char *message) {
        RpcStatus status = rpc_status_from_errno(error);

        assert(error < 0);

        if (c->closed)
                return;
        if (!message)
                message = strerror(-error);
        log_debug("rpc: aborting call '%s': %s", c->method, message);

        if (c->is_server) {
                /* A server that already finished keeps the status it chose: cancelling would lose it. */
                if (c->close_requested || call_finish_internal(c, status, message) >= 0)
                        return;
        } else
                c->user_cancelled = true;
        c->send_broken = true;
        call_drop_queue(c);
        (void) grpc_call_cancel_with_status(c->gcall, (grpc_status_code) status, message,
                                            /* reserved= */ NULL);
}

static void call_maybe_closed(RpcCall *c) {
        _cleanup_free_ char *details = NULL;
        const char *message;
        RpcStatus status;

        if (c->closed || !c->status_done || c->send_pending || c->recv_pending)
                return;

        c->closed = true;
        call_drop_queue(c);

        if (c->is_server) {
                if (c->cancelled) {
                        status = RPC_STATUS_CANCELLED;
                        message = "The call was cancelled, or its connection broke";
                } else {
                        status = c->finish_status;
                        message = c->finish_message;
                }
        } else {
                status = (RpcStatus) c->status;
                details = strndup((const char *) GRPC_SLICE_START_PTR(c->status_details),
                                  GRPC_SLICE_LENGTH(c->status_details));
                message = details;
                if (status == RPC_STATUS_OK && kind_single_response(c->kind) && c->n_received == 0) {
                        status = RPC_STATUS_INTERNAL;
                        message = "The server sent no response";
                }
        }
        if (status < 0 || status >= _RPC_STATUS_MAX)
                status = RPC_STATUS_UNKNOWN;

        if (c->handlers.closed)
                c->handlers.closed(c, status, strempty(message), c->userdata);
}

static void call_on_send(RpcCall *c, bool ok) {
        RpcMessage *m = TAKE_PTR(c->sending);
        bool sent_any = m;

        c->send_pending = false;
        c->send_quiet = false;
        if (c->send_buffer)
                grpc_byte_buffer_destroy(TAKE_PTR(c->send_buffer));
        for (RpcMessage *i = m; i; i = i->next) {
                c->n_queued--;
                c->queued_bytes -= i->size;
        }
        message_free_list(m);

        if (!ok) {
                /* The call ended under us; its status says why. */
                c->send_broken = true;
                call_drop_queue(c);
        } else if (sent_any && c->handlers.sent)
                c->handlers.sent(c, c->userdata);

        call_send_next(c);
        call_maybe_closed(c);
}

static void call_deliver(RpcCall *c, grpc_byte_buffer *bb) {
        grpc_byte_buffer_reader reader;
        grpc_slice s;
        int r;

        if (!grpc_byte_buffer_reader_init(&reader, bb)) {
                grpc_byte_buffer_destroy(bb);
                rpc_call_abort(c, -EBADMSG, "Failed to decompress a message");
                return;
        }
        s = grpc_byte_buffer_reader_readall(&reader);
        grpc_byte_buffer_reader_destroy(&reader);
        grpc_byte_buffer_destroy(bb);

        if (c->handlers.message && !c->user_cancelled) {
                r = c->handlers.message(c, GRPC_SLICE_START_PTR(s), GRPC_SLICE_LENGTH(s), c->userdata);
                if (r < 0 && !c->handle_dropped)
                        rpc_call_abort(c, r, /* message= */ NULL);
        }
        grpc_slice_unref(s);
}

static void call_on_end(RpcCall *c) {
        int r;

        if (c->is_server && kind_single_request(c->kind) && c->n_received == 0) {
                rpc_call_abort(c, -EPROTO, "The client half-closed without a request");
                return;
        }

        if (c->handlers.end && !c->user_cancelled) {
                r = c->handlers.end(c, c->userdata);
                if (r < 0 && !c->handle_dropped)
                        rpc_call_abort(c, r, /* message= */ NULL);
        }
}

static void call_on_recv(RpcCall *c, bool ok) {
        grpc_byte_buffer *bb = TAKE_PTR(c->recv_buffer);
        bool one_expected;

        c->recv_pending = false;

        if (!ok || !bb) {
                /* NULL: the peer's end.  !ok: the call failed; its status says why. */
                c->recv_done = true;
                if (bb)
                        grpc_byte_buffer_destroy(bb);
                if (ok)
                        call_on_end(c);
                call_maybe_closed(c);
                return;
        }

        c->n_received++;
        one_expected = c->is_server ? kind_single_request(c->kind) : kind_single_response(c->kind);
        if (c->n_received > 1 && one_expected) {
                c->recv_done = true;
                grpc_byte_buffer_destroy(bb);
                rpc_call_abort(c, -EPROTO,
                               c->is_server ? "More than one request on a single-request method"
                                            : "More than one response on a single-response method");
                call_maybe_closed(c);
                return;
        }

        /* Re-arm first, so that the next message is on its way while this one is handled. */
        call_recv_next(c);
        call_deliver(c, bb);
        call_maybe_closed(c);
}

void rpc_call_dispatch(RpcOp *op) {
        RpcCall *c = op->owner;

        /* The batch's reference keeps c alive through the callbacks; drop it at the end. */
        switch (op->type) {
        case RPC_OP_CALL_SEND:
                call_on_send(c, op->ok);
                break;
        case RPC_OP_CALL_RECV:
                call_on_recv(c, op->ok);
                break;
        case RPC_OP_CALL_STATUS:
                c->status_pending = false;
                c->status_done = true;
                call_send_unquiet(c); /* "closed" waits for it */
                call_maybe_closed(c);
                break;
        case RPC_OP_SERVER_REQUEST:
        case RPC_OP_SERVER_SHUTDOWN:
        case _RPC_OP_TYPE_MAX:
                assert(!"not a call op");
        }

        call_unref(c);
}

static int call_new(
                RpcContext *ctx,
                const char *method,
                RpcMethodKind kind,
                const RpcLimits *limits,
                RpcCall **ret) {

        RpcCall *c;

        c = calloc(1, sizeof(RpcCall));
        if (!c)
                return -ENOMEM;

        *c = (RpcCall) {
                .context = ctx,
                .kind = kind,
                .limits = *limits,
                .n_refs = 1,
                .status = GRPC_STATUS_UNKNOWN,
                .status_details = grpc_empty_slice(),
        };
        rpc_op_init(&c->send_op, RPC_OP_CALL_SEND, c);
        rpc_op_init(&c->recv_op, RPC_OP_CALL_RECV, c);
        rpc_op_init(&c->status_op, RPC_OP_CALL_STATUS, c);
        grpc_metadata_array_init(&c->recv_initial_metadata);
        grpc_metadata_array_init(&c->trailing_metadata);
        rpc_context_object_added(ctx);

        c->method = strdup(method);
        if (!c->method) {
                rpc_call_free(c);
                return -ENOMEM;
        }

        *ret = c;
        return 0;
}

int rpc_call_new_server(
                RpcContext *ctx,
                grpc_call *gcall,
                RpcServer *server,
                const char *method,
                RpcMethodKind kind,
                const RpcLimits *limits,
                RpcCall **ret) {

        RpcCall *c;
        int r;

        assert(ctx);
        assert(gcall);
        assert(server);
        assert(ret);

        r = call_new(ctx, method, kind, limits, &c);
        if (r < 0) {
                (void) grpc_call_cancel(gcall, /* reserved= */ NULL);
                grpc_call_unref(gcall);
                rpc_server_call_gone(server);
                return r;
        }
        c->gcall = gcall;
        c->server = server;
        c->is_server = true;

        *ret = c;
        return 0;
}

int rpc_call_start_server(RpcCall *c) {
        grpc_op op = {
                .op = GRPC_OP_RECV_CLOSE_ON_SERVER,
                .data.recv_close_on_server.cancelled = &c->cancelled,
        };
        int r;

        assert(c->is_server);

        r = call_start_batch(c, &op, 1, &c->status_op);
        if (r < 0)
                return r;
        c->status_pending = true;

        call_recv_next(c);
        return 0;
}

int rpc_call_new_client(
                RpcContext *ctx,
                grpc_channel *channel,
                const RpcMethod *method,
                const RpcLimits *limits,
                const RpcCallHandlers *handlers,
                void *userdata,
                RpcCall **ret) {

        _cleanup_(rpc_call_freep) RpcCall *c = NULL;
        grpc_slice path;
        grpc_op op;
        int r;

        assert(ctx);
        assert(channel);
        assert(method);
        assert(ret);

        r = call_new(ctx, method->path, method->kind, limits, &c);
        if (r < 0)
                return r;
        rpc_call_set_handlers(c, handlers, userdata);

        /* A copy, not grpc_slice_from_static_string(c->method): gRPC's HPACK encoder remembers static slices
         * by address, and the next call's path may be allocated at the same address. */
        path = grpc_slice_from_copied_string(c->method);
        c->gcall = grpc_channel_create_call(channel, /* parent_call= */ NULL, GRPC_PROPAGATE_DEFAULTS,
                                            ctx->cq, path, /* host= */ NULL,
                                            gpr_inf_future(GPR_CLOCK_REALTIME), /* reserved= */ NULL);
        grpc_slice_unref(path);
        if (!c->gcall)
                return -ENOMEM;

        op = (grpc_op) {
                .op = GRPC_OP_RECV_STATUS_ON_CLIENT,
                .data.recv_status_on_client.trailing_metadata = &c->trailing_metadata,
                .data.recv_status_on_client.status = &c->status,
                .data.recv_status_on_client.status_details = &c->status_details,
        };
        r = call_start_batch(c, &op, 1, &c->status_op);
        if (r < 0)
                return r;
        c->status_pending = true;

        call_send_next(c); /* the initial metadata: the server learns of the call */
        call_recv_next(c);

        *ret = TAKE_PTR(c);
        return 0;
}

void rpc_call_set_handlers(RpcCall *c, const RpcCallHandlers *handlers, void *userdata) {
        assert(c);
        assert(!c->handle_dropped);

        c->handlers = handlers ? *handlers : (RpcCallHandlers) {};
        c->userdata = userdata;
        if (c->handlers.sent)
                call_send_unquiet(c); /* "sent" is owed for the batch in flight */
}

void *rpc_call_get_userdata(RpcCall *c) {
        assert(c);
        return c->userdata;
}

const char *rpc_call_get_method(RpcCall *c) {
        assert(c);
        return c->method;
}

RpcMethodKind rpc_call_get_kind(RpcCall *c) {
        assert(c);
        return c->kind;
}

bool rpc_call_is_server(RpcCall *c) {
        assert(c);
        return c->is_server;
}

bool rpc_call_is_closed(RpcCall *c) {
        assert(c);
        return c->closed;
}

static int call_hold_end(sd_event_source *s, uint64_t usec, void *userdata) {
        RpcCall *c = userdata;

        c->hold_until = 0;
        call_send_next(c);
        return 0;
}

/* Batchable messages may wait until "until" for company (the earliest such time of the queue wins). */
static int call_hold(RpcCall *c, usec_t until) {
        int r;

        if (c->hold_until > 0 && c->hold_until <= until)
                return 0;
        if (c->hold_timer)
                r = sd_event_source_set_time(c->hold_timer, until);
        else {
                r = sd_event_add_time(c->context->event, &c->hold_timer, CLOCK_MONOTONIC, until,
                                      /* accuracy= */ 1, call_hold_end, c);
                if (r >= 0)
                        (void) sd_event_source_set_description(c->hold_timer, "rpc-send-hold");
        }
        if (r >= 0)
                r = sd_event_source_set_enabled(c->hold_timer, SD_EVENT_ONESHOT);
        if (r < 0)
                return r;
        c->hold_until = until;
        return 0;
}

static void call_release_hold(RpcCall *c) {
        if (c->hold_until == 0)
                return;
        c->hold_until = 0;
        (void) sd_event_source_set_enabled(c->hold_timer, SD_EVENT_OFF);
}

/* hold: the message may wait that long; pace: it may wait until that long after the last send. */
static int call_queue(RpcCall *c, const void *data, size_t size, bool batchable, usec_t hold, usec_t pace) {
        RpcMessage *m;
        usec_t until = 0;
        int r;

        assert(c);
        assert(data || size == 0);

        if (c->closed || c->send_broken)
                return -EPIPE;
        if (c->close_requested)
                return -ESHUTDOWN;
        if (c->is_server && kind_single_response(c->kind) && c->n_sent > 0)
                return -EPROTO;
        if (size > c->limits.max_send_queue_size - c->queued_bytes)
                return -ENOBUFS;

        if (hold > 0 || pace > 0) {
                usec_t t;

                r = sd_event_now(c->context->event, CLOCK_MONOTONIC, &t);
                if (r < 0)
                        return r;
                if (hold > 0)
                        until = t + MIN(hold, RPC_BATCH_MAX_HOLD);
                else if (c->last_send > 0 && t < c->last_send + MIN(pace, RPC_BATCH_MAX_HOLD))
                        until = c->last_send + MIN(pace, RPC_BATCH_MAX_HOLD);
        }

        m = malloc(sizeof(RpcMessage));
        if (!m)
                return -ENOMEM;
        *m = (RpcMessage) {
                .slice = grpc_slice_from_copied_buffer(data ?: "", size),
                .size = size,
                .batchable = batchable,
        };

        if (c->queue_tail)
                c->queue_tail->next = m;
        else
                c->queue_head = m;
        c->queue_tail = m;
        c->n_queued++;
        c->queued_bytes += size;
        c->n_sent++;

        /* The one request of a unary or server-streaming call: that is all the client will send. */
        if (!c->is_server && kind_single_request(c->kind))
                c->close_requested = true;

        /* A message that may not wait takes the held ones with it; one that may wait starts (or shortens)
         * the hold.  Should the timer fail, it does not wait. */
        if (until == 0 || call_hold(c, until) < 0)
                call_release_hold(c);
        call_send_next(c);
        return 0;
}

int rpc_call_send(RpcCall *c, const void *data, size_t size) {
        return call_queue(c, data, size, /* batchable= */ false, /* hold= */ 0, /* pace= */ 0);
}

int rpc_call_send_batched(RpcCall *c, const void *data, size_t size, usec_t hold) {
        return call_queue(c, data, size, /* batchable= */ true, hold, /* pace= */ 0);
}

int rpc_call_send_paced(RpcCall *c, const void *data, size_t size, usec_t interval) {
        return call_queue(c, data, size, /* batchable= */ true, /* hold= */ 0, interval);
}

void rpc_call_get_send_queue(RpcCall *c, size_t *ret_messages, size_t *ret_bytes) {
        assert(c);

        if (ret_messages)
                *ret_messages = c->n_queued;
        if (ret_bytes)
                *ret_bytes = c->queued_bytes;
}

int rpc_call_close_send(RpcCall *c) {
        assert(c);

        if (c->is_server)
                return -EINVAL;
        if (c->close_requested)
                return 0;
        if (c->closed || c->send_broken)
                return -EPIPE;

        c->close_requested = true;
        call_send_next(c);
        return 0;
}

int rpc_call_finish(RpcCall *c, RpcStatus status, const char *message) {
        assert(c);

        if (!c->is_server || status < 0 || status >= _RPC_STATUS_MAX)
                return -EINVAL;
        if (c->close_requested)
                return -EALREADY;
        if (c->closed || c->send_broken)
                return -EPIPE;

        return call_finish_internal(c, status, message);
}

int rpc_call_cancel(RpcCall *c) {
        grpc_call_error e;

        assert(c);

        if (c->closed)
                return 0;

        c->user_cancelled = true;
        c->send_broken = true;
        call_drop_queue(c);
        e = grpc_call_cancel(c->gcall, /* reserved= */ NULL);
        return rpc_call_error_to_errno(e);
}

RpcCall *rpc_call_free(RpcCall *c) {
        if (!c)
                return NULL;

        assert(!c->handle_dropped);
        c->handle_dropped = true;
        c->handlers = (RpcCallHandlers) {};
        c->userdata = NULL;

        /* A server that finished may leave: its queued messages and status still go out.  Anything else ends
         * now. */
        if (c->gcall && !c->closed && !(c->is_server && c->close_requested))
                (void) rpc_call_cancel(c);

        rpc_context_handle_dropped(c->context);
        call_unref(c);
        return NULL;
}
