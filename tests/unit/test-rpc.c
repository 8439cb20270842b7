/* SPDX-License-Identifier: MIT OR Apache-2.0 */

/* lib/rpc: a server and a client in one process and one sd_event loop, over a socketpair (and TCP), and
 * across two processes: this program re-executes itself as the peer ("--peer MODE", connection on fd 3). */

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/fd-util.h"
#include "basic/tests.h"
#include "basic/time-util.h"
#include "rpc/rpc.h"

#define PING_PONGS 10000U
#define BURST 1000U

static const RpcMethod method_bidi = { "/test.Echo/Bidi", RPC_METHOD_BIDI_STREAMING };
static const RpcMethod method_upload = { "/test.Echo/Upload", RPC_METHOD_CLIENT_STREAMING };
static const RpcMethod method_unary = { "/test.Echo/Unary", RPC_METHOD_UNARY };
static const RpcMethod method_fail = { "/test.Echo/Fail", RPC_METHOD_BIDI_STREAMING };
static const RpcMethod method_bad = { "/test.Echo/Bad", RPC_METHOD_BIDI_STREAMING };
static const RpcMethod method_big = { "/test.Echo/Big", RPC_METHOD_SERVER_STREAMING };
static const RpcMethod method_strict = { "/test.Echo/Strict", RPC_METHOD_UNARY };
static const RpcMethod method_free = { "/test.Echo/FreeOnMessage", RPC_METHOD_BIDI_STREAMING };
static const RpcMethod method_cancel = { "/test.Echo/CancelOnMessage", RPC_METHOD_BIDI_STREAMING };
/* The client's view of Strict when it misbehaves: it streams several requests. */
static const RpcMethod method_strict_as_bidi = { "/test.Echo/Strict", RPC_METHOD_BIDI_STREAMING };
static const RpcMethod method_unknown = { "/test.Echo/Nope", RPC_METHOD_UNARY };

/* For libc calls: "-1 and errno". */
#define ASSERT_OK_ERRNO(expr)                                                                   \
        ({                                                                                      \
                int _v_ = (expr);                                                               \
                if (_v_ < 0) {                                                                  \
                        fprintf(stderr, "%s:%d: '%s' failed: %m\n", __FILE__, __LINE__, #expr); \
                        abort();                                                                \
                }                                                                               \
                _v_;                                                                            \
        })

/* Waits on the loop for a condition, failing the test after a minute. */
#define RUN_UNTIL(event, cond)                                                          \
        ({                                                                              \
                usec_t _deadline_ = now(CLOCK_MONOTONIC) + 60 * USEC_PER_SEC;           \
                while (!(cond)) {                                                       \
                        ASSERT_TRUE(now(CLOCK_MONOTONIC) < _deadline_);                 \
                        ASSERT_OK(sd_event_run((event), USEC_PER_SEC));                 \
                }                                                                       \
        })

/* ---- The test server ---- */

typedef struct TestServer {
        RpcServer *server;
        unsigned n_calls, n_closed, n_freed;
        RpcStatus last_status;
        char last_message[256];
} TestServer;

typedef struct ServerCall {
        TestServer *ts;
        uint64_t bytes;
        uint32_t sum;
        unsigned n;
} ServerCall;

static uint32_t checksum(uint32_t sum, const void *data, size_t size) {
        const uint8_t *p = data;

        for (size_t i = 0; i < size; i++)
                sum = sum * 31 + p[i];
        return sum;
}

static void server_closed(RpcCall *call, RpcStatus status, const char *message, void *userdata) {
        ServerCall *sc = userdata;

        sc->ts->n_closed++;
        sc->ts->last_status = status;
        (void) snprintf(sc->ts->last_message, sizeof(sc->ts->last_message), "%s", message);
        rpc_call_free(call);
        free(sc);
}

static int server_echo(RpcCall *call, const void *data, size_t size, void *userdata) {
        return rpc_call_send(call, data, size);
}

static int server_finish_ok(RpcCall *call, void *userdata) {
        return rpc_call_finish(call, RPC_STATUS_OK, /* message= */ NULL);
}

static int server_count(RpcCall *call, const void *data, size_t size, void *userdata) {
        ServerCall *sc = userdata;

        sc->n++;
        sc->bytes += size;
        sc->sum = checksum(sc->sum, data, size);
        return 0;
}

static int server_reply_count(RpcCall *call, void *userdata) {
        ServerCall *sc = userdata;
        char buf[128];
        int n;

        n = snprintf(buf, sizeof(buf), "n=%u bytes=%" PRIu64 " sum=%" PRIu32, sc->n, sc->bytes, sc->sum);
        ASSERT_OK(rpc_call_send(call, buf, (size_t) n));
        /* One response only on a client-streaming (and unary) method. */
        ASSERT_ERROR(rpc_call_send(call, buf, (size_t) n), EPROTO);
        return rpc_call_finish(call, RPC_STATUS_OK, /* message= */ NULL);
}

static int server_unary(RpcCall *call, const void *data, size_t size, void *userdata) {
        char buf[300];
        int n;

        n = snprintf(buf, sizeof(buf), "echo:%.*s", (int) MIN(size, (size_t) 255), (const char *) data);
        ASSERT_OK(rpc_call_send(call, buf, (size_t) n));
        ASSERT_ERROR(rpc_call_send(call, buf, (size_t) n), EPROTO);
        ASSERT_OK(rpc_call_finish(call, RPC_STATUS_OK, /* message= */ NULL));
        ASSERT_ERROR(rpc_call_finish(call, RPC_STATUS_OK, /* message= */ NULL), EALREADY);
        ASSERT_ERROR(rpc_call_send(call, buf, (size_t) n), ESHUTDOWN);
        ASSERT_ERROR(rpc_call_close_send(call), EINVAL);
        return 0;
}

static int server_fail(RpcCall *call, const void *data, size_t size, void *userdata) {
        int r;

        /* The client may have sent more before it learns; those messages still arrive. */
        r = rpc_call_finish(call, RPC_STATUS_NOT_FOUND, "no such blob");
        return r == -EALREADY ? 0 : r;
}

static int server_bad(RpcCall *call, const void *data, size_t size, void *userdata) {
        if (size > 0 && ((const char *) data)[0] == 'X')
                return -EBADMSG;
        return rpc_call_send(call, data, size);
}

/* The request is a decimal size: one response of that many bytes. */
static int server_big(RpcCall *call, const void *data, size_t size, void *userdata) {
        _cleanup_free_ char *buf = NULL;
        char s[32] = {};
        size_t n;

        memcpy(s, data, MIN(size, sizeof(s) - 1));
        n = strtoull(s, NULL, 10);
        buf = malloc(n);
        ASSERT_TRUE(buf);
        memset(buf, 'b', n);
        ASSERT_OK(rpc_call_send(call, buf, n));
        return rpc_call_finish(call, RPC_STATUS_OK, /* message= */ NULL);
}

static int server_free_on_message(RpcCall *call, const void *data, size_t size, void *userdata) {
        ServerCall *sc = userdata;

        sc->ts->n_freed++;
        rpc_call_free(call);
        free(sc);
        return 0;
}

static int server_cancel_on_message(RpcCall *call, const void *data, size_t size, void *userdata) {
        ServerCall *sc = userdata;

        /* After a cancel, no more messages. */
        ASSERT_EQ(sc->n++, 0);
        ASSERT_OK(rpc_call_cancel(call));
        ASSERT_ERROR(rpc_call_send(call, data, size), EPIPE);
        return 0;
}

static int server_new_call(RpcServer *s, RpcCall *call, void *userdata) {
        TestServer *ts = userdata;
        const char *m = rpc_call_get_method(call);
        RpcCallHandlers h = { .closed = server_closed };
        ServerCall *sc;

        ASSERT_TRUE(rpc_call_is_server(call));
        ASSERT_FALSE(rpc_call_is_closed(call));
        ts->n_calls++;

        if (streq(m, method_bidi.path)) {
                ASSERT_EQ(rpc_call_get_kind(call), RPC_METHOD_BIDI_STREAMING);
                h.message = server_echo;
                h.end = server_finish_ok;
        } else if (streq(m, method_upload.path) || streq(m, method_strict.path)) {
                h.message = server_count;
                h.end = server_reply_count;
        } else if (streq(m, method_unary.path))
                h.message = server_unary;
        else if (streq(m, method_fail.path))
                h.message = server_fail;
        else if (streq(m, method_bad.path)) {
                h.message = server_bad;
                h.end = server_finish_ok;
        } else if (streq(m, method_big.path))
                h.message = server_big;
        else if (streq(m, method_free.path))
                h.message = server_free_on_message;
        else if (streq(m, method_cancel.path))
                h.message = server_cancel_on_message;
        else
                ASSERT_TRUE(!"unexpected method");

        sc = calloc(1, sizeof(ServerCall));
        ASSERT_TRUE(sc);
        sc->ts = ts;
        rpc_call_set_handlers(call, &h, sc);
        ASSERT_TRUE(rpc_call_get_userdata(call) == sc);
        return 0;
}

static void test_server_add_methods(TestServer *ts) {
        const RpcMethod *methods[] = {
                &method_bidi, &method_upload, &method_unary, &method_fail,
                &method_bad,  &method_big,    &method_strict, &method_free, &method_cancel,
        };

        for (size_t i = 0; i < ELEMENTSOF(methods); i++)
                ASSERT_OK(rpc_server_add_method(ts->server, methods[i], server_new_call, ts));
        ASSERT_ERROR(rpc_server_add_method(ts->server, &method_bidi, server_new_call, ts), EEXIST);
        ASSERT_ERROR(rpc_server_add_method(ts->server, &(RpcMethod) { "nope", RPC_METHOD_UNARY },
                                           server_new_call, ts),
                     EINVAL);
}

/* ---- The test client ---- */

typedef struct TestClient {
        RpcCall *call;

        /* What it does. */
        uint64_t ping_pongs;     /* bidi: send 0, expect it back, send 1, ..., then half-close */
        bool free_on_message;    /* free the call in the first "message" callback */
        bool free_on_sent;       /* free the call in the first "sent" callback */
        unsigned cancel_after;   /* cancel after that many messages received */

        /* What it saw. */
        uint64_t next;
        unsigned n_messages, n_sent;
        uint64_t bytes;
        char last[256];
        size_t last_size;
        bool ended, closed, freed;
        RpcStatus status;
        char message[256];
} TestClient;

static int client_message(RpcCall *call, const void *data, size_t size, void *userdata) {
        TestClient *tc = userdata;

        ASSERT_FALSE(tc->closed);
        ASSERT_FALSE(tc->freed);
        tc->n_messages++;
        tc->bytes += size;
        tc->last_size = size;
        memcpy(tc->last, data, MIN(size, sizeof(tc->last)));

        if (tc->ping_pongs > 0) {
                uint64_t v;

                ASSERT_EQ(size, sizeof(v));
                memcpy(&v, data, sizeof(v));
                ASSERT_EQ(v, tc->next);
                tc->next++;
                if (tc->next < tc->ping_pongs)
                        ASSERT_OK(rpc_call_send(call, &tc->next, sizeof(tc->next)));
                else
                        ASSERT_OK(rpc_call_close_send(call));
        }

        if (tc->free_on_message) {
                tc->call = rpc_call_free(call);
                tc->freed = true;
        } else if (tc->cancel_after > 0 && tc->n_messages == tc->cancel_after) {
                ASSERT_OK(rpc_call_cancel(call));
                ASSERT_OK(rpc_call_cancel(call));
                ASSERT_ERROR(rpc_call_send(call, "x", 1), EPIPE);
        }
        return 0;
}

static int client_end(RpcCall *call, void *userdata) {
        TestClient *tc = userdata;

        ASSERT_FALSE(tc->closed);
        tc->ended = true;
        return 0;
}

static void client_sent(RpcCall *call, void *userdata) {
        TestClient *tc = userdata;

        ASSERT_FALSE(tc->freed);
        tc->n_sent++;
        if (tc->free_on_sent) {
                tc->call = rpc_call_free(call);
                tc->freed = true;
        }
}

static void client_closed(RpcCall *call, RpcStatus status, const char *message, void *userdata) {
        TestClient *tc = userdata;

        ASSERT_FALSE(tc->closed);
        ASSERT_FALSE(tc->freed);
        ASSERT_TRUE(rpc_call_is_closed(call));
        tc->closed = true;
        tc->status = status;
        (void) snprintf(tc->message, sizeof(tc->message), "%s", message);
        ASSERT_ERROR(rpc_call_send(call, "x", 1), EPIPE);
        tc->call = rpc_call_free(call);
}

static const RpcCallHandlers client_handlers = {
        .message = client_message,
        .end = client_end,
        .sent = client_sent,
        .closed = client_closed,
};

/* ---- Fixture: loop, context, server, and a client channel over a socketpair ---- */

typedef struct Fixture {
        sd_event *event;
        RpcContext *context;
        TestServer ts;
        RpcChannel *channel;
        int client_fd, server_fd; /* duplicates of the two ends, when asked for */
} Fixture;

static void fixture_connect(Fixture *f, const RpcLimits *client_limits, bool keep_fds) {
        int sv[2];

        ASSERT_OK_ERRNO((socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)));
        if (keep_fds) {
                f->client_fd = ASSERT_OK_ERRNO((fcntl(sv[0], F_DUPFD_CLOEXEC, 3)));
                f->server_fd = ASSERT_OK_ERRNO((fcntl(sv[1], F_DUPFD_CLOEXEC, 3)));
        }
        /* Blocking fds on purpose: the module must make them non-blocking. */
        ASSERT_OK(rpc_server_add_connection_take(f->ts.server, sv[1]));
        ASSERT_OK(rpc_channel_new_fd_take(f->context, sv[0], client_limits, &f->channel));
        if (keep_fds)
                ASSERT_TRUE(fcntl(f->client_fd, F_GETFL) & O_NONBLOCK);
}

