/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "basic/string-util.h"
#include "spec/spec-decode.h"

/* Field paths in messages ("layers[1].glob") fit SpecError.field; longer ones are cut. */
#define FIELD_PATH_MAX sizeof(((SpecError *) NULL)->field)

static const char *const spec_field_table[_SPEC_FIELD_MAX] = {
        [SPEC_FIELD_IMAGE] = "image",
        [SPEC_FIELD_PARENT] = "parent",
        [SPEC_FIELD_LAYERS] = "layers",
        [SPEC_FIELD_ADDED_LAYERS] = "added_layers",
        [SPEC_FIELD_ENVIRONMENT] = "environment",
        [SPEC_FIELD_ADDED_ENVIRONMENT] = "added_environment",
        [SPEC_FIELD_MOUNTS] = "mounts",
        [SPEC_FIELD_ADDED_MOUNTS] = "added_mounts",
        [SPEC_FIELD_NETWORK] = "network",
        [SPEC_FIELD_ENABLE_WRITABLE_FILE_SYSTEM] = "enable_writable_file_system",
        [SPEC_FIELD_WORKING_DIRECTORY] = "working_directory",
        [SPEC_FIELD_USER] = "user",
        [SPEC_FIELD_GROUP] = "group",
        [SPEC_FIELD_PROGRAM] = "program",
        [SPEC_FIELD_ARGUMENTS] = "arguments",
        [SPEC_FIELD_TIMEOUT] = "timeout",
        [SPEC_FIELD_PRIORITY] = "priority",
};

const char *spec_field_to_string(SpecField f) {
        return f >= 0 && f < _SPEC_FIELD_MAX ? spec_field_table[f] : NULL;
}

SpecField spec_field_from_string(const char *s) {
        for (size_t i = 0; s && i < _SPEC_FIELD_MAX; i++)
                if (streq(spec_field_table[i], s))
                        return (SpecField) i;
        return _SPEC_FIELD_INVALID;
}

/* ---- values ---- */

static const char *type_name(const TomlValue *v, SpecSyntax syntax) {
        bool json = syntax == SPEC_SYNTAX_JSON;

        switch (v->type) {
        case TOML_STRING:
                return "a string";
        case TOML_INTEGER:
                return json ? "a number" : "an integer";
        case TOML_FLOAT:
                return json ? "a number" : "a float";
        case TOML_BOOL:
                return "a boolean";
        case TOML_DATETIME:
        case TOML_DATETIME_LOCAL:
        case TOML_DATE_LOCAL:
        case TOML_TIME_LOCAL:
                return "a date or time";
        case TOML_ARRAY:
                return "an array";
        case TOML_TABLE:
                return json ? "an object" : "a table";
        case _TOML_TYPE_MAX:
        case _TOML_TYPE_INVALID:
                break;
        }
        return "a value";
}

static const char *object_word(SpecSyntax syntax) {
        return syntax == SPEC_SYNTAX_JSON ? "an object" : "a table";
}

static int type_error(SpecError *e, const char *path, const TomlValue *v, SpecSyntax syntax,
                      const char *expected) {
        return spec_error_set(e, EINVAL, path, v->line, v->column, "field '%s': expected %s, got %s", path,
                              expected, type_name(v, syntax));
}

static int value_error(SpecError *e, const char *path, const TomlValue *v, const char *what) {
        return spec_error_set(e, EINVAL, path, v->line, v->column, "field '%s': %s", path, what);
}

/* Field paths are for messages: cutting a long one short is fine. */
_printf_(2, 3) static void format_path(char *buf, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        (void) vsnprintf(buf, FIELD_PATH_MAX, format, ap);
        va_end(ap);
}

static int unknown_field(SpecError *e, const char *path, const TomlKeyValue *kv) {
        char sub[FIELD_PATH_MAX];

        format_path(sub, "%s%s%s", strempty(path), isempty(path) ? "" : ".", kv->key);
        return spec_error_set(e, EINVAL, sub, kv->line, kv->column, "unknown field '%s'", sub);
}

static int missing_field(SpecError *e, const char *path, const TomlValue *table, const char *key) {
        char sub[FIELD_PATH_MAX];

        format_path(sub, "%s%s%s", strempty(path), isempty(path) ? "" : ".", key);
        if (isempty(path))
                return spec_error_set(e, EINVAL, sub, table->line, table->column, "missing field '%s'", key);
        return spec_error_set(e, EINVAL, sub, table->line, table->column, "field '%s': missing field '%s'",
                              path, key);
}

static void sub_path_key(char *buf, const char *path, const char *key) {
        format_path(buf, "%s.%s", path, key);
}

static void sub_path_index(char *buf, const char *path, size_t i) {
        format_path(buf, "%s[%zu]", path, i);
}

typedef enum StringCheck {
        STRING_NON_EMPTY = 1 << 0,
        STRING_ABSOLUTE = 1 << 1, /* starts with '/' (implies non-empty) */
        STRING_NOT_ROOT = 1 << 2, /* does not name "/" */
} StringCheck;

