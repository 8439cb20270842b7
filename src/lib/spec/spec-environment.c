/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <stdarg.h>
#include <stdio.h>

#include "basic/string-util.h"
#include "spec/spec.h"

/* Environments are "KEY=VALUE" strings.  The candidate is kept sorted by KEY with each KEY once, so that
 * lookups are binary searches and merging is linear, whatever the number of variables. */

static size_t key_length(const char *s) {
        return strcspn(s, "=");
}

static int key_compare_len(const char *a, size_t la, const char *b, size_t lb) {
        int d = memcmp(a, b, MIN(la, lb));
        return d != 0 ? d : (la > lb) - (la < lb);
}

static int env_compare(const char *a, const char *b) {
        return key_compare_len(a, key_length(a), b, key_length(b));
}

/* The value of name in a sorted environment, or NULL. */
static const char *sorted_env_get(char * const *env, size_t n, const char *name, size_t len) {
        size_t lo = 0, hi = n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                size_t kl = key_length(env[mid]);
                int d = key_compare_len(env[mid], kl, name, len);
                if (d == 0)
                        return env[mid] + kl + 1;
                if (d < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return NULL;
}

/* The value of name in an environ-style array in any order (the first one wins, as with getenv()), or NULL.
 */
static const char *environ_get(char * const *env, const char *name, size_t len) {
        STRV_FOREACH(e, env)
                if (key_length(*e) == len && memcmp(*e, name, len) == 0 && (*e)[len] == '=')
                        return *e + len + 1;
        return NULL;
}

static size_t count_chars(const char *s, size_t n) {
        size_t c = 0;
        for (size_t i = 0; i < n; i++)
                if (((unsigned char) s[i] & 0xC0) != 0x80)
                        c++;
        return c;
}

static bool is_word_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

_printf_(3, 4) static int expand_error(SpecError *e, TextBuf *b, const char *format, ...) {
        char message[sizeof(e->message)];
        va_list ap;

        textbuf_done(b);
        va_start(ap, format);
        (void) vsnprintf(message, sizeof(message), format, ap);
        va_end(ap);
        return spec_error_set_field(e, EINVAL, /* field= */ NULL, "%s", message);
}

/* prev is sorted, with n_prev entries. */
static int expand_value(const char *value, char * const *prev, size_t n_prev,
                        char * const *client_environment, char **ret, SpecError *reterr) {
        TextBuf b = {};
        const char *p = value;

        while (*p) {
                size_t plain = strcspn(p, "$");
                textbuf_append_len(&b, p, plain);
                p += plain;
                if (!*p)
                        break;

                size_t at = 1 + count_chars(value, (size_t) (p - value)); /* 1-based character of the '$' */
                if (p[1] == '$') {
                        textbuf_append_char(&b, '$');
                        p += 2;
                        continue;
                }

                const char *word = p + 1, *brace = word;
                while (is_word_char(*brace))
                        brace++;
                size_t word_len = (size_t) (brace - word);
                if (*brace != '{')
                        return expand_error(reterr, &b,
                                            "'$' at character %zu is not followed by $, env{ or prev{ "
                                            "(write $$ for a literal '$')", at);
                bool env = word_len == 3 && strneq(word, "env", 3);
                if (!env && !(word_len == 4 && strneq(word, "prev", 4)))
                        return expand_error(reterr, &b,
                                            "unknown expansion '$%.*s{' at character %zu (expected $env{ or "
                                            "$prev{)", (int) MIN(word_len, (size_t) 32), word, at);
                const char *kind = env ? "env" : "prev";

                const char *name = brace + 1, *close = strchr(name, '}');
                if (!close)
                        return expand_error(reterr, &b, "unclosed '{' at character %zu (in '$%s{')",
                                            at + word_len + 1, kind);
                const char *sep = memmem(name, (size_t) (close - name), ":-", 2);
                size_t name_len = (size_t) ((sep ?: close) - name);
                if (name_len == 0)
                        return expand_error(reterr, &b, "empty variable name in '$%s{' at character %zu",
                                            kind, at);

                const char *v = env ? environ_get(client_environment, name, name_len)
                                    : sorted_env_get(prev, n_prev, name, name_len);
                if (sep && isempty(v))
                        textbuf_append_len(&b, sep + 2, (size_t) (close - sep - 2));
                else if (v)
                        textbuf_append(&b, v);
                else {
                        int shown = (int) MIN(name_len, (size_t) 64);
                        return expand_error(reterr, &b,
                                            "$%s{%.*s} is not set and has no default (write "
                                            "$%s{%.*s:-default})", kind, shown, name, kind, shown, name);
                }
                p = close + 1;
        }

        return textbuf_steal(&b, ret);
}

int environment_expand_value(const char *value, char * const *prev, char * const *client_environment,
                             char **ret, SpecError *reterr) {
        return expand_value(value, prev, strv_length(prev), client_environment, ret, reterr);
}

/* ---- sorted environments ---- */

typedef struct EnvEntry {
        char *s;
        size_t index;
} EnvEntry;

static int env_entry_compare(const void *a, const void *b) {
        const EnvEntry *x = a, *y = b;
        int d = env_compare(x->s, y->s);
        return d != 0 ? d : (x->index > y->index) - (x->index < y->index);
}

/* Sort l (n entries, owned) by KEY in place, keeping only the last of each KEY; *ret_n is the new count. */
static int env_sort_unique(char **l, size_t n, size_t *ret_n) {
        if (n < 2) {
                *ret_n = n;
                return 0;
        }

        _cleanup_free_ EnvEntry *e = calloc(n, sizeof(EnvEntry));
        if (!e)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                e[i] = (EnvEntry) { .s = l[i], .index = i };
        qsort(e, n, sizeof(EnvEntry), env_entry_compare);

        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
                /* Equal keys are in input order: a later one replaces the earlier. */
                if (k > 0 && env_compare(l[k - 1], e[i].s) == 0)
                        free(l[--k]);
                l[k++] = e[i].s;
        }
        l[k] = NULL;
        *ret_n = k;
        return 0;
}

