/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "basic/fd-util.h"
#include "basic/string-util.h"
#include "basic/tests.h"
#include "testrunner/testrunner-ui.h"
#include "testrunner/testrunner-utf8.h"

#define RESULT(p, n, o, d)                                                                      \
        (&(TestCaseResult) {                                                                    \
                .package = (char *) (p), .name = (char *) (n), .outcome = (o), .duration = (d), \
        })

#define T0 (1000 * USEC_PER_SEC)

static int output_fd(void) {
        int fd = memfd_create("ui", MFD_CLOEXEC);

        ASSERT_TRUE(fd >= 0);
        return fd;
}

/* What was written to fd since the last call, as a string; fd is emptied. */
static char *take_output(int fd) {
        off_t size = lseek(fd, 0, SEEK_CUR);
        char *s;

        ASSERT_TRUE(size >= 0);
        s = malloc((size_t) size + 1);
        ASSERT_TRUE(s);
        ASSERT_EQ(pread(fd, s, (size_t) size, 0), size);
        s[size] = 0;
        ASSERT_TRUE(strlen(s) == (size_t) size);
        ASSERT_EQ(ftruncate(fd, 0), 0);
        ASSERT_EQ(lseek(fd, 0, SEEK_SET), 0);
        return s;
}

#define ASSERT_OUTPUT(fd, want)                                         \
        ({                                                              \
                _cleanup_free_ char *_o_ = take_output(fd);             \
                ASSERT_STREQ(_o_, want);                                \
        })

static size_t columns_of(const char *s, size_t n) {
        size_t columns;

        (void) utf8_prefix_columns(s, n, SIZE_MAX, &columns);
        return columns;
}

static TestUi *make_ui(TestUiKind kind, int fd, bool is_terminal, unsigned columns, unsigned rows) {
        TestUi *u;

        ASSERT_OK(test_ui_new(&(TestUiOptions) { .kind = kind,
                                                 .fd = fd,
                                                 .is_terminal = is_terminal,
                                                 .columns = columns,
                                                 .rows = rows },
                              &u));
        return u;
}

TEST(kinds) {
        TestUiKind k;

        for (TestUiKind i = 0; i < _TEST_UI_KIND_MAX; i++)
                ASSERT_EQ(test_ui_kind_from_string(test_ui_kind_to_string(i)), i);
        ASSERT_STREQ(test_ui_kind_to_string(TEST_UI_FANCY), "fancy");
        ASSERT_EQ(test_ui_kind_from_string("auto"), -EINVAL);
        ASSERT_TRUE(test_ui_kind_to_string(_TEST_UI_KIND_MAX) == NULL);

        ASSERT_OK(test_ui_kind_resolve("auto", /* quiet= */ false, /* is_terminal= */ true, &k));
        ASSERT_EQ(k, TEST_UI_FANCY);
        ASSERT_OK(test_ui_kind_resolve("auto", /* quiet= */ false, /* is_terminal= */ false, &k));
        ASSERT_EQ(k, TEST_UI_SIMPLE);
        ASSERT_OK(test_ui_kind_resolve(NULL, /* quiet= */ false, /* is_terminal= */ true, &k));
        ASSERT_EQ(k, TEST_UI_FANCY);
        ASSERT_OK(test_ui_kind_resolve("auto", /* quiet= */ true, /* is_terminal= */ true, &k));
        ASSERT_EQ(k, TEST_UI_QUIET);
        ASSERT_OK(test_ui_kind_resolve("fancy", /* quiet= */ true, /* is_terminal= */ false, &k));
        ASSERT_EQ(k, TEST_UI_QUIET);
        ASSERT_OK(test_ui_kind_resolve("simple", /* quiet= */ false, /* is_terminal= */ true, &k));
        ASSERT_EQ(k, TEST_UI_SIMPLE);
        ASSERT_OK(test_ui_kind_resolve("fancy", /* quiet= */ false, /* is_terminal= */ false, &k));
        ASSERT_EQ(k, TEST_UI_FANCY);
        ASSERT_OK(test_ui_kind_resolve("quiet", /* quiet= */ false, /* is_terminal= */ true, &k));
        ASSERT_EQ(k, TEST_UI_QUIET);

        k = TEST_UI_SIMPLE;
        ASSERT_ERROR(test_ui_kind_resolve("Fancy", /* quiet= */ false, /* is_terminal= */ true, &k), EINVAL);
        ASSERT_ERROR(test_ui_kind_resolve("", /* quiet= */ true, /* is_terminal= */ true, &k), EINVAL);
        ASSERT_EQ(k, TEST_UI_SIMPLE);
}

TEST(columns) {
        size_t c;

        ASSERT_EQ(utf8_char_columns('a'), 1u);
        ASSERT_EQ(utf8_char_columns(0xE9), 1u);
        ASSERT_EQ(utf8_char_columns(0x4E2D), 2u);   /* 中 */
        ASSERT_EQ(utf8_char_columns(0x1F600), 2u);  /* 😀 */
        ASSERT_EQ(utf8_char_columns(0xFFFD), 1u);

        ASSERT_EQ(utf8_prefix_columns("abc", 3, 2, &c), 2u);
        ASSERT_EQ(c, 2u);
        /* A wide character that does not fit whole is left out. */
        ASSERT_EQ(utf8_prefix_columns("a\xe4\xb8\xad" "b", 5, 2, &c), 1u);
        ASSERT_EQ(c, 1u);
        ASSERT_EQ(utf8_prefix_columns("a\xe4\xb8\xad" "b", 5, 3, &c), 4u);
        ASSERT_EQ(c, 3u);
        ASSERT_EQ(utf8_prefix_columns("\xc3\xa9\xc3\xa9", 4, 100, &c), 4u);
        ASSERT_EQ(c, 2u);
        ASSERT_EQ(utf8_prefix_columns("", 0, 0, NULL), 0u);
}

