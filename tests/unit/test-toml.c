/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "basic/fd-util.h"
#include "basic/string-util.h"
#include "basic/tests.h"
#include "toml/toml.h"

static TomlValue *parse_ok(const char *text) {
        TomlValue *v = NULL;
        TomlError e = {};
        int r = toml_parse(text, strlen(text), &v, &e);
        if (r < 0)
                fprintf(stderr, "unexpected parse failure: %u:%u: %s\n", e.line, e.column, e.message);
        ASSERT_OK(r);
        ASSERT_TRUE(v);
        ASSERT_EQ(v->type, TOML_TABLE);
        return v;
}

/* Parses text that must fail; checks the position and that the message contains needle. */
static void check_error_len(const char *text, size_t len, unsigned line, unsigned column,
                            const char *needle) {
        TomlValue *v = NULL;
        TomlError e = {};

        ASSERT_ERROR(toml_parse(text, len, &v, &e), EBADMSG);
        ASSERT_TRUE(v == NULL);
        fprintf(stderr, "    %u:%u: %s\n", e.line, e.column, e.message);
        ASSERT_EQ(e.line, line);
        ASSERT_EQ(e.column, column);
        if (!strstr(e.message, needle))
                fprintf(stderr, "message does not contain \"%s\"\n", needle);
        ASSERT_TRUE(strstr(e.message, needle));
}

static void check_error(const char *text, unsigned line, unsigned column, const char *needle) {
        check_error_len(text, strlen(text), line, column, needle);
}

/* Follows a dotted path of plain keys (no '.' inside components) through nested tables. */
static const TomlKeyValue *get_path(const TomlValue *v, const char *path) {
        _cleanup_free_ char *copy = strdup(path);
        const TomlKeyValue *kv = NULL;
        char *saveptr = NULL;

        ASSERT_TRUE(copy);
        for (char *k = strtok_r(copy, ".", &saveptr); k; k = strtok_r(NULL, ".", &saveptr)) {
                kv = toml_table_get(v, k);
                if (!kv)
                        return NULL;
                v = kv->value;
        }
        return kv;
}

static const TomlValue *get_value(const TomlValue *root, const char *path, TomlType type) {
        const TomlKeyValue *kv = get_path(root, path);
        if (!kv)
                fprintf(stderr, "key '%s' not found\n", path);
        ASSERT_TRUE(kv);
        if (kv->value->type != type)
                fprintf(stderr, "key '%s' is a %s, expected %s\n", path,
                        toml_type_to_string(kv->value->type), toml_type_to_string(type));
        ASSERT_EQ(kv->value->type, type);
        return kv->value;
}

static void check_position(const TomlValue *root, const char *path, unsigned line, unsigned column) {
        const TomlKeyValue *kv = get_path(root, path);
        if (!kv)
                fprintf(stderr, "key '%s' not found\n", path);
        ASSERT_TRUE(kv);
        if (kv->line != line || kv->column != column)
                fprintf(stderr, "key '%s' at %u:%u, expected %u:%u\n", path, kv->line, kv->column, line,
                        column);
        ASSERT_EQ(kv->line, line);
        ASSERT_EQ(kv->column, column);
}

