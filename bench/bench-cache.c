/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/* Materialising a layer of many small files: from a tar blob and from a manifest blob (file blobs present)
 * with lib/cache, against `tar -xf` of the same tar, interleaved in one run.  Prints the median wall time of
 * each and the ratios.
 *
 *     bench-cache [FILES [RUNS]]      (default 10000 files, 7 runs; works under $TMPDIR or /tmp) */
#include <fcntl.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/fd-util.h"
#include "basic/parse-util.h"
#include "basic/time-util.h"
#include "cache/cache.h"
#include "manifest/manifest.h"

#define FILES_PER_DIR 100

static int run_tar(char *const argv[]) {
        pid_t pid;
        int status, r;

        r = posix_spawnp(&pid, argv[0], /* file_actions= */ NULL, /* attrp= */ NULL, argv, environ);
        if (r != 0)
                return -r;
        if (waitpid(pid, &status, 0) != pid)
                return -errno;
        return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

static int rm_rf(const char *path) {
        return run_tar((char *[]) { (char *) "rm", (char *) "-rf", (char *) path, NULL });
}

/* FILES small files (0 to 4 KiB) in directories of FILES_PER_DIR under dir, listed in a manifest whose
 * file blobs go into the cache. */
static int make_tree(const char *dir, unsigned n, Cache *c, Manifest *m, CacheEntry **pins) {
        char path[4096], rel[64], data[4096];
        uint32_t x = 12345;
        int r;

        for (unsigned i = 0; i < n; i++) {
                if (i % FILES_PER_DIR == 0) {
                        snprintf(rel, sizeof rel, "d%04u", i / FILES_PER_DIR);
                        snprintf(path, sizeof path, "%s/%s", dir, rel);
                        if (mkdir(path, 0755) < 0)
                                return -errno;
                        ManifestEntry d = { .type = MANIFEST_DIRECTORY, .mode = 0755, .mtime = 1700000000,
                                            .path = rel };
                        r = manifest_add(m, &d);
                        if (r < 0)
                                return r;
                }
                x = x * 1103515245 + 12345;
                size_t size = x % sizeof data;
                for (size_t k = 0; k < size; k++)
                        data[k] = (char) ('a' + (i + k) % 26);
                snprintf(rel, sizeof rel, "d%04u/file%06u.txt", i / FILES_PER_DIR, i);
                snprintf(path, sizeof path, "%s/%s", dir, rel);
                _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
                if (fd < 0)
                        return -errno;
                r = loop_write(fd, data, size);
                if (r < 0)
                        return r;

                ManifestEntry f = {
                        .type = MANIFEST_FILE, .mode = 0644, .size = size, .mtime = 1700000000, .path = rel,
                };
                digest_buffer(data, size, &f.digest);
                r = manifest_add(m, &f);
                if (r < 0)
                        return r;
                r = cache_blob_from_path(c, path, &f.digest, &pins[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int cmp_usec(const void *a, const void *b) {
        usec_t x = *(const usec_t *) a, y = *(const usec_t *) b;
        return x < y ? -1 : x > y;
}

static double median_ms(usec_t *t, unsigned n) {
        qsort(t, n, sizeof(usec_t), cmp_usec);
        return (double) t[n / 2] / 1000.0;
}

/* Materialises one layer, then evicts it again (untimed).  Only layers are unpinned. */
static int time_layer(Cache *c, CacheEntryKind kind, const Digest *d, usec_t *ret) {
        CacheLayerError err = {};
        CacheEntry *e;
        int r;

        usec_t t = now(CLOCK_MONOTONIC);
        r = cache_get_layer(c, kind, d, &e, &err);
        if (r < 0) {
                fprintf(stderr, "layer: %s: %s\n", strerror(-r), strna(err.message));
                cache_layer_error_done(&err);
                return r;
        }
        *ret = now(CLOCK_MONOTONIC) - t;
        cache_unpin(e);
        return cache_trim(c, 0);
}

static int time_tar_xf(const char *tar, const char *dest, usec_t *ret) {
        int r;

        if (mkdir(dest, 0755) < 0)
                return -errno;
        usec_t t = now(CLOCK_MONOTONIC);
        r = run_tar((char *[]) { (char *) "tar", (char *) "-xf", (char *) tar, (char *) "-C", (char *) dest,
                                 NULL });
        *ret = now(CLOCK_MONOTONIC) - t;
        if (r < 0)
                return r;
        return rm_rf(dest);
}

static int bench(const char *work, unsigned n, unsigned runs) {
        _cleanup_free_ char *src = NULL, *tar = NULL, *root = NULL, *dest = NULL, *manifest = NULL;
        _cleanup_free_ CacheEntry **pins = calloc(n + 2, sizeof(CacheEntry *));
        _cleanup_free_ usec_t *t_tar = calloc(runs, sizeof(usec_t)), *t_man = calloc(runs, sizeof(usec_t)),
                              *t_xf = calloc(runs, sizeof(usec_t));
        _cleanup_(manifest_freep) Manifest *m = NULL;
        _cleanup_(cache_freep) Cache *c = NULL;
        Digest d_tar, d_man;
        uint64_t size;
        size_t msize;
        int r;

        if (!pins || !t_tar || !t_man || !t_xf || asprintf(&src, "%s/src", work) < 0 ||
            asprintf(&tar, "%s/layer.tar", work) < 0 || asprintf(&root, "%s/cache", work) < 0 ||
            asprintf(&dest, "%s/tar-xf", work) < 0)
                return -ENOMEM;
        if (mkdir(src, 0755) < 0)
                return -errno;
        r = cache_new(root, UINT64_MAX, &c);
        if (r < 0)
                return r;
        r = manifest_new(&m);
        if (r < 0)
                return r;
        r = make_tree(src, n, c, m, pins);
        if (r < 0)
                return r;
        r = run_tar((char *[]) { (char *) "tar", (char *) "-cf", tar, (char *) "-C", src, (char *) ".",
                                 NULL });
        if (r < 0)
                return r;

        /* The tar and manifest blobs. */
        r = digest_file(tar, &d_tar, &size);
        if (r < 0)
                return r;
        r = cache_blob_from_path(c, tar, &d_tar, &pins[n]);
        if (r < 0)
                return r;
        r = manifest_serialize(m, &manifest, &msize);
        if (r < 0)
                return r;
        digest_buffer(manifest, msize, &d_man);
        {
                _cleanup_free_ char *mpath = NULL;
                if (asprintf(&mpath, "%s/layer.manifest", work) < 0)
                        return -ENOMEM;
                r = write_file_atomic(mpath, manifest, msize, 0644);
                if (r < 0)
                        return r;
                r = cache_blob_from_path(c, mpath, &d_man, &pins[n + 1]);
                if (r < 0)
                        return r;
        }

        printf("%u files in %u directories, tar %" PRIu64 " KiB, manifest %zu KiB, %u runs\n", n,
               (n + FILES_PER_DIR - 1) / FILES_PER_DIR, size / 1024, msize / 1024, runs);

        /* A warm-up of each (the first manifest build also gives each blob its file's mode and mtime), then
         * the runs, interleaved so that the noise of a shared machine falls on all three alike. */
        usec_t ignored;
        if ((r = time_layer(c, CACHE_LAYER_TAR, &d_tar, &ignored)) < 0 ||
            (r = time_layer(c, CACHE_LAYER_MANIFEST, &d_man, &ignored)) < 0 ||
            (r = time_tar_xf(tar, dest, &ignored)) < 0)
                return r;
        for (unsigned i = 0; i < runs; i++)
                if ((r = time_layer(c, CACHE_LAYER_TAR, &d_tar, &t_tar[i])) < 0 ||
                    (r = time_layer(c, CACHE_LAYER_MANIFEST, &d_man, &t_man[i])) < 0 ||
                    (r = time_tar_xf(tar, dest, &t_xf[i])) < 0)
                        return r;

        double tar_ms = median_ms(t_tar, runs), man_ms = median_ms(t_man, runs),
               xf_ms = median_ms(t_xf, runs);
        printf("%-28s %10s %14s\n", "", "median", "vs tar -xf");
        printf("%-28s %8.1fms %13.2fx\n", "tar -xf", xf_ms, 1.0);
        printf("%-28s %8.1fms %13.2fx\n", "cache: layer from tar", tar_ms, tar_ms / xf_ms);
        printf("%-28s %8.1fms %13.2fx\n", "cache: layer from manifest", man_ms, man_ms / xf_ms);

        for (unsigned i = 0; i < n + 2; i++)
                cache_unpin(pins[i]);
        return 0;
}

int main(int argc, char **argv) {
        unsigned n = 10000, runs = 7;
        _cleanup_free_ char *work = NULL;
        int r;

        if (argc > 3 || (argc > 1 && (safe_atou(argv[1], &n) < 0 || n == 0)) ||
            (argc > 2 && (safe_atou(argv[2], &runs) < 0 || runs == 0))) {
                fprintf(stderr, "usage: %s [FILES [RUNS]]\n", argv[0]);
                return 2;
        }
        if (asprintf(&work, "%s/bench-cache-XXXXXX", getenv("TMPDIR") ?: "/tmp") < 0 || !mkdtemp(work)) {
                fprintf(stderr, "cannot make a work directory\n");
                return 1;
        }
        r = bench(work, n, runs);
        if (r < 0)
                fprintf(stderr, "bench-cache: %s\n", strerror(-r));
        (void) rm_rf(work);
        return r < 0 ? 1 : 0;
}
