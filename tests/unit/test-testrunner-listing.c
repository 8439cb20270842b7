/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/fd-util.h"
#include "basic/string-util.h"
#include "basic/tests.h"
#include "testrunner/testrunner-listing.h"
#include "toml/toml.h"

static const char *const awkward[] = {
        "plain",
        "mod::tests::it_works",
        "quote\"in\"name",
        "back\\slash\\\\",
        "unicode \xc3\xa9\xe2\x9c\x93 \xf0\x9f\x98\x80",
        "tab\tnew\nline\r\x01\x1f\x7f",
        "[brackets].and.dots = x",
        "'single' # hash",
        "",
        "test_foo.py::TestX::test_y[a-b]",
};

static TestListing *round_trip(const TestListing *l) {
        _cleanup_free_ char *text = NULL, *again = NULL;
        TestListing *m = NULL;

        ASSERT_OK(test_listing_format(l, &text));
        ASSERT_OK(test_listing_parse(text, strlen(text), &m));
        /* The text of what was read back is the same. */
        ASSERT_OK(test_listing_format(m, &again));
        ASSERT_STREQ(text, again);
        return m;
}

TEST(round_trip) {
        _cleanup_(test_listing_freep) TestListing *l = NULL, *m = NULL;
        _cleanup_strv_free_ char **cases = NULL;

        ASSERT_OK(test_listing_new(&l));
        for (size_t i = 0; i < ELEMENTSOF(awkward); i++)
                ASSERT_OK(strv_extend(&cases, awkward[i]));
        ASSERT_OK(test_listing_update_artifact(l, "pkg \"one\"", "bin\\x", cases));
        ASSERT_OK(test_listing_update_artifact(l, "pkg \"one\"", "empty", NULL));
        ASSERT_OK(test_listing_update_artifact(l, "\xe2\x9c\x93", "a::b", cases));
        ASSERT_EQ(l->n_cases, 2 * ELEMENTSOF(awkward));
        for (size_t i = 0; i < ELEMENTSOF(awkward); i++) {
                ASSERT_OK(test_listing_record(l, "pkg \"one\"", "bin\\x", awkward[i], i * 1234567u, i % 2));
                ASSERT_OK(test_listing_record(l, "pkg \"one\"", "bin\\x", awkward[i], 1, false));
        }

        m = round_trip(l);
        ASSERT_EQ(m->n_packages, 2u);
        ASSERT_EQ(m->n_cases, 2 * ELEMENTSOF(awkward));
        for (size_t i = 0; i < ELEMENTSOF(awkward); i++) {
                const TestListingCase *c = test_listing_find(m, "pkg \"one\"", "bin\\x", awkward[i]);
                ASSERT_TRUE(c);
                ASSERT_STREQ(c->name, awkward[i]);
                ASSERT_EQ(c->n_durations, 2u);
                ASSERT_EQ(c->durations[0], i * 1234567u);
                ASSERT_EQ(c->durations[1], 1u);
                ASSERT_FALSE(c->failed);

                c = test_listing_find(m, "\xe2\x9c\x93", "a::b", awkward[i]);
                ASSERT_TRUE(c);
                ASSERT_EQ(c->n_durations, 0u);
        }
        ASSERT_TRUE(!test_listing_find(m, "pkg \"one\"", "empty", "plain"));
        ASSERT_TRUE(!test_listing_find(m, "pkg", "bin\\x", "plain"));

        /* An empty listing. */
        _cleanup_(test_listing_freep) TestListing *e = NULL, *e2 = NULL;
        ASSERT_OK(test_listing_new(&e));
        e2 = round_trip(e);
        ASSERT_EQ(e2->n_packages, 0u);
}

TEST(invalid_utf8_skipped) {
        _cleanup_(test_listing_freep) TestListing *l = NULL, *m = NULL;
        char *cases[] = { (char *) "good", (char *) "bad\xff", (char *) "over\xc0\x80long", NULL };

        ASSERT_OK(test_listing_new(&l));
        ASSERT_OK(test_listing_update_artifact(l, "p", "a", cases));
        m = round_trip(l);
        ASSERT_EQ(m->n_cases, 1u);
        ASSERT_TRUE(test_listing_find(m, "p", "a", "good"));
}

