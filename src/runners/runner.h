/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* What the three test runners' main programs share around the engine: --init, the spec file, the filter,
 * the listing state, the local worker, the UI and the reports, signals, and --watch's loop. */

#include <stdbool.h>
#include <sys/types.h>

#include <systemd/sd-event.h>

#include "basic/process-util.h"
#include "basic/string-util.h"
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

/* A helper program whose standard output is read on the event loop (a build, a test binary listing its
 * cases), the adapter's own state around it.  done runs once the output has ended and the child was
 * reaped: status is its exit status as process_wait() gives it (127 when it could not be reaped), output
 * what it printed, NUL-terminated, now done's to free (NULL when it could not be kept), and cut says
 * whether it was cut off (past max, when the child is stopped, or out of memory). */
typedef struct RunnerChild RunnerChild;
typedef void (*RunnerChildDone)(RunnerChild *c, int status, char *output, size_t size);
struct RunnerChild {
        RunnerChildDone done;
        size_t max;
        pid_t pid;
        int fd;
        sd_event_source *source;
        TextBuf output;
        bool cut;
};

void runner_child_init(RunnerChild *c);
/* Starts argv (env NULL = ours) in cwd; done is called from event when its output ends. */
int runner_child_spawn(RunnerChild *c, sd_event *event, char *const *argv, const char *cwd, char *const *env,
                       ProcessSpawnFlags flags, size_t max, RunnerChildDone done);
/* Stops and reaps the child, if there is one (done is not called). */
void runner_child_kill(RunnerChild *c);

/* The extra arguments for the test binaries: the extra-test-binary-args value, then what follows '--'.
 * check (the adapter's) refuses those that would change what a case runs, with a message.  Returns
 * EXIT_SUCCESS, or the exit status after saying what is wrong. */
int runner_extra_args(const Config *c, int (*check)(char *const *args, char **reterr_message),
                      char ***ret);
/* Reads the spec file at path, its directives' filters checked: -ENOENT when there is none; another error
 * (but -ENOMEM) with *reterr_message saying where and what ("FILE:LINE:COLUMN: directive 2: ..."). */
int runner_spec_file_load(TestRunnerKind kind, const char *path, TestSpecFile **ret, char **reterr_message);
/* Whether a case's job gets the shared libraries its binary needs: not when the container is based on an
 * image, unless the directives' include_shared_libraries says otherwise. */
bool runner_includes_shared_libraries(const TestCandidate *candidate, bool based_on_image);
/* Adds a case's test binary to its job: a layer of the shared libraries it needs (when
 * runner_includes_shared_libraries()), found with library_path as LD_LIBRARY_PATH (NULL: ours), then one
 * putting the binary at "/". */
int runner_job_add_binary(JobSpec *job, const TestCandidate *candidate, bool based_on_image,
                          const char *executable, const char *library_path);
/* Adds the variables ("NAME=VALUE", each value taken as it is: '$' escaped from expansion) to the job's
 * added environment: after whatever the directives set, or, with first, before it (so that the directives'
 * added_environment overrides them). */
int runner_job_add_environment(JobSpec *job, char *const *vars, bool first);
/* Adds *l to the job's added layers, taking what it owns (*l is emptied); on failure *l is left alone.  At
 * the end (above the directives' layers), or, with first, at the start (under them: a directive's file at
 * the same path wins). */
int runner_job_take_layer(JobSpec *job, LayerSpec *l, bool first);
/* Adds a layer of kind holding path (stripped of strip_prefix, which may be NULL: at its own path). */
int runner_job_add_path_layer(JobSpec *job, LayerKind kind, const char *path, const char *strip_prefix);
/* Whether what a runner would put at path, a path of this machine, might not be seen there in the job's
 * container: its container comes from a parent (which may mount something above it), or one of its own
 * mounts covers the path, or /tmp does, where the default container mounts a tmpfs. */
bool runner_job_hides(const JobSpec *job, const char *path);
/* Sets the job's program to argv[0] and its arguments to the rest. */
int runner_job_set_command(JobSpec *job, char *const *argv);

/* What becomes of the cases that the harness marks ignored (#[ignore]): reported IGNORED, run like the
 * others (libtest's --include-ignored), or run alone, the others left out (--ignored). */
typedef enum RunnerIgnored {
        RUNNER_IGNORED_REPORT,
        RUNNER_IGNORED_RUN,
        RUNNER_IGNORED_ONLY,
} RunnerIgnored;

/* Hands an artifact's listed cases (names, in the harness's order) to the engine: each with selectors (whose
 * name is set per case), shown under package; those in ignored (may be NULL) as mode says.  listing_package
 * and artifact are the listing state's keys.  With ret_tentative, as a tentative artifact
 * (test_engine_add_artifact_tentative()). */
int runner_add_cases(TestEngine *e, const char *listing_package, const char *package, const char *artifact,
                     char *const *names, char *const *ignored, RunnerIgnored mode,
                     const PatternCase *selectors, void *artifact_data,
                     TestEngineTentative **ret_tentative);

/* The include/exclude filter of the configuration; prints the error (naming the option and the column)
 * and returns -EINVAL on a bad pattern. */
int runner_make_filter(const Config *c, TestRunnerKind kind, Pattern **ret);

/* --init: writes the default spec file into project_dir, refusing to overwrite one.  Returns the exit
 * status. */
int runner_init(TestRunnerKind kind, const char *project_dir);

/* Runs the tests (or lists them with --list-tests), again after each change with --watch.  Returns the
 * exit status. */
int runner_run(const RunnerOptions *o);
