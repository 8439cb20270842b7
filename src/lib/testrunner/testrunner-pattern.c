/* SPDX-License-Identifier: MIT OR Apache-2.0 */

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "basic/string-table.h"
#include "basic/string-util.h"
#include "testrunner/testrunner-glob.h"
#include "testrunner/testrunner-pattern.h"
#include "testrunner/testrunner-utf8.h"

static const char *const pattern_syntax_table[_PATTERN_SYNTAX_MAX] = {
        [PATTERN_SYNTAX_CARGO] = "cargo",
        [PATTERN_SYNTAX_GO] = "go",
        [PATTERN_SYNTAX_PYTEST] = "pytest",
};
DEFINE_STRING_TABLE_LOOKUP(pattern_syntax, PatternSyntax);

static const char *const cargo_target_kind_table[_CARGO_TARGET_KIND_MAX] = {
        [CARGO_TARGET_LIBRARY] = "library",
        [CARGO_TARGET_BINARY] = "binary",
        [CARGO_TARGET_TEST] = "test",
        [CARGO_TARGET_EXAMPLE] = "example",
        [CARGO_TARGET_BENCHMARK] = "benchmark",
};
DEFINE_STRING_TABLE_LOOKUP(cargo_target_kind, CargoTargetKind);

static const char *const pattern_result_table[_PATTERN_RESULT_MAX] = {
        [PATTERN_FALSE] = "false",
        [PATTERN_TRUE] = "true",
        [PATTERN_UNKNOWN] = "unknown",
};
DEFINE_STRING_TABLE_LOOKUP(pattern_result, PatternResult);

typedef enum NodeType {
        NODE_TRUE,
        NODE_FALSE,
        NODE_AND,               /* children, all must hold */
        NODE_OR,                /* children, one must hold */
        NODE_NOT,               /* children[0] */
        NODE_KIND,              /* cargo: the case is in a target of this kind */
        NODE_MATCH,             /* field matches matcher */
        NODE_MARKER,            /* pytest: argument is one of the markers */
} NodeType;

typedef enum Field {
        FIELD_NAME,
        FIELD_PACKAGE,
        FIELD_TARGET,
        FIELD_PACKAGE_IMPORT_PATH,
        FIELD_PACKAGE_PATH,
        FIELD_PACKAGE_NAME,
        FIELD_FILE,
        FIELD_NODE_ID,
        FIELD_MARKERS,
} Field;

typedef enum MatcherType {
        MATCHER_EQUALS,
        MATCHER_CONTAINS,
        MATCHER_STARTS_WITH,
        MATCHER_ENDS_WITH,
        MATCHER_MATCHES,
        MATCHER_GLOBS,
} MatcherType;

struct Pattern {
        PatternSyntax syntax;
        NodeType type;
        Pattern **children;
        size_t n_children;
        CargoTargetKind kind;
        Field field;
        MatcherType matcher;
        char *argument;
        pcre2_code *regex;
        PatternGlob *glob;
};

Pattern *pattern_free(Pattern *p) {
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n_children; i++)
                pattern_free(p->children[i]);
        free(p->children);
        free(p->argument);
        pcre2_code_free(p->regex);
        pattern_glob_free(p->glob);
        return mfree(p);
}

PatternSyntax pattern_get_syntax(const Pattern *p) {
        assert(p);
        return p->syntax;
}

static Pattern *node_new(PatternSyntax syntax, NodeType type) {
        Pattern *p = calloc(1, sizeof(Pattern));
        if (!p)
                return NULL;
        p->syntax = syntax;
        p->type = type;
        p->kind = _CARGO_TARGET_KIND_INVALID;
        return p;
}

/* Takes child in all cases. */
static int node_add_child(Pattern *p, Pattern *child) {
        if (!child)
                return -ENOMEM;
        Pattern **n = reallocarray(p->children, p->n_children + 1, sizeof(Pattern *));
        if (!n) {
                pattern_free(child);
                return -ENOMEM;
        }
        p->children = n;
        p->children[p->n_children++] = child;
        return 0;
}

/* Returns a new node of type wrapping child (taken in all cases), or NULL on ENOMEM. */
static Pattern *node_wrap(PatternSyntax syntax, NodeType type, Pattern *child) {
        _cleanup_(pattern_freep) Pattern *p = node_new(syntax, type);
        if (!p || node_add_child(p, child) < 0) {
                if (!p)
                        pattern_free(child);
                return NULL;
        }
        return TAKE_PTR(p);
}

