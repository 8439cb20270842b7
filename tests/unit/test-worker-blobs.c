/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/* JobService's MissingBlobs and PutBlob as the local worker serves them: a real maelstrom-worker --local on
 * a socketpair, driven through lib/rpc.
 *
 *   test-worker-blobs WORKER */
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/string-util.h"
#include "basic/tests.h"
#include "basic/time-util.h"
#include "digest/digest.h"
#include "maelstrom/v1/job.pb-c.h"
#include "proto/proto-util.h"
#include "rpc/rpc.h"

static const RpcMethod method_missing = { "/maelstrom.v1.JobService/MissingBlobs", RPC_METHOD_UNARY };
static const RpcMethod method_put = { "/maelstrom.v1.JobService/PutBlob", RPC_METHOD_CLIENT_STREAMING };

typedef struct Reply {
        bool closed;
        RpcStatus status;
        uint8_t *data;
        size_t size;
} Reply;

static int on_message(RpcCall *call, const void *data, size_t size, void *userdata) {
        Reply *r = userdata;
        r->data = realloc(r->data, size ?: 1);
        memcpy(r->data, data, size);
        r->size = size;
        return 0;
}

static void on_closed(RpcCall *call, RpcStatus status, const char *message, void *userdata) {
        Reply *r = userdata;
        r->closed = true;
        r->status = status;
}

static const RpcCallHandlers handlers = { .message = on_message, .closed = on_closed };

static void wait_closed(sd_event *e, Reply *r) {
        usec_t deadline = now(CLOCK_MONOTONIC) + 30 * USEC_PER_SEC;
        while (!r->closed) {
                ASSERT_TRUE(now(CLOCK_MONOTONIC) < deadline);
                ASSERT_OK(sd_event_run(e, 100 * USEC_PER_MSEC));
        }
}

static void send_message(RpcCall *call, const void *message) {
        _cleanup_free_ uint8_t *data = NULL;
        size_t size;
        ASSERT_OK(proto_pack(message, &data, &size));
        ASSERT_OK(rpc_call_send(call, data, size));
}

/* The digests among ds that the worker says it lacks, as a bit mask. */
static unsigned missing(sd_event *e, RpcChannel *ch, const Digest *ds, size_t n) {
        Maelstrom__V1__MissingBlobsRequest req = MAELSTROM__V1__MISSING_BLOBS_REQUEST__INIT;
        ProtobufCBinaryData b[8];
        Reply reply = {};
        RpcCall *call = NULL;
        unsigned mask = 0;

        for (size_t i = 0; i < n; i++)
                b[i] = (ProtobufCBinaryData) { DIGEST_SIZE, (uint8_t *) ds[i].bytes };
        req.digests = b;
        req.n_digests = n;
        ASSERT_OK(rpc_channel_call(ch, &method_missing, &handlers, &reply, &call));
        send_message(call, &req);
        wait_closed(e, &reply);
        ASSERT_EQ(reply.status, RPC_STATUS_OK);

        _cleanup_(proto_freep) Maelstrom__V1__MissingBlobsReply *r = NULL;
        ASSERT_OK(proto_unpack(&maelstrom__v1__missing_blobs_reply__descriptor, reply.data, reply.size,
                               (void **) &r));
        for (size_t i = 0; i < r->n_digests; i++)
                for (size_t j = 0; j < n; j++)
                        if (r->digests[i].len == DIGEST_SIZE &&
                            memcmp(r->digests[i].data, ds[j].bytes, DIGEST_SIZE) == 0)
                                mask |= 1u << j;
        free(reply.data);
        rpc_call_free(call);
        return mask;
}

/* Upload data in chunks of 3 bytes, claiming digest d; returns the call's status. */
static RpcStatus put(sd_event *e, RpcChannel *ch, const Digest *d, const char *data) {
        Reply reply = {};
        RpcCall *call = NULL;
        size_t len = strlen(data);

        ASSERT_OK(rpc_channel_call(ch, &method_put, &handlers, &reply, &call));
        for (size_t off = 0; off == 0 || off < len; off += 3) {
                Maelstrom__V1__BlobChunk c = MAELSTROM__V1__BLOB_CHUNK__INIT;
                if (off == 0) {
                        c.digest = (ProtobufCBinaryData) { DIGEST_SIZE, (uint8_t *) d->bytes };
                        c.size = len;
                }
                c.data = (ProtobufCBinaryData) { MIN((size_t) 3, len - off), (uint8_t *) data + off };
                send_message(call, &c);
        }
        ASSERT_OK(rpc_call_close_send(call));
        wait_closed(e, &reply);
        free(reply.data);
        rpc_call_free(call);
        return reply.status;
}

int main(int argc, char **argv) {
        char dir[] = "/tmp/test-worker-blobs-XXXXXX";
        int sv[2], status;
        sigset_t mask;

        ASSERT_TRUE(argc == 2);
        ASSERT_TRUE(mkdtemp(dir) != NULL);
        ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));

        /* Fork before gRPC starts its threads. */
        pid_t pid = fork();
        ASSERT_OK(pid);
        if (pid == 0) {
                _cleanup_free_ char *root = strjoin(dir, "/worker");
                /* Should the test die on a failed assertion, the worker goes with it. */
                if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || dup2(sv[1], 3) < 0)
                        _exit(127);
                execl(argv[1], "maelstrom-worker", "--local", "-c", "-", "--cache-root", root,
                      (char *) NULL);
                _exit(127);
        }
        close(sv[1]);

        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        ASSERT_OK(sigprocmask(SIG_BLOCK, &mask, NULL));

        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        RpcContext *ctx = NULL;
        RpcChannel *ch = NULL;
        ASSERT_OK(sd_event_new(&e));
        ASSERT_OK(rpc_context_new(e, &ctx));
        ASSERT_OK(rpc_channel_new_fd_take(ctx, sv[0], NULL, &ch));

        Digest d[2];
        digest_buffer("hello, blob", 11, &d[0]);
        digest_buffer("another", 7, &d[1]);

        ASSERT_EQ(missing(e, ch, d, 2), 3u);
        /* Data that does not match its digest is refused and not stored. */
        ASSERT_TRUE(put(e, ch, &d[0], "hello, blub") != RPC_STATUS_OK);
        ASSERT_EQ(missing(e, ch, d, 2), 3u);
        /* A right one is stored; the connection still serves after the refusal. */
        ASSERT_EQ(put(e, ch, &d[0], "hello, blob"), RPC_STATUS_OK);
        ASSERT_EQ(missing(e, ch, d, 2), 2u);
        ASSERT_EQ(put(e, ch, &d[1], "another"), RPC_STATUS_OK);
        ASSERT_EQ(missing(e, ch, d, 2), 0u);

        rpc_channel_free(ch);
        rpc_context_free(ctx);
        /* Without its client the local worker exits by itself, although no session ever started. */
        usec_t deadline = now(CLOCK_MONOTONIC) + 10 * USEC_PER_SEC;
        pid_t p;
        while ((p = waitpid(pid, &status, WNOHANG)) == 0) {
                ASSERT_TRUE(now(CLOCK_MONOTONIC) < deadline);
                usleep(10 * 1000);
        }
        ASSERT_EQ(p, pid);
        ASSERT_TRUE(WIFEXITED(status));
        ASSERT_EQ(WEXITSTATUS(status), 0);
        _cleanup_free_ char *cmd = strjoin("rm -rf ", dir);
        ASSERT_EQ(system(cmd), 0);
        return 0;
}
