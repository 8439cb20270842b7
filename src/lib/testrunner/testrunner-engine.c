/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/fd-util.h"
#include "basic/string-util.h"
#include "testrunner/testrunner-engine.h"

/* How often a terminal UI is redrawn. */
#define ENGINE_TICK_USEC (100 * USEC_PER_MSEC)

typedef struct EngineJob EngineJob;

struct EngineJob {
        TestEngine *engine;
        uint64_t id;
        ClientJob *client_job;
        char *package, *name;               /* as shown */
        char *listing_package, *artifact;   /* the listing's keys */
        void *artifact_data;
        usec_t estimate;
        TestEngineTentative *tentative;     /* its artifact is not confirmed yet: nothing is shown */
        bool started;
        EngineJob *prev, *next;
};

/* A case's end, held back until its artifact is confirmed. */
typedef struct HeldResult {
        uint64_t id;
        TestCaseResult result;
        bool job;    /* the end of a job: it was queued and started (the events say so too) */
        bool failed; /* counts for --stop-after */
} HeldResult;

struct TestEngineTentative {
        char *package, *artifact; /* the listing's keys */
        char **names;             /* every case of the artifact, for the listing */
        HeldResult *held;         /* in the order the cases ended */
        size_t n_held;
        TestEngineTentative *prev, *next;
};

struct TestEngine {
        TestEngineOptions o;
        Pattern **directive_filters; /* one per directive; NULL where it has none */
        size_t n_directive_filters;
        TestReport *report;
        sd_event_source *tick;
        EngineJob *jobs;             /* submitted, no result yet */
        TestEngineTentative *tentatives;
        size_t n_jobs;
        uint64_t next_id;
        uint64_t failures;
        bool build_finished;
        bool build_failed;
        bool stopping;               /* --stop-after reached or cancelled: schedule nothing more */
        bool cancelled;
        bool done;
};

static EngineJob *engine_job_free(EngineJob *j) {
        if (!j)
                return NULL;
        free(j->package);
        free(j->listing_package);
        free(j->artifact);
        free(j->name);
        return mfree(j);
}

static void engine_job_unlink(TestEngine *e, EngineJob *j) {
        if (j->prev)
                j->prev->next = j->next;
        else
                e->jobs = j->next;
        if (j->next)
                j->next->prev = j->prev;
        j->prev = j->next = NULL;
        e->n_jobs--;
}

static TestEngineTentative *tentative_free(TestEngineTentative *t) {
        if (!t)
                return NULL;
        free(t->package);
        free(t->artifact);
        strv_free(t->names);
        for (size_t i = 0; i < t->n_held; i++)
                test_case_result_done(&t->held[i].result);
        free(t->held);
        return mfree(t);
}

static void tentative_unlink(TestEngine *e, TestEngineTentative *t) {
        if (t->prev)
                t->prev->next = t->next;
        else
                e->tentatives = t->next;
        if (t->next)
                t->next->prev = t->prev;
        t->prev = t->next = NULL;
}

/* Keeps a copy of c for when t is confirmed.  Returns < 0 only for -ENOMEM. */
static int tentative_hold(TestEngineTentative *t, uint64_t id, const TestCaseResult *c, bool job,
                          bool failed) {
        HeldResult *held = reallocarray(t->held, t->n_held + 1, sizeof(HeldResult));
        int r;

        if (!held)
                return -ENOMEM;
        t->held = held;
        held[t->n_held] = (HeldResult) { .id = id, .job = job, .failed = failed };
        r = test_case_result_copy(c, &held[t->n_held].result);
        if (r < 0)
                return r;
        t->n_held++;
        return 0;
}

TestEngine *test_engine_free(TestEngine *e) {
        if (!e)
                return NULL;
        while (e->jobs) {
                EngineJob *j = e->jobs;
                engine_job_unlink(e, j);
                client_job_cancel(j->client_job);
                engine_job_free(j);
        }
        while (e->tentatives) {
                TestEngineTentative *t = e->tentatives;
                tentative_unlink(e, t);
                tentative_free(t);
        }
        for (size_t i = 0; i < e->n_directive_filters; i++)
                pattern_free(e->directive_filters[i]);
        free(e->directive_filters);
        sd_event_source_disable_unref(e->tick);
        test_report_free(e->report);
        return mfree(e);
}