TEST(key_positions) {
        _cleanup_(toml_value_freep) TomlValue *v = parse_ok(
                "top = 1\n"                                 /* 1 */
                "  indented = 'x' # comment\n"              /* 2 */
                "a.b.c = true\n"                            /* 3 */
                "\n"                                        /* 4 */
                "[tbl]\n"                                   /* 5 */
                "  x = 1\n"                                 /* 6 */
                "  sub . key = 2\n"                         /* 7 */
                "[[arr]]\n"                                 /* 8 */
                "name = \"one\"\n"                          /* 9 */
                "inl = { p = 1, q.r = 2 }\n"                /* 10 */
                "  [[arr]]\n"                               /* 11 */
                "   name = \"two\"\n"                       /* 12 */
                "[x.y.z]\n"                                 /* 13 */
                "\t[x]\n"                                   /* 14 */
                "\"quoted key\" = 1\n"                      /* 15 */
                "multi = \"\"\"\n"                          /* 16 */
                "line\n"                                    /* 17 */
                "\"\"\"\n"                                  /* 18 */
                "t = { \"\xc3\xa9\" = 1, z = 2 }\n"         /* 19: é is one column */
                "[crlf]\r\n"                                /* 20 */
                "k = 1\r\n");                               /* 21 */

        check_position(v, "top", 1, 1);
        check_position(v, "indented", 2, 3);
        check_position(v, "a", 3, 1);
        check_position(v, "a.b", 3, 3);
        check_position(v, "a.b.c", 3, 5);
        check_position(v, "tbl", 5, 1);
        check_position(v, "tbl.x", 6, 3);
        check_position(v, "tbl.sub", 7, 3);
        check_position(v, "tbl.sub.key", 7, 9);
        check_position(v, "arr", 8, 1);
        check_position(v, "x", 14, 2);   /* created implicitly by [x.y.z], defined by [x] */
        check_position(v, "x.y", 13, 1);
        check_position(v, "x.y.z", 13, 1);
        check_position(v, "x.quoted key", 15, 1);
        check_position(v, "x.multi", 16, 1);
        check_position(v, "x.t", 19, 1);
        check_position(v, "x.t.z", 19, 16);
        check_position(v, "crlf", 20, 1);
        check_position(v, "crlf.k", 21, 1);

        /* The elements of an array of tables carry the position of their [[header]]. */
        const TomlValue *arr = get_value(v, "arr", TOML_ARRAY);
        ASSERT_EQ(arr->array.n, 2u);
        ASSERT_EQ(arr->array.items[0]->line, 8u);
        ASSERT_EQ(arr->array.items[0]->column, 1u);
        ASSERT_EQ(arr->array.items[1]->line, 11u);
        ASSERT_EQ(arr->array.items[1]->column, 3u);

        const TomlValue *first = arr->array.items[0], *second = arr->array.items[1];
        check_position(first, "name", 9, 1);
        check_position(first, "inl", 10, 1);
        check_position(first, "inl.p", 10, 9);
        check_position(first, "inl.q", 10, 16);
        check_position(first, "inl.q.r", 10, 18);
        check_position(second, "name", 12, 4);
        ASSERT_TRUE(toml_table_get(second, "inl") == NULL);

        /* Values carry their own position. */
        const TomlValue *multi = get_value(v, "x.multi", TOML_STRING);
        ASSERT_EQ(multi->line, 16u);
        ASSERT_EQ(multi->column, 9u);
        ASSERT_STREQ(multi->string.data, "line\n");
        const TomlValue *inl = get_value(first, "inl", TOML_TABLE);
        ASSERT_EQ(inl->line, 10u);
        ASSERT_EQ(inl->column, 7u);

        /* Keys are kept in the order they were defined. */
        ASSERT_STREQ(v->table.items[0].key, "top");
        ASSERT_STREQ(v->table.items[1].key, "indented");
        ASSERT_STREQ(v->table.items[2].key, "a");
        ASSERT_STREQ(v->table.items[3].key, "tbl");
}