static void fixture_setup(
                Fixture *f,
                const RpcLimits *server_limits,
                const RpcLimits *client_limits,
                bool keep_fds) {

        *f = (Fixture) { .client_fd = -EBADF, .server_fd = -EBADF };

        ASSERT_OK(sd_event_new(&f->event));
        ASSERT_OK(rpc_context_new(f->event, &f->context));
        ASSERT_OK(rpc_server_new(f->context, server_limits, &f->ts.server));
        test_server_add_methods(&f->ts);
        ASSERT_OK(rpc_server_start(f->ts.server));
        ASSERT_OK(rpc_server_start(f->ts.server));
        ASSERT_ERROR(rpc_server_add_method(f->ts.server, &method_unknown, server_new_call, &f->ts), EBUSY);
        ASSERT_ERROR(rpc_server_listen_tcp(f->ts.server, "127.0.0.1:0", NULL), EBUSY);
        fixture_connect(f, client_limits, keep_fds);
}

/* Frees the server and waits for the calls it made to be closed (their owner frees them then). */
static void test_server_free(sd_event *event, TestServer *ts) {
        ts->server = rpc_server_free(ts->server);
        RUN_UNTIL(event, ts->n_closed + ts->n_freed == ts->n_calls);
}

static void fixture_done(Fixture *f) {
        f->channel = rpc_channel_free(f->channel);
        test_server_free(f->event, &f->ts);
        f->context = rpc_context_free(f->context);
        f->event = sd_event_unref(f->event);
        f->client_fd = safe_close(f->client_fd);
        f->server_fd = safe_close(f->server_fd);
}

static void client_start(Fixture *f, const RpcMethod *m, TestClient *tc) {
        ASSERT_OK(rpc_channel_call(f->channel, m, &client_handlers, tc, &tc->call));
        ASSERT_STREQ(rpc_call_get_method(tc->call), m->path);
        ASSERT_FALSE(rpc_call_is_server(tc->call));
}

/* ---- Tests ---- */

TEST(status_table) {
        for (RpcStatus s = 0; s < _RPC_STATUS_MAX; s++) {
                const char *n = rpc_status_to_string(s);
                int e = rpc_status_to_errno(s);

                ASSERT_TRUE(n);
                ASSERT_EQ(rpc_status_from_string(n), s);
                if (s == RPC_STATUS_OK) {
                        ASSERT_EQ(e, 0);
                        continue;
                }
                ASSERT_TRUE(e < 0);
                ASSERT_EQ(rpc_status_from_errno(e), s);
                ASSERT_EQ(rpc_status_from_errno(-e), s);
        }
        ASSERT_EQ(rpc_status_to_errno(RPC_STATUS_NOT_FOUND), -ENOENT);
        ASSERT_EQ(rpc_status_to_errno(RPC_STATUS_CANCELLED), -ECANCELED);
        ASSERT_EQ(rpc_status_to_errno(RPC_STATUS_RESOURCE_EXHAUSTED), -E2BIG);
        ASSERT_EQ(rpc_status_to_errno((RpcStatus) 99), -EIO);
        ASSERT_EQ(rpc_status_from_errno(-EBADMSG), RPC_STATUS_INVALID_ARGUMENT);
        ASSERT_EQ(rpc_status_from_errno(-ENOMEM), RPC_STATUS_RESOURCE_EXHAUSTED);
        ASSERT_EQ(rpc_status_from_errno(-EPERM), RPC_STATUS_PERMISSION_DENIED);
        ASSERT_EQ(rpc_status_from_errno(-EXDEV), RPC_STATUS_UNKNOWN);
        ASSERT_EQ(rpc_status_from_errno(0), RPC_STATUS_OK);
        ASSERT_EQ(rpc_status_from_string("nope"), -EINVAL);
        ASSERT_TRUE(!rpc_status_to_string(_RPC_STATUS_MAX));

        for (RpcMethodKind k = 0; k < _RPC_METHOD_KIND_MAX; k++)
                ASSERT_EQ(rpc_method_kind_from_string(rpc_method_kind_to_string(k)), k);
        ASSERT_STREQ(rpc_method_kind_to_string(RPC_METHOD_BIDI_STREAMING), "bidi-streaming");
        ASSERT_EQ(rpc_method_kind_from_string(NULL), -EINVAL);
}

