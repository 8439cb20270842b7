/* SPDX-License-Identifier: MIT OR Apache-2.0 */

/* The json-c adapter.  json-c's incremental tokener finds where each object ends and checks the syntax, but
 * its tree keeps no positions.  So the reader keeps the text of the object being parsed, and once json-c has
 * built the tree, converts it into a TomlValue tree (the document type that spec-decode.c reads) by walking
 * the text and the tree together: the text gives the line and column of every key and value, json-c gives
 * the decoded strings and numbers.  The text is what json-c accepted, so it is well-formed, which the walk
 * relies on for its structure (never for memory safety: every access is bounds-checked).
 *
 * The only way the text and the tree can disagree is a key written twice in one object (json-c keeps the
 * last value at the place of the first); the walk then notices that the object has more members in the text
 * than in the tree, and reports the duplicate. */

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>

#include <json-c/json.h>

#include "basic/string-util.h"
#include "spec/spec-decode.h"
#include "spec/spec-json.h"

#define JSON_FLAGS (JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS | JSON_TOKENER_VALIDATE_UTF8)

static void json_object_putp(json_object **o) {
        if (*o)
                json_object_put(*o);
}

/* A tokener that takes max_depth levels of arrays and objects (0: a scalar only). */
static struct json_tokener *tokener_new(unsigned max_depth) {
        /* json-c counts a scalar inside the innermost array or object as one more level. */
        struct json_tokener *t = json_tokener_new_ex((int) max_depth + 1);
        if (t)
                json_tokener_set_flags(t, JSON_FLAGS);
        return t;
}

struct JobSpecReader {
        struct json_tokener *tok;
        struct json_tokener *key_tok; /* decodes keys with escapes */
        JobSpecReaderFunc callback;
        void *userdata;
        size_t max_object_size;
        unsigned max_depth;

        TextBuf text;          /* the text of the object being parsed, so far */
        bool in_object;
        unsigned line, column; /* position of text[0]; when not in an object, of the next byte */
        unsigned jobs;         /* top-level values started */
        bool started;

        int failed;            /* once a fatal error happened: it, and the reader takes no more input */
        SpecError failure;
};