/* Whether an absolute path names the root: only "", "." and ".." components that never go below it. */
static bool path_is_root(const char *p) {
        size_t depth = 0;

        for (;;) {
                p += strspn(p, "/");
                if (!*p)
                        return depth == 0;
                size_t n = strcspn(p, "/");
                if (n == 2 && strneq(p, "..", 2))
                        depth = depth > 0 ? depth - 1 : 0;
                else if (!(n == 1 && p[0] == '.'))
                        depth++;
                p += n;
        }
}

static int check_string(const TomlValue *v, const char *path, SpecSyntax syntax, StringCheck check,
                        SpecError *e) {
        if (v->type != TOML_STRING)
                return type_error(e, path, v, syntax,
                                  check & STRING_ABSOLUTE ? "an absolute path" : "a string");
        if (memchr(v->string.data, 0, v->string.len))
                return value_error(e, path, v, "contains a NUL character");
        if ((check & (STRING_NON_EMPTY | STRING_ABSOLUTE)) && v->string.len == 0)
                return value_error(e, path, v, "must not be empty");
        if ((check & STRING_ABSOLUTE) && v->string.data[0] != '/')
                return spec_error_set(e, EINVAL, path, v->line, v->column,
                                      "field '%s': expected an absolute path, got '%.64s'", path,
                                      v->string.data);
        if ((check & STRING_NOT_ROOT) && path_is_root(v->string.data))
                return value_error(e, path, v, "cannot be the root directory");
        return 0;
}

static int decode_string(const TomlValue *v, const char *path, SpecSyntax syntax, StringCheck check,
                         char **ret, SpecError *e) {
        int r = check_string(v, path, syntax, check, e);
        if (r < 0)
                return r;
        char *s = strdup(v->string.data);
        if (!s)
                return -ENOMEM;
        free(*ret);
        *ret = s;
        return 0;
}

static int decode_string_array(const TomlValue *v, const char *path, SpecSyntax syntax, StringCheck check,
                               char ***ret, SpecError *e) {
        char sub[FIELD_PATH_MAX];
        int r;

        if (v->type != TOML_ARRAY)
                return type_error(e, path, v, syntax, "an array of strings");

        _cleanup_strv_free_ char **l = calloc(v->array.n + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < v->array.n; i++) {
                sub_path_index(sub, path, i);
                r = decode_string(v->array.items[i], sub, syntax, check, &l[i], e);
                if (r < 0)
                        return r;
        }
        strv_free(*ret);
        *ret = TAKE_PTR(l);
        return 0;
}

static int decode_bool(const TomlValue *v, const char *path, SpecSyntax syntax, bool *ret, SpecError *e) {
        if (v->type != TOML_BOOL)
                return type_error(e, path, v, syntax, "a boolean");
        *ret = v->boolean;
        return 0;
}

/* An integer in [min, max]. */
static int decode_integer(const TomlValue *v, const char *path, SpecSyntax syntax, int64_t min, int64_t max,
                          int64_t *ret, SpecError *e) {
        char expected[96];

        snprintf(expected, sizeof(expected), "an integer from %" PRIi64 " to %" PRIi64, min, max);
        if (v->type != TOML_INTEGER)
                return type_error(e, path, v, syntax, expected);
        if (v->integer < min || v->integer > max)
                return spec_error_set(e, EINVAL, path, v->line, v->column,
                                      "field '%s': expected %s, got %" PRIi64, path, expected, v->integer);
        *ret = v->integer;
        return 0;
}

/* uid_t/gid_t: (uid_t) -1 means "no change" to the kernel, so it is not a valid id. */
static int decode_id(const TomlValue *v, const char *path, SpecSyntax syntax, uint32_t *ret, SpecError *e) {
        int64_t i;
        int r = decode_integer(v, path, syntax, 0, (int64_t) UINT32_MAX - 1, &i, e);
        if (r < 0)
                return r;
        *ret = (uint32_t) i;
        return 0;
}

static int decode_timeout(const TomlValue *v, const char *path, SpecSyntax syntax, usec_t *ret,
                          SpecError *e) {
        double d;

        if (v->type == TOML_INTEGER)
                d = (double) v->integer;
        else if (v->type == TOML_FLOAT)
                d = v->floating;
        else
                return type_error(e, path, v, syntax, "a non-negative number");

        if (!(d >= 0)) /* also NaN */
                return spec_error_set(e, EINVAL, path, v->line, v->column,
                                      "field '%s': expected a non-negative number, got %.15g", path, d);
        if (d > SPEC_TIMEOUT_MAX_SEC)
                return spec_error_set(e, EINVAL, path, v->line, v->column,
                                      "field '%s': expected at most %" PRIu32 " seconds, got %.15g", path,
                                      (uint32_t) SPEC_TIMEOUT_MAX_SEC, d);
        /* Round up, so that a tiny timeout does not become 0 = none. */
        double x = d * (double) USEC_PER_SEC;
        usec_t u = (usec_t) x;
        *ret = (double) u < x ? u + 1 : u;
        return 0;
}

