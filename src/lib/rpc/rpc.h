/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* gRPC (the core C library) bridged into sd-event, moving opaque byte messages.
 *
 * Callers pack and unpack their protobuf-c messages themselves; this layer only knows method paths
 * ("/maelstrom.v1.JobService/Session"), the four kinds of methods, bytes, and statuses.  The broker, the
 * workers (also the transient local worker) and the clients all use it.
 *
 * Threads and callbacks.  An RpcContext owns one gRPC completion queue and one thread that loops on it; each
 * completed operation is handed to the sd-event loop through a locked queue and an eventfd.  Every callback
 * of this module runs on the loop's thread, from the loop's dispatch, and never from inside a function of
 * this module: rpc_call_send(), rpc_call_cancel(), rpc_call_free(), ... never call back synchronously.
 * Nothing in this module blocks, except rpc_context_free(), which waits for gRPC to finish what was
 * cancelled. gRPC starts threads of its own in rpc_context_new(): block the signals that sd-event handles
 * (SIGCHLD, SIGTERM, ...) before calling it, so that those threads inherit the mask.
 *
 * Ownership.  Each object has one owner, the caller, who frees it with its _free() function, also from
 * inside any of its callbacks.  After a _free(), no callback of that object is called again.  Operations
 * that gRPC still has in flight when an object is freed are cancelled and reaped in the background.  Free
 * every call, server and channel before the context.
 *
 * A call's life, on both sides:
 *   - "message" for each message received, in order; receiving is continuous.
 *   - "end" when the peer will send no more messages (the client half-closed; on the client, the server
 *     finished).
 *   - "sent" each time queued outgoing messages (one, or a batch: see rpc_call_send_batched()) have been
 *     handed to the transport (for backpressure, with rpc_call_get_send_queue()).
 *   - "closed" exactly once, last, with the call's status: the one the server finished with, or CANCELLED
 *     when either side cancelled, or UNAVAILABLE / CANCELLED when the connection broke or the peer vanished,
 *     or RESOURCE_EXHAUSTED when a message was over the size limit.  After it, rpc_call_send() fails; the
 *     owner still frees the call.
 *
 * Errors are negative errnos.  gRPC statuses map to errnos through one table, rpc_status_to_errno() and
 * rpc_status_from_errno(); the same table translates gRPC's call errors. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "basic/macro.h"
#include "basic/time-util.h"
#include "rpc/rpc-forward.h"

/* Limits (see RpcLimits). */
#define RPC_MAX_RECEIVE_MESSAGE_SIZE_DEFAULT ((size_t) 64 * 1024 * 1024)
#define RPC_MAX_SEND_QUEUE_SIZE_DEFAULT ((size_t) 256 * 1024 * 1024)
#define RPC_MAX_CALLS_DEFAULT 4096U
/* rpc_call_send_batched(): at most this many messages and bytes go out together, and a message waits at most
 * this long for company.  A receiver of batches can refuse more than RPC_BATCH_MAX_MESSAGES items in one
 * message: no sender of ours makes more. */
#define RPC_BATCH_MAX_MESSAGES 1024U
#define RPC_BATCH_MAX_SIZE ((size_t) 1024 * 1024)
#define RPC_BATCH_MAX_HOLD ((usec_t) 1000 * 1000)

/* The gRPC status codes, with gRPC's numbers (they are part of the wire protocol). */
typedef enum RpcStatus {
        RPC_STATUS_OK = 0,
        RPC_STATUS_CANCELLED = 1,
        RPC_STATUS_UNKNOWN = 2,
        RPC_STATUS_INVALID_ARGUMENT = 3,
        RPC_STATUS_DEADLINE_EXCEEDED = 4,
        RPC_STATUS_NOT_FOUND = 5,
        RPC_STATUS_ALREADY_EXISTS = 6,
        RPC_STATUS_PERMISSION_DENIED = 7,
        RPC_STATUS_RESOURCE_EXHAUSTED = 8,
        RPC_STATUS_FAILED_PRECONDITION = 9,
        RPC_STATUS_ABORTED = 10,
        RPC_STATUS_OUT_OF_RANGE = 11,
        RPC_STATUS_UNIMPLEMENTED = 12,
        RPC_STATUS_INTERNAL = 13,
        RPC_STATUS_UNAVAILABLE = 14,
        RPC_STATUS_DATA_LOSS = 15,
        RPC_STATUS_UNAUTHENTICATED = 16,
        _RPC_STATUS_MAX,
        _RPC_STATUS_INVALID = -EINVAL,
} RpcStatus;

