/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/* A misbehaving gRPC peer of the broker, for tests/integration/test-cluster.py.  Each mode does one bad
 * thing on one call, prints how the call ended ("closed: STATUS") and exits 0 once it ended; 1 on a local
 * failure.
 *
 *   bad-peer ADDRESS oversized       a JobService Session message over the broker's size limit
 *   bad-peer ADDRESS garbage         a Session message that is not a protobuf ClientMessage
 *   bad-peer ADDRESS big-batch       a Session message that is a batch of RPC_BATCH_MAX_MESSAGES + 1 items
 *   bad-peer ADDRESS bad-digest      a PutBlob whose data does not match the digest it names
 *   bad-peer ADDRESS vanish HEX      GetBlob of blob HEX; on the first chunk, prints "first chunk" and
 *                                    exits at once, leaving the broker in the middle of the download
 *   bad-peer ADDRESS bad-manifest    uploads a blob that is no manifest, submits a job that names it as a
 *                                    manifest layer, and prints the job's result ("error: STEP: MESSAGE") */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "basic/fd-util.h"
#include "basic/log.h"
#include "basic/string-util.h"
#include "basic/time-util.h"
#include "blobrpc/blobrpc.h"
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

static const char not_a_manifest[] = "MAELMNFS but nothing that follows makes sense";

typedef struct Peer {
        sd_event *event;
        RpcChannel *channel;
        RpcCall *session;
        bool vanish, manifest;
} Peer;

static int on_session_message(RpcCall *call, const void *data, size_t size, void *userdata) {
        _cleanup_(proto_freep) Maelstrom__V1__ServerMessage *msg = NULL;
        Peer *p = userdata;
        int r;

        r = proto_unpack(&maelstrom__v1__server_message__descriptor, data, size, (void **) &msg);
        if (r < 0)
                return r;
        /* One result, alone or in a batch. */
        const Maelstrom__V1__JobResult *result = NULL;
        if (msg->kind_case == MAELSTROM__V1__SERVER_MESSAGE__KIND_RESULT)
                result = msg->result;
        else if (msg->n_results > 0)
                result = msg->results[0];
        if (!result)
                return 0;
        if (result->outcome_case == MAELSTROM__V1__JOB_RESULT__OUTCOME_ERROR)
                printf("error: %s: %s\n", result->error->step, result->error->message);
        else
                printf("not an error\n");
        return sd_event_exit(p->event, 0);
}

static void on_session_closed(RpcCall *call, RpcStatus status, const char *message, void *userdata) {
        Peer *p = userdata;
        printf("session closed: %s\n", rpc_status_to_string(status));
        (void) sd_event_exit(p->event, 0);
}

/* The blob is stored: a job that names it as a manifest layer. */
static int submit_manifest_job(Peer *p) {
        const RpcCallHandlers handlers = { .message = on_session_message, .closed = on_session_closed };
        Maelstrom__V1__ClientMessage msg = MAELSTROM__V1__CLIENT_MESSAGE__INIT;
        Maelstrom__V1__Submit submit = MAELSTROM__V1__SUBMIT__INIT;
        Maelstrom__V1__JobSpec spec = MAELSTROM__V1__JOB_SPEC__INIT;
        Maelstrom__V1__Layer layer = MAELSTROM__V1__LAYER__INIT, *layers[] = { &layer };
        Digest d;
        int r;

        digest_buffer(not_a_manifest, strlen(not_a_manifest), &d);
        layer.digest = (ProtobufCBinaryData) { DIGEST_SIZE, d.bytes };
        layer.kind = MAELSTROM__V1__LAYER_KIND__LAYER_KIND_MANIFEST;
        spec.program = (char *) "/bin/true";
        spec.layers = layers;
        spec.n_layers = 1;
        submit.job_id = 1;
        submit.spec = &spec;
        msg.kind_case = MAELSTROM__V1__CLIENT_MESSAGE__KIND_SUBMIT;
        msg.submit = &submit;
        r = rpc_channel_call(p->channel, &method_session, &handlers, p, &p->session);
        if (r < 0)
                return r;
        return blob_call_send_message(p->session, &msg);
}

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
        int r;

        printf("closed: %s\n", rpc_status_to_string(status));
        if (p->manifest && status == RPC_STATUS_OK) {
                r = submit_manifest_job(p);
                if (r >= 0)
                        return;
                log_error_errno(r, "Failed to submit the job: %m");
        }
        (void) sd_event_exit(p->event, 0);
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Peer *p = userdata;
        log_error("The call did not end within %u s.", (unsigned) (TIMEOUT_USEC / USEC_PER_SEC));
        return sd_event_exit(p->event, -ETIMEDOUT);
}

/* One BlobChunk that names the digest of "expected" and carries "sent". */
static int send_chunk(RpcCall *call, const char *expected, const char *sent) {
        Maelstrom__V1__BlobChunk chunk = MAELSTROM__V1__BLOB_CHUNK__INIT;
        Digest d;
        int r;

        digest_buffer(expected, strlen(expected), &d);
        chunk.digest = (ProtobufCBinaryData) { DIGEST_SIZE, d.bytes };
        chunk.size = strlen(sent);
        chunk.data = (ProtobufCBinaryData) { strlen(sent), (uint8_t *) sent };
        r = blob_call_send_message(call, &chunk);
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
        if (streq(mode, "big-batch")) {
                /* Cancels of jobs that do not exist: harmless one by one, too many at once. */
                Maelstrom__V1__ClientMessage msg = MAELSTROM__V1__CLIENT_MESSAGE__INIT;
                _cleanup_free_ Maelstrom__V1__Cancel *cancels = calloc(RPC_BATCH_MAX_MESSAGES + 1,
                                                                      sizeof(Maelstrom__V1__Cancel));
                _cleanup_free_ Maelstrom__V1__Cancel **ptrs = calloc(RPC_BATCH_MAX_MESSAGES + 1,
                                                                    sizeof(Maelstrom__V1__Cancel *));

                if (!cancels || !ptrs)
                        return -ENOMEM;
                for (size_t i = 0; i <= RPC_BATCH_MAX_MESSAGES; i++) {
                        cancels[i] = (Maelstrom__V1__Cancel) MAELSTROM__V1__CANCEL__INIT;
                        cancels[i].job_id = 1000000 + i;
                        ptrs[i] = &cancels[i];
                }
                msg.n_cancels = RPC_BATCH_MAX_MESSAGES + 1;
                msg.cancels = ptrs;
                r = rpc_channel_call(ch, &method_session, &handlers, p, ret);
                if (r < 0)
                        return r;
                return blob_call_send_message(*ret, &msg);
        }
        if (streq(mode, "bad-digest") || streq(mode, "bad-manifest")) {
                p->manifest = streq(mode, "bad-manifest");
                r = rpc_channel_call(ch, &method_put_blob, &handlers, p, ret);
                if (r < 0)
                        return r;
                if (p->manifest)
                        return send_chunk(*ret, not_a_manifest, not_a_manifest);
                return send_chunk(*ret, "the data the digest names", "other data, same length!!");
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
                return blob_call_send_message(*ret, &req);
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
        p.channel = channel;
        r = start(channel, argv[2], argc > 3 ? argv[3] : NULL, &p, &call);
        if (r < 0)
                return log_error_errno(r, "Failed to start '%s': %m", argv[2]);
        r = sd_event_loop(event);
        p.session = rpc_call_free(p.session);
        call = rpc_call_free(call);
        channel = rpc_channel_free(channel);
        return r;
}

int main(int argc, char *argv[]) {
        log_setup("bad-peer");
        return run(argc, argv) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