TEST(errors) {
        check_error("a = 1\nb = \n", 2, 5, "expected a value");
        check_error("a = 1\nb = 2\na = 3\n", 3, 1, "duplicate key 'a' (first defined at line 1, column 1)");
        check_error("[t]\nx = 1\n[t]\n", 3, 1, "table 't' already defined at line 1");
        check_error("k = \"abc\n", 1, 5, "unterminated basic string");
        check_error("x = { a = 1,\n b = 2 }\n", 1, 13, "newline not allowed in inline table");
        check_error("x = { a = 1, }\n", 1, 14, "trailing comma");
        check_error("a = 1 b = 2\n", 1, 7, "expected end of line");
        check_error("s = \"ab\\q\"\n", 1, 8, "invalid escape sequence '\\q'");
        check_error("d = 2021-02-29\n", 1, 5, "day out of range");
        check_error("t = 24:00:00\n", 1, 5, "hour");
        check_error("i = 9223372036854775808\n", 1, 5, "out of range");
        check_error("i = 0x8000000000000000\n", 1, 5, "out of range");
        check_error("i = 012\n", 1, 5, "leading zeros");
        check_error("i = 1__2\n", 1, 6, "'_' must be between two digits");
        check_error("a = {b = 1}\na.c = 2\n", 2, 1, "inline table 'a'");
        check_error("a = [1]\n[[a]]\n", 2, 1, "static array");
        check_error("[a]\nb.c = 1\n[a.b]\n", 3, 1, "dotted keys");
        check_error("[a.b]\n[a]\nb.c = 1\n", 3, 1, "defined by a header");
        check_error("a = 'x\xff'\n", 1, 7, "invalid UTF-8");
        check_error("a = 'x\xed\xa0\x80'\n", 1, 7, "invalid UTF-8");    /* surrogate */
        check_error("a = 'x\xc0\xaf'\n", 1, 7, "invalid UTF-8");        /* overlong */
        check_error("\xc3\xa9 = 1\n", 1, 1, "must be quoted");
        check_error("'\xc3\xa9' = 1 x\n", 1, 9, "expected end of line");
        check_error("s = '''\nabc\n\x01'''\n", 3, 1, "control character U+0001");
        check_error("s = \"\"\"\nabc\n", 1, 5, "unterminated multi-line basic string");
        check_error("a = 1\r b = 2\n", 1, 6, "carriage return");
        check_error("a = 1 # \x7f\n", 1, 9, "control character U+007F not allowed in comment");
        check_error("[a\nb = 1\n", 1, 3, "expected ']'");
        check_error("key\n", 1, 4, "expected '=' after key 'key'");
        check_error_len("a = \"x\0\"\n", 9, 1, 7, "control character U+0000");

        /* Deeply nested arrays and inline tables are refused rather than exhausting the stack. */
        _cleanup_free_ char *deep = malloc(4 + 200 + 1);
        ASSERT_TRUE(deep);
        memcpy(deep, "a = ", 4);
        memset(deep + 4, '[', 200);
        deep[204] = 0;
        check_error(deep, 1, 5 + 128, "nesting too deep");

        _cleanup_free_ char *deep2 = malloc(4 + 3 * 200 + 1);
        ASSERT_TRUE(deep2);
        memcpy(deep2, "a = ", 4);
        for (size_t i = 0; i < 200; i++)
                memcpy(deep2 + 4 + 3 * i, "{b=", 3);
        deep2[4 + 3 * 200] = 0;
        check_error(deep2, 1, 5 + 3 * 128, "nesting too deep");

        /* 128 levels are fine. */
        _cleanup_free_ char *ok = malloc(4 + 2 * 128 + 2);
        ASSERT_TRUE(ok);
        memcpy(ok, "a = ", 4);
        memset(ok + 4, '[', 128);
        memset(ok + 4 + 128, ']', 128);
        memcpy(ok + 4 + 256, "\n", 2);
        _cleanup_(toml_value_freep) TomlValue *v = parse_ok(ok);
        const TomlValue *a = v->table.items[0].value;
        for (unsigned i = 1; i < 128; i++) {
                ASSERT_EQ(a->type, TOML_ARRAY);
                ASSERT_EQ(a->array.n, 1u);
                a = a->array.items[0];
        }
        ASSERT_EQ(a->type, TOML_ARRAY);
        ASSERT_EQ(a->array.n, 0u);
}