/* Merge b over a (both sorted and unique, owned); frees both arrays (not their surviving strings). */
static int env_merge(char **a, size_t na, char **b, size_t nb, char ***ret, size_t *ret_n) {
        char **m = calloc(na + nb + 1, sizeof(char *));
        if (!m)
                return -ENOMEM;

        size_t i = 0, j = 0, k = 0;
        while (i < na || j < nb) {
                int d = i >= na ? 1 : j >= nb ? -1 : env_compare(a[i], b[j]);
                if (d < 0)
                        m[k++] = a[i++];
                else {
                        if (d == 0)
                                free(a[i++]);
                        m[k++] = b[j++];
                }
        }
        free(a);
        free(b);
        *ret = m;
        *ret_n = k;
        return 0;
}

int environment_evaluate(const EnvironmentSpec *elements, size_t n_elements, char * const *initial,
                         char * const *client_environment, char ***ret, SpecError *reterr) {
        _cleanup_strv_free_ char **candidate = strv_copy(initial);
        size_t n;
        int r;

        if (!candidate)
                return -ENOMEM;
        r = env_sort_unique(candidate, strv_length(candidate), &n);
        if (r < 0)
                return r;

        for (size_t i = 0; i < n_elements; i++) {
                const EnvironmentSpec *el = &elements[i];
                size_t n_vars = strv_length(el->vars);
                _cleanup_strv_free_ char **next = calloc(n_vars + 1, sizeof(char *));
                if (!next)
                        return -ENOMEM;

                for (size_t k = 0; k < n_vars; k++) {
                        const char *var = el->vars[k];
                        size_t kl = key_length(var);
                        _cleanup_free_ char *expanded = NULL;

                        if (var[kl] != '=') /* the decoder never makes these */
                                return spec_error_set_field(reterr, EINVAL, "environment",
                                                            "environment variable '%.64s' has no value",
                                                            var);
                        r = expand_value(var + kl + 1, candidate, n, client_environment, &expanded, reterr);
                        if (r == -EINVAL) {
                                char why[sizeof(reterr->message)];
                                snprintf(why, sizeof(why), "%s", reterr->message);
                                return spec_error_set_field(reterr, EINVAL, "environment",
                                                            "environment variable '%.*s': %s",
                                                            (int) MIN(kl, (size_t) 64), var, why);
                        }
                        if (r < 0)
                                return r;
                        size_t vl = strlen(expanded);
                        next[k] = malloc(kl + 1 + vl + 1);
                        if (!next[k])
                                return -ENOMEM;
                        memcpy(next[k], var, kl + 1);
                        memcpy(next[k] + kl + 1, expanded, vl + 1);
                }
                size_t n_next;
                r = env_sort_unique(next, n_vars, &n_next);
                if (r < 0)
                        return r;

                if (!el->extend) {
                        strv_free(candidate);
                        candidate = TAKE_PTR(next);
                        n = n_next;
                } else {
                        char **merged;
                        r = env_merge(candidate, n, next, n_next, &merged, &n);
                        if (r < 0)
                                return r;
                        candidate = merged;
                        next = NULL;
                }
        }

        *ret = TAKE_PTR(candidate);
        return 0;
}