/* One run with every kind of outcome; ids 1-5 are queued, 6 is ignored without having been queued. */
static void run_scenario(TestUi *u, TestReport *report) {
        TestCaseResult fail, error;

        ASSERT_OK(test_ui_set_phase(u, "building"));
        ASSERT_OK(test_ui_message(u, "warning: unused variable `x`"));
        ASSERT_OK(test_ui_case_queued(u, 1, "mycrate", "tests::adds", 2 * USEC_PER_SEC));
        ASSERT_OK(test_ui_case_queued(u, 2, "mycrate", "tests::fails", 0));
        ASSERT_OK(test_ui_case_queued(u, 3, NULL, "broken", 0));
        ASSERT_OK(test_ui_case_queued(u, 4, "mycrate", "tests::later", 0));
        ASSERT_OK(test_ui_case_queued(u, 5, "other", "slow", 4 * USEC_PER_SEC));
        ASSERT_OK(test_ui_set_phase(u, NULL));
        ASSERT_OK(test_ui_case_started(u, 1, T0));
        ASSERT_OK(test_ui_case_started(u, 2, T0));
        ASSERT_OK(test_ui_case_started(u, 5, T0 + USEC_PER_SEC / 2));
        ASSERT_OK(test_ui_tick(u, T0 + USEC_PER_SEC));

        ASSERT_OK(test_ui_case_finished(u, 1, RESULT("mycrate", "tests::adds", TEST_OUTCOME_OK, 12000),
                                        T0 + USEC_PER_SEC));
        ASSERT_OK(test_report_add(report, RESULT("mycrate", "tests::adds", TEST_OUTCOME_OK, 12000)));

        fail = *RESULT("mycrate", "tests::fails", TEST_OUTCOME_FAIL, 1500000);
        fail.out = (TestOutput) { .data = (char *) "line 1\n\tindented\n", .size = 17 };
        fail.err = (TestOutput) { .data = (char *) "thread panicked", .size = 15, .truncated = 7 };
        fail.message = (char *) "exited with status 101";
        ASSERT_OK(test_ui_case_finished(u, 2, &fail, T0 + 3 * USEC_PER_SEC / 2));
        ASSERT_OK(test_report_add(report, &fail));

        ASSERT_OK(test_ui_case_finished(u, 6, RESULT("other", "skipme", TEST_OUTCOME_IGNORED, 0),
                                        T0 + 3 * USEC_PER_SEC / 2));
        ASSERT_OK(test_report_add(report, RESULT("other", "skipme", TEST_OUTCOME_IGNORED, 0)));

        ASSERT_OK(test_ui_case_started(u, 3, T0 + 2 * USEC_PER_SEC));
        error = *RESULT(NULL, "broken", TEST_OUTCOME_ERROR, 0);
        error.message = (char *) "no such image";
        ASSERT_OK(test_ui_case_finished(u, 3, &error, T0 + 2 * USEC_PER_SEC));
        ASSERT_OK(test_report_add(report, &error));

        ASSERT_OK(test_ui_message(u, "stopping after 2 failures\n"));
        ASSERT_OK(test_ui_case_finished(u, 4, RESULT("mycrate", "tests::later", TEST_OUTCOME_NOT_RUN, 0),
                                        T0 + 2 * USEC_PER_SEC));
        ASSERT_OK(test_report_add(report, RESULT("mycrate", "tests::later", TEST_OUTCOME_NOT_RUN, 0)));
        ASSERT_OK(test_ui_case_finished(u, 5, RESULT("other", "slow", TEST_OUTCOME_OK, 3 * USEC_PER_SEC),
                                        T0 + 4 * USEC_PER_SEC));
        ASSERT_OK(test_report_add(report, RESULT("other", "slow", TEST_OUTCOME_OK, 3 * USEC_PER_SEC)));
        ASSERT_OK(test_ui_tick(u, T0 + 5 * USEC_PER_SEC));
        ASSERT_OK(test_ui_finish(u, report));
}

static const char scenario_summary[] =
        "Summary: 6 cases: 2 passed, 1 failed, 0 timed out, 1 errors, 1 ignored, 1 not run\n"
        "Failures:\n"
        "    FAIL mycrate tests::fails: exited with status 101\n"
        "    ERROR broken: no such image\n";

/* The scenario's printed parts: fancy prints them without the OK and IGNORED lines. */
#define SCENARIO_WARNING "warning: unused variable `x`\n"
#define SCENARIO_FAIL                                                                           \
        "mycrate tests::fails ... FAIL (1.500s)\n"                                              \
        "    exited with status 101\n"                                                          \
        "---- mycrate tests::fails stdout ----\n"                                               \
        "line 1\n"                                                                              \
        "\tindented\n"                                                                          \
        "---- mycrate tests::fails stderr ----\n"                                               \
        "thread panicked\n"                                                                     \
        "[7 more bytes not kept]\n"
