/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <stdlib.h>

#include "config/config-main.h"
#include "worker-conf.h"

int main(int argc, char **argv) {
        _cleanup_(config_freep) Config *c = NULL;
        int r;

        r = config_main_load(&worker_program, argc, argv, &c);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : EXIT_SUCCESS;

        return config_main_not_available(&worker_program,
                                         config_get_bool(c, "local") ? "Serving as a local worker"
                                                                     : "Running jobs for a broker");
}
