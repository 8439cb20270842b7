/* SPDX-License-Identifier: MIT OR Apache-2.0 */

#include "basic/string-util.h"
#include "basic/tests.h"
#include "testrunner/testrunner-glob.h"
#include "testrunner/testrunner-pattern.h"

static bool endswith(const char *s, const char *suffix) {
        size_t n = strlen(s), m = strlen(suffix);
        return n >= m && streq(s + n - m, suffix);
}

/* Parses text for syntax, asserting success, and evaluates it against c. */
static PatternResult eval(PatternSyntax syntax, const char *text, const PatternCase *c) {
        _cleanup_(pattern_freep) Pattern *p = NULL;
        PatternError e = {};
        int r = pattern_parse(syntax, text, &p, &e);

        if (r < 0) {
                fprintf(stderr, "'%s' failed to parse: %s\n", text, e.message);
                abort();
        }
        ASSERT_EQ(pattern_get_syntax(p), syntax);
        return pattern_evaluate(p, c);
}

static PatternResult eval_cargo_name(const char *text, const char *name) {
        PatternCase c = PATTERN_CASE_UNKNOWN;

        c.name = name;
        return eval(PATTERN_SYNTAX_CARGO, text, &c);
}

/* Asserts that text fails with -EINVAL at column, with a message containing what. */
static void assert_fails(PatternSyntax syntax, const char *text, unsigned column, const char *what) {
        _cleanup_(pattern_freep) Pattern *p = NULL;
        PatternError e = {};
        char suffix[64];

        int r = pattern_parse(syntax, text, &p, &e);
        if (r != -EINVAL || e.column != column || !strstr(e.message, what)) {
                fprintf(stderr, "'%s': r=%d column=%u message='%s', expected column %u and '%s'\n", text, r,
                        e.column, e.message, column, what);
                abort();
        }
        ASSERT_TRUE(p == NULL);
        ASSERT_TRUE(strneq(e.message, "expected ", strlen("expected ")));
        (void) snprintf(suffix, sizeof suffix, " at column %u", column);
        ASSERT_TRUE(endswith(e.message, suffix));
        ASSERT_TRUE(e.pattern == text);
}

TEST(tables) {
        ASSERT_STREQ(pattern_syntax_to_string(PATTERN_SYNTAX_PYTEST), "pytest");
        ASSERT_EQ(pattern_syntax_from_string("go"), PATTERN_SYNTAX_GO);
        ASSERT_EQ(pattern_syntax_from_string("rust"), -EINVAL);
        ASSERT_EQ(cargo_target_kind_from_string("benchmark"), CARGO_TARGET_BENCHMARK);
        ASSERT_STREQ(cargo_target_kind_to_string(CARGO_TARGET_LIBRARY), "library");
        ASSERT_STREQ(pattern_result_to_string(PATTERN_UNKNOWN), "unknown");
}

TEST(simple_selectors) {
        static const char *const yes[] = { "all", "all()", "al", "any", "an()", "true", "tr", "tru()" };
        static const char *const no[] = { "none", "n", "no()", "non", "false", "f", "fa()", "fals" };

        for (PatternSyntax s = 0; s < _PATTERN_SYNTAX_MAX; s++) {
                for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                        ASSERT_EQ(eval(s, yes[i], &PATTERN_CASE_UNKNOWN), PATTERN_TRUE);
                for (size_t i = 0; i < ELEMENTSOF(no); i++)
                        ASSERT_EQ(eval(s, no[i], &PATTERN_CASE_UNKNOWN), PATTERN_FALSE);
                assert_fails(s, "a", 1, "'a' is ambiguous: 'all' or 'any'");
                assert_fails(s, "t", 1, "'t'");
                assert_fails(s, "all( )", 4, "an operator or the end");
                assert_fails(s, "all ()", 5, "an operator or the end");
                assert_fails(s, "All", 1, "a selector");
                assert_fails(s, "alll", 1, "a selector");
                assert_fails(s, "", 1, "a selector, '(', '!', '~' or 'not'");
                assert_fails(s, "name", 5, "'.' and a matcher after 'name'");
                assert_fails(s, "name()", 5, "'.' and a matcher after 'name'");
        }
        assert_fails(PATTERN_SYNTAX_GO, "library", 1, "a selector");
        assert_fails(PATTERN_SYNTAX_PYTEST, "test", 1, "a selector, not 'test'");
        assert_fails(PATTERN_SYNTAX_GO, "t", 1, "'t' is too short an abbreviation of 'true'");
}

