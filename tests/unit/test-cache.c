/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "basic/fd-util.h"
#include "basic/tests.h"
#include "basic/time-util.h"
#include "cache/cache-tree.h"
#include "cache/cache.h"
#include "manifest/manifest.h"
#include "test-temp-dir.h"

/* ---- helpers ---- */

static void assert_sys(long r, const char *expr, int line) {
        if (r < 0) {
                fprintf(stderr, "%s:%d: '%s' failed: %m\n", __FILE__, line, expr);
                abort();
        }
}
#define ASSERT_SYS(expr) assert_sys((long) (expr), #expr, __LINE__)


static char *path_join(const char *a, const char *b) {
        char *p = NULL;
        ASSERT_TRUE(asprintf(&p, "%s/%s", a, b) >= 0);
        return p;
}

static void put_blob(Cache *c, const void *data, size_t size, Digest *ret) {
        _cleanup_(cache_blob_writer_freep) CacheBlobWriter *w = NULL;
        Digest d;

        digest_buffer(data, size, &d);
        ASSERT_OK(cache_blob_begin(c, &d, size, &w));
        /* In pieces, as from a stream. */
        for (size_t off = 0; off < size; off += 1000)
                ASSERT_OK(cache_blob_write(w, (const uint8_t *) data + off, MIN((size_t) 1000, size - off)));
        ASSERT_OK(cache_blob_finish(w, /* ret= */ NULL));
        if (ret)
                *ret = d;
}

static size_t count_dir(const char *root, const char *sub) {
        _cleanup_free_ char *p = path_join(root, sub);
        DIR *d = opendir(p);
        size_t n = 0;
        ASSERT_TRUE(d);
        for (struct dirent *de; (de = readdir(d));)
                n += !streq(de->d_name, ".") && !streq(de->d_name, "..");
        closedir(d);
        return n;
}