/* ---- keywords and their abbreviations ---- */

typedef struct Keyword {
        const char *word;
        size_t min;             /* shortest accepted prefix */
        int id;
} Keyword;

enum {
        SIMPLE_ALL,
        SIMPLE_NONE,
        SIMPLE_KIND,            /* + CargoTargetKind */
};

#define KIND_ID(k) (SIMPLE_KIND + (k))

/* The simple selectors of every syntax. */
#define SIMPLE_COMMON                                   \
        { "all", 2, SIMPLE_ALL },                       \
        { "any", 2, SIMPLE_ALL },                       \
        { "true", 2, SIMPLE_ALL },                      \
        { "none", 1, SIMPLE_NONE },                     \
        { "false", 1, SIMPLE_NONE }

static const Keyword simple_common[] = {
        SIMPLE_COMMON,
        {},
};

static const Keyword simple_cargo[] = {
        SIMPLE_COMMON,
        { "library", 1, KIND_ID(CARGO_TARGET_LIBRARY) },
        { "binary", 2, KIND_ID(CARGO_TARGET_BINARY) },
        { "benchmark", 2, KIND_ID(CARGO_TARGET_BENCHMARK) },
        { "example", 1, KIND_ID(CARGO_TARGET_EXAMPLE) },
        { "test", 2, KIND_ID(CARGO_TARGET_TEST) },
        {},
};

/* Compound selectors: a field, or for cargo's target kinds KIND_ID(kind) + FIELD_KIND_BASE. */
#define COMPOUND_KIND_BASE 100
#define COMPOUND_KIND(k) (COMPOUND_KIND_BASE + (k))

static const Keyword compound_cargo[] = {
        { "name", 1, FIELD_NAME },
        { "package", 1, FIELD_PACKAGE },
        { "binary", 2, COMPOUND_KIND(CARGO_TARGET_BINARY) },
        { "benchmark", 2, COMPOUND_KIND(CARGO_TARGET_BENCHMARK) },
        { "example", 1, COMPOUND_KIND(CARGO_TARGET_EXAMPLE) },
        { "test", 2, COMPOUND_KIND(CARGO_TARGET_TEST) },
        {},
};

static const Keyword compound_go[] = {
        { "name", 1, FIELD_NAME },
        { "package_import_path", 1, FIELD_PACKAGE_IMPORT_PATH },
        { "package_path", 9, FIELD_PACKAGE_PATH },
        { "package_name", 9, FIELD_PACKAGE_NAME },
        {},
};

static const Keyword compound_pytest[] = {
        { "name", 2, FIELD_NAME },
        { "file", 1, FIELD_FILE },
        { "package", 1, FIELD_PACKAGE },
        { "node_id", 2, FIELD_NODE_ID },
        { "markers", 7, FIELD_MARKERS },
        {},
};

static const Keyword matchers[] = {
        { "equals", 2, MATCHER_EQUALS },
        { "contains", 1, MATCHER_CONTAINS },
        { "starts_with", 1, MATCHER_STARTS_WITH },
        { "ends_with", 2, MATCHER_ENDS_WITH },
        { "matches", 1, MATCHER_MATCHES },
        { "globs", 1, MATCHER_GLOBS },
        {},
};

static const Keyword *const simple_tables[_PATTERN_SYNTAX_MAX] = {
        [PATTERN_SYNTAX_CARGO] = simple_cargo,
        [PATTERN_SYNTAX_GO] = simple_common,
        [PATTERN_SYNTAX_PYTEST] = simple_common,
};

static const Keyword *const compound_tables[_PATTERN_SYNTAX_MAX] = {
        [PATTERN_SYNTAX_CARGO] = compound_cargo,
        [PATTERN_SYNTAX_GO] = compound_go,
        [PATTERN_SYNTAX_PYTEST] = compound_pytest,
};

typedef enum Lookup {
        LOOKUP_FOUND,
        LOOKUP_UNKNOWN,         /* not a prefix of any keyword */
        LOOKUP_SHORT,           /* a prefix of exactly one keyword, but too short */
        LOOKUP_AMBIGUOUS,       /* a prefix of several keywords, long enough for none */
} Lookup;