TEST(ping_pong) {
        Fixture f;
        TestClient tc = { .ping_pongs = PING_PONGS };

        fixture_setup(&f, NULL, NULL, false);
        client_start(&f, &method_bidi, &tc);
        ASSERT_OK(rpc_call_send(tc.call, &tc.next, sizeof(tc.next)));
        RUN_UNTIL(f.event, tc.closed && f.ts.n_closed == 1);

        ASSERT_EQ(tc.status, RPC_STATUS_OK);
        ASSERT_EQ(tc.next, PING_PONGS);
        ASSERT_EQ(tc.n_messages, PING_PONGS);
        ASSERT_EQ(tc.n_sent, PING_PONGS);
        ASSERT_TRUE(tc.ended);
        ASSERT_EQ(f.ts.n_calls, 1);
        ASSERT_EQ(f.ts.last_status, RPC_STATUS_OK);
        fixture_done(&f);
}

TEST(quiet_sends) {
        /* Without a "sent" handler, a send with nothing queued behind it completes without waking the loop;
         * the next message, and the end of the call, must still go out and be seen at once. */
        Fixture f;
        TestClient tc = { .ping_pongs = PING_PONGS };
        RpcCallHandlers h = client_handlers;

        h.sent = NULL;
        fixture_setup(&f, NULL, NULL, false);
        ASSERT_OK(rpc_channel_call(f.channel, &method_bidi, &h, &tc, &tc.call));
        ASSERT_OK(rpc_call_send(tc.call, &tc.next, sizeof(tc.next)));
        RUN_UNTIL(f.event, tc.closed && f.ts.n_closed == 1);
        ASSERT_EQ(tc.status, RPC_STATUS_OK);
        ASSERT_EQ(tc.next, PING_PONGS);
        ASSERT_EQ(tc.n_messages, PING_PONGS);
        ASSERT_TRUE(tc.ended);

        /* One message, its echo, and a pause in which only quiet completions can be pending: then the
         * half-close still ends the call. */
        tc = (TestClient) {};
        ASSERT_OK(rpc_channel_call(f.channel, &method_bidi, &h, &tc, &tc.call));
        ASSERT_OK(rpc_call_send(tc.call, "q", 1));
        RUN_UNTIL(f.event, tc.n_messages == 1);
        for (unsigned i = 0; i < 5; i++)
                ASSERT_OK(sd_event_run(f.event, 10 * USEC_PER_MSEC));
        ASSERT_OK(rpc_call_close_send(tc.call));
        RUN_UNTIL(f.event, tc.closed);
        ASSERT_EQ(tc.status, RPC_STATUS_OK);

        /* And a hold that ends while a quiet send is in flight or done. */
        tc = (TestClient) {};
        ASSERT_OK(rpc_channel_call(f.channel, &method_bidi, &h, &tc, &tc.call));
        ASSERT_OK(rpc_call_send(tc.call, "a", 1));
        ASSERT_OK(rpc_call_send_batched(tc.call, "b", 1, 20 * USEC_PER_MSEC));
        RUN_UNTIL(f.event, tc.n_messages == 2);
        ASSERT_EQ(tc.last[0], 'b');
        ASSERT_OK(rpc_call_send_batched(tc.call, "c", 1, 20 * USEC_PER_MSEC));
        RUN_UNTIL(f.event, tc.n_messages == 3);
        ASSERT_OK(rpc_call_close_send(tc.call));
        RUN_UNTIL(f.event, tc.closed);
        ASSERT_EQ(tc.status, RPC_STATUS_OK);
        fixture_done(&f);
}

TEST(quiet_send_completion) {
        /* A peer that reads nothing: the only completions are the client's own sends. */
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(rpc_context_freep) RpcContext *context = NULL;
        _cleanup_(rpc_channel_freep) RpcChannel *channel = NULL;
        _cleanup_close_ int peer = -EBADF;
        TestClient tc = {};
        RpcCallHandlers h = client_handlers;
        usec_t t0;
        int sv[2];
        size_t n;

        h.sent = NULL;
        ASSERT_OK(sd_event_new(&event));
        ASSERT_OK(rpc_context_new(event, &context));
        ASSERT_OK_ERRNO((socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)));
        peer = sv[1];
        ASSERT_OK(rpc_channel_new_fd_take(context, sv[0], NULL, &channel));
        ASSERT_OK(rpc_channel_call(channel, &method_bidi, &h, &tc, &tc.call));

        /* The initial metadata wakes the loop; the message after it, with nothing behind it, does not: its
         * completion waits in the queue, so the call still counts it as in flight. */
        t0 = now(CLOCK_MONOTONIC);
        while (now(CLOCK_MONOTONIC) < t0 + 100 * USEC_PER_MSEC)
                ASSERT_OK(sd_event_run(event, 10 * USEC_PER_MSEC));
        ASSERT_OK(rpc_call_send(tc.call, "x", 1));
        t0 = now(CLOCK_MONOTONIC);
        while (now(CLOCK_MONOTONIC) < t0 + 100 * USEC_PER_MSEC)
                ASSERT_OK(sd_event_run(event, 10 * USEC_PER_MSEC));
        rpc_call_get_send_queue(tc.call, &n, NULL);
        ASSERT_EQ(n, 1);

        /* The next message waits for it: now it wakes the loop, and the next goes out (quietly again). */
        ASSERT_OK(rpc_call_send(tc.call, "y", 1));
        rpc_call_get_send_queue(tc.call, &n, NULL);
        ASSERT_EQ(n, 2);
        RUN_UNTIL(event, (rpc_call_get_send_queue(tc.call, &n, NULL), n == 1));

        tc.call = rpc_call_free(tc.call);
        channel = rpc_channel_free(channel);
        context = rpc_context_free(context);
}

TEST(burst_in_order) {
        Fixture f;
        TestClient tc = {};
        size_t n, bytes;

        fixture_setup(&f, NULL, NULL, false);
        client_start(&f, &method_bidi, &tc);
        for (uint32_t i = 0; i < BURST; i++) {
                char buf[64];

                memset(buf, (int) (i & 0xff), sizeof(buf));
                memcpy(buf, &i, sizeof(i));
                ASSERT_OK(rpc_call_send(tc.call, buf, sizeof(buf)));
        }
        /* Nothing can have gone out yet: the loop has not run. */
        rpc_call_get_send_queue(tc.call, &n, &bytes);
        ASSERT_EQ(n, BURST);
        ASSERT_EQ(bytes, BURST * 64);
        ASSERT_OK(rpc_call_close_send(tc.call));
        ASSERT_OK(rpc_call_close_send(tc.call));
        ASSERT_ERROR(rpc_call_send(tc.call, "x", 1), ESHUTDOWN);

        RUN_UNTIL(f.event, tc.n_sent == BURST / 2);
        ASSERT_TRUE(tc.call);
        rpc_call_get_send_queue(tc.call, &n, &bytes);
        ASSERT_EQ(n, BURST / 2);
        ASSERT_EQ(bytes, BURST / 2 * 64);

        RUN_UNTIL(f.event, tc.closed);
        ASSERT_EQ(tc.status, RPC_STATUS_OK);
        ASSERT_EQ(tc.n_messages, BURST);
        ASSERT_EQ(tc.n_sent, BURST);
        ASSERT_EQ(tc.bytes, BURST * 64);
        /* The last message is the last one sent. */
        ASSERT_EQ(tc.last_size, 64);
        ASSERT_EQ(*(uint32_t *) tc.last, BURST - 1);
        fixture_done(&f);
}

/* Checks every message of a burst arrives in order, on the server side too. */
static int client_check_order(RpcCall *call, const void *data, size_t size, void *userdata) {
        TestClient *tc = userdata;
        uint32_t v;

        ASSERT_EQ(size, sizeof(v));
        memcpy(&v, data, sizeof(v));
        ASSERT_EQ(v, tc->next);
        tc->next++;
        tc->n_messages++;
        return 0;
}

TEST(order_with_interleaved_sends) {
        /* Sends from inside callbacks and from outside, mixed: the order is the order of rpc_call_send(). */
        Fixture f;
        TestClient tc = {};
        RpcCallHandlers h = client_handlers;
        uint32_t i = 0;

        h.message = client_check_order;
        fixture_setup(&f, NULL, NULL, false);
        ASSERT_OK(rpc_channel_call(f.channel, &method_bidi, &h, &tc, &tc.call));
        while (i < BURST) {
                for (unsigned k = 0; k < 7 && i < BURST; k++, i++)
                        ASSERT_OK(rpc_call_send(tc.call, &i, sizeof(i)));
                ASSERT_OK(sd_event_run(f.event, 0));
        }
        ASSERT_OK(rpc_call_close_send(tc.call));
        RUN_UNTIL(f.event, tc.closed);
        ASSERT_EQ(tc.status, RPC_STATUS_OK);
        ASSERT_EQ(tc.next, BURST);
        fixture_done(&f);
}