/* Append n_more elements of size bytes to *array (of *n); on failure nothing changes and more is untouched.
 */
static int array_append(void **array, size_t *n, const void *more, size_t n_more, size_t size) {
        if (n_more == 0)
                return 0;
        void *a = reallocarray(*array, *n + n_more, size);
        if (!a)
                return -ENOMEM;
        memcpy((char *) a + *n * size, more, n_more * size);
        *array = a;
        *n += n_more;
        return 0;
}

typedef int (*DecodeElementFunc)(const TomlValue *v, const char *path, SpecSyntax syntax, void *ret,
                                 SpecError *e);

/* An array whose elements decode into n structs of size bytes; *ret is never NULL on success. */
static int decode_array_of(const TomlValue *v, const char *path, SpecSyntax syntax, const char *expected,
                           size_t size, DecodeElementFunc decode, void (*free_list)(void *a, size_t n),
                           void **ret, size_t *ret_n, SpecError *e) {
        char sub[FIELD_PATH_MAX];

        if (v->type != TOML_ARRAY)
                return type_error(e, path, v, syntax, expected);

        void *a = calloc(MAX(v->array.n, (size_t) 1), size);
        if (!a)
                return -ENOMEM;
        for (size_t i = 0; i < v->array.n; i++) {
                sub_path_index(sub, path, i);
                int r = decode(v->array.items[i], sub, syntax, (char *) a + i * size, e);
                if (r < 0) {
                        free_list(a, v->array.n);
                        return r;
                }
        }
        *ret = a;
        *ret_n = v->array.n;
        return 0;
}

static void free_layers(void *a, size_t n) {
        layer_specs_free(a, n);
}

static void free_environment(void *a, size_t n) {
        environment_specs_free(a, n);
}

static void free_mounts(void *a, size_t n) {
        job_mounts_free(a, n);
}

/* ---- parent ---- */

/* An array of names, each standing for a bit: lookup() gives the bit, or < 0 for an unknown name; a known
 * name outside allowed is refused with "'x' <refusal>". */
static int decode_name_set(const TomlValue *v, const char *path, SpecSyntax syntax, const char *noun,
                           int (*lookup)(const char *name), unsigned allowed, const char *refusal,
                           const char *expected, unsigned *ret, SpecError *e) {
        char sub[FIELD_PATH_MAX], what[64];
        unsigned bits = 0;

        snprintf(what, sizeof(what), "an array of %s names", noun);
        if (v->type != TOML_ARRAY)
                return type_error(e, path, v, syntax, what);
        for (size_t i = 0; i < v->array.n; i++) {
                const TomlValue *item = v->array.items[i];

                sub_path_index(sub, path, i);
                int r = check_string(item, sub, syntax, 0, e);
                if (r < 0)
                        return r;
                int bit = lookup(item->string.data);
                if (bit < 0)
                        return spec_error_set(e, EINVAL, sub, item->line, item->column,
                                              "field '%s': unknown %s '%.64s' (expected %s)", sub, noun,
                                              item->string.data, expected);
                if (!((unsigned) bit & allowed))
                        return spec_error_set(e, EINVAL, sub, item->line, item->column,
                                              "field '%s': '%s' %s (expected %s)", sub, item->string.data,
                                              refusal, expected);
                bits |= (unsigned) bit;
        }
        *ret = bits;
        return 0;
}

static int decode_use(const TomlValue *v, const char *path, SpecSyntax syntax, bool is_image, unsigned *ret,
                      SpecError *e) {
        if (is_image)
                return decode_name_set(v, path, syntax, "field", container_use_from_string, USE_IMAGE_ALL,
                                       "cannot be taken from an image",
                                       "layers, environment or working_directory", ret, e);
        return decode_name_set(v, path, syntax, "field", container_use_from_string, USE_CONTAINER_ALL,
                               /* refusal= */ NULL,
                               "layers, enable_writable_file_system, environment, working_directory, "
                               "mounts, network, user or group", ret, e);
}