#define SCENARIO_ERROR "broken ... ERROR (0.000s)\n    no such image\n"
#define SCENARIO_STOPPING "stopping after 2 failures\n"

static const char scenario_simple[] =
        SCENARIO_WARNING
        "mycrate tests::adds ... OK (0.012s)\n"
        SCENARIO_FAIL
        "other skipme ... IGNORED (0.000s)\n"
        SCENARIO_ERROR
        SCENARIO_STOPPING
        "other slow ... OK (3.000s)\n";

static char *scenario_output(TestUiKind kind, bool is_terminal, unsigned columns, unsigned rows) {
        _cleanup_(test_report_freep) TestReport *report = NULL;
        _cleanup_(test_ui_freep) TestUi *u = NULL;
        _cleanup_close_ int fd = output_fd();

        ASSERT_OK(test_report_new(&report));
        u = make_ui(kind, fd, is_terminal, columns, rows);
        run_scenario(u, report);
        return take_output(fd);
}

TEST(simple_not_terminal) {
        _cleanup_free_ char *simple = scenario_output(TEST_UI_SIMPLE, /* is_terminal= */ false, 80, 24);
        _cleanup_free_ char *fancy = scenario_output(TEST_UI_FANCY, /* is_terminal= */ false, 80, 24);
        _cleanup_free_ char *want = strjoin(scenario_simple, scenario_summary);

        ASSERT_STREQ(simple, want);
        /* Fancy is simple when not on a terminal. */
        ASSERT_STREQ(fancy, want);
}

TEST(quiet_not_terminal) {
        _cleanup_free_ char *quiet = scenario_output(TEST_UI_QUIET, /* is_terminal= */ false, 80, 24);
        _cleanup_free_ char *want = strjoin(SCENARIO_WARNING, SCENARIO_STOPPING, scenario_summary);

        ASSERT_STREQ(quiet, want);
}

/* Removes the escape sequences we write ("\r\033[K", "\r\033[J", "\033[NA") from s; returns how many. */
static unsigned strip_our_escapes(char *s) {
        unsigned n = 0;
        char *w = s;

        for (const char *r = s; *r;) {
                size_t skip = 0;

                if (startswith(r, "\r\033[K") || startswith(r, "\r\033[J"))
                        skip = 4;
                else if (startswith(r, "\033[")) {
                        skip = 2 + strspn(r + 2, "0123456789");
                        if (skip > 2 && r[skip] == 'A')
                                skip++;
                        else
                                skip = 0;
                }
                if (skip > 0) {
                        r += skip;
                        n++;
                } else
                        *w++ = *r++;
        }
        *w = 0;
        return n;
}

TEST(simple_terminal) {
        _cleanup_(test_report_freep) TestReport *report = NULL;
        _cleanup_(test_ui_freep) TestUi *u = NULL;
        _cleanup_close_ int fd = output_fd();

        ASSERT_OK(test_report_new(&report));
        u = make_ui(TEST_UI_SIMPLE, fd, /* is_terminal= */ true, 100, 24);

        /* Events only mark the status line; a tick draws it, once. */
        ASSERT_OK(test_ui_case_queued(u, 1, "p", "a", 0));
        ASSERT_OK(test_ui_case_queued(u, 2, "p", "b", 0));
        ASSERT_OUTPUT(fd, "");
        ASSERT_OK(test_ui_tick(u, T0));
        ASSERT_OUTPUT(fd, "[>                                       ] 0/2 done, 0 failed, 0 running");
        ASSERT_OK(test_ui_tick(u, T0 + USEC_PER_SEC));
        ASSERT_OUTPUT(fd, "");

        ASSERT_OK(test_ui_case_started(u, 1, T0));
        ASSERT_OK(test_ui_set_phase(u, "listing q"));
        ASSERT_OK(test_ui_tick(u, T0));
        ASSERT_OUTPUT(fd,
                      "\r\033[K[>                                       ] 0/2 done, 0 failed, 1 running  "
                      "listing q");
        /* Setting the same phase again changes nothing. */
        ASSERT_OK(test_ui_set_phase(u, "listing q"));
        ASSERT_OK(test_ui_tick(u, T0));
        ASSERT_OUTPUT(fd, "");

        /* A printed line: erase, the line, the status line again, in one go. */
        ASSERT_OK(test_ui_case_finished(u, 1, RESULT("p", "a", TEST_OUTCOME_OK, 1000), T0));
        ASSERT_OUTPUT(fd, "\r\033[Kp a ... OK (0.001s)\n"
                          "[====================>                   ] 1/2 done, 0 failed, 0 running  "
                          "listing q");
        ASSERT_OK(test_ui_set_phase(u, NULL));
        ASSERT_OK(test_ui_message(u, "hello"));
        ASSERT_OUTPUT(fd,
                      "\r\033[Khello\n[====================>                   ] 1/2 done, 0 failed, 0 "
                      "running");
        ASSERT_OK(test_ui_case_finished(u, 2, RESULT("p", "b", TEST_OUTCOME_TIMEOUT, 1000), T0));
        ASSERT_OUTPUT(fd, "\r\033[Kp b ... TIMEOUT (0.001s)\n"
                          "[========================================] 2/2 done, 1 failed, 0 running");

        ASSERT_OK(test_report_add(report, RESULT("p", "a", TEST_OUTCOME_OK, 1000)));
        ASSERT_OK(test_report_add(report, RESULT("p", "b", TEST_OUTCOME_TIMEOUT, 1000)));
        ASSERT_OK(test_ui_finish(u, report));
        ASSERT_OUTPUT(fd, "\r\033[KSummary: 2 cases: 1 passed, 0 failed, 1 timed out, 0 errors, 0 ignored, "
                          "0 not run\nFailures:\n    TIMEOUT p b\n");
        /* Nothing is drawn after the end. */
        ASSERT_OK(test_ui_set_phase(u, "late"));
        ASSERT_OK(test_ui_tick(u, T0 + 10 * USEC_PER_SEC));
        ASSERT_OUTPUT(fd, "");
}