TEST(cargo_kinds) {
        static const struct {
                const char *word;
                size_t min;
                CargoTargetKind kind;
        } kinds[] = {
                { "library", 1, CARGO_TARGET_LIBRARY },   { "binary", 2, CARGO_TARGET_BINARY },
                { "benchmark", 2, CARGO_TARGET_BENCHMARK }, { "example", 1, CARGO_TARGET_EXAMPLE },
                { "test", 2, CARGO_TARGET_TEST },
        };
        PatternCase c = PATTERN_CASE_UNKNOWN;

        for (size_t i = 0; i < ELEMENTSOF(kinds); i++)
                for (size_t n = kinds[i].min; n <= strlen(kinds[i].word); n++) {
                        _cleanup_free_ char *w = strndup(kinds[i].word, n);
                        ASSERT_TRUE(w);
                        c.kind = _CARGO_TARGET_KIND_INVALID;
                        ASSERT_EQ(eval(PATTERN_SYNTAX_CARGO, w, &c), PATTERN_UNKNOWN);
                        for (CargoTargetKind k = 0; k < _CARGO_TARGET_KIND_MAX; k++) {
                                c.kind = k;
                                ASSERT_EQ(eval(PATTERN_SYNTAX_CARGO, w, &c),
                                          k == kinds[i].kind ? PATTERN_TRUE : PATTERN_FALSE);
                        }
                }
        assert_fails(PATTERN_SYNTAX_CARGO, "b", 1, "'b' is ambiguous: 'binary' or 'benchmark'");
        assert_fails(PATTERN_SYNTAX_CARGO, "t", 1, "'t' is ambiguous: 'true' or 'test'");
        assert_fails(PATTERN_SYNTAX_CARGO, "t.eq(x)", 1, "'t' is too short an abbreviation of 'test'");
        assert_fails(PATTERN_SYNTAX_CARGO, "library.equals(x)", 1, "a selector with a matcher");

        /* The compound form needs both the kind and the target name. */
        c = PATTERN_CASE_UNKNOWN;
        c.target = "foo";
        ASSERT_EQ(eval(PATTERN_SYNTAX_CARGO, "binary.equals(foo)", &c), PATTERN_UNKNOWN);
        c.kind = CARGO_TARGET_BINARY;
        ASSERT_EQ(eval(PATTERN_SYNTAX_CARGO, "bi.equals(foo)", &c), PATTERN_TRUE);
        ASSERT_EQ(eval(PATTERN_SYNTAX_CARGO, "bi.equals(fo)", &c), PATTERN_FALSE);
        ASSERT_EQ(eval(PATTERN_SYNTAX_CARGO, "be.equals(foo)", &c), PATTERN_FALSE);
        ASSERT_EQ(eval(PATTERN_SYNTAX_CARGO, "te.equals(foo)", &c), PATTERN_FALSE);
        ASSERT_EQ(eval(PATTERN_SYNTAX_CARGO, "e.equals(foo)", &c), PATTERN_FALSE);
        c.target = NULL;
        ASSERT_EQ(eval(PATTERN_SYNTAX_CARGO, "binary.equals(foo)", &c), PATTERN_UNKNOWN);
        c.kind = CARGO_TARGET_TEST;
        ASSERT_EQ(eval(PATTERN_SYNTAX_CARGO, "binary.equals(foo)", &c), PATTERN_FALSE);
        ASSERT_EQ(eval(PATTERN_SYNTAX_CARGO, "test.starts_with(f)", &c), PATTERN_UNKNOWN);
        c.target = "foo";
        ASSERT_EQ(eval(PATTERN_SYNTAX_CARGO, "test.starts_with(f)", &c), PATTERN_TRUE);
        c.package = "pkg";
        ASSERT_EQ(eval(PATTERN_SYNTAX_CARGO, "p.eq(pkg)", &c), PATTERN_TRUE);
        ASSERT_EQ(eval(PATTERN_SYNTAX_CARGO, "package.eq(pk)", &c), PATTERN_FALSE);
}

TEST(abbreviations) {
        static const struct {
                PatternSyntax syntax;
                const char *word;
                size_t min;
                const char *field_value; /* name of the PatternCase field, set to "v" */
        } selectors[] = {
                { PATTERN_SYNTAX_CARGO, "name", 1, "name" },
                { PATTERN_SYNTAX_CARGO, "package", 1, "package" },
                { PATTERN_SYNTAX_GO, "name", 1, "name" },
                { PATTERN_SYNTAX_GO, "package_import_path", 1, "package_import_path" },
                { PATTERN_SYNTAX_GO, "package_path", 9, "package_path" },
                { PATTERN_SYNTAX_GO, "package_name", 9, "package_name" },
                { PATTERN_SYNTAX_PYTEST, "name", 2, "name" },
                { PATTERN_SYNTAX_PYTEST, "file", 1, "file" },
                { PATTERN_SYNTAX_PYTEST, "package", 1, "package" },
                { PATTERN_SYNTAX_PYTEST, "node_id", 2, "node_id" },
        };

        for (size_t i = 0; i < ELEMENTSOF(selectors); i++) {
                PatternCase c = PATTERN_CASE_UNKNOWN;
                const char *f = selectors[i].field_value;

                /* Only the selected field is known. */
                if (streq(f, "name"))
                        c.name = "v";
                else if (streq(f, "package"))
                        c.package = "v";
                else if (streq(f, "package_import_path"))
                        c.package_import_path = "v";
                else if (streq(f, "package_path"))
                        c.package_path = "v";
                else if (streq(f, "package_name"))
                        c.package_name = "v";
                else if (streq(f, "file"))
                        c.file = "v";
                else
                        c.node_id = "v";

                for (size_t n = selectors[i].min; n <= strlen(selectors[i].word); n++) {
                        _cleanup_free_ char *yes = NULL, *no = NULL;
                        ASSERT_TRUE(asprintf(&yes, "%.*s.equals(v)", (int) n, selectors[i].word) > 0);
                        ASSERT_TRUE(asprintf(&no, "%.*s.equals(w)", (int) n, selectors[i].word) > 0);
                        ASSERT_EQ(eval(selectors[i].syntax, yes, &c), PATTERN_TRUE);
                        ASSERT_EQ(eval(selectors[i].syntax, no, &c), PATTERN_FALSE);
                }
                /* (In go, "package_" is package_import_path, tested below.) */
                if (selectors[i].min > 1 && selectors[i].syntax != PATTERN_SYNTAX_GO) {
                        _cleanup_free_ char *t = NULL;
                        ASSERT_TRUE(asprintf(&t, "%.*s.equals(v)", (int) selectors[i].min - 1,
                                             selectors[i].word) > 0);
                        assert_fails(selectors[i].syntax, t, 1, "a selector with a matcher");
                }
        }
        assert_fails(PATTERN_SYNTAX_PYTEST, "n.eq(x)", 1, "'n' is ambiguous: 'name' or 'node_id'");
        /* In go, every prefix of "package_" means package_import_path. */
        PatternCase c = PATTERN_CASE_UNKNOWN;
        c.package_import_path = "x";
        ASSERT_EQ(eval(PATTERN_SYNTAX_GO, "package_.eq(x)", &c), PATTERN_TRUE);
        ASSERT_EQ(eval(PATTERN_SYNTAX_GO, "pa.eq(x)", &c), PATTERN_TRUE);
        ASSERT_EQ(eval(PATTERN_SYNTAX_GO, "package_p.eq(x)", &c), PATTERN_UNKNOWN);
        ASSERT_EQ(eval(PATTERN_SYNTAX_GO, "package_n.eq(x)", &c), PATTERN_UNKNOWN);
        assert_fails(PATTERN_SYNTAX_GO, "package_x.eq(x)", 1, "a selector with a matcher, not 'package_x'");
        assert_fails(PATTERN_SYNTAX_GO, "file.eq(x)", 1, "a selector with a matcher, not 'file'");
        assert_fails(PATTERN_SYNTAX_CARGO, "node_id.eq(x)", 1, "a selector with a matcher");
        assert_fails(PATTERN_SYNTAX_PYTEST, "target.eq(x)", 1, "a selector with a matcher");
}

