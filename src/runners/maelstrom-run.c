/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <stdlib.h>

#include "config/config-main.h"
#include "config/config-values.h"

static int default_cache_root(char **ret) {
        return config_xdg_cache_path("/maelstrom/run", ret);
}

static const ConfigValueDef run_values[] = {
        {
                .name = "file",
                .type = CONFIG_VALUE_STRING,
                .short_opt = 'f',
                .metavar = "PATH",
                .default_doc = "standard input",
                .help = "Read the job specifications from this file instead of standard input",
                .flags = CONFIG_CLI_ONLY,
        },
        {
                .name = "one",
                .type = CONFIG_VALUE_BOOL,
                .short_opt = '1',
                .default_value = "false",
                .help = "Run exactly one job and exit the way it did; extra arguments replace program and arguments",
                .flags = CONFIG_CLI_ONLY,
        },
        {
                .name = "tty",
                .type = CONFIG_VALUE_BOOL,
                .short_opt = 't',
                .default_value = "false",
                .help = "Like --one, with the job on a pseudo-terminal wired to this terminal",
                .flags = CONFIG_CLI_ONLY,
        },
        {
                .name = "cache-root",
                .type = CONFIG_VALUE_STRING,
                .metavar = "PATH",
                .default_fn = default_cache_root,
                .default_doc = "$XDG_CACHE_HOME/maelstrom/run",
                .help = "Directory of the client's cache and of its local worker's cache",
        },
        {
                .name = "escape-char",
                .type = CONFIG_VALUE_STRING,
                .metavar = "CHAR",
                .default_value = "^]",
                .help = "With --tty, this character followed by '.' detaches from the job",
        },
        {},
};

static const ConfigValueDef *const run_value_sets[] = {
        CONFIG_VALUE_SETS_CLIENT,
        run_values,
        NULL,
};

static const ConfigProgram run_program = {
        .name = "maelstrom-run",
        .dir_name = "run",
        .env_prefix = "MAELSTROM_RUN_",
        .file_format = CONFIG_FILE_TOML,
        .positional = CONFIG_POSITIONAL_STOP,
        .usage = "[OPTIONS] [[--] PROGRAM [ARGUMENT...]]",
        .description = "Run jobs, read as a stream of JSON job specifications from standard input or --file, each "
                       "in its own container,\non the broker's cluster or on a transient local worker.",
        .value_sets = run_value_sets,
};

int main(int argc, char **argv) {
        _cleanup_(config_freep) Config *c = NULL;
        int r;

        r = config_main_load(&run_program, argc, argv, &c);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : EXIT_SUCCESS;

        return config_main_not_available(&run_program, "Running jobs");
}