PatternSyntax test_runner_kind_syntax(TestRunnerKind k) {
        switch (k) {
        case TEST_RUNNER_CARGO:
                return PATTERN_SYNTAX_CARGO;
        case TEST_RUNNER_GO:
                return PATTERN_SYNTAX_GO;
        case TEST_RUNNER_PYTEST:
                return PATTERN_SYNTAX_PYTEST;
        case _TEST_RUNNER_KIND_MAX:
        case _TEST_RUNNER_KIND_INVALID:
                break;
        }
        return _PATTERN_SYNTAX_INVALID;
}

/* Parses each directive's filter into filters[i] (NULL where it has none): one slot per directive. */
static int compile_directive_filters(const TestSpecFile *f, const char *spec_file_name, Pattern **filters,
                                     char **reterr_message) {
        PatternSyntax syntax = test_runner_kind_syntax(f->kind);

        for (size_t i = 0; i < f->n_directives; i++) {
                const TestDirective *d = &f->directives[i];
                PatternError error = {};
                int r;

                if (!d->filter)
                        continue;
                r = pattern_parse(syntax, d->filter, &filters[i], &error);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        if (asprintf(reterr_message, "%s:%u:%u: directive %zu: filter: %s",
                                     spec_file_name ?: test_runner_spec_file_name(f->kind), d->filter_line,
                                     d->filter_column, i + 1, error.message) < 0)
                                return -ENOMEM;
                        return -EINVAL;
                }
        }
        return 0;
}

int test_spec_file_check_filters(const TestSpecFile *f, const char *spec_file_name, char **reterr_message) {
        Pattern **filters;
        int r;

        assert(f);
        assert(reterr_message);

        *reterr_message = NULL;
        if (f->n_directives == 0)
                return 0;
        filters = calloc(f->n_directives, sizeof(Pattern *));
        if (!filters)
                return -ENOMEM;
        r = compile_directive_filters(f, spec_file_name, filters, reterr_message);
        for (size_t i = 0; i < f->n_directives; i++)
                pattern_free(filters[i]);
        free(filters);
        return r;
}

static int engine_compile_directives(TestEngine *e, const char *spec_file_name, char **reterr_message) {
        const TestSpecFile *f = e->o.spec;

        if (f->n_directives == 0)
                return 0;
        e->directive_filters = calloc(f->n_directives, sizeof(Pattern *));
        if (!e->directive_filters)
                return -ENOMEM;
        e->n_directive_filters = f->n_directives;
        return compile_directive_filters(f, spec_file_name, e->directive_filters, reterr_message);
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        TestEngine *e = userdata;

        (void) test_ui_tick(e->o.ui, now(CLOCK_MONOTONIC));
        return sd_event_source_set_time_relative(s, ENGINE_TICK_USEC);
}

int test_engine_new(const TestEngineOptions *o, const char *spec_file_name, TestEngine **ret,
                    char **reterr_message) {
        _cleanup_(test_engine_freep) TestEngine *e = NULL;
        int r;

        *reterr_message = NULL;
        if (!o->event || !o->adapter || !o->adapter->case_job || !o->filter || !o->spec || !o->listing)
                return -EINVAL;
        if (!o->list && (!o->client || !o->ui))
                return -EINVAL;

        e = calloc(1, sizeof(TestEngine));
        if (!e)
                return -ENOMEM;
        e->o = *o;
        if (e->o.repeat == 0)
                e->o.repeat = 1;

        r = test_report_new(&e->report);
        if (r < 0)
                return r;
        r = engine_compile_directives(e, spec_file_name, reterr_message);
        if (r < 0)
                return r;

        if (e->o.ui) {
                r = sd_event_add_time_relative(e->o.event, &e->tick, CLOCK_MONOTONIC, ENGINE_TICK_USEC,
                                               /* accuracy= */ 0, on_tick, e);
                if (r < 0)
                        return r;
                (void) sd_event_source_set_enabled(e->tick, SD_EVENT_ON);
        }

        *ret = TAKE_PTR(e);
        return 0;
}

