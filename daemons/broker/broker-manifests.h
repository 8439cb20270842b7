/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* The manifest layers of the broker's jobs.  A manifest blob names the file blobs of its layer; the broker
 * parses it (lib/manifest reads the format without libarchive; nothing is unpacked), checks the file blobs
 * it has against the sizes the manifest gives, and keeps them pinned in its cache while a queued or running
 * job uses the layer, so that they are neither evicted nor missing when a worker fetches them.  A parsed
 * manifest is kept after its last use, up to BROKER_MAX_IDLE_MANIFESTS of them, so that the next job does
 * not read it again. */

#include <stdbool.h>

#include "basic/macro.h"
#include "cache/cache.h"
#include "digest/digest.h"

/* Parsed manifests kept without users. */
#define BROKER_MAX_IDLE_MANIFESTS 1024U
/* A bigger manifest blob is refused (it is read whole, on the event loop). */
#define BROKER_MAX_MANIFEST_SIZE ((size_t) 64 * 1024 * 1024)

typedef struct BrokerManifest BrokerManifest;
typedef struct ManifestTable ManifestTable;

int manifest_table_new(Cache *cache, ManifestTable **ret);
/* Every use must have been released. */
ManifestTable *manifest_table_free(ManifestTable *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(ManifestTable *, manifest_table_free);

/* Takes a use of the manifest layer whose blob d is in the cache: parses the blob unless it is known, and
 * pins the file blobs present.  -EBADMSG: malformed, or a file blob whose size is not the manifest's;
 * -E2BIG: above BROKER_MAX_MANIFEST_SIZE; -ENOENT: the blob d is absent.  *reterr_message (may be NULL)
 * then says what is wrong. */
int manifest_table_acquire(ManifestTable *t, const Digest *d, BrokerManifest **ret, char **reterr_message);
/* Drops a use; after the last, the file blobs are unpinned. */
void manifest_table_release(ManifestTable *t, BrokerManifest *bm);
/* The blob d was stored: the manifests in use that name it pin it (and check its size). */
void manifest_table_blob_stored(ManifestTable *t, const Digest *d);
/* Manifests known, in use or idle. */
size_t manifest_table_size(const ManifestTable *t);

/* Every file blob is present and pinned. */
bool broker_manifest_complete(const BrokerManifest *bm);
/* Why the manifest turned out bad after it was acquired (a file blob arrived with another size than the
 * manifest's), or NULL. */
const char *broker_manifest_error(const BrokerManifest *bm);
