/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* Enum <-> string tables: `static const char *const foo_table[_FOO_MAX] = { [FOO_A] = "a", ... };` then
 * DEFINE_STRING_TABLE_LOOKUP(foo, Foo) gives foo_to_string() (NULL when out of range) and foo_from_string()
 * (-EINVAL when unknown). */

#include <stddef.h>

#include "basic/macro.h"

static inline const char *string_table_lookup_to_string(const char *const *table, size_t n, int i) {
        return i >= 0 && (size_t) i < n ? table[i] : NULL;
}

static inline int string_table_lookup_from_string(const char *const *table, size_t n, const char *s) {
        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (table[i] && streq(table[i], s))
                        return (int) i;
        return -EINVAL;
}

#define DEFINE_STRING_TABLE_LOOKUP_TO_STRING(name, type)                                        \
        const char *name##_to_string(type i) {                                                  \
                return string_table_lookup_to_string(name##_table, ELEMENTSOF(name##_table), i); \
        }
#define DEFINE_STRING_TABLE_LOOKUP_FROM_STRING(name, type)                                      \
        type name##_from_string(const char *s) {                                                \
                return (type) string_table_lookup_from_string(name##_table, ELEMENTSOF(name##_table), s); \
        }
#define DEFINE_STRING_TABLE_LOOKUP(name, type)                                                  \
        DEFINE_STRING_TABLE_LOOKUP_TO_STRING(name, type)                                        \
        DEFINE_STRING_TABLE_LOOKUP_FROM_STRING(name, type)