/* The status line (the text after the last newline) is never wider than the terminal, whatever it says. */
TEST(status_width) {
        static const char *const phases[] = {
                NULL, "x", "building a very long package name that goes on and on and on",
                "\xe4\xb8\xad\xe6\x96\x87\xe4\xb8\xad\xe6\x96\x87\xe4\xb8\xad\xe6\x96\x87\xe4\xb8\xad",
                "emoji \xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80",
        };

        for (unsigned columns = 1; columns <= 90; columns++)
                for (TestUiKind kind = 0; kind < _TEST_UI_KIND_MAX; kind++) {
                        _cleanup_(test_ui_freep) TestUi *u = NULL;
                        _cleanup_close_ int fd = output_fd();

                        u = make_ui(kind, fd, /* is_terminal= */ true, columns, 9);
                        for (uint64_t i = 0; i < 12; i++) {
                                _cleanup_free_ char *o = NULL;
                                const char *status;

                                ASSERT_OK(test_ui_set_phase(u, phases[i % ELEMENTSOF(phases)]));
                                ASSERT_OK(test_ui_case_queued(u, i, "package",
                                                              phases[(i + 2) % ELEMENTSOF(phases)] ?: "n",
                                                              i * USEC_PER_SEC));
                                ASSERT_OK(test_ui_case_started(u, i, T0 + i * USEC_PER_SEC));
                                if (i % 3 == 0)
                                        ASSERT_OK(test_ui_case_finished(
                                                u, i, RESULT("package", "x", TEST_OUTCOME_FAIL, 0), T0 + i));
                                ASSERT_OK(test_ui_tick(u, T0 + i * USEC_PER_SEC + 1));
                                o = take_output(fd);
                                (void) strip_our_escapes(o);
                                status = strrchr(o, '\n') ? strrchr(o, '\n') + 1 : o;
                                ASSERT_TRUE(columns_of(status, strlen(status)) < MAX(columns, 2u));
                                if (kind == TEST_UI_FANCY) {
                                        /* Every line of the region fits; the region is 3 lines. */
                                        for (char *l = o, *nl; l; l = nl ? nl + 1 : NULL) {
                                                nl = strchr(l, '\n');
                                                if (!startswith(l, "package x ... FAIL") &&
                                                    !startswith(l, "Summary"))
                                                        ASSERT_TRUE(columns_of(l, nl ? (size_t) (nl - l)
                                                                                     : strlen(l)) <
                                                                    MAX(columns, 2u));
                                        }
                                }
                        }
                }
}

/* Just enough of a terminal to replay what we write: characters (wrapping at the right margin), CR, LF (as
 * a tty with ONLCR shows it), erase to the end of the line or screen, cursor up.  Lines are unlimited
 * downwards (no scrolling). */
#define SCREEN_ROWS 200
#define SCREEN_COLUMNS 128

typedef struct Screen {
        char cells[SCREEN_ROWS][SCREEN_COLUMNS][5];
        bool wrapped[SCREEN_ROWS]; /* the row goes on in the next one */
        unsigned columns, row, column;
} Screen;

static void screen_feed(Screen *s, const char *p) {
        while (*p) {
                uint32_t c;
                size_t l;

                if (*p == '\r') {
                        s->column = 0;
                        p++;
                } else if (*p == '\n') {
                        s->column = 0;
                        s->row++;
                        ASSERT_TRUE(s->row < SCREEN_ROWS);
                        p++;
                } else if (startswith(p, "\033[K") || startswith(p, "\033[J")) {
                        for (unsigned r = s->row; r < (p[2] == 'J' ? SCREEN_ROWS : s->row + 1); r++) {
                                for (unsigned col = r == s->row ? s->column : 0; col < SCREEN_COLUMNS; col++)
                                        s->cells[r][col][0] = 0;
                                s->wrapped[r] = false;
                        }
                        p += 3;
                } else if (startswith(p, "\033[")) {
                        char *end;
                        unsigned long n = strtoul(p + 2, &end, 10);

                        ASSERT_TRUE(*end == 'A' && n > 0 && n <= s->row);
                        s->row -= (unsigned) n;
                        p = end + 1;
                } else {
                        ASSERT_TRUE(*p != '\033');
                        l = utf8_decode(p, strlen(p), &c);
                        if (s->column + utf8_char_columns(c) > s->columns) {
                                s->wrapped[s->row++] = true;
                                s->column = 0;
                                ASSERT_TRUE(s->row < SCREEN_ROWS);
                        }
                        memcpy(s->cells[s->row][s->column], p, l);
                        s->cells[s->row][s->column][l] = 0;
                        s->column++;
                        p += l;
                }
        }
}

