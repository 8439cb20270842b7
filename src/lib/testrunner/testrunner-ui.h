/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* The runners' user interfaces (spec/04, Output): what the user sees while a run goes on, and the summary at
 * the end.  The engine feeds events; the UI writes to one fd (the runner's stdout).
 *
 *   simple  one line per finished case (test_case_format_line(); none for NOT_RUN); after a FAIL, TIMEOUT
 *           or ERROR, that case's message (indented) and its captured stdout and stderr, each under a
 *           header "---- NAME stdout ----" (nothing for an empty stream; "[N more bytes not kept]" after
 *           truncated output); on a terminal, one status line at the bottom ("[===>   ] 3/10 done, 1 failed,
 *           2 running", then the phase) that is erased and redrawn around every line printed.
 *   quiet   only the status line (on a terminal; nothing while running otherwise), the messages, then
 *           the summary.
 *   fancy   on a terminal, a live region at the bottom, at most a third of the rows: the running cases
 *           with their elapsed seconds (longest-running first, as many as fit), the counts, a progress bar
 *           weighted by the estimates (an unknown estimate counts as the mean of the known ones, or 1s),
 *           and the estimated time left; finished failures are printed above it with their output, as
 *           simple does; other finished cases are only counted.  Not on a terminal it behaves as simple.
 *
 * Lines drawn on a terminal are at most columns - 1 wide, so that no terminal wraps them.  Events only
 * mark the status line or region as changed; test_ui_tick() draws it, and so does printing a line above
 * it.  No escape sequence is written when is_terminal is false.
 *
 * Every event is identified by an id the engine chooses (unique within a run; a case repeated with
 * --repeat gets one id per run of it).  Text from outside (names, output) is made safe for the terminal the
 * way testrunner-report.h says.  Writes that fail with EPIPE are ignored; other errors are returned. */

#include <stdbool.h>
#include <stdint.h>

#include "basic/macro.h"
#include "basic/time-util.h"
#include "testrunner/testrunner-report.h"

typedef enum TestUiKind {
        TEST_UI_SIMPLE,
        TEST_UI_QUIET,
        TEST_UI_FANCY,
        _TEST_UI_KIND_MAX,
        _TEST_UI_KIND_INVALID = -EINVAL,
} TestUiKind;

/* "simple", "quiet", "fancy". */
const char *test_ui_kind_to_string(TestUiKind k);
TestUiKind test_ui_kind_from_string(const char *s);

/* The value of `ui` ("auto", "simple", "quiet", "fancy"; NULL = "auto") and `quiet` to a kind: quiet wins;
 * "auto" is fancy on a terminal, else simple.  -EINVAL for another string. */
int test_ui_kind_resolve(const char *ui, bool quiet, bool is_terminal, TestUiKind *ret);

typedef struct TestUi TestUi;

typedef struct TestUiOptions {
        TestUiKind kind;
        int fd;                /* borrowed; written with loop_write() */
        bool is_terminal;      /* draw the status line / live region */
        unsigned columns;      /* terminal width; 0 = 80 */
        unsigned rows;         /* terminal height; 0 = 24 (fancy uses at most a third of it) */
} TestUiOptions;

/* -EINVAL: an invalid kind or fd. */
int test_ui_new(const TestUiOptions *o, TestUi **ret);
TestUi *test_ui_free(TestUi *u);
DEFINE_TRIVIAL_CLEANUP_FUNC(TestUi *, test_ui_free);

/* The terminal was resized. */
void test_ui_set_size(TestUi *u, unsigned columns, unsigned rows);

/* What the runner does besides running cases, shown in the status line ("building", "listing foo"); NULL
 * clears it. */
int test_ui_set_phase(TestUi *u, const char *phase);

/* A line of text from the runner (a warning, a build diagnostic), printed above the status line, always
 * (also in quiet), made safe for the terminal keeping newlines and tabs.  A missing final newline is
 * added. */
int test_ui_message(TestUi *u, const char *text);

/* A case will run (estimate 0 = unknown), started running, finished.  now is CLOCK_MONOTONIC.  finished
 * takes the result (borrowed) and prints what the kind prints; IGNORED and NOT_RUN cases may be finished
 * without having been queued or started.  queued: -EINVAL without a name, -EEXIST for an id queued
 * already, -E2BIG beyond TEST_REPORT_CASES_MAX cases; started: -ENOENT for an id not queued (or started
 * already); finished: -EINVAL without a name or with an invalid outcome. */
int test_ui_case_queued(TestUi *u, uint64_t id, const char *package, const char *name, usec_t estimate);
int test_ui_case_started(TestUi *u, uint64_t id, usec_t now);
int test_ui_case_finished(TestUi *u, uint64_t id, const TestCaseResult *result, usec_t now);

/* Redraw the status line or live region if it changed (elapsed times, time left); the engine calls it
 * every 100 ms on a terminal.  Does nothing when not on a terminal. */
int test_ui_tick(TestUi *u, usec_t now);

/* The end of the run: erase the status line or live region for good and print the summary
 * (test_report_format_summary(); report NULL: none).  Nothing is drawn after it. */
int test_ui_finish(TestUi *u, const TestReport *report);
