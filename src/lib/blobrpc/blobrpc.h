/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* Moving blobs over gRPC, for everyone who serves or moves them: the broker and the workers serve
 * JobService's MissingBlobs and PutBlob into their cache, the broker serves WorkerService's GetBlob from its
 * cache, workers fetch with GetBlob into their cache, and clients upload files with PutBlob.  Data travels
 * in chunks of BLOB_CHUNK_SIZE with a bounded send queue; every blob is verified against its digest by the
 * cache before it is stored (a mismatch fails the call, INVALID_ARGUMENT). */

#include <stdbool.h>
#include <stdint.h>

#include "basic/macro.h"
#include "cache/cache.h"
#include "digest/digest.h"
#include "rpc/rpc.h"

#define BLOB_CHUNK_SIZE ((size_t) 1024 * 1024)
/* Chunks queued at once on one call. */
#define BLOB_CHUNKS_IN_FLIGHT 4U

typedef struct BlobService BlobService;
typedef struct BlobTransfer BlobTransfer;

/* A blob has been stored (verified) by PutBlob.  d is valid during the call only. */
typedef void (*blob_stored_func_t)(const Digest *d, void *userdata);
/* A transfer is over: 0 on success, else a negative errno (-EBADMSG for data that does not match its digest,
 * -ENOENT for a blob the server lacks, -ECONNRESET when the connection broke, ...).  The owner may free the
 * transfer from here. */
typedef void (*blob_transfer_done_func_t)(BlobTransfer *t, int error, void *userdata);

/* What a BlobService moved since it was created (for status and metrics). */
typedef struct BlobStats {
        uint64_t blobs_received; /* stored by PutBlob (verified; a blob already present counts too) */
        uint64_t bytes_received; /* blob data received by PutBlob, stored or not */
        uint64_t blobs_sent;     /* GetBlob downloads sent whole (the last chunk queued) */
        uint64_t bytes_sent;     /* blob data queued by GetBlob */
} BlobStats;

/* The blob methods of a server, over cache c.  on_stored (may be NULL) is called after each PutBlob.  Free
 * it after the servers it was added to. */
int blob_service_new(Cache *c, blob_stored_func_t on_stored, void *userdata, BlobService **ret);
BlobService *blob_service_free(BlobService *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(BlobService *, blob_service_free);
const BlobStats *blob_service_get_stats(const BlobService *b);
/* Registers MissingBlobs and PutBlob of JobService on s. */
int blob_service_add_job_methods(BlobService *b, RpcServer *s);
/* Registers GetBlob of WorkerService on s. */
int blob_service_add_get_method(BlobService *b, RpcServer *s);

/* Fetches d with GetBlob into c. */
int blob_fetch(RpcChannel *ch, Cache *c, const Digest *d, blob_transfer_done_func_t done, void *userdata,
               BlobTransfer **ret);
/* Uploads the file at path, whose contents have digest d, with PutBlob. */
int blob_upload(RpcChannel *ch, const char *path, const Digest *d, blob_transfer_done_func_t done,
                void *userdata, BlobTransfer **ret);
const Digest *blob_transfer_digest(const BlobTransfer *t);
/* Cancels the transfer if it still runs; done is not called. */
BlobTransfer *blob_transfer_free(BlobTransfer *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(BlobTransfer *, blob_transfer_free);

/* Reads the blob d of size bytes from fd at *offset and queues BlobChunks on call (the first one with digest
 * and size) until BLOB_CHUNKS_IN_FLIGHT are queued; advances *offset.  Returns 1 once the last chunk is
 * queued (an empty blob is one empty chunk), 0 if more remain. */
int blob_send_chunks(RpcCall *call, int fd, const Digest *d, uint64_t size, uint64_t *offset,
                     bool *first_sent);

/* Packs a protobuf-c message and queues it on the call. */
int blob_call_send_message(RpcCall *call, const void *message);
/* The same with rpc_call_send_batched(): for a message that sets only repeated fields (a batch of one item,
 * see job.proto), which may go out merged with its neighbours. */
int blob_call_send_batched(RpcCall *call, const void *message, usec_t hold);
/* The same with rpc_call_send_paced(). */
int blob_call_send_paced(RpcCall *call, const void *message, usec_t interval);

/* How long a job's state change (PENDING, RUNNING) may wait for company on a session stream: its result,
 * when the job is short, or other jobs' states. */
#define JOB_STATE_HOLD_USEC (10 * USEC_PER_MSEC)
/* The pace of results to a client (rpc_call_send_paced()): a client whose jobs end more often than this gets
 * their results in batches, at most this late. */
#define JOB_RESULT_PACE_USEC (5 * USEC_PER_MSEC)
/* The pace of a worker's results to the broker: shorter, as the broker refills from them the worker's slots
 * and the jobs it prepares ahead (so at most slots x 2 jobs per interval: a worker of 2 slots ends at most
 * 2000 jobs a second through a broker). */
#define JOB_RESULT_PACE_BROKER_USEC (2 * USEC_PER_MSEC)