TEST(durations_and_update) {
        _cleanup_(test_listing_freep) TestListing *l = NULL;
        char *first[] = { (char *) "b", (char *) "a", (char *) "c", (char *) "a", NULL };
        char *second[] = { (char *) "c", (char *) "d", (char *) "a", NULL };
        const TestListingCase *c;

        ASSERT_OK(test_listing_new(&l));
        ASSERT_OK(test_listing_update_artifact(l, "p", "x", first));
        ASSERT_EQ(l->n_cases, 3u); /* the duplicate once */
        for (unsigned i = 1; i <= 5; i++)
                ASSERT_OK(test_listing_record(l, "p", "x", "a", i * USEC_PER_SEC, i == 5));
        c = test_listing_find(l, "p", "x", "a");
        ASSERT_EQ(c->n_durations, TEST_LISTING_DURATIONS_MAX);
        ASSERT_EQ(c->durations[0], 3 * USEC_PER_SEC);
        ASSERT_EQ(c->durations[2], 5 * USEC_PER_SEC);
        ASSERT_TRUE(c->failed);
        ASSERT_EQ(test_listing_case_estimate(c), 4 * USEC_PER_SEC);
        ASSERT_OK(test_listing_record(l, "p", "x", "c", 7, false));
        ASSERT_OK(test_listing_record(l, "p", "x", "b", 8, false));

        /* A case that was not listed is inserted in order. */
        ASSERT_OK(test_listing_record(l, "p", "x", "bb", 9, false));
        ASSERT_OK(test_listing_record(l, "p", "x", "0", 9, false));
        ASSERT_EQ(l->n_cases, 5u);
        ASSERT_STREQ(l->packages[0].artifacts[0].cases[0].name, "0");
        ASSERT_STREQ(l->packages[0].artifacts[0].cases[3].name, "bb");
        ASSERT_TRUE(test_listing_find(l, "p", "x", "bb"));

        /* Listed again: b, bb and 0 are gone, d is new, a and c keep their history. */
        ASSERT_OK(test_listing_update_artifact(l, "p", "x", second));
        ASSERT_EQ(l->n_cases, 3u);
        ASSERT_TRUE(!test_listing_find(l, "p", "x", "b"));
        ASSERT_TRUE(!test_listing_find(l, "p", "x", "bb"));
        ASSERT_EQ(test_listing_find(l, "p", "x", "a")->n_durations, 3u);
        ASSERT_EQ(test_listing_find(l, "p", "x", "c")->durations[0], 7u);
        ASSERT_EQ(test_listing_find(l, "p", "x", "d")->n_durations, 0u);

        /* Another artifact is untouched by listing this one. */
        ASSERT_OK(test_listing_record(l, "p", "y", "a", 1, false));
        ASSERT_OK(test_listing_update_artifact(l, "p", "x", NULL));
        ASSERT_EQ(l->n_cases, 1u);
        ASSERT_TRUE(test_listing_find(l, "p", "y", "a"));
}

TEST(ordering) {
        TestListingCase fast = { .name = (char *) "fast", .durations = { 1, 2, 3 }, .n_durations = 3 };
        TestListingCase slow = { .name = (char *) "slow", .durations = { 100, 200 }, .n_durations = 2 };
        TestListingCase failed = { .name = (char *) "failed", .durations = { 1 }, .n_durations = 1,
                                   .failed = true };
        TestListingCase failed_slow = { .name = (char *) "fs", .durations = { 500 }, .n_durations = 1,
                                        .failed = true };
        TestListingCase untimed = { .name = (char *) "untimed" };

        ASSERT_EQ(test_listing_case_estimate(&fast), 2u);
        ASSERT_EQ(test_listing_case_estimate(&slow), 150u);
        ASSERT_EQ(test_listing_case_estimate(NULL), 0u);
        ASSERT_EQ(test_listing_case_estimate(&untimed), 0u);

        ASSERT_TRUE(test_listing_case_is_urgent(NULL));
        ASSERT_TRUE(test_listing_case_is_urgent(&untimed));
        ASSERT_TRUE(test_listing_case_is_urgent(&failed));
        ASSERT_FALSE(test_listing_case_is_urgent(&slow));

        ASSERT_TRUE(test_listing_case_compare(NULL, &slow) < 0);
        ASSERT_TRUE(test_listing_case_compare(&slow, NULL) > 0);
        ASSERT_TRUE(test_listing_case_compare(&failed, &slow) < 0);
        ASSERT_TRUE(test_listing_case_compare(&slow, &fast) < 0);
        ASSERT_TRUE(test_listing_case_compare(&fast, &slow) > 0);
        ASSERT_TRUE(test_listing_case_compare(&failed_slow, &failed) < 0);
        ASSERT_TRUE(test_listing_case_compare(&failed_slow, NULL) < 0);
        ASSERT_EQ(test_listing_case_compare(NULL, NULL), 0);
        ASSERT_EQ(test_listing_case_compare(&slow, &slow), 0);
}