TEST(value_types) {
        _cleanup_(toml_value_freep) TomlValue *v = parse_ok(
                "s = \"a\\tb\\u00e9\\U0001F600\\\"\\\\\"\n"
                "lit = 'C:\\path'\n"
                "ml = \"\"\"\n"
                "one \\\n"
                "   two\"\"\"\n"
                "mll = '''\n"
                "x\\y\r\n"
                "'''\n"
                "imin = -9223372036854775808\n"
                "imax = +9_223_372_036_854_775_807\n"
                "hex = 0xdead_BEEF\n"
                "oct = 0o755\n"
                "bin = 0b1010\n"
                "zero = -0\n"
                "f = 6.626e-34\n"
                "f2 = 1_000.5\n"
                "fneg = -0.0\n"
                "finf = -inf\n"
                "fnan = nan\n"
                "t = true\n"
                "ff = false\n"
                "odt = 1979-05-27 07:32:00.999z\n"
                "odt2 = 1979-05-27T00:32:00-07:00\n"
                "ldt = 1979-05-27t07:32:60\n"
                "ld = 2000-02-29\n"
                "lt = 07:32:00.5\n"
                "arr = [1, \"two\", [3.0], {x = 1}, ]\n");

        ASSERT_STREQ(get_value(v, "s", TOML_STRING)->string.data, "a\tb\xc3\xa9\xf0\x9f\x98\x80\"\\");
        ASSERT_STREQ(get_value(v, "lit", TOML_STRING)->string.data, "C:\\path");
        ASSERT_STREQ(get_value(v, "ml", TOML_STRING)->string.data, "one two");
        ASSERT_STREQ(get_value(v, "mll", TOML_STRING)->string.data, "x\\y\n");
        ASSERT_EQ(get_value(v, "ml", TOML_STRING)->string.len, 7u);
        ASSERT_TRUE(get_value(v, "imin", TOML_INTEGER)->integer == INT64_MIN);
        ASSERT_TRUE(get_value(v, "imax", TOML_INTEGER)->integer == INT64_MAX);
        ASSERT_EQ(get_value(v, "hex", TOML_INTEGER)->integer, 0xdeadbeef);
        ASSERT_EQ(get_value(v, "oct", TOML_INTEGER)->integer, 0755);
        ASSERT_EQ(get_value(v, "bin", TOML_INTEGER)->integer, 10);
        ASSERT_EQ(get_value(v, "zero", TOML_INTEGER)->integer, 0);
        ASSERT_TRUE(get_value(v, "f", TOML_FLOAT)->floating == 6.626e-34);
        ASSERT_TRUE(get_value(v, "f2", TOML_FLOAT)->floating == 1000.5);
        double fneg = get_value(v, "fneg", TOML_FLOAT)->floating;
        ASSERT_TRUE(fneg == 0.0 && signbit(fneg));
        double finf = get_value(v, "finf", TOML_FLOAT)->floating;
        ASSERT_TRUE(isinf(finf) && finf < 0);
        ASSERT_TRUE(isnan(get_value(v, "fnan", TOML_FLOAT)->floating));
        ASSERT_TRUE(get_value(v, "t", TOML_BOOL)->boolean);
        ASSERT_FALSE(get_value(v, "ff", TOML_BOOL)->boolean);
        ASSERT_STREQ(get_value(v, "odt", TOML_DATETIME)->datetime, "1979-05-27T07:32:00.999Z");
        ASSERT_STREQ(get_value(v, "odt2", TOML_DATETIME)->datetime, "1979-05-27T00:32:00-07:00");
        ASSERT_STREQ(get_value(v, "ldt", TOML_DATETIME_LOCAL)->datetime, "1979-05-27T07:32:60");
        ASSERT_STREQ(get_value(v, "ld", TOML_DATE_LOCAL)->datetime, "2000-02-29");
        ASSERT_STREQ(get_value(v, "lt", TOML_TIME_LOCAL)->datetime, "07:32:00.5");

        const TomlValue *arr = get_value(v, "arr", TOML_ARRAY);
        ASSERT_EQ(arr->array.n, 4u);
        ASSERT_EQ(arr->array.items[0]->type, TOML_INTEGER);
        ASSERT_EQ(arr->array.items[1]->type, TOML_STRING);
        ASSERT_EQ(arr->array.items[2]->type, TOML_ARRAY);
        ASSERT_EQ(arr->array.items[2]->array.items[0]->type, TOML_FLOAT);
        ASSERT_EQ(arr->array.items[3]->type, TOML_TABLE);
        ASSERT_EQ(toml_table_get(arr->array.items[3], "x")->value->integer, 1);

        ASSERT_STREQ(toml_type_to_string(TOML_STRING), "string");
        ASSERT_STREQ(toml_type_to_string(TOML_DATETIME), "datetime");
        ASSERT_STREQ(toml_type_to_string(TOML_DATETIME_LOCAL), "datetime-local");
        ASSERT_STREQ(toml_type_to_string(TOML_DATE_LOCAL), "date-local");
        ASSERT_STREQ(toml_type_to_string(TOML_TIME_LOCAL), "time-local");
        ASSERT_STREQ(toml_type_to_string(TOML_TABLE), "table");
        ASSERT_TRUE(toml_type_to_string(_TOML_TYPE_INVALID) == NULL);
        ASSERT_TRUE(toml_type_to_string(_TOML_TYPE_MAX) == NULL);
}

