/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/* The server side: MissingBlobs, PutBlob and GetBlob. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/fd-util.h"
#include "blobrpc/blobrpc.h"
#include "maelstrom/v1/cluster.pb-c.h"
#include "maelstrom/v1/job.pb-c.h"
#include "proto/proto-util.h"

static const RpcMethod method_put_blob = { "/maelstrom.v1.JobService/PutBlob", RPC_METHOD_CLIENT_STREAMING };
static const RpcMethod method_missing_blobs = { "/maelstrom.v1.JobService/MissingBlobs", RPC_METHOD_UNARY };
static const RpcMethod method_get_blob = { "/maelstrom.v1.WorkerService/GetBlob",
                                           RPC_METHOD_SERVER_STREAMING };

typedef struct ServiceCall ServiceCall;

struct BlobService {
        Cache *cache;
        blob_stored_func_t on_stored;
        void *userdata;
        BlobStats stats;
        ServiceCall *calls;
};

/* Every call the service took, until it closes: gRPC says "closed" only from the event loop, and a daemon
 * that stops before that (its client hung up) frees them with the service. */
struct ServiceCall {
        BlobService *service;
        RpcCall *call;
        void (*free)(ServiceCall *c); /* frees the whole record, of which this is the first member */
        ServiceCall *prev, *next;
};

static void service_call_link(ServiceCall *c, BlobService *b, RpcCall *call,
                              void (*free_func)(ServiceCall *)) {
        *c = (ServiceCall) { .service = b, .call = call, .free = free_func, .next = b->calls };
        if (b->calls)
                b->calls->prev = c;
        b->calls = c;
}

/* Unlinks c and frees its call. */
static void service_call_done(ServiceCall *c) {
        if (c->prev)
                c->prev->next = c->next;
        else
                c->service->calls = c->next;
        if (c->next)
                c->next->prev = c->prev;
        rpc_call_free(c->call);
}

typedef enum SendMode {
        SEND_ALONE,
        SEND_BATCHED,
        SEND_PACED,
} SendMode;

static int call_send_packed(RpcCall *call, const void *message, SendMode mode, usec_t usec) {
        _cleanup_free_ uint8_t *data = NULL;
        size_t size;
        int r;

        r = proto_pack(message, &data, &size);
        if (r < 0)
                return r;
        switch (mode) {
        case SEND_ALONE:
                return rpc_call_send(call, data, size);
        case SEND_BATCHED:
                return rpc_call_send_batched(call, data, size, usec);
        case SEND_PACED:
                return rpc_call_send_paced(call, data, size, usec);
        }
        return -EINVAL;
}

int blob_call_send_message(RpcCall *call, const void *message) {
        return call_send_packed(call, message, SEND_ALONE, /* usec= */ 0);
}

int blob_call_send_batched(RpcCall *call, const void *message, usec_t hold) {
        return call_send_packed(call, message, SEND_BATCHED, hold);
}

int blob_call_send_paced(RpcCall *call, const void *message, usec_t interval) {
        return call_send_packed(call, message, SEND_PACED, interval);
}

/* The one response of a unary or client-streaming call, and its OK status. */
static int call_reply(RpcCall *call, const void *message) {
        int r = blob_call_send_message(call, message);
        if (r < 0)
                return r;
        return rpc_call_finish(call, RPC_STATUS_OK, NULL);
}

static void plain_free(ServiceCall *c) {
        service_call_done(c);
        free(c);
}

static void on_plain_closed(RpcCall *call, RpcStatus status, const char *message, void *userdata) {
        plain_free(userdata);
}

/* ---- MissingBlobs ---- */

static int on_missing_blobs_message(RpcCall *call, const void *data, size_t size, void *userdata) {
        BlobService *b = ((ServiceCall *) userdata)->service;
        _cleanup_(proto_freep) Maelstrom__V1__MissingBlobsRequest *req = NULL;
        Maelstrom__V1__MissingBlobsReply reply = MAELSTROM__V1__MISSING_BLOBS_REPLY__INIT;
        _cleanup_free_ ProtobufCBinaryData *missing = NULL;
        int r;

        r = proto_unpack(&maelstrom__v1__missing_blobs_request__descriptor, data, size, (void **) &req);
        if (r < 0)
                return r;
        missing = calloc(req->n_digests ?: 1, sizeof(ProtobufCBinaryData));
        if (!missing)
                return -ENOMEM;
        for (size_t i = 0; i < req->n_digests; i++) {
                Digest d;
                r = digest_from_bytes(req->digests[i].data, req->digests[i].len, &d);
                if (r < 0)
                        return r;
                if (!cache_has_blob(b->cache, &d))
                        missing[reply.n_digests++] = req->digests[i];
        }
        reply.digests = missing;
        return call_reply(call, &reply);
}

