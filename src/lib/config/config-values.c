/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

#include "basic/string-util.h"
#include "config/config-values.h"

static const char *const log_levels[] = { "error", "warning", "info", "debug", NULL };
static const char *const ui_kinds[] = { "auto", "simple", "fancy", "quiet", NULL };
static const char *const bus_kinds[] = { "system", "user", "none", NULL };

int config_xdg_cache_path(const char *suffix, char **ret) {
        const char *cache = getenv("XDG_CACHE_HOME");
        char *p;

        if (cache && cache[0] == '/')
                p = strjoin(cache, suffix);
        else {
                const char *home = getenv("HOME");
                if (!home || home[0] != '/')
                        return -ENXIO;
                p = strjoin(home, "/.cache", suffix);
        }
        if (!p)
                return -ENOMEM;
        *ret = p;
        return 0;
}

int config_daemon_cache_root(const char *name, char **ret) {
        const char *d = getenv("CACHE_DIRECTORY");
        char *p;

        /* systemd may pass several, colon-separated; the first is ours. */
        if (d && d[0] == '/')
                p = strndup(d, strcspn(d, ":"));
        else if (geteuid() == 0)
                p = strjoin("/var/cache/maelstrom/", name);
        else {
                _cleanup_free_ char *suffix = strjoin("/maelstrom/", name);
                if (!suffix)
                        return -ENOMEM;
                return config_xdg_cache_path(suffix, ret);
        }
        if (!p)
                return -ENOMEM;
        *ret = p;
        return 0;
}

int config_default_slots(char **ret) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        if (n < 1)
                n = 1;
        if (asprintf(ret, "%ld", n) < 0)
                return -ENOMEM;
        return 0;
}

int config_default_image_depot_root(char **ret) {
        return config_xdg_cache_path("/maelstrom/containers", ret);
}

const ConfigValueDef config_values_common[] = {
        {
                .name = "log-level",
                .type = CONFIG_VALUE_STRING,
                .short_opt = 'L',
                .metavar = "LEVEL",
                .default_value = "info",
                .choices = log_levels,
                .help = "Minimum level of the messages to log",
        },
        {},
};

const ConfigValueDef config_values_broker_address[] = {
        {
                .name = "broker",
                .type = CONFIG_VALUE_STRING,
                .short_opt = 'b',
                .metavar = "HOST:PORT",
                .help = "Address of the broker (host:port or [v6]:port); unset = standalone mode",
        },
        {},
};

const ConfigValueDef config_values_worker_limits[] = {
        {
                .name = "slots",
                .type = CONFIG_VALUE_NUMBER,
                .default_fn = config_default_slots,
                .default_doc = "one per CPU",
                .min = 1,
                .max = 1000,
                .help = "How many jobs the (local) worker runs at once",
        },
        {
                .name = "inline-limit",
                .type = CONFIG_VALUE_SIZE,
                .default_value = "1 MB",
                .help = "How much of each job's stdout and stderr is kept; the rest is counted as truncated",
        },
        {},
};

const ConfigValueDef config_values_cache_size[] = {
        {
                .name = "cache-size",
                .type = CONFIG_VALUE_SIZE,
                .default_value = "1 GB",
                .help = "Target size of the cache; the least recently used entries not in use are evicted "
                        "above it",
        },
        {},
};

const ConfigValueDef config_values_client[] = {
        {
                .name = "container-image-depot-root",
                .type = CONFIG_VALUE_STRING,
                .metavar = "PATH",
                .default_fn = config_default_image_depot_root,
                .default_doc = "$XDG_CACHE_HOME/maelstrom/containers",
                .help = "Where pulled container images are kept, shared by all clients and projects",
        },
        {
                .name = "accept-invalid-remote-container-tls-certs",
                .type = CONFIG_VALUE_BOOL,
                .default_value = "false",
                .help = "Accept invalid (e.g. self-signed) TLS certificates from container registries",
        },
        {},
};

const ConfigValueDef config_values_test_runner[] = {
        {
                .name = "include",
                .type = CONFIG_VALUE_LIST,
                .short_opt = 'i',
                .metavar = "PATTERN",
                .default_doc = "all",
                .help = "Only run the test cases that match this filter pattern (repeatable; any may match)",
                .flags = CONFIG_CLI_ONLY,
        },
        {
                .name = "exclude",
                .type = CONFIG_VALUE_LIST,
                .short_opt = 'x',
                .metavar = "PATTERN",
                .help = "Do not run the test cases that match this filter pattern (repeatable)",
                .flags = CONFIG_CLI_ONLY,
        },
        {
                .name = "list-tests",
                .type = CONFIG_VALUE_BOOL,
                .short_opt = 'l',
                .alias = "list",
                .default_value = "false",
                .help = "Print the matching test cases, building what is needed, and run nothing",
                .flags = CONFIG_CLI_ONLY,
        },
        {
                .name = "init",
                .type = CONFIG_VALUE_BOOL,
                .default_value = "false",
                .help = "Write the default spec file into the project (never overwrites one)",
                .flags = CONFIG_CLI_ONLY,
        },
        {
                .name = "watch",
                .type = CONFIG_VALUE_BOOL,
                .short_opt = 'w',
                .default_value = "false",
                .help = "After the run, wait for changes in the project and run again",
                .flags = CONFIG_CLI_ONLY,
        },
        {
                .name = "junit",
                .type = CONFIG_VALUE_STRING,
                .metavar = "PATH",
                .help = "Write a JUnit XML report of the run to this file",
                .flags = CONFIG_CLI_ONLY,
        },
        {
                .name = "json-events",
                .type = CONFIG_VALUE_STRING,
                .metavar = "PATH",
                .help = "Write one JSON line per test-case event to this file",
                .flags = CONFIG_CLI_ONLY,
        },
        {
                .name = "repeat",
                .type = CONFIG_VALUE_NUMBER,
                .short_opt = 'r',
                .alias = "loop",
                .default_value = "1",
                .min = 1,
                .help = "Run every test case this many times",
        },
        {
                .name = "stop-after",
                .type = CONFIG_VALUE_NUMBER,
                .short_opt = 's',
                .min = 1,
                .help = "Stop scheduling test cases after this many failures; unset = never",
        },
        {
                .name = "timeout",
                .type = CONFIG_VALUE_NUMBER,
                .short_opt = 't',
                .metavar = "SECONDS",
                .help = "Timeout of every test case in seconds, overriding the directives (0 = none)",
        },
        {
                .name = "quiet",
                .type = CONFIG_VALUE_BOOL,
                .short_opt = 'q',
                .default_value = "false",
                .help = "Show only a progress bar and the summary",
        },
        {
                .name = "ui",
                .type = CONFIG_VALUE_STRING,
                .metavar = "UI",
                .default_value = "auto",
                .choices = ui_kinds,
                .help = "How to show progress: auto (fancy on a terminal, else simple), "
                        "simple, fancy, quiet",
        },
        {},
};

const ConfigValueDef config_values_test_binary_args[] = {
        {
                .name = "extra-test-binary-args",
                .type = CONFIG_VALUE_LIST,
                .metavar = "ARG",
                .help = "Extra arguments for every test binary",
                .flags = CONFIG_MAIN_LIST,
        },
        {},
};

const ConfigValueDef config_values_daemon[] = {
        {
                .name = "bus",
                .type = CONFIG_VALUE_STRING,
                .metavar = "BUS",
                .choices = bus_kinds,
                .default_doc = "system when running as root, else user; without D-Bus if neither is "
                               "reachable",
                .help = "Which D-Bus bus to export the control object on",
        },
        {},
};
