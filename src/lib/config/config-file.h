/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* Internal to the config module: the file readers hand each top-level setting of a file to the core as a
 * ConfigFileValue, which checks it against the value's definition. */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum ConfigFileValueKind {
        CONFIG_FILE_VALUE_STRING,
        CONFIG_FILE_VALUE_INTEGER,
        CONFIG_FILE_VALUE_BOOL,
        CONFIG_FILE_VALUE_STRING_LIST,
        CONFIG_FILE_VALUE_OTHER, /* anything we never accept: floats, tables, mixed lists, dates */
        _CONFIG_FILE_VALUE_KIND_MAX,
        _CONFIG_FILE_VALUE_KIND_INVALID = -EINVAL,
} ConfigFileValueKind;

typedef struct ConfigFileValue {
        const char *path;
        const char *key;
        unsigned line;
        ConfigFileValueKind kind;
        const char *kind_name; /* how the file's own syntax calls it, for messages: "a float", "a table" */
        const char *string;
        int64_t integer;
        bool boolean;
        char *const *list;
} ConfigFileValue;

typedef int (*ConfigFileValueFunc)(const ConfigFileValue *v, void *userdata, char **reterr_message);

/* Both return -ENOENT if the file does not exist (with no message), -EBADMSG with a message naming the file
 * and line for a syntax error, or what the callback returned. */
int config_file_read_toml(const char *path, ConfigFileValueFunc cb, void *userdata, char **reterr_message);
int config_file_read_libconfig(const char *path, ConfigFileValueFunc cb, void *userdata,
                               char **reterr_message);
