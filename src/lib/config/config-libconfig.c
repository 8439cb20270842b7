/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/* The libconfig adapter: the only file that includes libconfig.h. */
#include <libconfig.h>
#include <stdio.h>
#include <sys/stat.h>

#include "basic/macro.h"
#include "basic/string-util.h"
#include "config/config-file.h"

static void config_destroyp(config_t **c) {
        if (*c)
                config_destroy(*c);
}

static const char *libconfig_type_name(int type) {
        switch (type) {
        case CONFIG_TYPE_GROUP:
                return "a group";
        case CONFIG_TYPE_INT:
        case CONFIG_TYPE_INT64:
                return "an integer";
        case CONFIG_TYPE_FLOAT:
                return "a float";
        case CONFIG_TYPE_STRING:
                return "a string";
        case CONFIG_TYPE_BOOL:
                return "a boolean";
        case CONFIG_TYPE_ARRAY:
                return "an array";
        case CONFIG_TYPE_LIST:
                return "a list";
        default:
                return "a value of unknown type";
        }
}

int config_file_read_libconfig(const char *path, ConfigFileValueFunc cb, void *userdata,
                               char **reterr_message) {
        config_t storage;
        _cleanup_(config_destroyp) config_t *cfg = NULL;
        struct stat st;
        int r;

        /* libconfig reports I/O errors without errno, so look at the file first. */
        if (stat(path, &st) < 0) {
                if (errno == ENOENT)
                        return -ENOENT;
                r = -errno;
                if (asprintf(reterr_message, "%s: cannot read configuration file: %s", path,
                             strerror(-r)) < 0)
                        *reterr_message = NULL;
                return r;
        }

        config_init(&storage);
        cfg = &storage;
        if (config_read_file(cfg, path) != CONFIG_TRUE) {
                if (config_error_type(cfg) == CONFIG_ERR_FILE_IO) {
                        if (asprintf(reterr_message, "%s: cannot read configuration file", path) < 0)
                                *reterr_message = NULL;
                        return -EIO;
                }
                if (asprintf(reterr_message, "%s:%d: %s", config_error_file(cfg) ?: path,
                             config_error_line(cfg), config_error_text(cfg)) < 0)
                        *reterr_message = NULL;
                return -EBADMSG;
        }

        config_setting_t *root = config_root_setting(cfg);
        int n = config_setting_length(root);
        for (int i = 0; i < n; i++) {
                config_setting_t *s = config_setting_get_elem(root, (unsigned) i);
                int type = config_setting_type(s);
                _cleanup_strv_free_ char **list = NULL;
                ConfigFileValue v = {
                        .path = config_setting_source_file(s) ?: path,
                        .key = config_setting_name(s),
                        .line = config_setting_source_line(s),
                        .kind = CONFIG_FILE_VALUE_OTHER,
                        .kind_name = libconfig_type_name(type),
                };

                switch (type) {
                case CONFIG_TYPE_INT:
                case CONFIG_TYPE_INT64:
                        v.kind = CONFIG_FILE_VALUE_INTEGER;
                        v.integer = config_setting_get_int64(s);
                        break;
                case CONFIG_TYPE_STRING:
                        v.kind = CONFIG_FILE_VALUE_STRING;
                        v.string = config_setting_get_string(s);
                        break;
                case CONFIG_TYPE_BOOL:
                        v.kind = CONFIG_FILE_VALUE_BOOL;
                        v.boolean = config_setting_get_bool(s);
                        break;
                case CONFIG_TYPE_ARRAY:
                case CONFIG_TYPE_LIST: {
                        int m = config_setting_length(s);
                        bool all_strings = true;

                        list = calloc(1, sizeof(char *));
                        if (!list)
                                return -ENOMEM;
                        for (int j = 0; j < m; j++) {
                                config_setting_t *e = config_setting_get_elem(s, (unsigned) j);
                                if (config_setting_type(e) != CONFIG_TYPE_STRING) {
                                        all_strings = false;
                                        break;
                                }
                                r = strv_extend(&list, config_setting_get_string(e));
                                if (r < 0)
                                        return r;
                        }
                        if (all_strings) {
                                v.kind = CONFIG_FILE_VALUE_STRING_LIST;
                                v.list = list;
                        } else
                                v.kind_name = "a list with elements that are not strings";
                        break;
                }
                default:
                        break;
                }

                r = cb(&v, userdata, reterr_message);
                if (r < 0)
                        return r;
        }

        return 0;
}