TEST(nested_lookup) {
        _cleanup_(toml_value_freep) TomlValue *v = parse_ok(
                "[server]\n"
                "host = 'example.org'\n"
                "ports = [80, 443]\n"
                "[server.tls]\n"
                "cert = { path = '/etc/cert.pem', reload = true }\n"
                "1.2 = 'numeric'\n"
                "\"a.b\" = 'quoted dot'\n");

        const TomlKeyValue *server = toml_table_get(v, "server");
        ASSERT_TRUE(server);
        ASSERT_EQ(server->value->type, TOML_TABLE);
        const TomlKeyValue *tls = toml_table_get(server->value, "tls");
        ASSERT_TRUE(tls);
        const TomlKeyValue *cert = toml_table_get(tls->value, "cert");
        ASSERT_TRUE(cert);
        const TomlKeyValue *path = toml_table_get(cert->value, "path");
        ASSERT_TRUE(path);
        ASSERT_STREQ(path->value->string.data, "/etc/cert.pem");
        ASSERT_TRUE(toml_table_get(cert->value, "reload")->value->boolean);

        ASSERT_STREQ(toml_table_get(toml_table_get(tls->value, "1")->value, "2")->value->string.data,
                     "numeric");
        ASSERT_STREQ(toml_table_get(tls->value, "a.b")->value->string.data, "quoted dot");
        ASSERT_TRUE(toml_table_get(tls->value, "a") == NULL);

        ASSERT_TRUE(toml_table_get(v, "missing") == NULL);
        ASSERT_TRUE(toml_table_get(NULL, "server") == NULL);
        /* Not a table */
        ASSERT_TRUE(toml_table_get(toml_table_get(server->value, "ports")->value, "0") == NULL);
        ASSERT_TRUE(toml_table_get(toml_table_get(server->value, "host")->value, "x") == NULL);
}

TEST(redefinitions) {
        /* Allowed */
        TomlValue *v;
        v = parse_ok("[a.b.c]\nx = 1\n[a]\ny = 2\n");
        toml_value_free(v);
        v = parse_ok("[a.b.c]\n[a]\nb.d = 1\n");
        toml_value_free(v);
        v = parse_ok("[fruit]\napple.color = 'red'\napple.taste.sweet = true\n"
                     "[fruit.apple.texture]\nsmooth = true\n");
        toml_value_free(v);
        v = parse_ok("[[a.b]]\nx = 1\n[a]\ny = 2\n[[a.b]]\n[a.b.c]\nz = 1\n");
        ASSERT_EQ(get_value(v, "a.b", TOML_ARRAY)->array.n, 2u);
        toml_value_free(v);
        v = parse_ok("t = { a.b = 1, a.c = 2 }\n");
        toml_value_free(v);

        /* Forbidden */
        check_error("a = 1\na.b = 2\n", 2, 1, "already an integer");
        check_error("a.b = 1\na.b.c = 2\n", 2, 3, "already an integer");
        check_error("a.b = 1\n[a]\n", 2, 1, "dotted keys");
        check_error("[fruit]\napple.color = 'red'\n[fruit.apple]\n", 3, 1, "dotted keys");
        check_error("[[t]]\n[t]\n", 2, 1, "array of tables");
        check_error("[t]\n[[t]]\n", 2, 1, "already defined as a table");
        check_error("a = {}\n[a.b]\n", 2, 1, "inline table");
        check_error("t = { a = 1, a.b = 2 }\n", 1, 14, "already an integer");
        check_error("t = { a = {x = 1}, a.b = 2 }\n", 1, 20, "inline table");
        check_error("t = { a = 1, a = 2 }\n", 1, 14, "duplicate key");
        check_error("\"\\u0061\" = 1\na = 2\n", 2, 1, "duplicate key");
}