/* Batches: the echo server sends back each gRPC message it received as it is, so the client sees the batches
 * the client side made.  Items are 4-byte sequence numbers; every 97th is sent unbatched. */
#define BATCH_ITEMS 5000U
#define UNBATCHED_EVERY 97U

typedef struct BatchClient {
        TestClient tc;
        uint32_t next;          /* the next sequence number expected */
        unsigned n_messages, max_items;
        size_t item_size;
        uint32_t unbatched_every; /* 0: none */
} BatchClient;

static bool batch_unbatched(const BatchClient *bc, uint32_t v) {
        return bc->unbatched_every > 0 && v % bc->unbatched_every == 0;
}

static int client_check_batch(RpcCall *call, const void *data, size_t size, void *userdata) {
        BatchClient *bc = userdata;
        const uint8_t *p = data;
        size_t n;

        ASSERT_TRUE(size > 0);
        ASSERT_EQ(size % bc->item_size, 0);
        n = size / bc->item_size;
        ASSERT_TRUE(n <= RPC_BATCH_MAX_MESSAGES);
        ASSERT_TRUE(n == 1 || size <= RPC_BATCH_MAX_SIZE);
        for (size_t i = 0; i < n; i++, p += bc->item_size) {
                uint32_t v;

                memcpy(&v, p, sizeof(v));
                /* In order, none lost, none twice; an unbatched item travels alone. */
                ASSERT_EQ(v, bc->next);
                if (batch_unbatched(bc, v))
                        ASSERT_EQ(n, 1);
                bc->next++;
        }
        bc->n_messages++;
        bc->max_items = MAX(bc->max_items, (unsigned) n);
        return 0;
}

static void batch_send(BatchClient *bc, uint32_t v, usec_t hold) {
        _cleanup_free_ uint8_t *buf = calloc(1, bc->item_size);

        ASSERT_TRUE(buf);
        memcpy(buf, &v, sizeof(v));
        if (batch_unbatched(bc, v))
                ASSERT_OK(rpc_call_send(bc->tc.call, buf, bc->item_size));
        else
                ASSERT_OK(rpc_call_send_batched(bc->tc.call, buf, bc->item_size, hold));
}

static void batch_setup(Fixture *f, BatchClient *bc, size_t item_size, uint32_t unbatched_every) {
        RpcCallHandlers h = client_handlers;

        *bc = (BatchClient) { .item_size = item_size, .unbatched_every = unbatched_every };
        h.message = client_check_batch;
        fixture_setup(f, NULL, NULL, false);
        ASSERT_OK(rpc_channel_call(f->channel, &method_bidi, &h, bc, &bc->tc.call));
}

TEST(batched_burst) {
        /* Queued all at once: they go out in few messages, each of at most RPC_BATCH_MAX_MESSAGES items. */
        Fixture f;
        BatchClient bc;
        size_t n;

        batch_setup(&f, &bc, sizeof(uint32_t), UNBATCHED_EVERY);
        for (uint32_t i = 0; i < BATCH_ITEMS; i++)
                batch_send(&bc, i, /* hold= */ 0);
        rpc_call_get_send_queue(bc.tc.call, &n, NULL);
        ASSERT_EQ(n, BATCH_ITEMS);
        ASSERT_OK(rpc_call_close_send(bc.tc.call));
        RUN_UNTIL(f.event, bc.tc.closed);
        ASSERT_EQ(bc.tc.status, RPC_STATUS_OK);
        ASSERT_EQ(bc.next, BATCH_ITEMS);
        /* The unbatched ones (0, 97, ...) alone, and each run after one in one message (96 items, under the
         * limit): the initial metadata was in flight when they were queued. */
        ASSERT_EQ(bc.n_messages, 2 * (BATCH_ITEMS / UNBATCHED_EVERY + 1));
        ASSERT_EQ(bc.max_items, UNBATCHED_EVERY - 1);
        /* One "sent" per gRPC message. */
        ASSERT_EQ(bc.tc.n_sent, bc.n_messages);
        fixture_done(&f);
}

TEST(batched_interleaved) {
        /* Sent while the loop runs: whatever queues behind a send in flight goes out with the next one. */
        Fixture f;
        BatchClient bc;
        uint32_t i = 0;

        batch_setup(&f, &bc, sizeof(uint32_t), UNBATCHED_EVERY);
        while (i < BATCH_ITEMS) {
                for (unsigned k = 0; k < 13 && i < BATCH_ITEMS; k++, i++)
                        batch_send(&bc, i, /* hold= */ 0);
                ASSERT_OK(sd_event_run(f.event, 0));
        }
        ASSERT_OK(rpc_call_close_send(bc.tc.call));
        RUN_UNTIL(f.event, bc.tc.closed);
        ASSERT_EQ(bc.tc.status, RPC_STATUS_OK);
        ASSERT_EQ(bc.next, BATCH_ITEMS);
        ASSERT_TRUE(bc.n_messages < BATCH_ITEMS);
        fixture_done(&f);
}

static void batch_limits(size_t item_size, uint32_t n_items, unsigned max_items) {
        Fixture f;
        BatchClient bc;

        batch_setup(&f, &bc, item_size, /* unbatched_every= */ 0);
        for (uint32_t i = 0; i < n_items; i++)
                batch_send(&bc, i, /* hold= */ 0);
        ASSERT_OK(rpc_call_close_send(bc.tc.call));
        RUN_UNTIL(f.event, bc.tc.closed);
        ASSERT_EQ(bc.tc.status, RPC_STATUS_OK);
        ASSERT_EQ(bc.next, n_items);
        /* Full batches (the initial metadata was in flight when they were queued), the last one less. */
        ASSERT_EQ(bc.max_items, max_items);
        ASSERT_EQ(bc.n_messages, (n_items + max_items - 1) / max_items);
        fixture_done(&f);
}

TEST(batch_limits) {
        /* 100 KiB items: 10 fit in RPC_BATCH_MAX_SIZE; 4-byte items: RPC_BATCH_MAX_MESSAGES at most. */
        batch_limits(100 * 1024, 61, 10);
        batch_limits(sizeof(uint32_t), 3 * RPC_BATCH_MAX_MESSAGES + 2, RPC_BATCH_MAX_MESSAGES);
        /* Items over the size limit go one by one. */
        batch_limits(RPC_BATCH_MAX_SIZE + 1, 3, 1);
}

TEST(batch_hold) {
        Fixture f;
        BatchClient bc;
        usec_t t0;

        batch_setup(&f, &bc, sizeof(uint32_t), /* unbatched_every= */ 0);
        bc.next = 1;
        /* Held: nothing goes out before the hold ends... */
        t0 = now(CLOCK_MONOTONIC);
        batch_send(&bc, 1, /* hold= */ 10 * USEC_PER_SEC);
        batch_send(&bc, 2, /* hold= */ 10 * USEC_PER_SEC);
        while (now(CLOCK_MONOTONIC) < t0 + 100 * USEC_PER_MSEC)
                ASSERT_OK(sd_event_run(f.event, 10 * USEC_PER_MSEC));
        ASSERT_EQ(bc.n_messages, 0);
        /* ... or a message that may not wait takes them along, in one message. */
        batch_send(&bc, 3, /* hold= */ 0);
        RUN_UNTIL(f.event, bc.next == 4);
        ASSERT_EQ(bc.n_messages, 1);
        ASSERT_EQ(bc.max_items, 3);

        /* The hold ends by itself, at the earliest hold of the queue. */
        t0 = now(CLOCK_MONOTONIC);
        batch_send(&bc, 4, /* hold= */ 10 * USEC_PER_SEC);
        batch_send(&bc, 5, /* hold= */ 50 * USEC_PER_MSEC);
        batch_send(&bc, 6, /* hold= */ 10 * USEC_PER_SEC);
        RUN_UNTIL(f.event, bc.next == 7);
        ASSERT_TRUE(now(CLOCK_MONOTONIC) >= t0 + 50 * USEC_PER_MSEC);
        ASSERT_TRUE(now(CLOCK_MONOTONIC) < t0 + 5 * USEC_PER_SEC);
        ASSERT_EQ(bc.n_messages, 2);

        /* Closing sends what is held. */
        batch_send(&bc, 7, /* hold= */ 10 * USEC_PER_SEC);
        ASSERT_OK(rpc_call_close_send(bc.tc.call));
        RUN_UNTIL(f.event, bc.tc.closed);
        ASSERT_EQ(bc.tc.status, RPC_STATUS_OK);
        ASSERT_EQ(bc.next, 8);
        fixture_done(&f);
}