bool test_engine_can_match(const TestEngine *e, const PatternCase *c) {
        return pattern_evaluate(e->o.filter, c) != PATTERN_FALSE;
}

int test_engine_message(TestEngine *e, const char *text) {
        if (e->o.ui)
                return test_ui_message(e->o.ui, text);
        fputs(text, stderr);
        if (!*text || text[strlen(text) - 1] != '\n')
                fputc('\n', stderr);
        fflush(stderr);
        return 0;
}

static void engine_maybe_done(TestEngine *e) {
        if (e->done || !e->build_finished || e->n_jobs > 0)
                return;
        e->done = true;
        e->tick = sd_event_source_disable_unref(e->tick);
        if (e->o.ui)
                (void) test_ui_finish(e->o.ui, e->report);
}

/* A case is over (or will never run): report it everywhere. */
static int engine_finish_case(TestEngine *e, uint64_t id, const TestCaseResult *c) {
        int r;

        r = test_report_add(e->report, c);
        if (r == -ENOMEM)
                return r;
        if (e->o.ui)
                (void) test_ui_case_finished(e->o.ui, id, c, now(CLOCK_MONOTONIC));
        if (e->o.events)
                (void) test_event_writer_finished(e->o.events, c);
        return 0;
}

/* The same, or held back while t (if not NULL) is not confirmed. */
static int engine_case_over(TestEngine *e, TestEngineTentative *t, uint64_t id, const TestCaseResult *c) {
        if (t)
                return tentative_hold(t, id, c, /* job= */ false, /* failed= */ false);
        return engine_finish_case(e, id, c);
}

static int engine_finish_simple(TestEngine *e, TestEngineTentative *t, const char *package, const char *name,
                                TestOutcome outcome, const char *message) {
        TestCaseResult c = {
                .package = (char *) package,
                .name = (char *) name,
                .outcome = outcome,
                .message = (char *) message,
        };
        return engine_case_over(e, t, e->next_id++, &c);
}

/* Stop scheduling: every job not finished yet is cancelled and reported as not run. */
static void engine_stop(TestEngine *e) {
        if (e->stopping)
                return;
        e->stopping = true;
        if (e->o.adapter->stop)
                e->o.adapter->stop(e->o.adapter_data);
        while (e->jobs) {
                EngineJob *j = e->jobs;
                TestCaseResult c = {
                        .package = j->package,
                        .name = j->name,
                        .outcome = TEST_OUTCOME_NOT_RUN,
                };

                engine_job_unlink(e, j);
                client_job_cancel(j->client_job);
                (void) engine_case_over(e, j->tentative, j->id, &c);
                engine_job_free(j);
        }
}

void test_engine_cancel(TestEngine *e) {
        e->cancelled = true;
        engine_stop(e);
        /* Whatever the adapter still has to say is not waited for. */
        e->build_finished = true;
        engine_maybe_done(e);
}

static TestOutcome engine_classify(TestEngine *e, EngineJob *j, const ClientJobResult *res,
                                   const char **ret_message) {
        switch (res->outcome) {
        case CLIENT_JOB_TIMED_OUT:
                return TEST_OUTCOME_TIMEOUT;
        case CLIENT_JOB_EXITED:
        case CLIENT_JOB_SIGNALED:
                if (e->o.adapter->classify) {
                        TestEngineCase c = {
                                .package = j->package,
                                .artifact = j->artifact,
                                .name = j->name,
                                .selectors = PATTERN_CASE_UNKNOWN,
                                .artifact_data = j->artifact_data,
                        };
                        return e->o.adapter->classify(e->o.adapter_data, &c, res, ret_message);
                }
                return res->outcome == CLIENT_JOB_EXITED && res->status == 0 ? TEST_OUTCOME_OK
                                                                              : TEST_OUTCOME_FAIL;
        case CLIENT_JOB_ERROR:
        case _CLIENT_JOB_OUTCOME_MAX:
        case _CLIENT_JOB_OUTCOME_INVALID:
                break;
        }
        return TEST_OUTCOME_ERROR;
}

