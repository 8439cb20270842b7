/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include "config/config-values.h"
#include "worker-conf.h"

static const char *const seccomp_kinds[] = { "default", "none", NULL };

static int default_cache_root(char **ret) {
        return config_daemon_cache_root("worker", ret);
}

static const ConfigValueDef worker_values[] = {
        {
                .name = "local",
                .type = CONFIG_VALUE_BOOL,
                .default_value = "false",
                .help = "Run as a client's transient local worker, serving it on the connected socket "
                        "inherited as file descriptor 3",
                .flags = CONFIG_CLI_ONLY,
        },
        {
                .name = "cache-root",
                .type = CONFIG_VALUE_STRING,
                .metavar = "PATH",
                .default_fn = default_cache_root,
                .default_doc = "$CACHE_DIRECTORY, else /var/cache/maelstrom/worker as root, else "
                               "$XDG_CACHE_HOME/maelstrom/worker",
                .help = "Directory of the worker's cache of blobs and layers",
        },
        {
                .name = "instance",
                .type = CONFIG_VALUE_STRING,
                .metavar = "NAME",
                .help = "Name of this worker among several on one host (maelstrom-worker@NAME.service): its "
                        "D-Bus name is org.maelstrom.Worker1.NAME; unset = org.maelstrom.Worker1",
        },
        {
                .name = "seccomp",
                .type = CONFIG_VALUE_STRING,
                .metavar = "FILTER",
                .default_value = "default",
                .choices = seccomp_kinds,
                .help = "The seccomp filter of the jobs: default (deny what jobs never need) or none",
        },
        {},
};

static const ConfigValueDef *const worker_value_sets[] = {
        config_values_common,
        config_values_daemon,
        config_values_broker_address,
        config_values_worker_limits,
        config_values_cache_size,
        worker_values,
        NULL,
};

const ConfigProgram worker_program = {
        .name = "maelstrom-worker",
        .dir_name = "worker",
        .env_prefix = "MAELSTROM_WORKER_",
        .file_format = CONFIG_FILE_LIBCONFIG,
        .positional = CONFIG_POSITIONAL_NONE,
        .usage = "[OPTIONS]",
        .description = "Run jobs in containers, for the broker of a cluster (cluster mode) or for one "
                       "client (--local).",
        .value_sets = worker_value_sets,
};
