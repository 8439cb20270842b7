/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* The configuration values that several programs share, each declared once here.  A program lists the sets
 * it has in its ConfigProgram, next to a set of its own values. */

#include "config/config.h"

/* Every program: log-level. */
extern const ConfigValueDef config_values_common[];
/* broker: the address of the broker (clients, admin, worker). */
extern const ConfigValueDef config_values_broker_address[];
/* The worker's job-running values: slots, inline-limit (worker, and clients for their local worker). */
extern const ConfigValueDef config_values_worker_limits[];
/* cache-size (clients for their local worker, worker, broker). */
extern const ConfigValueDef config_values_cache_size[];
/* Values of the clients that build containers: container-image-depot-root,
 * accept-invalid-remote-container-tls-certs. */
extern const ConfigValueDef config_values_client[];
/* The test runners' options and values: include, exclude, list-tests, init, watch, repeat, stop-after,
 * timeout, quiet, ui, junit, json-events. */
extern const ConfigValueDef config_values_test_runner[];
/* extra-test-binary-args, the main list of the runners that run test binaries (cargo, go). */
extern const ConfigValueDef config_values_test_binary_args[];
/* The daemons: bus. */
extern const ConfigValueDef config_values_daemon[];

/* The sets every client has (their own local worker included), and those every test runner has. */
#define CONFIG_VALUE_SETS_CLIENT                                                                        \
        config_values_common, config_values_broker_address, config_values_worker_limits,                \
                config_values_cache_size, config_values_client
#define CONFIG_VALUE_SETS_TEST_RUNNER CONFIG_VALUE_SETS_CLIENT, config_values_test_runner

/* Computed defaults. */
int config_default_slots(char **ret);             /* one per online CPU */
int config_default_image_depot_root(char **ret);  /* $XDG_CACHE_HOME/maelstrom/containers */
/* $XDG_CACHE_HOME (or ~/.cache) followed by suffix. */
int config_xdg_cache_path(const char *suffix, char **ret);
/* A daemon's cache directory: $CACHE_DIRECTORY (systemd's CacheDirectory=), else /var/cache/maelstrom/<name>
 * as root, else $XDG_CACHE_HOME/maelstrom/<name>. */
int config_daemon_cache_root(const char *name, char **ret);
