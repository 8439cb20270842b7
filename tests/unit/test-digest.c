/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "basic/fd-util.h"
#include "basic/tests.h"
#include "digest/digest-map.h"
#include "digest/digest.h"

TEST(known_values) {
        Digest d;
        char hex[DIGEST_HEX_SIZE];

        digest_buffer("", 0, &d);
        digest_to_hex(&d, hex);
        ASSERT_STREQ(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        digest_buffer("abc", 3, &d);
        digest_to_hex(&d, hex);
        ASSERT_STREQ(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(incremental_and_fd) {
        _cleanup_(digest_context_freep) DigestContext *c = NULL;
        Digest a, b, f;
        char path[] = "/tmp/test-digest-XXXXXX";
        uint64_t size;

        ASSERT_OK(digest_context_new(&c));
        digest_context_update(c, "a", 1);
        digest_context_update(c, "bc", 2);
        digest_context_final(c, &a);
        digest_buffer("abc", 3, &b);
        ASSERT_TRUE(digest_equal(&a, &b));
        /* The context is ready for another round after final. */
        digest_context_update(c, "abc", 3);
        digest_context_final(c, &a);
        ASSERT_TRUE(digest_equal(&a, &b));

        int fd = mkstemp(path);
        ASSERT_OK(fd);
        char big[300000];
        for (size_t i = 0; i < sizeof big; i++)
                big[i] = (char) (i * 7);
        ASSERT_OK(loop_write(fd, big, sizeof big));
        safe_close(fd);
        ASSERT_OK(digest_file(path, &f, &size));
        ASSERT_EQ(size, sizeof big);
        digest_buffer(big, sizeof big, &a);
        ASSERT_TRUE(digest_equal(&a, &f));
        ASSERT_ERROR(digest_file("/nonexistent", &f, &size), ENOENT);
        unlink(path);
}

TEST(hex) {
        Digest d, e;
        char hex[DIGEST_HEX_SIZE];

        digest_buffer("x", 1, &d);
        digest_to_hex(&d, hex);
        ASSERT_OK(digest_from_hex(hex, &e));
        ASSERT_TRUE(digest_equal(&d, &e));
        for (char *p = hex; *p; p++)
                if (*p >= 'a')
                        *p = (char) (*p - 'a' + 'A');
        ASSERT_OK(digest_from_hex(hex, &e));
        ASSERT_TRUE(digest_equal(&d, &e));
        ASSERT_ERROR(digest_from_hex("abc", &e), EINVAL);
        hex[5] = 'g';
        ASSERT_ERROR(digest_from_hex(hex, &e), EINVAL);
        ASSERT_ERROR(digest_from_bytes(d.bytes, 31, &e), EBADMSG);
        ASSERT_OK(digest_from_bytes(d.bytes, 32, &e));
        ASSERT_TRUE(digest_equal(&d, &e));
}

TEST(map) {
        _cleanup_(digest_map_freep) DigestMap *m = NULL;
        Digest d[1000];

        ASSERT_OK(digest_map_new(free, &m));
        for (int i = 0; i < 1000; i++) {
                digest_buffer(&i, sizeof i, &d[i]);
                char *v = NULL;
                ASSERT_TRUE(asprintf(&v, "%d", i) > 0);
                ASSERT_EQ(digest_map_put(m, &d[i], v), 1);
        }
        ASSERT_EQ(digest_map_size(m), 1000);
        for (int i = 0; i < 1000; i++) {
                char want[16];
                snprintf(want, sizeof want, "%d", i);
                ASSERT_STREQ(digest_map_get(m, &d[i]), want);
        }
        /* Replacing frees the old value (ASan would see a leak otherwise). */
        ASSERT_EQ(digest_map_put(m, &d[7], strdup("seven")), 0);
        ASSERT_STREQ(digest_map_get(m, &d[7]), "seven");
        ASSERT_EQ(digest_map_size(m), 1000);
        Digest absent;
        digest_buffer("absent", 6, &absent);
        ASSERT_TRUE(digest_map_get(m, &absent) == NULL);

        /* Removing every other entry keeps the rest findable, whatever their probe runs were. */
        ASSERT_TRUE(digest_map_remove(m, &absent) == NULL);
        for (int i = 0; i < 1000; i += 2)
                free(digest_map_remove(m, &d[i]));
        ASSERT_EQ(digest_map_size(m), 500);
        for (int i = 0; i < 1000; i++) {
                char want[16];
                snprintf(want, sizeof want, "%d", i);
                if (i % 2 == 0)
                        ASSERT_TRUE(digest_map_get(m, &d[i]) == NULL);
                else
                        ASSERT_STREQ(digest_map_get(m, &d[i]), i == 7 ? "seven" : want);
        }
        ASSERT_EQ(digest_map_put(m, &d[0], strdup("back")), 1);
        ASSERT_STREQ(digest_map_get(m, &d[0]), "back");
}

/* Many removals in a small, crowded map: long probe runs that wrap around the end. */
TEST(map_remove_crowded) {
        _cleanup_(digest_map_freep) DigestMap *m = NULL;
        Digest d[12];

        ASSERT_OK(digest_map_new(/* free_value= */ NULL, &m));
        for (int round = 0; round < 200; round++) {
                for (int i = 0; i < 12; i++) {
                        int k = round * 12 + i;
                        digest_buffer(&k, sizeof k, &d[i]);
                        ASSERT_EQ(digest_map_put(m, &d[i], (void *) (intptr_t) (k + 1)), 1);
                }
                for (int i = 0; i < 12; i += 3)
                        ASSERT_EQ((intptr_t) digest_map_remove(m, &d[i]), round * 12 + i + 1);
                for (int i = 0; i < 12; i++)
                        ASSERT_EQ((intptr_t) digest_map_get(m, &d[i]), i % 3 == 0 ? 0 : round * 12 + i + 1);
                for (int i = 1; i < 12; i++)
                        if (i % 3 != 0)
                                ASSERT_EQ((intptr_t) digest_map_remove(m, &d[i]), round * 12 + i + 1);
                ASSERT_EQ(digest_map_size(m), 0);
        }
}

int main(void) {
        RUN(map);
        RUN(map_remove_crowded);
        RUN(known_values);
        RUN(incremental_and_fd);
        RUN(hex);
        return 0;
}
