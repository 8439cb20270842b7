/* SPDX-License-Identifier: MIT OR Apache-2.0 */

/* The completion queue, its thread, and the hand-off to the sd-event loop.
 *
 * The thread does nothing but grpc_completion_queue_next(): it links each completed tag (an RpcOp) into a
 * list under a mutex and, unless a wake-up is already pending, writes the eventfd.  The loop's io source
 * reads the eventfd first, then takes the whole list and dispatches it in order.  No lost wake-up: the loop
 * clears wake_pending when it takes the list, and the next op queued after that writes again.
 *
 * Quiet ops do not wake the loop: a send that completed with nothing queued behind it on its call, which
 * nobody waits for.  Each wake-up costs a switch of threads (several µs on a loaded virtual machine), and
 * most sends are such.  The next wake-up dispatches them, in order; whenever something comes to wait for one
 * (another message to send, the call's end), rpc_context_op_unquiet() makes it wake the loop after all. */

#include <assert.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <grpc/support/log.h>

#include "basic/fd-util.h"
#include "basic/log.h"
#include "rpc/rpc-internal.h"

/* gRPC's own log lines (by default printed to stderr, without a priority prefix): as a library, we pass them
 * on at debug level only; the errors that matter reach the caller as return values and statuses.  Called
 * from any thread. */
static void grpc_log(gpr_log_func_args *args) {
        log_debug("grpc: %s (%s:%d)", args->message, args->file, args->line);
}

static void *context_thread(void *userdata) {
        RpcContext *c = userdata;

        for (;;) {
                grpc_event ev;
                RpcOp *op;
                bool wake;

                ev = grpc_completion_queue_next(c->cq, gpr_inf_future(GPR_CLOCK_REALTIME),
                                                /* reserved= */ NULL);
                if (ev.type == GRPC_QUEUE_SHUTDOWN)
                        break;
                if (ev.type != GRPC_OP_COMPLETE)
                        continue;

                op = ev.tag;
                (void) pthread_mutex_lock(&c->lock);
                op->ok = ev.success != 0;
                op->next = NULL;
                op->queued = true;
                wake = !c->wake_pending && !(op->quiet && op->ok);
                if (wake)
                        c->wake_pending = true;
                if (c->queue_tail)
                        c->queue_tail->next = op;
                else
                        c->queue_head = op;
                c->queue_tail = op;
                (void) pthread_mutex_unlock(&c->lock);

                /* Only fails if the counter would overflow, which a reader draining it cannot let happen. */
                if (wake)
                        (void) eventfd_write(c->event_fd, 1);
        }

        return NULL;
}

static void context_dispatch(RpcOp *op) {
        switch (op->type) {
        case RPC_OP_CALL_SEND:
        case RPC_OP_CALL_RECV:
        case RPC_OP_CALL_STATUS:
                rpc_call_dispatch(op);
                return;
        case RPC_OP_SERVER_REQUEST:
        case RPC_OP_SERVER_SHUTDOWN:
                rpc_server_dispatch(op);
                return;
        case _RPC_OP_TYPE_MAX:
                break;
        }
        assert(!"unknown RpcOp type");
}

static void context_process(RpcContext *c) {
        eventfd_t v;
        RpcOp *list;

        (void) eventfd_read(c->event_fd, &v);

        (void) pthread_mutex_lock(&c->lock);
        list = TAKE_PTR(c->queue_head);
        c->queue_tail = NULL;
        c->wake_pending = false;
        for (RpcOp *op = list; op; op = op->next)
                op->queued = false;
        (void) pthread_mutex_unlock(&c->lock);

        while (list) {
                RpcOp *op = list;

                list = op->next;
                op->next = NULL;
                context_dispatch(op);
        }
}

void rpc_context_op_set_quiet(RpcContext *c, RpcOp *op, bool quiet) {
        (void) pthread_mutex_lock(&c->lock);
        op->quiet = quiet;
        (void) pthread_mutex_unlock(&c->lock);
}

void rpc_context_op_unquiet(RpcContext *c, RpcOp *op) {
        bool wake = false;

        (void) pthread_mutex_lock(&c->lock);
        op->quiet = false;
        if (op->queued && !c->wake_pending)
                wake = c->wake_pending = true;
        (void) pthread_mutex_unlock(&c->lock);

        if (wake)
                (void) eventfd_write(c->event_fd, 1);
}

static int context_on_event(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        context_process(userdata);
        return 0;
}

