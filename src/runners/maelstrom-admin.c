/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <stdlib.h>

#include "basic/log.h"
#include "basic/string-util.h"
#include "config/config-main.h"
#include "config/config-values.h"

static const ConfigValueDef *const admin_value_sets[] = {
        config_values_common,
        config_values_broker_address,
        NULL,
};

static const ConfigProgram admin_program = {
        .name = "maelstrom-admin",
        .dir_name = "admin",
        .env_prefix = "MAELSTROM_ADMIN_",
        .file_format = CONFIG_FILE_TOML,
        .positional = CONFIG_POSITIONAL_INTERLEAVED,
        .usage = "[OPTIONS] status|stop",
        .description = "Administer a Maelstrom cluster through its broker.\n\n"
                       "Commands:\n"
                       "  status   Print the workers and their slots, the clients, the jobs in each state, and cache "
                       "use\n"
                       "  stop     Tell the broker and every worker to exit",
        .value_sets = admin_value_sets,
};

int main(int argc, char **argv) {
        _cleanup_(config_freep) Config *c = NULL;
        int r;

        r = config_main_load(&admin_program, argc, argv, &c);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : EXIT_SUCCESS;

        char *const *args = config_get_positional(c);
        if (strv_length(args) != 1) {
                log_error("Expected exactly one command, status or stop (see --help).");
                return EXIT_USAGE;
        }
        const char *verb = args[0];
        if (!streq(verb, "status") && !streq(verb, "stop")) {
                log_error("Unknown command '%s': expected status or stop (see --help).", verb);
                return EXIT_USAGE;
        }
        if (!config_is_set(c, "broker")) {
                log_error("No broker configured: set it with --broker/-b, MAELSTROM_ADMIN_BROKER, MAELSTROM_BROKER "
                          "or the broker key of the configuration file.");
                return EXIT_USAGE;
        }

        return config_main_not_available(&admin_program,
                                         streq(verb, "status") ? "The status command" : "The stop command");
}
