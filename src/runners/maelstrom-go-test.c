/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <stdlib.h>

#include "config/config-main.h"
#include "config/config-values.h"

static const ConfigValueDef go_values[] = {
        {
                .name = "vet",
                .type = CONFIG_VALUE_STRING,
                .metavar = "CHECKS",
                .default_doc = "go test's default set of checks",
                .help = "Passed to go test as -vet (\"off\", \"all\", or a comma-separated list of checks)",
        },
        {
                .name = "short",
                .type = CONFIG_VALUE_BOOL,
                .default_value = "false",
                .help = "Run the test binaries with -test.short",
        },
        {
                .name = "fullpath",
                .type = CONFIG_VALUE_BOOL,
                .default_value = "false",
                .help = "Run the test binaries with -test.fullpath",
        },
        {},
};

static const ConfigValueDef *const go_value_sets[] = {
        CONFIG_VALUE_SETS_TEST_RUNNER,
        config_values_test_binary_args,
        go_values,
        NULL,
};

static const ConfigProgram go_program = {
        .name = "maelstrom-go-test",
        .dir_name = "go-test",
        .env_prefix = "MAELSTROM_GO_TEST_",
        .file_format = CONFIG_FILE_TOML,
        .positional = CONFIG_POSITIONAL_NONE,
        .usage = "[OPTIONS] [-- EXTRA-TEST-BINARY-ARGS...]",
        .description = "Build the test binaries of a Go module and run every test, example and fuzz seed corpus in "
                       "its own container.",
        .value_sets = go_value_sets,
};

int main(int argc, char **argv) {
        _cleanup_(config_freep) Config *c = NULL;
        int r;

        r = config_main_load(&go_program, argc, argv, &c);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : EXIT_SUCCESS;

        return config_main_not_available(&go_program, "Building and running Go tests");
}