/* Finds the keyword that word (n bytes) abbreviates.  Sets *ret on LOOKUP_FOUND, and on the other results
 * writes the candidate keywords, joined by " or ", to candidates. */
static Lookup keyword_lookup(const Keyword *table, const char *word, size_t n, const Keyword **ret,
                             char *candidates, size_t size) {
        size_t n_prefix = 0;

        candidates[0] = 0;
        for (const Keyword *k = table; k->word; k++) {
                if (strlen(k->word) < n || !strneq(k->word, word, n))
                        continue;
                if (n >= k->min) {
                        *ret = k;
                        return LOOKUP_FOUND;
                }
                size_t l = strlen(candidates);
                (void) snprintf(candidates + l, size - l, "%s'%s'", n_prefix > 0 ? " or " : "", k->word);
                n_prefix++;
        }
        return n_prefix == 0 ? LOOKUP_UNKNOWN : n_prefix == 1 ? LOOKUP_SHORT : LOOKUP_AMBIGUOUS;
}

/* ---- the parser ---- */

typedef struct Parser {
        PatternSyntax syntax;
        const char *text;
        size_t len, pos;
        unsigned depth;
        PatternError *error;
} Parser;

static bool is_space(char c) {
        return IN_SET(c, ' ', '\t', '\n', '\r', '\f', '\v');
}