/* The text on the screen, each line ending in a newline, up to the cursor's line if that is empty. */
static char *screen_dump(const Screen *s) {
        _cleanup_(textbuf_done) TextBuf b = {};
        char *text;

        for (unsigned r = 0; r <= s->row; r++) {
                bool empty = true;

                for (unsigned col = 0; col < SCREEN_COLUMNS && s->cells[r][col][0]; col++) {
                        textbuf_append(&b, s->cells[r][col]);
                        empty = false;
                }
                if ((r < s->row || !empty) && !s->wrapped[r])
                        textbuf_append_char(&b, '\n');
        }
        ASSERT_OK(textbuf_steal(&b, &text));
        return text;
}

/* What stays on a terminal is what is printed elsewhere, without the live parts: simple shows every line
 * and quiet only messages and the summary; fancy shows no OK or IGNORED line. */
TEST(terminal_leaves) {
        static const char fancy[] = SCENARIO_WARNING SCENARIO_FAIL SCENARIO_ERROR SCENARIO_STOPPING;

        for (TestUiKind kind = 0; kind < _TEST_UI_KIND_MAX; kind++)
                for (unsigned columns = 20; columns <= SCREEN_COLUMNS; columns += 36) {
                        _cleanup_free_ char *o = scenario_output(kind, /* is_terminal= */ true, columns, 24);
                        _cleanup_free_ Screen *screen = calloc(1, sizeof(Screen));
                        _cleanup_free_ char *text = NULL, *want = NULL;

                        ASSERT_TRUE(screen);
                        screen->columns = columns;
                        screen_feed(screen, o);
                        text = screen_dump(screen);
                        switch (kind) {
                        case TEST_UI_SIMPLE:
                                want = strjoin(scenario_simple, scenario_summary);
                                break;
                        case TEST_UI_QUIET:
                                want = strjoin(SCENARIO_WARNING, SCENARIO_STOPPING, scenario_summary);
                                break;
                        case TEST_UI_FANCY:
                                want = strjoin(fancy, scenario_summary);
                                break;
                        case _TEST_UI_KIND_MAX:
                        case _TEST_UI_KIND_INVALID:
                                ASSERT_TRUE(false);
                        }
                        ASSERT_STREQ(text, want);
                }
}