static int on_new_missing_blobs(RpcServer *server, RpcCall *call, void *userdata) {
        static const RpcCallHandlers handlers = {
                .message = on_missing_blobs_message,
                .closed = on_plain_closed,
        };
        ServiceCall *c = calloc(1, sizeof(ServiceCall));
        if (!c)
                return -ENOMEM;
        service_call_link(c, userdata, call, plain_free);
        rpc_call_set_handlers(call, &handlers, c);
        return 0;
}

/* ---- PutBlob ---- */

typedef struct Upload {
        ServiceCall base;
        CacheBlobWriter *writer;
        Digest digest;
} Upload;

static void upload_free(ServiceCall *c) {
        Upload *u = (Upload *) c;
        cache_blob_writer_free(u->writer);
        service_call_done(c);
        free(u);
}

static int on_put_blob_message(RpcCall *call, const void *data, size_t size, void *userdata) {
        Upload *u = userdata;
        _cleanup_(proto_freep) Maelstrom__V1__BlobChunk *chunk = NULL;
        int r;

        r = proto_unpack(&maelstrom__v1__blob_chunk__descriptor, data, size, (void **) &chunk);
        if (r < 0)
                return r;
        if (!u->writer) {
                r = digest_from_bytes(chunk->digest.data, chunk->digest.len, &u->digest);
                if (r < 0)
                        return r;
                r = cache_blob_begin(u->base.service->cache, &u->digest, chunk->size, &u->writer);
                if (r < 0)
                        return r;
        } else if (chunk->digest.len > 0)
                return -EBADMSG;
        u->base.service->stats.bytes_received += chunk->data.len;
        return cache_blob_write(u->writer, chunk->data.data, chunk->data.len);
}

static int on_put_blob_end(RpcCall *call, void *userdata) {
        Upload *u = userdata;
        Maelstrom__V1__PutBlobReply reply = MAELSTROM__V1__PUT_BLOB_REPLY__INIT;
        int r;

        CacheEntry *stored;

        if (!u->writer)
                return -EBADMSG;
        /* Pinned until on_stored has run: a full cache would otherwise evict it as it comes in, before a job
         * that waits for it could pin it. */
        r = cache_blob_finish(u->writer, &stored);
        u->writer = cache_blob_writer_free(u->writer);
        if (r < 0)
                return r;
        u->base.service->stats.blobs_received++;
        r = call_reply(call, &reply);
        if (u->base.service->on_stored)
                u->base.service->on_stored(&u->digest, u->base.service->userdata);
        cache_unpin(stored);
        return r;
}

static void on_put_blob_closed(RpcCall *call, RpcStatus status, const char *message, void *userdata) {
        upload_free(userdata);
}

static int on_new_put_blob(RpcServer *server, RpcCall *call, void *userdata) {
        static const RpcCallHandlers handlers = {
                .message = on_put_blob_message,
                .end = on_put_blob_end,
                .closed = on_put_blob_closed,
        };
        Upload *u = calloc(1, sizeof(Upload));
        if (!u)
                return -ENOMEM;
        service_call_link(&u->base, userdata, call, upload_free);
        rpc_call_set_handlers(call, &handlers, u);
        return 0;
}

int blob_service_new(Cache *c, blob_stored_func_t on_stored, void *userdata, BlobService **ret) {
        BlobService *b = calloc(1, sizeof(BlobService));
        if (!b)
                return -ENOMEM;
        *b = (BlobService) { .cache = c, .on_stored = on_stored, .userdata = userdata };
        *ret = b;
        return 0;
}

const BlobStats *blob_service_get_stats(const BlobService *b) {
        return &b->stats;
}

BlobService *blob_service_free(BlobService *b) {
        if (!b)
                return NULL;
        while (b->calls)
                b->calls->free(b->calls);
        free(b);
        return NULL;
}

int blob_service_add_job_methods(BlobService *b, RpcServer *s) {
        int r = rpc_server_add_method(s, &method_put_blob, on_new_put_blob, b);
        if (r < 0)
                return r;
        return rpc_server_add_method(s, &method_missing_blobs, on_new_missing_blobs, b);
}

/* ---- GetBlob ---- */

typedef struct Download {
        ServiceCall base;
        CacheEntry *entry; /* pinned while we read it */
        int fd;
        Digest digest;
        uint64_t size, offset;
        bool first_sent, finished;
} Download;

