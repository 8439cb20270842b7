/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <assert.h>
#include <fnmatch.h>
#include <stdio.h>

#include "basic/string-util.h"
#include "layer/layer-glob.h"
#include "layer/layer-util.h"

/* s[i] is '['.  Returns the index of the ']' that closes the class, or 0 if there is none (the '[' is then a
 * literal).  A ']' right after "[" or "[!" belongs to the class, as do "[:alpha:]" names. */
static size_t class_end(const char *s, size_t n, size_t i) {
        size_t j = i + 1;

        if (j < n && (s[j] == '!' || s[j] == '^'))
                j++;
        if (j < n && s[j] == ']')
                j++;
        for (; j < n; j++) {
                if (s[j] == '\\' && j + 1 < n)
                        j++;
                else if (s[j] == '[' && j + 1 < n && s[j + 1] == ':') {
                        const char *e = strstr(s + j + 2, ":]");
                        if (e && (size_t) (e - s) < n)
                                j = (size_t) (e - s) + 1;
                } else if (s[j] == ']')
                        return j;
        }
        return 0;
}

/* Advances over an escape or a class starting at s[*i]; returns true if it did. */
static bool skip_quoted(const char *s, size_t n, size_t *i, BraceFlags flags) {
        if (s[*i] == '\\' && *i + 1 < n) {
                (*i)++;
                return true;
        }
        if (s[*i] == '[' && (flags & BRACE_GLOB)) {
                size_t e = class_end(s, n, *i);
                if (e > 0) {
                        *i = e;
                        return true;
                }
        }
        return false;
}

typedef struct Expansion {
        char **items;
        size_t n, bytes;
} Expansion;

static void expansion_done(Expansion *x) {
        for (size_t i = 0; i < x->n; i++)
                free(x->items[i]);
        x->items = mfree(x->items);
        x->n = x->bytes = 0;
}

static int expansion_add(Expansion *x, char *s) {
        size_t l = strlen(s);

        if (x->n >= BRACE_EXPAND_MAX || x->bytes + l > BRACE_EXPAND_MAX_BYTES) {
                free(s);
                return -E2BIG;
        }
        char **n = reallocarray(x->items, x->n + 1, sizeof(char *));
        if (!n) {
                free(s);
                return -ENOMEM;
        }
        x->items = n;
        x->items[x->n++] = s;
        x->bytes += l;
        return 0;
}

static int expand(const char *s, size_t n, BraceFlags flags, unsigned depth, Expansion *ret);

/* Appends prefix + each expansion of alternative + each of suffix to ret. */
static int expand_alternative(const char *prefix, size_t prefix_len, const char *alt, size_t alt_len,
                              const Expansion *suffix, BraceFlags flags, unsigned depth, Expansion *ret) {
        _cleanup_(expansion_done) Expansion a = {};
        int r;

        r = expand(alt, alt_len, flags, depth + 1, &a);
        if (r < 0)
                return r;
        for (size_t i = 0; i < a.n; i++)
                for (size_t j = 0; j < suffix->n; j++) {
                        char *c = NULL;
                        if (asprintf(&c, "%.*s%s%s", (int) prefix_len, prefix, a.items[i],
                                     suffix->items[j]) < 0)
                                return -ENOMEM;
                        r = expansion_add(ret, c);
                        if (r < 0)
                                return r;
                }
        return 0;
}

static int expand(const char *s, size_t n, BraceFlags flags, unsigned depth, Expansion *ret) {
        _cleanup_(expansion_done) Expansion suffix = {}, out = {};
        size_t open = n, close = n, alt_start, k = 0;
        int r;

        /* Deep nesting is bounded by the input size, but keep the recursion shallow anyway. */
        if (depth > 64)
                return -E2BIG;

        for (size_t i = 0; i < n; i++) {
                if (skip_quoted(s, n, &i, flags))
                        continue;
                if (s[i] == '}')
                        return -EINVAL;
                if (s[i] == '{') {
                        open = i;
                        break;
                }
        }
        if (open == n) {
                char *c = strndup(s, n);
                if (!c)
                        return -ENOMEM;
                r = expansion_add(&out, c);
                if (r < 0)
                        return r;
                *ret = out;
                out = (Expansion) {};
                return 0;
        }

        unsigned level = 0;
        for (size_t i = open + 1; i < n; i++) {
                if (skip_quoted(s, n, &i, flags))
                        continue;
                if (s[i] == '{')
                        level++;
                else if (s[i] == '}') {
                        if (level == 0) {
                                close = i;
                                break;
                        }
                        level--;
                }
        }
        if (close == n)
                return -EINVAL;

        r = expand(s + close + 1, n - close - 1, flags, depth + 1, &suffix);
        if (r < 0)
                return r;

        /* Split the group at its top-level commas. */
        alt_start = open + 1;
        level = 0;
        for (size_t i = open + 1; i <= close; i++) {
                if (i < close && skip_quoted(s, n, &i, flags))
                        continue;
                if (i < close && s[i] == '{')
                        level++;
                else if (i < close && s[i] == '}')
                        level--;
                else if (i == close || (s[i] == ',' && level == 0)) {
                        r = expand_alternative(s, open, s + alt_start, i - alt_start, &suffix, flags, depth,
                                               &out);
                        if (r < 0)
                                return r;
                        alt_start = i + 1;
                        k++;
                }
        }
        assert(k > 0);
        *ret = out;
        out = (Expansion) {};
        return 0;
}

