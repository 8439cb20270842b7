/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/* A hand-written, single-pass TOML 1.0 parser.
 *
 * The whole input is checked for valid UTF-8 first; after that the parser works on bytes.  Every value
 * is allocated as a TomlNode, which embeds the public TomlValue as its first member and adds the
 * bookkeeping that the redefinition rules need (how a table was created, whether it may still be
 * extended).  Keys of large tables are found through one hash index shared by the whole document, so
 * that big tables are not quadratic. */

#include <assert.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/fd-util.h"
#include "basic/macro.h"
#include "basic/string-util.h"
#include "toml/toml.h"

/* Containers (arrays and tables) may be nested at most this deep, so that the recursive parser, and any
 * recursive walk over the result (including toml_value_free()), have a bounded stack. */
#define TOML_MAX_DEPTH 128U
/* toml_parse_file() refuses larger files. */
#define TOML_FILE_MAX (64U * 1024U * 1024U)
/* Tables with more items than this are indexed in the hash; smaller ones are scanned. */
#define TABLE_INDEX_MIN 8U

enum {
        NODE_HEADER_DEFINED = 1 << 0, /* table defined by a [header], or an element of an [[array]] */
        NODE_DOTTED_DEFINED = 1 << 1, /* table created or extended through dotted keys */
        NODE_FROZEN = 1 << 2,         /* inline table or array literal: can never be extended */
        NODE_TABLE_ARRAY = 1 << 3,    /* array created by [[header]]s */
};

typedef struct TomlNode {
        TomlValue value; /* must stay first: the TomlValue pointers we hand out are node pointers */
        size_t allocated; /* capacity of value.array.items or value.table.items */
        unsigned flags;
        unsigned depth; /* the root table is 0 */
} TomlNode;

typedef struct IndexEntry {
        const TomlNode *table; /* NULL: empty bucket */
        size_t item;
        uint64_t hash;
} IndexEntry;

typedef struct KeyIndex {
        IndexEntry *buckets;
        size_t n_buckets, n_entries;
} KeyIndex;

typedef struct Position {
        unsigned line, column;
} Position;

typedef struct KeyPart {
        char *name;
        size_t len;
        bool taken; /* name is owned by the tree now */
        size_t offset;
        Position pos;
} KeyPart;

typedef struct KeyPath {
        KeyPart *parts;
        size_t n, allocated;
} KeyPath;

typedef struct Parser {
        const char *text;
        size_t size, pos;

        unsigned line;     /* line of pos */
        size_t line_start; /* offset of the first byte of that line */
        size_t column_offset; /* cache for column computation: the column of column_offset is column */
        unsigned column;

        TomlError error;
        KeyIndex index;
        locale_t c_locale;

        TomlNode *root;
        TomlNode *current; /* the table that key/value pairs of the current section go to */
} Parser;

static TomlNode *node_of(TomlValue *v) {
        return (TomlNode *) v;
}

const char *toml_type_describe(TomlType t) {
        switch (t) {
        case TOML_STRING:
                return "a string";
        case TOML_INTEGER:
                return "an integer";
        case TOML_FLOAT:
                return "a float";
        case TOML_BOOL:
                return "a boolean";
        case TOML_DATETIME:
                return "an offset date-time";
        case TOML_DATETIME_LOCAL:
                return "a local date-time";
        case TOML_DATE_LOCAL:
                return "a local date";
        case TOML_TIME_LOCAL:
                return "a local time";
        case TOML_ARRAY:
                return "an array";
        case TOML_TABLE:
                return "a table";
        case _TOML_TYPE_MAX:
        case _TOML_TYPE_INVALID:
                break;
        }
        return "a value";
}

const char *toml_type_to_string(TomlType t) {
        switch (t) {
        case TOML_STRING:
                return "string";
        case TOML_INTEGER:
                return "integer";
        case TOML_FLOAT:
                return "float";
        case TOML_BOOL:
                return "bool";
        case TOML_DATETIME:
                return "datetime";
        case TOML_DATETIME_LOCAL:
                return "datetime-local";
        case TOML_DATE_LOCAL:
                return "date-local";
        case TOML_TIME_LOCAL:
                return "time-local";
        case TOML_ARRAY:
                return "array";
        case TOML_TABLE:
                return "table";
        case _TOML_TYPE_MAX:
        case _TOML_TYPE_INVALID:
                break;
        }
        return NULL;
}

TomlValue *toml_value_free(TomlValue *v) {
        if (!v)
                return NULL;

        switch (v->type) {
        case TOML_STRING:
                free(v->string.data);
                break;
        case TOML_DATETIME:
        case TOML_DATETIME_LOCAL:
        case TOML_DATE_LOCAL:
        case TOML_TIME_LOCAL:
                free(v->datetime);
                break;
        case TOML_ARRAY:
                for (size_t i = 0; i < v->array.n; i++)
                        toml_value_free(v->array.items[i]);
                free(v->array.items);
                break;
        case TOML_TABLE:
                for (size_t i = 0; i < v->table.n; i++) {
                        free(v->table.items[i].key);
                        toml_value_free(v->table.items[i].value);
                }
                free(v->table.items);
                break;
        case TOML_INTEGER:
        case TOML_FLOAT:
        case TOML_BOOL:
        case _TOML_TYPE_MAX:
        case _TOML_TYPE_INVALID:
                break;
        }

        free(v);
        return NULL;
}

const TomlKeyValue *toml_table_get(const TomlValue *table, const char *key) {
        if (!table || !key || table->type != TOML_TABLE)
                return NULL;

        size_t len = strlen(key);
        for (size_t i = 0; i < table->table.n; i++) {
                const TomlKeyValue *kv = &table->table.items[i];
                if (kv->key_len == len && memcmp(kv->key, key, len) == 0)
                        return kv;
        }
        return NULL;
}

/* ---- positions and errors ---- */

static unsigned count_columns(const char *s, size_t n) {
        unsigned c = 0;
        for (size_t i = 0; i < n; i++)
                if (((unsigned char) s[i] & 0xC0) != 0x80)
                        c++;
        return c;
}

/* Line and column (in characters) of a byte offset.  Offsets on the current line are cheap; older ones
 * (only needed for some error messages) are found by scanning from the start. */
static Position parser_position(Parser *p, size_t offset) {
        if (offset >= p->line_start) {
                if (p->column_offset < p->line_start || p->column_offset > offset) {
                        p->column_offset = p->line_start;
                        p->column = 1;
                }
                p->column += count_columns(p->text + p->column_offset, offset - p->column_offset);
                p->column_offset = offset;
                return (Position) { p->line, p->column };
        }

        unsigned line = 1;
        size_t start = 0;
        for (size_t i = 0; i < offset; i++)
                if (p->text[i] == '\n') {
                        line++;
                        start = i + 1;
                }
        /* The BOM is not a column. */
        if (start == 0 && offset >= 3 && memcmp(p->text, "\xEF\xBB\xBF", 3) == 0)
                start = 3;
        return (Position) { line, 1 + count_columns(p->text + start, offset - start) };
}

static Position parser_here(Parser *p) {
        return parser_position(p, p->pos);
}

_printf_(3, 0) static int parser_errorv(Parser *p, Position pos, const char *format, va_list ap) {
        p->error.line = pos.line;
        p->error.column = pos.column;
        (void) vsnprintf(p->error.message, sizeof(p->error.message), format, ap);
        return -EBADMSG;
}

_printf_(3, 4) static int parser_error_at(Parser *p, Position pos, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        int r = parser_errorv(p, pos, format, ap);
        va_end(ap);
        return r;
}