TEST(batch_paced) {
        /* A quiet call: a paced message goes out at once, whatever the interval. */
        usec_t t0 = now(CLOCK_MONOTONIC);
        Fixture f;
        BatchClient bc;

        batch_setup(&f, &bc, sizeof(uint32_t), /* unbatched_every= */ 0);
        ASSERT_OK(rpc_call_send_paced(bc.tc.call, &(uint32_t) { 0 }, sizeof(uint32_t), 10 * USEC_PER_SEC));
        RUN_UNTIL(f.event, bc.next == 1);
        ASSERT_TRUE(now(CLOCK_MONOTONIC) < t0 + 5 * USEC_PER_SEC);
        ASSERT_OK(rpc_call_send_paced(bc.tc.call, &(uint32_t) { 1 }, sizeof(uint32_t), 0));
        RUN_UNTIL(f.event, bc.next == 2);

        /* Just after a send: they wait until the interval has passed since it, then go out together. */
        t0 = now(CLOCK_MONOTONIC);
        for (uint32_t i = 2; i <= 4; i++)
                ASSERT_OK(rpc_call_send_paced(bc.tc.call, &i, sizeof(i), 200 * USEC_PER_MSEC));
        while (now(CLOCK_MONOTONIC) < t0 + 100 * USEC_PER_MSEC)
                ASSERT_OK(sd_event_run(f.event, 10 * USEC_PER_MSEC));
        ASSERT_EQ(bc.next, 2);
        RUN_UNTIL(f.event, bc.next == 5);
        ASSERT_TRUE(now(CLOCK_MONOTONIC) >= t0 + 150 * USEC_PER_MSEC);
        ASSERT_EQ(bc.n_messages, 3);
        ASSERT_EQ(bc.max_items, 3);

        /* A message that may not wait takes the paced ones along at once. */
        t0 = now(CLOCK_MONOTONIC);
        ASSERT_OK(rpc_call_send_paced(bc.tc.call, &(uint32_t) { 5 }, sizeof(uint32_t), 10 * USEC_PER_SEC));
        ASSERT_OK(rpc_call_send_batched(bc.tc.call, &(uint32_t) { 6 }, sizeof(uint32_t), /* hold= */ 0));
        RUN_UNTIL(f.event, bc.next == 7);
        ASSERT_TRUE(now(CLOCK_MONOTONIC) < t0 + 5 * USEC_PER_SEC);
        ASSERT_EQ(bc.n_messages, 4);

        ASSERT_OK(rpc_call_close_send(bc.tc.call));
        RUN_UNTIL(f.event, bc.tc.closed);
        ASSERT_EQ(bc.tc.status, RPC_STATUS_OK);
        fixture_done(&f);
}

TEST(client_streaming) {
        Fixture f;
        TestClient tc = {};
        uint32_t sum = 0;
        uint64_t bytes = 0;
        char expected[128];
        _cleanup_free_ uint8_t *chunk = malloc(64 * 1024);

        ASSERT_TRUE(chunk);
        fixture_setup(&f, NULL, NULL, false);
        client_start(&f, &method_upload, &tc);
        for (unsigned i = 0; i < 100; i++) {
                size_t size = 1 + (i * 7919) % (64 * 1024);

                for (size_t k = 0; k < size; k++)
                        chunk[k] = (uint8_t) (i + k * 13);
                sum = checksum(sum, chunk, size);
                bytes += size;
                ASSERT_OK(rpc_call_send(tc.call, chunk, size));
        }
        ASSERT_OK(rpc_call_close_send(tc.call));
        RUN_UNTIL(f.event, tc.closed);

        ASSERT_EQ(tc.status, RPC_STATUS_OK);
        ASSERT_EQ(tc.n_messages, 1);
        (void) snprintf(expected, sizeof(expected), "n=100 bytes=%" PRIu64 " sum=%" PRIu32, bytes, sum);
        ASSERT_EQ(tc.last_size, strlen(expected));
        ASSERT_TRUE(memcmp(tc.last, expected, tc.last_size) == 0);
        RUN_UNTIL(f.event, f.ts.n_closed == 1);
        ASSERT_EQ(f.ts.last_status, RPC_STATUS_OK);
        fixture_done(&f);
}

TEST(unary) {
        Fixture f;
        TestClient tc = {};

        fixture_setup(&f, NULL, NULL, false);
        client_start(&f, &method_unary, &tc);
        ASSERT_OK(rpc_call_send(tc.call, "hello", 5));
        /* One request: the call half-closed by itself. */
        ASSERT_ERROR(rpc_call_send(tc.call, "again", 5), ESHUTDOWN);
        ASSERT_OK(rpc_call_close_send(tc.call));
        ASSERT_ERROR(rpc_call_finish(tc.call, RPC_STATUS_OK, NULL), EINVAL);
        RUN_UNTIL(f.event, tc.closed);

        ASSERT_EQ(tc.status, RPC_STATUS_OK);
        ASSERT_EQ(tc.n_messages, 1);
        ASSERT_EQ(tc.last_size, 10);
        ASSERT_TRUE(memcmp(tc.last, "echo:hello", 10) == 0);
        ASSERT_TRUE(tc.ended);
        fixture_done(&f);
}

TEST(server_error_status) {
        Fixture f;
        TestClient tc = {};

        fixture_setup(&f, NULL, NULL, false);
        client_start(&f, &method_fail, &tc);
        ASSERT_OK(rpc_call_send(tc.call, "blob?", 5));
        /* The client keeps streaming while the server fails the call. */
        for (unsigned i = 0; i < 20; i++)
                ASSERT_OK(rpc_call_send(tc.call, "more", 4));
        RUN_UNTIL(f.event, tc.closed && f.ts.n_closed == 1);

        ASSERT_EQ(tc.status, RPC_STATUS_NOT_FOUND);
        ASSERT_STREQ(tc.message, "no such blob");
        ASSERT_EQ(rpc_status_to_errno(tc.status), -ENOENT);
        ASSERT_EQ(tc.n_messages, 0);
        ASSERT_EQ(f.ts.last_status, RPC_STATUS_NOT_FOUND);
        ASSERT_STREQ(f.ts.last_message, "no such blob");
        fixture_done(&f);
}

TEST(handler_error) {
        /* A message handler that returns -EBADMSG (a malformed protobuf, say) fails that call only. */
        Fixture f;
        TestClient bad = {}, good = {};

        fixture_setup(&f, NULL, NULL, false);
        client_start(&f, &method_bad, &bad);
        client_start(&f, &method_bad, &good);
        ASSERT_OK(rpc_call_send(bad.call, "fine", 4));
        ASSERT_OK(rpc_call_send(bad.call, "Xbroken", 7));
        ASSERT_OK(rpc_call_send(good.call, "fine", 4));
        RUN_UNTIL(f.event, bad.closed && good.n_messages == 1);

        ASSERT_EQ(bad.status, RPC_STATUS_INVALID_ARGUMENT);
        ASSERT_STREQ(bad.message, strerror(EBADMSG));
        ASSERT_EQ(bad.n_messages, 1);
        ASSERT_FALSE(good.closed);
        ASSERT_OK(rpc_call_close_send(good.call));
        RUN_UNTIL(f.event, good.closed);
        ASSERT_EQ(good.status, RPC_STATUS_OK);
        fixture_done(&f);
}

TEST(client_cancel) {
        Fixture f;
        TestClient tc = { .cancel_after = 3 };

        fixture_setup(&f, NULL, NULL, false);
        client_start(&f, &method_bidi, &tc);
        for (unsigned i = 0; i < 10; i++)
                ASSERT_OK(rpc_call_send(tc.call, "ping", 4));
        RUN_UNTIL(f.event, tc.closed && f.ts.n_closed == 1);

        ASSERT_EQ(tc.status, RPC_STATUS_CANCELLED);
        ASSERT_EQ(tc.n_messages, 3);
        ASSERT_EQ(f.ts.last_status, RPC_STATUS_CANCELLED);
        fixture_done(&f);
}

TEST(server_cancels_call) {
        Fixture f;
        TestClient tc = {};

        fixture_setup(&f, NULL, NULL, false);
        client_start(&f, &method_cancel, &tc);
        for (unsigned i = 0; i < 10; i++)
                ASSERT_OK(rpc_call_send(tc.call, "c", 1));
        RUN_UNTIL(f.event, tc.closed && f.ts.n_closed == 1);
        ASSERT_EQ(tc.status, RPC_STATUS_CANCELLED);
        ASSERT_EQ(f.ts.last_status, RPC_STATUS_CANCELLED);
        fixture_done(&f);
}

TEST(server_lifecycle) {
        sd_event *event = NULL;
        RpcContext *context = NULL;
        RpcServer *s = NULL;
        TestServer ts = {};

        ASSERT_OK(sd_event_new(&event));
        ASSERT_OK(rpc_context_new(event, &context));

        /* Never started. */
        ASSERT_OK(rpc_server_new(context, NULL, &s));
        ASSERT_OK(rpc_server_add_method(s, &method_bidi, server_new_call, &ts));
        s = rpc_server_free(s);

        /* Started, with nothing connected, freed at once with the context. */
        ASSERT_OK(rpc_server_new(context, &(RpcLimits) { .max_receive_message_size = 1 }, &s));
        ASSERT_OK(rpc_server_add_method(s, &method_bidi, server_new_call, &ts));
        ASSERT_OK(rpc_server_start(s));
        s = rpc_server_free(s);

        ASSERT_ERROR(rpc_server_new(context, &(RpcLimits) { .max_receive_message_size = SIZE_MAX }, &s),
                     ERANGE);
        ASSERT_ERROR(rpc_channel_new_target(context, "", NULL, &(RpcChannel *) { NULL }), EINVAL);
        ASSERT_ERROR(rpc_channel_new_fd_take(context, -EBADF, NULL, &(RpcChannel *) { NULL }), EBADF);

        rpc_context_free(context);
        sd_event_unref(event);
        ASSERT_EQ(ts.n_calls, 0);
}