static void download_free(ServiceCall *c) {
        Download *d = (Download *) c;
        if (d->entry)
                cache_unpin(d->entry);
        safe_close(d->fd);
        service_call_done(c);
        free(d);
}

int blob_send_chunks(RpcCall *call, int fd, const Digest *d, uint64_t size, uint64_t *offset,
                     bool *first_sent) {
        _cleanup_free_ uint8_t *buf = NULL;
        size_t queued;
        int r;

        rpc_call_get_send_queue(call, &queued, /* ret_bytes= */ NULL);
        while (queued < BLOB_CHUNKS_IN_FLIGHT && (*offset < size || !*first_sent)) {
                Maelstrom__V1__BlobChunk chunk = MAELSTROM__V1__BLOB_CHUNK__INIT;
                size_t n = (size_t) MIN((uint64_t) BLOB_CHUNK_SIZE, size - *offset);

                if (!buf) {
                        buf = malloc(BLOB_CHUNK_SIZE);
                        if (!buf)
                                return -ENOMEM;
                }
                ssize_t k = pread(fd, buf, n, (off_t) *offset);
                if (k < 0)
                        return -errno;
                if ((size_t) k != n)
                        return -EIO; /* the file changed since it was hashed */
                if (!*first_sent) {
                        chunk.digest.data = (uint8_t *) d->bytes;
                        chunk.digest.len = DIGEST_SIZE;
                        chunk.size = size;
                }
                chunk.data.data = buf;
                chunk.data.len = n;
                r = blob_call_send_message(call, &chunk);
                if (r < 0)
                        return r;
                *first_sent = true;
                *offset += n;
                queued++;
        }
        return *offset >= size && *first_sent;
}

/* Queues chunks, and finishes the call after the last. */
static int download_pump(Download *d) {
        uint64_t before = d->offset;
        int r;

        if (d->finished)
                return 0;
        r = blob_send_chunks(d->base.call, d->fd, &d->digest, d->size, &d->offset, &d->first_sent);
        d->base.service->stats.bytes_sent += d->offset - before;
        if (r <= 0)
                return r;
        d->base.service->stats.blobs_sent++;
        d->finished = true;
        return rpc_call_finish(d->base.call, RPC_STATUS_OK, /* message= */ NULL);
}

static void on_get_blob_sent(RpcCall *call, void *userdata) {
        Download *d = userdata;
        int r;

        if (d->fd < 0)
                return;
        r = download_pump(d);
        if (r < 0 && !d->finished) {
                d->finished = true;
                (void) rpc_call_finish(call, rpc_status_from_errno(r), "reading the blob failed");
        }
}

static int on_get_blob_message(RpcCall *call, const void *data, size_t size, void *userdata) {
        Download *d = userdata;
        _cleanup_(proto_freep) Maelstrom__V1__GetBlobRequest *req = NULL;
        struct stat st;
        int r;

        r = proto_unpack(&maelstrom__v1__get_blob_request__descriptor, data, size, (void **) &req);
        if (r < 0)
                return r;
        r = digest_from_bytes(req->digest.data, req->digest.len, &d->digest);
        if (r < 0)
                return r;
        r = cache_get(d->base.service->cache, CACHE_BLOB, &d->digest, &d->entry);
        if (r < 0)
                return r; /* -ENOENT: NOT_FOUND */
        r = cache_open_blob(d->base.service->cache, &d->digest, &d->fd);
        if (r < 0)
                return r;
        if (fstat(d->fd, &st) < 0)
                return -errno;
        d->size = (uint64_t) st.st_size;
        r = download_pump(d);
        if (r < 0)
                d->finished = true;
        return r;
}

static void on_get_blob_closed(RpcCall *call, RpcStatus status, const char *message, void *userdata) {
        download_free(userdata);
}

static int on_new_get_blob(RpcServer *server, RpcCall *call, void *userdata) {
        static const RpcCallHandlers handlers = {
                .message = on_get_blob_message,
                .sent = on_get_blob_sent,
                .closed = on_get_blob_closed,
        };
        Download *d = calloc(1, sizeof(Download));
        if (!d)
                return -ENOMEM;
        service_call_link(&d->base, userdata, call, download_free);
        d->fd = -EBADF;
        rpc_call_set_handlers(call, &handlers, d);
        return 0;
}

int blob_service_add_get_method(BlobService *b, RpcServer *s) {
        return rpc_server_add_method(s, &method_get_blob, on_new_get_blob, b);
}
