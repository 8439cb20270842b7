/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <stdlib.h>

#include "config/config-main.h"
#include "config/config-values.h"

static const ConfigValueDef cargo_values[] = {
        {
                .name = "list-binaries",
                .type = CONFIG_VALUE_BOOL,
                .default_value = "false",
                .help = "Print the test binaries that match, and run nothing",
                .flags = CONFIG_CLI_ONLY,
        },
        {
                .name = "list-packages",
                .type = CONFIG_VALUE_BOOL,
                .default_value = "false",
                .help = "Print the packages that match, and run nothing",
                .flags = CONFIG_CLI_ONLY,
        },
        {
                .name = "features",
                .type = CONFIG_VALUE_STRING,
                .short_opt = 'F',
                .metavar = "FEATURES",
                .help = "Passed to cargo as --features",
        },
        {
                .name = "all-features",
                .type = CONFIG_VALUE_BOOL,
                .default_value = "false",
                .help = "Passed to cargo as --all-features",
        },
        {
                .name = "no-default-features",
                .type = CONFIG_VALUE_BOOL,
                .default_value = "false",
                .help = "Passed to cargo as --no-default-features",
        },
        {
                .name = "profile",
                .type = CONFIG_VALUE_STRING,
                .metavar = "PROFILE-NAME",
                .help = "Passed to cargo as --profile",
        },
        {
                .name = "target",
                .type = CONFIG_VALUE_STRING,
                .metavar = "TRIPLE",
                .help = "Passed to cargo as --target",
        },
        {
                .name = "target-dir",
                .type = CONFIG_VALUE_STRING,
                .metavar = "DIRECTORY",
                .help = "Passed to cargo as --target-dir",
        },
        {
                .name = "manifest-path",
                .type = CONFIG_VALUE_STRING,
                .metavar = "PATH",
                .help = "Passed to cargo as --manifest-path",
        },
        {
                .name = "frozen",
                .type = CONFIG_VALUE_BOOL,
                .default_value = "false",
                .help = "Passed to cargo as --frozen",
        },
        {
                .name = "locked",
                .type = CONFIG_VALUE_BOOL,
                .default_value = "false",
                .help = "Passed to cargo as --locked",
        },
        {
                .name = "offline",
                .type = CONFIG_VALUE_BOOL,
                .default_value = "false",
                .help = "Passed to cargo as --offline",
        },
        {},
};

static const ConfigValueDef *const cargo_value_sets[] = {
        CONFIG_VALUE_SETS_TEST_RUNNER,
        config_values_test_binary_args,
        cargo_values,
        NULL,
};

static const ConfigProgram cargo_program = {
        .name = "cargo-maelstrom",
        .dir_name = "cargo-maelstrom",
        .env_prefix = "CARGO_MAELSTROM_",
        .file_format = CONFIG_FILE_TOML,
        .positional = CONFIG_POSITIONAL_NONE,
        .usage = "[OPTIONS] [-- EXTRA-TEST-BINARY-ARGS...]",
        .description = "Build the tests of a Cargo workspace and run every test case in its own container.",
        .value_sets = cargo_value_sets,
};

int main(int argc, char **argv) {
        _cleanup_(config_freep) Config *c = NULL;
        int r;

        /* As a cargo subcommand ("cargo maelstrom ..."), cargo passes the subcommand name first. */
        if (argc > 1 && streq(argv[1], "maelstrom")) {
                argv[1] = argv[0];
                argv++;
                argc--;
        }

        r = config_main_load(&cargo_program, argc, argv, &c);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : EXIT_SUCCESS;

        return config_main_not_available(&cargo_program, "Building and running Cargo tests");
}