_printf_(3, 4) static int parser_error(Parser *p, size_t offset, const char *format, ...) {
        va_list ap;

        Position pos = parser_position(p, offset);
        va_start(ap, format);
        int r = parser_errorv(p, pos, format, ap);
        va_end(ap);
        return r;
}

static int parser_oom(Parser *p) {
        Position pos = parser_here(p);
        p->error.line = pos.line;
        p->error.column = pos.column;
        (void) snprintf(p->error.message, sizeof(p->error.message), "out of memory");
        return -ENOMEM;
}

/* Human-readable form of a (part of a) key for messages: components joined by '.', control characters
 * replaced by '?', shortened with "..." if it does not fit. */
static const char *format_key(const KeyPath *path, size_t n, char *buf, size_t size) {
        size_t k = 0, limit = size - 4; /* room for "..." and the NUL */
        bool truncated = false;

        assert(size > 8);
        for (size_t i = 0; i < n && !truncated; i++) {
                const KeyPart *part = &path->parts[i];

                for (size_t j = (i > 0 ? 0 : 1); j <= part->len; j++) {
                        /* j == 0 stands for the '.' before the part */
                        unsigned char c = j == 0 ? '.' : (unsigned char) part->name[j - 1];
                        if (k >= limit) {
                                truncated = true;
                                break;
                        }
                        buf[k++] = c < 0x20 || c == 0x7F ? '?' : (char) c;
                }
        }
        if (truncated) {
                /* Do not cut a UTF-8 sequence in half. */
                while (k > 0 && ((unsigned char) buf[k - 1] & 0xC0) == 0x80)
                        k--;
                if (k > 0 && (unsigned char) buf[k - 1] >= 0xC0)
                        k--;
                memcpy(buf + k, "...", 3);
                k += 3;
        }
        buf[k] = 0;
        return buf;
}

static void describe_char(int c, char *buf, size_t size) {
        if (c < 0)
                (void) snprintf(buf, size, "end of file");
        else if (c == '\n' || c == '\r')
                (void) snprintf(buf, size, "end of line");
        else if (c < 0x20 || c == 0x7F)
                (void) snprintf(buf, size, "control character U+%04X", (unsigned) c);
        else if (c >= 0x80)
                (void) snprintf(buf, size, "non-ASCII character");
        else
                (void) snprintf(buf, size, "'%c'", c);
}

/* ---- nodes, tables and the key index ---- */

static void parser_done(Parser *p) {
        free(p->index.buckets);
        if (p->c_locale)
                freelocale(p->c_locale);
        if (p->root)
                toml_value_free(&p->root->value);
}

static int node_new(Parser *p, TomlType type, Position pos, unsigned depth, TomlNode **ret) {
        if ((type == TOML_ARRAY || type == TOML_TABLE) && depth > TOML_MAX_DEPTH)
                return parser_error_at(p, pos, "nesting too deep (at most %u levels of arrays and tables)",
                                       TOML_MAX_DEPTH);

        TomlNode *n = calloc(1, sizeof(TomlNode));
        if (!n)
                return parser_oom(p);
        n->value.type = type;
        n->value.line = pos.line;
        n->value.column = pos.column;
        n->depth = depth;
        *ret = n;
        return 0;
}

static TomlNode *node_free(TomlNode *n) {
        if (n)
                toml_value_free(&n->value);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(TomlNode *, node_free);

static uint64_t key_hash(const TomlNode *table, const char *key, size_t len) {
        uint64_t h = 0xcbf29ce484222325ULL ^ ((uint64_t) (uintptr_t) table * 0x9E3779B97F4A7C15ULL);
        for (size_t i = 0; i < len; i++) {
                h ^= (unsigned char) key[i];
                h *= 0x100000001b3ULL;
        }
        /* splitmix64 finalizer */
        h ^= h >> 30;
        h *= 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 27;
        h *= 0x94d049bb133111ebULL;
        h ^= h >> 31;
        return h;
}

static void index_place(IndexEntry *buckets, size_t n_buckets, IndexEntry e) {
        size_t mask = n_buckets - 1;
        for (size_t i = (size_t) e.hash & mask;; i = (i + 1) & mask)
                if (!buckets[i].table) {
                        buckets[i] = e;
                        return;
                }
}

static int index_add(Parser *p, const TomlNode *table, size_t item) {
        KeyIndex *idx = &p->index;

        if ((idx->n_entries + 1) * 2 > idx->n_buckets) {
                size_t n = MAX(idx->n_buckets * 2, (size_t) 256);
                IndexEntry *b = calloc(n, sizeof(IndexEntry));
                if (!b)
                        return parser_oom(p);
                for (size_t i = 0; i < idx->n_buckets; i++)
                        if (idx->buckets[i].table)
                                index_place(b, n, idx->buckets[i]);
                free(idx->buckets);
                idx->buckets = b;
                idx->n_buckets = n;
        }

        const TomlKeyValue *kv = &table->value.table.items[item];
        index_place(idx->buckets, idx->n_buckets,
                    (IndexEntry) {
                            .table = table,
                            .item = item,
                            .hash = key_hash(table, kv->key, kv->key_len),
                    });
        idx->n_entries++;
        return 0;
}

static TomlKeyValue *table_find(Parser *p, TomlNode *table, const char *key, size_t len) {
        TomlKeyValue *items = table->value.table.items;
        size_t n = table->value.table.n;

        if (n <= TABLE_INDEX_MIN) {
                for (size_t i = 0; i < n; i++)
                        if (items[i].key_len == len && memcmp(items[i].key, key, len) == 0)
                                return &items[i];
                return NULL;
        }

        uint64_t h = key_hash(table, key, len);
        size_t mask = p->index.n_buckets - 1;
        for (size_t i = (size_t) h & mask;; i = (i + 1) & mask) {
                const IndexEntry *e = &p->index.buckets[i];
                if (!e->table)
                        return NULL;
                if (e->table == table && e->hash == h && items[e->item].key_len == len &&
                    memcmp(items[e->item].key, key, len) == 0)
                        return &items[e->item];
        }
}

/* Appends key = value to the table.  On success the table owns both key and value. */
static int table_add(Parser *p, TomlNode *table, char *key, size_t len, Position pos, TomlNode *value) {
        size_t n = table->value.table.n;
        int r;

        if (n >= table->allocated) {
                size_t a = MAX(table->allocated * 2, (size_t) 4);
                TomlKeyValue *items = reallocarray(table->value.table.items, a, sizeof(TomlKeyValue));
                if (!items)
                        return parser_oom(p);
                table->value.table.items = items;
                table->allocated = a;
        }

        table->value.table.items[n] = (TomlKeyValue) {
                .key = key,
                .key_len = len,
                .line = pos.line,
                .column = pos.column,
                .value = &value->value,
        };

        if (n + 1 > TABLE_INDEX_MIN) {
                /* The table grows past the linear-scan size: index everything it has so far. */
                for (size_t i = n + 1 == TABLE_INDEX_MIN + 1 ? 0 : n; i <= n; i++) {
                        r = index_add(p, table, i);
                        if (r < 0)
                                return r;
                }
        }

        table->value.table.n = n + 1;
        return 0;
}

static int array_append(Parser *p, TomlNode *array, TomlNode *item) {
        size_t n = array->value.array.n;

        if (n >= array->allocated) {
                size_t a = MAX(array->allocated * 2, (size_t) 4);
                TomlValue **items = reallocarray(array->value.array.items, a, sizeof(TomlValue *));
                if (!items)
                        return parser_oom(p);
                array->value.array.items = items;
                array->allocated = a;
        }
        array->value.array.items[n] = &item->value;
        array->value.array.n = n + 1;
        return 0;
}

/* Creates an empty table and adds it to parent under the key part, which it takes. */
static int table_add_new_table(Parser *p, TomlNode *parent, KeyPart *k, Position pos, unsigned flags,
                               TomlNode **ret) {
        _cleanup_(node_freep) TomlNode *t = NULL;
        int r;

        r = node_new(p, TOML_TABLE, pos, parent->depth + 1, &t);
        if (r < 0)
                return r;
        t->flags = flags;

        r = table_add(p, parent, k->name, k->len, pos, t);
        if (r < 0)
                return r;
        k->taken = true;
        *ret = TAKE_PTR(t);
        return 0;
}

/* ---- low-level scanning ---- */

static int peek(const Parser *p) {
        return p->pos < p->size ? (unsigned char) p->text[p->pos] : -1;
}

static int peek_at(const Parser *p, size_t k) {
        return p->size - p->pos > k ? (unsigned char) p->text[p->pos + k] : -1;
}

static bool is_control(int c) {
        return (c >= 0 && c < 0x20 && c != '\t') || c == 0x7F;
}

static bool is_digit(int c) {
        return c >= '0' && c <= '9';
}

static bool is_bare_key_char(int c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '_' || c == '-';
}

static void skip_ws(Parser *p) {
        while (p->pos < p->size && (p->text[p->pos] == ' ' || p->text[p->pos] == '\t'))
                p->pos++;
}

/* If at a newline (LF or CRLF), consume it and return true. */
static bool consume_newline(Parser *p) {
        size_t n;

        if (peek(p) == '\n')
                n = 1;
        else if (peek(p) == '\r' && peek_at(p, 1) == '\n')
                n = 2;
        else
                return false;

        p->pos += n;
        p->line++;
        p->line_start = p->pos;
        return true;
}

/* At '#': skip the comment up to (not including) the end of the line. */
static int skip_comment(Parser *p) {
        assert(peek(p) == '#');

        for (p->pos++; p->pos < p->size; p->pos++) {
                unsigned char c = (unsigned char) p->text[p->pos];

                if (c == '\n')
                        break;
                if (c == '\r') {
                        if (peek_at(p, 1) == '\n')
                                break;
                        return parser_error(p, p->pos,
                                            "carriage return in comment not followed by line feed");
                }
                if (is_control(c))
                        return parser_error(p, p->pos, "control character U+%04X not allowed in comment",
                                            (unsigned) c);
        }
        return 0;
}

/* Whitespace, comments and newlines, as allowed between array elements. */
static int skip_ws_comments_newlines(Parser *p) {
        int r;

        for (;;) {
                skip_ws(p);
                int c = peek(p);
                if (c == '#') {
                        r = skip_comment(p);
                        if (r < 0)
                                return r;
                } else if (c == '\r' && peek_at(p, 1) != '\n')
                        return parser_error(p, p->pos, "carriage return not followed by line feed");
                else if (!consume_newline(p))
                        return 0;
        }
}

static bool utf8_validate(const char *text, size_t size, size_t *reterr_offset) {
        const unsigned char *s = (const unsigned char *) text;

        for (size_t i = 0; i < size;) {
                unsigned char c = s[i];
                size_t len;
                uint32_t cp, min;

                if (c < 0x80) {
                        i++;
                        continue;
                }
                if ((c & 0xE0) == 0xC0) {
                        len = 2;
                        cp = c & 0x1F;
                        min = 0x80;
                } else if ((c & 0xF0) == 0xE0) {
                        len = 3;
                        cp = c & 0x0F;
                        min = 0x800;
                } else if ((c & 0xF8) == 0xF0) {
                        len = 4;
                        cp = c & 0x07;
                        min = 0x10000;
                } else {
                        *reterr_offset = i;
                        return false;
                }

                if (size - i < len) {
                        *reterr_offset = i;
                        return false;
                }
                for (size_t k = 1; k < len; k++) {
                        if ((s[i + k] & 0xC0) != 0x80) {
                                *reterr_offset = i;
                                return false;
                        }
                        cp = (cp << 6) | (s[i + k] & 0x3F);
                }
                if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
                        *reterr_offset = i;
                        return false;
                }
                i += len;
        }
        return true;
}

