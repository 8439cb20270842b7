/* SPDX-License-Identifier: MIT OR Apache-2.0 */

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "testrunner/testrunner-glob.h"
#include "testrunner/testrunner-utf8.h"

typedef enum GlobItemType {
        GLOB_ITEM_CHAR,
        GLOB_ITEM_ANY,
        GLOB_ITEM_STAR,
        GLOB_ITEM_CLASS,
} GlobItemType;

typedef struct GlobRange {
        uint32_t lo, hi;
} GlobRange;

typedef struct GlobItem {
        GlobItemType type;
        uint32_t c;             /* GLOB_ITEM_CHAR */
        bool negated;           /* GLOB_ITEM_CLASS: ranges[first .. first + n) */
        size_t first, n;
} GlobItem;

/* One brace-free alternative. */
typedef struct GlobSequence {
        GlobItem *items;
        size_t n_items, n_allocated;
} GlobSequence;

struct PatternGlob {
        size_t n_items;         /* over all sequences, capped by PATTERN_GLOB_ITEMS_MAX */
        GlobRange *ranges;
        size_t n_ranges;
        GlobSequence *sequences;
        size_t n_sequences;
};

typedef struct GlobParser {
        const char *text;
        size_t len, pos;
        PatternGlob *glob;
        size_t error_offset;
        const char *error_reason;
} GlobParser;

static void glob_sequences_free(GlobSequence *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(s[i].items);
        free(s);
}

PatternGlob *pattern_glob_free(PatternGlob *g) {
        if (!g)
                return NULL;
        free(g->ranges);
        glob_sequences_free(g->sequences, g->n_sequences);
        return mfree(g);
}

static int glob_parser_fail(GlobParser *p, size_t offset, const char *reason, int r) {
        p->error_offset = offset;
        p->error_reason = reason;
        return r;
}

static int glob_add_range(PatternGlob *g, uint32_t lo, uint32_t hi) {
        GlobRange *n = reallocarray(g->ranges, g->n_ranges + 1, sizeof(GlobRange));
        if (!n)
                return -ENOMEM;
        g->ranges = n;
        g->ranges[g->n_ranges++] = (GlobRange) { lo, hi };
        return 0;
}

/* Appends item to every sequence in [first, last). */
static int glob_append(GlobSequence *seqs, size_t first, size_t last, GlobItem item) {
        for (size_t i = first; i < last; i++) {
                if (seqs[i].n_items == seqs[i].n_allocated) {
                        size_t m = MAX(seqs[i].n_allocated * 2, 8U);
                        GlobItem *n = reallocarray(seqs[i].items, m, sizeof(GlobItem));
                        if (!n)
                                return -ENOMEM;
                        seqs[i].items = n;
                        seqs[i].n_allocated = m;
                }
                seqs[i].items[seqs[i].n_items++] = item;
        }
        return 0;
}

/* Reads one character, honouring a backslash escape. */
static int glob_next_char(GlobParser *p, uint32_t *ret) {
        if (p->text[p->pos] == '\\') {
                if (p->pos + 1 >= p->len)
                        return glob_parser_fail(p, p->pos, "dangling backslash", -EINVAL);
                p->pos++;
        }
        p->pos += utf8_decode(p->text + p->pos, p->len - p->pos, ret);
        return 0;
}