static int decode_parent(const TomlValue *v, const char *path, SpecSyntax syntax, bool is_image,
                         ContainerParent **ret, SpecError *e) {
        _cleanup_(container_parent_freep) ContainerParent *p = NULL;
        char sub[FIELD_PATH_MAX];
        const TomlValue *name = NULL;
        int r;

        p = calloc(1, sizeof(ContainerParent));
        if (!p)
                return -ENOMEM;
        p->is_image = is_image;
        p->use = is_image ? USE_IMAGE_ALL : USE_CONTAINER_ALL;

        if (v->type == TOML_STRING)
                name = v;
        else if (v->type == TOML_TABLE) {
                for (size_t i = 0; i < v->table.n; i++) {
                        const TomlKeyValue *kv = &v->table.items[i];

                        sub_path_key(sub, path, kv->key);
                        if (streq(kv->key, "name"))
                                name = kv->value;
                        else if (streq(kv->key, "use")) {
                                r = decode_use(kv->value, sub, syntax, is_image, &p->use, e);
                                if (r < 0)
                                        return r;
                        } else
                                return unknown_field(e, path, kv);
                }
                if (!name)
                        return missing_field(e, path, v, "name");
        } else {
                char expected[64];
                snprintf(expected, sizeof(expected), "a string or %s", object_word(syntax));
                return type_error(e, path, v, syntax, expected);
        }

        if (name != v)
                sub_path_key(sub, path, "name");
        r = decode_string(name, name == v ? path : sub, syntax, STRING_NON_EMPTY, &p->name, e);
        if (r < 0)
                return r;

        container_parent_free(*ret);
        *ret = TAKE_PTR(p);
        return 0;
}

/* ---- layers ---- */

static bool layer_kind_has_prefix_options(LayerKind k) {
        return IN_SET(k, LAYER_GLOB, LAYER_PATHS, LAYER_SHARED_LIBRARY_DEPENDENCIES);
}

static int decode_symlinks(const TomlValue *v, const char *path, SpecSyntax syntax, LayerSpec *l,
                           SpecError *e) {
        char sub[FIELD_PATH_MAX], sub2[FIELD_PATH_MAX];
        int r;

        if (v->type != TOML_ARRAY)
                return type_error(e, path, v, syntax, "an array");
        l->symlinks = calloc(MAX(v->array.n, 1u), sizeof(SymlinkSpec));
        if (!l->symlinks)
                return -ENOMEM;
        l->n_symlinks = v->array.n;

        for (size_t i = 0; i < v->array.n; i++) {
                const TomlValue *item = v->array.items[i];
                SymlinkSpec *s = &l->symlinks[i];

                sub_path_index(sub, path, i);
                if (item->type != TOML_TABLE)
                        return type_error(e, sub, item, syntax, object_word(syntax));
                for (size_t j = 0; j < item->table.n; j++) {
                        const TomlKeyValue *kv = &item->table.items[j];

                        sub_path_key(sub2, sub, kv->key);
                        if (streq(kv->key, "link"))
                                r = decode_string(kv->value, sub2, syntax, STRING_ABSOLUTE | STRING_NOT_ROOT,
                                                  &s->link, e);
                        else if (streq(kv->key, "target"))
                                r = decode_string(kv->value, sub2, syntax, STRING_NON_EMPTY, &s->target, e);
                        else
                                r = unknown_field(e, sub, kv);
                        if (r < 0)
                                return r;
                }
                if (!s->link)
                        return missing_field(e, sub, item, "link");
                if (!s->target)
                        return missing_field(e, sub, item, "target");
        }
        return 0;
}

static int decode_layer_kind(const TomlValue *v, const char *path, SpecSyntax syntax, LayerSpec *l,
                             SpecError *e) {
        switch (l->kind) {
        case LAYER_TAR:
        case LAYER_GLOB:
                return decode_string(v, path, syntax, STRING_NON_EMPTY, &l->path, e);
        case LAYER_PATHS:
        case LAYER_SHARED_LIBRARY_DEPENDENCIES:
                return decode_string_array(v, path, syntax, STRING_NON_EMPTY, &l->paths, e);
        case LAYER_STUBS:
                return decode_string_array(v, path, syntax, STRING_ABSOLUTE, &l->paths, e);
        case LAYER_SYMLINKS:
                return decode_symlinks(v, path, syntax, l, e);
        case _LAYER_KIND_MAX:
        case _LAYER_KIND_INVALID:
                break;
        }
        return -EINVAL;
}

static bool is_prefix_option(const char *key) {
        return streq(key, "follow_symlinks") || streq(key, "canonicalize") || streq(key, "strip_prefix") ||
                streq(key, "prepend_prefix");
}

