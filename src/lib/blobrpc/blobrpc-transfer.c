/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/* The client side: fetching a blob with GetBlob into a cache, uploading a file with PutBlob. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/fd-util.h"
#include "blobrpc/blobrpc.h"
#include "maelstrom/v1/cluster.pb-c.h"
#include "maelstrom/v1/job.pb-c.h"
#include "proto/proto-util.h"

static const RpcMethod method_put_blob = { "/maelstrom.v1.JobService/PutBlob", RPC_METHOD_CLIENT_STREAMING };
static const RpcMethod method_get_blob = { "/maelstrom.v1.WorkerService/GetBlob",
                                           RPC_METHOD_SERVER_STREAMING };

struct BlobTransfer {
        RpcCall *call;
        Digest digest;
        blob_transfer_done_func_t done;
        void *userdata;

        /* fetch */
        Cache *cache;
        CacheBlobWriter *writer;
        int error; /* a local failure while receiving */

        /* upload */
        int fd;
        uint64_t size, offset;
        bool first_sent;
};

const Digest *blob_transfer_digest(const BlobTransfer *t) {
        return &t->digest;
}

BlobTransfer *blob_transfer_free(BlobTransfer *t) {
        if (!t)
                return NULL;
        rpc_call_free(t->call);
        cache_blob_writer_free(t->writer);
        safe_close(t->fd);
        free(t);
        return NULL;
}

static int transfer_new(const Digest *d, blob_transfer_done_func_t done, void *userdata,
                        BlobTransfer **ret) {
        BlobTransfer *t = calloc(1, sizeof(BlobTransfer));
        if (!t)
                return -ENOMEM;
        t->digest = *d;
        t->done = done;
        t->userdata = userdata;
        t->fd = -EBADF;
        *ret = t;
        return 0;
}

static void transfer_closed(BlobTransfer *t, RpcStatus status, int error) {
        int r = error < 0 ? error : rpc_status_to_errno(status);
        /* The call is over; the owner may free us from done. */
        if (t->done)
                t->done(t, r, t->userdata);
}

/* ---- fetch ---- */

static int on_fetch_message(RpcCall *call, const void *data, size_t size, void *userdata) {
        BlobTransfer *t = userdata;
        _cleanup_(proto_freep) Maelstrom__V1__BlobChunk *chunk = NULL;
        int r;

        r = proto_unpack(&maelstrom__v1__blob_chunk__descriptor, data, size, (void **) &chunk);
        if (r < 0)
                return t->error = r;
        if (!t->writer) {
                Digest d;
                r = digest_from_bytes(chunk->digest.data, chunk->digest.len, &d);
                if (r < 0)
                        return t->error = r;
                if (!digest_equal(&d, &t->digest))
                        return t->error = -EBADMSG;
                r = cache_blob_begin(t->cache, &d, chunk->size, &t->writer);
                if (r < 0)
                        return t->error = r;
        } else if (chunk->digest.len > 0)
                return t->error = -EBADMSG;
        r = cache_blob_write(t->writer, chunk->data.data, chunk->data.len);
        if (r < 0)
                t->error = r;
        return r;
}

static void on_fetch_closed(RpcCall *call, RpcStatus status, const char *message, void *userdata) {
        BlobTransfer *t = userdata;
        CacheEntry *stored = NULL;
        int r = t->error;

        if (r >= 0 && status == RPC_STATUS_OK) {
                if (!t->writer)
                        r = -EBADMSG;
                else
                        /* Pinned until done has run: a full cache would otherwise evict it as it comes in,
                         * before whoever waits for it could pin it. */
                        r = cache_blob_finish(t->writer, &stored);
        }
        t->writer = cache_blob_writer_free(t->writer);
        transfer_closed(t, status, r);
        if (stored)
                cache_unpin(stored);
}

int blob_fetch(RpcChannel *ch, Cache *c, const Digest *d, blob_transfer_done_func_t done, void *userdata,
               BlobTransfer **ret) {
        static const RpcCallHandlers handlers = {
                .message = on_fetch_message,
                .closed = on_fetch_closed,
        };
        _cleanup_(blob_transfer_freep) BlobTransfer *t = NULL;
        Maelstrom__V1__GetBlobRequest req = MAELSTROM__V1__GET_BLOB_REQUEST__INIT;
        int r;

        r = transfer_new(d, done, userdata, &t);
        if (r < 0)
                return r;
        t->cache = c;
        r = rpc_channel_call(ch, &method_get_blob, &handlers, t, &t->call);
        if (r < 0)
                return r;
        req.digest.data = t->digest.bytes;
        req.digest.len = DIGEST_SIZE;
        r = blob_call_send_message(t->call, &req);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(t);
        return 0;
}

/* ---- upload ---- */

static int upload_pump(BlobTransfer *t) {
        int r;

        if (t->fd < 0)
                return 0; /* all sent */
        r = blob_send_chunks(t->call, t->fd, &t->digest, t->size, &t->offset, &t->first_sent);
        if (r <= 0)
                return r;
        t->fd = safe_close(t->fd);
        return rpc_call_close_send(t->call);
}

static void on_upload_sent(RpcCall *call, void *userdata) {
        BlobTransfer *t = userdata;
        int r = upload_pump(t);
        if (r < 0) {
                t->error = r;
                (void) rpc_call_cancel(call);
        }
}

static void on_upload_closed(RpcCall *call, RpcStatus status, const char *message, void *userdata) {
        BlobTransfer *t = userdata;
        transfer_closed(t, status, t->error);
}

int blob_upload(RpcChannel *ch, const char *path, const Digest *d, blob_transfer_done_func_t done,
                void *userdata, BlobTransfer **ret) {
        static const RpcCallHandlers handlers = {
                .sent = on_upload_sent,
                .closed = on_upload_closed,
        };
        _cleanup_(blob_transfer_freep) BlobTransfer *t = NULL;
        struct stat st;
        int r;

        r = transfer_new(d, done, userdata, &t);
        if (r < 0)
                return r;
        t->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (t->fd < 0)
                return -errno;
        if (fstat(t->fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode))
                return -EINVAL;
        t->size = S_ISREG(st.st_mode) ? (uint64_t) st.st_size : 0; /* /dev/null names the empty blob */
        r = rpc_channel_call(ch, &method_put_blob, &handlers, t, &t->call);
        if (r < 0)
                return r;
        r = upload_pump(t);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(t);
        return 0;
}