static void on_job_state(ClientJob *cj, ClientJobState state, void *userdata) {
        EngineJob *j = userdata;
        TestEngine *e = j->engine;

        if (state != CLIENT_JOB_RUNNING)
                return;
        j->started = true;
        if (j->tentative)
                return;
        if (e->o.ui)
                (void) test_ui_case_started(e->o.ui, j->id, now(CLOCK_MONOTONIC));
        if (e->o.events)
                (void) test_event_writer_started(e->o.events, j->package, j->name);
}

static void engine_count_failure(TestEngine *e, bool failed) {
        if (!failed)
                return;
        e->failures++;
        if (e->o.stop_after > 0 && e->failures >= e->o.stop_after)
                engine_stop(e);
}

static void on_job_result(ClientJob *cj, const ClientJobResult *res, void *userdata) {
        EngineJob *j = userdata;
        TestEngine *e = j->engine;
        _cleanup_free_ char *message = NULL;
        const char *why = NULL;
        TestOutcome outcome = engine_classify(e, j, res, &why);
        int r = 0;

        switch (res->outcome) {
        case CLIENT_JOB_EXITED:
                if (outcome == TEST_OUTCOME_FAIL)
                        r = asprintf(&message, "exited with code %d%s%s", res->status, why ? ", " : "",
                                     strempty(why));
                break;
        case CLIENT_JOB_SIGNALED:
                if (outcome == TEST_OUTCOME_FAIL)
                        r = asprintf(&message, "killed by signal %s",
                                     sigabbrev_np(res->status) ?: "(unknown)");
                break;
        case CLIENT_JOB_TIMED_OUT:
                r = asprintf(&message, "timed out after %.3fs", (double) res->run_usec / USEC_PER_SEC);
                break;
        case CLIENT_JOB_ERROR:
        case _CLIENT_JOB_OUTCOME_MAX:
        case _CLIENT_JOB_OUTCOME_INVALID:
                message = strdup(res->error ?: "the job failed");
                if (!message)
                        r = -1;
                break;
        }
        if (r < 0)
                message = NULL;

        TestCaseResult c = {
                .package = j->package,
                .name = j->name,
                .outcome = outcome,
                .duration = res->run_usec,
                .out = { .data = (char *) res->out.data, .size = res->out.size,
                         .truncated = res->out.truncated },
                .err = { .data = (char *) res->err.data, .size = res->err.size,
                         .truncated = res->err.truncated },
                .message = outcome == TEST_OUTCOME_ERROR ? (message ?: (char *) "the job failed") : message,
        };
        bool failed = IN_SET(outcome, TEST_OUTCOME_FAIL, TEST_OUTCOME_TIMEOUT, TEST_OUTCOME_ERROR);

        engine_job_unlink(e, j);
        if (j->tentative) {
                (void) tentative_hold(j->tentative, j->id, &c, /* job= */ true, failed);
                engine_job_free(j);
                return;
        }
        (void) test_listing_record(e->o.listing, j->listing_package, j->artifact, j->name, res->run_usec,
                                  failed);
        (void) engine_finish_case(e, j->id, &c);
        engine_job_free(j);
        engine_count_failure(e, failed);
        engine_maybe_done(e);
}

typedef struct MatchContext {
        TestEngine *engine;
        const PatternCase *selectors;
} MatchContext;

static int directive_matches(const TestDirective *d, size_t index, void *userdata) {
        MatchContext *m = userdata;

        if (index >= m->engine->n_directive_filters || !m->engine->directive_filters[index])
                return 1;
        return pattern_evaluate(m->engine->directive_filters[index], m->selectors) == PATTERN_TRUE;
}

