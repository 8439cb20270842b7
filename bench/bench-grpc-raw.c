/* SPDX-License-Identifier: MIT OR Apache-2.0 */

/* The anchor of bench-rpc: the same exchanges written straight on gRPC's core API, in one thread that polls
 * one completion queue for both ends, with no event loop and no thread hand-off.  This is the benchmark's
 * reference, not product code, which is why it includes gRPC's headers outside lib/rpc.
 *
 *   bench-grpc-raw pingpong ROUNDS         round trips of 8-byte messages on one bidirectional stream
 *   bench-grpc-raw oneway COUNT SIZE       COUNT messages of SIZE bytes, client to server, one stream
 *
 * Prints the elapsed wall-clock seconds and the CPU seconds of the process (all threads). */

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <grpc/byte_buffer.h>
#include <grpc/grpc.h>
#include <grpc/grpc_posix.h>
#include <grpc/grpc_security.h>

#include "basic/macro.h"
#include "basic/parse-util.h"
#include "basic/time-util.h"

enum { C_SEND, C_RECV, C_STATUS, S_NEW, S_SEND, S_RECV, S_CLOSE, S_SHUTDOWN, _TAG_MAX };

typedef struct Bench {
        grpc_completion_queue *cq;
        grpc_server *server;
        void *method;
        grpc_channel *channel;
        bool oneway;
        uint64_t count, size, sent, received, server_received;
        char *payload;

        grpc_call *ccall, *scall;
        bool csend_pending, closed_send, done, server_meta_sent, server_send_pending, server_end;
        grpc_byte_buffer *crecv, *srecv, *ssend;
        grpc_metadata_array cmeta, ctrail, smeta;
        grpc_status_code status;
        grpc_slice details;
        int cancelled;
        gpr_timespec deadline;
        bool pending[_TAG_MAX];
} Bench;

static void start(Bench *b, grpc_call *call, const grpc_op *ops, size_t n, int tag) {
        assert(!b->pending[tag]);
        b->pending[tag] = true;
        assert(grpc_call_start_batch(call, ops, n, (void *) (intptr_t) tag, NULL) == GRPC_CALL_OK);
}

static grpc_byte_buffer *make_buffer(const void *data, size_t size) {
        grpc_slice s = grpc_slice_from_copied_buffer(data, size);
        grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);

        grpc_slice_unref(s);
        return bb;
}

static void client_send_next(Bench *b) {
        grpc_op ops[1] = {};

        /* One send at a time; in ping-pong, the next one only once the echo of the last came back. */
        if (b->csend_pending || (!b->oneway && b->received < b->sent))
                return;
        if (b->sent == b->count) {
                if (b->closed_send)
                        return;
                ops[0].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
                b->closed_send = true;
        } else {
                grpc_byte_buffer *bb = make_buffer(b->oneway ? b->payload : (char *) &b->sent,
                                                   b->oneway ? b->size : sizeof(b->sent));

                ops[0].op = GRPC_OP_SEND_MESSAGE;
                ops[0].data.send_message.send_message = bb;
                b->sent++;
                start(b, b->ccall, ops, 1, C_SEND);
                grpc_byte_buffer_destroy(bb); /* the op took the slices; the buffer is ours to destroy */
                b->csend_pending = true;
                return;
        }
        start(b, b->ccall, ops, 1, C_SEND);
        b->csend_pending = true;
}

static void server_recv(Bench *b) {
        grpc_op op = { .op = GRPC_OP_RECV_MESSAGE, .data.recv_message.recv_message = &b->srecv };
        start(b, b->scall, &op, 1, S_RECV);
}

static void server_send_status(Bench *b) {
        grpc_op ops[2] = {}, *o = ops;

        if (!b->server_meta_sent)
                (o++)->op = GRPC_OP_SEND_INITIAL_METADATA;
        b->server_meta_sent = true;
        o->op = GRPC_OP_SEND_STATUS_FROM_SERVER;
        o->data.send_status_from_server.status = GRPC_STATUS_OK;
        o++;
        start(b, b->scall, ops, (size_t) (o - ops), S_SEND);
        b->server_send_pending = true;
}

static void handle(Bench *b, int tag, bool ok) {
        b->pending[tag] = false;

        switch (tag) {
        case C_SEND:
                b->csend_pending = false;
                client_send_next(b);
                break;
        case C_RECV: {
                grpc_op op = { .op = GRPC_OP_RECV_MESSAGE, .data.recv_message.recv_message = &b->crecv };

                if (!b->crecv)
                        break;
                grpc_byte_buffer_destroy(b->crecv);
                b->crecv = NULL;
                b->received++;
                start(b, b->ccall, &op, 1, C_RECV);
                client_send_next(b);
                break;
        }
        case C_STATUS:
                assert(b->status == GRPC_STATUS_OK);
                b->done = true;
                break;
        case S_NEW: {
                grpc_op op = { .op = GRPC_OP_RECV_CLOSE_ON_SERVER,
                               .data.recv_close_on_server.cancelled = &b->cancelled };

                assert(ok);
                start(b, b->scall, &op, 1, S_CLOSE);
                server_recv(b);
                break;
        }
        case S_RECV:
                if (!b->srecv) {
                        b->server_end = true;
                        if (!b->server_send_pending)
                                server_send_status(b);
                        break;
                }
                b->server_received++;
                if (b->oneway) {
                        grpc_byte_buffer_destroy(b->srecv);
                } else {
                        grpc_op ops[2] = {}, *o = ops;

                        if (!b->server_meta_sent)
                                (o++)->op = GRPC_OP_SEND_INITIAL_METADATA;
                        b->server_meta_sent = true;
                        o->op = GRPC_OP_SEND_MESSAGE;
                        o->data.send_message.send_message = b->ssend = b->srecv;
                        o++;
                        start(b, b->scall, ops, (size_t) (o - ops), S_SEND);
                        b->server_send_pending = true;
                }
                b->srecv = NULL;
                server_recv(b);
                break;
        case S_SEND:
                b->server_send_pending = false;
                if (b->ssend) {
                        grpc_byte_buffer_destroy(b->ssend);
                        b->ssend = NULL;
                        if (b->server_end)
                                server_send_status(b);
                }
                break;
        case S_CLOSE:
        case S_SHUTDOWN:
                break;
        }
}