TEST(parse_errors) {
        static const struct {
                const char *text;
                int error;
        } bad[] = {
                { "", EBADMSG },
                { "version = 'one'\n", EBADMSG },
                { "version = 2\n", EPROTO },
                { "version = 1\nextra = 1\n", EBADMSG },
                { "version = 1\npackages = 3\n", EBADMSG },
                { "version = 1\n[packages.p]\nartifacts = 3\n", EBADMSG },
                { "version = 1\n[packages.p]\nother = {}\n", EBADMSG },
                { "version = 1\n[packages.p.artifacts.a]\ncases = []\n", EBADMSG },
                { "version = 1\n[packages.p.artifacts.a.cases.c]\ndurations = ['x']\n", EBADMSG },
                { "version = 1\n[packages.p.artifacts.a.cases.c]\ndurations = [-1.0]\n", EBADMSG },
                { "version = 1\n[packages.p.artifacts.a.cases.c]\ndurations = [nan]\n", EBADMSG },
                { "version = 1\n[packages.p.artifacts.a.cases.c]\ndurations = [inf]\n", EBADMSG },
                { "version = 1\n[packages.p.artifacts.a.cases.c]\nfailed = 1\n", EBADMSG },
                { "version = 1\n[packages.p.artifacts.a.cases.c]\nwhat = 1\n", EBADMSG },
                { "version = 1\n[packages.p.artifacts.a.cases]\n\"a\\u0000b\" = {}\n", EBADMSG },
                { "version = 1\n[packages.p.artifacts.a.cases.c\n", EBADMSG },
                { "version = 1\n\xff = 1\n", EBADMSG },
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                TestListing *l = NULL;
                ASSERT_ERROR(test_listing_parse(bad[i].text, strlen(bad[i].text), &l), bad[i].error);
                ASSERT_TRUE(!l);
        }

        /* Older files with more durations keep the newest; integers are seconds too. */
        const char *t = "version = 1\n[packages.p.artifacts.a.cases.c]\ndurations = [1, 2, 3.5, 4]\n";
        _cleanup_(test_listing_freep) TestListing *l = NULL;
        ASSERT_OK(test_listing_parse(t, strlen(t), &l));
        const TestListingCase *c = test_listing_find(l, "p", "a", "c");
        ASSERT_EQ(c->n_durations, 3u);
        ASSERT_EQ(c->durations[0], 2 * USEC_PER_SEC);
        ASSERT_EQ(c->durations[1], 3500000u);
        ASSERT_FALSE(c->failed);
}

TEST(load_save) {
        char dir[] = "/tmp/test-testrunner-listing-XXXXXX";
        _cleanup_free_ char *path = NULL, *text = NULL;
        _cleanup_(test_listing_freep) TestListing *l = NULL, *m = NULL, *bad = NULL;
        int problem = 0;

        ASSERT_TRUE(mkdtemp(dir));
        path = strjoin(dir, "/state/test-listing.toml");
        ASSERT_TRUE(path);

        /* Missing: empty, no problem. */
        ASSERT_EQ(ASSERT_OK(test_listing_load(path, &l, &problem)), 0);
        ASSERT_EQ(problem, 0);
        ASSERT_EQ(l->n_packages, 0u);

        ASSERT_OK(test_listing_record(l, "p", "a", "t::x", 1500000, true));
        ASSERT_OK(test_listing_save(l, path)); /* creates state/ */
        ASSERT_EQ(ASSERT_OK(test_listing_load(path, &m, &problem)), 0);
        ASSERT_EQ(m->n_cases, 1u);
        const TestListingCase *c = test_listing_find(m, "p", "a", "t::x");
        ASSERT_TRUE(c && c->failed && c->n_durations == 1 && c->durations[0] == 1500000);
        ASSERT_OK(read_full_file(path, 1 << 20, &text, NULL));
        ASSERT_TRUE(strstr(text, "durations = [1.500000]\nfailed = true\n"));

        /* Corrupt, then another version: empty with the reason. */
        ASSERT_OK(write_file_atomic(path, "version = 1\n[[", 14, 0644));
        ASSERT_EQ(ASSERT_OK(test_listing_load(path, &bad, &problem)), 1);
        ASSERT_EQ(problem, -EBADMSG);
        ASSERT_EQ(bad->n_packages, 0u);
        bad = test_listing_free(bad);
        ASSERT_OK(write_file_atomic(path, "version = 7\n", 12, 0644));
        ASSERT_EQ(ASSERT_OK(test_listing_load(path, &bad, &problem)), 1);
        ASSERT_EQ(problem, -EPROTO);
        ASSERT_EQ(bad->n_cases, 0u);

        ASSERT_OK(unlink(path));
        _cleanup_free_ char *state = strjoin(dir, "/state");
        ASSERT_OK(rmdir(state));
        ASSERT_OK(rmdir(dir));
}

int main(void) {
        RUN(round_trip);
        RUN(invalid_utf8_skipped);
        RUN(durations_and_update);
        RUN(ordering);
        RUN(parse_errors);
        RUN(load_save);
        return 0;
}