TEST(operators) {
        /* Every spelling, with and without spaces where allowed. */
        static const char *const ands[] = { "&", "&&", "+", " & ", " && ", " + ", " and ", "  and\t" };
        static const char *const minuses[] = { "\\", "-", " \\ ", " - ", " minus ", "\tminus  " };
        static const char *const ors[] = { "|", "||", " | ", " || ", " or ", "\tor\n" };
        static const struct {
                const char *a, *b;
                PatternResult and, minus, or;
        } truth[] = {
                { "all", "all", PATTERN_TRUE, PATTERN_FALSE, PATTERN_TRUE },
                { "all", "none", PATTERN_FALSE, PATTERN_TRUE, PATTERN_TRUE },
                { "none", "all", PATTERN_FALSE, PATTERN_FALSE, PATTERN_TRUE },
                { "none", "none", PATTERN_FALSE, PATTERN_FALSE, PATTERN_FALSE },
        };

        for (size_t t = 0; t < ELEMENTSOF(truth); t++) {
                const struct {
                        const char *const *ops;
                        size_t n;
                        PatternResult expected;
                } groups[] = {
                        { ands, ELEMENTSOF(ands), truth[t].and },
                        { minuses, ELEMENTSOF(minuses), truth[t].minus },
                        { ors, ELEMENTSOF(ors), truth[t].or },
                };
                for (size_t g = 0; g < ELEMENTSOF(groups); g++)
                        for (size_t i = 0; i < groups[g].n; i++) {
                                _cleanup_free_ char *text = NULL;
                                ASSERT_TRUE(asprintf(&text, "%s%s%s", truth[t].a, groups[g].ops[i],
                                                     truth[t].b) > 0);
                                ASSERT_EQ(eval(PATTERN_SYNTAX_GO, text, &PATTERN_CASE_UNKNOWN),
                                          groups[g].expected);
                        }
        }

        /* not */
        ASSERT_EQ(eval_cargo_name("!all", NULL), PATTERN_FALSE);
        ASSERT_EQ(eval_cargo_name("~none", NULL), PATTERN_TRUE);
        ASSERT_EQ(eval_cargo_name("not all", NULL), PATTERN_FALSE);
        ASSERT_EQ(eval_cargo_name("not\t\tnone", NULL), PATTERN_TRUE);
        ASSERT_EQ(eval_cargo_name("!!all", NULL), PATTERN_TRUE);
        ASSERT_EQ(eval_cargo_name("not !~all", NULL), PATTERN_FALSE);
        ASSERT_EQ(eval_cargo_name("not not all", NULL), PATTERN_TRUE);
        ASSERT_EQ(eval_cargo_name("!(all)", NULL), PATTERN_FALSE);
        ASSERT_EQ(eval_cargo_name("not (none)", NULL), PATTERN_TRUE);
        ASSERT_EQ(eval_cargo_name("!name.equals(a)", "a"), PATTERN_FALSE);
        assert_fails(PATTERN_SYNTAX_CARGO, "! all", 2, "the operand right after '!'");
        assert_fails(PATTERN_SYNTAX_CARGO, "~ all", 2, "the operand right after '~'");
        assert_fails(PATTERN_SYNTAX_CARGO, "notall", 1, "a selector");
        assert_fails(PATTERN_SYNTAX_CARGO, "not(all)", 4, "whitespace after 'not'");
        assert_fails(PATTERN_SYNTAX_CARGO, "not", 4, "whitespace after 'not'");
        assert_fails(PATTERN_SYNTAX_CARGO, "NOT all", 1, "a selector");
        assert_fails(PATTERN_SYNTAX_CARGO, "all !", 5, "an operator or the end");

        /* Word operators need whitespace on both sides, and are lower case. */
        assert_fails(PATTERN_SYNTAX_CARGO, "all and(none)", 5, "an operator or the end");
        assert_fails(PATTERN_SYNTAX_CARGO, "(all)and (none)", 6, "an operator or the end");
        assert_fails(PATTERN_SYNTAX_CARGO, "(all)or(none)", 6, "an operator or the end");
        assert_fails(PATTERN_SYNTAX_CARGO, "all minus(none)", 5, "an operator or the end");
        assert_fails(PATTERN_SYNTAX_CARGO, "all AND none", 5, "an operator or the end");
        assert_fails(PATTERN_SYNTAX_CARGO, "all OR none", 5, "an operator or the end");
        assert_fails(PATTERN_SYNTAX_CARGO, "all and", 5, "an operator or the end");
        assert_fails(PATTERN_SYNTAX_CARGO, "all &", 6, "a selector, '(', '!', '~' or 'not'");
        assert_fails(PATTERN_SYNTAX_CARGO, "all | | none", 7, "a selector, '(', '!', '~' or 'not'");
        assert_fails(PATTERN_SYNTAX_CARGO, "all &&& none", 7, "a selector, '(', '!', '~' or 'not'");
        assert_fails(PATTERN_SYNTAX_CARGO, "all none", 5, "an operator or the end");
        assert_fails(PATTERN_SYNTAX_CARGO, "| all", 1, "a selector, '(', '!', '~' or 'not'");
        assert_fails(PATTERN_SYNTAX_CARGO, "all andnone", 5, "an operator or the end");

        /* Precedence: not binds tightest, then and/minus, then or. */
        ASSERT_EQ(eval_cargo_name("all | all & none", NULL), PATTERN_TRUE);
        ASSERT_EQ(eval_cargo_name("(all | all) & none", NULL), PATTERN_FALSE);
        ASSERT_EQ(eval_cargo_name("none & none | all", NULL), PATTERN_TRUE);
        ASSERT_EQ(eval_cargo_name("!none & none", NULL), PATTERN_FALSE);
        ASSERT_EQ(eval_cargo_name("!(none & none)", NULL), PATTERN_TRUE);
        ASSERT_EQ(eval_cargo_name("all - all | all", NULL), PATTERN_TRUE);
        ASSERT_EQ(eval_cargo_name("all - (all | all)", NULL), PATTERN_FALSE);
        ASSERT_EQ(eval_cargo_name("not all or all", NULL), PATTERN_TRUE);

        /* Left associativity of and/minus chains. */
        ASSERT_EQ(eval_cargo_name("all - name.eq(a) - name.eq(b)", "a"), PATTERN_FALSE);
        ASSERT_EQ(eval_cargo_name("all - name.eq(a) - name.eq(b)", "b"), PATTERN_FALSE);
        ASSERT_EQ(eval_cargo_name("all - name.eq(a) - name.eq(b)", "c"), PATTERN_TRUE);
        ASSERT_EQ(eval_cargo_name("all - name.eq(a) & name.eq(b)", "b"), PATTERN_TRUE);
        ASSERT_EQ(eval_cargo_name("name.c(a) - name.eq(ab) + name.c(b)", "abb"), PATTERN_TRUE);
        ASSERT_EQ(eval_cargo_name("name.c(a) - (name.eq(ab) + name.c(b))", "ab"), PATTERN_FALSE);
        ASSERT_EQ(eval_cargo_name("name.c(a) - (name.eq(ab) + name.c(b))", "abb"), PATTERN_TRUE);

        /* Parentheses, whitespace inside and around. */
        ASSERT_EQ(eval_cargo_name("( all )", NULL), PATTERN_TRUE);
        ASSERT_EQ(eval_cargo_name("((( none )))", NULL), PATTERN_FALSE);
        ASSERT_EQ(eval_cargo_name("  \t all - none \n", NULL), PATTERN_TRUE);
        assert_fails(PATTERN_SYNTAX_CARGO, "(all", 5, "an operator or ')'");
        assert_fails(PATTERN_SYNTAX_CARGO, "(all none)", 6, "an operator or ')'");
        assert_fails(PATTERN_SYNTAX_CARGO, "all)", 4, "an operator or the end");
        assert_fails(PATTERN_SYNTAX_CARGO, "()", 2, "a selector, '(', '!', '~' or 'not'");
}

