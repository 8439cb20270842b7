/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/* Building a manifest layer (glob "**") over a tree of small files: cold (empty digest cache), warm (the
 * cache of this process), and warm from disk (cache/cached-digests loaded by a new cache), against two
 * anchors run in the same process on the same tree: sha256sum over every file (what the cold build must do
 * at least), and tar cf /dev/null (a walk that stats every file; GNU tar does not read the data when
 * writing to /dev/null, so this is what the warm build must do at least).  Each is run several times; the
 * best is kept.
 *
 *   build/bench/bench-layer [FILES [RUNS]]      (default 10000 files, 5 runs)
 */
#include <fcntl.h>
#include <ftw.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "basic/fd-util.h"
#include "basic/parse-util.h"
#include "basic/time-util.h"
#include "layer/layer.h"

extern char **environ;

static double seconds(void) {
        return (double) now(CLOCK_MONOTONIC) / USEC_PER_SEC;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path) < 0 ? -errno : 0;
}

/* FILES files of 100 to 2000 bytes, 100 to a directory, two levels deep; the list of their paths (NUL
 * separated, for xargs -0) goes to list. */
static int make_tree(const char *root, unsigned files, const char *list) {
        _cleanup_fclose_ FILE *l = fopen(list, "we");
        char buf[2048];

        if (!l)
                return -errno;
        for (size_t i = 0; i < sizeof buf; i++)
                buf[i] = (char) ('a' + i % 26);
        for (unsigned i = 0; i < files; i++) {
                char dir[512], path[600];
                snprintf(dir, sizeof dir, "%s/d%02u/e%02u", root, i / 1000, i / 100 % 10);
                if (i % 100 == 0) {
                        char top[512];
                        snprintf(top, sizeof top, "%s/d%02u", root, i / 1000);
                        (void) mkdir(top, 0755);
                        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                                return -errno;
                }
                snprintf(path, sizeof path, "%s/f%05u.txt", dir, i);
                _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                if (fd < 0)
                        return -errno;
                /* Distinct contents: the index first. */
                int n = snprintf(buf, 16, "%010u\n", i);
                buf[n] = 'x';
                int r = loop_write(fd, buf, 100 + (i * 7919) % 1900);
                if (r < 0)
                        return r;
                /* An hour old, so the digest cache may save them. */
                struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_sec = time(NULL) - 3600 } };
                if (futimens(fd, ts) < 0)
                        return -errno;
                fprintf(l, "%s%c", path, 0);
        }
        return fflush(l) == 0 ? 0 : -errno;
}

static double run_command(const char *cmd) {
        pid_t pid;
        int status;
        char *argv[] = { "sh", "-c", (char *) cmd, NULL };
        double t = seconds();

        if (posix_spawnp(&pid, "sh", NULL, NULL, argv, environ) != 0 || waitpid(pid, &status, 0) < 0 ||
            !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                fprintf(stderr, "'%s' failed\n", cmd);
                return -1;
        }
        return seconds() - t;
}

typedef enum Mode { COLD, WARM, WARM_FROM_DISK } Mode;

static double build_layer(const char *root, const char *manifests, const char *cache_file, Mode mode,
                          DigestCache **cache, uint64_t *ret_hashed) {
        LayerSpec spec = { .kind = LAYER_GLOB, .path = "**" };
        BuiltLayer *l = NULL;
        char *msg = NULL;
        int r;

        if (mode != WARM) {
                *cache = digest_cache_free(*cache);
                if (digest_cache_new(cache) < 0)
                        return -1;
        }
        double t = seconds();
        if (mode == WARM_FROM_DISK && (r = digest_cache_load(*cache, cache_file)) < 0) {
                fprintf(stderr, "loading the digest cache: %s\n", strerror(-r));
                return -1;
        }
        uint64_t before = digest_cache_n_hashed(*cache);
        r = layer_build(&spec, root, NULL, *cache, manifests, &l, &msg);
        if (r < 0) {
                fprintf(stderr, "layer_build: %s\n", msg ?: strerror(-r));
                free(msg);
                return -1;
        }
        t = seconds() - t;
        *ret_hashed = digest_cache_n_hashed(*cache) - before;
        built_layer_free(l);
        return t;
}

int main(int argc, char **argv) {
        unsigned files = 10000, runs = 5;
        char root[] = "/tmp/bench-layer-XXXXXX";
        char tree[64], manifests[64], list[64], cache_file[64], cmd[512];
        DigestCache *cache = NULL;
        double best[5] = { 1e9, 1e9, 1e9, 1e9, 1e9 };
        uint64_t hashed[3] = {};
        int r, ret = 1;

        if ((argc > 1 && (safe_atou(argv[1], &files) < 0 || files == 0 || files > 100000)) ||
            (argc > 2 && (safe_atou(argv[2], &runs) < 0 || runs == 0)) || argc > 3) {
                fprintf(stderr, "usage: %s [FILES (1..100000) [RUNS]]\n", argv[0]);
                return 2;
        }
        if (!mkdtemp(root))
                return 1;
        snprintf(tree, sizeof tree, "%s/tree", root);
        snprintf(manifests, sizeof manifests, "%s/manifests", root);
        snprintf(list, sizeof list, "%s/list", root);
        snprintf(cache_file, sizeof cache_file, "%s/cached-digests", root);
        if (mkdir(tree, 0755) < 0 || (r = make_tree(tree, files, list)) < 0) {
                fprintf(stderr, "making the tree failed\n");
                goto finish;
        }

        for (unsigned i = 0; i < runs; i++) {
                double t[5];
                t[0] = build_layer(tree, manifests, cache_file, COLD, &cache, &hashed[0]);
                t[1] = build_layer(tree, manifests, cache_file, WARM, &cache, &hashed[1]);
                if (digest_cache_save(cache, cache_file) < 0)
                        goto finish;
                t[2] = build_layer(tree, manifests, cache_file, WARM_FROM_DISK, &cache, &hashed[2]);
                snprintf(cmd, sizeof cmd, "xargs -0 -a '%s' sha256sum >/dev/null", list);
                t[3] = run_command(cmd);
                snprintf(cmd, sizeof cmd, "tar cf /dev/null -C '%s' .", tree);
                t[4] = run_command(cmd);
                for (int k = 0; k < 5; k++) {
                        if (t[k] < 0)
                                goto finish;
                        best[k] = MIN(best[k], t[k]);
                }
        }

        static const char *const names[] = {
                "layer, cold cache", "layer, warm cache", "layer, cache from disk", "sha256sum",
                "tar cf /dev/null",
        };
        printf("%u files of 100..2000 bytes, glob \"**\", best of %u runs\n", files, runs);
        printf("%-24s %10s %10s %14s %12s\n", "", "time", "per file", "/ sha256sum", "/ tar");
        for (int k = 0; k < 5; k++)
                printf("%-24s %8.1fms %8.2fus %13.2fx %11.2fx\n", names[k], best[k] * 1e3,
                       best[k] / files * 1e6, best[k] / best[3], best[k] / best[4]);
        printf("files hashed: cold %llu, warm %llu, from disk %llu\n", (unsigned long long) hashed[0],
               (unsigned long long) hashed[1], (unsigned long long) hashed[2]);
        ret = 0;
finish:
        digest_cache_free(cache);
        (void) nftw(root, rm_one, 64, FTW_DEPTH | FTW_PHYS);
        return ret;
}