TEST(nul_bytes) {
        _cleanup_(toml_value_freep) TomlValue *v = parse_ok(
                "s = \"a\\u0000b\"\n"
                "\"\\u0000\" = 1\n"
                "\"\" = 2\n"
                "'\\u0000' = 3\n");

        const TomlValue *s = get_value(v, "s", TOML_STRING);
        ASSERT_EQ(s->string.len, 3u);
        ASSERT_TRUE(memcmp(s->string.data, "a\0b", 4) == 0);

        ASSERT_EQ(v->table.n, 4u);
        ASSERT_EQ(v->table.items[1].key_len, 1u);
        ASSERT_EQ(v->table.items[1].key[0], 0);
        ASSERT_EQ(v->table.items[2].key_len, 0u);
        /* The empty key is found, not the one that is a single NUL byte. */
        ASSERT_EQ(toml_table_get(v, "")->value->integer, 2);
        ASSERT_EQ(toml_table_get(v, "\\u0000")->value->integer, 3);

        check_error("\"\\u0000\" = 1\n\"\\u0000\" = 2\n", 2, 1, "duplicate key");
}

TEST(big_table) {
        _cleanup_(textbuf_done) TextBuf b = {};
        _cleanup_free_ char *text = NULL;

        for (unsigned i = 0; i < 20000; i++)
                textbuf_appendf(&b, "k%u = %u\n", i, i);
        textbuf_append(&b, "[sub]\n");
        for (unsigned i = 0; i < 100; i++)
                textbuf_appendf(&b, "k%u = %u\n", i, i);
        ASSERT_OK(textbuf_steal(&b, &text));

        _cleanup_(toml_value_freep) TomlValue *v = parse_ok(text);
        ASSERT_EQ(v->table.n, 20001u);
        ASSERT_EQ(toml_table_get(v, "k12345")->value->integer, 12345);
        ASSERT_EQ(toml_table_get(v, "k12345")->line, 12346u);
        ASSERT_EQ(toml_table_get(toml_table_get(v, "sub")->value, "k99")->value->integer, 99);

        _cleanup_free_ char *dup = strjoin(text, "[sub]\n");
        ASSERT_TRUE(dup);
        check_error(dup, 20000 + 1 + 100 + 1, 1, "already defined");
        free(dup);
        dup = strjoin(text, "k17 = 1\n");
        ASSERT_TRUE(dup);
        check_error(dup, 20000 + 1 + 100 + 1, 1,
                    "duplicate key 'k17' (first defined at line 20019, column 1)");
}

TEST(parse_file) {
        TomlValue *v = NULL;
        TomlError e = {};

        ASSERT_ERROR(toml_parse_file("/nonexistent/dir/config.toml", &v, &e), ENOENT);
        ASSERT_TRUE(v == NULL);
        ASSERT_TRUE(strstr(e.message, "could not read"));
        ASSERT_TRUE(strstr(e.message, "/nonexistent/dir/config.toml"));

        char path[] = "/tmp/test-toml-XXXXXX";
        int fd = mkstemp(path);
        ASSERT_OK(fd);
        ASSERT_OK(loop_write(fd, "[x]\n# comment\ny = 'z'\n", 22));
        safe_close(fd);

        ASSERT_OK(toml_parse_file(path, &v, &e));
        ASSERT_STREQ(get_value(v, "x.y", TOML_STRING)->string.data, "z");
        ASSERT_EQ(get_path(v, "x.y")->line, 3u);
        v = toml_value_free(v);

        ASSERT_OK(write_file_atomic(path, "[x]\ny = \n", 9, 0600));
        ASSERT_ERROR(toml_parse_file(path, &v, &e), EBADMSG);
        ASSERT_EQ(e.line, 2u);
        ASSERT_EQ(e.column, 5u);
        (void) unlink(path);
}

TEST(empty_and_bom) {
        TomlValue *v = NULL;
        TomlError e = {};

        ASSERT_OK(toml_parse(NULL, 0, &v, &e));
        ASSERT_EQ(v->table.n, 0u);
        v = toml_value_free(v);

        v = parse_ok("\xef\xbb\xbf" "a = 1\n");
        check_position(v, "a", 1, 1);
        v = toml_value_free(v);

        check_error("\xef\xbb\xbf" "a = 1 x\n", 1, 7, "expected end of line");
        check_error("a = 1\n\xef\xbb\xbf" "b = 1\n", 2, 1, "expected a key");
        ASSERT_TRUE(toml_value_free(NULL) == NULL);
}

int main(void) {
        RUN(key_positions);
        RUN(errors);
        RUN(value_types);
        RUN(nested_lookup);
        RUN(redefinitions);
        RUN(nul_bytes);
        RUN(big_table);
        RUN(parse_file);
        RUN(empty_and_bom);
        return 0;
}
