/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/* JobService's MissingBlobs and PutBlob as the local worker serves them, and the copies of a local client's
 * files that its jobs' layers need: a real maelstrom-worker --local on a socketpair, driven through
 * lib/rpc.
 *
 *   test-worker-blobs WORKER */
#include <signal.h>
#include <stdio.h>
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
static const RpcMethod method_session = { "/maelstrom.v1.JobService/Session", RPC_METHOD_BIDI_STREAMING };

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

/* The errors of the session's job results, by job id (1..3). */
typedef struct Results {
        unsigned n;
        char *step[4];
        int error[4];
} Results;

static int on_server_message(RpcCall *call, const void *data, size_t size, void *userdata) {
        Results *res = userdata;
        _cleanup_(proto_freep) Maelstrom__V1__ServerMessage *m = NULL;

        ASSERT_OK(proto_unpack(&maelstrom__v1__server_message__descriptor, data, size, (void **) &m));
        for (size_t i = 0; i < m->n_results + (m->result != NULL); i++) {
                const Maelstrom__V1__JobResult *r = i < m->n_results ? m->results[i] : m->result;
                ASSERT_TRUE(r->job_id >= 1 && r->job_id <= 3 && !res->step[r->job_id]);
                ASSERT_EQ(r->outcome_case, MAELSTROM__V1__JOB_RESULT__OUTCOME_ERROR);
                res->step[r->job_id] = strdup(r->error->step);
                res->error[r->job_id] = r->error->error_number;
                res->n++;
        }
        return 0;
}

static const RpcCallHandlers session_handlers = { .message = on_server_message };

static void write_file(const char *path, char fill, size_t size, Digest *ret) {
        _cleanup_free_ char *data = malloc(size);
        ASSERT_TRUE(data != NULL);
        memset(data, fill, size);
        FILE *f = fopen(path, "we");
        ASSERT_TRUE(f != NULL);
        ASSERT_EQ(fwrite(data, 1, size, f), size);
        ASSERT_EQ(fclose(f), 0);
        digest_buffer(data, size, ret);
}

/* Layers from a local client's files of 512 KiB, which the worker copies on a thread while its loop goes
 * on: one whose file does not hold the digest it is named by fails its job as the copy does; one named
 * right is copied once for the two jobs that want it at once, which both go on to make the layer (and
 * fail there: the file is no tar), although the cache is smaller than the file. */
static void test_local_copies(sd_event *e, RpcChannel *ch, const char *dir) {
        _cleanup_free_ char *bad = strjoin(dir, "/bad"), *good = strjoin(dir, "/good");
        Digest d_bad, d_good, claimed;
        Results res = {};
        RpcCall *call = NULL;

        write_file(bad, 'b', 512 * 1024, &d_bad);
        write_file(good, 'g', 512 * 1024, &d_good);
        digest_buffer("not what the file holds", 23, &claimed);

        Maelstrom__V1__LocalBlob lb[2] = { MAELSTROM__V1__LOCAL_BLOB__INIT,
                                           MAELSTROM__V1__LOCAL_BLOB__INIT };
        Maelstrom__V1__LocalBlob *lbs[2] = { &lb[0], &lb[1] };
        lb[0].digest = (ProtobufCBinaryData) { DIGEST_SIZE, claimed.bytes };
        lb[0].path = bad;
        lb[1].digest = (ProtobufCBinaryData) { DIGEST_SIZE, d_good.bytes };
        lb[1].path = good;
        Maelstrom__V1__Layer layer[2] = { MAELSTROM__V1__LAYER__INIT, MAELSTROM__V1__LAYER__INIT };
        Maelstrom__V1__Layer *layers[2][1] = { { &layer[0] }, { &layer[1] } };
        layer[0].digest = lb[0].digest;
        layer[0].kind = MAELSTROM__V1__LAYER_KIND__LAYER_KIND_TAR;
        layer[1].digest = lb[1].digest;
        layer[1].kind = MAELSTROM__V1__LAYER_KIND__LAYER_KIND_TAR;
        Maelstrom__V1__JobSpec spec[3];
        Maelstrom__V1__Submit sub[3];
        Maelstrom__V1__Submit *subs[3];
        for (unsigned i = 0; i < 3; i++) {
                spec[i] = (Maelstrom__V1__JobSpec) MAELSTROM__V1__JOB_SPEC__INIT;
                spec[i].program = (char *) "/x";
                spec[i].layers = layers[i == 0 ? 0 : 1];
                spec[i].n_layers = 1;
                sub[i] = (Maelstrom__V1__Submit) MAELSTROM__V1__SUBMIT__INIT;
                sub[i].job_id = i + 1;
                sub[i].spec = &spec[i];
                subs[i] = &sub[i];
        }
        Maelstrom__V1__ClientMessage msg = MAELSTROM__V1__CLIENT_MESSAGE__INIT;
        msg.local_blobs = lbs;
        msg.n_local_blobs = 2;
        msg.submits = subs;
        msg.n_submits = 3;

        ASSERT_OK(rpc_channel_call(ch, &method_session, &session_handlers, &res, &call));
        send_message(call, &msg);
        usec_t deadline = now(CLOCK_MONOTONIC) + 30 * USEC_PER_SEC;
        while (res.n < 3) {
                ASSERT_TRUE(now(CLOCK_MONOTONIC) < deadline);
                ASSERT_OK(sd_event_run(e, 100 * USEC_PER_MSEC));
        }
        _cleanup_free_ char *copy_step = strjoin("copy '", bad, "' into the cache");
        ASSERT_STREQ(res.step[1], copy_step);
        ASSERT_EQ(res.error[1], EBADMSG);
        char hex[DIGEST_HEX_SIZE];
        digest_to_hex(&d_good, hex);
        _cleanup_free_ char *layer_step = strjoin("prepare layer ", hex);
        for (unsigned i = 2; i <= 3; i++)
                ASSERT_TRUE(strncmp(res.step[i], layer_step, strlen(layer_step)) == 0);
        for (unsigned i = 1; i <= 3; i++)
                free(res.step[i]);
        rpc_call_free(call);
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
                /* A cache smaller than the files test_local_copies() has copied (each copy must stay
                 * until its jobs have it). */
                execl(argv[1], "maelstrom-worker", "--local", "-c", "-", "--cache-root", root,
                      "--cache-size", "100 KB", (char *) NULL);
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

        test_local_copies(e, ch, dir);

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