TEST(nesting_limit) {
        _cleanup_(pattern_freep) Pattern *p = NULL;
        PatternError e = {};
        char deep[2 * PATTERN_DEPTH_MAX + 16], ok[64];
        size_t n = 0;

        for (unsigned i = 0; i < PATTERN_DEPTH_MAX + 1; i++)
                deep[n++] = '(';
        deep[n++] = 0;
        ASSERT_ERROR(pattern_parse(PATTERN_SYNTAX_CARGO, deep, &p, &e), E2BIG);
        ASSERT_TRUE(strstr(e.message, "nested"));
        memset(deep, '!', PATTERN_DEPTH_MAX + 1);
        strcpy(deep + PATTERN_DEPTH_MAX + 1, "all");
        ASSERT_ERROR(pattern_parse(PATTERN_SYNTAX_CARGO, deep, &p, &e), E2BIG);
        memset(ok, '!', 40);
        strcpy(ok + 40, "all");
        ASSERT_EQ(eval_cargo_name(ok, NULL), PATTERN_TRUE);

        _cleanup_free_ char *huge = malloc(PATTERN_LENGTH_MAX + 2);
        ASSERT_TRUE(huge);
        memset(huge, ' ', PATTERN_LENGTH_MAX + 1);
        huge[PATTERN_LENGTH_MAX + 1] = 0;
        ASSERT_ERROR(pattern_parse(PATTERN_SYNTAX_CARGO, huge, &p, &e), E2BIG);

        /* A long flat chain is fine: it is one node. */
        _cleanup_free_ char *chain = malloc(10000 * 5 + 8);
        ASSERT_TRUE(chain);
        strcpy(chain, "all");
        for (size_t i = 0; i < 10000; i++)
                memcpy(chain + 3 + i * 5, " & tr", 6);
        ASSERT_EQ(eval_cargo_name(chain, NULL), PATTERN_TRUE);
}