TEST(fancy_terminal) {
        _cleanup_(test_report_freep) TestReport *report = NULL;
        _cleanup_(test_ui_freep) TestUi *u = NULL;
        _cleanup_close_ int fd = output_fd();
        TestCaseResult fail;

        ASSERT_OK(test_report_new(&report));
        /* 15 rows: a region of 5 lines, 3 of them for running cases. */
        u = make_ui(TEST_UI_FANCY, fd, /* is_terminal= */ true, 61, 15);

        ASSERT_OK(test_ui_case_queued(u, 10, "pkg", "fast", 1 * USEC_PER_SEC));
        ASSERT_OK(test_ui_case_queued(u, 11, "pkg", "slow", 9 * USEC_PER_SEC));
        ASSERT_OK(test_ui_case_queued(u, 12, "pkg", "new", 0));
        ASSERT_OK(test_ui_case_queued(u, 13, "pkg", "last", 0));
        ASSERT_OK(test_ui_case_queued(u, 14, NULL, "bad", 0));
        ASSERT_OK(test_ui_tick(u, T0));
        ASSERT_OUTPUT(fd, "0/5 done: 0 passed, 0 failed, 0 running\n"
                          "[>                                                      ] 0%");

        /* Started in another order than the times say: longest-running first. */
        ASSERT_OK(test_ui_case_started(u, 11, T0 + 2 * USEC_PER_SEC));
        ASSERT_OK(test_ui_case_started(u, 10, T0));
        ASSERT_OK(test_ui_case_started(u, 12, T0 + 3 * USEC_PER_SEC));
        ASSERT_OK(test_ui_tick(u, T0 + 4 * USEC_PER_SEC));
        /* Weights: 1s, 9s, and the mean 5s for each of the three unknown: 25s.  Done: 1 + 2 + 1 = 4s in 4s
         * of wall time, so 21s left. */
        ASSERT_OUTPUT(fd, "\033[1A\r\033[J"
                          "    4s pkg fast\n"
                          "    2s pkg slow\n"
                          "    1s pkg new\n"
                          "0/5 done: 0 passed, 0 failed, 3 running\n"
                          "[=======>                                    ] 16%, 21s left");
        /* Nothing changed: nothing is written, not even within the same second. */
        ASSERT_OK(test_ui_tick(u, T0 + 4 * USEC_PER_SEC));
        ASSERT_OK(test_ui_tick(u, T0 + 4 * USEC_PER_SEC + 900 * USEC_PER_MSEC));
        ASSERT_OUTPUT(fd, "");

        /* An OK case is only counted; the next tick shows it. */
        ASSERT_OK(test_ui_case_finished(u, 10, RESULT("pkg", "fast", TEST_OUTCOME_OK, USEC_PER_SEC),
                                        T0 + 5 * USEC_PER_SEC));
        ASSERT_OK(test_report_add(report, RESULT("pkg", "fast", TEST_OUTCOME_OK, USEC_PER_SEC)));
        ASSERT_OUTPUT(fd, "");
        ASSERT_OK(test_ui_case_started(u, 13, T0 + 5 * USEC_PER_SEC));
        ASSERT_OK(test_ui_case_started(u, 14, T0 + 5 * USEC_PER_SEC));
        ASSERT_OK(test_ui_tick(u, T0 + 5 * USEC_PER_SEC));
        /* Four running, three lines for them: two, and how many more.  Done: 1 + 3 + 2 = 6s of 25s in 5s,
         * so 15.8s left. */
        ASSERT_OUTPUT(fd, "\033[4A\r\033[J"
                          "    3s pkg slow\n"
                          "    2s pkg new\n"
                          "      ... and 2 more running\n"
                          "1/5 done: 1 passed, 0 failed, 4 running\n"
                          "[==========>                                 ] 24%, 16s left");

        /* A failure is printed above the region, with its output.  Done: 1 + 9 + 3 + 1 + 1 = 15s in 6s. */
        fail = *RESULT("pkg", "slow", TEST_OUTCOME_FAIL, 4 * USEC_PER_SEC);
        fail.out = (TestOutput) { .data = (char *) "assertion failed\n", .size = 17 };
        ASSERT_OK(test_ui_case_finished(u, 11, &fail, T0 + 6 * USEC_PER_SEC));
        ASSERT_OK(test_report_add(report, &fail));
        ASSERT_OUTPUT(fd, "\033[4A\r\033[J"
                          "pkg slow ... FAIL (4.000s)\n"
                          "---- pkg slow stdout ----\n"
                          "assertion failed\n"
                          "    3s pkg new\n"
                          "    1s pkg last\n"
                          "    1s bad\n"
                          "2/5 done: 1 passed, 1 failed, 3 running\n"
                          "[===========================>                 ] 60%, 4s left");

        /* A resize redraws at the new size. */
        test_ui_set_size(u, 30, 6);
        ASSERT_OK(test_ui_tick(u, T0 + 6 * USEC_PER_SEC));
        ASSERT_OUTPUT(fd, "\033[4A\r\033[J"
                          "2/5 done: 1 passed, 1 failed,\n"
                          "[========>     ] 60%, 4s left");

        /* The end erases the region for good. */
        ASSERT_OK(test_ui_case_finished(u, 12, RESULT("pkg", "new", TEST_OUTCOME_OK, 0),
                                        T0 + 7 * USEC_PER_SEC));
        ASSERT_OK(test_report_add(report, RESULT("pkg", "new", TEST_OUTCOME_OK, 0)));
        ASSERT_OK(test_ui_finish(u, report));
        ASSERT_OUTPUT(fd, "\033[1A\r\033[J"
                          "Summary: 3 cases: 2 passed, 1 failed, 0 timed out, 0 errors, 0 ignored, "
                          "0 not run\n"
                          "Failures:\n"
                          "    FAIL pkg slow\n");
        ASSERT_OK(test_ui_tick(u, T0 + 60 * USEC_PER_SEC));
        ASSERT_OUTPUT(fd, "");
}

TEST(quiet_terminal) {
        _cleanup_(test_ui_freep) TestUi *u = NULL;
        _cleanup_close_ int fd = output_fd();

        u = make_ui(TEST_UI_QUIET, fd, /* is_terminal= */ true, 0, 0);
        ASSERT_OK(test_ui_case_queued(u, 1, "p", "a", 0));
        ASSERT_OK(test_ui_case_started(u, 1, T0));
        ASSERT_OK(test_ui_case_finished(u, 1, RESULT("p", "a", TEST_OUTCOME_FAIL, 0), T0));
        ASSERT_OUTPUT(fd, "");
        ASSERT_OK(test_ui_tick(u, T0));
        ASSERT_OUTPUT(fd, "[========================================] 1/1 done, 1 failed, 0 running");
        ASSERT_OK(test_ui_message(u, "note"));
        ASSERT_OUTPUT(fd,
                      "\r\033[Knote\n[========================================] 1/1 done, 1 failed, 0 "
                      "running");
        ASSERT_OK(test_ui_finish(u, /* report= */ NULL));
        ASSERT_OUTPUT(fd, "\r\033[K");
}

static const char evil_name[] = "evil\033]0;owned\007\033[2J\r\n\x9b" "31m\xc2\x9b" "1m\x7f";
static const char evil_safe[] = "evil\xef\xbf\xbd]0;owned\xef\xbf\xbd\xef\xbf\xbd[2J\xef\xbf\xbd\xef\xbf\xbd"
                                "\xef\xbf\xbd" "31m\xef\xbf\xbd" "1m\xef\xbf\xbd";