static void append_utf8(TextBuf *b, uint32_t cp) {
        char buf[4];
        size_t n;

        if (cp < 0x80) {
                buf[0] = (char) cp;
                n = 1;
        } else if (cp < 0x800) {
                buf[0] = (char) (0xC0 | (cp >> 6));
                buf[1] = (char) (0x80 | (cp & 0x3F));
                n = 2;
        } else if (cp < 0x10000) {
                buf[0] = (char) (0xE0 | (cp >> 12));
                buf[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
                buf[2] = (char) (0x80 | (cp & 0x3F));
                n = 3;
        } else {
                buf[0] = (char) (0xF0 | (cp >> 18));
                buf[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
                buf[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
                buf[3] = (char) (0x80 | (cp & 0x3F));
                n = 4;
        }
        textbuf_append_len(b, buf, n);
}

/* ---- strings ---- */

/* At a backslash inside a basic string: decodes one escape sequence into b.  In multi-line strings a
 * backslash at the end of a line swallows all whitespace and newlines that follow. */
static int parse_escape(Parser *p, TextBuf *b, bool multiline) {
        size_t start = p->pos;
        int c = peek_at(p, 1);
        size_t digits;

        switch (c) {
        case 'b':
                textbuf_append_char(b, '\b');
                p->pos += 2;
                return 0;
        case 't':
                textbuf_append_char(b, '\t');
                p->pos += 2;
                return 0;
        case 'n':
                textbuf_append_char(b, '\n');
                p->pos += 2;
                return 0;
        case 'f':
                textbuf_append_char(b, '\f');
                p->pos += 2;
                return 0;
        case 'r':
                textbuf_append_char(b, '\r');
                p->pos += 2;
                return 0;
        case '"':
                textbuf_append_char(b, '"');
                p->pos += 2;
                return 0;
        case '\\':
                textbuf_append_char(b, '\\');
                p->pos += 2;
                return 0;
        case 'u':
                digits = 4;
                break;
        case 'U':
                digits = 8;
                break;
        case ' ':
        case '\t':
        case '\n':
        case '\r':
                if (!multiline)
                        return parser_error(p, start,
                                            "invalid escape sequence: '\\' followed by whitespace");

                /* A line-ending backslash: only whitespace may follow it on its line. */
                p->pos++;
                skip_ws(p);
                if (!consume_newline(p))
                        return parser_error(p, start,
                                            "invalid escape sequence: '\\' followed by whitespace must be "
                                            "at the end of the line");
                for (;;) {
                        skip_ws(p);
                        if (peek(p) == '\r' && peek_at(p, 1) != '\n')
                                return parser_error(p, p->pos, "carriage return not followed by line feed");
                        if (!consume_newline(p))
                                return 0;
                }
        default: {
                char what[48];
                if (c > 0x20 && c < 0x7F)
                        return parser_error(p, start, "invalid escape sequence '\\%c'", c);
                describe_char(c, what, sizeof(what));
                return parser_error(p, start, "invalid escape sequence: '\\' followed by %s", what);
        }
        }

        uint32_t cp = 0;
        for (size_t i = 0; i < digits; i++) {
                int h = peek_at(p, 2 + i);
                unsigned v;

                if (h >= '0' && h <= '9')
                        v = (unsigned) (h - '0');
                else if (h >= 'a' && h <= 'f')
                        v = (unsigned) (h - 'a' + 10);
                else if (h >= 'A' && h <= 'F')
                        v = (unsigned) (h - 'A' + 10);
                else
                        return parser_error(p, start,
                                            "invalid escape sequence: '\\%c' needs exactly %zu "
                                            "hexadecimal digits",
                                            c, digits);
                cp = (cp << 4) | v;
        }
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                return parser_error(p, start,
                                    "invalid escape sequence: U+%04X is not a Unicode scalar value", cp);

        append_utf8(b, cp);
        p->pos += 2 + digits;
        return 0;
}

static int string_finish(Parser *p, TextBuf *b, char **ret, size_t *ret_len) {
        size_t len = b->len;
        if (textbuf_steal(b, ret) < 0)
                return parser_oom(p);
        *ret_len = len;
        return 0;
}

/* A single-line basic ("...") or literal ('...') string. */
static int parse_single_line_string(Parser *p, char **ret, size_t *ret_len) {
        _cleanup_(textbuf_done) TextBuf b = {};
        size_t start = p->pos;
        char quote = p->text[p->pos];
        bool basic = quote == '"';
        int r;

        p->pos++;
        for (;;) {
                size_t run = p->pos;
                while (p->pos < p->size) {
                        unsigned char c = (unsigned char) p->text[p->pos];
                        if (c == (unsigned char) quote || (basic && c == '\\') || is_control(c))
                                break;
                        p->pos++;
                }
                textbuf_append_len(&b, p->text + run, p->pos - run);

                int c = peek(p);
                if (c < 0 || c == '\n' || (c == '\r' && peek_at(p, 1) == '\n'))
                        return parser_error(p, start,
                                            "unterminated %s string (missing closing %c on this line)",
                                            basic ? "basic" : "literal", quote);
                if (c == quote) {
                        p->pos++;
                        break;
                }
                if (c == '\\') {
                        r = parse_escape(p, &b, /* multiline= */ false);
                        if (r < 0)
                                return r;
                        continue;
                }
                return parser_error(p, p->pos, "control character U+%04X not allowed in %s string%s",
                                    (unsigned) c, basic ? "basic" : "literal",
                                    basic ? " (it must be escaped)" : "");
        }

        return string_finish(p, &b, ret, ret_len);
}

/* A multi-line basic ("""...""") or literal ('''...''') string. */
static int parse_multi_line_string(Parser *p, char **ret, size_t *ret_len) {
        _cleanup_(textbuf_done) TextBuf b = {};
        Position start = parser_here(p);
        char quote = p->text[p->pos];
        bool basic = quote == '"';
        int r;

        p->pos += 3;
        /* A newline right after the opening delimiter is trimmed. */
        (void) consume_newline(p);

        for (;;) {
                size_t run = p->pos;
                while (p->pos < p->size) {
                        unsigned char c = (unsigned char) p->text[p->pos];
                        if (c == (unsigned char) quote || (basic && c == '\\') || c == '\n' || c == '\r' ||
                            is_control(c))
                                break;
                        p->pos++;
                }
                textbuf_append_len(&b, p->text + run, p->pos - run);

                int c = peek(p);
                if (c < 0)
                        return parser_error_at(p, start,
                                               "unterminated multi-line %s string (missing closing %c%c%c)",
                                               basic ? "basic" : "literal", quote, quote, quote);
                if (c == quote) {
                        size_t q = 0;
                        while (peek_at(p, q) == quote)
                                q++;
                        if (q < 3) {
                                textbuf_append_len(&b, p->text + p->pos, q);
                                p->pos += q;
                                continue;
                        }
                        if (q > 5)
                                return parser_error(p, p->pos + 5,
                                                    "too many %c after the end of a multi-line string "
                                                    "(at most two may precede the closing delimiter)",
                                                    quote);
                        /* Up to two quotes right before the closing delimiter belong to the string. */
                        textbuf_append_len(&b, p->text + p->pos, q - 3);
                        p->pos += q;
                        break;
                }
                if (c == '\\') {
                        r = parse_escape(p, &b, /* multiline= */ true);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (c == '\n' || c == '\r') {
                        if (!consume_newline(p))
                                return parser_error(p, p->pos, "carriage return not followed by line feed");
                        /* Newlines are normalised to LF. */
                        textbuf_append_char(&b, '\n');
                        continue;
                }
                return parser_error(p, p->pos,
                                    "control character U+%04X not allowed in multi-line %s string%s",
                                    (unsigned) c, basic ? "basic" : "literal",
                                    basic ? " (it must be escaped)" : "");
        }

        return string_finish(p, &b, ret, ret_len);
}

/* ---- keys ---- */

static void key_path_done(KeyPath *k) {
        for (size_t i = 0; i < k->n; i++)
                if (!k->parts[i].taken)
                        free(k->parts[i].name);
        free(k->parts);
        *k = (KeyPath) {};
}

static int parse_simple_key(Parser *p, KeyPart *ret) {
        size_t start = p->pos;
        Position pos = parser_here(p);
        char *name = NULL;
        size_t len = 0;
        int c = peek(p);
        int r;

        if (c == '"' || c == '\'') {
                if (peek_at(p, 1) == c && peek_at(p, 2) == c)
                        return parser_error(p, start, "multi-line strings cannot be used as keys");
                r = parse_single_line_string(p, &name, &len);
                if (r < 0)
                        return r;
        } else {
                while (p->pos < p->size && is_bare_key_char((unsigned char) p->text[p->pos]))
                        p->pos++;
                if (p->pos == start) {
                        char what[48];
                        describe_char(c, what, sizeof(what));
                        return parser_error(p, start, "expected a key, got %s%s", what,
                                            c >= 0x80 ? " (non-ASCII keys must be quoted)" : "");
                }
                len = p->pos - start;
                name = strndup(p->text + start, len);
                if (!name)
                        return parser_oom(p);
        }

        *ret = (KeyPart) {
                .name = name,
                .len = len,
                .offset = start,
                .pos = pos,
        };
        return 0;
}

/* A possibly dotted key: simple-key *( ws '.' ws simple-key ).  Leaves pos after the last part. */
static int parse_key(Parser *p, KeyPath *path) {
        int r;

        for (;;) {
                if (path->n >= path->allocated) {
                        size_t a = MAX(path->allocated * 2, (size_t) 4);
                        KeyPart *parts = reallocarray(path->parts, a, sizeof(KeyPart));
                        if (!parts)
                                return parser_oom(p);
                        path->parts = parts;
                        path->allocated = a;
                }
                if (path->n >= TOML_MAX_DEPTH)
                        return parser_error(p, p->pos, "key has too many components (at most %u)",
                                            TOML_MAX_DEPTH);

                r = parse_simple_key(p, &path->parts[path->n]);
                if (r < 0)
                        return r;
                path->n++;

                size_t save = p->pos;
                skip_ws(p);
                if (peek(p) != '.') {
                        p->pos = save;
                        return 0;
                }
                p->pos++;
                skip_ws(p);
        }
}

/* ---- numbers and dates ---- */

static bool is_base_digit(int c, unsigned base) {
        switch (base) {
        case 2:
                return c == '0' || c == '1';
        case 8:
                return c >= '0' && c <= '7';
        case 10:
                return is_digit(c);
        case 16:
                return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        }
        return false;
}

/* digit *( ['_'] digit ): returns the number of characters consumed (0 if s does not start with a digit). */
static size_t scan_digits(const char *s, size_t n, unsigned base) {
        size_t i = 0;

        if (n == 0 || !is_base_digit((unsigned char) s[0], base))
                return 0;
        for (i = 1; i < n;) {
                if (is_base_digit((unsigned char) s[i], base))
                        i++;
                else if (s[i] == '_' && i + 1 < n && is_base_digit((unsigned char) s[i + 1], base))
                        i += 2;
                else
                        break;
        }
        return i;
}

static unsigned digit_value(char c) {
        if (c >= '0' && c <= '9')
                return (unsigned) (c - '0');
        if (c >= 'a' && c <= 'f')
                return (unsigned) (c - 'a' + 10);
        return (unsigned) (c - 'A' + 10);
}

/* Value of the digits (underscores skipped); false if the value is larger than limit. */
static bool digits_value(const char *s, size_t n, unsigned base, uint64_t limit, uint64_t *ret) {
        uint64_t v = 0;

        for (size_t i = 0; i < n; i++) {
                if (s[i] == '_')
                        continue;
                unsigned d = digit_value(s[i]);
                if (v > (limit - d) / base)
                        return false;
                v = v * base + d;
        }
        *ret = v;
        return true;
}

static int number_error(Parser *p, size_t offset, const char *tok, size_t n, size_t bad) {
        int tl = (int) MIN(n, (size_t) 64); /* how much of the token to quote in messages */
        if (bad < n && tok[bad] == '_')
                return parser_error(p, offset + bad, "invalid number '%.*s': '_' must be between two digits",
                                    tl, tok);
        return parser_error(p, offset, "invalid number '%.*s'", tl, tok);
}

static int parse_number(Parser *p, size_t offset, Position pos, const char *tok, size_t n,
                        TomlNode **ret) {
        int tl = (int) MIN(n, (size_t) 64); /* how much of the token to quote in messages */
        _cleanup_(node_freep) TomlNode *v = NULL;
        size_t i = 0;
        bool negative = false, has_sign = false;
        int r;

        if (tok[0] == '+' || tok[0] == '-') {
                negative = tok[0] == '-';
                has_sign = true;
                i = 1;
        }

        if (n - i == 3 && (memcmp(tok + i, "inf", 3) == 0 || memcmp(tok + i, "nan", 3) == 0)) {
                r = node_new(p, TOML_FLOAT, pos, 0, &v);
                if (r < 0)
                        return r;
                if (tok[i] == 'i')
                        v->value.floating = negative ? -INFINITY : INFINITY;
                else
                        v->value.floating = negative ? -NAN : NAN;
                *ret = TAKE_PTR(v);
                return 0;
        }

        if (!is_digit(i < n ? tok[i] : 0)) {
                if (has_sign)
                        return parser_error(p, offset, "invalid number '%.*s'", tl, tok);
                return parser_error(p, offset, "invalid value '%.*s' (strings must be quoted)",
                                    tl, tok);
        }

        /* Hexadecimal, octal and binary integers. */
        if (tok[i] == '0' && i + 1 < n && (tok[i + 1] == 'x' || tok[i + 1] == 'o' || tok[i + 1] == 'b')) {
                unsigned base = tok[i + 1] == 'x' ? 16 : tok[i + 1] == 'o' ? 8 : 2;
                uint64_t u;

                if (has_sign)
                        return parser_error(p, offset,
                                            "invalid number '%.*s': no sign allowed on %s integers",
                                            tl, tok,
                                            base == 16 ? "hexadecimal" : base == 8 ? "octal" : "binary");
                size_t k = scan_digits(tok + i + 2, n - i - 2, base);
                if (k == 0 || i + 2 + k != n)
                        return number_error(p, offset, tok, n, i + 2 + k);
                if (!digits_value(tok + i + 2, k, base, INT64_MAX, &u))
                        return parser_error(p, offset,
                                            "integer '%.*s' out of range (must fit in 64 bits, signed)",
                                            tl, tok);
                r = node_new(p, TOML_INTEGER, pos, 0, &v);
                if (r < 0)
                        return r;
                v->value.integer = (int64_t) u;
                *ret = TAKE_PTR(v);
                return 0;
        }

        /* Decimal integer part */
        size_t int_start = i;
        size_t k = scan_digits(tok + i, n - i, 10);
        assert(k > 0);
        if (tok[i] == '0' && k > 1)
                return parser_error(p, offset, "invalid number '%.*s': leading zeros are not allowed",
                                    tl, tok);
        i += k;
        size_t int_len = k;

        bool is_float = false;
        if (i < n && tok[i] == '.') {
                is_float = true;
                k = scan_digits(tok + i + 1, n - i - 1, 10);
                if (k == 0)
                        return number_error(p, offset, tok, n, i + 1);
                i += 1 + k;
        }
        if (i < n && (tok[i] == 'e' || tok[i] == 'E')) {
                is_float = true;
                i++;
                if (i < n && (tok[i] == '+' || tok[i] == '-'))
                        i++;
                k = scan_digits(tok + i, n - i, 10);
                if (k == 0)
                        return number_error(p, offset, tok, n, i);
                i += k;
        }
        if (i != n)
                return number_error(p, offset, tok, n, i);

        if (!is_float) {
                uint64_t u;

                if (!digits_value(tok + int_start, int_len, 10,
                                  negative ? (uint64_t) INT64_MAX + 1 : INT64_MAX, &u))
                        return parser_error(p, offset,
                                            "integer '%.*s' out of range (must fit in 64 bits, signed)",
                                            tl, tok);
                r = node_new(p, TOML_INTEGER, pos, 0, &v);
                if (r < 0)
                        return r;
                v->value.integer = negative ? (int64_t) (0 - u) : (int64_t) u;
                *ret = TAKE_PTR(v);
                return 0;
        }

        /* Float: strip the underscores and convert in the C locale. */
        _cleanup_free_ char *clean = malloc(n + 1);
        if (!clean)
                return parser_oom(p);
        size_t m = 0;
        for (size_t j = 0; j < n; j++)
                if (tok[j] != '_')
                        clean[m++] = tok[j];
        clean[m] = 0;

        if (!p->c_locale) {
                p->c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t) 0);
                if (!p->c_locale)
                        return parser_oom(p);
        }
        char *end;
        errno = 0;
        double d = strtod_l(clean, &end, p->c_locale);
        if (end != clean + m)
                return parser_error(p, offset, "invalid number '%.*s'", tl, tok);
        if (errno == ERANGE && isinf(d))
                return parser_error(p, offset, "float '%.*s' out of range", tl, tok);

        r = node_new(p, TOML_FLOAT, pos, 0, &v);
        if (r < 0)
                return r;
        v->value.floating = d;
        *ret = TAKE_PTR(v);
        return 0;
}

static bool digits_at(const char *s, size_t n, size_t at, size_t count) {
        if (at + count > n)
                return false;
        for (size_t i = at; i < at + count; i++)
                if (!is_digit((unsigned char) s[i]))
                        return false;
        return true;
}

static unsigned two_digits(const char *s) {
        return (unsigned) (s[0] - '0') * 10 + (unsigned) (s[1] - '0');
}

static unsigned days_in_month(unsigned year, unsigned month) {
        static const unsigned days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
        bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        return month == 2 && leap ? 29 : days[month - 1];
}

/* HH:MM:SS[.fraction] at s+at; returns the length, or 0 if malformed (*reterr explains). */
static size_t scan_time(const char *s, size_t n, size_t at, const char **reterr) {
        if (!digits_at(s, n, at, 2) || at + 2 >= n || s[at + 2] != ':' || !digits_at(s, n, at + 3, 2)) {
                *reterr = "expected HH:MM:SS";
                return 0;
        }
        if (at + 5 >= n || s[at + 5] != ':' || !digits_at(s, n, at + 6, 2)) {
                *reterr = "seconds are required (HH:MM:SS)";
                return 0;
        }
        if (two_digits(s + at) > 23) {
                *reterr = "hour must be between 00 and 23";
                return 0;
        }
        if (two_digits(s + at + 3) > 59) {
                *reterr = "minute must be between 00 and 59";
                return 0;
        }
        if (two_digits(s + at + 6) > 60) {
                *reterr = "second must be between 00 and 60";
                return 0;
        }

        size_t i = at + 8;
        if (i < n && s[i] == '.') {
                size_t k = i + 1;
                while (k < n && is_digit((unsigned char) s[k]))
                        k++;
                if (k == i + 1) {
                        *reterr = "expected digits after the decimal point of the seconds";
                        return 0;
                }
                i = k;
        }
        return i - at;
}

static int parse_datetime(Parser *p, size_t offset, Position pos, const char *tok, size_t n,
                          TomlNode **ret) {
        int tl = (int) MIN(n, (size_t) 64); /* how much of the token to quote in messages */
        _cleanup_(node_freep) TomlNode *v = NULL;
        _cleanup_free_ char *text = NULL;
        const char *why = NULL;
        TomlType type;
        size_t i;
        int r;

        if (n >= 3 && tok[2] == ':') {
                /* Local time */
                i = scan_time(tok, n, 0, &why);
                if (i == 0)
                        return parser_error(p, offset, "invalid local time '%.*s': %s", tl, tok,
                                            why);
                if (i != n)
                        return parser_error(p, offset, "invalid local time '%.*s'%s", tl, tok,
                                            tok[i] == 'Z' || tok[i] == 'z' || tok[i] == '+' || tok[i] == '-'
                                                    ? ": a time without a date cannot have an offset"
                                                    : "");
                text = strndup(tok, n);
                if (!text)
                        return parser_oom(p);
                type = TOML_TIME_LOCAL;
        } else {
                if (!digits_at(tok, n, 0, 4) || n < 10 || tok[4] != '-' || !digits_at(tok, n, 5, 2) ||
                    tok[7] != '-' || !digits_at(tok, n, 8, 2))
                        return parser_error(p, offset, "invalid date '%.*s': expected YYYY-MM-DD",
                                            tl, tok);
                unsigned year = two_digits(tok) * 100 + two_digits(tok + 2), month = two_digits(tok + 5),
                         day = two_digits(tok + 8);
                if (month < 1 || month > 12)
                        return parser_error(p, offset,
                                            "invalid date '%.*s': month must be between 01 and 12",
                                            tl, tok);
                if (day < 1 || day > days_in_month(year, month))
                        return parser_error(p, offset, "invalid date '%.*s': day out of range for the month",
                                            tl, tok);

                if (n == 10) {
                        type = TOML_DATE_LOCAL;
                        text = strndup(tok, n);
                        if (!text)
                                return parser_oom(p);
                } else {
                        if (tok[10] != 'T' && tok[10] != 't' && tok[10] != ' ')
                                return parser_error(p, offset, "invalid date-time '%.*s'", tl, tok);
                        size_t k = scan_time(tok, n, 11, &why);
                        if (k == 0)
                                return parser_error(p, offset, "invalid date-time '%.*s': %s",
                                                    tl, tok, why);
                        i = 11 + k;
                        if (i == n)
                                type = TOML_DATETIME_LOCAL;
                        else if ((tok[i] == 'Z' || tok[i] == 'z') && i + 1 == n)
                                type = TOML_DATETIME;
                        else if ((tok[i] == '+' || tok[i] == '-') && i + 6 == n &&
                                 digits_at(tok, n, i + 1, 2) && tok[i + 3] == ':' &&
                                 digits_at(tok, n, i + 4, 2)) {
                                if (two_digits(tok + i + 1) > 23 || two_digits(tok + i + 4) > 59)
                                        return parser_error(p, offset,
                                                            "invalid date-time '%.*s': offset out of range",
                                                            tl, tok);
                                type = TOML_DATETIME;
                        } else
                                return parser_error(p, offset,
                                                    "invalid date-time '%.*s': "
                                                    "expected 'Z' or an offset [+-]HH:MM",
                                                    tl, tok);

                        text = strndup(tok, n);
                        if (!text)
                                return parser_oom(p);
                        /* Normalise to RFC 3339: 'T' separator, upper-case 'Z'. */
                        text[10] = 'T';
                        if (text[n - 1] == 'z')
                                text[n - 1] = 'Z';
                }
        }

        r = node_new(p, type, pos, 0, &v);
        if (r < 0)
                return r;
        v->value.datetime = TAKE_PTR(text);
        *ret = TAKE_PTR(v);
        return 0;
}

static bool is_token_char(int c) {
        return is_bare_key_char(c) || c == '+' || c == '.' || c == ':';
}

/* Booleans, numbers and dates/times: scan the whole token, then interpret it. */
static int parse_scalar(Parser *p, TomlNode **ret) {
        _cleanup_(node_freep) TomlNode *v = NULL;
        size_t start = p->pos;
        Position pos = parser_here(p);
        int r;

        while (p->pos < p->size && is_token_char((unsigned char) p->text[p->pos]))
                p->pos++;
        /* A date and a time may be separated by a space instead of 'T'. */
        if (p->pos - start == 10 && digits_at(p->text, p->size, start, 4) && p->text[start + 4] == '-' &&
            peek(p) == ' ' && digits_at(p->text, p->size, p->pos + 1, 2) && peek_at(p, 3) == ':') {
                p->pos++;
                while (p->pos < p->size && is_token_char((unsigned char) p->text[p->pos]))
                        p->pos++;
        }

        const char *tok = p->text + start;
        size_t n = p->pos - start;

        if (n == 0) {
                char what[48];
                describe_char(peek(p), what, sizeof(what));
                return parser_error(p, start, "expected a value, got %s", what);
        }

        if ((n == 4 && memcmp(tok, "true", 4) == 0) || (n == 5 && memcmp(tok, "false", 5) == 0)) {
                r = node_new(p, TOML_BOOL, pos, 0, &v);
                if (r < 0)
                        return r;
                v->value.boolean = n == 4;
                *ret = TAKE_PTR(v);
                return 0;
        }

        if ((digits_at(tok, n, 0, 4) && n > 4 && tok[4] == '-') ||
            (digits_at(tok, n, 0, 2) && n > 2 && tok[2] == ':'))
                return parse_datetime(p, start, pos, tok, n, ret);

        return parse_number(p, start, pos, tok, n, ret);
}

/* ---- values, arrays, inline tables ---- */

static int parse_value(Parser *p, unsigned depth, TomlNode **ret);
static int parse_keyval(Parser *p, TomlNode *table);

static int parse_string_value(Parser *p, TomlNode **ret) {
        _cleanup_(node_freep) TomlNode *v = NULL;
        Position pos = parser_here(p);
        int c = peek(p);
        char *s = NULL;
        size_t len = 0;
        int r;

        if (peek_at(p, 1) == c && peek_at(p, 2) == c)
                r = parse_multi_line_string(p, &s, &len);
        else
                r = parse_single_line_string(p, &s, &len);
        if (r < 0)
                return r;

        r = node_new(p, TOML_STRING, pos, 0, &v);
        if (r < 0) {
                free(s);
                return r;
        }
        v->value.string.data = s;
        v->value.string.len = len;
        *ret = TAKE_PTR(v);
        return 0;
}

static int parse_array(Parser *p, unsigned depth, TomlNode **ret) {
        _cleanup_(node_freep) TomlNode *a = NULL;
        Position start = parser_here(p);
        int r;

        r = node_new(p, TOML_ARRAY, start, depth, &a);
        if (r < 0)
                return r;
        a->flags = NODE_FROZEN;

        p->pos++;
        for (;;) {
                r = skip_ws_comments_newlines(p);
                if (r < 0)
                        return r;
                if (peek(p) == ']') {
                        p->pos++;
                        break;
                }

                _cleanup_(node_freep) TomlNode *item = NULL;
                r = parse_value(p, depth + 1, &item);
                if (r < 0)
                        return r;
                r = array_append(p, a, item);
                if (r < 0)
                        return r;
                TAKE_PTR(item);

                r = skip_ws_comments_newlines(p);
                if (r < 0)
                        return r;
                int c = peek(p);
                if (c == ',') {
                        p->pos++;
                        continue;
                }
                if (c == ']') {
                        p->pos++;
                        break;
                }
                if (c < 0)
                        return parser_error_at(p, start, "unterminated array (missing ']')");
                char what[48];
                describe_char(c, what, sizeof(what));
                return parser_error(p, p->pos, "expected ',' or ']' after an array element, got %s", what);
        }

        *ret = TAKE_PTR(a);
        return 0;
}

static int parse_inline_table(Parser *p, unsigned depth, TomlNode **ret) {
        _cleanup_(node_freep) TomlNode *t = NULL;
        Position start = parser_here(p);
        int r;

        r = node_new(p, TOML_TABLE, start, depth, &t);
        if (r < 0)
                return r;

        p->pos++;
        skip_ws(p);
        if (peek(p) == '}')
                p->pos++;
        else
                for (;;) {
                        skip_ws(p);
                        if (peek(p) == '\n' || peek(p) == '\r')
                                return parser_error(p, p->pos, "newline not allowed in inline table");
                        r = parse_keyval(p, t);
                        if (r < 0)
                                return r;
                        skip_ws(p);

                        int c = peek(p);
                        if (c == ',') {
                                p->pos++;
                                skip_ws(p);
                                if (peek(p) == '}')
                                        return parser_error(p, p->pos,
                                                            "trailing comma not allowed in inline table");
                                continue;
                        }
                        if (c == '}') {
                                p->pos++;
                                break;
                        }
                        if (c < 0)
                                return parser_error_at(p, start, "unterminated inline table (missing '}')");
                        if (c == '\n' || c == '\r')
                                return parser_error(p, p->pos, "newline not allowed in inline table");
                        if (c == '#')
                                return parser_error(p, p->pos, "comment not allowed in inline table");
                        char what[48];
                        describe_char(c, what, sizeof(what));
                        return parser_error(p, p->pos, "expected ',' or '}' in inline table, got %s", what);
                }

        /* Inline tables are complete as written. */
        t->flags |= NODE_FROZEN;
        *ret = TAKE_PTR(t);
        return 0;
}

static int parse_value(Parser *p, unsigned depth, TomlNode **ret) {
        switch (peek(p)) {
        case '"':
        case '\'':
                return parse_string_value(p, ret);
        case '[':
                return parse_array(p, depth, ret);
        case '{':
                return parse_inline_table(p, depth, ret);
        default:
                return parse_scalar(p, ret);
        }
}

/* key = value, in a section (table is the section's table) or in an inline table. */
static int parse_keyval(Parser *p, TomlNode *table) {
        _cleanup_(key_path_done) KeyPath path = {};
        char buf[100], buf2[100];
        int r;

        r = parse_key(p, &path);
        if (r < 0)
                return r;

        skip_ws(p);
        if (peek(p) != '=') {
                char what[48];
                describe_char(peek(p), what, sizeof(what));
                return parser_error(p, p->pos, "expected '=' after key '%s', got %s",
                                    format_key(&path, path.n, buf, sizeof(buf)), what);
        }
        p->pos++;
        skip_ws(p);

        /* Walk (and create) the tables of a dotted key. */
        TomlNode *t = table;
        for (size_t i = 0; i + 1 < path.n; i++) {
                KeyPart *k = &path.parts[i];
                TomlKeyValue *kv = table_find(p, t, k->name, k->len);

                if (!kv) {
                        r = table_add_new_table(p, t, k, k->pos, NODE_DOTTED_DEFINED, &t);
                        if (r < 0)
                                return r;
                        continue;
                }

                TomlNode *v = node_of(kv->value);
                if (v->value.type != TOML_TABLE)
                        return parser_error_at(p, k->pos,
                                               "cannot set '%s': '%s' is already %s (line %u, column %u)",
                                               format_key(&path, path.n, buf, sizeof(buf)),
                                               format_key(&path, i + 1, buf2, sizeof(buf2)),
                                               toml_type_describe(v->value.type), kv->line, kv->column);
                if (v->flags & NODE_FROZEN)
                        return parser_error_at(p, k->pos,
                                               "cannot set '%s': inline table '%s' (line %u, column %u) "
                                               "cannot be extended",
                                               format_key(&path, path.n, buf, sizeof(buf)),
                                               format_key(&path, i + 1, buf2, sizeof(buf2)),
                                               kv->line, kv->column);
                if (v->flags & NODE_HEADER_DEFINED)
                        return parser_error_at(p, k->pos,
                                               "cannot set '%s' with a dotted key: table '%s' was defined "
                                               "by a header (line %u, column %u)",
                                               format_key(&path, path.n, buf, sizeof(buf)),
                                               format_key(&path, i + 1, buf2, sizeof(buf2)),
                                               kv->line, kv->column);
                v->flags |= NODE_DOTTED_DEFINED;
                t = v;
        }

        KeyPart *last = &path.parts[path.n - 1];
        const TomlKeyValue *dup = table_find(p, t, last->name, last->len);
        if (dup)
                return parser_error_at(p, last->pos,
                                       "duplicate key '%s' (first defined at line %u, column %u)",
                                       format_key(&path, path.n, buf, sizeof(buf)), dup->line, dup->column);

        _cleanup_(node_freep) TomlNode *v = NULL;
        r = parse_value(p, t->depth + 1, &v);
        if (r < 0)
                return r;

        r = table_add(p, t, last->name, last->len, last->pos, v);
        if (r < 0)
                return r;
        last->taken = true;
        TAKE_PTR(v);
        return 0;
}

/* ---- table headers ---- */

static int parse_table_header(Parser *p) {
        _cleanup_(key_path_done) KeyPath path = {};
        size_t start = p->pos;
        Position hp = parser_here(p);
        bool is_array = peek_at(p, 1) == '[';
        const char *what = is_array ? "array of tables" : "table";
        char buf[100], buf2[100];
        int r;

        p->pos += is_array ? 2 : 1;
        skip_ws(p);
        r = parse_key(p, &path);
        if (r < 0)
                return r;
        skip_ws(p);
        if (is_array ? peek(p) != ']' || peek_at(p, 1) != ']' : peek(p) != ']')
                return parser_error(p, p->pos, "expected '%s' at the end of the %s header '%s'",
                                    is_array ? "]]" : "]",
                                    what, format_key(&path, path.n, buf, sizeof(buf)));
        p->pos += is_array ? 2 : 1;

        const char *name = format_key(&path, path.n, buf, sizeof(buf));

        /* Walk (and create) the parent tables. */
        TomlNode *t = p->root;
        for (size_t i = 0; i + 1 < path.n; i++) {
                KeyPart *k = &path.parts[i];
                TomlKeyValue *kv = table_find(p, t, k->name, k->len);

                if (!kv) {
                        r = table_add_new_table(p, t, k, hp, /* flags= */ 0, &t);
                        if (r < 0)
                                return r;
                        continue;
                }

                TomlNode *v = node_of(kv->value);
                if (v->value.type == TOML_TABLE) {
                        if (v->flags & NODE_FROZEN)
                                return parser_error(p, start,
                                                    "cannot define %s '%s': inline table '%s' "
                                                    "(line %u, column %u) cannot be extended",
                                                    what, name, format_key(&path, i + 1, buf2, sizeof(buf2)),
                                                    kv->line, kv->column);
                        t = v;
                } else if (v->value.type == TOML_ARRAY && (v->flags & NODE_TABLE_ARRAY)) {
                        assert(v->value.array.n > 0);
                        t = node_of(v->value.array.items[v->value.array.n - 1]);
                } else if (v->value.type == TOML_ARRAY)
                        return parser_error(p, start,
                                            "cannot define %s '%s': '%s' is a static array "
                                            "(line %u, column %u) and cannot be extended",
                                            what, name, format_key(&path, i + 1, buf2, sizeof(buf2)),
                                            kv->line, kv->column);
                else
                        return parser_error(p, start,
                                            "cannot define %s '%s': '%s' is already %s (line %u, column %u)",
                                            what, name, format_key(&path, i + 1, buf2, sizeof(buf2)),
                                            toml_type_describe(v->value.type), kv->line, kv->column);
        }

        KeyPart *last = &path.parts[path.n - 1];
        TomlKeyValue *kv = table_find(p, t, last->name, last->len);
        TomlNode *v = kv ? node_of(kv->value) : NULL;

        if (!is_array) {
                if (!v) {
                        r = table_add_new_table(p, t, last, hp, NODE_HEADER_DEFINED, &p->current);
                        if (r < 0)
                                return r;
                        return 0;
                }

                if (v->value.type == TOML_TABLE &&
                    !(v->flags & (NODE_HEADER_DEFINED | NODE_DOTTED_DEFINED | NODE_FROZEN))) {
                        /* The table was created implicitly by an earlier header; now it is defined here. */
                        v->flags |= NODE_HEADER_DEFINED;
                        kv->line = v->value.line = hp.line;
                        kv->column = v->value.column = hp.column;
                        p->current = v;
                        return 0;
                }

                if (v->value.type == TOML_TABLE && (v->flags & NODE_HEADER_DEFINED))
                        return parser_error(p, start, "table '%s' already defined at line %u, column %u",
                                            name, kv->line, kv->column);
                if (v->value.type == TOML_TABLE && (v->flags & NODE_FROZEN))
                        return parser_error(p, start,
                                            "table '%s' already defined as an inline table "
                                            "at line %u, column %u",
                                            name, kv->line, kv->column);
                if (v->value.type == TOML_TABLE)
                        return parser_error(p, start,
                                            "table '%s' already defined by dotted keys "
                                            "at line %u, column %u",
                                            name, kv->line, kv->column);
                if (v->value.type == TOML_ARRAY && (v->flags & NODE_TABLE_ARRAY))
                        return parser_error(p, start,
                                            "cannot define table '%s': it is already an array of tables "
                                            "(line %u, column %u)",
                                            name, kv->line, kv->column);
                return parser_error(p, start,
                                    "cannot define table '%s': key already defined as %s "
                                    "at line %u, column %u",
                                    name, toml_type_describe(v->value.type), kv->line, kv->column);
        }

        /* [[array]] */
        if (v && !(v->value.type == TOML_ARRAY && (v->flags & NODE_TABLE_ARRAY))) {
                if (v->value.type == TOML_ARRAY)
                        return parser_error(p, start,
                                            "cannot append to '%s' with [[...]]: it is a static array "
                                            "(line %u, column %u)",
                                            name, kv->line, kv->column);
                return parser_error(p, start,
                                    "cannot define array of tables '%s': key already defined as %s "
                                    "at line %u, column %u",
                                    name, toml_type_describe(v->value.type), kv->line, kv->column);
        }

        if (!v) {
                _cleanup_(node_freep) TomlNode *a = NULL;

                r = node_new(p, TOML_ARRAY, hp, t->depth + 1, &a);
                if (r < 0)
                        return r;
                a->flags = NODE_TABLE_ARRAY;
                r = table_add(p, t, last->name, last->len, hp, a);
                if (r < 0)
                        return r;
                last->taken = true;
                v = TAKE_PTR(a);
        }

        _cleanup_(node_freep) TomlNode *element = NULL;
        r = node_new(p, TOML_TABLE, hp, v->depth + 1, &element);
        if (r < 0)
                return r;
        element->flags = NODE_HEADER_DEFINED;
        r = array_append(p, v, element);
        if (r < 0)
                return r;
        p->current = TAKE_PTR(element);
        return 0;
}

/* ---- document ---- */

static int expect_line_end(Parser *p, const char *after) {
        int r;

        skip_ws(p);
        if (peek(p) == '#') {
                r = skip_comment(p);
                if (r < 0)
                        return r;
        }
        if (peek(p) < 0 || consume_newline(p))
                return 0;
        if (peek(p) == '\r')
                return parser_error(p, p->pos, "carriage return not followed by line feed");

        char what[48];
        describe_char(peek(p), what, sizeof(what));
        return parser_error(p, p->pos, "expected end of line after %s, got %s", after, what);
}

static int parse_document(Parser *p) {
        int r;

        for (;;) {
                skip_ws(p);
                int c = peek(p);
                const char *after;

                if (c < 0)
                        return 0;
                if (c == '#' || c == '\n' || c == '\r')
                        after = "comment";
                else if (c == '[') {
                        r = parse_table_header(p);
                        if (r < 0)
                                return r;
                        after = "table header";
                } else {
                        r = parse_keyval(p, p->current);
                        if (r < 0)
                                return r;
                        after = "value";
                }

                r = expect_line_end(p, after);
                if (r < 0)
                        return r;
        }
}

int toml_parse(const char *text, size_t size, TomlValue **ret, TomlError *reterr) {
        _cleanup_(parser_done) Parser p = {
                .text = text ?: "",
                .size = text ? size : 0,
                .line = 1,
                .column = 1,
        };
        size_t bad;
        int r;

        assert(ret);

        if (!utf8_validate(p.text, p.size, &bad))
                r = parser_error(&p, bad, "invalid UTF-8");
        else {
                /* A byte order mark at the very start is ignored. */
                if (p.size >= 3 && memcmp(p.text, "\xEF\xBB\xBF", 3) == 0)
                        p.pos = p.line_start = p.column_offset = 3;

                r = node_new(&p, TOML_TABLE, (Position) { 1, 1 }, 0, &p.root);
                if (r >= 0) {
                        p.root->flags = NODE_HEADER_DEFINED;
                        p.current = p.root;
                        r = parse_document(&p);
                }
        }
        if (r < 0) {
                if (reterr)
                        *reterr = p.error;
                return r;
        }

        *ret = &TAKE_PTR(p.root)->value;
        return 0;
}

int toml_parse_file(const char *path, TomlValue **ret, TomlError *reterr) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        int r;

        assert(path);
        assert(ret);

        r = read_full_file(path, TOML_FILE_MAX, &buf, &size);
        if (r < 0) {
                if (reterr) {
                        *reterr = (TomlError) {};
                        if (r == -E2BIG)
                                (void) snprintf(reterr->message, sizeof(reterr->message),
                                                "could not read file '%s': file is larger than %u bytes",
                                                path, TOML_FILE_MAX);
                        else
                                (void) snprintf(reterr->message, sizeof(reterr->message),
                                                "could not read file '%s': %s", path,
                                                strerrordesc_np(-r) ?: "unknown error");
                }
                return r;
        }

        return toml_parse(buf, size, ret, reterr);
}