int brace_expand(const char *s, BraceFlags flags, char ***ret) {
        _cleanup_(expansion_done) Expansion x = {};
        int r;

        r = expand(s, strlen(s), flags, /* depth= */ 0, &x);
        if (r < 0)
                return r;
        char **l = reallocarray(x.items, x.n + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        l[x.n] = NULL;
        x.items = NULL;
        x.n = 0;
        *ret = l;
        return 0;
}

typedef enum ComponentKind {
        COMPONENT_END,       /* the end of an alternative: a path that got here matches */
        COMPONENT_LITERAL,   /* compared as is (escapes already removed) */
        COMPONENT_PATTERN,   /* fnmatch() */
        COMPONENT_ANY_DEPTH, /* "**" */
} ComponentKind;

typedef struct Component {
        ComponentKind kind;
        char *text;
} Component;

struct PathGlob {
        /* The alternatives one after the other, each ending in COMPONENT_END. */
        Component *components;
        size_t n_components;
        uint32_t *starts; /* the first component of each alternative */
        size_t n_starts;
};

PathGlob *path_glob_free(PathGlob *g) {
        if (!g)
                return NULL;
        for (size_t i = 0; i < g->n_components; i++)
                free(g->components[i].text);
        free(g->components);
        free(g->starts);
        free(g);
        return NULL;
}

static int glob_push(PathGlob *g, ComponentKind kind, const char *text, size_t n) {
        Component *c = reallocarray(g->components, g->n_components + 1, sizeof(Component));
        if (!c)
                return -ENOMEM;
        g->components = c;
        c = &g->components[g->n_components];
        *c = (Component) { .kind = kind };
        if (text) {
                c->text = strndup(text, n);
                if (!c->text)
                        return -ENOMEM;
        }
        g->n_components++;
        return 0;
}

/* Classifies one component; a literal one loses its escapes. */
static int glob_push_component(PathGlob *g, const char *p, size_t n) {
        if (n == 2 && p[0] == '*' && p[1] == '*') {
                /* "**" + "/" + "**" is the same as one "**". */
                if (g->n_components > g->starts[g->n_starts - 1] &&
                    g->components[g->n_components - 1].kind == COMPONENT_ANY_DEPTH)
                        return 0;
                return glob_push(g, COMPONENT_ANY_DEPTH, NULL, 0);
        }
        for (size_t i = 0; i < n; i++) {
                if (p[i] == '\\' && i + 1 < n)
                        i++;
                else if (strchr("*?[", p[i]))
                        return glob_push(g, COMPONENT_PATTERN, p, n);
        }
        _cleanup_free_ char *u = malloc(n + 1);
        size_t k = 0;
        if (!u)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                if (p[i] == '\\' && i + 1 < n)
                        i++;
                u[k++] = p[i];
        }
        return glob_push(g, COMPONENT_LITERAL, u, k);
}

static int glob_add_alternative(PathGlob *g, const char *alt) {
        int r;

        uint32_t *s = reallocarray(g->starts, g->n_starts + 1, sizeof(uint32_t));
        if (!s)
                return -ENOMEM;
        g->starts = s;
        g->starts[g->n_starts++] = (uint32_t) g->n_components;

        size_t n;
        for (const char *p, *rest = alt; (p = layer_path_next_component(&rest, &n));)
                if (!(n == 1 && p[0] == '.')) {
                        r = glob_push_component(g, p, n);
                        if (r < 0)
                                return r;
                }
        /* A trailing "**" needs at least one component: make it "**" + "/" + "*". */
        if (g->n_components > g->starts[g->n_starts - 1] &&
            g->components[g->n_components - 1].kind == COMPONENT_ANY_DEPTH) {
                r = glob_push(g, COMPONENT_PATTERN, "*", /* n= */ 1);
                if (r < 0)
                        return r;
        }
        return glob_push(g, COMPONENT_END, NULL, 0);
}

