/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* A complete TOML 1.0 parser.  The document becomes a tree of TomlValue; every key keeps the line and column
 * where it was written, so that callers can point users at the exact place of a bad setting. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/macro.h"

typedef enum TomlType {
        TOML_STRING,
        TOML_INTEGER,
        TOML_FLOAT,
        TOML_BOOL,
        TOML_DATETIME,       /* offset date-time */
        TOML_DATETIME_LOCAL, /* local date-time */
        TOML_DATE_LOCAL,
        TOML_TIME_LOCAL,
        TOML_ARRAY,
        TOML_TABLE,
        _TOML_TYPE_MAX,
        _TOML_TYPE_INVALID = -EINVAL,
} TomlType;

typedef struct TomlValue TomlValue;

typedef struct TomlKeyValue {
        char *key;           /* the last component of the key, unescaped, NUL-terminated */
        unsigned line, column; /* 1-based position of the key (for tables created by a header: of the
                                * header) */
        TomlValue *value;
        size_t key_len;      /* length of key: a quoted key may contain NUL bytes (from \u0000) */
} TomlKeyValue;

struct TomlValue {
        TomlType type;
        unsigned line, column; /* 1-based position where the value starts */
        union {
                struct {
                        char *data; /* NUL-terminated; may also contain NUL bytes (from \u0000) */
                        size_t len;
                } string;
                int64_t integer;
                double floating;
                bool boolean;
                /* Date/time types: the text normalised to RFC 3339 ('T' separator, upper-case 'T' and 'Z'),
                 * keeping the fractional seconds as written. */
                char *datetime;
                struct {
                        TomlValue **items;
                        size_t n;
                } array;
                struct {
                        TomlKeyValue *items; /* in the order the keys were defined */
                        size_t n;
                } table;
        };
};

typedef struct TomlError {
        unsigned line, column; /* 1-based; both 0 if the error has no position (file could not be read) */
        char message[256];
} TomlError;

/* Parse a whole document.  On failure returns -EBADMSG (syntax, semantics, or invalid UTF-8) or -ENOMEM,
 * and fills *reterr (if not NULL) with the position and a message. */
int toml_parse(const char *text, size_t size, TomlValue **ret, TomlError *reterr);
/* Reads the file with read_full_file(): errors from reading (e.g. -ENOENT, -E2BIG for files over 64 MiB) are
 * returned as they are, with a message saying that the file could not be read. */
int toml_parse_file(const char *path, TomlValue **ret, TomlError *reterr);

TomlValue *toml_value_free(TomlValue *v);
DEFINE_TRIVIAL_CLEANUP_FUNC(TomlValue *, toml_value_free);

/* Look up a key in a table (NULL if absent or v is not a table). */
const TomlKeyValue *toml_table_get(const TomlValue *table, const char *key);

const char *toml_type_to_string(TomlType t);
/* For messages: "a string", "an integer", "a local date-time", "a table", ... */
const char *toml_type_describe(TomlType t);