TEST(unsafe_text) {
        for (unsigned terminal = 0; terminal < 2; terminal++)
                for (TestUiKind kind = 0; kind < _TEST_UI_KIND_MAX; kind++) {
                        _cleanup_(test_report_freep) TestReport *report = NULL;
                        _cleanup_(test_ui_freep) TestUi *u = NULL;
                        _cleanup_close_ int fd = output_fd();
                        _cleanup_free_ char *o = NULL;
                        TestCaseResult c;
                        unsigned escapes;

                        ASSERT_OK(test_report_new(&report));
                        u = make_ui(kind, fd, terminal, 200, 30);
                        ASSERT_OK(test_ui_set_phase(u, evil_name));
                        ASSERT_OK(test_ui_message(u, evil_name));
                        ASSERT_OK(test_ui_case_queued(u, 1, evil_name, evil_name, 0));
                        ASSERT_OK(test_ui_case_queued(u, 2, evil_name, evil_name, 0));
                        ASSERT_OK(test_ui_case_started(u, 1, T0));
                        ASSERT_OK(test_ui_case_started(u, 2, T0));
                        ASSERT_OK(test_ui_tick(u, T0));
                        c = *RESULT(evil_name, evil_name, TEST_OUTCOME_ERROR, 0);
                        c.message = (char *) evil_name;
                        c.out = (TestOutput) { .data = (char *) evil_name, .size = sizeof(evil_name) - 1 };
                        c.err = c.out;
                        ASSERT_OK(test_ui_case_finished(u, 1, &c, T0));
                        ASSERT_OK(test_report_add(report, &c));
                        ASSERT_OK(test_ui_finish(u, report));

                        o = take_output(fd);
                        escapes = strip_our_escapes(o);
                        if (!terminal)
                                ASSERT_EQ(escapes, 0u);
                        else
                                ASSERT_TRUE(escapes > 0);
                        for (const char *p = o; *p; p++) {
                                unsigned char b = (unsigned char) *p;

                                ASSERT_TRUE(b >= 0x20 || b == '\n' || b == '\t');
                                ASSERT_TRUE(b != 0x7f && b != 0x9b);
                        }
                        ASSERT_TRUE(!strstr(o, "\xc2\x9b"));
                        ASSERT_TRUE(strstr(o, evil_safe));
                }
}

TEST(output_keeps_lines) {
        _cleanup_(test_ui_freep) TestUi *u = NULL;
        _cleanup_close_ int fd = output_fd();
        TestCaseResult c;

        u = make_ui(TEST_UI_SIMPLE, fd, /* is_terminal= */ false, 0, 0);
        /* Newline and tab survive in output; CR, ESC, invalid UTF-8 and NUL do not; empty streams print
         * nothing, a stream with only truncated bytes says so. */
        c = *RESULT(NULL, "t", TEST_OUTCOME_TIMEOUT, 0);
        c.out = (TestOutput) { .data = (char *) "a\tb\r\nc\033[1m\xff", .size = 12 };
        c.err = (TestOutput) { .data = NULL, .size = 0, .truncated = 3 };
        ASSERT_OK(test_ui_case_finished(u, 7, &c, T0));
        ASSERT_OUTPUT(fd, "t ... TIMEOUT (0.000s)\n"
                          "---- t stdout ----\n"
                          "a\tb\xef\xbf\xbd\nc\xef\xbf\xbd[1m\xef\xbf\xbd\xef\xbf\xbd\n"
                          "---- t stderr ----\n"
                          "[3 more bytes not kept]\n");
        c.out = (TestOutput) {};
        c.err = (TestOutput) {};
        c.outcome = TEST_OUTCOME_FAIL;
        ASSERT_OK(test_ui_case_finished(u, 8, &c, T0));
        ASSERT_OUTPUT(fd, "t ... FAIL (0.000s)\n");
        /* OK and IGNORED cases never show their output. */
        c.out = (TestOutput) { .data = (char *) "noise\n", .size = 6 };
        c.outcome = TEST_OUTCOME_OK;
        ASSERT_OK(test_ui_case_finished(u, 9, &c, T0));
        ASSERT_OUTPUT(fd, "t ... OK (0.000s)\n");
        ASSERT_OK(test_ui_message(u, ""));
        ASSERT_OK(test_ui_message(u, "two\nlines"));
        ASSERT_OUTPUT(fd, "\ntwo\nlines\n");
}

TEST(bad_input) {
        _cleanup_(test_ui_freep) TestUi *u = NULL;
        _cleanup_close_ int fd = output_fd();
        TestUi *v = NULL;

        ASSERT_ERROR(test_ui_new(&(TestUiOptions) { .kind = _TEST_UI_KIND_MAX, .fd = fd }, &v), EINVAL);
        ASSERT_ERROR(test_ui_new(&(TestUiOptions) { .kind = TEST_UI_SIMPLE, .fd = -1 }, &v), EINVAL);
        ASSERT_TRUE(v == NULL);

        u = make_ui(TEST_UI_FANCY, fd, /* is_terminal= */ true, 80, 24);
        ASSERT_ERROR(test_ui_case_queued(u, 1, "p", NULL, 0), EINVAL);
        ASSERT_OK(test_ui_case_queued(u, 1, "p", "a", 0));
        ASSERT_ERROR(test_ui_case_queued(u, 1, "p", "a", 0), EEXIST);
        ASSERT_ERROR(test_ui_case_started(u, 2, T0), ENOENT);
        ASSERT_OK(test_ui_case_started(u, 1, T0));
        ASSERT_ERROR(test_ui_case_started(u, 1, T0), ENOENT);
        ASSERT_ERROR(test_ui_case_finished(u, 1, RESULT("p", NULL, TEST_OUTCOME_OK, 0), T0), EINVAL);
        ASSERT_ERROR(test_ui_case_finished(u, 1, RESULT("p", "a", _TEST_OUTCOME_MAX, 0), T0), EINVAL);
        ASSERT_ERROR(test_ui_case_finished(u, 1, RESULT("p", "a", -1, 0), T0), EINVAL);
        ASSERT_OK(test_ui_case_finished(u, 1, RESULT("p", "a", TEST_OUTCOME_OK, 0), T0));
        /* Time going backwards does not make anything negative. */
        ASSERT_OK(test_ui_tick(u, 0));
        ASSERT_OK(test_ui_finish(u, NULL));
        _cleanup_free_ char *o = take_output(fd);
        ASSERT_TRUE(strstr(o, "1/1 done: 1 passed"));
}

