/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <stdio.h>

#include "basic/string-util.h"

char **strv_free(char **l) {
        STRV_FOREACH(s, l)
                free(*s);
        free(l);
        return NULL;
}

size_t strv_length(char * const *l) {
        size_t n = 0;
        STRV_FOREACH(s, l)
                n++;
        return n;
}

bool strv_equal(char * const *a, char * const *b) {
        for (; !strv_isempty(a) && !strv_isempty(b); a++, b++)
                if (!streq(*a, *b))
                        return false;
        return strv_isempty(a) && strv_isempty(b);
}

int strv_consume(char ***l, char *s) {
        if (!s)
                return -ENOMEM;
        size_t n = strv_length(*l);
        char **c = realloc(*l, sizeof(char *) * (n + 2));
        if (!c) {
                free(s);
                return -ENOMEM;
        }
        c[n] = s;
        c[n + 1] = NULL;
        *l = c;
        return 0;
}

int strv_extend(char ***l, const char *s) {
        return strv_consume(l, strdup(s));
}

int strv_extendf(char ***l, const char *format, ...) {
        char *s = NULL;
        va_list ap;

        va_start(ap, format);
        int r = vasprintf(&s, format, ap);
        va_end(ap);
        return strv_consume(l, r < 0 ? NULL : s);
}

int strv_extend_strv(char ***l, char * const *other) {
        STRV_FOREACH(s, other) {
                int r = strv_extend(l, *s);
                if (r < 0)
                        return r;
        }
        return 0;
}

char **strv_copy(char * const *l) {
        char **c = calloc(1, sizeof(char *));
        if (!c)
                return NULL;
        if (strv_extend_strv(&c, l) < 0)
                return strv_free(c);
        return c;
}

bool strv_contains(char * const *l, const char *s) {
        STRV_FOREACH(i, l)
                if (streq(*i, s))
                        return true;
        return false;
}

static bool is_space(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

int strv_split_whitespace(const char *s, char ***ret) {
        _cleanup_strv_free_ char **l = calloc(1, sizeof(char *));
        if (!l)
                return -ENOMEM;

        for (const char *p = s; *p;) {
                while (*p && is_space(*p))
                        p++;
                if (!*p)
                        break;
                const char *e = p;
                while (*e && !is_space(*e))
                        e++;
                int r = strv_consume(&l, strndup(p, (size_t) (e - p)));
                if (r < 0)
                        return r;
                p = e;
        }

        *ret = TAKE_PTR(l);
        return 0;
}

char *strv_join(char * const *l, const char *sep) {
        TextBuf b = {};
        STRV_FOREACH(s, l) {
                if (s != l)
                        textbuf_append(&b, sep);
                textbuf_append(&b, *s);
        }
        char *r = NULL;
        if (textbuf_steal(&b, &r) < 0)
                return NULL;
        return r;
}

char *strjoin_internal(const char *first, ...) {
        TextBuf b = {};
        va_list ap;

        textbuf_append(&b, first);
        va_start(ap, first);
        for (const char *s; (s = va_arg(ap, const char *));)
                textbuf_append(&b, s);
        va_end(ap);

        char *r = NULL;
        if (textbuf_steal(&b, &r) < 0)
                return NULL;
        return r;
}

static bool textbuf_reserve(TextBuf *b, size_t extra) {
        if (b->oom)
                return false;
        if (b->len + extra + 1 <= b->allocated)
                return true;
        size_t n = MAX(b->allocated * 2, b->len + extra + 1);
        n = MAX(n, (size_t) 64);
        char *p = realloc(b->data, n);
        if (!p) {
                b->oom = true;
                return false;
        }
        b->data = p;
        b->allocated = n;
        return true;
}

void textbuf_append_len(TextBuf *b, const char *s, size_t n) {
        if (!textbuf_reserve(b, n))
                return;
        memcpy(b->data + b->len, s, n);
        b->len += n;
        b->data[b->len] = 0;
}

void textbuf_append(TextBuf *b, const char *s) {
        textbuf_append_len(b, s, strlen(s));
}

void textbuf_append_char(TextBuf *b, char c) {
        textbuf_append_len(b, &c, 1);
}

void textbuf_appendf(TextBuf *b, const char *fmt, ...) {
        va_list ap;
        char *s = NULL;

        va_start(ap, fmt);
        int n = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (n < 0) {
                b->oom = true;
                return;
        }
        textbuf_append_len(b, s, (size_t) n);
        free(s);
}

int textbuf_steal(TextBuf *b, char **ret) {
        if (b->oom || !textbuf_reserve(b, 0)) {
                textbuf_done(b);
                return -ENOMEM;
        }
        b->data[b->len] = 0; /* a buffer never appended to has no terminator yet */
        *ret = TAKE_PTR(b->data);
        *b = (TextBuf) {};
        return 0;
}

void textbuf_done(TextBuf *b) {
        free(b->data);
        *b = (TextBuf) {};
}
