/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "basic/macro.h"

/* NULL-terminated string vectors ("strv"). */
char **strv_free(char **l);
static inline void strv_freep(char ***l) {
        strv_free(*l);
}
#define _cleanup_strv_free_ _cleanup_(strv_freep)

size_t strv_length(char * const *l);
static inline bool strv_isempty(char * const *l) {
        return !l || !l[0];
}
/* Append a copy of s. */
int strv_extend(char ***l, const char *s);
/* Append s itself, taking ownership (freed on failure too). */
int strv_consume(char ***l, char *s);
/* Appends the formatted string. */
int strv_extendf(char ***l, const char *format, ...) _printf_(2, 3);
int strv_extend_strv(char ***l, char * const *other);
char **strv_copy(char * const *l);
bool strv_contains(char * const *l, const char *s);
/* Same strings in the same order; NULL equals the empty vector. */
bool strv_equal(char * const *a, char * const *b);
/* Split on ASCII whitespace; empty or blank input gives an empty (non-NULL) vector. */
int strv_split_whitespace(const char *s, char ***ret);
/* Join with separator; an empty vector gives "". */
char *strv_join(char * const *l, const char *sep);

#define STRV_FOREACH(s, l) for (char * const *s = (l); s && *s; s++)

/* Concatenate NULL-terminated list of strings; returns NULL on ENOMEM. */
char *strjoin_internal(const char *first, ...);
#define strjoin(...) strjoin_internal(__VA_ARGS__, NULL)

/* A growable buffer for building text. */
typedef struct TextBuf {
        char *data;
        size_t len, allocated;
        bool oom;  /* sticky: set once an allocation failed */
} TextBuf;

void textbuf_append_len(TextBuf *b, const char *s, size_t n);
void textbuf_append(TextBuf *b, const char *s);
void textbuf_append_char(TextBuf *b, char c);
_printf_(2, 3) void textbuf_appendf(TextBuf *b, const char *fmt, ...);
/* Returns the NUL-terminated text (ownership to the caller), or -ENOMEM if any append failed. */
int textbuf_steal(TextBuf *b, char **ret);
void textbuf_done(TextBuf *b);