static int glob_parse_class(GlobParser *p, GlobItem *ret) {
        size_t start = p->pos;
        GlobItem item = { .type = GLOB_ITEM_CLASS, .first = p->glob->n_ranges };
        int r;

        p->pos++; /* [ */
        if (p->pos < p->len && IN_SET(p->text[p->pos], '!', '^')) {
                item.negated = true;
                p->pos++;
        }
        for (bool first = true;; first = false) {
                uint32_t lo, hi;

                if (p->pos >= p->len)
                        return glob_parser_fail(p, start, "unclosed character class", -EINVAL);
                if (p->text[p->pos] == ']' && !first) {
                        p->pos++;
                        break;
                }
                r = glob_next_char(p, &lo);
                if (r < 0)
                        return r;
                hi = lo;
                if (p->pos + 1 < p->len && p->text[p->pos] == '-' && p->text[p->pos + 1] != ']') {
                        size_t range_start = p->pos;

                        p->pos++;
                        r = glob_next_char(p, &hi);
                        if (r < 0)
                                return r;
                        if (hi < lo)
                                return glob_parser_fail(p, range_start, "invalid range", -EINVAL);
                }
                r = glob_add_range(p->glob, lo, hi);
                if (r < 0)
                        return r;
        }
        item.n = p->glob->n_ranges - item.first;
        *ret = item;
        return 0;
}

/* Appends a copy of the sequences [first, last) to the array. */
static int glob_copy_sequences(GlobParser *p, size_t first, size_t last) {
        PatternGlob *g = p->glob;

        if (g->n_sequences + (last - first) > PATTERN_GLOB_ALTERNATIVES_MAX)
                return glob_parser_fail(p, p->pos, "too many brace alternatives", -E2BIG);
        for (size_t i = first; i < last; i++) {
                g->n_items += g->sequences[i].n_items;
                if (g->n_items > PATTERN_GLOB_ITEMS_MAX)
                        return glob_parser_fail(p, p->pos, "braces that expand too far", -E2BIG);
        }
        GlobSequence *n = reallocarray(g->sequences, g->n_sequences + (last - first), sizeof(GlobSequence));
        if (!n)
                return -ENOMEM;
        g->sequences = n;
        for (size_t i = first; i < last; i++) {
                GlobSequence copy = {
                        .n_items = g->sequences[i].n_items,
                        .n_allocated = g->sequences[i].n_items,
                };

                if (copy.n_items > 0) {
                        copy.items = reallocarray(NULL, copy.n_items, sizeof(GlobItem));
                        if (!copy.items)
                                return -ENOMEM;
                        memcpy(copy.items, g->sequences[i].items, copy.n_items * sizeof(GlobItem));
                }
                g->sequences[g->n_sequences++] = copy;
        }
        return 0;
}

/* Frees the first n sequences and moves the rest down. */
static void glob_sequences_drop_front(PatternGlob *g, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(g->sequences[i].items);
        memmove(g->sequences, g->sequences + n, (g->n_sequences - n) * sizeof(GlobSequence));
        g->n_sequences -= n;
}

/* Builds one brace-free sequence per alternative.  At "{" the sequences so far ("base") are copied once for
 * the first alternative, and once more at each ","; at "}" the base is dropped. */
