/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/* The toml-test "decoder" interface: TOML on stdin; on success tagged JSON on stdout and exit 0, on invalid
 * input "line L, column C: message" on stderr and exit 1.
 *
 * Objects and arrays are written here; every string (keys included) is serialised by json-c.  Object keys go
 * through json-c's string serialiser rather than json_object_object_add(), because TOML keys may contain NUL
 * bytes, which json-c object keys cannot. */

#include <inttypes.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <unistd.h>

#include "basic/fd-util.h"
#include "basic/macro.h"
#include "basic/string-util.h"
#include "toml/toml.h"

#define INPUT_MAX (256U * 1024U * 1024U)

static void json_object_putp(json_object **o) {
        if (*o)
                json_object_put(*o);
}

static int append_json_string(TextBuf *b, const char *s, size_t len) {
        size_t n;

        if (len > INT32_MAX)
                return -E2BIG;
        _cleanup_(json_object_putp) json_object *o = json_object_new_string_len(s, (int) len);
        if (!o)
                return -ENOMEM;
        const char *t = json_object_to_json_string_length(
                o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
        if (!t)
                return -ENOMEM;
        textbuf_append_len(b, t, n);
        return 0;
}

static void format_float(double d, char *buf, size_t size) {
        if (isnan(d)) {
                (void) snprintf(buf, size, "nan");
                return;
        }
        if (isinf(d)) {
                (void) snprintf(buf, size, "%s", d < 0 ? "-inf" : "inf");
                return;
        }
        /* The shortest representation that reads back as the same double. */
        for (int precision = 1; precision <= 17; precision++) {
                (void) snprintf(buf, size, "%.*g", precision, d);
                if (strtod(buf, NULL) == d)
                        return;
        }
}

static int append_value(TextBuf *b, const TomlValue *v) {
        char text[64];
        const char *s = NULL;
        size_t len = 0;
        int r;

        switch (v->type) {
        case TOML_TABLE:
                textbuf_append_char(b, '{');
                for (size_t i = 0; i < v->table.n; i++) {
                        const TomlKeyValue *kv = &v->table.items[i];
                        if (i > 0)
                                textbuf_append_char(b, ',');
                        r = append_json_string(b, kv->key, kv->key_len);
                        if (r < 0)
                                return r;
                        textbuf_append_char(b, ':');
                        r = append_value(b, kv->value);
                        if (r < 0)
                                return r;
                }
                textbuf_append_char(b, '}');
                return 0;

        case TOML_ARRAY:
                textbuf_append_char(b, '[');
                for (size_t i = 0; i < v->array.n; i++) {
                        if (i > 0)
                                textbuf_append_char(b, ',');
                        r = append_value(b, v->array.items[i]);
                        if (r < 0)
                                return r;
                }
                textbuf_append_char(b, ']');
                return 0;

        case TOML_STRING:
                s = v->string.data;
                len = v->string.len;
                break;
        case TOML_INTEGER:
                (void) snprintf(text, sizeof(text), "%" PRId64, v->integer);
                break;
        case TOML_FLOAT:
                format_float(v->floating, text, sizeof(text));
                break;
        case TOML_BOOL:
                (void) snprintf(text, sizeof(text), "%s", v->boolean ? "true" : "false");
                break;
        case TOML_DATETIME:
        case TOML_DATETIME_LOCAL:
        case TOML_DATE_LOCAL:
        case TOML_TIME_LOCAL:
                s = v->datetime;
                len = strlen(s);
                break;
        case _TOML_TYPE_MAX:
        case _TOML_TYPE_INVALID:
                return -EINVAL;
        }

        if (!s) {
                s = text;
                len = strlen(text);
        }

        textbuf_append(b, "{\"type\":\"");
        textbuf_append(b, toml_type_to_string(v->type));
        textbuf_append(b, "\",\"value\":");
        r = append_json_string(b, s, len);
        if (r < 0)
                return r;
        textbuf_append_char(b, '}');
        return 0;
}

int main(void) {
        _cleanup_(toml_value_freep) TomlValue *root = NULL;
        _cleanup_(textbuf_done) TextBuf out = {};
        _cleanup_free_ char *input = NULL, *json = NULL;
        TomlError error = {};
        size_t size = 0;
        int r;

        r = read_full_fd(STDIN_FILENO, INPUT_MAX, &input, &size);
        if (r < 0) {
                fprintf(stderr, "Failed to read standard input: %s\n",
                        strerrordesc_np(-r) ?: "unknown error");
                return 2;
        }

        r = toml_parse(input, size, &root, &error);
        if (r == -EBADMSG) {
                fprintf(stderr, "line %u, column %u: %s\n", error.line, error.column, error.message);
                return 1;
        }
        if (r < 0) {
                fprintf(stderr, "Failed to parse: %s\n", strerrordesc_np(-r) ?: "unknown error");
                return 2;
        }

        r = append_value(&out, root);
        if (r >= 0) {
                textbuf_append_char(&out, '\n');
                r = textbuf_steal(&out, &json);
        }
        if (r < 0) {
                fprintf(stderr, "Failed to format JSON: %s\n", strerrordesc_np(-r) ?: "unknown error");
                return 2;
        }

        r = loop_write(STDOUT_FILENO, json, strlen(json));
        if (r < 0) {
                fprintf(stderr, "Failed to write output: %s\n", strerrordesc_np(-r) ?: "unknown error");
                return 2;
        }
        return 0;
}