TEST(delimiters) {
        static const char *const texts[] = {
                "name.equals(a b)", "name.equals[a b]", "name.equals{a b}",
                "name.equals<a b>", "name.equals/a b/",
        };

        for (size_t i = 0; i < ELEMENTSOF(texts); i++) {
                ASSERT_EQ(eval_cargo_name(texts[i], "a b"), PATTERN_TRUE);
                ASSERT_EQ(eval_cargo_name(texts[i], "a  b"), PATTERN_FALSE);
        }
        /* The same bracket nests in balanced pairs; others are plain characters. */
        ASSERT_EQ(eval_cargo_name("name.equals((a))", "(a)"), PATTERN_TRUE);
        ASSERT_EQ(eval_cargo_name("name.equals(((a)(b)))", "((a)(b))"), PATTERN_TRUE);
        ASSERT_EQ(eval_cargo_name("name.equals([a)", "[a"), PATTERN_TRUE);
        ASSERT_EQ(eval_cargo_name("name.equals[(a]", "(a"), PATTERN_TRUE);
        ASSERT_EQ(eval_cargo_name("name.equals[[a][b]]", "[a][b]"), PATTERN_TRUE);
        ASSERT_EQ(eval_cargo_name("name.equals{{}}", "{}"), PATTERN_TRUE);
        ASSERT_EQ(eval_cargo_name("name.equals<<>>", "<>"), PATTERN_TRUE);
        assert_fails(PATTERN_SYNTAX_CARGO, "name.equals<a->b>", 16, "an operator or the end");
        ASSERT_EQ(eval_cargo_name("name.equals/a\\/", "a\\"), PATTERN_TRUE);
        ASSERT_EQ(eval_cargo_name("name.equals(a)|name.equals/b/", "b"), PATTERN_TRUE);
        ASSERT_EQ(eval_cargo_name("name.matches((foo|bar)$)", "xbar"), PATTERN_TRUE);
        ASSERT_EQ(eval_cargo_name("name.matches((foo|bar)$)", "barx"), PATTERN_FALSE);
        /* Empty arguments: equals only the empty name; the others match everything. */
        ASSERT_EQ(eval_cargo_name("name.equals()", ""), PATTERN_TRUE);
        ASSERT_EQ(eval_cargo_name("name.equals()", "a"), PATTERN_FALSE);
        ASSERT_EQ(eval_cargo_name("name.contains//", "a"), PATTERN_TRUE);
        ASSERT_EQ(eval_cargo_name("name.starts_with<>", "a"), PATTERN_TRUE);
        ASSERT_EQ(eval_cargo_name("name.ends_with[]", "a"), PATTERN_TRUE);
        ASSERT_EQ(eval_cargo_name("name.matches{}", "a"), PATTERN_TRUE);
        ASSERT_EQ(eval_cargo_name("name.globs()", ""), PATTERN_TRUE);

        assert_fails(PATTERN_SYNTAX_CARGO, "name.equals(a", 14, "')' to close the argument");
        assert_fails(PATTERN_SYNTAX_CARGO, "name.equals((a)", 16, "')' to close the argument");
        assert_fails(PATTERN_SYNTAX_CARGO, "name.equals[a)", 15, "']' to close the argument");
        assert_fails(PATTERN_SYNTAX_CARGO, "name.equals/a", 14, "'/' to close the argument");
        assert_fails(PATTERN_SYNTAX_CARGO, "name.equals a", 12, "'(', '[', '{', '<' or '/' to open");
        assert_fails(PATTERN_SYNTAX_CARGO, "name.equals", 12, "'(', '[', '{', '<' or '/' to open");
        assert_fails(PATTERN_SYNTAX_CARGO, "name.equals\"a\"", 12, "'(', '[', '{', '<' or '/' to open");
        assert_fails(PATTERN_SYNTAX_CARGO, "name .equals(a)", 5, "'.' and a matcher after 'name'");
        assert_fails(PATTERN_SYNTAX_CARGO, "name. equals(a)", 6, "a matcher");
        assert_fails(PATTERN_SYNTAX_CARGO, "name.equals(a))", 15, "an operator or the end");
}

