/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* The engine shared by the test runners (spec/04, "Flow of one run").  A language adapter builds its
 * artifacts on the engine's event loop and hands each one's listed cases to the engine as soon as it has
 * them; the engine selects the cases (the --include/--exclude filter), folds the directives of the spec
 * file into each case's container, asks the adapter for the job, orders and submits the jobs to the client
 * while other artifacts still build, and turns the results into outcomes, the listing state, the UI, the
 * reports and the exit status.
 *
 *   adapter                                  engine
 *   test_engine_can_match(package...)   →    false: do not build it
 *   test_engine_add_artifact(cases)     →    list / ignore / submit (ordered by the listing)
 *   ..._tentative(cases), confirm/revoke →   submit at once; show, or forget, once the build says
 *   test_engine_build_finished(ok)      →    the run ends when every job is done
 *                                       ←    TestAdapter.case_job(), .classify(), .stop()
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "basic/macro.h"
#include "basic/time-util.h"
#include "client/client.h"
#include "spec/spec.h"
#include "testrunner/testrunner-directives.h"
#include "testrunner/testrunner-listing.h"
#include "testrunner/testrunner-pattern.h"
#include "testrunner/testrunner-report.h"
#include "testrunner/testrunner-ui.h"

typedef struct TestEngine TestEngine;

/* The pattern syntax of a runner's --include/--exclude and directive filters. */
PatternSyntax test_runner_kind_syntax(TestRunnerKind k);

/* One case, as an adapter lists it.  Strings are borrowed during the call that passes them. */
typedef struct TestEngineCase {
        const char *package;   /* shown and reported ("mycrate", "example.com/m/pkg"); NULL = none */
        const char *artifact;  /* its artifact (binary, test target) */
        const char *name;      /* the case's full name as the harness knows it */
        PatternCase selectors; /* every field of the runner's syntax filled in */
        bool ignored;          /* the harness itself marks it ignored (#[ignore]) */
        bool left_out;         /* neither run nor reported, as if no pattern matched (its history is kept) */
        void *artifact_data;   /* the adapter's, for case_job() and classify(); must outlive the run */
} TestEngineCase;

typedef struct TestAdapter {
        TestRunnerKind kind;
        /* The job of one case: job's container is what the directives produced (candidate has the rest of
         * it: ignore, timeout, include_shared_libraries); based_on_image says whether its parent chain ends
         * in an image.  The adapter sets program and arguments and adds its own layers.  An error (with
         * *reterr_message) makes the case an ERROR. */
        int (*case_job)(void *userdata, const TestEngineCase *c, const TestCandidate *candidate,
                        bool based_on_image, JobSpec *job, char **reterr_message);
        /* The outcome of a job that ran to its end (exited or was killed by a signal), and for a FAIL that
         * its exit status does not explain, *ret_message (a static string).  NULL: exit 0 is OK, anything
         * else FAIL. */
        TestOutcome (*classify)(void *userdata, const TestEngineCase *c, const ClientJobResult *result,
                                const char **ret_message);
        /* Stop building: --stop-after was reached.  The adapter still calls test_engine_build_finished(). */
        void (*stop)(void *userdata);
} TestAdapter;

typedef struct TestEngineOptions {
        sd_event *event;              /* run it until test_engine_is_done() */
        const TestAdapter *adapter;
        void *adapter_data;
        const Pattern *filter;        /* from pattern_filter_new() */
        const TestSpecFile *spec;     /* the project's spec file or the default */
        char *const *client_environment; /* for $env{} in the directives */
        TestListing *listing;         /* read for the order, updated with what was listed and ran */
        Client *client;               /* NULL with list */
        TestUi *ui;                   /* NULL with list */
        TestEventWriter *events;      /* NULL = no --json-events */
        bool list;                    /* print the selected cases to list_fd, run nothing */
        int list_fd;
        unsigned repeat;              /* 0 or 1: once */
        uint64_t stop_after;          /* 0 = never stop */
        bool timeout_set;             /* --timeout given: it replaces every directive's timeout */
        usec_t timeout;               /* 0 = none */
} TestEngineOptions;

/* Whether every directive filter of the spec file parses in its runner's syntax: -EINVAL with
 * *reterr_message as test_engine_new() gives it, so that a runner can refuse the file before it builds. */
int test_spec_file_check_filters(const TestSpecFile *f, const char *spec_file_name, char **reterr_message);

/* Compiles the spec file's directive filters for the runner's syntax: -EINVAL with *reterr_message
 * ("cargo-maelstrom.toml:4:10: directive 2: filter: expected ... at column 5") if one is bad. */
int test_engine_new(const TestEngineOptions *o, const char *spec_file_name, TestEngine **ret,
                    char **reterr_message);
TestEngine *test_engine_free(TestEngine *e);
DEFINE_TRIVIAL_CLEANUP_FUNC(TestEngine *, test_engine_free);

/* Whether the filter can match a case with what is known before building (package, target, kind, ...;
 * the other fields of c unknown): false means the adapter need not build or list it. */
bool test_engine_can_match(const TestEngine *e, const PatternCase *c);

/* An artifact was built and listed: cases (n of them, all of the artifact's, in the harness's order).
 * package and artifact are the listing state's keys (the cases' own package is what is shown).  The
 * listing state learns them all; the selected ones are listed, reported IGNORED, or submitted, the
 * urgent and the longest first.  Returns < 0 only for -ENOMEM. */
int test_engine_add_artifact(TestEngine *e, const char *package, const char *artifact,
                             const TestEngineCase *cases, size_t n);

/* An artifact that may be about to change: the cases of what was there before its build (listed then)
 * start at once, while it builds, and nothing of them is shown, reported or recorded until the adapter
 * knows whether the build left it as it was.  test_engine_confirm() then shows and records everything as
 * if test_engine_add_artifact() had been called (the ends already held first); test_engine_revoke()
 * cancels the jobs still running and forgets the rest, for the adapter to add the artifact as it is now.
 * *ret stays the engine's until one of the two is called, which the adapter must do before
 * test_engine_build_finished() (which revokes what is left).  *ret is NULL, and nothing was submitted,
 * when the engine takes no tentative artifact (listing, stopping, or done).  Returns < 0 only for
 * -ENOMEM. */
typedef struct TestEngineTentative TestEngineTentative;
int test_engine_add_artifact_tentative(TestEngine *e, const char *package, const char *artifact,
                                       const TestEngineCase *cases, size_t n, TestEngineTentative **ret);
int test_engine_confirm(TestEngine *e, TestEngineTentative *t);
void test_engine_revoke(TestEngine *e, TestEngineTentative *t);

/* Something the user must see (a build error, a listing that failed): through the UI, or stderr. */
int test_engine_message(TestEngine *e, const char *text);

/* The adapter has nothing more to add.  ok false (the build or a listing failed) makes the run fail. */
void test_engine_build_finished(TestEngine *e, bool ok);

/* Stop now (a signal): cancel the jobs, report them NOT_RUN, tell the adapter to stop; the run is over
 * (what the adapter adds later is dropped). */
void test_engine_cancel(TestEngine *e);

/* Whether the run has ended (the build finished, every job done): the caller runs the event loop until it
 * has. */
bool test_engine_is_done(const TestEngine *e);
/* 0 if every case passed or was ignored and the build succeeded, 1 otherwise. */
int test_engine_exit_status(const TestEngine *e);
/* The report of the run (owned by the engine). */
const TestReport *test_engine_report(const TestEngine *e);
