/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/* The broker's manifest table, on a real cache in a temporary directory: file blobs pinned while a job uses
 * their manifest, missing ones pinned when they arrive, wrong sizes and malformed manifests refused. */
#undef NDEBUG
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "basic/tests.h"
#include "broker-manifests.h"
#include "manifest/manifest.h"
#include "test-temp-dir.h"

static Digest store(Cache *c, const void *data, size_t size) {
        _cleanup_(cache_blob_writer_freep) CacheBlobWriter *w = NULL;
        Digest d;

        digest_buffer(data, size, &d);
        ASSERT_OK(cache_blob_begin(c, &d, size, &w));
        ASSERT_OK(cache_blob_write(w, data, size));
        ASSERT_OK(cache_blob_finish(w, /* ret= */ NULL));
        return d;
}

/* A manifest of files whose contents are given, as they claim sizes (size_delta added to the first). */
static Digest store_manifest(Cache *c, const char *const *contents, size_t n, int64_t size_delta) {
        _cleanup_(manifest_freep) Manifest *m = NULL;
        _cleanup_free_ char *data = NULL;
        size_t size;

        ASSERT_OK(manifest_new(&m));
        for (size_t i = 0; i < n; i++) {
                char path[32];
                ManifestEntry e = {
                        .type = MANIFEST_FILE,
                        .mode = 0644,
                        .size = strlen(contents[i]) + (i == 0 ? size_delta : 0),
                        .path = path,
                };
                snprintf(path, sizeof path, "file%zu", i);
                digest_buffer(contents[i], strlen(contents[i]), &e.digest);
                ASSERT_OK(manifest_add(m, &e));
        }
        ASSERT_OK(manifest_serialize(m, &data, &size));
        return store(c, data, size);
}

TEST(pins_files_while_used) {
        _cleanup_temp_dir_ char *dir = make_temp_dir();
        _cleanup_(cache_freep) Cache *c = NULL;
        _cleanup_(manifest_table_freep) ManifestTable *t = NULL;
        static const char *const files[] = { "first file", "second file", "first file" };
        BrokerManifest *a, *b;
        char *message = NULL;
        Digest second;

        ASSERT_OK(cache_new(dir, /* size_target= */ UINT64_C(1) << 30, &c));
        ASSERT_OK(manifest_table_new(c, &t));
        Digest md = store_manifest(c, files, 3, 0);
        Digest first = store(c, files[0], strlen(files[0]));

        /* The second file's blob is missing: the manifest is incomplete. */
        ASSERT_OK(manifest_table_acquire(t, &md, &a, &message));
        ASSERT_TRUE(message == NULL);
        ASSERT_FALSE(broker_manifest_complete(a));
        ASSERT_TRUE(broker_manifest_error(a) == NULL);
        /* A second user shares it. */
        ASSERT_OK(manifest_table_acquire(t, &md, &b, &message));
        ASSERT_TRUE(a == b);
        ASSERT_EQ(manifest_table_size(t), 1);

        /* Other blobs change nothing; the missing one completes it. */
        Digest other = store(c, "unrelated", 9);
        manifest_table_blob_stored(t, &other);
        ASSERT_FALSE(broker_manifest_complete(a));
        second = store(c, files[1], strlen(files[1]));
        manifest_table_blob_stored(t, &second);
        ASSERT_TRUE(broker_manifest_complete(a));

        /* In use, the file blobs survive a size target of 0 (the manifest blob is not pinned here). */
        ASSERT_OK(cache_trim(c, 0));
        ASSERT_TRUE(cache_has_blob(c, &first));
        ASSERT_TRUE(cache_has_blob(c, &second));
        ASSERT_FALSE(cache_has_blob(c, &other));

        manifest_table_release(t, a);
        ASSERT_OK(cache_trim(c, 0));
        ASSERT_TRUE(cache_has_blob(c, &first));
        manifest_table_release(t, b);
        /* Unused now: evictable, and kept parsed. */
        ASSERT_OK(cache_trim(c, 0));
        ASSERT_FALSE(cache_has_blob(c, &first));
        ASSERT_FALSE(cache_has_blob(c, &second));
        ASSERT_EQ(manifest_table_size(t), 1);
        /* Parsed already: the manifest blob itself is no longer needed, its files are missing again. */
        ASSERT_FALSE(cache_has_blob(c, &md));
        ASSERT_OK(manifest_table_acquire(t, &md, &a, &message));
        ASSERT_FALSE(broker_manifest_complete(a));
        manifest_table_release(t, a);
}

