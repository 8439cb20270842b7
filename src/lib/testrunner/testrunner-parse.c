/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <assert.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/string-util.h"
#include "testrunner/testrunner-parse.h"

#define JSON_FLAGS (JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS | JSON_TOKENER_VALIDATE_UTF8)

void test_json_putp(json_object **o) {
        if (*o)
                json_object_put(*o);
}

static void json_tokener_freep(struct json_tokener **t) {
        if (*t)
                json_tokener_free(*t);
}

int test_fail(char **reterr, int r, const char *fmt, ...) {
        va_list ap;
        char *s;

        if (!reterr)
                return r;
        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        if (!s)
                return -ENOMEM;
        free(*reterr);
        *reterr = s;
        return r;
}

bool test_json_is_space(char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Parses the JSON value at the start of text (size bytes), which may be followed by anything: *ret_end is
 * where it ends. */
static int json_parse_prefix(const char *text, size_t size, json_object **ret, size_t *ret_end,
                             const char **reterr_reason) {
        _cleanup_(json_tokener_freep) struct json_tokener *t = NULL;
        _cleanup_(test_json_putp) json_object *o = NULL;
        size_t end;

        assert(text || size == 0);
        assert(ret);

        if (size > INT32_MAX) {
                *reterr_reason = "too long";
                return -EBADMSG;
        }
        t = json_tokener_new_ex((int) TEST_JSON_DEPTH_MAX + 1);
        if (!t)
                return -ENOMEM;
        json_tokener_set_flags(t, JSON_FLAGS);

        o = json_tokener_parse_ex(t, text ?: "", (int) size);
        enum json_tokener_error jerr = json_tokener_get_error(t);
        end = json_tokener_get_parse_end(t);
        if (jerr == json_tokener_continue) {
                /* A number at the very end is only complete once json-c sees the end of the input. */
                o = json_tokener_parse_ex(t, "", 1);
                jerr = json_tokener_get_error(t);
                end = size;
                if (jerr == json_tokener_continue) {
                        *reterr_reason = size == 0 ? "empty" : "truncated JSON";
                        return -EBADMSG;
                }
        }
        if (jerr != json_tokener_success) {
                *reterr_reason = json_tokener_error_desc(jerr);
                return -EBADMSG;
        }
        if (!o) {
                *reterr_reason = "null instead of an object";
                return -EBADMSG;
        }
        *ret = TAKE_PTR(o);
        *ret_end = end;
        return 0;
}

int test_json_parse_one(const char *text, size_t size, json_object **ret, const char **reterr_reason) {
        _cleanup_(test_json_putp) json_object *o = NULL;
        size_t end;
        int r;

        r = json_parse_prefix(text, size, &o, &end, reterr_reason);
        if (r < 0)
                return r;
        for (size_t i = end; i < size; i++)
                if (!test_json_is_space(text[i])) {
                        *reterr_reason = "trailing text after the JSON value";
                        return -EBADMSG;
                }
        *ret = TAKE_PTR(o);
        return 0;
}

int test_json_parse_next(const char *text, size_t size, size_t *offset, json_object **ret,
                         const char **reterr_reason) {
        size_t i, end;
        int r;

        assert(text || size == 0);
        assert(offset);
        assert(ret);

        for (i = *offset; i < size && test_json_is_space(text[i]); i++)
                ;
        if (i >= size) {
                *offset = size;
                return 0;
        }
        r = json_parse_prefix(text + i, size - i, ret, &end, reterr_reason);
        if (r < 0)
                return r;
        *offset = i + end;
        return 1;
}

json_object *test_json_member(json_object *o, const char *key) {
        json_object *v = NULL;

        if (!json_object_is_type(o, json_type_object))
                return NULL;
        if (!json_object_object_get_ex(o, key, &v))
                return NULL;
        return v;
}

bool test_json_is_plain_string(json_object *v) {
        return json_object_is_type(v, json_type_string) &&
                (size_t) json_object_get_string_len(v) == strlen(json_object_get_string(v));
}

int test_json_get_member(json_object *o, const char *context, const char *key, json_type type,
                         json_object **ret, char **reterr) {
        static const char *const names[] = {
                [json_type_boolean] = "a boolean",
                [json_type_int] = "an integer",
                [json_type_object] = "an object",
                [json_type_array] = "an array",
                [json_type_string] = "a string",
        };
        json_object *v = test_json_member(o, key);

        assert((size_t) type < ELEMENTSOF(names) && names[type]);

        if (!v)
                return test_fail(reterr, -EBADMSG, "%s: '%s' is missing", context, key);
        if (!json_object_is_type(v, type) || (type == json_type_string && !test_json_is_plain_string(v)))
                return test_fail(reterr, -EBADMSG, "%s: '%s' is not %s", context, key, names[type]);
        *ret = v;
        return 0;
}

int test_json_get_string(json_object *o, const char *context, const char *key, const char **ret,
                         char **reterr) {
        json_object *v;
        int r;

        r = test_json_get_member(o, context, key, json_type_string, &v, reterr);
        if (r < 0)
                return r;
        *ret = json_object_get_string(v);
        return 0;
}

int test_json_read_string(json_object *o, const char *context, const char *key, char **ret, char **reterr) {
        const char *s;
        int r;

        r = test_json_get_string(o, context, key, &s, reterr);
        if (r < 0)
                return r;
        char *c = strdup(s);
        if (!c)
                return -ENOMEM;
        *ret = c;
        return 0;
}

int test_json_read_strings(json_object *o, const char *context, const TestJsonStringField *fields, size_t n,
                           char **reterr) {
        int r;

        for (size_t i = 0; i < n; i++) {
                r = test_json_read_string(o, context, fields[i].key, fields[i].ret, reterr);
                if (r < 0)
                        return r;
        }
        return 0;
}

int test_json_read_strv(json_object *o, const char *context, const char *key, char ***ret, char **reterr) {
        _cleanup_strv_free_ char **l = NULL;
        json_object *a;
        int r;

        r = test_json_get_member(o, context, key, json_type_array, &a, reterr);
        if (r < 0)
                return r;
        size_t n = json_object_array_length(a);
        l = calloc(n + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(a, i);
                if (!test_json_is_plain_string(e))
                        return test_fail(reterr, -EBADMSG, "%s: '%s' item %zu is not a string", context, key,
                                         i + 1);
                l[i] = strdup(json_object_get_string(e));
                if (!l[i])
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

int test_json_read_bool(json_object *o, const char *context, const char *key, bool *ret, char **reterr) {
        json_object *v;
        int r;

        r = test_json_get_member(o, context, key, json_type_boolean, &v, reterr);
        if (r < 0)
                return r;
        *ret = json_object_get_boolean(v);
        return 0;
}

bool test_next_line(const char **p, const char *end, const char **ret_line, size_t *ret_size) {
        const char *line = *p, *nl;
        size_t n;

        if (line >= end)
                return false;
        nl = memchr(line, '\n', end - line);
        n = nl ? (size_t) (nl - line) : (size_t) (end - line);
        *p = nl ? nl + 1 : end;
        if (n > 0 && line[n - 1] == '\r')
                n--;
        *ret_line = line;
        *ret_size = n;
        return true;
}

bool test_has_line_starting_with(const char *text, size_t size, const char *prefix) {
        size_t k = strlen(prefix), n;
        const char *line;

        for (const char *p = text, *end = text + size; test_next_line(&p, end, &line, &n);)
                if (n >= k && memcmp(line, prefix, k) == 0)
                        return true;
        return false;
}

int test_names_add(TestNames *l, const char *s, size_t size, size_t max) {
        assert(l);
        assert(s || size == 0);

        if (l->n >= max)
                return -E2BIG;
        if (l->n + 2 > l->allocated) {
                size_t a = MAX(l->allocated * 2, 16U);
                char **names = reallocarray(l->names, a, sizeof(char *));
                if (!names)
                        return -ENOMEM;
                l->names = names;
                l->allocated = a;
        }
        l->names[l->n] = strndup(s ?: "", size);
        if (!l->names[l->n])
                return -ENOMEM;
        l->names[++l->n] = NULL;
        return 0;
}

int test_names_steal(TestNames *l, char ***ret) {
        assert(l);
        assert(ret);

        if (!l->names) {
                l->names = calloc(1, sizeof(char *));
                if (!l->names)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l->names);
        *l = (TestNames) {};
        return 0;
}

void test_names_done(TestNames *l) {
        assert(l);
        strv_free(l->names);
        *l = (TestNames) {};
}

bool test_path_is_clean_relative(const char *s, bool empty_ok) {
        if (isempty(s))
                return empty_ok;
        if (s[0] == '/')
                return false;
        for (const char *p = s;;) {
                const char *slash = strchr(p, '/');
                size_t n = slash ? (size_t) (slash - p) : strlen(p);

                if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
                        return false;
                if (!slash)
                        return true;
                p = slash + 1;
        }
}

void test_append_layer_escaped(TextBuf *b, const char *s, bool glob) {
        for (; *s; s++) {
                if (*s == '<')
                        textbuf_append_char(b, '<');
                else if (glob && strchr("\\*?[]{},", *s))
                        textbuf_append_char(b, '\\');
                textbuf_append_char(b, *s);
        }
}

int test_glob_layer(TextBuf *glob, TextBuf *prefix, LayerSpec *ret) {
        LayerSpec l = { .kind = LAYER_GLOB, .skip_cache_directories = true };
        int r;

        r = textbuf_steal(glob, &l.path);
        if (r < 0)
                return r;
        r = textbuf_steal(prefix, &l.prefix.prepend_prefix);
        if (r < 0) {
                free(l.path);
                return r;
        }
        *ret = l;
        return 0;
}