/* Submits the case (repeat times); a problem with the case itself reports it as an ERROR. */
static int engine_submit(TestEngine *e, TestEngineTentative *t, const char *listing_package,
                         const TestEngineCase *c, const TestListingCase *history) {
        _cleanup_(test_candidate_freep) TestCandidate *candidate = NULL;
        _cleanup_(job_spec_freep) JobSpec *job = NULL;
        _cleanup_(resolved_job_freep) ResolvedJob *resolved = NULL;
        _cleanup_free_ char *message = NULL;
        MatchContext m = { .engine = e, .selectors = &c->selectors };
        SpecError error = {};
        int r;

        r = test_spec_file_apply(e->o.spec, directive_matches, &m, &candidate);
        if (r < 0)
                return r;

        if (c->ignored || candidate->ignore) {
                for (unsigned i = 0; i < e->o.repeat; i++) {
                        r = engine_finish_simple(e, t, c->package, c->name, TEST_OUTCOME_IGNORED, NULL);
                        if (r < 0)
                                return r;
                }
                return 0;
        }
        if (e->stopping) {
                for (unsigned i = 0; i < e->o.repeat; i++) {
                        r = engine_finish_simple(e, t, c->package, c->name, TEST_OUTCOME_NOT_RUN, NULL);
                        if (r < 0)
                                return r;
                }
                return 0;
        }

        usec_t timeout = e->o.timeout_set ? e->o.timeout : candidate->timeout;
        r = job_spec_new(&job);
        if (r < 0)
                return r;
        container_spec_done(&job->container);
        job->container = candidate->container;
        container_spec_init(&candidate->container);

        const char *image = NULL;
        unsigned use = 0;
        r = job_spec_find_image(job, test_spec_file_lookup_container, (void *) e->o.spec, &image, &use,
                                &error);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                if (spec_error_format(&error, &message) < 0)
                        return -ENOMEM;
        } else
                r = e->o.adapter->case_job(e->o.adapter_data, c, candidate, image != NULL, job, &message);
        if (r == -ENOMEM)
                return r;
        if (r >= 0) {
                job->timeout = timeout;
                job->estimated_duration = test_listing_case_estimate(history);
                job->priority = test_listing_case_is_urgent(history) ? 1 : 0;
                r = job_spec_collapse(job, test_spec_file_lookup_container, (void *) e->o.spec,
                                      /* image= */ NULL, e->o.client_environment, &resolved, &error);
                if (r == -ENOMEM)
                        return r;
                if (r < 0 && spec_error_format(&error, &message) < 0)
                        return -ENOMEM;
        }
        if (r < 0) {
                for (unsigned i = 0; i < e->o.repeat; i++) {
                        r = engine_finish_simple(e, t, c->package, c->name, TEST_OUTCOME_ERROR,
                                                 message ?: "cannot make the case's job");
                        if (r < 0)
                                return r;
                }
                return 0;
        }

        for (unsigned i = 0; i < e->o.repeat && !e->stopping; i++) {
                static const ClientJobHandlers handlers = { .state = on_job_state, .result = on_job_result };
                EngineJob *j = calloc(1, sizeof(EngineJob));

                if (!j)
                        return -ENOMEM;
                *j = (EngineJob) {
                        .engine = e,
                        .id = e->next_id++,
                        .package = c->package ? strdup(c->package) : NULL,
                        .listing_package = strdup(listing_package),
                        .artifact = strdup(c->artifact),
                        .name = strdup(c->name),
                        .artifact_data = c->artifact_data,
                        .estimate = job->estimated_duration,
                        .tentative = t,
                };
                if ((c->package && !j->package) || !j->listing_package || !j->artifact || !j->name) {
                        engine_job_free(j);
                        return -ENOMEM;
                }

                message = mfree(message);
                r = client_submit(e->o.client, resolved, &handlers, j, &j->client_job, &message);
                if (r < 0) {
                        uint64_t id = j->id;
                        engine_job_free(j);
                        if (r == -ENOMEM)
                                return r;
                        TestCaseResult res = {
                                .package = (char *) c->package,
                                .name = (char *) c->name,
                                .outcome = TEST_OUTCOME_ERROR,
                                .message = message ?: (char *) "cannot submit the job",
                        };
                        r = engine_case_over(e, t, id, &res);
                        if (r < 0)
                                return r;
                        continue;
                }

                j->next = e->jobs;
                if (e->jobs)
                        e->jobs->prev = j;
                e->jobs = j;
                e->n_jobs++;
                if (t)
                        continue;
                if (e->o.ui)
                        (void) test_ui_case_queued(e->o.ui, j->id, c->package, c->name,
                                                   job->estimated_duration);
                if (e->o.events)
                        (void) test_event_writer_queued(e->o.events, c->package, c->name);
        }
        return 0;
}

