/* SPDX-License-Identifier: MIT OR Apache-2.0 */

/* lib/rpc's cost: a server and a client in one process and one sd-event loop, over a socketpair, through the
 * completion-queue thread and the eventfd hand-off.  bench-grpc-raw does the same on the bare core API.
 *
 *   bench-rpc pingpong ROUNDS              round trips of 8-byte messages on one bidirectional stream
 *   bench-rpc oneway COUNT SIZE [WINDOW]   COUNT messages of SIZE bytes, client to server, one stream, with
 *                                          at most WINDOW (default 64) queued by the client at a time
 *
 * Prints the elapsed wall-clock seconds and the CPU seconds of the process (all threads). */

#include <stdio.h>
#include <sys/socket.h>

#include "basic/macro.h"
#include "basic/parse-util.h"
#include "basic/time-util.h"
#include "rpc/rpc.h"

static const RpcMethod method = { "/bench.Rpc/Stream", RPC_METHOD_BIDI_STREAMING };

typedef struct Bench {
        bool oneway;
        uint64_t count, size, window;
        char *payload;

        uint64_t sent, received, server_received;
        bool closed, server_closed;
        RpcStatus status;
} Bench;

static void fail(const char *what, int r) {
        fprintf(stderr, "%s: %s\n", what, strerror(-r));
        abort();
}

static int server_message(RpcCall *call, const void *data, size_t size, void *userdata) {
        Bench *b = userdata;

        b->server_received++;
        return b->oneway ? 0 : rpc_call_send(call, data, size);
}

static int server_end(RpcCall *call, void *userdata) {
        return rpc_call_finish(call, RPC_STATUS_OK, /* message= */ NULL);
}

static void server_closed(RpcCall *call, RpcStatus status, const char *message, void *userdata) {
        Bench *b = userdata;

        b->server_closed = true;
        rpc_call_free(call);
}

static int server_new_call(RpcServer *s, RpcCall *call, void *userdata) {
        static const RpcCallHandlers h = {
                .message = server_message,
                .end = server_end,
                .closed = server_closed,
        };

        rpc_call_set_handlers(call, &h, userdata);
        return 0;
}

/* One-way: keep up to window messages queued; half-close after the last. */
static void client_fill(RpcCall *call, Bench *b) {
        size_t queued;
        int r;

        rpc_call_get_send_queue(call, &queued, /* ret_bytes= */ NULL);
        for (; queued < b->window && b->sent < b->count; queued++, b->sent++) {
                r = rpc_call_send(call, b->payload, b->size);
                if (r < 0)
                        fail("rpc_call_send", r);
        }
        if (b->sent == b->count) {
                r = rpc_call_close_send(call);
                if (r < 0)
                        fail("rpc_call_close_send", r);
        }
}

static void client_sent(RpcCall *call, void *userdata) {
        Bench *b = userdata;

        if (b->oneway)
                client_fill(call, b);
}

static int client_message(RpcCall *call, const void *data, size_t size, void *userdata) {
        Bench *b = userdata;
        uint64_t v;

        if (size != sizeof(v))
                return -EBADMSG;
        memcpy(&v, data, sizeof(v));
        if (v != b->received)
                return -EBADMSG;
        b->received++;
        if (b->received == b->count)
                return rpc_call_close_send(call);
        b->sent++;
        return rpc_call_send(call, &b->sent, sizeof(b->sent));
}

static void client_closed(RpcCall *call, RpcStatus status, const char *message, void *userdata) {
        Bench *b = userdata;

        b->closed = true;
        b->status = status;
        if (status != RPC_STATUS_OK)
                fprintf(stderr, "call closed: %s %s\n", rpc_status_to_string(status), message);
        rpc_call_free(call);
}

int main(int argc, char *argv[]) {
        static const RpcCallHandlers client_handlers = {
                .message = client_message,
                .sent = client_sent,
                .closed = client_closed,
        };
        Bench b = { .size = 8, .window = 64 };
        sd_event *event = NULL;
        RpcContext *context = NULL;
        RpcServer *server = NULL;
        RpcChannel *channel = NULL;
        RpcCall *call = NULL;
        struct timespec c0, c1;
        usec_t t0, t1;
        int sv[2], r;

        if (argc < 3 || (!streq(argv[1], "pingpong") && !streq(argv[1], "oneway")) ||
            safe_atou64(argv[2], &b.count) < 0 || (argc > 3 && safe_atou64(argv[3], &b.size) < 0) ||
            (argc > 4 && (safe_atou64(argv[4], &b.window) < 0 || b.window == 0))) {
                fprintf(stderr, "usage: %s pingpong ROUNDS | oneway COUNT SIZE [WINDOW]\n", argv[0]);
                return 2;
        }
        b.oneway = streq(argv[1], "oneway");
        b.payload = calloc(1, b.size ?: 1);
        if (!b.payload)
                fail("calloc", -ENOMEM);

        if ((r = sd_event_new(&event)) < 0 || (r = rpc_context_new(event, &context)) < 0 ||
            (r = rpc_server_new(context, /* limits= */ NULL, &server)) < 0 ||
            (r = rpc_server_add_method(server, &method, server_new_call, &b)) < 0 ||
            (r = rpc_server_start(server)) < 0)
                fail("server setup", r);
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
                fail("socketpair", -errno);
        if ((r = rpc_server_add_connection_take(server, sv[1])) < 0 ||
            (r = rpc_channel_new_fd_take(context, sv[0], /* limits= */ NULL, &channel)) < 0)
                fail("connection setup", r);

        t0 = now(CLOCK_MONOTONIC);
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
        r = rpc_channel_call(channel, &method, &client_handlers, &b, &call);
        if (r < 0)
                fail("rpc_channel_call", r);
        if (b.oneway)
                client_fill(call, &b);
        else if ((r = rpc_call_send(call, &b.sent, sizeof(b.sent))) < 0)
                fail("rpc_call_send", r);

        while (!b.closed || !b.server_closed)
                if ((r = sd_event_run(event, UINT64_MAX)) < 0)
                        fail("sd_event_run", r);
        t1 = now(CLOCK_MONOTONIC);
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);

        if (b.status != RPC_STATUS_OK || (b.oneway ? b.server_received : b.received) != b.count) {
                fprintf(stderr, "incomplete run\n");
                return 1;
        }

        rpc_channel_free(channel);
        rpc_server_free(server);
        rpc_context_free(context);
        sd_event_unref(event);
        free(b.payload);

        printf("%.6f %.6f\n", (double) (t1 - t0) / USEC_PER_SEC,
               (double) (timespec_load(&c1) - timespec_load(&c0)) / USEC_PER_SEC);
        return 0;
}