TEST(server_freed_during_call) {
        Fixture f;
        TestClient tc = {};

        fixture_setup(&f, NULL, NULL, false);
        client_start(&f, &method_bidi, &tc);
        ASSERT_OK(rpc_call_send(tc.call, "ping", 4));
        RUN_UNTIL(f.event, tc.n_messages == 1);
        /* The server goes away with the call in progress: both ends are told. */
        test_server_free(f.event, &f.ts);
        RUN_UNTIL(f.event, tc.closed && f.ts.n_closed == 1);
        ASSERT_TRUE(IN_SET(tc.status, RPC_STATUS_CANCELLED, RPC_STATUS_UNAVAILABLE));
        ASSERT_EQ(f.ts.last_status, RPC_STATUS_CANCELLED);
        fixture_done(&f);
}

static void abrupt_close(bool client_side) {
        Fixture f;
        TestClient tc = {}, after = {};

        fixture_setup(&f, NULL, NULL, true);
        client_start(&f, &method_bidi, &tc);
        ASSERT_OK(rpc_call_send(tc.call, "ping", 4));
        RUN_UNTIL(f.event, tc.n_messages == 1);

        /* Like a crash of one side: the connection dies under both gRPC ends. */
        ASSERT_OK_ERRNO((shutdown(client_side ? f.client_fd : f.server_fd, SHUT_RDWR)));
        RUN_UNTIL(f.event, tc.closed && f.ts.n_closed == 1);
        ASSERT_TRUE(IN_SET(tc.status, RPC_STATUS_UNAVAILABLE, RPC_STATUS_CANCELLED, RPC_STATUS_INTERNAL));
        ASSERT_EQ(f.ts.last_status, RPC_STATUS_CANCELLED);

        /* The server still serves new connections. */
        f.channel = rpc_channel_free(f.channel);
        fixture_connect(&f, NULL, false);
        client_start(&f, &method_unary, &after);
        ASSERT_OK(rpc_call_send(after.call, "again", 5));
        RUN_UNTIL(f.event, after.closed);
        ASSERT_EQ(after.status, RPC_STATUS_OK);
        fixture_done(&f);
}

TEST(abrupt_close_client_side) {
        abrupt_close(true);
}

TEST(abrupt_close_server_side) {
        abrupt_close(false);
}

TEST(oversized_to_server) {
        RpcLimits limits = { .max_receive_message_size = 1024 * 1024 };
        _cleanup_free_ char *big = calloc(1, 2 * 1024 * 1024);
        Fixture f;
        TestClient tc = {}, second = {};

        ASSERT_TRUE(big);
        fixture_setup(&f, &limits, NULL, false);
        client_start(&f, &method_bidi, &tc);
        ASSERT_OK(rpc_call_send(tc.call, "small", 5));
        RUN_UNTIL(f.event, tc.n_messages == 1);
        ASSERT_OK(rpc_call_send(tc.call, big, 2 * 1024 * 1024));
        RUN_UNTIL(f.event, tc.closed && f.ts.n_closed == 1);
        ASSERT_EQ(tc.n_messages, 1);
        ASSERT_EQ(tc.status, RPC_STATUS_RESOURCE_EXHAUSTED);
        ASSERT_EQ(f.ts.last_status, RPC_STATUS_CANCELLED);

        /* The same connection serves the next call. */
        client_start(&f, &method_unary, &second);
        ASSERT_OK(rpc_call_send(second.call, "next", 4));
        RUN_UNTIL(f.event, second.closed);
        ASSERT_EQ(second.status, RPC_STATUS_OK);
        ASSERT_EQ(second.last_size, 9);
        fixture_done(&f);
}

TEST(oversized_to_client) {
        RpcLimits limits = { .max_receive_message_size = 1024 * 1024 };
        Fixture f;
        TestClient tc = {}, second = {};

        fixture_setup(&f, NULL, &limits, false);
        client_start(&f, &method_big, &tc);
        ASSERT_OK(rpc_call_send(tc.call, "2097152", 7));
        RUN_UNTIL(f.event, tc.closed);
        ASSERT_EQ(tc.status, RPC_STATUS_RESOURCE_EXHAUSTED);
        ASSERT_EQ(tc.n_messages, 0);

        /* Just under the limit passes. */
        client_start(&f, &method_big, &second);
        ASSERT_OK(rpc_call_send(second.call, "1000000", 7));
        RUN_UNTIL(f.event, second.closed);
        ASSERT_EQ(second.status, RPC_STATUS_OK);
        ASSERT_EQ(second.bytes, 1000000);
        fixture_done(&f);
}

TEST(send_queue_limit) {
        RpcLimits limits = { .max_send_queue_size = 1000 };
        Fixture f;
        TestClient tc = {};
        char buf[600] = {};

        fixture_setup(&f, NULL, &limits, false);
        client_start(&f, &method_bidi, &tc);
        ASSERT_OK(rpc_call_send(tc.call, buf, 600));
        ASSERT_ERROR(rpc_call_send(tc.call, buf, 600), ENOBUFS);
        ASSERT_OK(rpc_call_send(tc.call, buf, 400));
        /* Once sent, there is room again. */
        RUN_UNTIL(f.event, tc.n_sent == 2);
        ASSERT_OK(rpc_call_send(tc.call, buf, 600));
        ASSERT_OK(rpc_call_close_send(tc.call));
        RUN_UNTIL(f.event, tc.closed);
        ASSERT_EQ(tc.status, RPC_STATUS_OK);
        ASSERT_EQ(tc.bytes, 1600);
        fixture_done(&f);
}

static int on_tcp_call(RpcServer *s, RpcCall *call, void *userdata) {
        return server_new_call(s, call, userdata);
}

static void tcp_unary(sd_event *event, RpcContext *context, const char *target) {
        RpcChannel *channel = NULL;
        TestClient tc = {};

        ASSERT_OK(rpc_channel_new_target(context, target, NULL, &channel));
        ASSERT_OK(rpc_channel_call(channel, &method_unary, &client_handlers, &tc, &tc.call));
        ASSERT_OK(rpc_call_send(tc.call, "tcp", 3));
        RUN_UNTIL(event, tc.closed);
        ASSERT_EQ(tc.status, RPC_STATUS_OK);
        ASSERT_EQ(tc.last_size, 8);
        ASSERT_TRUE(memcmp(tc.last, "echo:tcp", 8) == 0);
        rpc_channel_free(channel);
}

TEST(tcp) {
        sd_event *event = NULL;
        RpcContext *context = NULL;
        TestServer ts = {};
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof(sa);
        uint16_t port = 0;
        char target[64];
        int fd, pipefd[2];

        ASSERT_OK(sd_event_new(&event));
        ASSERT_OK(rpc_context_new(event, &context));
        ASSERT_OK(rpc_server_new(context, NULL, &ts.server));
        ASSERT_OK(rpc_server_add_method(ts.server, &method_unary, on_tcp_call, &ts));
        ASSERT_OK(rpc_server_listen_tcp(ts.server, "127.0.0.1:0", &port));
        ASSERT_TRUE(port > 0);
        ASSERT_ERROR(rpc_server_listen_tcp(ts.server, "1.2.3.4:1", NULL), EADDRNOTAVAIL);
        ASSERT_ERROR(rpc_server_listen_tcp(ts.server, "[::1:1", NULL), EADDRNOTAVAIL);
        ASSERT_OK(rpc_server_start(ts.server));

        (void) snprintf(target, sizeof(target), "127.0.0.1:%u", port);
        tcp_unary(event, context, target);

        /* A listening socket handed over, as systemd does. */
        fd = ASSERT_OK_ERRNO((socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)));
        ASSERT_OK_ERRNO((bind(fd, (struct sockaddr *) &sa, sizeof(sa))));
        ASSERT_OK_ERRNO((getsockname(fd, (struct sockaddr *) &sa, &len)));
        ASSERT_OK_ERRNO((listen(fd, 16)));
        ASSERT_OK(rpc_server_add_listener_take(ts.server, fd));
        (void) snprintf(target, sizeof(target), "127.0.0.1:%u", ntohs(sa.sin_port));
        tcp_unary(event, context, target);
        tcp_unary(event, context, target);

        /* Wrong kinds of fds, taken and closed in every case. */
        fd = ASSERT_OK_ERRNO((socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)));
        ASSERT_ERROR(rpc_server_add_listener_take(ts.server, fd), EINVAL);
        ASSERT_OK_ERRNO((pipe2(pipefd, O_CLOEXEC)));
        ASSERT_ERROR(rpc_server_add_connection_take(ts.server, pipefd[0]), ENOTSOCK);
        ASSERT_ERROR(rpc_channel_new_fd_take(context, pipefd[1], NULL, &(RpcChannel *) { NULL }), ENOTSOCK);

        ASSERT_EQ(ts.n_calls, 3);
        test_server_free(event, &ts);
        rpc_context_free(context);
        sd_event_unref(event);
}