/* "OK", "CANCELLED", "INVALID_ARGUMENT", ... as gRPC spells them. */
const char *rpc_status_to_string(RpcStatus s);
RpcStatus rpc_status_from_string(const char *s);

/* 0 for OK, else the negative errno of the table in rpc-error.c (CANCELLED -ECANCELED, INVALID_ARGUMENT
 * -EINVAL, NOT_FOUND -ENOENT, RESOURCE_EXHAUSTED -E2BIG, UNAVAILABLE -ECONNRESET, ...); -EIO for a status
 * outside the enum. */
int rpc_status_to_errno(RpcStatus s);
/* The status for an errno (either sign): the inverse of the above, plus aliases (-EBADMSG INVALID_ARGUMENT,
 * -ENOMEM/-ENOBUFS RESOURCE_EXHAUSTED, -EPERM PERMISSION_DENIED, ...).  0 gives OK, an errno not in the
 * table UNKNOWN. */
RpcStatus rpc_status_from_errno(int error);

typedef enum RpcMethodKind {
        RPC_METHOD_UNARY,            /* one request, one response */
        RPC_METHOD_CLIENT_STREAMING, /* requests, then one response */
        RPC_METHOD_SERVER_STREAMING, /* one request, then responses */
        RPC_METHOD_BIDI_STREAMING,   /* both ways, any number */
        _RPC_METHOD_KIND_MAX,
        _RPC_METHOD_KIND_INVALID = -EINVAL,
} RpcMethodKind;

/* "unary", "client-streaming", "server-streaming", "bidi-streaming". */
const char *rpc_method_kind_to_string(RpcMethodKind k);
RpcMethodKind rpc_method_kind_from_string(const char *s);

/* A method, as both sides know it from the .proto file.
 *
 * The kind is enforced where it says "one": a client of a unary or server-streaming method half-closes
 * automatically after its one request, and a second rpc_call_send() fails; a server of a unary or
 * client-streaming method can send one response only (-EPROTO after).  A server that receives a second
 * request on a one-request method, or a half-close without any request, finishes the call with INTERNAL; a
 * client that receives a second response on a one-response method cancels the call with INTERNAL, and an OK
 * status without any response is reported as INTERNAL. */
typedef struct RpcMethod {
        const char *path; /* "/maelstrom.v1.JobService/Session" */
        RpcMethodKind kind;
} RpcMethod;

/* Limits on what a peer can make us allocate.  Zero fields take the defaults above. */
typedef struct RpcLimits {
        size_t max_receive_message_size; /* bigger fail the call, RESOURCE_EXHAUSTED; ≤ INT_MAX */
        size_t max_send_queue_size;      /* bytes queued by rpc_call_send() per call; more: -ENOBUFS */
        unsigned max_calls;              /* server: calls alive at once; more: RESOURCE_EXHAUSTED */
} RpcLimits;

/* The callbacks of a call.  Every member is optional.  userdata is the one given with them. */
typedef struct RpcCallHandlers {
        /* A message arrived; data is valid until the callback returns.  Returning a negative errno aborts
         * the call: a server finishes it with rpc_status_from_errno() (and strerror as the message) unless
         * it already finished, a client cancels it with that status.  A server gets the messages that arrive
         * after it finished, too. */
        int (*message)(RpcCall *call, const void *data, size_t size, void *userdata);
        /* The peer will send no more messages.  A negative return aborts the call as above. */
        int (*end)(RpcCall *call, void *userdata);
        /* A queued message has been handed to the transport; see rpc_call_get_send_queue(). */
        void (*sent)(RpcCall *call, void *userdata);
        /* The call is over (see the top of this file); message is valid until the callback returns. */
        void (*closed)(RpcCall *call, RpcStatus status, const char *message, void *userdata);
} RpcCallHandlers;

/* ---- Context: one per process (or per sd_event), created before servers and channels. ---- */