static bool is_ws(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void position_advance(unsigned *line, unsigned *column, const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (s[i] == '\n') {
                        (*line)++;
                        *column = 1;
                } else if (((unsigned char) s[i] & 0xC0) != 0x80)
                        (*column)++;
}

/* ---- the text walk ---- */

typedef struct PathPart {
        const struct PathPart *up;
        const char *key; /* NULL: an array element */
        size_t index;
} PathPart;

static void path_format(const PathPart *p, TextBuf *b) {
        if (!p)
                return;
        path_format(p->up, b);
        if (p->key)
                textbuf_appendf(b, "%s%.64s", p->up ? "." : "", p->key);
        else
                textbuf_appendf(b, "[%zu]", p->index);
}

typedef struct Converter {
        const char *text;
        size_t len;
        unsigned base_line, base_column; /* of text[0] */
        size_t at;                       /* a cached position: text[at] is at line:column */
        unsigned line, column;
        struct json_tokener *key_tok;
        bool mismatch; /* the text and the tree disagree somewhere (only a duplicate key can cause that) */
        SpecError *error;
} Converter;

static void converter_position(Converter *c, size_t offset, unsigned *ret_line, unsigned *ret_column) {
        if (offset < c->at) {
                c->at = 0;
                c->line = c->base_line;
                c->column = c->base_column;
        }
        position_advance(&c->line, &c->column, c->text + c->at, offset - c->at);
        c->at = offset;
        *ret_line = c->line;
        *ret_column = c->column;
}

_printf_(4, 5) static int converter_error(Converter *c, size_t offset, const PathPart *path,
                                          const char *format, ...) {
        _cleanup_free_ char *field = NULL, *what = NULL;
        TextBuf b = {};
        unsigned line, column;
        va_list ap;
        int r;

        path_format(path, &b);
        r = textbuf_steal(&b, &field);
        if (r < 0)
                return r;
        va_start(ap, format);
        r = vasprintf(&what, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        converter_position(c, offset, &line, &column);
        if (isempty(field))
                return spec_error_set(c->error, EINVAL, /* field= */ NULL, line, column, "%s", what);
        return spec_error_set(c->error, EINVAL, field, line, column, "field '%s': %s", field, what);
}

static size_t skip_ws(const Converter *c, size_t i) {
        while (i < c->len && is_ws(c->text[i]))
                i++;
        return i;
}

/* text[i] is the opening quote; returns the offset just past the closing one. */
static size_t skip_string(const Converter *c, size_t i) {
        char q = c->text[i];

        for (i++; i < c->len; i++)
                if (c->text[i] == '\\')
                        i++;
                else if (c->text[i] == q)
                        return i + 1;
        return c->len;
}

static size_t skip_value(const Converter *c, size_t i) {
        size_t depth = 0;

        while (i < c->len) {
                char ch = c->text[i];

                if (ch == '"' || ch == '\'')
                        i = skip_string(c, i);
                else if (ch == '{' || ch == '[') {
                        depth++;
                        i++;
                } else if (ch == '}' || ch == ']') {
                        if (depth == 0)
                                return i;
                        i++;
                        if (--depth == 0)
                                return i;
                } else if (depth == 0 && (ch == ',' || ch == ':' || is_ws(ch)))
                        return i;
                else
                        i++;
        }
        return i;
}

/* The text and the tree disagree here: walk over the rest of this value in the text.  The duplicate key that
 * caused it is reported when its object is done. */
static int walk_over(Converter *c, size_t *cursor) {
        c->mismatch = true;
        *cursor = skip_value(c, *cursor);
        return 0;
}

static int convert_value(Converter *c, json_object *j, size_t *cursor, const PathPart *path,
                         TomlValue **ret);

static int decode_key(Converter *c, size_t start, size_t end, const PathPart *path, char **ret) {
        /* Without escapes, the key is the text between the quotes. */
        if (!memchr(c->text + start + 1, '\\', end - start - 2)) {
                char *k = strndup(c->text + start + 1, end - start - 2);
                if (!k)
                        return -ENOMEM;
                *ret = k;
                return 0;
        }

        json_tokener_reset(c->key_tok);
        _cleanup_(json_object_putp) json_object *s = json_tokener_parse_ex(c->key_tok, c->text + start,
                                                                            (int) (end - start));
        if (!s || !json_object_is_type(s, json_type_string))
                return converter_error(c, start, path, "cannot decode the field name");
        const char *k = json_object_get_string(s);
        if ((size_t) json_object_get_string_len(s) != strlen(k))
                return converter_error(c, start, path, "a field name contains a NUL character");
        *ret = strdup(k);
        return *ret ? 0 : -ENOMEM;
}

static int key_compare(const void *a, const void *b) {
        const TomlKeyValue *x = *(const TomlKeyValue * const *) a, *y = *(const TomlKeyValue * const *) b;
        int d = strcmp(x->key, y->key);
        return d != 0 ? d : (x > y) - (x < y);
}

/* The object has a key twice: report the first repetition in the text. */
static int report_duplicate(Converter *c, const TomlValue *v, const PathPart *path) {
        _cleanup_free_ const TomlKeyValue **sorted = calloc(v->table.n, sizeof(TomlKeyValue *));
        const TomlKeyValue *dup = NULL;

        if (!sorted)
                return -ENOMEM;
        for (size_t i = 0; i < v->table.n; i++)
                sorted[i] = &v->table.items[i];
        qsort(sorted, v->table.n, sizeof(TomlKeyValue *), key_compare);
        for (size_t i = 1; i < v->table.n; i++)
                if (streq(sorted[i]->key, sorted[i - 1]->key) && (!dup || sorted[i] < dup))
                        dup = sorted[i];
        if (!dup)
                return spec_error_set(c->error, EINVAL, /* field= */ NULL, v->line, v->column,
                                      "the JSON parser and the position scanner disagree");

        PathPart part = { .up = path, .key = dup->key };
        _cleanup_free_ char *field = NULL;
        TextBuf b = {};
        path_format(&part, &b);
        int r = textbuf_steal(&b, &field);
        if (r < 0)
                return r;
        return spec_error_set(c->error, EINVAL, field, dup->line, dup->column, "duplicate field '%s'",
                              field);
}

static int convert_object(Converter *c, json_object *j, size_t *cursor, const PathPart *path, TomlValue *v) {
        size_t i = skip_ws(c, *cursor + 1);
        size_t allocated = 0;
        int r;

        v->type = TOML_TABLE;
        while (i < c->len && c->text[i] != '}') {
                size_t key_start = i, key_end;
                char *key = NULL;

                if (c->text[i] == '\'')
                        return converter_error(c, i, path, "field names must be in double quotes");
                if (c->text[i] != '"')
                        return walk_over(c, cursor);
                key_end = skip_string(c, i);
                r = decode_key(c, key_start, key_end, path, &key);
                if (r < 0)
                        return r;

                if (v->table.n == allocated) {
                        size_t a = MAX(allocated * 2, (size_t) 4);
                        TomlKeyValue *items = reallocarray(v->table.items, a, sizeof(TomlKeyValue));
                        if (!items) {
                                free(key);
                                return -ENOMEM;
                        }
                        v->table.items = items;
                        allocated = a;
                }
                TomlKeyValue *kv = &v->table.items[v->table.n++];
                *kv = (TomlKeyValue) { .key = key, .key_len = strlen(key) };
                converter_position(c, key_start, &kv->line, &kv->column);

                i = skip_ws(c, key_end);
                if (i >= c->len || c->text[i] != ':')
                        return walk_over(c, cursor);
                i = skip_ws(c, i + 1);

                PathPart part = { .up = path, .key = key };
                json_object *child = NULL;
                bool found = json_object_object_get_ex(j, key, &child);
                if (!found) {
                        /* Cannot happen with well-formed text: walk over it all the same. */
                        c->mismatch = true;
                        child = NULL;
                }
                r = convert_value(c, child, &i, &part, &kv->value);
                if (r < 0)
                        return r;

                i = skip_ws(c, i);
                if (i < c->len && c->text[i] == ',')
                        i = skip_ws(c, i + 1);
        }

        *cursor = MIN(i + 1, c->len);
        if (v->table.n != (size_t) json_object_object_length(j))
                return report_duplicate(c, v, path);
        return 0;
}

static int convert_array(Converter *c, json_object *j, size_t *cursor, const PathPart *path, TomlValue *v) {
        size_t n = json_object_array_length(j);
        size_t i = skip_ws(c, *cursor + 1);
        int r;

        v->type = TOML_ARRAY;
        v->array.items = calloc(MAX(n, (size_t) 1), sizeof(TomlValue *));
        if (!v->array.items)
                return -ENOMEM;
        while (i < c->len && c->text[i] != ']') {
                PathPart part = { .up = path, .index = v->array.n };

                if (v->array.n >= n) {
                        /* More elements in the text than in the tree: cannot happen; walk over them. */
                        c->mismatch = true;
                        i = skip_value(c, i);
                } else {
                        r = convert_value(c, json_object_array_get_idx(j, v->array.n), &i, &part,
                                          &v->array.items[v->array.n]);
                        if (r < 0)
                                return r;
                        v->array.n++;
                }
                i = skip_ws(c, i);
                if (i < c->len && c->text[i] == ',')
                        i = skip_ws(c, i + 1);
                else if (i < c->len && c->text[i] != ']')
                        return walk_over(c, cursor);
        }
        if (v->array.n != n)
                c->mismatch = true;
        *cursor = MIN(i + 1, c->len);
        return 0;
}

static int convert_value(Converter *c, json_object *j, size_t *cursor, const PathPart *path,
                         TomlValue **ret) {
        _cleanup_(toml_value_freep) TomlValue *v = NULL;
        size_t start = *cursor;
        char ch = start < c->len ? c->text[start] : 0;
        int r = 0;

        v = calloc(1, sizeof(TomlValue));
        if (!v)
                return -ENOMEM;
        converter_position(c, start, &v->line, &v->column);

        if (ch == 'n' && !j)
                return converter_error(c, start, path, "null is not allowed");

        /* What the text says must be what the tree has; only a duplicate key makes them differ. */
        switch (j ? json_object_get_type(j) : json_type_null) {
        case json_type_object:
                if (ch != '{')
                        break;
                r = convert_object(c, j, cursor, path, v);
                goto done;
        case json_type_array:
                if (ch != '[')
                        break;
                r = convert_array(c, j, cursor, path, v);
                goto done;
        case json_type_string:
                if (ch != '"')
                        break;
                v->type = TOML_STRING;
                v->string.len = (size_t) json_object_get_string_len(j);
                v->string.data = malloc(v->string.len + 1);
                if (!v->string.data)
                        return -ENOMEM;
                memcpy(v->string.data, json_object_get_string(j), v->string.len);
                v->string.data[v->string.len] = 0;
                *cursor = skip_string(c, start);
                goto done;
        case json_type_boolean:
                if (ch != 't' && ch != 'f')
                        break;
                v->type = TOML_BOOL;
                v->boolean = json_object_get_boolean(j);
                *cursor = skip_value(c, start);
                goto done;
        case json_type_int:
        case json_type_double:
                if (!(ch == '-' || (ch >= '0' && ch <= '9') || ch == 'N' || ch == 'I'))
                        break;
                if (json_object_is_type(j, json_type_int)) {
                        v->type = TOML_INTEGER;
                        v->integer = json_object_get_int64(j); /* beyond INT64_MAX: INT64_MAX */
                } else {
                        v->type = TOML_FLOAT;
                        v->floating = json_object_get_double(j);
                }
                *cursor = skip_value(c, start);
                goto done;
        case json_type_null:
                break;
        }
        /* A placeholder, never looked at: the whole object fails. */
        v->type = TOML_BOOL;
        r = walk_over(c, cursor);
done:
        if (r < 0)
                return r;
        *ret = TAKE_PTR(v);
        return 0;
}

/* ---- the reader ---- */

int job_spec_reader_new(JobSpecReaderFunc callback, void *userdata, JobSpecReader **ret) {
        _cleanup_(job_spec_reader_freep) JobSpecReader *r = calloc(1, sizeof(JobSpecReader));
        if (!r)
                return -ENOMEM;
        *r = (JobSpecReader) {
                .callback = callback,
                .userdata = userdata,
                .max_object_size = JOB_SPEC_READER_OBJECT_SIZE_MAX,
                .max_depth = JOB_SPEC_READER_DEPTH_MAX,
                .line = 1,
                .column = 1,
        };
        r->tok = tokener_new(r->max_depth);
        r->key_tok = tokener_new(/* max_depth= */ 0);
        if (!r->tok || !r->key_tok)
                return -ENOMEM;
        *ret = TAKE_PTR(r);
        return 0;
}

JobSpecReader *job_spec_reader_free(JobSpecReader *r) {
        if (!r)
                return NULL;
        if (r->tok)
                json_tokener_free(r->tok);
        if (r->key_tok)
                json_tokener_free(r->key_tok);
        textbuf_done(&r->text);
        return mfree(r);
}

int job_spec_reader_set_limits(JobSpecReader *r, size_t max_object_size, unsigned max_depth) {
        if (r->started || max_object_size < 1 || max_object_size > INT_MAX || max_depth < 1 ||
            max_depth > 1000)
                return -EINVAL;

        struct json_tokener *tok = tokener_new(max_depth);
        if (!tok)
                return -ENOMEM;
        json_tokener_free(r->tok);
        r->tok = tok;
        r->max_object_size = max_object_size;
        r->max_depth = max_depth;
        return 0;
}

unsigned job_spec_reader_jobs(const JobSpecReader *r) {
        return r->jobs;
}

_printf_(5, 6) static int reader_fail(JobSpecReader *r, int error, size_t offset, SpecError *reterr,
                                      const char *format, ...) {
        unsigned line = r->line, column = r->column;
        va_list ap;

        /* offset counts from the start of the current object's text, and may reach past what it holds so far
         * only by the bytes of the current chunk, which the caller appended. */
        position_advance(&line, &column, r->text.data, MIN(offset, r->text.len));
        r->failure = (SpecError) { .job = r->jobs, .line = line, .column = column };
        va_start(ap, format);
        vsnprintf(r->failure.message, sizeof(r->failure.message), format, ap);
        va_end(ap);
        r->failed = -abs(error);
        if (reterr)
                *reterr = r->failure;
        return r->failed;
}

/* Out of memory, or a callback asked to stop: the reader takes no more input. */
static int reader_stop(JobSpecReader *r, int error) {
        if (r->failed == 0) {
                r->failed = error;
                r->failure = (SpecError) { .job = r->jobs };
                snprintf(r->failure.message, sizeof(r->failure.message), "%s",
                         error == -ENOMEM ? "out of memory" : "reading was stopped");
        }
        return error;
}

/* A value is complete: the text holds it (and maybe whitespace after it). */
static int reader_complete(JobSpecReader *r, json_object *o) {
        _cleanup_(toml_value_freep) TomlValue *doc = NULL;
        _cleanup_(job_spec_freep) JobSpec *spec = NULL;
        SpecError error = { .job = r->jobs };
        unsigned job = r->jobs;
        int q;

        Converter c = {
                .text = r->text.data,
                .len = r->text.len,
                .base_line = r->line,
                .base_column = r->column,
                .line = r->line,
                .column = r->column,
                .key_tok = r->key_tok,
                .error = &error,
        };
        size_t cursor = 0;

        if (r->text.oom)
                return -ENOMEM;
        if (!o)
                q = spec_error_set(&error, EINVAL, /* field= */ NULL, r->line, r->column,
                                   "expected a job object, got null");
        else
                q = convert_value(&c, o, &cursor, /* path= */ NULL, &doc);
        if (q >= 0 && c.mismatch)
                q = spec_error_set(&error, EINVAL, /* field= */ NULL, r->line, r->column,
                                   "the JSON parser and the position scanner disagree");
        if (q >= 0)
                q = job_spec_decode(doc, &spec, &error);
        if (q == -ENOMEM)
                return q;
        error.job = job;

        /* Done with this object before calling out. */
        position_advance(&r->line, &r->column, r->text.data, r->text.len);
        r->text.len = 0;
        r->in_object = false;
        json_tokener_reset(r->tok);

        if (q < 0)
                return r->callback(r, job, /* spec= */ NULL, &error, r->userdata);
        return r->callback(r, job, TAKE_PTR(spec), /* error= */ NULL, r->userdata);
}

static int reader_error(JobSpecReader *r, enum json_tokener_error jerr, size_t offset, SpecError *reterr) {
        if (jerr == json_tokener_error_depth)
                return reader_fail(r, E2BIG, offset, reterr, "malformed JSON: nested deeper than %u levels",
                                   r->max_depth);
        if (offset < r->text.len) {
                unsigned char ch = (unsigned char) r->text.data[offset];
                if (ch >= 0x20 && ch < 0x7f)
                        return reader_fail(r, EBADMSG, offset, reterr, "malformed JSON: %s (found %s%c%s)",
                                           json_tokener_error_desc(jerr), ch == '\'' ? "\"" : "'", ch,
                                           ch == '\'' ? "\"" : "'");
        }
        return reader_fail(r, EBADMSG, offset, reterr, "malformed JSON: %s", json_tokener_error_desc(jerr));
}

int job_spec_reader_feed(JobSpecReader *r, const void *data, size_t size, SpecError *reterr) {
        const char *p = data;
        int q;

        if (r->failed < 0) {
                if (reterr)
                        *reterr = r->failure;
                return r->failed;
        }
        r->started = true;

        while (size > 0) {
                if (!r->in_object) {
                        /* Whitespace between values belongs to none of them. */
                        size_t n = 0;
                        while (n < size && is_ws(p[n]))
                                n++;
                        position_advance(&r->line, &r->column, p, n);
                        p += n;
                        size -= n;
                        if (size == 0)
                                break;
                        r->in_object = true;
                        r->jobs++;
                }

                size_t n = MIN(size, r->max_object_size - r->text.len);
                if (n == 0)
                        return reader_fail(r, E2BIG, 0, reterr, "object larger than %zu bytes",
                                           r->max_object_size);

                /* json-c takes a NUL byte for the end of the input; JSON text never contains one. */
                const char *nul = memchr(p, 0, n);
                size_t feed = nul ? (size_t) (nul - p) : n;

                json_object *o = NULL;
                enum json_tokener_error jerr = json_tokener_continue;
                if (feed > 0) {
                        o = json_tokener_parse_ex(r->tok, p, (int) feed);
                        jerr = json_tokener_get_error(r->tok);
                }
                size_t used = jerr == json_tokener_continue ? feed : json_tokener_get_parse_end(r->tok);
                size_t at = r->text.len + used; /* offset of the next unused byte in the object's text */

                textbuf_append_len(&r->text, p, jerr == json_tokener_success ? used : feed);
                if (r->text.oom) {
                        json_object_put(o);
                        return reader_stop(r, -ENOMEM);
                }
                p += used;
                size -= used;

                if (jerr == json_tokener_success) {
                        q = reader_complete(r, o);
                        json_object_put(o);
                        if (q < 0)
                                return reader_stop(r, q);
                } else if (jerr != json_tokener_continue)
                        return reader_error(r, jerr, at, reterr);
                else if (nul)
                        return reader_fail(r, EBADMSG, at, reterr, "malformed JSON: a NUL byte");
        }
        return 0;
}

int job_spec_reader_finish(JobSpecReader *r, SpecError *reterr) {
        if (r->failed < 0) {
                if (reterr)
                        *reterr = r->failure;
                return r->failed;
        }
        r->started = true;
        if (!r->in_object)
                return 0;

        /* Passing the terminating NUL tells json-c that the input ends here. */
        json_object *o = json_tokener_parse_ex(r->tok, "", 1);
        enum json_tokener_error jerr = json_tokener_get_error(r->tok);
        if (jerr != json_tokener_success)
                return reader_fail(r, EBADMSG, r->text.len, reterr,
                                   "malformed JSON: unexpected end of input in the value that starts at "
                                   "line %u, column %u", r->line, r->column);
        int q = reader_complete(r, o);
        json_object_put(o);
        return q < 0 ? reader_stop(r, q) : 0;
}