typedef struct FilterState {
        unsigned n_seen;
        bool refuse;
        pid_t last_pid;
} FilterState;

static int filter_peer(int fd, void *userdata) {
        FilterState *st = userdata;
        struct ucred cred;
        socklen_t l = sizeof(cred);

        ASSERT_OK_ERRNO((getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &l)));
        st->n_seen++;
        st->last_pid = cred.pid;
        return st->refuse ? -EPERM : 0;
}

TEST(filtered_listener) {
        sd_event *event = NULL;
        RpcContext *context = NULL;
        RpcChannel *channel = NULL;
        TestServer ts = {};
        TestClient tc = {};
        FilterState st = { .refuse = true };
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char dir[] = "/tmp/test-rpc-XXXXXX", target[sizeof(sa.sun_path) + 8];
        int fd;

        ASSERT_TRUE(mkdtemp(dir));
        (void) snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/sock", dir);
        (void) snprintf(target, sizeof(target), "unix:%s", sa.sun_path);
        fd = ASSERT_OK_ERRNO((socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)));
        ASSERT_OK_ERRNO((bind(fd, (struct sockaddr *) &sa, sizeof(sa))));
        ASSERT_OK_ERRNO((listen(fd, 16)));

        ASSERT_OK(sd_event_new(&event));
        ASSERT_OK(rpc_context_new(event, &context));
        ASSERT_OK(rpc_server_new(context, NULL, &ts.server));
        ASSERT_OK(rpc_server_add_method(ts.server, &method_unary, on_tcp_call, &ts));
        ASSERT_OK(rpc_server_add_filtered_listener_take(ts.server, fd, filter_peer, &st));

        /* Refused: the connection is closed before gRPC sees it. */
        ASSERT_OK(rpc_channel_new_target(context, target, NULL, &channel));
        ASSERT_OK(rpc_channel_call(channel, &method_unary, &client_handlers, &tc, &tc.call));
        ASSERT_OK(rpc_call_send(tc.call, "tcp", 3));
        RUN_UNTIL(event, tc.closed);
        ASSERT_EQ(tc.status, RPC_STATUS_UNAVAILABLE);
        ASSERT_TRUE(st.n_seen >= 1);
        ASSERT_EQ(st.last_pid, getpid());
        ASSERT_EQ(ts.n_calls, 0);
        rpc_call_free(tc.call);
        rpc_channel_free(channel);

        /* Accepted. */
        st.refuse = false;
        tcp_unary(event, context, target);
        ASSERT_EQ(ts.n_calls, 1);

        test_server_free(event, &ts);
        rpc_context_free(context);
        sd_event_unref(event);
        (void) unlink(sa.sun_path);
        (void) rmdir(dir);
}

TEST(tcp_connection_refused) {
        sd_event *event = NULL;
        RpcContext *context = NULL;
        RpcChannel *channel = NULL;
        TestClient tc = {};
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof(sa);
        char target[64];
        int fd;

        /* A port that nothing listens on: bound, never listened to. */
        fd = ASSERT_OK_ERRNO((socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)));
        ASSERT_OK_ERRNO((bind(fd, (struct sockaddr *) &sa, sizeof(sa))));
        ASSERT_OK_ERRNO((getsockname(fd, (struct sockaddr *) &sa, &len)));
        (void) snprintf(target, sizeof(target), "127.0.0.1:%u", ntohs(sa.sin_port));

        ASSERT_OK(sd_event_new(&event));
        ASSERT_OK(rpc_context_new(event, &context));
        ASSERT_OK(rpc_channel_new_target(context, target, NULL, &channel));
        ASSERT_OK(rpc_channel_call(channel, &method_unary, &client_handlers, &tc, &tc.call));
        ASSERT_OK(rpc_call_send(tc.call, "anyone?", 7));
        RUN_UNTIL(event, tc.closed);
        ASSERT_EQ(tc.status, RPC_STATUS_UNAVAILABLE);
        ASSERT_EQ(rpc_status_to_errno(tc.status), -ECONNRESET);

        rpc_channel_free(channel);
        rpc_context_free(context);
        sd_event_unref(event);
        safe_close(fd);
}

TEST(free_in_callbacks) {
        Fixture f;
        TestClient on_message = { .free_on_message = true }, on_sent = { .free_on_sent = true };
        TestClient server_frees = {}, after = {};

        fixture_setup(&f, NULL, NULL, false);

        /* The client frees its call inside "message": no callback after, and the server sees a cancel. */
        client_start(&f, &method_bidi, &on_message);
        ASSERT_OK(rpc_call_send(on_message.call, "a", 1));
        ASSERT_OK(rpc_call_send(on_message.call, "b", 1));
        ASSERT_OK(rpc_call_send(on_message.call, "c", 1));
        RUN_UNTIL(f.event, on_message.freed && f.ts.n_closed == 1);
        ASSERT_EQ(f.ts.last_status, RPC_STATUS_CANCELLED);
        ASSERT_EQ(on_message.n_messages, 1);
        ASSERT_FALSE(on_message.closed);

        /* ... inside "sent", with more messages queued behind. */
        client_start(&f, &method_bidi, &on_sent);
        for (unsigned i = 0; i < 10; i++)
                ASSERT_OK(rpc_call_send(on_sent.call, "s", 1));
        RUN_UNTIL(f.event, on_sent.freed && f.ts.n_closed == 2);
        ASSERT_EQ(on_sent.n_sent, 1);
        ASSERT_FALSE(on_sent.closed);

        /* The server frees its call inside "message", without finishing: the client sees CANCELLED. */
        client_start(&f, &method_free, &server_frees);
        ASSERT_OK(rpc_call_send(server_frees.call, "x", 1));
        RUN_UNTIL(f.event, server_frees.closed);
        ASSERT_EQ(f.ts.n_freed, 1);
        ASSERT_EQ(server_frees.status, RPC_STATUS_CANCELLED);

        /* (Every test frees its calls inside "closed".)  And everything keeps working. */
        client_start(&f, &method_unary, &after);
        ASSERT_OK(rpc_call_send(after.call, "ok", 2));
        RUN_UNTIL(f.event, after.closed);
        ASSERT_EQ(after.status, RPC_STATUS_OK);
        fixture_done(&f);
}

TEST(free_with_calls_in_flight) {
        /* The client has its own context on the same loop.  Its call handles are dropped while gRPC still
         * has batches of them, and its context freed at once: rpc_context_free() reaps them (ASan checks
         * leaks). */
        Fixture f;
        RpcContext *client_context = NULL;
        RpcChannel *channel = NULL;
        TestClient a = {}, b = {};
        int sv[2];

        fixture_setup(&f, NULL, NULL, false);
        ASSERT_OK(rpc_context_new(f.event, &client_context));
        ASSERT_OK_ERRNO((socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv)));
        ASSERT_OK(rpc_server_add_connection_take(f.ts.server, sv[1]));
        ASSERT_OK(rpc_channel_new_fd_take(client_context, sv[0], NULL, &channel));

        ASSERT_OK(rpc_channel_call(channel, &method_bidi, &client_handlers, &a, &a.call));
        ASSERT_OK(rpc_channel_call(channel, &method_upload, &client_handlers, &b, &b.call));
        ASSERT_OK(rpc_call_send(a.call, "x", 1));
        ASSERT_OK(rpc_call_send(b.call, "y", 1));
        RUN_UNTIL(f.event, a.n_messages == 1 && f.ts.n_calls == 2);
        for (unsigned i = 0; i < 100; i++)
                ASSERT_OK(rpc_call_send(a.call, "z", 1));
        a.call = rpc_call_free(a.call);
        b.call = rpc_call_free(b.call);
        channel = rpc_channel_free(channel);
        client_context = rpc_context_free(client_context);
        ASSERT_FALSE(a.closed);
        ASSERT_FALSE(b.closed);

        /* The server sees both calls end. */
        RUN_UNTIL(f.event, f.ts.n_closed == 2);
        fixture_done(&f);
}

