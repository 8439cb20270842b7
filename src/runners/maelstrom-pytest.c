/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <stdlib.h>

#include "config/config-main.h"
#include "config/config-values.h"

static const ConfigValueDef pytest_values[] = {
        {
                .name = "collect-from-module",
                .type = CONFIG_VALUE_STRING,
                .metavar = "MODULE",
                .help = "Collect the tests from this installed module instead of the project's files",
        },
        {
                .name = "extra-pytest-collect-args",
                .type = CONFIG_VALUE_LIST,
                .metavar = "ARG",
                .help = "Extra arguments for pytest when it collects the tests",
        },
        {
                .name = "extra-pytest-test-args",
                .type = CONFIG_VALUE_LIST,
                .metavar = "ARG",
                .help = "Extra arguments for pytest when it runs one test case",
        },
        {
                .name = "extra-pytest-args",
                .type = CONFIG_VALUE_LIST,
                .metavar = "ARG",
                .help = "Extra arguments for pytest, both when collecting and when running",
                .flags = CONFIG_MAIN_LIST,
        },
        {},
};

static const ConfigValueDef *const pytest_value_sets[] = {
        CONFIG_VALUE_SETS_TEST_RUNNER,
        pytest_values,
        NULL,
};

/* pytest's flags, and what to use instead (pytest's own arguments for each case go after '--'). */
#define PYTEST "a pytest flag: "
static const ConfigHabit pytest_habits[] = {
        { "k", PYTEST "to select cases by name, use --include PATTERN, e.g. --include "
               "'name.contains(WORD)'" },
        { "m", PYTEST "to select cases by marker, use --include 'markers.contains(MARKER)'" },
        { "n", PYTEST "to set how many cases run at once, use --slots N" },
        { "numprocesses", PYTEST "to set how many cases run at once, use --slots N" },
        { "maxfail", PYTEST "use --stop-after N" },
        { "exitfirst", PYTEST "use --stop-after 1" },
        { "ff", PYTEST "the cases that failed last time run first here anyway" },
        { "failed-first", PYTEST "the cases that failed last time run first here anyway" },
        { "junitxml", PYTEST "use --junit PATH" },
        { "junit-xml", PYTEST "use --junit PATH" },
        { "co", PYTEST "to list the cases without running them, use --list-tests" },
        { "collect-only", PYTEST "to list the cases without running them, use --list-tests" },
        {}
};

static const ConfigProgram pytest_program = {
        .name = "maelstrom-pytest",
        .dir_name = "pytest",
        .env_prefix = "MAELSTROM_PYTEST_",
        .file_format = CONFIG_FILE_TOML,
        .positional = CONFIG_POSITIONAL_NONE,
        .usage = "[OPTIONS] [-- EXTRA-PYTEST-ARGS...]",
        .description = "Collect a project's tests with pytest and run every test case in its own container.",
        .value_sets = pytest_value_sets,
        .habits = pytest_habits,
};

int main(int argc, char **argv) {
        _cleanup_(config_freep) Config *c = NULL;
        int r;

        r = config_main_load(&pytest_program, argc, argv, &c);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : EXIT_SUCCESS;

        return config_main_not_available(&pytest_program, "Collecting and running pytest tests");
}