int path_glob_new(const char *pattern, PathGlob **ret) {
        _cleanup_(path_glob_freep) PathGlob *g = NULL;
        _cleanup_strv_free_ char **alts = NULL;
        int r;

        r = brace_expand(pattern, BRACE_GLOB, &alts);
        if (r < 0)
                return r;
        g = calloc(1, sizeof(PathGlob));
        if (!g)
                return -ENOMEM;
        STRV_FOREACH(a, alts) {
                r = glob_add_alternative(g, *a);
                if (r < 0)
                        return r;
        }
        if (g->n_components > UINT32_MAX / 2)
                return -E2BIG;
        *ret = TAKE_PTR(g);
        return 0;
}

void path_glob_state_done(PathGlobState *s) {
        s->positions = mfree(s->positions);
        s->n_positions = 0;
}

static int cmp_u32(const void *a, const void *b) {
        uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
        return x < y ? -1 : x > y;
}

/* Adds pos, and the positions after any "**" there (which may match nothing). */
static void state_add(const PathGlob *g, uint32_t *out, size_t *n, uint32_t pos) {
        out[(*n)++] = pos;
        while (g->components[pos].kind == COMPONENT_ANY_DEPTH)
                out[(*n)++] = ++pos;
}

static void state_finish(uint32_t *out, size_t *n) {
        size_t k = 0;

        qsort(out, *n, sizeof(uint32_t), cmp_u32);
        for (size_t i = 0; i < *n; i++)
                if (k == 0 || out[k - 1] != out[i])
                        out[k++] = out[i];
        *n = k;
}

/* Consecutive "**" are folded into one, so state_add() adds at most two positions, and a step at most three
 * for each position it starts from. */
static uint32_t *positions_new(size_t n) {
        return malloc(MAX(n, (size_t) 1) * sizeof(uint32_t));
}

int path_glob_state_start(const PathGlob *g, PathGlobState *ret) {
        uint32_t *out = positions_new(2 * g->n_starts);
        size_t n = 0;

        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < g->n_starts; i++)
                state_add(g, out, &n, g->starts[i]);
        state_finish(out, &n);
        *ret = (PathGlobState) { .positions = out, .n_positions = n };
        return 0;
}

static bool component_matches(const Component *c, const char *name) {
        switch (c->kind) {
        case COMPONENT_LITERAL:
                return streq(c->text, name);
        case COMPONENT_PATTERN:
                return fnmatch(c->text, name, 0) == 0;
        case COMPONENT_ANY_DEPTH:
                return true;
        case COMPONENT_END:
                return false;
        }
        return false;
}

int path_glob_state_step(const PathGlob *g, const PathGlobState *s, const char *name, PathGlobState *ret) {
        uint32_t *out = positions_new(3 * s->n_positions);
        size_t n = 0;

        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < s->n_positions; i++) {
                uint32_t pos = s->positions[i];
                const Component *c = &g->components[pos];

                if (!component_matches(c, name))
                        continue;
                if (c->kind == COMPONENT_ANY_DEPTH)
                        out[n++] = pos;
                state_add(g, out, &n, pos + 1);
        }
        state_finish(out, &n);
        *ret = (PathGlobState) { .positions = out, .n_positions = n };
        return 0;
}

bool path_glob_state_matches(const PathGlob *g, const PathGlobState *s) {
        for (size_t i = 0; i < s->n_positions; i++)
                if (g->components[s->positions[i]].kind == COMPONENT_END)
                        return true;
        return false;
}

bool path_glob_state_can_continue(const PathGlob *g, const PathGlobState *s) {
        for (size_t i = 0; i < s->n_positions; i++)
                if (g->components[s->positions[i]].kind != COMPONENT_END)
                        return true;
        return false;
}

int path_glob_match(const PathGlob *g, const char *path) {
        _cleanup_(path_glob_state_done) PathGlobState s = {};
        _cleanup_free_ char *name = malloc(strlen(path) + 1);
        size_t n;
        int r;

        if (!name)
                return -ENOMEM;
        r = path_glob_state_start(g, &s);
        if (r < 0)
                return r;
        for (const char *p, *rest = path; (p = layer_path_next_component(&rest, &n));) {
                PathGlobState next = {};

                memcpy(name, p, n);
                name[n] = 0;
                r = path_glob_state_step(g, &s, name, &next);
                if (r < 0)
                        return r;
                path_glob_state_done(&s);
                s = next;
                if (s.n_positions == 0)
                        return 0;
        }
        return path_glob_state_matches(g, &s);
}