TEST(protocol_enforcement) {
        Fixture f;
        TestClient two = {}, none = {}, unknown = {}, no_response = {}, two_responses = {};
        const RpcMethod bidi_as_client_streaming = { method_bidi.path, RPC_METHOD_CLIENT_STREAMING };

        fixture_setup(&f, NULL, NULL, false);

        /* Two requests on a unary method: the server fails the call. */
        client_start(&f, &method_strict_as_bidi, &two);
        ASSERT_OK(rpc_call_send(two.call, "one", 3));
        ASSERT_OK(rpc_call_send(two.call, "two", 3));
        ASSERT_OK(rpc_call_close_send(two.call));
        RUN_UNTIL(f.event, two.closed && f.ts.n_closed == 1);
        ASSERT_EQ(two.status, RPC_STATUS_INTERNAL);
        ASSERT_EQ(f.ts.last_status, RPC_STATUS_INTERNAL);
        ASSERT_EQ(two.n_messages, 0);

        /* No request at all on a unary method. */
        client_start(&f, &method_strict_as_bidi, &none);
        ASSERT_OK(rpc_call_close_send(none.call));
        RUN_UNTIL(f.event, none.closed);
        ASSERT_EQ(none.status, RPC_STATUS_INTERNAL);

        /* A method the server does not have. */
        client_start(&f, &method_unknown, &unknown);
        ASSERT_OK(rpc_call_send(unknown.call, "?", 1));
        RUN_UNTIL(f.event, unknown.closed);
        ASSERT_EQ(unknown.status, RPC_STATUS_UNIMPLEMENTED);

        /* A one-response call that the server finishes OK without a response.  (Also: a path of the same
         * length as the previous one, whose string may land at the same address.  gRPC once sent the old
         * path again, as it cached slices made with grpc_slice_from_static_string() by address.) */
        ASSERT_EQ(strlen(method_unknown.path), strlen(method_bidi.path));
        client_start(&f, &bidi_as_client_streaming, &no_response);
        ASSERT_OK(rpc_call_close_send(no_response.call));
        RUN_UNTIL(f.event, no_response.closed);
        ASSERT_EQ(no_response.status, RPC_STATUS_INTERNAL);
        ASSERT_STREQ(no_response.message, "The server sent no response");

        /* ... and one that gets two: the client gives up on the second. */
        client_start(&f, &bidi_as_client_streaming, &two_responses);
        ASSERT_OK(rpc_call_send(two_responses.call, "1", 1));
        ASSERT_OK(rpc_call_send(two_responses.call, "2", 1));
        RUN_UNTIL(f.event, two_responses.closed);
        ASSERT_EQ(two_responses.status, RPC_STATUS_INTERNAL);
        ASSERT_EQ(two_responses.n_messages, 1);

        fixture_done(&f);
}

TEST(max_calls) {
        RpcLimits limits = { .max_calls = 2 };
        Fixture f;
        TestClient a = {}, b = {}, c = {};

        fixture_setup(&f, &limits, NULL, false);
        client_start(&f, &method_bidi, &a);
        client_start(&f, &method_bidi, &b);
        ASSERT_OK(rpc_call_send(a.call, "a", 1));
        ASSERT_OK(rpc_call_send(b.call, "b", 1));
        RUN_UNTIL(f.event, a.n_messages == 1 && b.n_messages == 1);

        client_start(&f, &method_bidi, &c);
        ASSERT_OK(rpc_call_send(c.call, "c", 1));
        RUN_UNTIL(f.event, c.closed);
        ASSERT_EQ(c.status, RPC_STATUS_RESOURCE_EXHAUSTED);
        ASSERT_STREQ(c.message, "Too many calls");

        ASSERT_OK(rpc_call_close_send(a.call));
        ASSERT_OK(rpc_call_close_send(b.call));
        RUN_UNTIL(f.event, a.closed && b.closed);
        ASSERT_EQ(a.status, RPC_STATUS_OK);
        ASSERT_EQ(b.status, RPC_STATUS_OK);
        fixture_done(&f);
}

/* ---- Two processes ---- */

static int peer_main(const char *mode) {
        sd_event *event = NULL;
        RpcContext *context = NULL;
        RpcChannel *channel = NULL;
        TestClient pp = { .ping_pongs = 1000 }, unary = {}, hang = {};

        ASSERT_OK(sd_event_new(&event));
        ASSERT_OK(rpc_context_new(event, &context));
        ASSERT_OK(rpc_channel_new_fd_take(context, 3, NULL, &channel));

        if (streq(mode, "hang")) {
                /* Start a stream, then wait to be killed. */
                ASSERT_OK(rpc_channel_call(channel, &method_bidi, &client_handlers, &hang, &hang.call));
                ASSERT_OK(rpc_call_send(hang.call, "hang", 4));
                for (;;)
                        ASSERT_OK(sd_event_run(event, UINT64_MAX));
        }

        ASSERT_OK(rpc_channel_call(channel, &method_bidi, &client_handlers, &pp, &pp.call));
        ASSERT_OK(rpc_call_send(pp.call, &pp.next, sizeof(pp.next)));
        ASSERT_OK(rpc_channel_call(channel, &method_unary, &client_handlers, &unary, &unary.call));
        ASSERT_OK(rpc_call_send(unary.call, "peer", 4));
        RUN_UNTIL(event, pp.closed && unary.closed);
        ASSERT_EQ(pp.status, RPC_STATUS_OK);
        ASSERT_EQ(pp.next, 1000);
        ASSERT_EQ(unary.status, RPC_STATUS_OK);
        ASSERT_TRUE(memcmp(unary.last, "echo:peer", 9) == 0);

        rpc_channel_free(channel);
        rpc_context_free(context);
        sd_event_unref(event);
        return 0;
}

static pid_t spawn_peer(const char *mode, int fd) {
        posix_spawn_file_actions_t actions;
        char *argv[] = { (char *) "test-rpc", (char *) "--peer", (char *) mode, NULL };
        pid_t pid;

        /* posix_spawn, not fork: this process already runs gRPC's threads. */
        ASSERT_EQ(posix_spawn_file_actions_init(&actions), 0);
        ASSERT_EQ(posix_spawn_file_actions_adddup2(&actions, fd, 3), 0);
        ASSERT_EQ(posix_spawn(&pid, "/proc/self/exe", &actions, NULL, argv, environ), 0);
        ASSERT_EQ(posix_spawn_file_actions_destroy(&actions), 0);
        return pid;
}

static void wait_peer(pid_t pid, int expected_signal) {
        int status;

        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        if (expected_signal == 0) {
                ASSERT_TRUE(WIFEXITED(status));
                ASSERT_EQ(WEXITSTATUS(status), 0);
        } else {
                ASSERT_TRUE(WIFSIGNALED(status));
                ASSERT_EQ(WTERMSIG(status), expected_signal);
        }
}

static void two_processes(const char *mode) {
        sd_event *event = NULL;
        RpcContext *context = NULL;
        TestServer ts = {};
        int sv[2];
        pid_t pid;

        ASSERT_OK(sd_event_new(&event));
        ASSERT_OK(rpc_context_new(event, &context));
        ASSERT_OK(rpc_server_new(context, NULL, &ts.server));
        test_server_add_methods(&ts);
        ASSERT_OK(rpc_server_start(ts.server));

        ASSERT_OK_ERRNO((socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)));
        pid = spawn_peer(mode, sv[1]);
        safe_close(sv[1]);
        ASSERT_OK(rpc_server_add_connection_take(ts.server, sv[0]));

        if (streq(mode, "hang")) {
                RUN_UNTIL(event, ts.n_calls == 1);
                /* Let the message arrive and come back, then the peer vanishes. */
                for (unsigned i = 0; i < 10; i++)
                        ASSERT_OK(sd_event_run(event, 10 * USEC_PER_MSEC));
                ASSERT_OK_ERRNO((kill(pid, SIGKILL)));
                RUN_UNTIL(event, ts.n_closed == 1);
                ASSERT_EQ(ts.last_status, RPC_STATUS_CANCELLED);
                wait_peer(pid, SIGKILL);
        } else {
                RUN_UNTIL(event, ts.n_closed == 2);
                ASSERT_EQ(ts.n_calls, 2);
                ASSERT_EQ(ts.last_status, RPC_STATUS_OK);
                wait_peer(pid, 0);
        }

        test_server_free(event, &ts);
        rpc_context_free(context);
        sd_event_unref(event);
}

TEST(two_processes) {
        two_processes("talk");
}

TEST(two_processes_peer_killed) {
        two_processes("hang");
}

int main(int argc, char *argv[]) {
        if (argc == 3 && streq(argv[1], "--peer"))
                return peer_main(argv[2]);

        RUN(status_table);
        RUN(ping_pong);
        RUN(quiet_sends);
        RUN(quiet_send_completion);
        RUN(burst_in_order);
        RUN(order_with_interleaved_sends);
        RUN(batched_burst);
        RUN(batched_interleaved);
        RUN(batch_limits);
        RUN(batch_hold);
        RUN(batch_paced);
        RUN(client_streaming);
        RUN(unary);
        RUN(server_error_status);
        RUN(handler_error);
        RUN(client_cancel);
        RUN(server_cancels_call);
        RUN(server_lifecycle);
        RUN(server_freed_during_call);
        RUN(abrupt_close_client_side);
        RUN(abrupt_close_server_side);
        RUN(oversized_to_server);
        RUN(oversized_to_client);
        RUN(send_queue_limit);
        RUN(tcp);
        RUN(tcp_connection_refused);
        RUN(filtered_listener);
        RUN(free_in_callbacks);
        RUN(free_with_calls_in_flight);
        RUN(protocol_enforcement);
        RUN(max_calls);
        RUN(two_processes);
        RUN(two_processes_peer_killed);
        return 0;
}