static int engine_list_case(TestEngine *e, const TestEngineCase *c) {
        _cleanup_free_ char *line = NULL;

        if (c->package && c->package[0])
                line = strjoin(c->package, " ", c->name, "\n");
        else
                line = strjoin(c->name, "\n");
        if (!line)
                return -ENOMEM;
        int r = loop_write(e->o.list_fd, line, strlen(line));
        return r == -EPIPE ? 0 : r;
}

typedef struct OrderItem {
        const TestEngineCase *c;
        const TestListingCase *history;
        size_t index;
} OrderItem;

static int order_compare(const void *a, const void *b) {
        const OrderItem *x = a, *y = b;
        int r = test_listing_case_compare(x->history, y->history);

        if (r != 0)
                return r;
        return x->index < y->index ? -1 : x->index > y->index;
}

/* Selects, lists or submits the cases; with t, their ends are held back and the listing is left alone. */
static int engine_add(TestEngine *e, TestEngineTentative *t, const char *package, const char *artifact,
                      const TestEngineCase *cases, size_t n) {
        _cleanup_free_ OrderItem *items = NULL;
        _cleanup_free_ char **names = NULL; /* the strings are borrowed */
        size_t n_items = 0;
        int r;

        /* Look up the history before the listing learns the new cases (which then have none either). */
        items = calloc(MAX(n, (size_t) 1), sizeof(OrderItem));
        if (!items)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                if (cases[i].left_out || pattern_evaluate(e->o.filter, &cases[i].selectors) != PATTERN_TRUE)
                        continue;
                items[n_items++] = (OrderItem) {
                        .c = &cases[i],
                        .history = test_listing_find(e->o.listing, package ?: "", artifact, cases[i].name),
                        .index = i,
                };
        }

        if (e->o.list) {
                for (size_t i = 0; i < n_items; i++) {
                        r = engine_list_case(e, items[i].c);
                        if (r < 0)
                                return r;
                }
                return 0;
        }

        qsort(items, n_items, sizeof(OrderItem), order_compare);
        for (size_t i = 0; i < n_items; i++) {
                r = engine_submit(e, t, package ?: "", items[i].c, items[i].history);
                if (r < 0)
                        return r;
        }
        if (t)
                return 0;

        /* Now the listing may change: the history pointers above are not used after this. */
        names = calloc(n + 1, sizeof(char *));
        if (!names)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                names[i] = (char *) cases[i].name;
        r = test_listing_update_artifact(e->o.listing, package ?: "", artifact, names);
        if (r < 0)
                return r;

        engine_maybe_done(e);
        return 0;
}

int test_engine_add_artifact(TestEngine *e, const char *package, const char *artifact,
                             const TestEngineCase *cases, size_t n) {
        if (e->done)
                return 0;
        return engine_add(e, /* t= */ NULL, package, artifact, cases, n);
}

