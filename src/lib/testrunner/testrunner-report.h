/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* The results of a run (spec/04, Output): the outcome of every finished case, the simple UI's per-case
 * line, the summary, the exit status, the JUnit XML report (--junit) and the JSON-lines event stream
 * (--json-events).
 *
 * Text that is not ours (names, captured output, messages) may hold any bytes.  Where it leaves us:
 *   - JUnit XML: markup characters are escaped as entities; each byte of invalid UTF-8 and each character
 *     XML 1.0 forbids (C0 controls other than tab, newline and CR; U+FFFE, U+FFFF) becomes U+FFFD.  In
 *     attributes tab, newline and CR are written as character references so that they survive
 *     attribute-value normalization; in text a CR is written as &#13; so that it survives line-end
 *     normalization.
 *   - JSON: json-c escapes quotes, backslashes and every control character (NUL included, as \u0000);
 *     each byte of invalid UTF-8 becomes U+FFFD so that every line is valid UTF-8 JSON.
 *   - The simple UI's line and the summary: each control character (C0, DEL and C1) and each byte of
 *     invalid UTF-8 becomes U+FFFD, so that a name cannot drive the terminal.  Captured output that the
 *     user interfaces show (testrunner-ui.h) is treated the same, except that newline and tab are kept. */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/macro.h"
#include "basic/string-util.h"
#include "basic/time-util.h"

/* Most cases one report holds (repeats included). */
#define TEST_REPORT_CASES_MAX (1U << 22)
/* Most bytes of each captured stream a report keeps per case; the rest is counted as truncated. */
#define TEST_REPORT_OUTPUT_MAX (1U << 20)

typedef enum TestOutcome {
        TEST_OUTCOME_OK,
        TEST_OUTCOME_FAIL,
        TEST_OUTCOME_TIMEOUT,
        TEST_OUTCOME_ERROR,
        TEST_OUTCOME_IGNORED,
        TEST_OUTCOME_NOT_RUN,
        _TEST_OUTCOME_MAX,
        _TEST_OUTCOME_INVALID = -EINVAL,
} TestOutcome;

/* "OK", "FAIL", "TIMEOUT", "ERROR", "IGNORED", "NOT_RUN". */
const char *test_outcome_to_string(TestOutcome o);
TestOutcome test_outcome_from_string(const char *s);

/* Captured bytes of one stream: may hold NULs and invalid UTF-8.  truncated counts the bytes that were
 * dropped (by the executor or by the report's cap) after data. */
typedef struct TestOutput {
        char *data;
        size_t size;
        uint64_t truncated;
} TestOutput;

/* The part of o a report keeps: at most TEST_REPORT_OUTPUT_MAX bytes of data (borrowed from o), the rest
 * counted in truncated. */
TestOutput test_output_capped(const TestOutput *o);

/* One finished case.  As an argument it is borrowed; inside a TestReport it owns its strings. */
typedef struct TestCaseResult {
        char *package;   /* the package or module path; NULL or "" when the runner has none */
        char *name;      /* the case's full name, e.g. "tests::adds" */
        TestOutcome outcome;
        usec_t duration;
        TestOutput out;  /* stdout */
        TestOutput err;  /* stderr */
        char *message;   /* why, for ERROR (required), FAIL and TIMEOUT (optional); NULL otherwise */
} TestCaseResult;

typedef struct TestReport {
        TestCaseResult *cases; /* in the order they finished */
        size_t n_cases;
        size_t n_allocated;
        size_t counts[_TEST_OUTCOME_MAX];
        bool build_failed; /* some binary was not built or not listed: its cases are in no count */
} TestReport;

