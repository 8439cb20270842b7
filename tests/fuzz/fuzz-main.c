/* SPDX-License-Identifier: MIT OR Apache-2.0 */

/* The standalone driver for fuzz targets, for builds without libFuzzer: runs LLVMFuzzerTestOneInput() once
 * on each file named on the command line, and on each file in each directory named (the corpus).  Exit 0 if
 * all ran (a target that finds a bug crashes or aborts). */

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>

#include "basic/fd-util.h"
#include "basic/string-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_INPUT_MAX (4U * 1024U * 1024U)

static int run_file(const char *path) {
        _cleanup_free_ char *data = NULL;
        size_t size;
        int r;

        r = read_full_file(path, FUZZ_INPUT_MAX, &data, &size);
        if (r < 0) {
                fprintf(stderr, "%s: cannot read: %s\n", path, strerror(-r));
                return r;
        }
        fprintf(stderr, "%s (%zu bytes)\n", path, size);
        /* A copy of exactly size bytes, so that the sanitizers catch reads past the end. */
        _cleanup_free_ uint8_t *copy = malloc(MAX(size, (size_t) 1));
        if (!copy)
                return -ENOMEM;
        memcpy(copy, data, size);
        (void) LLVMFuzzerTestOneInput(copy, size);
        return 0;
}

static int compare_names(const struct dirent **a, const struct dirent **b) {
        return strcmp((*a)->d_name, (*b)->d_name);
}

static int run_dir(const char *path) {
        struct dirent **entries = NULL;
        int n, r = 0;

        n = scandir(path, &entries, NULL, compare_names);
        if (n < 0) {
                fprintf(stderr, "%s: cannot list: %m\n", path);
                return -errno;
        }
        for (int i = 0; i < n; i++) {
                if (entries[i]->d_name[0] != '.' && r >= 0) {
                        _cleanup_free_ char *p = strjoin(path, "/", entries[i]->d_name);
                        r = p ? run_file(p) : -ENOMEM;
                }
                free(entries[i]);
        }
        free(entries);
        return r;
}

int main(int argc, char *argv[]) {
        for (int i = 1; i < argc; i++) {
                struct stat st;
                int r;

                if (stat(argv[i], &st) < 0) {
                        fprintf(stderr, "%s: %m\n", argv[i]);
                        return EXIT_FAILURE;
                }
                r = S_ISDIR(st.st_mode) ? run_dir(argv[i]) : run_file(argv[i]);
                if (r < 0)
                        return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}