static char *read_file(int dir_fd, const char *path) {
        _cleanup_close_ int fd = openat(dir_fd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        char *s = NULL;
        ASSERT_TRUE(fd >= 0);
        ASSERT_OK(read_full_fd(fd, 1 << 26, &s, /* ret_size= */ NULL));
        return s;
}

static void assert_stat(int dir_fd, const char *path, mode_t type, mode_t mode, int64_t mtime) {
        struct stat st;
        ASSERT_SYS((fstatat(dir_fd, path, &st, AT_SYMLINK_NOFOLLOW)));
        ASSERT_EQ(st.st_mode & S_IFMT, type);
        if (type != S_IFLNK)
                ASSERT_EQ(st.st_mode & 07777, mode);
        if (mtime >= 0)
                ASSERT_EQ(st.st_mtim.tv_sec, mtime);
}

static int open_entry(const CacheEntry *e) {
        _cleanup_free_ char *p = NULL;
        ASSERT_OK(cache_entry_path(e, &p));
        int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_TRUE(fd >= 0);
        return fd;
}

/* A ustar writer: enough to make any member, including the ones that tar(1) refuses to write. */
typedef struct Tar {
        uint8_t *data;
        size_t size;
} Tar;

static void tar_append(Tar *t, const void *p, size_t n) {
        size_t padded = (n + 511) / 512 * 512;
        t->data = realloc(t->data, t->size + padded);
        ASSERT_TRUE(t->data);
        memset(t->data + t->size, 0, padded);
        memcpy(t->data + t->size, p, n);
        t->size += padded;
}

/* Zero-padded octal digits filling width - 1 bytes, then a NUL. */
static void put_octal(uint8_t *p, size_t width, uint64_t v) {
        for (size_t i = width - 1; i > 0; i--, v >>= 3)
                p[i - 1] = (uint8_t) ('0' + (v & 7));
        p[width - 1] = 0;
}

static void tar_member(Tar *t, const char *name, char type, mode_t mode, int64_t mtime, const char *link,
                       const char *data) {
        uint8_t h[512] = {};
        size_t size = data ? strlen(data) : 0;
        unsigned sum = 0;

        ASSERT_TRUE(strlen(name) < 100 && strlen(strempty(link)) < 100);
        memcpy(h, name, strlen(name));
        put_octal(h + 100, 8, mode);
        put_octal(h + 108, 8, 0);
        put_octal(h + 116, 8, 0);
        put_octal(h + 124, 12, size);
        put_octal(h + 136, 12, (uint64_t) mtime);
        h[156] = (uint8_t) type;
        if (link)
                memcpy(h + 157, link, strlen(link));
        memcpy(h + 257, "ustar", 6);
        memcpy(h + 263, "00", 2);
        memset(h + 148, ' ', 8);
        for (size_t i = 0; i < sizeof h; i++)
                sum += h[i];
        put_octal(h + 148, 7, sum);
        tar_append(t, h, sizeof h);
        if (size > 0)
                tar_append(t, data, size);
}

static void tar_file(Tar *t, const char *name, mode_t mode, int64_t mtime, const char *data) {
        tar_member(t, name, '0', mode, mtime, /* link= */ NULL, data);
}

static void tar_finish(Tar *t) {
        uint8_t zero[1024] = {};
        tar_append(t, zero, sizeof zero);
}

static void tar_done(Tar *t) {
        t->data = mfree(t->data);
        t->size = 0;
}

/* Puts the tar as a blob, then tries to make its layer. */
static int tar_layer(Cache *c, Tar *t, CacheEntry **ret, CacheLayerError *reterr) {
        Digest d;
        tar_finish(t);
        put_blob(c, t->data, t->size, &d);
        tar_done(t);
        return cache_get_layer(c, CACHE_LAYER_TAR, &d, ret, reterr);
}

static void manifest_add_file(Manifest *m, Cache *c, const char *path, mode_t mode, int64_t mtime,
                              const char *data) {
        ManifestEntry e = {
                .type = MANIFEST_FILE,
                .mode = mode,
                .size = strlen(data),
                .mtime = mtime,
                .path = (char *) path,
        };
        digest_buffer(data, strlen(data), &e.digest);
        if (c)
                put_blob(c, data, strlen(data), /* ret= */ NULL);
        ASSERT_OK(manifest_add(m, &e));
}

static void manifest_put(Cache *c, Manifest *m, Digest *ret) {
        _cleanup_free_ char *data = NULL;
        size_t size;
        ASSERT_OK(manifest_serialize(m, &data, &size));
        put_blob(c, data, size, ret);
}

/* ---- blobs ---- */

TEST(blob_stream) {
        _cleanup_temp_dir_ char *root = make_temp_dir();
        _cleanup_(cache_freep) Cache *c = NULL;
        _cleanup_(cache_blob_writer_freep) CacheBlobWriter *w = NULL;
        char data[5000];
        Digest d, other;

        for (size_t i = 0; i < sizeof data; i++)
                data[i] = (char) ('a' + i % 26);
        digest_buffer(data, sizeof data, &d);
        ASSERT_OK(cache_new(root, /* size_target= */ UINT64_MAX, &c));
        ASSERT_FALSE(cache_has_blob(c, &d));

        /* Good. */
        put_blob(c, data, sizeof data, NULL);
        ASSERT_TRUE(cache_has_blob(c, &d));
        int fd;
        ASSERT_OK(cache_open_blob(c, &d, &fd));
        _cleanup_free_ char *back = NULL;
        size_t size;
        ASSERT_OK(read_full_fd(fd, 1 << 20, &back, &size));
        safe_close(fd);
        ASSERT_EQ(size, sizeof data);
        ASSERT_TRUE(memcmp(back, data, size) == 0);
        ASSERT_TRUE(cache_get_bytes(c) >= sizeof data);
        ASSERT_EQ(cache_get_n_entries(c), 1);
        /* Again: already present is fine. */
        put_blob(c, data, sizeof data, NULL);
        ASSERT_EQ(cache_get_n_entries(c), 1);

        /* Wrong digest. */
        digest_buffer("other", 5, &other);
        ASSERT_OK(cache_blob_begin(c, &other, sizeof data, &w));
        ASSERT_OK(cache_blob_write(w, data, sizeof data));
        ASSERT_ERROR(cache_blob_finish(w, NULL), EBADMSG);
        w = cache_blob_writer_free(w);
        ASSERT_FALSE(cache_has_blob(c, &other));

        /* Longer than announced. */
        digest_buffer(data, 100, &other);
        ASSERT_OK(cache_blob_begin(c, &other, 99, &w));
        ASSERT_ERROR(cache_blob_write(w, data, 100), EBADMSG);
        ASSERT_ERROR(cache_blob_finish(w, NULL), EBADMSG);
        w = cache_blob_writer_free(w);
        ASSERT_FALSE(cache_has_blob(c, &other));

        /* Truncated: shorter than announced, even if what came has the right digest. */
        ASSERT_OK(cache_blob_begin(c, &other, 101, &w));
        ASSERT_OK(cache_blob_write(w, data, 100));
        ASSERT_ERROR(cache_blob_finish(w, NULL), EBADMSG);
        w = cache_blob_writer_free(w);
        ASSERT_FALSE(cache_has_blob(c, &other));

        /* Abandoned midway. */
        ASSERT_OK(cache_blob_begin(c, &other, 100, &w));
        ASSERT_OK(cache_blob_write(w, data, 50));
        w = cache_blob_writer_free(w);
        ASSERT_FALSE(cache_has_blob(c, &other));

        /* Over the limit. */
        CacheLimits l = CACHE_LIMITS_DEFAULT;
        l.max_blob_size = 10;
        cache_set_limits(c, &l);
        ASSERT_ERROR(cache_blob_begin(c, &other, 11, &w), E2BIG);

        /* Nothing left behind. */
        ASSERT_EQ(count_dir(root, "tmp"), 0);
        ASSERT_EQ(cache_get_n_entries(c), 1);
        ASSERT_ERROR(cache_open_blob(c, &other, &fd), ENOENT);
}

TEST(blob_from_path) {
        _cleanup_temp_dir_ char *root = make_temp_dir(), *src = make_temp_dir();
        _cleanup_free_ char *file = path_join(src, "f"), *missing = path_join(src, "missing");
        _cleanup_(cache_freep) Cache *c = NULL;
        CacheEntry *e;
        Digest d, wrong;
        char data[300000];

        for (size_t i = 0; i < sizeof data; i++)
                data[i] = (char) (i * 7 % 251);
        _cleanup_close_ int fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        ASSERT_TRUE(fd >= 0);
        ASSERT_OK(loop_write(fd, data, sizeof data));
        digest_buffer(data, sizeof data, &d);
        digest_buffer("x", 1, &wrong);

        ASSERT_OK(cache_new(root, UINT64_MAX, &c));
        ASSERT_ERROR(cache_blob_from_path(c, file, &wrong, NULL), EBADMSG);
        ASSERT_FALSE(cache_has_blob(c, &wrong));
        ASSERT_ERROR(cache_blob_from_path(c, missing, &d, NULL), ENOENT);
        ASSERT_ERROR(cache_blob_from_path(c, src, &d, NULL), EINVAL);
        ASSERT_OK(cache_blob_from_path(c, file, &d, &e));
        ASSERT_EQ(cache_entry_kind(e), CACHE_BLOB);
        ASSERT_TRUE(digest_equal(cache_entry_digest(e), &d));
        cache_unpin(e);

        /* A copy: changing the source afterwards changes nothing. */
        ASSERT_OK(loop_write(fd, "more", 4));
        int bfd;
        ASSERT_OK(cache_open_blob(c, &d, &bfd));
        Digest back;
        uint64_t size;
        ASSERT_OK(digest_fd(bfd, &back, &size));
        safe_close(bfd);
        ASSERT_EQ(size, sizeof data);
        ASSERT_TRUE(digest_equal(&back, &d));
        /* Present already: fine without reading. */
        ASSERT_OK(cache_blob_from_path(c, missing, &d, NULL));
        ASSERT_EQ(count_dir(root, "tmp"), 0);
}

/* The copy in three steps, its middle one on another thread: the cache is untouched until the last. */
static void *run_copy(void *copy) {
        cache_blob_copy_run(copy);
        return NULL;
}

TEST(blob_copy_in_steps) {
        _cleanup_temp_dir_ char *root = make_temp_dir(), *src = make_temp_dir();
        _cleanup_free_ char *file = path_join(src, "f");
        _cleanup_(cache_freep) Cache *c = NULL;
        CacheBlobCopy *copy;
        CacheEntry *e;
        Digest d, wrong;
        pthread_t t;

        ASSERT_OK(write_file_atomic(file, "contents", 8, 0600));
        digest_buffer("contents", 8, &d);
        digest_buffer("x", 1, &wrong);
        ASSERT_OK(cache_new(root, UINT64_MAX, &c));

        ASSERT_OK(cache_blob_copy_begin(c, file, &d, NULL, &copy));
        ASSERT_TRUE(copy != NULL);
        ASSERT_EQ(cache_blob_copy_size(copy), 8);
        ASSERT_EQ(count_dir(root, "tmp"), 1);
        ASSERT_EQ(pthread_create(&t, NULL, run_copy, copy), 0);
        ASSERT_EQ(pthread_join(t, NULL), 0);
        ASSERT_FALSE(cache_has_blob(c, &d));
        ASSERT_OK(cache_blob_copy_finish(copy, &e));
        cache_blob_copy_free(copy);
        ASSERT_TRUE(digest_equal(cache_entry_digest(e), &d));
        cache_unpin(e);
        ASSERT_EQ(count_dir(root, "tmp"), 0);

        /* Present: no copy, the entry at once. */
        e = NULL;
        ASSERT_OK(cache_blob_copy_begin(c, file, &d, &e, &copy));
        ASSERT_TRUE(!copy && e);
        cache_unpin(e);

        /* A mismatch fails at the end and leaves nothing; so does a copy dropped unfinished. */
        ASSERT_OK(cache_blob_copy_begin(c, file, &wrong, NULL, &copy));
        cache_blob_copy_run(copy);
        ASSERT_ERROR(cache_blob_copy_finish(copy, NULL), EBADMSG);
        cache_blob_copy_free(copy);
        ASSERT_FALSE(cache_has_blob(c, &wrong));
        ASSERT_OK(cache_blob_copy_begin(c, file, &wrong, NULL, &copy));
        cache_blob_copy_free(copy);
        ASSERT_EQ(count_dir(root, "tmp"), 0);
        ASSERT_ERROR(cache_blob_copy_begin(c, src, &wrong, NULL, &copy), EINVAL);
}

/* ---- tar layers ---- */

TEST(tar_layer) {
        _cleanup_temp_dir_ char *root = make_temp_dir();
        _cleanup_(cache_freep) Cache *c = NULL;
        Tar t = {};
        CacheEntry *e;

        ASSERT_OK(cache_new(root, UINT64_MAX, &c));
        tar_member(&t, "./", '5', 0751, 1500000000, NULL, NULL);
        tar_member(&t, "./etc/", '5', 0750, 1600000000, NULL, NULL);
        tar_file(&t, "./etc/passwd", 0640, 1600000001, "root:x:0:0\n");
        tar_file(&t, "./bin/tool", 04755, 1600000002, "#!/bin/sh\necho hi\n");  /* parent implicit */
        tar_member(&t, "./bin/sh", '2', 0777, 1600000003, "tool", NULL);
        tar_member(&t, "./bin/tool2", '1', 0, 0, "./bin/tool", NULL);
        tar_member(&t, "./ro/", '5', 0555, 1600000004, NULL, NULL);
        tar_file(&t, "./ro/inside", 0444, 1600000005, "");
        tar_member(&t, "./dev/null", '3', 0666, 0, NULL, NULL);
        tar_member(&t, "./fifo", '6', 0644, 0, NULL, NULL);
        tar_file(&t, "./etc/passwd", 0600, 1600000006, "replaced\n");  /* the last member wins */
        ASSERT_OK(tar_layer(c, &t, &e, NULL));
        ASSERT_EQ(cache_entry_kind(e), CACHE_LAYER_TAR);

        _cleanup_close_ int fd = open_entry(e);
        assert_stat(fd, ".", S_IFDIR, 0751, 1500000000);
        assert_stat(fd, "etc", S_IFDIR, 0750, 1600000000);
        assert_stat(fd, "etc/passwd", S_IFREG, 0600, 1600000006);
        _cleanup_free_ char *s = read_file(fd, "etc/passwd"), *s2 = read_file(fd, "bin/tool");
        ASSERT_STREQ(s, "replaced\n");
        ASSERT_STREQ(s2, "#!/bin/sh\necho hi\n");
        assert_stat(fd, "bin", S_IFDIR, 0755, -1);
        assert_stat(fd, "bin/tool", S_IFREG, 04755, 1600000002);
        assert_stat(fd, "bin/sh", S_IFLNK, 0, 1600000003);
        char target[64] = {};
        ASSERT_EQ(readlinkat(fd, "bin/sh", target, sizeof target - 1), 4);
        ASSERT_STREQ(target, "tool");
        struct stat a, b;
        ASSERT_SYS((fstatat(fd, "bin/tool", &a, 0)));
        ASSERT_SYS((fstatat(fd, "bin/tool2", &b, 0)));
        ASSERT_EQ(a.st_ino, b.st_ino);
        ASSERT_EQ(a.st_nlink, 2);
        assert_stat(fd, "ro", S_IFDIR, 0555, 1600000004);
        assert_stat(fd, "ro/inside", S_IFREG, 0444, 1600000005);
        /* Devices and FIFOs skipped. */
        ASSERT_TRUE(faccessat(fd, "dev/null", F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT);
        ASSERT_TRUE(faccessat(fd, "fifo", F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT);
        ASSERT_TRUE(cache_entry_size(e) > 0);

        /* Asking again gives the same directory, without extracting again. */
        CacheEntry *again;
        ASSERT_OK(cache_get_layer(c, CACHE_LAYER_TAR, cache_entry_digest(e), &again, NULL));
        ASSERT_TRUE(again == e);
        cache_unpin(again);
        cache_unpin(e);

        /* The tar blob and the layer; a read-only directory inside is no obstacle to eviction. */
        ASSERT_EQ(cache_get_n_entries(c), 2);
        ASSERT_OK(cache_trim(c, 0));
        ASSERT_EQ(cache_get_n_entries(c), 0);
        ASSERT_EQ(cache_get_bytes(c), 0);
        ASSERT_EQ(count_dir(root, "tmp"), 0);
}

static void run(char *const argv[], int stdin_fd, int stdout_fd) {
        posix_spawn_file_actions_t fa;
        pid_t pid;
        int status;

        ASSERT_EQ(posix_spawn_file_actions_init(&fa), 0);
        ASSERT_EQ(posix_spawn_file_actions_adddup2(&fa, stdin_fd, 0), 0);
        ASSERT_EQ(posix_spawn_file_actions_adddup2(&fa, stdout_fd, 1), 0);
        ASSERT_EQ(posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ), 0);
        posix_spawn_file_actions_destroy(&fa);
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(tar_compressed) {
        _cleanup_temp_dir_ char *root = make_temp_dir(), *work = make_temp_dir();
        _cleanup_free_ char *plain = path_join(work, "t.tar"), *gz = path_join(work, "t.tar.gz");
        _cleanup_(cache_freep) Cache *c = NULL;
        CacheEntry *e;
        Tar t = {};

        if (access("/bin/gzip", X_OK) < 0) {
                fprintf(stderr, "no gzip, skipping the compressed tar\n");
                return;
        }
        tar_file(&t, "a", 0644, 1, "compressed\n");
        tar_finish(&t);
        _cleanup_close_ int in = open(plain, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        _cleanup_close_ int out = open(gz, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        ASSERT_TRUE(in >= 0 && out >= 0);
        ASSERT_OK(loop_write(in, t.data, t.size));
        tar_done(&t);
        ASSERT_SYS((lseek(in, 0, SEEK_SET)));
        run((char *[]) { (char *) "gzip", (char *) "-c", NULL }, in, out);

        ASSERT_OK(cache_new(root, UINT64_MAX, &c));
        Digest d;
        uint64_t size;
        ASSERT_OK(digest_file(gz, &d, &size));
        ASSERT_OK(cache_blob_from_path(c, gz, &d, NULL));
        ASSERT_OK(cache_get_layer(c, CACHE_LAYER_TAR, &d, &e, NULL));
        _cleanup_close_ int fd = open_entry(e);
        _cleanup_free_ char *s = read_file(fd, "a");
        ASSERT_STREQ(s, "compressed\n");
        cache_unpin(e);
}

/* Expects the layer to be refused with err, leaving nothing behind. */
static void assert_refused(Cache *c, const char *root, Tar *t, int err, const char *message_part) {
        CacheLayerError e = {};
        CacheEntry *entry = NULL;
        size_t n = cache_get_n_entries(c);

        ASSERT_ERROR(tar_layer(c, t, &entry, &e), err);
        ASSERT_TRUE(!entry);
        ASSERT_TRUE(e.message);
        fprintf(stderr, "refused as expected: %s\n", e.message);
        ASSERT_TRUE(strstr(e.message, message_part));
        ASSERT_EQ(e.n_missing, 0);
        cache_layer_error_done(&e);
        ASSERT_EQ(cache_get_n_entries(c), n + 1);  /* just the tar blob */
        ASSERT_EQ(count_dir(root, "tmp"), 0);
        ASSERT_EQ(count_dir(root, "tar"), 0);
}

TEST(tar_refusals) {
        _cleanup_temp_dir_ char *root = make_temp_dir(), *outside = make_temp_dir();
        _cleanup_(cache_freep) Cache *c = NULL;
        Tar t = {};

        ASSERT_OK(cache_new(root, UINT64_MAX, &c));

        tar_file(&t, "ok", 0644, 1, "fine");
        tar_file(&t, "/etc/evil", 0644, 1, "x");
        assert_refused(c, root, &t, EBADMSG, "absolute");

        tar_file(&t, "../evil", 0644, 1, "x");
        assert_refused(c, root, &t, EBADMSG, "'..'");

        tar_member(&t, "a/", '5', 0755, 1, NULL, NULL);
        tar_file(&t, "a/../../evil", 0644, 1, "x");
        assert_refused(c, root, &t, EBADMSG, "'..'");

        /* A symbolic link, then a file through it. */
        tar_member(&t, "a", '2', 0777, 1, outside, NULL);
        tar_file(&t, "a/x", 0644, 1, "escaped");
        assert_refused(c, root, &t, EBADMSG, "symbolic link");
        ASSERT_EQ(count_dir(outside, "."), 0);

        /* The same with a directory member, and deeper. */
        tar_member(&t, "d/", '5', 0755, 1, NULL, NULL);
        tar_member(&t, "d/l", '2', 0777, 1, outside, NULL);
        tar_member(&t, "d/l/sub/", '5', 0755, 1, NULL, NULL);
        assert_refused(c, root, &t, EBADMSG, "symbolic link");
        ASSERT_EQ(count_dir(outside, "."), 0);

        /* A hard link whose target is reached through a symbolic link. */
        tar_member(&t, "l", '2', 0777, 1, "/etc", NULL);
        tar_member(&t, "h", '1', 0644, 1, "l/passwd", NULL);
        assert_refused(c, root, &t, EBADMSG, "symbolic link");

        /* A hard link to nothing, and to a directory. */
        tar_member(&t, "h", '1', 0644, 1, "nothing", NULL);
        assert_refused(c, root, &t, EBADMSG, "hard link");
        tar_member(&t, "dir/", '5', 0755, 1, NULL, NULL);
        tar_member(&t, "h", '1', 0644, 1, "dir", NULL);
        assert_refused(c, root, &t, EBADMSG, "hard link");

        /* A file as the root. */
        tar_file(&t, ".", 0644, 1, "x");
        assert_refused(c, root, &t, EBADMSG, "root");

        /* Garbage, a truncated archive, and formats other than tar (mtree could name host files). */
        Digest d;
        CacheLayerError e = {};
        put_blob(c, "#mtree\n./x type=file contents=/etc/hostname\n", 44, &d);
        ASSERT_ERROR(cache_get_layer(c, CACHE_LAYER_TAR, &d, NULL, &e), EBADMSG);
        cache_layer_error_done(&e);
        char garbage[2048];
        memset(garbage, 'x', sizeof garbage);
        put_blob(c, garbage, sizeof garbage, &d);
        ASSERT_ERROR(cache_get_layer(c, CACHE_LAYER_TAR, &d, NULL, &e), EBADMSG);
        cache_layer_error_done(&e);
        tar_file(&t, "big", 0644, 1, "0123456789abcdefghij");
        tar_file(&t, "big2", 0644, 1, "0123456789abcdefghij");
        tar_finish(&t);
        put_blob(c, t.data, t.size - 1024 - 600, &d);  /* cut inside big2's header */
        tar_done(&t);
        ASSERT_ERROR(cache_get_layer(c, CACHE_LAYER_TAR, &d, NULL, &e), EBADMSG);
        ASSERT_TRUE(e.message);
        cache_layer_error_done(&e);

        /* Limits. */
        CacheLimits l = CACHE_LIMITS_DEFAULT;
        l.max_layer_entries = 3;
        l.max_layer_bytes = 10;
        l.max_layer_depth = 3;
        cache_set_limits(c, &l);
        for (int i = 0; i < 4; i++)
                tar_member(&t, (const char *[]) { "a/", "b/", "c/", "d/" }[i], '5', 0755, 1, NULL, NULL);
        assert_refused(c, root, &t, E2BIG, "limit");
        tar_file(&t, "f", 0644, 1, "0123456789a");
        assert_refused(c, root, &t, E2BIG, "limit");
        tar_file(&t, "a/b/c/d", 0644, 1, "x");
        assert_refused(c, root, &t, E2BIG, "components");
        tar_file(&t, "a/b/c", 0644, 1, "0123456789");
        CacheEntry *entry;
        ASSERT_OK(tar_layer(c, &t, &entry, NULL));
        cache_unpin(entry);

        /* The tar blob absent: named as missing. */
        digest_buffer("absent", 6, &d);
        ASSERT_ERROR(cache_get_layer(c, CACHE_LAYER_TAR, &d, NULL, &e), ENOENT);
        ASSERT_EQ(e.n_missing, 1);
        ASSERT_TRUE(digest_equal(&e.missing[0], &d));
        cache_layer_error_done(&e);
}

/* The TreeWriter directly: path checks, and the walk used where openat2 is missing. */
TEST(tree_writer) {
        _cleanup_temp_dir_ char *dir = make_temp_dir(), *outside = make_temp_dir();
        struct timespec mtime = { .tv_sec = 1 };
        char *p = NULL;

        ASSERT_OK(tree_path_normalize("./a//b/", &p));
        ASSERT_STREQ(p, "a/b");
        p = mfree(p);
        ASSERT_OK(tree_path_normalize("./", &p));
        ASSERT_STREQ(p, "");
        p = mfree(p);
        ASSERT_ERROR(tree_path_normalize("/a", &p), EBADMSG);
        ASSERT_ERROR(tree_path_normalize("a/..", &p), EBADMSG);
        ASSERT_ERROR(tree_path_normalize("", &p), EBADMSG);

        for (int no_openat2 = 0; no_openat2 <= 1; no_openat2++) {
                _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                _cleanup_(tree_writer_done) TreeWriter t;
                int f;

                ASSERT_TRUE(fd >= 0);
                tree_writer_init(&t, fd, /* max_depth= */ 8);
                t.no_openat2 = no_openat2;
                /* Not normalised: refused even though the caller should have caught it. */
                ASSERT_ERROR(tree_writer_create_file(&t, "../x", &f), EINVAL);
                ASSERT_ERROR(tree_writer_create_file(&t, "a/./x", &f), EINVAL);
                ASSERT_ERROR(tree_writer_create_file(&t, "a//x", &f), EINVAL);
                ASSERT_ERROR(tree_writer_link(&t, "../x", "y"), EINVAL);
                ASSERT_ERROR(tree_writer_mkdir(&t, "1/2/3/4/5/6/7/8/9", 0755, &mtime), E2BIG);

                /* Through a symbolic link, as the last or an inner component. */
                const char *link = no_openat2 ? "l1" : "l0";
                _cleanup_free_ char *deep = path_join(link, "sub/x"), *flat = path_join(link, "x");
                ASSERT_OK(tree_writer_symlink(&t, link, outside, &mtime));
                ASSERT_ERROR(tree_writer_create_file(&t, flat, &f), ELOOP);
                ASSERT_ERROR(tree_writer_create_file(&t, deep, &f), ELOOP);
                ASSERT_ERROR(tree_writer_mkdir(&t, flat, 0755, &mtime), ELOOP);
                ASSERT_EQ(count_dir(outside, "."), 0);

                /* Deep parents are made. */
                ASSERT_OK(tree_writer_create_file(&t, no_openat2 ? "p1/q/r" : "p0/q/r", &f));
                ASSERT_OK(tree_writer_close_file(&t, f, 0644, &mtime));
                ASSERT_OK(tree_writer_finish(&t));
                ASSERT_TRUE(t.usage > 0);
        }
}

/* ---- manifest layers ---- */

TEST(manifest_layer) {
        _cleanup_temp_dir_ char *root = make_temp_dir();
        _cleanup_(cache_freep) Cache *c = NULL;
        _cleanup_(manifest_freep) Manifest *m = NULL;
        CacheEntry *e;
        Digest d;

        ASSERT_OK(cache_new(root, UINT64_MAX, &c));
        ASSERT_OK(manifest_new(&m));
        /* The same data three times: etc/conf comes first (entries are sorted) and gets the blob's inode;
         * the others have another mode, which an inode cannot have at the same time: copies. */
        manifest_add_file(m, c, "usr/bin/a", 0755, 1700000001, "same data\n");
        manifest_add_file(m, c, "usr/bin/b", 0755, 1700000001, "same data\n");
        manifest_add_file(m, c, "etc/conf", 0644, 1700000002, "same data\n");
        manifest_add_file(m, c, "etc/secret", 0200, 1700000003, "w\n");          /* unreadable: a copy */
        manifest_add_file(m, c, "empty", 0600, 1700000004, "");
        ManifestEntry dir = { .type = MANIFEST_DIRECTORY, .mode = 0700, .mtime = 1700000005, .path = "etc" };
        ManifestEntry lnk = {
                .type = MANIFEST_SYMLINK, .mtime = 1700000006, .path = "bin", .target = "usr/bin",
        };
        ManifestEntry ro = { .type = MANIFEST_DIRECTORY, .mode = 0500, .mtime = 1700000007, .path = "usr" };
        ASSERT_OK(manifest_add(m, &dir));
        ASSERT_OK(manifest_add(m, &lnk));
        ASSERT_OK(manifest_add(m, &ro));
        manifest_put(c, m, &d);

        ASSERT_OK(cache_get_layer(c, CACHE_LAYER_MANIFEST, &d, &e, NULL));
        ASSERT_EQ(cache_entry_kind(e), CACHE_LAYER_MANIFEST);
        _cleanup_close_ int fd = open_entry(e);
        assert_stat(fd, ".", S_IFDIR, 0755, -1);
        assert_stat(fd, "usr", S_IFDIR, 0500, 1700000007);
        assert_stat(fd, "usr/bin", S_IFDIR, 0755, -1);
        assert_stat(fd, "usr/bin/a", S_IFREG, 0755, 1700000001);
        assert_stat(fd, "usr/bin/b", S_IFREG, 0755, 1700000001);
        assert_stat(fd, "etc", S_IFDIR, 0700, 1700000005);
        assert_stat(fd, "etc/conf", S_IFREG, 0644, 1700000002);
        assert_stat(fd, "etc/secret", S_IFREG, 0200, 1700000003);
        assert_stat(fd, "empty", S_IFREG, 0600, 1700000004);
        assert_stat(fd, "bin", S_IFLNK, 0, 1700000006);
        char target[64] = {};
        ASSERT_EQ(readlinkat(fd, "bin", target, sizeof target - 1), 7);
        ASSERT_STREQ(target, "usr/bin");
        ASSERT_SYS(fchmodat(fd, "etc/secret", 0600, 0));  /* a copy of the blob: ours to read */
        _cleanup_free_ char *a = read_file(fd, "usr/bin/a"), *conf = read_file(fd, "etc/conf"),
                            *secret = read_file(fd, "etc/secret"), *empty = read_file(fd, "empty");
        ASSERT_STREQ(a, "same data\n");
        ASSERT_STREQ(conf, "same data\n");
        ASSERT_STREQ(secret, "w\n");
        ASSERT_STREQ(empty, "");

        /* conf shares the blob's inode; a and b are copies with their own mode. */
        struct stat sa, sb, sc, sblob;
        Digest same;
        digest_buffer("same data\n", 10, &same);
        int bfd;
        ASSERT_OK(cache_open_blob(c, &same, &bfd));
        ASSERT_SYS((fstat(bfd, &sblob)));
        safe_close(bfd);
        ASSERT_SYS((fstatat(fd, "usr/bin/a", &sa, 0)));
        ASSERT_SYS((fstatat(fd, "usr/bin/b", &sb, 0)));
        ASSERT_SYS((fstatat(fd, "etc/conf", &sc, 0)));
        ASSERT_EQ(sc.st_ino, sblob.st_ino);
        ASSERT_EQ(sblob.st_mode & 07777, 0644);
        ASSERT_TRUE(sa.st_ino != sblob.st_ino);
        ASSERT_TRUE(sb.st_ino != sblob.st_ino && sb.st_ino != sa.st_ino);

        /* Accounting: the linked data counts once, with its blob. */
        uint64_t before = cache_get_bytes(c);
        ASSERT_TRUE(cache_entry_size(e) < before);

        /* While the layer exists its linked blob stays, whatever the target: removing it frees nothing. */
        ASSERT_OK(cache_trim(c, 0));
        ASSERT_TRUE(cache_has_blob(c, &same));
        Digest empty_digest;
        digest_buffer("", 0, &empty_digest);
        ASSERT_TRUE(cache_has_blob(c, &empty_digest));
        ASSERT_EQ(cache_get_n_entries(c), 3);  /* the pinned layer and the two blobs it links */
        cache_unpin(e);
        ASSERT_OK(cache_trim(c, 0));
        ASSERT_EQ(cache_get_n_entries(c), 0);
        ASSERT_EQ(cache_get_bytes(c), 0);
}

TEST(manifest_missing) {
        _cleanup_temp_dir_ char *root = make_temp_dir();
        _cleanup_(cache_freep) Cache *c = NULL;
        _cleanup_(manifest_freep) Manifest *m = NULL;
        CacheLayerError err = {};
        Digest d, x, y;

        ASSERT_OK(cache_new(root, UINT64_MAX, &c));
        ASSERT_OK(manifest_new(&m));
        manifest_add_file(m, c, "present", 0644, 1, "here");
        manifest_add_file(m, NULL, "x1", 0644, 1, "x");
        manifest_add_file(m, NULL, "x2", 0644, 1, "x");  /* the same blob twice: listed once */
        manifest_add_file(m, NULL, "y", 0644, 1, "y");
        manifest_put(c, m, &d);
        digest_buffer("x", 1, &x);
        digest_buffer("y", 1, &y);

        ASSERT_ERROR(cache_get_layer(c, CACHE_LAYER_MANIFEST, &d, NULL, &err), ENOENT);
        ASSERT_EQ(err.n_missing, 2);
        ASSERT_TRUE((digest_equal(&err.missing[0], &x) && digest_equal(&err.missing[1], &y)) ||
                    (digest_equal(&err.missing[0], &y) && digest_equal(&err.missing[1], &x)));
        cache_layer_error_done(&err);
        ASSERT_EQ(count_dir(root, "tmp"), 0);

        /* Fetched: now it works. */
        put_blob(c, "x", 1, NULL);
        put_blob(c, "y", 1, NULL);
        CacheEntry *e;
        ASSERT_OK(cache_get_layer(c, CACHE_LAYER_MANIFEST, &d, &e, &err));
        cache_unpin(e);

        /* The manifest blob itself missing. */
        digest_buffer("no manifest", 11, &x);
        ASSERT_ERROR(cache_get_layer(c, CACHE_LAYER_MANIFEST, &x, NULL, &err), ENOENT);
        ASSERT_EQ(err.n_missing, 1);
        ASSERT_TRUE(digest_equal(&err.missing[0], &x));
        cache_layer_error_done(&err);
}

TEST(manifest_refusals) {
        _cleanup_temp_dir_ char *root = make_temp_dir(), *outside = make_temp_dir();
        _cleanup_(cache_freep) Cache *c = NULL;
        CacheLayerError err = {};
        Digest d;

        ASSERT_OK(cache_new(root, UINT64_MAX, &c));

        /* Writing through its own symbolic link. */
        {
                _cleanup_(manifest_freep) Manifest *m = NULL;
                ASSERT_OK(manifest_new(&m));
                ManifestEntry l = { .type = MANIFEST_SYMLINK, .path = "a", .target = outside };
                ASSERT_OK(manifest_add(m, &l));
                manifest_add_file(m, c, "a/x", 0644, 1, "escaped");
                manifest_put(c, m, &d);
                ASSERT_ERROR(cache_get_layer(c, CACHE_LAYER_MANIFEST, &d, NULL, &err), EBADMSG);
                ASSERT_TRUE(strstr(err.message, "symbolic link"));
                cache_layer_error_done(&err);
                ASSERT_EQ(count_dir(outside, "."), 0);
        }
        /* A file as the parent of another. */
        {
                _cleanup_(manifest_freep) Manifest *m = NULL;
                ASSERT_OK(manifest_new(&m));
                manifest_add_file(m, c, "f", 0644, 1, "file");
                manifest_add_file(m, c, "f/x", 0644, 1, "x");
                manifest_put(c, m, &d);
                ASSERT_ERROR(cache_get_layer(c, CACHE_LAYER_MANIFEST, &d, NULL, &err), EBADMSG);
                cache_layer_error_done(&err);
        }
        /* A size that does not match the blob. */
        {
                _cleanup_(manifest_freep) Manifest *m = NULL;
                ASSERT_OK(manifest_new(&m));
                put_blob(c, "four", 4, NULL);
                ManifestEntry f = { .type = MANIFEST_FILE, .mode = 0644, .size = 5, .path = "f" };
                digest_buffer("four", 4, &f.digest);
                ASSERT_OK(manifest_add(m, &f));
                manifest_put(c, m, &d);
                ASSERT_ERROR(cache_get_layer(c, CACHE_LAYER_MANIFEST, &d, NULL, &err), EBADMSG);
                ASSERT_TRUE(strstr(err.message, "size"));
                cache_layer_error_done(&err);
        }
        /* Not a manifest. */
        put_blob(c, "MAELMNFS garbage", 16, &d);
        ASSERT_ERROR(cache_get_layer(c, CACHE_LAYER_MANIFEST, &d, NULL, &err), EBADMSG);
        cache_layer_error_done(&err);
        /* Deeper than the limit. */
        {
                _cleanup_(manifest_freep) Manifest *m = NULL;
                ASSERT_OK(manifest_new(&m));
                manifest_add_file(m, c, "1/2/3/4/5", 0644, 1, "deep");
                manifest_put(c, m, &d);
                CacheLimits l = CACHE_LIMITS_DEFAULT;
                l.max_layer_depth = 4;
                cache_set_limits(c, &l);
                ASSERT_ERROR(cache_get_layer(c, CACHE_LAYER_MANIFEST, &d, NULL, &err), E2BIG);
                cache_layer_error_done(&err);
        }
        ASSERT_EQ(count_dir(root, "tmp"), 0);
        ASSERT_EQ(count_dir(root, "manifest"), 0);
}

/* ---- eviction and restart ---- */

static void blob_of(unsigned i, char buf[static 16384], Digest *ret) {
        memset(buf, 'a' + (int) i % 26, 16384);
        snprintf(buf, 16, "blob %u", i);
        digest_buffer(buf, 16384, ret);
}

TEST(manifest_missing_in_a_full_cache) {
        /* The blobs of a layer that the cache has stay pinned while the caller adds the missing ones: adding
         * one to a full cache evicts the oldest, which they may be. */
        _cleanup_temp_dir_ char *root = make_temp_dir();
        _cleanup_(cache_freep) Cache *c = NULL;
        _cleanup_(manifest_freep) Manifest *m = NULL;
        CacheLayerError err = {};
        char buf[16384];
        Digest d[5], layer;
        CacheEntry *e;

        /* Room for about 4 blobs of 16 KiB. */
        ASSERT_OK(cache_new(root, 4 * 16384 + 8192, &c));
        ASSERT_OK(manifest_new(&m));
        for (unsigned i = 0; i < 2; i++) {
                blob_of(i, buf, &d[i]);
                ManifestEntry f = { .type = MANIFEST_FILE, .mode = 0644, .size = sizeof buf, .mtime = 1,
                                    .path = i == 0 ? "present" : "missing", .digest = d[i] };
                ASSERT_OK(manifest_add(m, &f));
        }
        blob_of(0, buf, &d[0]);
        put_blob(c, buf, sizeof buf, NULL);
        manifest_put(c, m, &layer);
        for (unsigned i = 2; i < 5; i++) { /* newer than the layer's */
                blob_of(i, buf, &d[i]);
                put_blob(c, buf, sizeof buf, NULL);
        }

        ASSERT_ERROR(cache_get_layer(c, CACHE_LAYER_MANIFEST, &layer, NULL, &err), ENOENT);
        ASSERT_EQ(err.n_missing, 1);
        ASSERT_TRUE(digest_equal(&err.missing[0], &d[1]));
        blob_of(1, buf, &d[1]);
        put_blob(c, buf, sizeof buf, NULL); /* over the target: evicts the oldest that is not held */
        ASSERT_TRUE(cache_has_blob(c, &d[0]));
        ASSERT_FALSE(cache_has_blob(c, &d[2]));
        ASSERT_OK(cache_get_layer(c, CACHE_LAYER_MANIFEST, &layer, &e, NULL));
        cache_layer_error_done(&err);
        cache_unpin(e);

        /* A blob added by the caller, kept in err, is held too. */
        ASSERT_OK(cache_set_size_target(c, 0));
        ASSERT_EQ(cache_get_n_entries(c), 0);
        ASSERT_OK(cache_set_size_target(c, 4 * 16384 + 8192));
        manifest_put(c, m, &layer);
        ASSERT_ERROR(cache_get_layer(c, CACHE_LAYER_MANIFEST, &layer, NULL, &err), ENOENT);
        ASSERT_EQ(err.n_missing, 2);
        for (unsigned i = 0; i < 2; i++) {
                blob_of(i, buf, &d[i]);
                _cleanup_(cache_blob_writer_freep) CacheBlobWriter *w = NULL;
                ASSERT_OK(cache_blob_begin(c, &d[i], sizeof buf, &w));
                ASSERT_OK(cache_blob_write(w, buf, sizeof buf));
                ASSERT_OK(cache_blob_finish(w, &e));
                ASSERT_OK(cache_layer_error_keep(&err, e));
        }
        for (unsigned i = 2; i < 5; i++) { /* fill it up: none of the held goes */
                blob_of(i, buf, &d[i]);
                put_blob(c, buf, sizeof buf, NULL);
        }
        ASSERT_TRUE(cache_has_blob(c, &d[0]) && cache_has_blob(c, &d[1]));
        ASSERT_OK(cache_get_layer(c, CACHE_LAYER_MANIFEST, &layer, &e, NULL));
        cache_layer_error_done(&err);
        cache_unpin(e);
}

TEST(eviction) {
        _cleanup_temp_dir_ char *root = make_temp_dir();
        _cleanup_(cache_freep) Cache *c = NULL;
        char buf[16384];
        Digest d[10];
        CacheEntry *pinned;

        /* Room for about 4 blobs of 16 KiB. */
        ASSERT_OK(cache_new(root, 4 * 16384 + 8192, &c));
        for (unsigned i = 0; i < 10; i++) {
                blob_of(i, buf, &d[i]);
                put_blob(c, buf, sizeof buf, NULL);
                if (i == 0)
                        ASSERT_OK(cache_get(c, CACHE_BLOB, &d[0], &pinned));
                /* Blob 1 is used all along. */
                if (i >= 1)
                        ASSERT_TRUE(cache_has_blob(c, &d[1]));
                ASSERT_TRUE(cache_get_bytes(c) <= 4 * 16384 + 8192);
        }
        /* Four fit: pinned 0 (the oldest), 1 used all along, and the newest, 8 and 9. */
        ASSERT_TRUE(cache_has_blob(c, &d[0]));
        ASSERT_TRUE(cache_has_blob(c, &d[1]));
        for (unsigned i = 2; i < 8; i++)
                ASSERT_FALSE(cache_has_blob(c, &d[i]));
        for (unsigned i = 8; i < 10; i++)
                ASSERT_TRUE(cache_has_blob(c, &d[i]));

        /* The total is the sum of the entries, and what du would say. */
        uint64_t sum = 0, du = 0;
        for (unsigned i = 0; i < 10; i++) {
                CacheEntry *e;
                if (cache_get(c, CACHE_BLOB, &d[i], &e) < 0)
                        continue;
                sum += cache_entry_size(e);
                cache_unpin(e);
        }
        ASSERT_EQ(sum, cache_get_bytes(c));
        _cleanup_close_ int rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_OK(disk_usage_at(rfd, "blob", /* skip_linked= */ false, &du));
        ASSERT_TRUE(du >= sum);  /* plus the directories */
        ASSERT_TRUE(du - sum <= 257 * 4096);

        /* Unpinning is a use: 0 is now the newest, then 9. */
        cache_unpin(pinned);
        ASSERT_OK(cache_set_size_target(c, 2 * 16384 + 8192));
        ASSERT_EQ(cache_get_n_entries(c), 2);
        ASSERT_TRUE(cache_has_blob(c, &d[0]));
        ASSERT_TRUE(cache_has_blob(c, &d[9]));
        ASSERT_OK(cache_trim(c, 0));
        ASSERT_EQ(cache_get_n_entries(c), 0);
        ASSERT_EQ(cache_get_bytes(c), 0);
        ASSERT_EQ(count_dir(root, "tmp"), 0);
}

TEST(index_record_interval) {
        /* Uses in quick succession append one index record per entry, not one per use; the order in memory
         * stays exact. */
        _cleanup_temp_dir_ char *root = make_temp_dir();
        _cleanup_free_ char *index = path_join(root, "index");
        _cleanup_(cache_freep) Cache *c = NULL;
        char buf[16384];
        Digest d[2];
        struct stat st;
        off_t size;
        usec_t t0 = now(CLOCK_MONOTONIC);

        ASSERT_OK(cache_new(root, UINT64_MAX, &c));
        for (unsigned i = 0; i < 2; i++) {
                blob_of(i, buf, &d[i]);
                put_blob(c, buf, sizeof buf, NULL);
        }
        ASSERT_SYS((stat(index, &st)));
        size = st.st_size;
        for (unsigned i = 0; i < 1000; i++) {
                CacheEntry *e;

                ASSERT_OK(cache_get(c, CACHE_BLOB, &d[i % 2], &e));
                cache_unpin(e);
        }
        ASSERT_SYS((stat(index, &st)));
        if (now(CLOCK_MONOTONIC) < t0 + USEC_PER_SEC)
                ASSERT_EQ(st.st_size, size);
        /* Once the interval passed, the next use appends again. */
        while (now(CLOCK_MONOTONIC) < t0 + 1100 * USEC_PER_MSEC)
                (void) usleep(10 * 1000);
        ASSERT_TRUE(cache_has_blob(c, &d[0]));
        ASSERT_SYS((stat(index, &st)));
        ASSERT_TRUE(st.st_size > size);
        /* The last used, d[0], is the newest: evicting down to one blob keeps it. */
        ASSERT_OK(cache_set_size_target(c, 16384 + 8192));
        ASSERT_EQ(cache_get_n_entries(c), 1);
        ASSERT_TRUE(cache_has_blob(c, &d[0]));
}

static uint64_t blob_size(Cache *c, const Digest *d) {
        CacheEntry *e;
        ASSERT_OK(cache_get(c, CACHE_BLOB, d, &e));
        uint64_t s = cache_entry_size(e);
        cache_unpin(e);
        return s;
}

TEST(restart) {
        _cleanup_temp_dir_ char *root = make_temp_dir();
        _cleanup_free_ char *tmp = path_join(root, "tmp"), *index = path_join(root, "index"),
                            *dirty = path_join(root, "dirty");
        char buf[16384];
        Digest d[4], tar;
        uint64_t bytes;
        CacheEntry *layer;

        {
                _cleanup_(cache_freep) Cache *c = NULL;
                Tar t = {};
                ASSERT_OK(cache_new(root, UINT64_MAX, &c));
                for (unsigned i = 0; i < 4; i++) {
                        blob_of(i, buf, &d[i]);
                        put_blob(c, buf, sizeof buf, NULL);
                }
                tar_file(&t, "dir/f", 0644, 1, "data");
                tar_finish(&t);
                put_blob(c, t.data, t.size, &tar);
                tar_done(&t);
                ASSERT_OK(cache_get_layer(c, CACHE_LAYER_TAR, &tar, &layer, NULL));
                cache_unpin(layer);
                /* Use order, oldest first: 1, 3, the tar blob, the layer, 0, 2. */
                ASSERT_TRUE(cache_has_blob(c, &d[1]));
                ASSERT_TRUE(cache_has_blob(c, &d[3]));
                ASSERT_TRUE(cache_has_blob(c, &tar));
                ASSERT_OK(cache_get_layer(c, CACHE_LAYER_TAR, &tar, &layer, NULL));
                cache_unpin(layer);
                ASSERT_TRUE(cache_has_blob(c, &d[0]));
                ASSERT_TRUE(cache_has_blob(c, &d[2]));
                bytes = cache_get_bytes(c);

                /* One owner at a time. */
                Cache *second = NULL;
                ASSERT_ERROR(cache_new(root, UINT64_MAX, &second), EBUSY);
        }
        ASSERT_TRUE(access(dirty, F_OK) < 0);  /* closed cleanly */

        /* Leftovers of interrupted writes (one with a read-only directory), and a torn index record. */
        _cleanup_free_ char *f = path_join(tmp, "blob-1234"), *dd = path_join(tmp, "tar-5678"),
                            *sub = path_join(dd, "sub"), *subf = path_join(sub, "f");
        ASSERT_SYS((mkdir(dd, 0755)));
        ASSERT_SYS((mkdir(sub, 0755)));
        _cleanup_close_ int fd = open(f, O_WRONLY | O_CREAT | O_CLOEXEC, 0444);
        _cleanup_close_ int fd2 = open(subf, O_WRONLY | O_CREAT | O_CLOEXEC, 0444);
        ASSERT_TRUE(fd >= 0 && fd2 >= 0);
        ASSERT_SYS((chmod(sub, 0555)));
        _cleanup_close_ int ifd = open(index, O_WRONLY | O_APPEND | O_CLOEXEC);
        ASSERT_TRUE(ifd >= 0);
        ASSERT_OK(loop_write(ifd, "torn record", 11));

        {
                _cleanup_(cache_freep) Cache *c = NULL;
                ASSERT_OK(cache_new(root, UINT64_MAX, &c));
                ASSERT_EQ(count_dir(root, "tmp"), 0);
                ASSERT_EQ(cache_get_n_entries(c), 6);
                ASSERT_EQ(cache_get_bytes(c), bytes);
                /* The LRU order survived: evicting down to two blobs keeps the two used last. */
                ASSERT_OK(cache_set_size_target(c, 2 * 16384 + 8192));
                ASSERT_EQ(cache_get_n_entries(c), 2);
                ASSERT_TRUE(cache_has_blob(c, &d[0]));
                ASSERT_TRUE(cache_has_blob(c, &d[2]));
        }

        /* Without the index, entries are found on disk and measured again. */
        ASSERT_SYS((unlink(index)));
        {
                _cleanup_(cache_freep) Cache *c = NULL;
                ASSERT_OK(cache_new(root, UINT64_MAX, &c));
                ASSERT_EQ(cache_get_n_entries(c), 2);
                ASSERT_EQ(cache_get_bytes(c), blob_size(c, &d[0]) + blob_size(c, &d[2]));
                ASSERT_TRUE(access(dirty, F_OK) >= 0);  /* open */
        }

        /* Left open when the machine went down (another boot's id): the data may be lost, so all goes. */
        ASSERT_OK(write_file_atomic(dirty, "another-boot", 12, 0600));
        {
                _cleanup_(cache_freep) Cache *c = NULL;
                ASSERT_OK(cache_new(root, UINT64_MAX, &c));
                ASSERT_EQ(cache_get_n_entries(c), 0);
                ASSERT_EQ(cache_get_bytes(c), 0);
                ASSERT_EQ(count_dir(root, "blob"), 0);
                ASSERT_EQ(count_dir(root, "tmp"), 0);
        }
}

/* ---- crash safety ---- */

#define BIG_FILES 500

static void big_content(unsigned i, char buf[static 64]) {
        snprintf(buf, 64, "file %u of the big layer, with some padding %u\n", i, i * 2654435761u);
}

static void big_name(unsigned i, char buf[static 32]) {
        snprintf(buf, 32, "d%02u/f%04u", i % 30, i);
}

static void assert_big_layer(const CacheEntry *e) {
        _cleanup_close_ int fd = open_entry(e);
        for (unsigned i = 0; i < BIG_FILES; i++) {
                char name[32], content[64];
                big_name(i, name);
                big_content(i, content);
                _cleanup_free_ char *s = read_file(fd, name);
                ASSERT_STREQ(s, content);
        }
}

/* Runs cache_get_layer() in a child and, unless kill_after is USEC_INFINITY, kills it that long after it
 * opened the cache.  Returns the time from then to its end. */
static usec_t child_materialise(const char *root, const Digest *tar, usec_t kill_after) {
        int p[2], status;
        char x;

        ASSERT_SYS(pipe2(p, O_CLOEXEC));
        pid_t pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                Cache *c = NULL;
                CacheEntry *e;
                if (cache_new(root, UINT64_MAX, &c) < 0 || write(p[1], "x", 1) != 1 ||
                    cache_get_layer(c, CACHE_LAYER_TAR, tar, &e, NULL) < 0)
                        _exit(1);
                cache_free(c);
                _exit(0);
        }
        safe_close(p[1]);
        ASSERT_EQ(read(p[0], &x, 1), 1);
        safe_close(p[0]);
        usec_t start = now(CLOCK_MONOTONIC);
        if (kill_after != USEC_INFINITY) {
                struct timespec ts = {
                        .tv_sec = (time_t) (kill_after / USEC_PER_SEC),
                        .tv_nsec = (long) (kill_after % USEC_PER_SEC * 1000),
                };
                nanosleep(&ts, NULL);
                ASSERT_SYS(kill(pid, SIGKILL));
        }
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        if (kill_after == USEC_INFINITY)
                ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        return now(CLOCK_MONOTONIC) - start;
}

TEST(crash) {
        _cleanup_temp_dir_ char *root = make_temp_dir();
        unsigned seed = (unsigned) time(NULL), whole = 0, none = 0;
        Tar t = {};
        Digest tar;

        for (unsigned i = 0; i < BIG_FILES; i++) {
                char name[32], content[64];
                big_name(i, name);
                big_content(i, content);
                tar_file(&t, name, 0644, 1, content);
        }
        tar_finish(&t);
        {
                _cleanup_(cache_freep) Cache *c = NULL;
                ASSERT_OK(cache_new(root, UINT64_MAX, &c));
                put_blob(c, t.data, t.size, &tar);
                tar_done(&t);
        }

        /* How long a whole run takes, then kill runs at random moments within it. */
        usec_t full = child_materialise(root, &tar, USEC_INFINITY);
        fprintf(stderr, "a whole run takes %.1f ms; seed %u\n", (double) full / 1000, seed);
        for (unsigned k = 0; k < 20; k++) {
                _cleanup_(cache_freep) Cache *c = NULL;
                CacheEntry *e, *blob;

                ASSERT_OK(cache_new(root, UINT64_MAX, &c));
                ASSERT_OK(cache_get(c, CACHE_BLOB, &tar, &blob));
                ASSERT_OK(cache_trim(c, 0));  /* the layer goes */
                ASSERT_EQ(cache_get_n_entries(c), 1);
                cache_unpin(blob);
                c = cache_free(c);

                /* Mostly while extracting, a third of the time after it. */
                child_materialise(root, &tar, (usec_t) rand_r(&seed) % (full + full / 2));

                ASSERT_OK(cache_new(root, UINT64_MAX, &c));
                ASSERT_EQ(count_dir(root, "tmp"), 0);
                if (cache_get(c, CACHE_LAYER_TAR, &tar, &e) >= 0) {
                        assert_big_layer(e);
                        cache_unpin(e);
                        whole++;
                } else {
                        char hex[DIGEST_HEX_SIZE], rel[128];
                        digest_to_hex(&tar, hex);
                        snprintf(rel, sizeof rel, "tar/%.2s/%s", hex, hex);
                        _cleanup_free_ char *p = path_join(root, rel);
                        ASSERT_TRUE(access(p, F_OK) < 0 && errno == ENOENT);
                        none++;
                }
        }
        fprintf(stderr, "after kill -9: %u whole, %u absent\n", whole, none);
        ASSERT_EQ(whole + none, 20);
}

TEST(kind_strings) {
        for (CacheEntryKind k = 0; k < _CACHE_ENTRY_KIND_MAX; k++)
                ASSERT_EQ(cache_entry_kind_from_string(cache_entry_kind_to_string(k)), k);
        ASSERT_EQ(cache_entry_kind_from_string("nope"), _CACHE_ENTRY_KIND_INVALID);
        ASSERT_TRUE(!cache_entry_kind_to_string(_CACHE_ENTRY_KIND_MAX));
}

int main(void) {
        RUN(kind_strings);
        RUN(blob_stream);
        RUN(blob_from_path);
        RUN(blob_copy_in_steps);
        RUN(tar_layer);
        RUN(tar_compressed);
        RUN(tar_refusals);
        RUN(tree_writer);
        RUN(manifest_layer);
        RUN(manifest_missing);
        RUN(manifest_missing_in_a_full_cache);
        RUN(manifest_refusals);
        RUN(eviction);
        RUN(index_record_interval);
        RUN(restart);
        RUN(crash);
        return 0;
}