TEST(matchers) {
        static const struct {
                const char *word;
                size_t min;
        } words[] = {
                { "equals", 2 }, { "contains", 1 }, { "starts_with", 1 },
                { "ends_with", 2 }, { "matches", 1 }, { "globs", 1 },
        };

        for (size_t i = 0; i < ELEMENTSOF(words); i++)
                for (size_t n = words[i].min; n <= strlen(words[i].word); n++) {
                        _cleanup_free_ char *text = NULL;
                        ASSERT_TRUE(asprintf(&text, "name.%.*s(abc)", (int) n, words[i].word) > 0);
                        ASSERT_EQ(eval_cargo_name(text, "abc"), PATTERN_TRUE);
                        ASSERT_EQ(eval_cargo_name(text, "xyz"), PATTERN_FALSE);
                        ASSERT_EQ(eval_cargo_name(text, NULL), PATTERN_UNKNOWN);
                }
        assert_fails(PATTERN_SYNTAX_CARGO, "n.e(x)", 3, "'e' is ambiguous: 'equals' or 'ends_with'");
        assert_fails(PATTERN_SYNTAX_CARGO, "name.equal_(x)", 6, "a matcher");
        assert_fails(PATTERN_SYNTAX_CARGO, "name.Equals(x)", 6, "a matcher");
        assert_fails(PATTERN_SYNTAX_CARGO, "name.(x)", 6, "a matcher");

        ASSERT_EQ(eval_cargo_name("name.equals(abc)", "abcd"), PATTERN_FALSE);
        ASSERT_EQ(eval_cargo_name("name.equals(abc)", "ABC"), PATTERN_FALSE);
        ASSERT_EQ(eval_cargo_name("name.contains(bc)", "abcd"), PATTERN_TRUE);
        ASSERT_EQ(eval_cargo_name("name.contains(BC)", "abcd"), PATTERN_FALSE);
        ASSERT_EQ(eval_cargo_name("name.starts_with(ab)", "abcd"), PATTERN_TRUE);
        ASSERT_EQ(eval_cargo_name("name.starts_with(bc)", "abcd"), PATTERN_FALSE);
        ASSERT_EQ(eval_cargo_name("name.starts_with(abcde)", "abcd"), PATTERN_FALSE);
        ASSERT_EQ(eval_cargo_name("name.ends_with(cd)", "abcd"), PATTERN_TRUE);
        ASSERT_EQ(eval_cargo_name("name.ends_with(bc)", "abcd"), PATTERN_FALSE);
        ASSERT_EQ(eval_cargo_name("name.ends_with(xabcd)", "abcd"), PATTERN_FALSE);
}

TEST(regex) {
        /* Searched anywhere, unanchored unless the regex anchors itself. */
        ASSERT_EQ(eval_cargo_name("name.matches(b.d)", "abcde"), PATTERN_TRUE);
        ASSERT_EQ(eval_cargo_name("name.matches(^b)", "abc"), PATTERN_FALSE);
        ASSERT_EQ(eval_cargo_name("name.matches(^a.*c$)", "abc"), PATTERN_TRUE);
        ASSERT_EQ(eval_cargo_name("name.matches<^io::[a-z]+_\\d$>", "io::read_1"), PATTERN_TRUE);
        ASSERT_EQ(eval_cargo_name("name.matches<^io::[a-z]+_\\d$>", "io::Read_1"), PATTERN_FALSE);
        ASSERT_EQ(eval_cargo_name("name.matches/^.$/", "é"), PATTERN_TRUE);
        ASSERT_EQ(eval_cargo_name("name.matches/x/", "\xff\xfex"), PATTERN_TRUE);
        assert_fails(PATTERN_SYNTAX_CARGO, "name.matches/*/", 14, "a valid regular expression");
        assert_fails(PATTERN_SYNTAX_CARGO, "name.matches[(a]", 16,
                     "a valid regular expression (missing closing");
        assert_fails(PATTERN_SYNTAX_CARGO, "all | name.m<a[>", 16, "a valid regular expression");
        /* Columns count characters, not bytes. */
        assert_fails(PATTERN_SYNTAX_CARGO, "name.eq(é) | name.m<a[>", 23, "a valid regular expression");
}