static int decode_layer(const TomlValue *v, const char *path, SpecSyntax syntax, void *ret, SpecError *e) {
        _cleanup_(layer_spec_done) LayerSpec l = { .kind = _LAYER_KIND_INVALID };
        const TomlKeyValue *kind_kv = NULL;
        char sub[FIELD_PATH_MAX];
        int r;

        if (v->type != TOML_TABLE)
                return type_error(e, path, v, syntax, object_word(syntax));

        /* First the kind, wherever it is written, so that the other keys can be checked against it. */
        for (size_t i = 0; i < v->table.n; i++) {
                const TomlKeyValue *kv = &v->table.items[i];
                LayerKind k = layer_kind_from_string(kv->key);

                if (k < 0)
                        continue;
                if (kind_kv) {
                        sub_path_key(sub, path, kv->key);
                        return spec_error_set(e, EINVAL, sub, kv->line, kv->column,
                                              "field '%s': a layer has only one of tar, glob, paths, stubs, "
                                              "symlinks and shared-library-dependencies, but '%s' follows "
                                              "'%s'", path, kv->key, kind_kv->key);
                }
                kind_kv = kv;
                l.kind = k;
        }
        if (!kind_kv)
                return spec_error_set(e, EINVAL, path, v->line, v->column,
                                      "field '%s': expected one of tar, glob, paths, stubs, symlinks or "
                                      "shared-library-dependencies", path);

        for (size_t i = 0; i < v->table.n; i++) {
                const TomlKeyValue *kv = &v->table.items[i];
                sub_path_key(sub, path, kv->key);
                if (kv == kind_kv)
                        r = decode_layer_kind(kv->value, sub, syntax, &l, e);
                else if (!is_prefix_option(kv->key))
                        r = unknown_field(e, path, kv);
                else if (!layer_kind_has_prefix_options(l.kind))
                        r = spec_error_set(e, EINVAL, sub, kv->line, kv->column,
                                           "field '%s': not allowed in a '%s' layer", sub, kind_kv->key);
                else if (streq(kv->key, "follow_symlinks"))
                        r = decode_bool(kv->value, sub, syntax, &l.prefix.follow_symlinks, e);
                else if (streq(kv->key, "canonicalize"))
                        r = decode_bool(kv->value, sub, syntax, &l.prefix.canonicalize, e);
                else if (streq(kv->key, "strip_prefix"))
                        r = decode_string(kv->value, sub, syntax, 0, &l.prefix.strip_prefix, e);
                else
                        r = decode_string(kv->value, sub, syntax, 0, &l.prefix.prepend_prefix, e);
                if (r < 0)
                        return r;
        }

        *(LayerSpec *) ret = l;
        l = (LayerSpec) {};
        return 0;
}

/* ---- environment ---- */

