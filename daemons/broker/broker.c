/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <stdlib.h>

#include "broker-conf.h"
#include "config/config-main.h"

int main(int argc, char **argv) {
        _cleanup_(config_freep) Config *c = NULL;
        int r;

        r = config_main_load(&broker_program, argc, argv, &c);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : EXIT_SUCCESS;

        return config_main_not_available(&broker_program, "Serving a cluster");
}