int test_engine_add_artifact_tentative(TestEngine *e, const char *package, const char *artifact,
                                       const TestEngineCase *cases, size_t n, TestEngineTentative **ret) {
        TestEngineTentative *t;
        int r;

        *ret = NULL;
        if (e->done || e->stopping || e->o.list)
                return 0;

        t = calloc(1, sizeof(TestEngineTentative));
        if (!t)
                return -ENOMEM;
        t->package = strdup(package ?: "");
        t->artifact = strdup(artifact);
        t->names = calloc(n + 1, sizeof(char *));
        if (!t->package || !t->artifact || !t->names) {
                tentative_free(t);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                t->names[i] = strdup(cases[i].name);
                if (!t->names[i]) {
                        tentative_free(t);
                        return -ENOMEM;
                }
        }
        t->next = e->tentatives;
        if (e->tentatives)
                e->tentatives->prev = t;
        e->tentatives = t;

        r = engine_add(e, t, package, artifact, cases, n);
        if (r < 0) {
                test_engine_revoke(e, t);
                return r;
        }
        *ret = t;
        return 0;
}

int test_engine_confirm(TestEngine *e, TestEngineTentative *t) {
        EngineJob *last = NULL;
        int r;

        tentative_unlink(e, t);

        /* The jobs still to end are shown now, in the order they were submitted. */
        for (EngineJob *j = e->jobs; j; j = j->next)
                last = j;
        for (EngineJob *j = last; j; j = j->prev) {
                if (j->tentative != t)
                        continue;
                j->tentative = NULL;
                if (e->o.ui)
                        (void) test_ui_case_queued(e->o.ui, j->id, j->package, j->name, j->estimate);
                if (e->o.events)
                        (void) test_event_writer_queued(e->o.events, j->package, j->name);
                if (!j->started)
                        continue;
                if (e->o.ui)
                        (void) test_ui_case_started(e->o.ui, j->id, now(CLOCK_MONOTONIC));
                if (e->o.events)
                        (void) test_event_writer_started(e->o.events, j->package, j->name);
        }

        r = test_listing_update_artifact(e->o.listing, t->package, t->artifact, t->names);
        for (size_t i = 0; i < t->n_held; i++) {
                const HeldResult *h = &t->held[i];

                if (h->job) {
                        if (e->o.events) {
                                const char *package = h->result.package, *name = h->result.name;
                                (void) test_event_writer_queued(e->o.events, package, name);
                                (void) test_event_writer_started(e->o.events, package, name);
                        }
                        (void) test_listing_record(e->o.listing, t->package, t->artifact, h->result.name,
                                                   h->result.duration, h->failed);
                }
                if (engine_finish_case(e, h->id, &h->result) == -ENOMEM)
                        r = -ENOMEM;
                engine_count_failure(e, h->failed);
        }
        tentative_free(t);
        engine_maybe_done(e);
        return r == -ENOMEM ? r : 0;
}

void test_engine_revoke(TestEngine *e, TestEngineTentative *t) {
        EngineJob *next;

        tentative_unlink(e, t);
        /* The artifact changed, or may have: the layers made of its files are made again. */
        if (e->o.client)
                (void) client_forget_layers(e->o.client);
        for (EngineJob *j = e->jobs; j; j = next) {
                next = j->next;
                if (j->tentative != t)
                        continue;
                engine_job_unlink(e, j);
                client_job_cancel(j->client_job);
                engine_job_free(j);
        }
        tentative_free(t);
        engine_maybe_done(e);
}

void test_engine_build_finished(TestEngine *e, bool ok) {
        /* What the adapter did not confirm cannot be trusted. */
        while (e->tentatives)
                test_engine_revoke(e, e->tentatives);
        e->build_finished = true;
        if (!ok)
                e->build_failed = e->report->build_failed = true;
        engine_maybe_done(e);
}

bool test_engine_is_done(const TestEngine *e) {
        return e->done;
}

int test_engine_exit_status(const TestEngine *e) {
        if (e->build_failed || e->cancelled || !e->done)
                return 1;
        return test_report_exit_status(e->report);
}

const TestReport *test_engine_report(const TestEngine *e) {
        return e->report;
}
