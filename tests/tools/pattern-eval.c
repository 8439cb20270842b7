/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/* pattern-eval cargo|go|pytest: reads one JSON object per line on stdin and answers one JSON line each:
 *   {"pattern": P}                          -> {"ok": true} or {"ok": false, "error": ..., "column": N}
 *   {"pattern": P, "test": T}               -> {"ok": true, "match": true|false|null} or the error
 *   {"include": [...], "exclude": [...], "test": T}  -> the combined -i/-x filter's answer
 * T holds the case's fields (see PatternCase); a missing or null field is unknown.  A line that is not such
 * an object gets {"ok": false, "error": "bad request: ..."} without a column. */

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/macro.h"
#include "basic/string-util.h"
#include "testrunner/testrunner-pattern.h"

#define LINE_MAX_BYTES (1024U * 1024U)

static void json_object_putp(json_object **o) {
        if (*o)
                json_object_put(*o);
}

static const char *get_string(json_object *o, const char *key, bool *bad) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
                return NULL;
        if (!json_object_is_type(v, json_type_string)) {
                *bad = true;
                return NULL;
        }
        return json_object_get_string(v);
}

/* A JSON array of strings (or null/absent: *ret = NULL) as a strv. */
static int get_strv(json_object *o, const char *key, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        json_object *v;
        int r;

        *ret = NULL;
        if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
                return 0;
        if (!json_object_is_type(v, json_type_array))
                return -EINVAL;
        l = calloc(1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < json_object_array_length(v); i++) {
                json_object *s = json_object_array_get_idx(v, i);
                if (!json_object_is_type(s, json_type_string))
                        return -EINVAL;
                r = strv_extend(&l, json_object_get_string(s));
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static int parse_case(json_object *t, PatternCase *c, char ***markers) {
        const char *kind;
        bool bad = false;
        int r;

        *c = PATTERN_CASE_UNKNOWN;
        c->name = get_string(t, "name", &bad);
        c->package = get_string(t, "package", &bad);
        c->target = get_string(t, "target", &bad);
        c->package_import_path = get_string(t, "package_import_path", &bad);
        c->package_path = get_string(t, "package_path", &bad);
        c->package_name = get_string(t, "package_name", &bad);
        c->file = get_string(t, "file", &bad);
        c->node_id = get_string(t, "node_id", &bad);
        kind = get_string(t, "kind", &bad);
        if (bad)
                return -EINVAL;
        if (kind) {
                c->kind = cargo_target_kind_from_string(kind);
                if (c->kind < 0)
                        return -EINVAL;
        }
        r = get_strv(t, "markers", markers);
        if (r < 0)
                return r;
        c->markers = *markers;
        return 0;
}

static json_object *answer(PatternSyntax syntax, json_object *req) {
        _cleanup_(json_object_putp) json_object *out = json_object_new_object();
        _cleanup_(pattern_freep) Pattern *p = NULL;
        _cleanup_strv_free_ char **include = NULL, **exclude = NULL, **markers = NULL;
        PatternError error = {};
        json_object *pattern, *test = NULL;
        bool has_test;
        int r;

        if (!out)
                return NULL;
        if (!json_object_is_type(req, json_type_object)) {
                json_object_object_add(out, "ok", json_object_new_boolean(false));
                json_object_object_add(out, "error", json_object_new_string("bad request: not an object"));
                return TAKE_PTR(out);
        }
        has_test = json_object_object_get_ex(req, "test", &test) &&
                json_object_is_type(test, json_type_object);

        if (json_object_object_get_ex(req, "pattern", &pattern)) {
                if (!json_object_is_type(pattern, json_type_string))
                        r = -EBADMSG;
                else
                        r = pattern_parse(syntax, json_object_get_string(pattern), &p, &error);
        } else {
                r = get_strv(req, "include", &include);
                if (r >= 0)
                        r = get_strv(req, "exclude", &exclude);
                if (r >= 0)
                        r = pattern_filter_new(syntax, include, exclude, &p, &error);
                else
                        r = -EBADMSG;
        }
        if (r >= 0 && has_test) {
                PatternCase c;

                if (parse_case(test, &c, &markers) < 0)
                        r = -EBADMSG;
                else {
                        PatternResult m = pattern_evaluate(p, &c);
                        json_object_object_add(out, "match", m == PATTERN_UNKNOWN ? NULL :
                                               json_object_new_boolean(m == PATTERN_TRUE));
                }
        }
        json_object_object_add(out, "ok", json_object_new_boolean(r >= 0));
        if (r == -EBADMSG)
                json_object_object_add(out, "error", json_object_new_string("bad request"));
        else if (r < 0 && error.message[0]) {
                json_object_object_add(out, "error", json_object_new_string(error.message));
                json_object_object_add(out, "column", json_object_new_int((int) error.column));
        } else if (r < 0)
                json_object_object_add(out, "error", json_object_new_string(strerror(-r)));
        return TAKE_PTR(out);
}

int main(int argc, char *argv[]) {
        _cleanup_free_ char *line = NULL;
        size_t size = 0;
        PatternSyntax syntax;
        ssize_t n;

        if (argc != 2 || (syntax = pattern_syntax_from_string(argv[1])) < 0) {
                fprintf(stderr, "usage: pattern-eval cargo|go|pytest\n");
                return 2;
        }
        while ((n = getline(&line, &size, stdin)) >= 0) {
                _cleanup_(json_object_putp) json_object *req = NULL, *out = NULL;

                if ((size_t) n > LINE_MAX_BYTES) {
                        fprintf(stderr, "pattern-eval: line too long\n");
                        return 1;
                }
                req = json_tokener_parse(line);
                out = answer(syntax, req);
                if (!out) {
                        fprintf(stderr, "pattern-eval: out of memory\n");
                        return 1;
                }
                puts(json_object_to_json_string_ext(
                        out, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
                fflush(stdout);
        }
        return 0;
}