static int decode_vars(const TomlValue *v, const char *path, SpecSyntax syntax, char ***ret, SpecError *e) {
        char sub[FIELD_PATH_MAX];
        int r;

        if (v->type != TOML_TABLE)
                return type_error(e, path, v, syntax, object_word(syntax));

        _cleanup_strv_free_ char **l = calloc(v->table.n + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < v->table.n; i++) {
                const TomlKeyValue *kv = &v->table.items[i];

                sub_path_key(sub, path, kv->key);
                if (kv->key_len == 0 || kv->key_len != strlen(kv->key) || strchr(kv->key, '='))
                        return spec_error_set(e, EINVAL, sub, kv->line, kv->column,
                                              "field '%s': invalid variable name '%.64s'", path, kv->key);
                r = check_string(kv->value, sub, syntax, 0, e);
                if (r < 0)
                        return r;
                l[i] = strjoin(kv->key, "=", kv->value->string.data);
                if (!l[i])
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static int decode_environment_element(const TomlValue *v, const char *path, SpecSyntax syntax, void *ret,
                                      SpecError *e) {
        _cleanup_(environment_spec_done) EnvironmentSpec env = {};
        char sub[FIELD_PATH_MAX];
        int r;

        if (v->type != TOML_TABLE)
                return type_error(e, path, v, syntax, object_word(syntax));
        for (size_t i = 0; i < v->table.n; i++) {
                const TomlKeyValue *kv = &v->table.items[i];

                sub_path_key(sub, path, kv->key);
                if (streq(kv->key, "vars")) {
                        env.vars = strv_free(env.vars);
                        r = decode_vars(kv->value, sub, syntax, &env.vars, e);
                } else if (streq(kv->key, "extend"))
                        r = decode_bool(kv->value, sub, syntax, &env.extend, e);
                else
                        r = unknown_field(e, path, kv);
                if (r < 0)
                        return r;
        }
        if (!env.vars)
                return missing_field(e, path, v, "vars");

        *(EnvironmentSpec *) ret = env;
        env = (EnvironmentSpec) {};
        return 0;
}

static int decode_environment(const TomlValue *v, const char *path, SpecSyntax syntax, void **ret,
                              size_t *ret_n, SpecError *e) {
        char expected[64];
        int r;

        if (v->type == TOML_TABLE) {
                /* The map form: one element that replaces. */
                EnvironmentSpec *env = calloc(1, sizeof(EnvironmentSpec));
                if (!env)
                        return -ENOMEM;
                r = decode_vars(v, path, syntax, &env->vars, e);
                if (r < 0) {
                        environment_specs_free(env, 1);
                        return r;
                }
                *ret = env;
                *ret_n = 1;
                return 0;
        }
        snprintf(expected, sizeof(expected), "%s or an array", object_word(syntax));
        return decode_array_of(v, path, syntax, expected, sizeof(EnvironmentSpec),
                               decode_environment_element, free_environment, ret, ret_n, e);
}

/* ---- mounts ---- */

static int device_bit(const char *name) {
        Device d = device_from_string(name);
        return d < 0 ? d : 1 << d;
}

static int decode_devices(const TomlValue *v, const char *path, SpecSyntax syntax, unsigned *ret,
                          SpecError *e) {
        return decode_name_set(v, path, syntax, "device", device_bit, (1U << _DEVICE_MAX) - 1,
                               /* refusal= */ NULL, "full, fuse, null, random, shm, tty, urandom or zero",
                               ret, e);
}

static int decode_mount(const TomlValue *v, const char *path, SpecSyntax syntax, void *ret, SpecError *e) {
        _cleanup_(job_mount_done) JobMount m = { .type = _MOUNT_TYPE_INVALID };
        const TomlKeyValue *type_kv;
        bool have_devices = false;
        char sub[FIELD_PATH_MAX];
        int r;

        if (v->type != TOML_TABLE)
                return type_error(e, path, v, syntax, object_word(syntax));

        type_kv = toml_table_get(v, "type");
        if (!type_kv)
                return missing_field(e, path, v, "type");
        sub_path_key(sub, path, "type");
        r = check_string(type_kv->value, sub, syntax, 0, e);
        if (r < 0)
                return r;
        m.type = mount_type_from_string(type_kv->value->string.data);
        if (m.type < 0)
                return spec_error_set(e, EINVAL, sub, type_kv->value->line, type_kv->value->column,
                                      "field '%s': unknown mount type '%.64s' (expected tmp, proc, sys, "
                                      "devpts, mqueue, bind or devices)", sub, type_kv->value->string.data);

        for (size_t i = 0; i < v->table.n; i++) {
                const TomlKeyValue *kv = &v->table.items[i];
                bool allowed;

                if (kv == type_kv)
                        continue;
                sub_path_key(sub, path, kv->key);
                if (streq(kv->key, "mount_point"))
                        allowed = m.type != MOUNT_DEVICES;
                else if (streq(kv->key, "local_path") || streq(kv->key, "read_only"))
                        allowed = m.type == MOUNT_BIND;
                else if (streq(kv->key, "devices"))
                        allowed = m.type == MOUNT_DEVICES;
                else
                        return unknown_field(e, path, kv);
                if (!allowed)
                        return spec_error_set(e, EINVAL, sub, kv->line, kv->column,
                                              "field '%s': not allowed in a '%s' mount", sub,
                                              mount_type_to_string(m.type));

                if (streq(kv->key, "mount_point"))
                        r = decode_string(kv->value, sub, syntax, STRING_ABSOLUTE | STRING_NOT_ROOT,
                                          &m.mount_point, e);
                else if (streq(kv->key, "local_path"))
                        r = decode_string(kv->value, sub, syntax, STRING_NON_EMPTY, &m.local_path, e);
                else if (streq(kv->key, "read_only"))
                        r = decode_bool(kv->value, sub, syntax, &m.read_only, e);
                else {
                        r = decode_devices(kv->value, sub, syntax, &m.devices, e);
                        have_devices = true;
                }
                if (r < 0)
                        return r;
        }

        if (m.type != MOUNT_DEVICES && !m.mount_point)
                return missing_field(e, path, v, "mount_point");
        if (m.type == MOUNT_BIND && !m.local_path)
                return missing_field(e, path, v, "local_path");
        if (m.type == MOUNT_DEVICES && !have_devices)
                return missing_field(e, path, v, "devices");

        *(JobMount *) ret = m;
        m = (JobMount) {};
        return 0;
}

/* ---- fields ---- */

/* Store a decoded list (a, n elements of size bytes, taken) in a field: with set, it replaces *list and
 * marks it set; without, it is appended to *list (an added_* list). */
static int list_store(void **list, size_t *n_list, bool *set, void *a, size_t n, size_t size,
                      void (*free_list)(void *a, size_t n)) {
        int r;

        if (set) {
                free_list(*list, *n_list);
                *list = a;
                *n_list = n;
                *set = true;
                return 0;
        }
        r = array_append(list, n_list, a, n, size);
        if (r < 0) {
                free_list(a, n);
                return r;
        }
        free(a);
        return 0;
}

int container_spec_decode_field(ContainerSpec *c, SpecField field, const TomlValue *v, SpecSyntax syntax,
                                SpecError *reterr) {
        const char *path = spec_field_to_string(field);
        void *list = NULL;
        size_t n = 0;
        Network network;
        uint32_t id;
        int r;

        switch (field) {
        case SPEC_FIELD_IMAGE:
        case SPEC_FIELD_PARENT:
                return decode_parent(v, path, syntax, field == SPEC_FIELD_IMAGE, &c->parent, reterr);

        case SPEC_FIELD_LAYERS:
        case SPEC_FIELD_ADDED_LAYERS:
                r = decode_array_of(v, path, syntax, "an array of layers", sizeof(LayerSpec), decode_layer,
                                    free_layers, &list, &n, reterr);
                if (r < 0)
                        return r;
                if (field == SPEC_FIELD_LAYERS)
                        return list_store((void **) &c->layers, &c->n_layers, &c->layers_set, list, n,
                                          sizeof(LayerSpec), free_layers);
                return list_store((void **) &c->added_layers, &c->n_added_layers, /* set= */ NULL, list, n,
                                  sizeof(LayerSpec), free_layers);

        case SPEC_FIELD_ENVIRONMENT:
        case SPEC_FIELD_ADDED_ENVIRONMENT:
                r = decode_environment(v, path, syntax, &list, &n, reterr);
                if (r < 0)
                        return r;
                if (field == SPEC_FIELD_ENVIRONMENT)
                        return list_store((void **) &c->environment, &c->n_environment, &c->environment_set,
                                          list, n, sizeof(EnvironmentSpec), free_environment);
                return list_store((void **) &c->added_environment, &c->n_added_environment, /* set= */ NULL,
                                  list, n, sizeof(EnvironmentSpec), free_environment);

        case SPEC_FIELD_MOUNTS:
        case SPEC_FIELD_ADDED_MOUNTS:
                r = decode_array_of(v, path, syntax, "an array of mounts", sizeof(JobMount), decode_mount,
                                    free_mounts, &list, &n, reterr);
                if (r < 0)
                        return r;
                if (field == SPEC_FIELD_MOUNTS)
                        return list_store((void **) &c->mounts, &c->n_mounts, &c->mounts_set, list, n,
                                          sizeof(JobMount), free_mounts);
                return list_store((void **) &c->added_mounts, &c->n_added_mounts, /* set= */ NULL, list, n,
                                  sizeof(JobMount), free_mounts);

        case SPEC_FIELD_NETWORK:
                r = check_string(v, path, syntax, 0, reterr);
                if (r < 0)
                        return r;
                network = network_from_string(v->string.data);
                if (network < 0)
                        return spec_error_set(reterr, EINVAL, path, v->line, v->column,
                                              "field '%s': unknown network '%.64s' (expected disabled, "
                                              "loopback or local)", path, v->string.data);
                c->network = network;
                c->network_set = true;
                return 0;

        case SPEC_FIELD_ENABLE_WRITABLE_FILE_SYSTEM:
                r = decode_bool(v, path, syntax, &c->enable_writable_file_system, reterr);
                if (r < 0)
                        return r;
                c->enable_writable_file_system_set = true;
                return 0;

        case SPEC_FIELD_WORKING_DIRECTORY:
                return decode_string(v, path, syntax, STRING_ABSOLUTE, &c->working_directory, reterr);

        case SPEC_FIELD_USER:
        case SPEC_FIELD_GROUP:
                r = decode_id(v, path, syntax, &id, reterr);
                if (r < 0)
                        return r;
                if (field == SPEC_FIELD_USER) {
                        c->user = id;
                        c->user_set = true;
                } else {
                        c->group = id;
                        c->group_set = true;
                }
                return 0;

        case SPEC_FIELD_PROGRAM:
        case SPEC_FIELD_ARGUMENTS:
        case SPEC_FIELD_TIMEOUT:
        case SPEC_FIELD_PRIORITY:
        case _SPEC_FIELD_MAX:
        case _SPEC_FIELD_INVALID:
                break;
        }
        return -EINVAL; /* not a container field: a programming error of the caller */
}

int job_spec_decode_field(JobSpec *j, SpecField field, const TomlValue *v, SpecSyntax syntax,
                          SpecError *reterr) {
        const char *path = spec_field_to_string(field);
        int64_t i;
        int r;

        if (spec_field_is_container(field))
                return container_spec_decode_field(&j->container, field, v, syntax, reterr);

        switch (field) {
        case SPEC_FIELD_PROGRAM:
                return decode_string(v, path, syntax, STRING_NON_EMPTY, &j->program, reterr);
        case SPEC_FIELD_ARGUMENTS:
                return decode_string_array(v, path, syntax, 0, &j->arguments, reterr);
        case SPEC_FIELD_TIMEOUT:
                return decode_timeout(v, path, syntax, &j->timeout, reterr);
        case SPEC_FIELD_PRIORITY:
                r = decode_integer(v, path, syntax, INT8_MIN, INT8_MAX, &i, reterr);
                if (r < 0)
                        return r;
                j->priority = (int8_t) i;
                return 0;
        case SPEC_FIELD_IMAGE:
        case SPEC_FIELD_PARENT:
        case SPEC_FIELD_LAYERS:
        case SPEC_FIELD_ADDED_LAYERS:
        case SPEC_FIELD_ENVIRONMENT:
        case SPEC_FIELD_ADDED_ENVIRONMENT:
        case SPEC_FIELD_MOUNTS:
        case SPEC_FIELD_ADDED_MOUNTS:
        case SPEC_FIELD_NETWORK:
        case SPEC_FIELD_ENABLE_WRITABLE_FILE_SYSTEM:
        case SPEC_FIELD_WORKING_DIRECTORY:
        case SPEC_FIELD_USER:
        case SPEC_FIELD_GROUP:
        case _SPEC_FIELD_MAX:
        case _SPEC_FIELD_INVALID:
                break;
        }
        return -EINVAL;
}

/* ---- whole objects ---- */

static int conflict(SpecError *e, const TomlKeyValue *kv, const char *what) {
        return spec_error_set(e, EINVAL, kv->key, kv->line, kv->column, "field '%s': %s", kv->key, what);
}

static int expect_object(const TomlValue *v, SpecSyntax syntax, const char *what, SpecError *e) {
        if (v->type == TOML_TABLE)
                return 0;
        return spec_error_set(e, EINVAL, /* field= */ NULL, v->line, v->column, "expected %s, got %s", what,
                              type_name(v, syntax));
}

int container_spec_decode(const TomlValue *table, SpecSyntax syntax, ContainerSpec **ret,
                          SpecError *reterr) {
        _cleanup_(container_spec_freep) ContainerSpec *c = NULL;
        const TomlKeyValue *parent_kv = NULL;
        int r;

        r = expect_object(table, syntax,
                          syntax == SPEC_SYNTAX_JSON ? "a container object" : "a container table", reterr);
        if (r < 0)
                return r;
        r = container_spec_new(&c);
        if (r < 0)
                return r;

        for (size_t i = 0; i < table->table.n; i++) {
                const TomlKeyValue *kv = &table->table.items[i];
                SpecField f = spec_field_from_string(kv->key);

                if (!spec_field_is_container(f))
                        return unknown_field(reterr, /* path= */ NULL, kv);
                if (IN_SET(f, SPEC_FIELD_IMAGE, SPEC_FIELD_PARENT)) {
                        if (parent_kv)
                                return conflict(reterr, kv, "'image' and 'parent' cannot be used together");
                        parent_kv = kv;
                }
                r = container_spec_decode_field(c, f, kv->value, syntax, reterr);
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(c);
        return 0;
}

/* ---- maelstrom-run's job object ---- */

int job_spec_decode(const TomlValue *object, JobSpec **ret, SpecError *reterr) {
        const TomlKeyValue *seen[_SPEC_FIELD_MAX] = {};
        _cleanup_(job_spec_freep) JobSpec *j = NULL;
        int r;

        r = expect_object(object, SPEC_SYNTAX_JSON, "a job object", reterr);
        if (r < 0)
                return r;
        r = job_spec_new(&j);
        if (r < 0)
                return r;

        for (size_t i = 0; i < object->table.n; i++) {
                const TomlKeyValue *kv = &object->table.items[i];
                SpecField f = spec_field_from_string(kv->key);

                /* The runners' added_environment and added_mounts are not fields of maelstrom-run's jobs. */
                if (f < 0 || IN_SET(f, SPEC_FIELD_ADDED_ENVIRONMENT, SPEC_FIELD_ADDED_MOUNTS))
                        return unknown_field(reterr, /* path= */ NULL, kv);
                if (seen[f]) /* our JSON reader rejects duplicate keys first; this is for other callers */
                        return conflict(reterr, kv, "given twice");
                if (IN_SET(f, SPEC_FIELD_IMAGE, SPEC_FIELD_PARENT) &&
                    (seen[SPEC_FIELD_IMAGE] || seen[SPEC_FIELD_PARENT]))
                        return conflict(reterr, kv, "'image' and 'parent' cannot be used together");
                seen[f] = kv;

                r = job_spec_decode_field(j, f, kv->value, SPEC_SYNTAX_JSON, reterr);
                if (r < 0)
                        return r;
        }

        if (!j->program)
                return missing_field(reterr, /* path= */ NULL, object, "program");

        const ContainerParent *p = j->container.parent;
        unsigned image_use = p && p->is_image ? p->use : 0;
        if ((image_use & USE_LAYERS) && seen[SPEC_FIELD_LAYERS])
                return conflict(reterr, seen[SPEC_FIELD_LAYERS],
                                "cannot be used with an image whose layers are used (use 'added_layers' to "
                                "add layers on top of them)");
        if ((image_use & USE_ENVIRONMENT) && seen[SPEC_FIELD_ENVIRONMENT] &&
            seen[SPEC_FIELD_ENVIRONMENT]->value->type == TOML_TABLE)
                return conflict(reterr, seen[SPEC_FIELD_ENVIRONMENT],
                                "the map form would replace the environment of the image, which is used "
                                "(use the list form, [{\"vars\": {...}, \"extend\": true}])");
        if ((image_use & USE_WORKING_DIRECTORY) && seen[SPEC_FIELD_WORKING_DIRECTORY])
                return conflict(reterr, seen[SPEC_FIELD_WORKING_DIRECTORY],
                                "cannot be used with an image whose working directory is used");
        if (seen[SPEC_FIELD_ADDED_LAYERS] && !(p && (p->use & USE_LAYERS)))
                return conflict(reterr, seen[SPEC_FIELD_ADDED_LAYERS],
                                "needs an image or parent whose layers are used (use 'layers' otherwise)");

        *ret = TAKE_PTR(j);
        return 0;
}
