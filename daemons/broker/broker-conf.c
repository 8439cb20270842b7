/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include "broker-conf.h"
#include "config/config-values.h"

static int default_cache_root(char **ret) {
        return config_daemon_cache_root("broker", ret);
}

static const ConfigValueDef broker_values[] = {
        {
                .name = "port",
                .type = CONFIG_VALUE_NUMBER,
                .short_opt = 'p',
                .default_value = "0",
                .max = 65535,
                .help = "TCP port for clients and workers (0 = any free port, which is logged); unused when "
                        "socket activated",
        },
        {
                .name = "address",
                .type = CONFIG_VALUE_STRING,
                .metavar = "HOST",
                .default_value = "[::]",
                .help = "Address to listen on for clients and workers ([::] = every address of both "
                        "families); unused when socket activated",
        },
        {
                .name = "http-port",
                .type = CONFIG_VALUE_NUMBER,
                .max = 65535,
                .help = "TCP port of the read-only status page (/) and Prometheus metrics (/metrics); 0 = "
                        "any free port, which is logged; unset = none",
        },
        {
                .name = "cache-root",
                .type = CONFIG_VALUE_STRING,
                .metavar = "PATH",
                .default_fn = default_cache_root,
                .default_doc = "$CACHE_DIRECTORY, else /var/cache/maelstrom/broker as root, else "
                               "$XDG_CACHE_HOME/maelstrom/broker",
                .help = "Directory of the broker's blob cache",
        },
        {},
};

static const ConfigValueDef *const broker_value_sets[] = {
        config_values_common,
        config_values_daemon,
        broker_values,
        config_values_cache_size,
        NULL,
};

const ConfigProgram broker_program = {
        .name = "maelstrom-broker",
        .dir_name = "broker",
        .env_prefix = "MAELSTROM_BROKER_",
        .file_format = CONFIG_FILE_LIBCONFIG,
        .positional = CONFIG_POSITIONAL_NONE,
        .usage = "[OPTIONS]",
        .description = "The coordinator of a Maelstrom cluster: queues and schedules jobs, and caches "
                       "artifacts.",
        .value_sets = broker_value_sets,
};
