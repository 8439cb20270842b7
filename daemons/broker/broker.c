/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <stdlib.h>

#include "broker-conf.h"
#include "broker-manager.h"
#include "config/config-main.h"

static int run(const Config *c) {
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        r = manager_new(c, &m);
        if (r < 0)
                return EXIT_FAILURE;
        r = manager_listen(m, c);
        if (r >= 0)
                r = manager_control_start(m, c);
        if (r < 0)
                return EXIT_FAILURE;
        r = manager_run(m);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

int main(int argc, char **argv) {
        _cleanup_(config_freep) Config *c = NULL;
        int r;

        r = config_main_load(&broker_program, argc, argv, &c);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : EXIT_SUCCESS;
        return run(c);
}