/* Initialises gRPC, creates the completion queue, its thread, and an io event source on the given loop. */
int rpc_context_new(sd_event *event, RpcContext **ret);
/* Cancels and reaps whatever gRPC still has in flight for objects already freed, stops the thread, and shuts
 * gRPC down.  Every server, channel and call must have been freed.  Not from inside a callback. */
RpcContext *rpc_context_free(RpcContext *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(RpcContext *, rpc_context_free);

/* ---- Server ---- */

/* A new call on a method: the callee owns the call (it sets its handlers with rpc_call_set_handlers() and
 * frees it eventually).  Returning a negative errno refuses the call instead: the callee must not keep nor
 * free it, and the call is finished with rpc_status_from_errno(). */
typedef int (*rpc_call_handler_t)(RpcServer *server, RpcCall *call, void *userdata);

/* The order is: rpc_server_new(), rpc_server_add_method() for each method, rpc_server_listen_tcp() if
 * wanted, rpc_server_start(); then connections and listeners can be added at any time.  limits may be
 * NULL.
 */
int rpc_server_new(RpcContext *c, const RpcLimits *limits, RpcServer **ret);
/* Registers a method: path must start with '/'; -EEXIST if already registered, -EBUSY once started.
 * Calls to a path that is not registered are answered UNIMPLEMENTED. */
int rpc_server_add_method(RpcServer *s, const RpcMethod *method, rpc_call_handler_t handler, void *userdata);
/* Listens on a TCP address, "127.0.0.1:0", "[::]:9000", "localhost:9000" (without TLS; gRPC's "unix:PATH"
 * works too, *ret_port is then meaningless).  Port 0 binds a free port; *ret_port (may be NULL) gets the
 * bound one.  A host name is resolved here, synchronously: meant for start-up.  -EBUSY once started;
 * -EADDRNOTAVAIL if gRPC could not listen there (bad address, cannot bind). */
int rpc_server_listen_tcp(RpcServer *s, const char *address, uint16_t *ret_port);
/* Starts serving (idempotent). */
int rpc_server_start(RpcServer *s);
/* Serves one connected stream socket (a socketpair end, or a connection accepted elsewhere).  Takes the fd
 * in every case, and makes it non-blocking.  -ENOTSOCK if fd is not a stream socket.  Starts the server if
 * it was not.  gRPC owns the connection from then on; it goes away when the peer closes it. */
int rpc_server_add_connection_take(RpcServer *s, int fd);
/* Accepts connections on a listening stream socket (such as one from sd_listen_fds()) and serves each.
 * Takes the fd in every case; -EINVAL if it is not a listening stream socket.  Starts the server if it was
 * not.  Accepting pauses briefly when accept() keeps failing (EMFILE). */
int rpc_server_add_listener_take(RpcServer *s, int fd);
/* Decides on each accepted connection fd (borrowed) before it is served: a negative errno refuses it, and it
 * is closed. */
typedef int (*rpc_accept_filter_t)(int fd, void *userdata);
/* The same, with a filter (e.g. checking the peer's credentials on a unix socket). */
int rpc_server_add_filtered_listener_take(RpcServer *s, int fd, rpc_accept_filter_t filter, void *userdata);
/* Stops listening and accepting, cancels the calls still running (their owners get "closed" and must free
 * them), and tears the server down in the background once gRPC is done. */
RpcServer *rpc_server_free(RpcServer *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(RpcServer *, rpc_server_free);

/* ---- Client ---- */

/* A channel over a connected stream socket (a socketpair end).  Takes the fd in every case, and makes it
 * non-blocking.  -ENOTSOCK if it is not a stream socket.  limits may be NULL. */
int rpc_channel_new_fd_take(RpcContext *c, int fd, const RpcLimits *limits, RpcChannel **ret);
/* A channel to "host:port" (or any gRPC target URI, e.g. "unix:/run/x.sock"), without TLS.  Connecting
 * happens in the background; calls fail with UNAVAILABLE if it cannot. */
int rpc_channel_new_target(RpcContext *c, const char *target, const RpcLimits *limits, RpcChannel **ret);
/* Starts a call on method.  handlers may be NULL (then set them with rpc_call_set_handlers() before
 * returning to the loop).  Calls already started keep working after their channel is freed. */
int rpc_channel_call(
                RpcChannel *ch,
                const RpcMethod *method,
                const RpcCallHandlers *handlers,
                void *userdata,
                RpcCall **ret);
RpcChannel *rpc_channel_free(RpcChannel *ch);
DEFINE_TRIVIAL_CLEANUP_FUNC(RpcChannel *, rpc_channel_free);

/* ---- Calls, both sides ---- */

/* Copies handlers (NULL clears them). */
void rpc_call_set_handlers(RpcCall *call, const RpcCallHandlers *handlers, void *userdata);
void *rpc_call_get_userdata(RpcCall *call);
const char *rpc_call_get_method(RpcCall *call);
RpcMethodKind rpc_call_get_kind(RpcCall *call);
bool rpc_call_is_server(RpcCall *call);
/* True once "closed" has been dispatched. */
bool rpc_call_is_closed(RpcCall *call);

/* Queues a copy of a message; messages go out one at a time, in order.  -EPIPE if the call is closed or
 * broken, -ESHUTDOWN after rpc_call_close_send()/rpc_call_finish(), -EPROTO beyond the one response of a
 * unary or client-streaming server, -ENOBUFS if the queue would exceed max_send_queue_size. */
int rpc_call_send(RpcCall *call, const void *data, size_t size);
/* Queues a copy of a message as rpc_call_send() does (same errors), one that may share a gRPC message with
 * its neighbours: consecutive batchable messages still queued when the transport is free go out as ONE gRPC
 * message, their bytes concatenated in order (at most RPC_BATCH_MAX_MESSAGES messages and
 * RPC_BATCH_MAX_SIZE bytes; a bigger message goes alone).  For protobuf, concatenating messages that set
 * only repeated fields is merging them: the receiver sees one message with all the items, in order.  So
 * while a send is in flight, what queues behind it goes out as one message when it completes: at low load
 * nothing waits, at high load messages per item drop towards 1/N.
 *
 * With hold > 0 (at most RPC_BATCH_MAX_HOLD), the message may also wait up to hold for company: the queue
 * is not sent until a message that may not wait is queued behind it (rpc_call_send(), or a hold of 0), the
 * earliest hold of the queue ends, or the call is closed for sending (rpc_call_close_send(),
 * rpc_call_finish()).  For items that are worth less than a message of their own (a job's state change
 * that its result will soon follow). */
int rpc_call_send_batched(RpcCall *call, const void *data, size_t size, usec_t hold);
/* rpc_call_send_batched() that waits only on a busy call: if a message went out less than interval ago (at
 * most RPC_BATCH_MAX_HOLD), the message waits until interval after it, with whatever queues meanwhile (a
 * message that may not wait still takes it along at once); else it goes out at once.  So a call that is
 * quiet sends without delay, and a busy one about one message per interval, each a batch.  For items that
 * flow at a high rate to a peer that only records them (results to a client). */
int rpc_call_send_paced(RpcCall *call, const void *data, size_t size, usec_t interval);
/* Messages queued and not yet handed to the transport (including the one being sent), and their bytes.
 * Either pointer may be NULL. */
void rpc_call_get_send_queue(RpcCall *call, size_t *ret_messages, size_t *ret_bytes);

/* Client: no more messages (half-close), after those queued.  Idempotent.  -EINVAL on a server call, -EPIPE
 * if the call is closed or cancelled before it half-closed. */
int rpc_call_close_send(RpcCall *call);
/* Server: ends the call with a status and an optional message, after the queued messages.  -EINVAL on a
 * client call, -EALREADY if already finished, -EPIPE if the call is closed. */
int rpc_call_finish(RpcCall *call, RpcStatus status, const char *message);
/* Ends the call now, dropping queued messages: no "message" or "end" callback follows, rpc_call_send() fails
 * with -EPIPE, and both sides get "closed" with CANCELLED.  Idempotent; a no-op once closed. */
int rpc_call_cancel(RpcCall *call);

/* Drops the caller's handle: cancels the call unless it is closed or (server) finished, and never calls its
 * handlers again.  Safe from inside any of its callbacks. */
RpcCall *rpc_call_free(RpcCall *call);
DEFINE_TRIVIAL_CLEANUP_FUNC(RpcCall *, rpc_call_free);