static bool any_pending(const Bench *b) {
        for (size_t i = 0; i < _TAG_MAX; i++)
                if (b->pending[i])
                        return true;
        return false;
}

int main(int argc, char *argv[]) {
        Bench b = { .size = 8 };
        grpc_channel_credentials *ccreds;
        struct timespec c0, c1;
        grpc_server_credentials *screds;
        grpc_op ops[3] = {};
        grpc_slice path;
        int sv[2];
        usec_t t0, t1;

        if (argc < 3 || (!streq(argv[1], "pingpong") && !streq(argv[1], "oneway")) ||
            safe_atou64(argv[2], &b.count) < 0 || (argc > 3 && safe_atou64(argv[3], &b.size) < 0)) {
                fprintf(stderr, "usage: %s pingpong ROUNDS | oneway COUNT SIZE\n", argv[0]);
                return 2;
        }
        b.oneway = streq(argv[1], "oneway");
        b.payload = calloc(1, b.size ?: 1);
        assert(b.payload);

        grpc_init();
        b.cq = grpc_completion_queue_create_for_next(NULL);
        b.server = grpc_server_create(NULL, NULL);
        b.method = grpc_server_register_method(b.server, "/bench.Raw/Stream", NULL, GRPC_SRM_PAYLOAD_NONE,
                                               0);
        grpc_server_register_completion_queue(b.server, b.cq, NULL);
        grpc_server_start(b.server);

        assert(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
        screds = grpc_insecure_server_credentials_create();
        grpc_server_add_channel_from_fd(b.server, sv[1], screds);
        grpc_server_credentials_release(screds);
        ccreds = grpc_insecure_credentials_create();
        b.channel = grpc_channel_create_from_fd("local", sv[0], ccreds, NULL);
        grpc_channel_credentials_release(ccreds);

        grpc_metadata_array_init(&b.cmeta);
        grpc_metadata_array_init(&b.ctrail);
        grpc_metadata_array_init(&b.smeta);
        b.pending[S_NEW] = true;
        assert(grpc_server_request_registered_call(b.server, b.method, &b.scall, &b.deadline, &b.smeta, NULL,
                                                   b.cq, b.cq, (void *) (intptr_t) S_NEW) == GRPC_CALL_OK);

        t0 = now(CLOCK_MONOTONIC);
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
        path = grpc_slice_from_static_string("/bench.Raw/Stream");
        b.ccall = grpc_channel_create_call(b.channel, NULL, GRPC_PROPAGATE_DEFAULTS, b.cq, path, NULL,
                                           gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        ops[0].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
        ops[0].data.recv_status_on_client.trailing_metadata = &b.ctrail;
        ops[0].data.recv_status_on_client.status = &b.status;
        ops[0].data.recv_status_on_client.status_details = &b.details;
        start(&b, b.ccall, ops, 1, C_STATUS);
        memset(ops, 0, sizeof(ops));
        ops[0].op = GRPC_OP_RECV_INITIAL_METADATA;
        ops[0].data.recv_initial_metadata.recv_initial_metadata = &b.cmeta;
        ops[1].op = GRPC_OP_RECV_MESSAGE;
        ops[1].data.recv_message.recv_message = &b.crecv;
        start(&b, b.ccall, ops, 2, C_RECV);
        memset(ops, 0, sizeof(ops));
        ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
        start(&b, b.ccall, ops, 1, C_SEND);
        b.csend_pending = true;

        while (!b.done || any_pending(&b)) {
                grpc_event ev = grpc_completion_queue_next(b.cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);

                assert(ev.type == GRPC_OP_COMPLETE);
                handle(&b, (int) (intptr_t) ev.tag, ev.success);
        }
        t1 = now(CLOCK_MONOTONIC);
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
        assert(b.oneway ? b.server_received == b.count : b.received == b.count);

        grpc_call_unref(b.ccall);
        grpc_call_unref(b.scall);
        grpc_metadata_array_destroy(&b.cmeta);
        grpc_metadata_array_destroy(&b.ctrail);
        grpc_metadata_array_destroy(&b.smeta);
        grpc_slice_unref(b.details);
        grpc_channel_destroy(b.channel);
        grpc_server_shutdown_and_notify(b.server, b.cq, (void *) (intptr_t) S_SHUTDOWN);
        grpc_server_cancel_all_calls(b.server);
        for (;;) {
                grpc_event ev = grpc_completion_queue_next(b.cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
                if (ev.type == GRPC_OP_COMPLETE && (intptr_t) ev.tag == S_SHUTDOWN)
                        break;
        }
        grpc_server_destroy(b.server);
        grpc_completion_queue_shutdown(b.cq);
        for (;;)
                if (grpc_completion_queue_next(b.cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type ==
                    GRPC_QUEUE_SHUTDOWN)
                        break;
        grpc_completion_queue_destroy(b.cq);
        grpc_shutdown();
        free(b.payload);

        printf("%.6f %.6f\n", (double) (t1 - t0) / USEC_PER_SEC,
               (double) (timespec_load(&c1) - timespec_load(&c0)) / USEC_PER_SEC);
        return 0;
}
