/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* What the language adapters share to read their tools' output.  JSON (cargo metadata and build messages,
 * go list): json-c parses each document into a tree, and the readers below pick the fields they need, naming
 * the first one that is missing or of the wrong type.  Lines (a test binary's list of its cases): an
 * iterator, and a list of names that grows by doubling, up to a limit.  And, at the end, what they share to
 * put a package's files in a layer.  Private to the testrunner module. */

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "basic/macro.h"
#include "basic/string-util.h"
#include "spec/spec.h"

/* Deepest nesting of JSON arrays and objects accepted. */
#define TEST_JSON_DEPTH_MAX 64U

void test_json_putp(json_object **o);

/* Sets *reterr (if reterr is not NULL) to the formatted message, and returns r (or -ENOMEM). */
_printf_(3, 4) int test_fail(char **reterr, int r, const char *fmt, ...);

/* JSON's whitespace.  (strchr() would also find the NUL terminator.) */
bool test_json_is_space(char c);

/* Parses exactly one JSON value (surrounded by whitespace at most) of size bytes.  On failure returns
 * -EBADMSG with *reterr_reason set to a static string. */
int test_json_parse_one(const char *text, size_t size, json_object **ret, const char **reterr_reason);

/* Parses the next value of a stream of JSON values written one after the other (go list -json), starting
 * at *offset, which is moved past it.  Returns 1 and *ret, 0 at the end of the stream (only whitespace is
 * left), or -EBADMSG with *reterr_reason. */
int test_json_parse_next(const char *text, size_t size, size_t *offset, json_object **ret,
                         const char **reterr_reason);

/* The member key of object o; NULL when absent, JSON null, or o is not an object. */
json_object *test_json_member(json_object *o, const char *key);
/* A string without NUL bytes. */
bool test_json_is_plain_string(json_object *v);

/* A required member of the type; on error names it (the context, then the key).  Strings hold no NUL. */
int test_json_get_member(json_object *o, const char *context, const char *key, json_type type,
                         json_object **ret, char **reterr);
/* A required string member, borrowed from o. */
int test_json_get_string(json_object *o, const char *context, const char *key, const char **ret,
                         char **reterr);
/* A required string member, copied. */
int test_json_read_string(json_object *o, const char *context, const char *key, char **ret, char **reterr);

/* Required string members, copied: key → *ret for each. */
typedef struct TestJsonStringField {
        const char *key;
        char **ret;
} TestJsonStringField;

int test_json_read_strings(json_object *o, const char *context, const TestJsonStringField *fields, size_t n,
                           char **reterr);
/* A required array of strings, copied into a strv. */
int test_json_read_strv(json_object *o, const char *context, const char *key, char ***ret, char **reterr);
/* A required boolean member. */
int test_json_read_bool(json_object *o, const char *context, const char *key, bool *ret, char **reterr);

/* The next line of the text [*p, end): *ret_line and *ret_size, without its newline nor a '\r' before that,
 * and *p moves past it.  Returns false at the end. */
bool test_next_line(const char **p, const char *end, const char **ret_line, size_t *ret_size);
/* Whether a line of the text (size bytes, NUL bytes allowed) starts with prefix. */
bool test_has_line_starting_with(const char *text, size_t size, const char *prefix);

/* Names (test cases) collected one by one. */
typedef struct TestNames {
        char **names; /* NULL-terminated once not empty */
        size_t n, allocated;
} TestNames;

/* Appends a copy of the size bytes at s; -E2BIG when there are max names already. */
int test_names_add(TestNames *l, const char *s, size_t size, size_t max);
/* The names as a strv (an empty one for none); l is empty afterwards. */
int test_names_steal(TestNames *l, char ***ret);
void test_names_done(TestNames *l);

/* Whether a relative path ("" allowed when empty_ok) has only real components: none empty, "." or "..". */
bool test_path_is_clean_relative(const char *s, bool empty_ok);

/* Appends s with '<' doubled (a literal '<' to layer templates) and, with glob, a backslash before each glob
 * character: a path that a layer spec names as it is. */
void test_append_layer_escaped(TextBuf *b, const char *s, bool glob);

/* A glob layer of the pattern glob, put under prefix (both taken: the buffers are left empty), without the
 * cache directories it would walk into (a fixture project's target/). */
int test_glob_layer(TextBuf *glob, TextBuf *prefix, LayerSpec *ret);