TEST(broken_pipe) {
        _cleanup_(test_ui_freep) TestUi *u = NULL;
        _cleanup_(test_report_freep) TestReport *report = NULL;
        _cleanup_close_ int fd = -EBADF;
        int p[2];

        ASSERT_OK(test_report_new(&report));
        ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
        safe_close(p[0]);
        u = make_ui(TEST_UI_SIMPLE, p[1], /* is_terminal= */ true, 80, 24);
        ASSERT_OK(test_ui_message(u, "nobody reads this"));
        ASSERT_OK(test_ui_case_finished(u, 1, RESULT("p", "a", TEST_OUTCOME_OK, 0), T0));
        ASSERT_OK(test_ui_finish(u, report));
        safe_close(p[1]);

        /* Other errors are returned. */
        u = test_ui_free(u);
        fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        ASSERT_TRUE(fd >= 0);
        u = make_ui(TEST_UI_SIMPLE, fd, /* is_terminal= */ false, 80, 24);
        ASSERT_ERROR(test_ui_message(u, "x"), EBADF);
}

/* Many cases, ids in a scattered order: every case is found again, the counts add up, and the region is
 * redrawn per tick, not per event. */
TEST(many_cases) {
        static const unsigned n = 200000, slots = 16;
        _cleanup_(test_ui_freep) TestUi *u = NULL;
        _cleanup_close_ int fd = output_fd();
        _cleanup_free_ char *o = NULL;
        struct rusage before, after;
        usec_t now = T0, next_tick = T0;
        size_t ticks = 0, written;
        char name[32];
        double cpu;

        ASSERT_EQ(getrusage(RUSAGE_SELF, &before), 0);
        u = make_ui(TEST_UI_FANCY, fd, /* is_terminal= */ true, 120, 40);
        for (uint64_t i = 0; i < n; i++) {
                (void) snprintf(name, sizeof(name), "tests::case_%" PRIu64, i);
                ASSERT_OK(test_ui_case_queued(u, i * 0x9E3779B97F4A7C15ULL, "pkg", name,
                                              (i % 3) * USEC_PER_MSEC));
        }
        /* 10,000 cases a second, 16 at a time, each started one out of order. */
        for (uint64_t i = 0; i < n + slots; i++) {
                uint64_t s = i ^ 1;

                if (s < n)
                        ASSERT_OK(test_ui_case_started(u, s * 0x9E3779B97F4A7C15ULL, now));
                if (i >= slots) {
                        uint64_t f = (i - slots) ^ 1;

                        ASSERT_OK(test_ui_case_finished(u, f * 0x9E3779B97F4A7C15ULL,
                                                        RESULT("pkg", "x", TEST_OUTCOME_OK, USEC_PER_MSEC),
                                                        now));
                }
                now += 100;
                if (now >= next_tick) {
                        ASSERT_OK(test_ui_tick(u, now));
                        next_tick += 100 * USEC_PER_MSEC;
                        ticks++;
                }
        }
        ASSERT_OK(test_ui_tick(u, now + USEC_PER_SEC));
        ASSERT_EQ(getrusage(RUSAGE_SELF, &after), 0);

        o = take_output(fd);
        written = strlen(o);
        /* At most one region (under 13 lines of 120 columns) per tick. */
        ASSERT_TRUE(written <= (ticks + 1) * 13 * 128);
        ASSERT_TRUE(strstr(o, "200000/200000 done: 200000 passed, 0 failed, 0 running\n"));
        cpu = (double) (after.ru_utime.tv_sec - before.ru_utime.tv_sec + after.ru_stime.tv_sec -
                        before.ru_stime.tv_sec) +
              (double) (after.ru_utime.tv_usec - before.ru_utime.tv_usec + after.ru_stime.tv_usec -
                        before.ru_stime.tv_usec) / 1e6;
        fprintf(stderr, "%u cases through fancy in %.3fs of CPU (%.0f cases/s), %zu ticks, %zu bytes\n", n,
                cpu, n / MAX(cpu, 1e-6), ticks, written);
}

int main(void) {
        /* A closed pipe must be an error we ignore, not a signal. */
        (void) signal(SIGPIPE, SIG_IGN);

        RUN(kinds);
        RUN(columns);
        RUN(simple_not_terminal);
        RUN(quiet_not_terminal);
        RUN(simple_terminal);
        RUN(status_width);
        RUN(fancy_terminal);
        RUN(terminal_leaves);
        RUN(quiet_terminal);
        RUN(unsafe_text);
        RUN(output_keeps_lines);
        RUN(bad_input);
        RUN(broken_pipe);
        RUN(many_cases);
        return 0;
}