TEST(glob) {
        static const struct {
                const char *glob, *name;
                bool match;
        } cases[] = {
                { "abc", "abc", true },         { "abc", "abcd", false },     { "abc", "xabc", false },
                { "a*", "a", true },            { "a*", "abc/def", true },    { "*c", "ab/c", true },
                { "a?c", "abc", true },         { "a?c", "a/c", true },       { "a?c", "ac", false },
                { "a?c", "aéc", true },         { "**", "x/y/z", true },      { "a/**/b", "a/x/y/b", true },
                { "a**b", "ab", true },         { "*a*b*", "xxaxxbxx", true },
                { "*a*b*", "xxbxxaxx", false },
                { "[a-c]x", "bx", true },       { "[a-c]x", "dx", false },    { "[!a-c]x", "dx", true },
                { "[!a-c]x", "ax", false },     { "[^a]", "b", true },        { "[]]", "]", true },
                { "[!]]", "]", false },         { "[a-]", "-", true },        { "[-a]", "-", true },
                { "[abc]", "c", true },         { "[é]", "é", true },         { "{a,b}c", "bc", true },
                { "{a,b}c", "cc", false },      { "x{,y}z", "xz", true },     { "x{,y}z", "xyz", true },
                { "{a,b}{c,d}", "bd", true },   { "{a,b}{c,d}", "ba", false }, { "\\*", "*", true },
                { "\\*", "a", false },          { "\\?\\[\\{", "?[{", true }, { "a,b", "a,b", true },
                { "*::test_*", "io::test_read", true }, { "[\\]]", "]", true },
        };
        _cleanup_(pattern_glob_freep) PatternGlob *g = NULL;
        const char *reason = NULL;
        size_t offset = 0;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(pattern_glob_freep) PatternGlob *c = NULL;

                ASSERT_OK(pattern_glob_compile(cases[i].glob, strlen(cases[i].glob), &c, &offset, &reason));
                if (pattern_glob_match(c, cases[i].name) != cases[i].match) {
                        fprintf(stderr, "glob '%s' on '%s' should be %d\n", cases[i].glob, cases[i].name,
                                cases[i].match);
                        abort();
                }
        }
        ASSERT_ERROR(pattern_glob_compile("ab[c", 4, &g, &offset, &reason), EINVAL);
        ASSERT_EQ(offset, 2);
        ASSERT_STREQ(reason, "unclosed character class");
        ASSERT_ERROR(pattern_glob_compile("a{b", 3, &g, &offset, &reason), EINVAL);
        ASSERT_STREQ(reason, "unclosed '{'");
        ASSERT_ERROR(pattern_glob_compile("a}b", 3, &g, &offset, &reason), EINVAL);
        ASSERT_EQ(offset, 1);
        ASSERT_ERROR(pattern_glob_compile("{a,{b}}", 7, &g, &offset, &reason), EINVAL);
        ASSERT_STREQ(reason, "nested braces");
        ASSERT_ERROR(pattern_glob_compile("ab\\", 3, &g, &offset, &reason), EINVAL);
        ASSERT_STREQ(reason, "dangling backslash");
        ASSERT_ERROR(pattern_glob_compile("[z-a]", 5, &g, &offset, &reason), EINVAL);
        ASSERT_STREQ(reason, "invalid range");
        ASSERT_ERROR(pattern_glob_compile("{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}", 55, &g,
                                          &offset, &reason), E2BIG);

        /* 512 alternatives of 4096 characters each: too much once expanded. */
        _cleanup_free_ char *wide = malloc(9 * 5 + 4096 + 1);
        ASSERT_TRUE(wide);
        wide[0] = 0;
        for (size_t i = 0; i < 9; i++)
                strcat(wide, "{a,b}");
        memset(wide + 45, 'x', 4096);
        wide[45 + 4096] = 0;
        ASSERT_ERROR(pattern_glob_compile(wide, strlen(wide), &g, &offset, &reason), E2BIG);
        ASSERT_STREQ(reason, "braces that expand too far");
        wide[45 + 1024] = 0;
        ASSERT_OK(pattern_glob_compile(wide, strlen(wide), &g, &offset, &reason));
        /* ... and matches "ababbabba" + 1024 "x", but not with one "x" less. */
        memcpy(wide, "ababbabba", 9);
        memset(wide + 9, 'x', 1024);
        wide[9 + 1024] = 0;
        ASSERT_TRUE(pattern_glob_match(g, wide));
        wide[9 + 1023] = 0;
        ASSERT_FALSE(pattern_glob_match(g, wide));
        g = pattern_glob_free(g);

        /* Through the pattern language: whole-name, and errors point into the pattern. */
        ASSERT_EQ(eval_cargo_name("name.globs(*_test)", "io_test"), PATTERN_TRUE);
        ASSERT_EQ(eval_cargo_name("name.globs(*_test)", "io_test_x"), PATTERN_FALSE);
        ASSERT_EQ(eval_cargo_name("name.g([a-c]*)", "b/x"), PATTERN_TRUE);
        ASSERT_EQ(eval_cargo_name("name.g{{a,b}}", "b"), PATTERN_TRUE);
        assert_fails(PATTERN_SYNTAX_CARGO, "name.globs(a[bc)", 13,
                     "a valid glob (unclosed character class)");
        assert_fails(PATTERN_SYNTAX_CARGO, "name.globs/a{b/", 13, "a valid glob (unclosed '{')");

        /* Linear, not exponential, on star-heavy globs. */
        char name[4001];
        memset(name, 'a', 4000);
        name[4000] = 0;
        ASSERT_OK(pattern_glob_compile("*a*a*a*a*a*a*a*a*a*a*b", 22, &g, &offset, &reason));
        ASSERT_FALSE(pattern_glob_match(g, name));
}

TEST(unknown) {
        static const struct {
                const char *text;
                PatternResult r;
        } cases[] = {
                { "name.eq(x)", PATTERN_UNKNOWN },
                { "!name.eq(x)", PATTERN_UNKNOWN },
                { "none & name.eq(x)", PATTERN_FALSE },
                { "name.eq(x) & none", PATTERN_FALSE },
                { "all & name.eq(x)", PATTERN_UNKNOWN },
                { "all | name.eq(x)", PATTERN_TRUE },
                { "name.eq(x) | all", PATTERN_TRUE },
                { "none | name.eq(x)", PATTERN_UNKNOWN },
                { "none - name.eq(x)", PATTERN_FALSE },
                { "name.eq(x) - all", PATTERN_FALSE },
                { "all - name.eq(x)", PATTERN_UNKNOWN },
                { "package.eq(p) & name.eq(x)", PATTERN_FALSE }, /* package "q" is known */
                { "package.eq(q) & name.eq(x)", PATTERN_UNKNOWN },
                { "package.eq(q) | name.eq(x)", PATTERN_TRUE },
                { "package.eq(p) | name.eq(x)", PATTERN_UNKNOWN },
                { "library", PATTERN_UNKNOWN },
                { "library | package.eq(q)", PATTERN_TRUE },
                { "(name.eq(x) | none) & none", PATTERN_FALSE },
        };
        PatternCase c = PATTERN_CASE_UNKNOWN;

        c.package = "q";
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                if (eval(PATTERN_SYNTAX_CARGO, cases[i].text, &c) != cases[i].r) {
                        fprintf(stderr, "'%s' should be %s\n", cases[i].text,
                                pattern_result_to_string(cases[i].r));
                        abort();
                }
}