int test_report_new(TestReport **ret);
TestReport *test_report_free(TestReport *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(TestReport *, test_report_free);

/* Record a copy of c.  Output beyond TEST_REPORT_OUTPUT_MAX is dropped and counted in truncated.
 * -EINVAL: no name, an invalid outcome, or ERROR without a message; -E2BIG: TEST_REPORT_CASES_MAX cases
 * already; -ENOMEM. */
int test_report_add(TestReport *r, const TestCaseResult *c);
/* A copy of c that owns its strings (its outputs capped as a report keeps them); free with
 * test_case_result_done(). */
int test_case_result_copy(const TestCaseResult *c, TestCaseResult *ret);
void test_case_result_done(TestCaseResult *c);

/* 0 when every case passed or was ignored (an empty run included), 1 otherwise. */
int test_report_exit_status(const TestReport *r);

/* Formats a duration as seconds with millisecond precision, "0.012s"-style without the unit: "0.012". */
#define TEST_DURATION_STRING_MAX 32
const char *test_duration_format(usec_t d, char buf[static TEST_DURATION_STRING_MAX]);

/* Appends the n bytes at s (any bytes) to b made safe for the terminal as above; with keep_lines, newline
 * and tab are kept (captured output, messages of several lines). */
void test_text_append_terminal(TextBuf *b, const char *s, size_t n, bool keep_lines);

/* Appends "package name" (just the name when package is NULL or ""), made safe for the terminal. */
void test_case_append_name(TextBuf *b, const char *package, const char *name);

/* The simple UI's line for a finished case, without newline: "mycrate tests::adds ... OK (0.012s)"
 * (without the package when it has none).  -EINVAL for NOT_RUN, which never finishes. */
int test_case_format_line(const TestCaseResult *c, char **ret);

/* The summary, lines ending in newline: the count of each state, then each failure (FAIL, TIMEOUT,
 * ERROR) with its package, name and message:
 *
 *     Summary: 5 cases: 2 passed, 1 failed, 1 timed out, 1 errors, 0 ignored, 0 not run
 *     Failures:
 *         FAIL mycrate tests::b
 *         TIMEOUT mycrate tests::c
 *         ERROR mycrate tests::d: no such image
 *
 * then, when failed cases' output says they needed what a case's container leaves out (the network, a
 * command, a writable root), a hint for each with how many cases and the directive that gives it.
 */
int test_report_format_summary(const TestReport *r, char **ret);

/* The JUnit XML report: <testsuites> holding one <testsuite> per package (sorted by name; cases in the
 * order they finished), each with tests/failures/errors/skipped/time.  FAIL and TIMEOUT are <failure>
 * (type "FAIL" or "TIMEOUT"), ERROR is <error>, IGNORED and NOT_RUN are <skipped>; captured output goes
 * to <system-out>/<system-err>, followed by a line "[N more bytes not kept]" when some was dropped.  Cases
 * without a package form a <testsuite> named "".  name is the <testsuites> name (NULL: none). */
int test_report_format_junit(const TestReport *r, const char *name, char **ret);
/* The same, written atomically to path. */
int test_report_write_junit(const TestReport *r, const char *name, const char *path);

/* The --json-events stream: one JSON object per line, each written with one write(2) as it happens:
 *
 *     {"event":"queued","package":"mycrate","name":"tests::adds"}
 *     {"event":"started","package":"mycrate","name":"tests::adds"}
 *     {"event":"finished","package":"mycrate","name":"tests::adds","outcome":"FAIL","duration":0.012,
 *      "stdout":"...","stderr":"...","stdout_truncated":0,"stderr_truncated":0,"message":"..."}
 *
 * ("package" is null when there is none; "message" only when there is one.) */
typedef enum TestEventType {
        TEST_EVENT_QUEUED,
        TEST_EVENT_STARTED,
        TEST_EVENT_FINISHED,
        _TEST_EVENT_TYPE_MAX,
        _TEST_EVENT_TYPE_INVALID = -EINVAL,
} TestEventType;

const char *test_event_type_to_string(TestEventType t);
TestEventType test_event_type_from_string(const char *s);

/* One event's line, with its newline.  c is required for FINISHED and ignored otherwise. */
int test_event_format(TestEventType t, const char *package, const char *name, const TestCaseResult *c,
                      char **ret);

typedef struct TestEventWriter TestEventWriter;

/* Create or truncate path. */
int test_event_writer_open(const char *path, TestEventWriter **ret);
TestEventWriter *test_event_writer_free(TestEventWriter *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(TestEventWriter *, test_event_writer_free);

int test_event_writer_queued(TestEventWriter *w, const char *package, const char *name);
int test_event_writer_started(TestEventWriter *w, const char *package, const char *name);
int test_event_writer_finished(TestEventWriter *w, const TestCaseResult *c);