RpcContext *rpc_context_free(RpcContext *c) {
        if (!c)
                return NULL;

        /* Freeing an object with operations in flight cancelled them; wait until gRPC has returned every
         * one, so that the objects are torn down and the queue is idle. */
        assert(c->n_handles == 0);
        if (c->thread_started)
                while (c->n_objects > 0) {
                        struct pollfd p = { .fd = c->event_fd, .events = POLLIN };

                        if (poll(&p, 1, /* timeout= */ -1) < 0 && errno != EINTR)
                                break;
                        context_process(c);
                }

        if (c->cq) {
                grpc_completion_queue_shutdown(c->cq);
                if (c->thread_started)
                        (void) pthread_join(c->thread, /* retval= */ NULL);
                else
                        /* No thread ever ran: drain here.  Nothing was started, so this returns at once. */
                        while (grpc_completion_queue_next(c->cq, gpr_inf_future(GPR_CLOCK_REALTIME),
                                                          /* reserved= */ NULL).type != GRPC_QUEUE_SHUTDOWN)
                                ;
                /* Anything the thread queued after the last pass belongs to objects already gone. */
                assert(!c->queue_head);
                grpc_completion_queue_destroy(c->cq);
        }

        c->event_source = sd_event_source_disable_unref(c->event_source);
        c->event = sd_event_unref(c->event);
        safe_close(c->event_fd);
        (void) pthread_mutex_destroy(&c->lock);
        if (c->grpc_initialized)
                grpc_shutdown();
        return mfree(c);
}

int rpc_context_new(sd_event *event, RpcContext **ret) {
        _cleanup_(rpc_context_freep) RpcContext *c = NULL;
        sigset_t all, saved;
        int r;

        assert(event);
        assert(ret);

        c = calloc(1, sizeof(RpcContext));
        if (!c)
                return -ENOMEM;
        c->event_fd = -EBADF;
        c->event = sd_event_ref(event);

        r = -pthread_mutex_init(&c->lock, /* attr= */ NULL);
        if (r < 0)
                return r;

        c->event_fd = RET_NERRNO(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
        if (c->event_fd < 0)
                return c->event_fd;

        r = sd_event_add_io(event, &c->event_source, c->event_fd, EPOLLIN, context_on_event, c);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(c->event_source, "rpc-completion-queue");

        gpr_set_log_function(grpc_log);
        grpc_init();
        c->grpc_initialized = true;

        c->cq = grpc_completion_queue_create_for_next(/* reserved= */ NULL);
        if (!c->cq)
                return -ENOMEM;

        /* The thread must never take a signal meant for the loop: start it with every signal blocked. */
        (void) sigfillset(&all);
        r = -pthread_sigmask(SIG_SETMASK, &all, &saved);
        if (r < 0)
                return r;
        r = -pthread_create(&c->thread, /* attr= */ NULL, context_thread, c);
        (void) pthread_sigmask(SIG_SETMASK, &saved, /* oldset= */ NULL);
        if (r < 0)
                return r;
        c->thread_started = true;
        (void) pthread_setname_np(c->thread, "rpc-cq");

        *ret = TAKE_PTR(c);
        return 0;
}

int rpc_limits_resolve(const RpcLimits *limits, RpcLimits *ret) {
        RpcLimits l = limits ? *limits : (RpcLimits) {};

        if (l.max_receive_message_size > INT_MAX)
                return -ERANGE;
        if (l.max_receive_message_size == 0)
                l.max_receive_message_size = RPC_MAX_RECEIVE_MESSAGE_SIZE_DEFAULT;
        if (l.max_send_queue_size == 0)
                l.max_send_queue_size = RPC_MAX_SEND_QUEUE_SIZE_DEFAULT;
        if (l.max_calls == 0)
                l.max_calls = RPC_MAX_CALLS_DEFAULT;

        *ret = l;
        return 0;
}

grpc_channel_args rpc_limits_to_channel_args(
                const RpcLimits *limits,
                grpc_arg args[static RPC_CHANNEL_ARGS_MAX]) {

        size_t n = 0;

        assert(limits->max_receive_message_size <= INT_MAX);

        args[n++] = (grpc_arg) {
                .type = GRPC_ARG_INTEGER,
                .key = (char *) GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
                .value.integer = (int) limits->max_receive_message_size,
        };
        /* Retries would keep a copy of every message sent until the call commits; we never retry. */
        args[n++] = (grpc_arg) {
                .type = GRPC_ARG_INTEGER,
                .key = (char *) GRPC_ARG_ENABLE_RETRIES,
                .value.integer = 0,
        };
        assert(n <= RPC_CHANNEL_ARGS_MAX);

        return (grpc_channel_args) { .num_args = n, .args = args };
}

int rpc_prepare_stream_fd(int fd, bool listening) {
        int type = 0, accepting = 0, flags;
        socklen_t len = sizeof(type);

        if (fd < 0)
                return -EBADF;

        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
                return negative_errno();
        if (type != SOCK_STREAM)
                return -ENOTSOCK;

        len = sizeof(accepting);
        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) < 0)
                return negative_errno();
        if (!!accepting != listening)
                return -EINVAL;

        flags = fcntl(fd, F_GETFL);
        if (flags < 0)
                return negative_errno();
        if (!(flags & O_NONBLOCK) && fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
                return negative_errno();

        return 0;
}
