/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include "basic/tests.h"
#include "manifest/manifest.h"

static Manifest *sample(void) {
        Manifest *m = NULL;
        ManifestEntry f = { .type = MANIFEST_FILE, .mode = 0755, .size = 3, .mtime = 1700000000,
                            .path = "/usr//bin/x" };
        ManifestEntry d = { .type = MANIFEST_DIRECTORY, .mode = 01777, .mtime = -5, .path = "tmp/" };
        ManifestEntry l = { .type = MANIFEST_SYMLINK, .mode = 0777, .path = "bin", .target = "usr/bin" };

        digest_buffer("abc", 3, &f.digest);
        ASSERT_OK(manifest_new(&m));
        ASSERT_OK(manifest_add(m, &f));
        ASSERT_OK(manifest_add(m, &d));
        ASSERT_OK(manifest_add(m, &l));
        return m;
}

TEST(round_trip) {
        _cleanup_(manifest_freep) Manifest *m = sample(), *p = NULL;
        _cleanup_free_ char *data = NULL, *again = NULL;
        size_t size, size2;

        ASSERT_OK(manifest_serialize(m, &data, &size));
        ASSERT_OK(manifest_parse(data, size, &p));
        ASSERT_EQ(p->n_entries, 3);
        /* Sorted by path. */
        ASSERT_STREQ(p->entries[0].path, "bin");
        ASSERT_EQ(p->entries[0].type, MANIFEST_SYMLINK);
        ASSERT_STREQ(p->entries[0].target, "usr/bin");
        ASSERT_STREQ(p->entries[1].path, "tmp");
        ASSERT_EQ(p->entries[1].mode, 01777);
        ASSERT_EQ(p->entries[1].mtime, -5);
        ASSERT_STREQ(p->entries[2].path, "usr/bin/x");
        ASSERT_EQ(p->entries[2].size, 3);
        Digest abc;
        digest_buffer("abc", 3, &abc);
        ASSERT_TRUE(digest_equal(&p->entries[2].digest, &abc));

        /* The same content gives the same bytes, whatever the order of adding. */
        ASSERT_OK(manifest_serialize(p, &again, &size2));
        ASSERT_EQ(size, size2);
        ASSERT_TRUE(memcmp(data, again, size) == 0);
}

TEST(empty) {
        _cleanup_(manifest_freep) Manifest *m = NULL, *p = NULL;
        _cleanup_free_ char *data = NULL;
        size_t size;

        ASSERT_OK(manifest_new(&m));
        ASSERT_OK(manifest_serialize(m, &data, &size));
        ASSERT_EQ(size, 16);
        ASSERT_OK(manifest_parse(data, size, &p));
        ASSERT_EQ(p->n_entries, 0);
}

TEST(bad_paths) {
        _cleanup_(manifest_freep) Manifest *m = NULL;
        _cleanup_free_ char *n = NULL, *data = NULL;
        size_t size;
        ManifestEntry e = { .type = MANIFEST_DIRECTORY, .mode = 0755 };

        ASSERT_OK(manifest_new(&m));
        e.path = "a/../b";
        ASSERT_ERROR(manifest_add(m, &e), EINVAL);
        e.path = "./a";
        ASSERT_ERROR(manifest_add(m, &e), EINVAL);
        e.path = "/";
        ASSERT_ERROR(manifest_add(m, &e), EINVAL);
        e.path = "a";
        e.mode = 010000;
        ASSERT_ERROR(manifest_add(m, &e), EINVAL);
        e.mode = 0755;
        ASSERT_OK(manifest_add(m, &e));
        e.path = "/a/";
        ASSERT_OK(manifest_add(m, &e));
        ASSERT_ERROR(manifest_serialize(m, &data, &size), EEXIST);
        e = (ManifestEntry) { .type = MANIFEST_SYMLINK, .path = "l", .target = "" };
        ASSERT_ERROR(manifest_add(m, &e), EINVAL);

        ASSERT_OK(manifest_normalize_path("//a//b/c/", &n));
        ASSERT_STREQ(n, "a/b/c");
}

/* Every truncation and every single-byte corruption of a valid manifest is either rejected or parses into
 * something well-formed: never a crash or a read past the end. */
TEST(corruption) {
        _cleanup_(manifest_freep) Manifest *m = sample();
        _cleanup_free_ char *data = NULL;
        size_t size;

        ASSERT_OK(manifest_serialize(m, &data, &size));
        for (size_t l = 0; l < size; l++) {
                Manifest *p = NULL;
                _cleanup_free_ char *copy = malloc(l ?: 1);
                memcpy(copy, data, l);
                ASSERT_ERROR(manifest_parse(copy, l, &p), EBADMSG);
        }
        for (size_t i = 0; i < size; i++)
                for (unsigned v = 0; v < 256; v += 51) {
                        Manifest *p = NULL;
                        _cleanup_free_ char *copy = malloc(size);
                        memcpy(copy, data, size);
                        copy[i] = (char) v;
                        int r = manifest_parse(copy, size, &p);
                        ASSERT_TRUE(r == 0 || r == -EBADMSG);
                        manifest_free(p);
                }

        /* Trailing bytes. */
        _cleanup_free_ char *longer = malloc(size + 1);
        memcpy(longer, data, size);
        longer[size] = 0;
        Manifest *p = NULL;
        ASSERT_ERROR(manifest_parse(longer, size + 1, &p), EBADMSG);

        /* A huge entry count with no entries behind it. */
        char head[16] = { 'M', 'A', 'E', 'L', 'M', 'N', 'F', 'S', 1, 0, 0, 0, 0x40, 0x42, 0x0f, 0 };
        ASSERT_ERROR(manifest_parse(head, sizeof head, &p), EBADMSG);
}

TEST(duplicates_rejected_on_parse) {
        _cleanup_(manifest_freep) Manifest *m = NULL;
        _cleanup_free_ char *data = NULL;
        size_t size;
        ManifestEntry e = { .type = MANIFEST_DIRECTORY, .mode = 0755, .path = "dir" };

        ASSERT_OK(manifest_new(&m));
        ASSERT_OK(manifest_add(m, &e));
        e.path = "dis";
        ASSERT_OK(manifest_add(m, &e));
        ASSERT_OK(manifest_serialize(m, &data, &size));
        /* Turn "dis" into "dir" behind the writer's back. */
        char *p = memmem(data, size, "dis", 3);
        ASSERT_TRUE(p != NULL);
        p[2] = 'r';
        Manifest *parsed = NULL;
        ASSERT_ERROR(manifest_parse(data, size, &parsed), EBADMSG);
}

int main(void) {
        RUN(round_trip);
        RUN(empty);
        RUN(bad_paths);
        RUN(corruption);
        RUN(duplicates_rejected_on_parse);
        return 0;
}