TEST(refuses_bad_manifests) {
        _cleanup_temp_dir_ char *dir = make_temp_dir();
        _cleanup_(cache_freep) Cache *c = NULL;
        _cleanup_(manifest_table_freep) ManifestTable *t = NULL;
        static const char *const files[] = { "some data" };
        BrokerManifest *a = NULL;
        char *message = NULL;

        ASSERT_OK(cache_new(dir, /* size_target= */ UINT64_C(1) << 30, &c));
        ASSERT_OK(manifest_table_new(c, &t));

        /* Not a manifest. */
        Digest junk = store(c, "MAELMNFS junk", 13);
        ASSERT_ERROR(manifest_table_acquire(t, &junk, &a, &message), EBADMSG);
        ASSERT_TRUE(message && strstr(message, "malformed"));
        message = mfree(message);
        /* Absent. */
        Digest absent;
        digest_buffer("absent", 6, &absent);
        ASSERT_ERROR(manifest_table_acquire(t, &absent, &a, &message), ENOENT);
        message = mfree(message);

        /* A file blob present with another size than the manifest says. */
        Digest md = store_manifest(c, files, 1, 5);
        store(c, files[0], strlen(files[0]));
        ASSERT_ERROR(manifest_table_acquire(t, &md, &a, &message), EBADMSG);
        ASSERT_TRUE(message && strstr(message, "has 9 bytes, the manifest says 14"));
        message = mfree(message);
        ASSERT_EQ(manifest_table_size(t), 0);

        /* ... or arriving later, while a job waits for it. */
        static const char *const late[] = { "late data" };
        Digest md2 = store_manifest(c, late, 1, -1);
        ASSERT_OK(manifest_table_acquire(t, &md2, &a, &message));
        ASSERT_FALSE(broker_manifest_complete(a));
        Digest ld = store(c, late[0], strlen(late[0]));
        manifest_table_blob_stored(t, &ld);
        ASSERT_FALSE(broker_manifest_complete(a));
        ASSERT_TRUE(broker_manifest_error(a) && strstr(broker_manifest_error(a), "the manifest says 8"));
        /* Other users are refused at once. */
        BrokerManifest *b = NULL;
        ASSERT_ERROR(manifest_table_acquire(t, &md2, &b, &message), EBADMSG);
        message = mfree(message);
        manifest_table_release(t, a);
        /* A broken manifest is not kept. */
        ASSERT_EQ(manifest_table_size(t), 0);
}

TEST(idle_manifests_are_capped) {
        _cleanup_temp_dir_ char *dir = make_temp_dir();
        _cleanup_(cache_freep) Cache *c = NULL;
        _cleanup_(manifest_table_freep) ManifestTable *t = NULL;

        ASSERT_OK(cache_new(dir, /* size_target= */ UINT64_C(1) << 30, &c));
        ASSERT_OK(manifest_table_new(c, &t));
        for (unsigned i = 0; i < BROKER_MAX_IDLE_MANIFESTS + 10; i++) {
                char content[32];
                const char *files[] = { content };
                BrokerManifest *a;
                snprintf(content, sizeof content, "file %u", i);
                Digest md = store_manifest(c, files, 1, 0);
                ASSERT_OK(manifest_table_acquire(t, &md, &a, /* reterr_message= */ NULL));
                manifest_table_release(t, a);
        }
        ASSERT_EQ(manifest_table_size(t), BROKER_MAX_IDLE_MANIFESTS);
}

int main(void) {
        RUN(pins_files_while_used);
        RUN(refuses_bad_manifests);
        RUN(idle_manifests_are_capped);
        return 0;
}
