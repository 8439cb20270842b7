/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/* Parse one TOML file N times with our parser and print the seconds per parse (CPU time of this process). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "basic/fd-util.h"
#include "basic/parse-util.h"
#include "toml/toml.h"

int main(int argc, char **argv) {
        _cleanup_free_ char *data = NULL;
        size_t size;
        unsigned n;
        struct timespec a, b;

        if (argc != 3 || safe_atou(argv[2], &n) < 0 || n == 0) {
                fprintf(stderr, "usage: %s FILE.toml ITERATIONS\n", argv[0]);
                return 2;
        }
        int r = read_full_file(argv[1], 1 << 30, &data, &size);
        if (r < 0) {
                fprintf(stderr, "%s: %s\n", argv[1], strerror(-r));
                return 1;
        }

        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
        for (unsigned i = 0; i < n; i++) {
                TomlValue *v = NULL;
                TomlError e;
                r = toml_parse(data, size, &v, &e);
                if (r < 0) {
                        fprintf(stderr, "%s:%u:%u: %s\n", argv[1], e.line, e.column, e.message);
                        return 1;
                }
                toml_value_free(v);
        }
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
        printf("%.9f\n", ((double) (b.tv_sec - a.tv_sec) + (double) (b.tv_nsec - a.tv_nsec) / 1e9) / n);
        return 0;
}
