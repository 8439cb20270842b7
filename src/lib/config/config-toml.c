/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <stdio.h>

#include "basic/macro.h"
#include "basic/string-util.h"
#include "config/config-file.h"
#include "toml/toml.h"

int config_file_read_toml(const char *path, ConfigFileValueFunc cb, void *userdata, char **reterr_message) {
        _cleanup_(toml_value_freep) TomlValue *root = NULL;
        TomlError error = {};
        int r;

        r = toml_parse_file(path, &root, &error);
        if (r == -ENOENT)
                return r;
        if (r == -EBADMSG) {
                if (asprintf(reterr_message, "%s:%u:%u: %s", path, error.line, error.column,
                             error.message) < 0)
                        *reterr_message = NULL;
                return r;
        }
        if (r < 0) {
                if (asprintf(reterr_message, "%s: cannot read configuration file: %s", path,
                             strerror(-r)) < 0)
                        *reterr_message = NULL;
                return r;
        }

        for (size_t i = 0; i < root->table.n; i++) {
                const TomlKeyValue *kv = &root->table.items[i];
                const TomlValue *tv = kv->value;
                _cleanup_strv_free_ char **list = NULL;
                ConfigFileValue v = {
                        .path = path,
                        .key = kv->key,
                        .line = kv->line,
                        .kind = CONFIG_FILE_VALUE_OTHER,
                        .kind_name = toml_type_describe(tv->type),
                };

                switch (tv->type) {
                case TOML_STRING:
                        if (strlen(tv->string.data) != tv->string.len) {
                                v.kind_name = "a string containing a NUL character";
                                break;
                        }
                        v.kind = CONFIG_FILE_VALUE_STRING;
                        v.string = tv->string.data;
                        break;
                case TOML_INTEGER:
                        v.kind = CONFIG_FILE_VALUE_INTEGER;
                        v.integer = tv->integer;
                        break;
                case TOML_BOOL:
                        v.kind = CONFIG_FILE_VALUE_BOOL;
                        v.boolean = tv->boolean;
                        break;
                case TOML_ARRAY: {
                        bool all_strings = true;

                        list = calloc(1, sizeof(char *));
                        if (!list)
                                return -ENOMEM;
                        for (size_t j = 0; j < tv->array.n; j++) {
                                const TomlValue *e = tv->array.items[j];
                                if (e->type != TOML_STRING || strlen(e->string.data) != e->string.len) {
                                        all_strings = false;
                                        break;
                                }
                                r = strv_extend(&list, e->string.data);
                                if (r < 0)
                                        return r;
                        }
                        if (all_strings) {
                                v.kind = CONFIG_FILE_VALUE_STRING_LIST;
                                v.list = list;
                        } else
                                v.kind_name = "an array with elements that are not strings";
                        break;
                }
                case TOML_FLOAT:
                case TOML_DATETIME:
                case TOML_DATETIME_LOCAL:
                case TOML_DATE_LOCAL:
                case TOML_TIME_LOCAL:
                case TOML_TABLE:
                case _TOML_TYPE_MAX:
                case _TOML_TYPE_INVALID:
                        break;
                }

                r = cb(&v, userdata, reterr_message);
                if (r < 0)
                        return r;
        }

        return 0;
}
