/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* What the three test runners' main programs share around the engine: --init, the spec file, the filter,
 * the listing state, the local worker, the UI and the reports, signals, and --watch's loop. */

#include <stdbool.h>

#include <systemd/sd-event.h>

#include "config/config.h"
#include "testrunner/testrunner-engine.h"

typedef struct RunnerAdapterOps {
        /* One run starts: build and list (on event), feeding e; end with test_engine_build_finished(). */
        int (*start)(void *userdata, TestEngine *e, sd_event *event);
        /* The run's event loop has returned: stop and reap what start() left (the engine is still there). */
        void (*finish)(void *userdata);
} RunnerAdapterOps;

typedef struct RunnerOptions {
        const Config *config;
        const char *project_dir;
        const char *state_dir;        /* holds test-listing.toml */
        const char *cache_dir;        /* the client's and the local worker's */
        char *const *watch_ignore;    /* absolute directories --watch does not look into */
        char *const *template_vars;   /* "build-dir=..." */
        const TestAdapter *adapter;   /* kind, case_job, classify, stop */
        const RunnerAdapterOps *ops;
        void *userdata;               /* for adapter and ops */
} RunnerOptions;

/* The include/exclude filter of the configuration; prints the error (naming the option and the column)
 * and returns -EINVAL on a bad pattern. */
int runner_make_filter(const Config *c, TestRunnerKind kind, Pattern **ret);

/* --init: writes the default spec file into project_dir, refusing to overwrite one.  Returns the exit
 * status. */
int runner_init(TestRunnerKind kind, const char *project_dir);

/* Runs the tests (or lists them with --list-tests), again after each change with --watch.  Returns the
 * exit status. */
int runner_run(const RunnerOptions *o);