static int glob_parse(GlobParser *p) {
        PatternGlob *g = p->glob;
        /* Sequences before the current brace group: [0, n_base); inside the group: alternatives built so
         * far go to [n_base, n_done), the one being built to [n_done, n). */
        size_t n_base = 0, n_done = 0, group_start = 0;
        bool in_group = false;
        int r;

        g->sequences = calloc(1, sizeof(GlobSequence));
        if (!g->sequences)
                return -ENOMEM;
        g->n_sequences = 1;

        while (p->pos < p->len) {
                char c = p->text[p->pos];
                size_t first = in_group ? n_done : 0, last = g->n_sequences;
                GlobItem item = {};

                if (c == '{') {
                        if (in_group)
                                return glob_parser_fail(p, p->pos, "nested braces", -EINVAL);
                        in_group = true;
                        group_start = p->pos++;
                        n_base = g->n_sequences;
                        n_done = n_base;
                        r = glob_copy_sequences(p, 0, n_base);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (c == ',' && in_group) {
                        p->pos++;
                        n_done = g->n_sequences;
                        r = glob_copy_sequences(p, 0, n_base);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (c == '}') {
                        if (!in_group)
                                return glob_parser_fail(p, p->pos, "'}' without '{'", -EINVAL);
                        p->pos++;
                        in_group = false;
                        /* Drop the sequences from before the group: the alternatives replace them. */
                        glob_sequences_drop_front(g, n_base);
                        continue;
                }
                if (c == '*') {
                        item.type = GLOB_ITEM_STAR;
                        p->pos++;
                } else if (c == '?') {
                        item.type = GLOB_ITEM_ANY;
                        p->pos++;
                } else if (c == '[') {
                        r = glob_parse_class(p, &item);
                        if (r < 0)
                                return r;
                } else {
                        item.type = GLOB_ITEM_CHAR;
                        r = glob_next_char(p, &item.c);
                        if (r < 0)
                                return r;
                }
                g->n_items += last - first;
                if (g->n_items > PATTERN_GLOB_ITEMS_MAX)
                        return glob_parser_fail(p, p->pos, "braces that expand too far", -E2BIG);
                r = glob_append(g->sequences, first, last, item);
                if (r < 0)
                        return r;
        }
        if (in_group)
                return glob_parser_fail(p, group_start, "unclosed '{'", -EINVAL);
        return 0;
}

int pattern_glob_compile(const char *text, size_t len, PatternGlob **ret, size_t *reterr_offset,
                         const char **reterr_reason) {
        _cleanup_(pattern_glob_freep) PatternGlob *g = NULL;
        int r;

        assert(text || len == 0);
        assert(ret);

        g = calloc(1, sizeof(PatternGlob));
        if (!g)
                return -ENOMEM;

        GlobParser p = { .text = text, .len = len, .glob = g };
        r = glob_parse(&p);
        if (r < 0) {
                if (p.error_reason) {
                        if (reterr_offset)
                                *reterr_offset = p.error_offset;
                        if (reterr_reason)
                                *reterr_reason = p.error_reason;
                }
                return r;
        }
        *ret = TAKE_PTR(g);
        return 0;
}

static bool glob_item_matches(const PatternGlob *g, const GlobItem *item, uint32_t c) {
        switch (item->type) {
        case GLOB_ITEM_CHAR:
                return item->c == c;
        case GLOB_ITEM_ANY:
                return true;
        case GLOB_ITEM_CLASS:
                for (size_t i = item->first; i < item->first + item->n; i++)
                        if (g->ranges[i].lo <= c && c <= g->ranges[i].hi)
                                return !item->negated;
                return item->negated;
        case GLOB_ITEM_STAR:
                break;
        }
        return false;
}

/* The classic one-star backtracking match: a later star subsumes any earlier one, so remembering only the
 * last star seen is enough, and the cost is O(items * characters). */
static bool glob_sequence_match(const PatternGlob *g, const GlobSequence *seq, const uint32_t *s, size_t n) {
        size_t i = 0, j = 0, star_i = SIZE_MAX, star_j = 0;

        while (j < n) {
                if (i < seq->n_items && seq->items[i].type == GLOB_ITEM_STAR) {
                        star_i = i++;
                        star_j = j;
                } else if (i < seq->n_items && glob_item_matches(g, seq->items + i, s[j])) {
                        i++;
                        j++;
                } else if (star_i != SIZE_MAX) {
                        i = star_i + 1;
                        j = ++star_j;
                } else
                        return false;
        }
        while (i < seq->n_items && seq->items[i].type == GLOB_ITEM_STAR)
                i++;
        return i == seq->n_items;
}

bool pattern_glob_match(const PatternGlob *g, const char *s) {
        _cleanup_free_ uint32_t *chars = NULL;
        size_t len, n = 0;

        assert(g);
        assert(s);

        len = strlen(s);
        chars = reallocarray(NULL, len + 1, sizeof(uint32_t));
        if (!chars)
                return false;
        for (size_t pos = 0; pos < len; n++)
                pos += utf8_decode(s + pos, len - pos, chars + n);

        for (size_t i = 0; i < g->n_sequences; i++)
                if (glob_sequence_match(g, g->sequences + i, chars, n))
                        return true;
        return false;
}
