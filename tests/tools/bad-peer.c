/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/* A misbehaving gRPC peer of the broker, for tests/integration/test-cluster.py.  Each mode does one bad
 * thing on one call, prints how the call ended ("closed: STATUS") and exits 0 once it ended; 1 on a local
 * failure.
 *
 *   bad-peer ADDRESS oversized       a JobService Session message over the broker's size limit
 *   bad-peer ADDRESS garbage         a Session message that is not a protobuf ClientMessage
 *   bad-peer ADDRESS bad-digest      a PutBlob whose data does not match the digest it names
 *   bad-peer ADDRESS vanish HEX      GetBlob of blob HEX; on the first chunk, prints "first chunk" and
 *                                    exits at once, leaving the broker in the middle of the download */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "basic/fd-util.h"
#include "basic/log.h"
#include "basic/string-util.h"
#include "basic/time-util.h"
#include "digest/digest.h"
#include "maelstrom/v1/cluster.pb-c.h"
#include "maelstrom/v1/job.pb-c.h"
#include "proto/proto-util.h"
#include "rpc/rpc.h"

#define TIMEOUT_USEC (60 * USEC_PER_SEC)

static const RpcMethod method_session = { "/maelstrom.v1.JobService/Session", RPC_METHOD_BIDI_STREAMING };
static const RpcMethod method_put_blob = { "/maelstrom.v1.JobService/PutBlob", RPC_METHOD_CLIENT_STREAMING };
static const RpcMethod method_get_blob = { "/maelstrom.v1.WorkerService/GetBlob",
                                           RPC_METHOD_SERVER_STREAMING };

typedef struct Peer {
        sd_event *event;
        bool vanish;
} Peer;

static int on_message(RpcCall *call, const void *data, size_t size, void *userdata) {
        Peer *p = userdata;

        if (p->vanish) {
                printf("first chunk\n");
                fflush(stdout);
                _exit(EXIT_SUCCESS); /* the connection drops with the process */
        }
        return 0;
}

static void on_closed(RpcCall *call, RpcStatus status, const char *message, void *userdata) {
        Peer *p = userdata;
        printf("closed: %s\n", rpc_status_to_string(status));
        (void) sd_event_exit(p->event, 0);
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Peer *p = userdata;
        log_error("The call did not end within %u s.", (unsigned) (TIMEOUT_USEC / USEC_PER_SEC));
        return sd_event_exit(p->event, -ETIMEDOUT);
}

static int send_packed(RpcCall *call, const void *message) {
        _cleanup_free_ uint8_t *data = NULL;
        size_t size;
        int r;

        r = proto_pack(message, &data, &size);
        if (r < 0)
                return r;
        return rpc_call_send(call, data, size);
}

/* One BlobChunk that names the digest of "expected" but carries other data. */
static int send_bad_chunk(RpcCall *call) {
        Maelstrom__V1__BlobChunk chunk = MAELSTROM__V1__BLOB_CHUNK__INIT;
        static const char expected[] = "the data the digest names", sent[] = "other data, same length!!";
        Digest d;
        int r;

        digest_buffer(expected, strlen(expected), &d);
        chunk.digest = (ProtobufCBinaryData) { DIGEST_SIZE, d.bytes };
        chunk.size = strlen(sent);
        chunk.data = (ProtobufCBinaryData) { strlen(sent), (uint8_t *) sent };
        r = send_packed(call, &chunk);
        if (r < 0)
                return r;
        return rpc_call_close_send(call);
}

static int start(RpcChannel *ch, const char *mode, const char *arg, Peer *p, RpcCall **ret) {
        const RpcCallHandlers handlers = { .message = on_message, .closed = on_closed };
        int r;

        if (streq(mode, "oversized") || streq(mode, "garbage")) {
                size_t size = streq(mode, "oversized") ? RPC_MAX_RECEIVE_MESSAGE_SIZE_DEFAULT + 1024 : 4096;
                _cleanup_free_ uint8_t *junk = malloc(size);

                if (!junk)
                        return -ENOMEM;
                /* 0xff bytes: field 31, wire type 7, which no protobuf message has. */
                memset(junk, 0xff, size);
                r = rpc_channel_call(ch, &method_session, &handlers, p, ret);
                if (r < 0)
                        return r;
                return rpc_call_send(*ret, junk, size);
        }
        if (streq(mode, "bad-digest")) {
                r = rpc_channel_call(ch, &method_put_blob, &handlers, p, ret);
                if (r < 0)
                        return r;
                return send_bad_chunk(*ret);
        }
        if (streq(mode, "vanish") && arg) {
                Maelstrom__V1__GetBlobRequest req = MAELSTROM__V1__GET_BLOB_REQUEST__INIT;
                Digest d;

                r = digest_from_hex(arg, &d);
                if (r < 0)
                        return r;
                p->vanish = true;
                r = rpc_channel_call(ch, &method_get_blob, &handlers, p, ret);
                if (r < 0)
                        return r;
                req.digest = (ProtobufCBinaryData) { DIGEST_SIZE, d.bytes };
                return send_packed(*ret, &req);
        }
        return -EINVAL;
}

static int run(int argc, char *argv[]) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(sd_event_source_unrefp) sd_event_source *timer = NULL;
        _cleanup_(rpc_context_freep) RpcContext *rpc = NULL;
        _cleanup_(rpc_channel_freep) RpcChannel *channel = NULL;
        _cleanup_(rpc_call_freep) RpcCall *call = NULL;
        Peer p = {};
        sigset_t mask;
        int r;

        if (argc < 3)
                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "Usage: bad-peer ADDRESS MODE [ARG]");
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        r = RET_NERRNO(sigprocmask(SIG_BLOCK, &mask, NULL));
        if (r >= 0)
                r = sd_event_default(&event);
        if (r >= 0)
                r = sd_event_add_time_relative(event, &timer, CLOCK_MONOTONIC, TIMEOUT_USEC,
                                               /* accuracy= */ 0, on_timeout, &p);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the event loop: %m");
        p.event = event;
        /* Our own send queue must take the oversized message. */
        const RpcLimits limits = { .max_send_queue_size = 2 * RPC_MAX_RECEIVE_MESSAGE_SIZE_DEFAULT };
        r = rpc_context_new(event, &rpc);
        if (r >= 0)
                r = rpc_channel_new_target(rpc, argv[1], &limits, &channel);
        if (r < 0)
                return log_error_errno(r, "Failed to set up a channel to '%s': %m", argv[1]);
        r = start(channel, argv[2], argc > 3 ? argv[3] : NULL, &p, &call);
        if (r < 0)
                return log_error_errno(r, "Failed to start '%s': %m", argv[2]);
        r = sd_event_loop(event);
        call = rpc_call_free(call);
        channel = rpc_channel_free(channel);
        return r;
}

int main(int argc, char *argv[]) {
        log_setup("bad-peer");
        return run(argc, argv) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