static bool is_word(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static char peek(const Parser *p, size_t offset) {
        return p->pos + offset < p->len ? p->text[p->pos + offset] : 0;
}

static size_t skip_spaces(Parser *p) {
        size_t start = p->pos;

        while (p->pos < p->len && is_space(p->text[p->pos]))
                p->pos++;
        return p->pos - start;
}

/* Records "expected <what> at column N" for byte offset pos and returns r. */
_printf_(4, 5) static int parser_fail(Parser *p, size_t pos, int r, const char *format, ...) {
        char what[PATTERN_ERROR_MESSAGE_MAX];
        va_list ap;

        if (!p->error)
                return r;
        va_start(ap, format);
        (void) vsnprintf(what, sizeof what, format, ap);
        va_end(ap);
        p->error->column = utf8_column(p->text, pos);
        p->error->pattern = p->text;
        /* Cut what, not the column, when the message is long. */
        char suffix[32];
        int l = snprintf(suffix, sizeof suffix, " at column %u", p->error->column);
        (void) snprintf(p->error->message, sizeof p->error->message, "expected %.*s%s",
                        (int) (sizeof p->error->message - strlen("expected ") - (size_t) l - 1), what,
                        suffix);
        return r;
}

static int parse_or(Parser *p, Pattern **ret);

/* The argument of a matcher: the text between the delimiters at p->pos.  Sets *ret_start to its offset. */
static int parse_argument(Parser *p, char **ret, size_t *ret_start) {
        static const char delimiters[] = "([{</", closers[] = ")]}>/";
        char open = peek(p, 0);
        const char *d = open ? strchr(delimiters, open) : NULL;
        unsigned depth = 1;

        if (!d)
                return parser_fail(p, p->pos, -EINVAL, "'(', '[', '{', '<' or '/' to open the argument");
        char close = closers[d - delimiters];
        size_t start = ++p->pos;
        for (;; p->pos++) {
                if (p->pos >= p->len)
                        return parser_fail(p, p->pos, -EINVAL, "'%c' to close the argument", close);
                char c = p->text[p->pos];
                if (c == close && --depth == 0)
                        break;
                if (c == open)
                        depth++;
        }
        char *s = strndup(p->text + start, p->pos - start);
        if (!s)
                return -ENOMEM;
        p->pos++;
        *ret = s;
        *ret_start = start;
        return 0;
}

static int compile_regex(Parser *p, Pattern *node, size_t start) {
        PCRE2_UCHAR buf[PATTERN_ERROR_MESSAGE_MAX / 2];
        PCRE2_SIZE offset;
        int code;

        node->regex = pcre2_compile((PCRE2_SPTR) node->argument, strlen(node->argument),
                                    PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &code, &offset,
                                    /* ccontext= */ NULL);
        if (node->regex)
                return 0;
        if (pcre2_get_error_message(code, buf, sizeof buf) < 0)
                strcpy((char *) buf, "error");
        return parser_fail(p, start + offset, -EINVAL, "a valid regular expression (%s)",
                           (const char *) buf);
}

static int compile_glob(Parser *p, Pattern *node, size_t start) {
        const char *reason = NULL;
        size_t offset = 0;
        int r;

        r = pattern_glob_compile(node->argument, strlen(node->argument), &node->glob, &offset, &reason);
        if (r < 0 && reason)
                return parser_fail(p, start + offset, r, "a valid glob (%s)", reason);
        return r;
}

static int fail_lookup(Parser *p, Lookup l, size_t pos, size_t n, const char *what, const char *candidates) {
        switch (l) {
        case LOOKUP_SHORT:
                return parser_fail(p, pos, -EINVAL, "%s ('%.*s' is too short an abbreviation of %s)", what,
                                   (int) n, p->text + pos, candidates);
        case LOOKUP_AMBIGUOUS:
                return parser_fail(p, pos, -EINVAL, "%s ('%.*s' is ambiguous: %s)", what, (int) n,
                                   p->text + pos, candidates);
        case LOOKUP_UNKNOWN:
        case LOOKUP_FOUND:
                break;
        }
        return parser_fail(p, pos, -EINVAL, "%s, not '%.*s'", what, (int) n, p->text + pos);
}

/* SELECTOR "." MATCHER ARGUMENT, with p->pos at the ".". */
static int parse_compound(Parser *p, size_t word_start, size_t word_len, Pattern **ret) {
        _cleanup_(pattern_freep) Pattern *node = NULL;
        const Keyword *selector, *matcher;
        char candidates[PATTERN_ERROR_MESSAGE_MAX];
        size_t start;
        Lookup l;
        int r;

        l = keyword_lookup(compound_tables[p->syntax], p->text + word_start, word_len, &selector, candidates,
                           sizeof candidates);
        if (l != LOOKUP_FOUND)
                return fail_lookup(p, l, word_start, word_len, "a selector with a matcher", candidates);

        p->pos++; /* . */
        start = p->pos;
        while (is_word(peek(p, 0)))
                p->pos++;
        l = keyword_lookup(matchers, p->text + start, p->pos - start, &matcher, candidates,
                           sizeof candidates);
        if (l != LOOKUP_FOUND)
                return fail_lookup(p, l, start, p->pos - start,
                                   "a matcher: equals, contains, starts_with, ends_with, matches or globs",
                                   candidates);
        if (selector->id == FIELD_MARKERS && matcher->id != MATCHER_CONTAINS)
                return parser_fail(p, start, -EINVAL, "'contains' after 'markers.'");

        node = node_new(p->syntax, selector->id == FIELD_MARKERS ? NODE_MARKER : NODE_MATCH);
        if (!node)
                return -ENOMEM;
        node->matcher = matcher->id;
        node->field = selector->id >= COMPOUND_KIND_BASE ? FIELD_TARGET : (Field) selector->id;
        r = parse_argument(p, &node->argument, &start);
        if (r < 0)
                return r;
        if (node->matcher == MATCHER_MATCHES)
                r = compile_regex(p, node, start);
        else if (node->matcher == MATCHER_GLOBS)
                r = compile_glob(p, node, start);
        if (r < 0)
                return r;

        if (selector->id >= COMPOUND_KIND_BASE) {
                /* A case in a target of that kind whose target name matches. */
                _cleanup_(pattern_freep) Pattern *and = node_new(p->syntax, NODE_AND);
                Pattern *kind = node_new(p->syntax, NODE_KIND);
                if (!and || !kind) {
                        pattern_free(kind);
                        return -ENOMEM;
                }
                kind->kind = selector->id - COMPOUND_KIND_BASE;
                r = node_add_child(and, kind);
                if (r < 0)
                        return r;
                r = node_add_child(and, TAKE_PTR(node));
                if (r < 0)
                        return r;
                *ret = TAKE_PTR(and);
                return 0;
        }
        *ret = TAKE_PTR(node);
        return 0;
}

/* A parenthesised group, a compound selector or a simple selector. */
static int parse_simple(Parser *p, Pattern **ret) {
        char candidates[PATTERN_ERROR_MESSAGE_MAX];
        const Keyword *k;
        Pattern *node;
        int r;

        if (peek(p, 0) == '(') {
                _cleanup_(pattern_freep) Pattern *inner = NULL;

                p->pos++;
                (void) skip_spaces(p);
                r = parse_or(p, &inner);
                if (r < 0)
                        return r;
                (void) skip_spaces(p);
                if (peek(p, 0) != ')')
                        return parser_fail(p, p->pos, -EINVAL, "an operator or ')'");
                p->pos++;
                *ret = TAKE_PTR(inner);
                return 0;
        }

        size_t start = p->pos;
        while (is_word(peek(p, 0)))
                p->pos++;
        size_t n = p->pos - start;
        if (n == 0)
                return parser_fail(p, start, -EINVAL, "a selector, '(', '!', '~' or 'not'");
        if (peek(p, 0) == '.')
                return parse_compound(p, start, n, ret);

        Lookup l = keyword_lookup(simple_tables[p->syntax], p->text + start, n, &k, candidates,
                                  sizeof candidates);
        if (l != LOOKUP_FOUND) {
                const Keyword *c;

                if (n == 3 && strneq(p->text + start, "not", 3))
                        return parser_fail(p, p->pos, -EINVAL, "whitespace after 'not'");
                if (keyword_lookup(compound_tables[p->syntax], p->text + start, n, &c, candidates,
                                   sizeof candidates) == LOOKUP_FOUND)
                        return parser_fail(p, p->pos, -EINVAL, "'.' and a matcher after '%s'", c->word);
                l = keyword_lookup(simple_tables[p->syntax], p->text + start, n, &k, candidates,
                                   sizeof candidates);
                return fail_lookup(p, l, start, n, "a selector", candidates);
        }
        if (peek(p, 0) == '(' && peek(p, 1) == ')')
                p->pos += 2;

        if (k->id == SIMPLE_ALL || k->id == SIMPLE_NONE)
                node = node_new(p->syntax, k->id == SIMPLE_ALL ? NODE_TRUE : NODE_FALSE);
        else {
                node = node_new(p->syntax, NODE_KIND);
                if (node)
                        node->kind = k->id - SIMPLE_KIND;
        }
        if (!node)
                return -ENOMEM;
        *ret = node;
        return 0;
}

static int parse_not(Parser *p, Pattern **ret) {
        size_t start = p->pos;
        bool negate = false;
        Pattern *inner;
        int r;

        if (IN_SET(peek(p, 0), '!', '~')) {
                p->pos++;
                if (is_space(peek(p, 0)))
                        return parser_fail(p, p->pos, -EINVAL, "the operand right after '%c'",
                                           p->text[start]);
                negate = true;
        } else if (peek(p, 0) == 'n' && peek(p, 1) == 'o' && peek(p, 2) == 't' && is_space(peek(p, 3))) {
                p->pos += 3;
                (void) skip_spaces(p);
                negate = true;
        }
        if (!negate)
                return parse_simple(p, ret);

        if (++p->depth > PATTERN_DEPTH_MAX)
                return parser_fail(p, start, -E2BIG, "at most %u nested operators or parentheses",
                                   PATTERN_DEPTH_MAX);
        r = parse_not(p, &inner);
        p->depth--;
        if (r < 0)
                return r;
        inner = node_wrap(p->syntax, NODE_NOT, inner);
        if (!inner)
                return -ENOMEM;
        *ret = inner;
        return 0;
}

typedef enum Operator {
        OP_NONE,
        OP_OR,
        OP_AND,
        OP_MINUS,
} Operator;

/* Whether the word operator w starts at p->pos and is followed by whitespace. */
static bool at_word_operator(const Parser *p, const char *w) {
        size_t n = strlen(w);

        return p->pos + n < p->len && strneq(p->text + p->pos, w, n) && is_space(p->text[p->pos + n]);
}

/* Reads a binary operator (with the whitespace around it) if one follows; otherwise leaves p->pos alone. */
static Operator parse_operator(Parser *p) {
        static const struct {
                const char *s;
                Operator op;
        } symbols[] = {
                { "||", OP_OR }, { "|", OP_OR }, { "&&", OP_AND }, { "&", OP_AND },
                { "+", OP_AND }, { "\\", OP_MINUS }, { "-", OP_MINUS },
        }, words[] = {
                { "or", OP_OR }, { "and", OP_AND }, { "minus", OP_MINUS },
        };
        size_t start = p->pos, spaces = skip_spaces(p);

        for (size_t i = 0; i < ELEMENTSOF(symbols); i++)
                if (strneq(p->text + p->pos, symbols[i].s, strlen(symbols[i].s)) &&
                    p->pos + strlen(symbols[i].s) <= p->len) {
                        p->pos += strlen(symbols[i].s);
                        (void) skip_spaces(p);
                        return symbols[i].op;
                }
        if (spaces > 0)
                for (size_t i = 0; i < ELEMENTSOF(words); i++)
                        if (at_word_operator(p, words[i].s)) {
                                p->pos += strlen(words[i].s);
                                (void) skip_spaces(p);
                                return words[i].op;
                        }
        p->pos = start;
        return OP_NONE;
}

/* One level of binary operators: "or" when loosest, else "and"/"minus".  Builds one n-ary node; "A - B"
 * adds "!B", so a chain is read from the left as the grammar says. */
static int parse_level(Parser *p, bool loosest, Pattern **ret) {
        _cleanup_(pattern_freep) Pattern *node = NULL, *first = NULL;
        int r;

        r = loosest ? parse_level(p, /* loosest= */ false, &first) : parse_not(p, &first);
        if (r < 0)
                return r;
        for (;;) {
                size_t start = p->pos;
                Operator op = parse_operator(p);
                Pattern *operand;

                if (op == OP_NONE || (op == OP_OR) != loosest) {
                        p->pos = start;
                        break;
                }
                if (!node) {
                        node = node_new(p->syntax, loosest ? NODE_OR : NODE_AND);
                        if (!node)
                                return -ENOMEM;
                        r = node_add_child(node, TAKE_PTR(first));
                        if (r < 0)
                                return r;
                }
                r = loosest ? parse_level(p, /* loosest= */ false, &operand) : parse_not(p, &operand);
                if (r < 0)
                        return r;
                if (op == OP_MINUS) {
                        operand = node_wrap(p->syntax, NODE_NOT, operand);
                        if (!operand)
                                return -ENOMEM;
                }
                r = node_add_child(node, operand);
                if (r < 0)
                        return r;
        }
        *ret = node ? TAKE_PTR(node) : TAKE_PTR(first);
        return 0;
}

static int parse_or(Parser *p, Pattern **ret) {
        int r;

        if (++p->depth > PATTERN_DEPTH_MAX)
                return parser_fail(p, p->pos, -E2BIG, "at most %u nested operators or parentheses",
                                   PATTERN_DEPTH_MAX);
        r = parse_level(p, /* loosest= */ true, ret);
        p->depth--;
        return r;
}

int pattern_parse(PatternSyntax syntax, const char *text, Pattern **ret, PatternError *reterr) {
        _cleanup_(pattern_freep) Pattern *pattern = NULL;
        Parser p = { .syntax = syntax, .text = text, .error = reterr };
        int r;

        assert(syntax >= 0 && syntax < _PATTERN_SYNTAX_MAX);
        assert(text);
        assert(ret);

        p.len = strnlen(text, PATTERN_LENGTH_MAX + 1);
        if (p.len > PATTERN_LENGTH_MAX)
                return parser_fail(&p, PATTERN_LENGTH_MAX, -E2BIG, "at most %u bytes", PATTERN_LENGTH_MAX);

        (void) skip_spaces(&p);
        r = parse_or(&p, &pattern);
        if (r < 0)
                return r;
        (void) skip_spaces(&p);
        if (p.pos < p.len)
                return parser_fail(&p, p.pos, -EINVAL, "an operator or the end of the pattern");
        *ret = TAKE_PTR(pattern);
        return 0;
}

/* Parses each item of list into a child of a new OR node; an empty list gives empty_type. */
static int parse_list(PatternSyntax syntax, char *const *list, NodeType empty_type, Pattern **ret,
                      PatternError *reterr) {
        _cleanup_(pattern_freep) Pattern *node = NULL;
        int r;

        if (strv_isempty(list)) {
                node = node_new(syntax, empty_type);
                if (!node)
                        return -ENOMEM;
                *ret = TAKE_PTR(node);
                return 0;
        }
        node = node_new(syntax, NODE_OR);
        if (!node)
                return -ENOMEM;
        for (char *const *i = list; *i; i++) {
                Pattern *item;

                r = pattern_parse(syntax, *i, &item, reterr);
                if (r < 0)
                        return r;
                r = node_add_child(node, item);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(node);
        return 0;
}

int pattern_filter_new(
                PatternSyntax syntax,
                char *const *include,
                char *const *exclude,
                Pattern **ret,
                PatternError *reterr) {

        _cleanup_(pattern_freep) Pattern *filter = NULL;
        Pattern *inc = NULL, *exc = NULL;
        int r;

        assert(ret);

        r = parse_list(syntax, include, NODE_TRUE, &inc, reterr);
        if (r < 0)
                return r;
        filter = node_wrap(syntax, NODE_AND, inc);
        if (!filter)
                return -ENOMEM;
        r = parse_list(syntax, exclude, NODE_FALSE, &exc, reterr);
        if (r < 0)
                return r;
        r = node_add_child(filter, node_wrap(syntax, NODE_NOT, exc));
        if (r < 0)
                return r;
        *ret = TAKE_PTR(filter);
        return 0;
}

/* ---- evaluation ---- */

static const char *case_field(const PatternCase *c, Field f) {
        switch (f) {
        case FIELD_NAME:
                return c->name;
        case FIELD_PACKAGE:
                return c->package;
        case FIELD_TARGET:
                return c->target;
        case FIELD_PACKAGE_IMPORT_PATH:
                return c->package_import_path;
        case FIELD_PACKAGE_PATH:
                return c->package_path;
        case FIELD_PACKAGE_NAME:
                return c->package_name;
        case FIELD_FILE:
                return c->file;
        case FIELD_NODE_ID:
                return c->node_id;
        case FIELD_MARKERS:
                break;
        }
        return NULL;
}

static bool matcher_matches(const Pattern *p, const char *s) {
        size_t n = strlen(s), m = strlen(p->argument);

        switch (p->matcher) {
        case MATCHER_EQUALS:
                return streq(s, p->argument);
        case MATCHER_CONTAINS:
                return strstr(s, p->argument);
        case MATCHER_STARTS_WITH:
                return n >= m && memcmp(s, p->argument, m) == 0;
        case MATCHER_ENDS_WITH:
                return n >= m && memcmp(s + n - m, p->argument, m) == 0;
        case MATCHER_MATCHES: {
                pcre2_match_data *md = pcre2_match_data_create_from_pattern(p->regex, /* gcontext= */ NULL);
                if (!md)
                        return false;
                /* A match error (the match limit, say) counts as no match. */
                int r = pcre2_match(p->regex, (PCRE2_SPTR) s, n, /* startoffset= */ 0, /* options= */ 0, md,
                                    /* mcontext= */ NULL);
                pcre2_match_data_free(md);
                return r >= 0;
        }
        case MATCHER_GLOBS:
                return pattern_glob_match(p->glob, s);
        }
        return false;
}

static PatternResult result_from_bool(bool b) {
        return b ? PATTERN_TRUE : PATTERN_FALSE;
}

PatternResult pattern_evaluate(const Pattern *p, const PatternCase *c) {
        PatternResult r, child;
        const char *s;

        assert(p);
        assert(c);

        switch (p->type) {
        case NODE_TRUE:
                return PATTERN_TRUE;
        case NODE_FALSE:
                return PATTERN_FALSE;
        case NODE_AND:
        case NODE_OR:
                /* Kleene logic: the absorbing value wins over unknown. */
                r = p->type == NODE_AND ? PATTERN_TRUE : PATTERN_FALSE;
                for (size_t i = 0; i < p->n_children; i++) {
                        child = pattern_evaluate(p->children[i], c);
                        if (child == (p->type == NODE_AND ? PATTERN_FALSE : PATTERN_TRUE))
                                return child;
                        if (child == PATTERN_UNKNOWN)
                                r = PATTERN_UNKNOWN;
                }
                return r;
        case NODE_NOT:
                r = pattern_evaluate(p->children[0], c);
                return r == PATTERN_UNKNOWN ? r : result_from_bool(r == PATTERN_FALSE);
        case NODE_KIND:
                if (c->kind < 0 || c->kind >= _CARGO_TARGET_KIND_MAX)
                        return PATTERN_UNKNOWN;
                return result_from_bool(c->kind == p->kind);
        case NODE_MARKER:
                if (!c->markers)
                        return PATTERN_UNKNOWN;
                return result_from_bool(strv_contains(c->markers, p->argument));
        case NODE_MATCH:
                s = case_field(c, p->field);
                if (!s)
                        return PATTERN_UNKNOWN;
                return result_from_bool(matcher_matches(p, s));
        }
        return PATTERN_UNKNOWN;
}