TEST(pytest_markers) {
        char *markers[] = { (char *) "slow", (char *) "net", NULL }, *none[] = { NULL };
        PatternCase c = PATTERN_CASE_UNKNOWN;

        ASSERT_EQ(eval(PATTERN_SYNTAX_PYTEST, "markers.contains(slow)", &c), PATTERN_UNKNOWN);
        c.markers = markers;
        ASSERT_EQ(eval(PATTERN_SYNTAX_PYTEST, "markers.contains(slow)", &c), PATTERN_TRUE);
        ASSERT_EQ(eval(PATTERN_SYNTAX_PYTEST, "markers.contains(net)", &c), PATTERN_TRUE);
        ASSERT_EQ(eval(PATTERN_SYNTAX_PYTEST, "markers.contains(ne)", &c), PATTERN_FALSE);
        ASSERT_EQ(eval(PATTERN_SYNTAX_PYTEST, "markers.c/slo/", &c), PATTERN_FALSE);
        ASSERT_EQ(eval(PATTERN_SYNTAX_PYTEST, "!markers.contains<slow>", &c), PATTERN_FALSE);
        c.markers = none;
        ASSERT_EQ(eval(PATTERN_SYNTAX_PYTEST, "markers.contains(slow)", &c), PATTERN_FALSE);
        assert_fails(PATTERN_SYNTAX_PYTEST, "marker.contains(x)", 1,
                     "'marker' is too short an abbreviation");
        assert_fails(PATTERN_SYNTAX_PYTEST, "m.contains(x)", 1, "a selector with a matcher");
        assert_fails(PATTERN_SYNTAX_PYTEST, "markers.equals(x)", 9, "'contains' after 'markers.'");
        assert_fails(PATTERN_SYNTAX_PYTEST, "markers", 8, "'.' and a matcher after 'markers'");
        assert_fails(PATTERN_SYNTAX_CARGO, "markers.contains(x)", 1, "a selector with a matcher");
}

TEST(filter) {
        _cleanup_(pattern_freep) Pattern *p = NULL;
        PatternError e = {};
        PatternCase c = PATTERN_CASE_UNKNOWN;
        char *inc[] = { (char *) "name.eq(a)", (char *) "name.eq(b)", NULL };
        char *exc[] = { (char *) "name.c(b)", NULL };
        char *bad[] = { (char *) "all", (char *) "name.eq(a", NULL };

        /* Nothing at all: everything. */
        ASSERT_OK(pattern_filter_new(PATTERN_SYNTAX_GO, NULL, NULL, &p, &e));
        ASSERT_EQ(pattern_evaluate(p, &c), PATTERN_TRUE);
        p = pattern_free(p);

        ASSERT_OK(pattern_filter_new(PATTERN_SYNTAX_GO, NULL, exc, &p, &e));
        ASSERT_EQ(pattern_evaluate(p, &c), PATTERN_UNKNOWN);
        c.name = "xbx";
        ASSERT_EQ(pattern_evaluate(p, &c), PATTERN_FALSE);
        c.name = "x";
        ASSERT_EQ(pattern_evaluate(p, &c), PATTERN_TRUE);
        p = pattern_free(p);

        ASSERT_OK(pattern_filter_new(PATTERN_SYNTAX_GO, inc, exc, &p, &e));
        c.name = "a";
        ASSERT_EQ(pattern_evaluate(p, &c), PATTERN_TRUE);
        c.name = "b";
        ASSERT_EQ(pattern_evaluate(p, &c), PATTERN_FALSE);
        c.name = "c";
        ASSERT_EQ(pattern_evaluate(p, &c), PATTERN_FALSE);
        p = pattern_free(p);

        ASSERT_ERROR(pattern_filter_new(PATTERN_SYNTAX_GO, bad, NULL, &p, &e), EINVAL);
        ASSERT_TRUE(e.pattern == bad[1]);
        ASSERT_EQ(e.column, 10);
        ASSERT_ERROR(pattern_filter_new(PATTERN_SYNTAX_GO, inc, bad, &p, &e), EINVAL);
        ASSERT_TRUE(e.pattern == bad[1]);
        ASSERT_TRUE(p == NULL);
}

int main(void) {
        RUN(tables);
        RUN(simple_selectors);
        RUN(cargo_kinds);
        RUN(abbreviations);
        RUN(operators);
        RUN(nesting_limit);
        RUN(delimiters);
        RUN(matchers);
        RUN(regex);
        RUN(glob);
        RUN(unknown);
        RUN(pytest_markers);
        RUN(filter);
        return 0;
}
