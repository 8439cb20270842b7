/* SPDX-License-Identifier: MIT OR Apache-2.0 */

/* maelstrom-go-test: the Go adapter on the test runners' engine.  A run lists the module's packages with go
 * list, then builds the test binaries of the packages that have tests and that the filter can match, lists
 * each binary's cases and hands them to the engine as soon as they are known, all on the event loop.
 *
 * Building: one go test -c per batch of up to GO_BUILD_BATCH_MAX packages, one batch per CPU at a time.
 * Every go command loads the module again, asks each of its tools for its version and sets vet up, which
 * costs more than a binary that is up to date (go then only touches it), so batches make a warm run's builds
 * several times faster than one command per package.  When every binary is there already (a warm run, most
 * likely), there is one command per directory instead (up to GO_BUILD_WARM_BATCH_MAX packages): more would
 * pay that fixed cost again for nothing, and go builds what did change in parallel anyway.  go -c -o DIR/
 * names a binary after the package's last import path element: packages named alike go to different
 * directories, <cache>/bin/0, /1, ... (go_binary_slots()), the same each run so that go finds them up to
 * date.  A binary the batch did not write or touch (a build error, or a name go chose differently) is built
 * again on its own, -o its path, and that build's messages are what the user sees.  go touches a binary that
 * is up to date; when its build ID shows that its bytes did not change, its times are put back, so that the
 * client does not hash it again.
 *
 * A warm run does not wait for go list: go list's output is kept (<cache>/go-list.json), and the next run
 * starts from it at once, its cases (of the binaries whose listing is kept) running while go list checks
 * the module; the builds wait for go list's answer, and a different answer drops all that was started from
 * the kept one (go_start()).
 *
 * A case's container has the binary at "/", its shared libraries, and the package's directory (its files
 * and testdata/) at its path, or at /go/src/<import path> where the container would hide that path (under
 * /tmp, or in a container based on a parent), which is the working directory unless the directives set
 * one. */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/fd-util.h"
#include "basic/log.h"
#include "basic/process-util.h"
#include "basic/string-util.h"
#include "config/config-main.h"
#include "config/config-values.h"
#include "runner.h"
#include "testrunner/testrunner-go.h"

/* The most a build may print before it is cut off (and the build stopped). */
#define GO_BUILD_OUTPUT_MAX (16U << 20)
/* The most packages one go test -c builds, and when every binary exists already. */
#define GO_BUILD_BATCH_MAX 8U
#define GO_BUILD_WARM_BATCH_MAX 256U
/* The directory, under the module root, holding the state and the cache. */
#define GO_STATE_DIR_NAME ".maelstrom-go-test"

static const ConfigValueDef go_values[] = {
        {
                .name = "vet",
                .type = CONFIG_VALUE_STRING,
                .metavar = "CHECKS",
                .default_doc = "go test's default set of checks",
                .help = "Passed to go test as -vet (\"off\", \"all\", or a comma-separated list of checks)",
        },
        {
                .name = "short",
                .type = CONFIG_VALUE_BOOL,
                .default_value = "false",
                .help = "Run the test binaries with -test.short",
        },
        {
                .name = "fullpath",
                .type = CONFIG_VALUE_BOOL,
                .default_value = "false",
                .help = "Run the test binaries with -test.fullpath",
        },
        {},
};

static const ConfigValueDef *const go_value_sets[] = {
        CONFIG_VALUE_SETS_TEST_RUNNER,
        config_values_test_binary_args,
        go_values,
        NULL,
};

/* go test's flags, and what to use instead. */
#define GO_TEST "a go test flag: "
#define GO_BUILD_FLAG "a go build flag: give it to go in GOFLAGS, e.g. GOFLAGS='-race -tags=TAG'"
#define GO_PROFILE GO_TEST "profiles and coverage profiles are not collected here"
static const ConfigHabit go_habits[] = {
        { "run", GO_TEST GO_HINT_RUN },
        { "skip", GO_TEST GO_HINT_SKIP },
        { "count", GO_TEST "results are never cached here; to run each case N times, use --repeat N" },
        { "failfast", GO_TEST "to stop after the first failure, use --stop-after 1" },
        { "v", GO_TEST "every case is reported here, with its output when it fails" },
        { "json", GO_TEST "for one JSON line per case event, use --json-events PATH" },
        { "p", GO_TEST "to set how many cases run at once, use --slots N" },
        { "parallel", GO_TEST "give it to the test binaries after '--': -- -test.parallel=N" },
        { "cpu", GO_TEST "give it to the test binaries after '--': -- -test.cpu=LIST" },
        { "bench", GO_TEST GO_HINT_BENCH },
        { "benchmem", GO_TEST GO_HINT_BENCH },
        { "benchtime", GO_TEST GO_HINT_BENCH },
        { "fuzz", GO_TEST GO_HINT_FUZZ },
        { "fuzztime", GO_TEST GO_HINT_FUZZ },
        { "race", GO_BUILD_FLAG },
        { "msan", GO_BUILD_FLAG },
        { "asan", GO_BUILD_FLAG },
        { "tags", GO_BUILD_FLAG },
        { "ldflags", GO_BUILD_FLAG },
        { "gcflags", GO_BUILD_FLAG },
        { "asmflags", GO_BUILD_FLAG },
        { "mod", GO_BUILD_FLAG },
        { "modfile", GO_BUILD_FLAG },
        { "trimpath", GO_BUILD_FLAG },
        { "buildvcs", GO_BUILD_FLAG },
        { "pgo", GO_BUILD_FLAG },
        { "overlay", GO_BUILD_FLAG },
        { "toolexec", GO_BUILD_FLAG },
        { "cover", GO_BUILD_FLAG },
        { "covermode", GO_BUILD_FLAG },
        { "coverpkg", GO_BUILD_FLAG },
        { "installsuffix", GO_BUILD_FLAG },
        { "linkshared", GO_BUILD_FLAG },
        { "compiler", GO_BUILD_FLAG },
        { "gccgoflags", GO_BUILD_FLAG },
        { "buildmode", GO_BUILD_FLAG },
        { "coverprofile", GO_PROFILE },
        { "cpuprofile", GO_PROFILE },
        { "memprofile", GO_PROFILE },
        { "blockprofile", GO_PROFILE },
        { "mutexprofile", GO_PROFILE },
        { "trace", GO_PROFILE },
        { "outputdir", GO_PROFILE },
        {}
};

static const ConfigProgram go_program = {
        .name = "maelstrom-go-test",
        .dir_name = "go-test",
        .env_prefix = "MAELSTROM_GO_TEST_",
        .file_format = CONFIG_FILE_TOML,
        .positional = CONFIG_POSITIONAL_NONE,
        .usage = "[OPTIONS] [-- EXTRA-TEST-BINARY-ARGS...]",
        .description = "Build the test binaries of a Go module and run every test, example and fuzz seed "
                       "corpus in its own container.",
        .value_sets = go_value_sets,
        .habits = go_habits,
};

typedef struct GoTest GoTest;
typedef struct GoChild GoChild;

/* Called once a child's output has ended and the child was reaped (see RunnerChildDone); c->run.cut says
 * whether its output was cut off.  A negative return is -ENOMEM. */
typedef int (*GoChildDone)(GoChild *c, int status, const char *output, size_t size);

/* A child process (go list, go test -c, or a test binary listing its cases). */
struct GoChild {
        RunnerChild run;
        GoTest *go;
        void *owner; /* the GoArtifact or GoBatch it works for (or the GoTest) */
        GoChildDone done;
};

/* A package to build, list and run: what its cases need. */
typedef struct GoArtifact {
        GoTest *go;
        char *import_path;
        char *package_path; /* the selectors */
        char *package_name; /* NULL: go could not read it */
        char *dir;          /* on this machine */
        char *module_path;
        char *relative_dir; /* of dir, in the module */
        char *name;         /* of its test binary, as go names it */
        unsigned slot;      /* the binary is <cache>/bin/<slot>/<name> */
        char *binary;
        char *program;      /* "/" + name: where the layer puts it */
        struct stat before; /* the binary before its batch was built (st_ino 0: there was none) */
        char *build_id;     /* of the binary then; NULL: unknown */
        char *listed_id;    /* the build ID of the binary being listed; NULL: unknown */
        TestEngineTentative *early; /* the cases of the binary before the build, started while it builds */
        GoChild child;      /* its own build (when its batch did not build it), then its listing */
        struct GoArtifact *next;      /* all of them, in go list's order */
        struct GoArtifact *next_solo; /* waiting for its own build */
} GoArtifact;

/* Packages built by one go test -c, into one directory (where their binaries' names differ). */
typedef struct GoBatch {
        char *dir; /* ends in '/' */
        GoArtifact **artifacts;
        size_t n_artifacts;
        GoChild child;
        struct GoBatch *next;
} GoBatch;

struct GoTest {
        char *project_dir; /* the module root */
        char *bin_dir;     /* the test binaries */
        const char *vet;
        GoCaseOptions case_options;
        unsigned max_builds;
        /* Start the cases of a binary before go has checked it (go_artifact_start_early()): with the local
         * worker only.  A broker's client uploads a file when the broker asks for it, maybe after go has
         * replaced it, and a failed upload fails every job on the broker. */
        bool early;
        /* What go list printed last time (so that a run can start from it before go list answers, see
         * go_start()). */
        char *list_path;
        /* One run. */
        TestEngine *engine;
        sd_event *event;
        GoChild list;       /* go list */
        bool list_pending;  /* it has not answered: no build starts before it has */
        char *list_kept;    /* the text of list_path the artifacts come from, until go list says the same */
        GoArtifact *discarded; /* those of a kept list that go list did not repeat: freed at the end */
        GoArtifact *artifacts;
        GoBatch *batches;
        GoBatch *queued_batch;              /* the first batch not started yet */
        GoArtifact *solo_first, *solo_last; /* waiting for their own build */
        unsigned n_builds;                  /* go test -c running */
        unsigned n_children;                /* every child running */
        bool ok;
        bool stopped;
        bool finished;
};

static void go_child_init(GoChild *c, GoTest *go, void *owner) {
        *c = (GoChild) { .go = go, .owner = owner };
        runner_child_init(&c->run);
}

static void go_child_kill(GoChild *c) {
        runner_child_kill(&c->run);
}

static void go_schedule(GoTest *go);
static void go_maybe_finished(GoTest *go);

static void go_child_done(RunnerChild *run, int status, char *output, size_t size) {
        _cleanup_free_ char *text = output;
        GoChild *c = container_of(run, GoChild, run);
        GoTest *go = c->go;

        go->n_children--;
        if (c->done(c, status, text, size) < 0) {
                log_oom();
                go->ok = false;
        }
        go_schedule(go);
        go_maybe_finished(go);
}

/* Starts argv in cwd; done is called when its output ends. */
static int go_child_spawn(GoChild *c, char *const *argv, const char *cwd, ProcessSpawnFlags flags,
                          size_t max, GoChildDone done) {
        int r;

        c->done = done;
        r = runner_child_spawn(&c->run, c->go->event, argv, cwd, /* env= */ NULL, flags, max, go_child_done);
        if (r < 0)
                return r;
        c->go->n_children++;
        return 0;
}

static GoArtifact *go_artifact_free(GoArtifact *a) {
        if (!a)
                return NULL;
        go_child_kill(&a->child);
        free(a->import_path);
        free(a->package_path);
        free(a->package_name);
        free(a->dir);
        free(a->module_path);
        free(a->relative_dir);
        free(a->name);
        free(a->binary);
        free(a->program);
        free(a->build_id);
        free(a->listed_id);
        return mfree(a);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(GoArtifact *, go_artifact_free);

static GoBatch *go_batch_free(GoBatch *b) {
        if (!b)
                return NULL;
        go_child_kill(&b->child);
        free(b->dir);
        free(b->artifacts);
        return mfree(b);
}

static PatternCase go_artifact_case(const GoArtifact *a) {
        PatternCase pc = PATTERN_CASE_UNKNOWN;
        pc.package_import_path = a->import_path;
        pc.package_path = a->package_path;
        pc.package_name = a->package_name;
        return pc;
}

static int go_case_job(void *userdata, const TestEngineCase *c, const TestCandidate *candidate,
                       bool based_on_image, JobSpec *job, char **reterr_message) {
        _cleanup_(layer_spec_done) LayerSpec package = {};
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_free_ char *root = NULL;
        const GoArtifact *a = c->artifact_data;
        GoTest *go = userdata;
        int r;

        /* The binary (with its shared libraries), and the package's directory under the directives' layers
         * (a directive's file at the same path wins): at its path, as go test runs the package's tests in
         * it (so that a test finds its files from the source paths compiled into the binary, which
         * runtime.Caller() gives), unless the container would hide that path. */
        r = runner_job_add_binary(job, candidate, based_on_image, a->binary, /* library_path= */ NULL);
        if (r < 0)
                return r;
        if (runner_job_hides(job, go->project_dir))
                r = go_container_dir(a->module_path, /* relative_dir= */ NULL, &root);
        else
                r = (root = strdup(go->project_dir)) ? 0 : -ENOMEM;
        if (r >= 0)
                r = go_package_layer(root, a->relative_dir, &package);
        if (r == -EINVAL)
                return asprintf(reterr_message, "cannot place package directory '%s' of module '%s' in the "
                                "container", a->relative_dir, a->module_path) < 0 ? -ENOMEM : -EINVAL;
        if (r < 0)
                return r;
        r = runner_job_take_layer(job, &package, /* first= */ true);
        if (r < 0)
                return r;

        if (!job->container.working_directory) {
                job->container.working_directory = isempty(a->relative_dir) ? strdup(root) :
                        strjoin(streq(root, "/") ? "" : root, "/", a->relative_dir);
                if (!job->container.working_directory)
                        return -ENOMEM;
        }

        r = go_case_argv(a->program, c->name, &go->case_options, &argv);
        if (r < 0)
                return r;
        return runner_job_set_command(job, argv);
}

/* Exit 0 is OK unless the case said it skipped (IGNORED); the run fails otherwise. */
static TestOutcome go_classify(void *userdata, const TestEngineCase *c, const ClientJobResult *result,
                               const char **ret_message) {
        GoCaseResult r;

        if (result->outcome != CLIENT_JOB_EXITED || result->status != 0)
                return TEST_OUTCOME_FAIL;
        if (go_case_result(result->out.data, result->out.size, c->name, &r) < 0) {
                if (!go_case_ran_nothing(result->err.data, result->err.size))
                        return TEST_OUTCOME_OK;
                *ret_message = "but the test binary ran no test of that name";
                return TEST_OUTCOME_FAIL;
        }
        switch (r) {
        case GO_CASE_SKIP:
                return TEST_OUTCOME_IGNORED;
        case GO_CASE_FAIL:
                return TEST_OUTCOME_FAIL;
        case GO_CASE_PASS:
        case _GO_CASE_RESULT_MAX:
        case _GO_CASE_RESULT_INVALID:
                break;
        }
        return TEST_OUTCOME_OK;
}

static void go_stop(void *userdata) {
        GoTest *go = userdata;

        go->stopped = true;
        if (go->list.run.pid > 0)
                (void) kill(go->list.run.pid, SIGTERM);
        for (GoArtifact *a = go->artifacts; a; a = a->next)
                if (a->child.run.pid > 0)
                        (void) kill(a->child.run.pid, SIGTERM);
        for (GoBatch *b = go->batches; b; b = b->next)
                if (b->child.run.pid > 0)
                        (void) kill(b->child.run.pid, SIGTERM);
}

static const TestAdapter go_adapter = {
        .kind = TEST_RUNNER_GO,
        .case_job = go_case_job,
        .classify = go_classify,
        .stop = go_stop,
};

static void go_maybe_finished(GoTest *go) {
        if (go->finished || go->n_children > 0 || (!go->stopped && (go->queued_batch || go->solo_first)))
                return;
        go->finished = true;
        test_engine_build_finished(go->engine, go->ok || go->stopped);
}

static int go_message(GoTest *go, const char *text) {
        if (go->stopped)
                return 0;
        return test_engine_message(go->engine, text);
}

/* The cases of a binary, as a test binary lists them (-test.list .): hand them to the engine, or with
 * ret_early, as a tentative artifact. */
static int go_artifact_add_cases(GoArtifact *a, const char *text, size_t size,
                                 TestEngineTentative **ret_early) {
        _cleanup_strv_free_ char **cases = NULL;
        _cleanup_free_ char *message = NULL;
        GoTest *go = a->go;
        int r;

        r = go_test_list_parse(text, size, &cases, &message);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                if (ret_early)
                        return 0; /* listed again after the build, where it counts */
                go->ok = false;
                _cleanup_free_ char *m = strjoin("Cannot read the test list of ", a->binary, ": ",
                                                 message ?: strerror(-r));
                return m ? go_message(go, m) : -ENOMEM;
        }
        PatternCase selectors = go_artifact_case(a);
        return runner_add_cases(go->engine, a->import_path, a->import_path, a->import_path, cases,
                                /* ignored= */ NULL, RUNNER_IGNORED_REPORT, &selectors, a, ret_early);
}

/* The listing of a binary is kept beside it ("<binary>.list": its build ID on the first line, then what it
 * listed), so that a binary that go leaves as it was is not listed again, and its cases can start before
 * go has said so (go_artifact_start_early()). */
static char *go_listing_path(const GoArtifact *a) {
        return strjoin(a->binary, ".list");
}

/* *ret: the listing kept for the binary with build ID id; NULL if there is none. */
static int go_listing_read(const GoArtifact *a, const char *id, char **ret, size_t *ret_size) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        size_t size, n = strlen(id);
        int r;

        *ret = NULL;
        path = go_listing_path(a);
        if (!path)
                return -ENOMEM;
        r = read_full_file(path, GO_TEST_LIST_SIZE_MAX + GO_BUILD_ID_MAX + 1, &text, &size);
        if (r == -ENOMEM)
                return r;
        if (r < 0 || size <= n || memcmp(text, id, n) != 0 || text[n] != '\n')
                return 0;
        memmove(text, text + n + 1, size - n - 1);
        text[size - n - 1] = 0;
        *ret = TAKE_PTR(text);
        *ret_size = size - n - 1;
        return 0;
}

static void go_listing_save(const GoArtifact *a, const char *text, size_t size) {
        _cleanup_free_ char *path = NULL, *data = NULL;
        size_t n;

        if (!a->listed_id)
                return;
        path = go_listing_path(a);
        n = strlen(a->listed_id);
        data = malloc(n + 1 + size);
        if (!path || !data)
                return;
        memcpy(data, a->listed_id, n);
        data[n] = '\n';
        memcpy(data + n + 1, text, size);
        (void) write_file_atomic(path, data, n + 1 + size, 0644);
}

static int go_list_done(GoChild *c, int status, const char *output, size_t size) {
        GoArtifact *a = c->owner;
        GoTest *go = c->go;
        _cleanup_free_ char *m = NULL;

        if (go->stopped)
                return 0;
        if (status == 0 && !c->run.cut) {
                go_listing_save(a, output, size);
                return go_artifact_add_cases(a, output, size, /* ret_early= */ NULL);
        }

        go->ok = false;
        if (c->run.cut)
                m = strjoin("The test list of ", a->binary, " is too long.");
        else if (asprintf(&m, "Listing the tests of %s failed with exit status %d.", a->binary, status) < 0)
                m = NULL;
        return m ? go_message(go, m) : -ENOMEM;
}

/* The binary is there: list its cases (or take the listing kept for it). */
static int go_artifact_start_list(GoArtifact *a) {
        char *argv[] = { a->binary, (char *) "-test.list", (char *) ".", NULL };
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        int r;

        a->listed_id = mfree(a->listed_id);
        if (go_binary_build_id(a->binary, &a->listed_id) == -ENOMEM)
                return -ENOMEM;
        if (a->listed_id) {
                r = go_listing_read(a, a->listed_id, &text, &size);
                if (r < 0)
                        return r;
                if (text)
                        return go_artifact_add_cases(a, text, size, /* ret_early= */ NULL);
        }

        r = go_child_spawn(&a->child, argv, a->dir, /* flags= */ 0, GO_TEST_LIST_SIZE_MAX, go_list_done);
        if (r < 0) {
                log_error_errno(r, "Failed to list the tests of %s: %m", a->binary);
                a->go->ok = false;
        }
        return 0;
}

/* Before its batch is built: what the binary is now, and, if its listing was kept (and the run has no
 * broker), its cases started as a tentative artifact, confirmed if go leaves the binary as it is
 * (go_batch_done()). */
static int go_artifact_start_early(GoArtifact *a) {
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        int r;

        a->build_id = mfree(a->build_id);
        if (stat(a->binary, &a->before) < 0) {
                a->before = (struct stat) {};
                return 0;
        }
        r = go_binary_build_id(a->binary, &a->build_id);
        if (r == -ENOMEM)
                return r;
        if (r < 0 || !S_ISREG(a->before.st_mode) || !a->go->early)
                return 0;
        r = go_listing_read(a, a->build_id, &text, &size);
        if (r < 0 || !text)
                return r;
        return go_artifact_add_cases(a, text, size, &a->early);
}

/* The package's own build: its binary, or go's messages about why there is none. */
static int go_solo_done(GoChild *c, int status, const char *output, size_t size) {
        GoArtifact *a = c->owner;
        GoTest *go = c->go;
        int r;

        go->n_builds--;
        if (go->stopped)
                return 0;
        if (status != 0 || c->run.cut) {
                _cleanup_free_ char *text = NULL, *m = NULL;
                go->ok = false;
                /* As go test shows it: go's messages, then the verdict. */
                text = strjoin(output ?: "", c->run.cut ? "\n(output cut off)" : "");
                if (!text)
                        return -ENOMEM;
                r = go_build_failure_message(text, a->import_path, &m);
                return r < 0 ? r : go_message(go, m);
        }
        if (size > 0) {
                r = go_message(go, output);
                if (r < 0)
                        return r;
        }
        return go_artifact_start_list(a);
}

static int go_artifact_start_build(GoArtifact *a) {
        _cleanup_strv_free_ char **argv = NULL;
        char *packages[] = { a->import_path, NULL };
        int r;

        r = go_build_argv(a->go->vet, a->binary, packages, &argv);
        if (r < 0)
                return log_oom();
        r = go_child_spawn(&a->child, argv, a->go->project_dir, PROCESS_STDERR_TO_PIPE, GO_BUILD_OUTPUT_MAX,
                           go_solo_done);
        if (r < 0)
                return log_error_errno(r, "Failed to run go test -c for %s: %m", a->import_path);
        return 0;
}

static void go_solo_queue(GoArtifact *a) {
        GoTest *go = a->go;

        a->next_solo = NULL;
        if (go->solo_last)
                go->solo_last->next_solo = a;
        else
                go->solo_first = a;
        go->solo_last = a;
}

/* Whether the binary was written (or, up to date, touched: go does that) since a->before. */
static bool go_artifact_built(const GoArtifact *a) {
        struct stat st;

        if (stat(a->binary, &st) < 0 || !S_ISREG(st.st_mode))
                return false;
        return a->before.st_ino == 0 || st.st_ino != a->before.st_ino || st.st_dev != a->before.st_dev ||
                st.st_size != a->before.st_size || st.st_mtim.tv_sec != a->before.st_mtim.tv_sec ||
                st.st_mtim.tv_nsec != a->before.st_mtim.tv_nsec;
}

/* go touches a binary that is up to date, and the client, which knows a file's digest while its size, mtime
 * and inode stay the same, would then hash it again on every run (75 MB for go-toml's 10 packages): when
 * the build ID, which ends in a hash of the content, says that the bytes are still the ones we had, put the
 * times back. */
static bool go_artifact_keep_times(const GoArtifact *a) {
        _cleanup_free_ char *id = NULL;
        struct stat st;

        if (!a->build_id || stat(a->binary, &st) < 0 || st.st_ino != a->before.st_ino ||
            st.st_dev != a->before.st_dev || st.st_size != a->before.st_size)
                return false;
        if (go_binary_build_id(a->binary, &id) < 0 || !streq(id, a->build_id))
                return false;
        struct timespec times[2] = { a->before.st_atim, a->before.st_mtim };
        (void) utimensat(AT_FDCWD, a->binary, times, /* flags= */ 0);
        return true;
}

/* A batch's go test -c ended: list what it built; build what it did not on its own, which shows why.  The
 * cases started early count if go built the package and left its binary as it was (go touches a binary
 * that is up to date, and leaves one alone whose package does not build); otherwise they are forgotten. */
static int go_batch_done(GoChild *c, int status, const char *output, size_t size) {
        GoBatch *b = c->owner;
        GoTest *go = c->go;
        int r;

        go->n_builds--;
        if (go->stopped)
                return 0;
        if (status == 0 && !c->run.cut && size > 0) {
                r = go_message(go, output);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < b->n_artifacts && !go->stopped; i++) {
                GoArtifact *a = b->artifacts[i];
                TestEngineTentative *early = TAKE_PTR(a->early);
                bool built = go_artifact_built(a), same = built && go_artifact_keep_times(a);

                if (early && same) {
                        r = test_engine_confirm(go->engine, early);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (early)
                        test_engine_revoke(go->engine, early);
                if (built) {
                        r = go_artifact_start_list(a);
                        if (r < 0)
                                return r;
                } else
                        go_solo_queue(a);
        }
        return 0;
}

static int go_batch_start(GoBatch *b) {
        _cleanup_strv_free_ char **argv = NULL, **packages = NULL;
        int r;

        for (size_t i = 0; i < b->n_artifacts; i++)
                if (strv_extend(&packages, b->artifacts[i]->import_path) < 0)
                        return log_oom();
        r = go_build_argv(b->child.go->vet, b->dir, packages, &argv);
        if (r < 0)
                return log_oom();
        r = go_child_spawn(&b->child, argv, b->child.go->project_dir, PROCESS_STDERR_TO_PIPE,
                           GO_BUILD_OUTPUT_MAX, go_batch_done);
        if (r < 0)
                return log_error_errno(r, "Failed to run go test -c: %m");
        return 0;
}

/* Starts builds, the packages' own first, until max_builds run. */
static void go_schedule(GoTest *go) {
        if (go->list_pending)
                return;
        while (!go->stopped && go->n_builds < go->max_builds) {
                if (go->solo_first) {
                        GoArtifact *a = go->solo_first;
                        go->solo_first = a->next_solo;
                        if (!go->solo_first)
                                go->solo_last = NULL;
                        if (go_artifact_start_build(a) < 0)
                                go->ok = false;
                        else
                                go->n_builds++;
                } else if (go->queued_batch) {
                        GoBatch *b = go->queued_batch;
                        go->queued_batch = b->next;
                        if (go_batch_start(b) < 0)
                                go->ok = false;
                        else
                                go->n_builds++;
                } else
                        break;
        }
}

/* Whether the package is in the module at project_dir (not a nested one), its directory known. */
static bool go_package_in_project(GoTest *go, const GoPackage *p) {
        _cleanup_free_ char *module_dir = NULL;

        if (!p->dir || !p->module_dir || !go_package_path(p) || !go_package_relative_dir(p))
                return false;
        /* go may name the directory through a symbolic link that $PWD went through. */
        module_dir = realpath(p->module_dir, NULL);
        return module_dir && streq(module_dir, go->project_dir);
}

static int go_artifact_new(GoTest *go, const GoPackage *p, GoArtifact **ret) {
        _cleanup_(go_artifact_freep) GoArtifact *a = NULL;

        a = calloc(1, sizeof(GoArtifact));
        if (!a)
                return -ENOMEM;
        a->go = go;
        go_child_init(&a->child, go, a);
        a->import_path = strdup(p->import_path);
        a->package_path = strdup(go_package_path(p));
        a->package_name = p->name ? strdup(p->name) : NULL;
        a->dir = strdup(p->dir);
        a->module_path = strdup(p->module_path);
        a->relative_dir = strdup(go_package_relative_dir(p));
        if (!a->import_path || !a->package_path || (p->name && !a->package_name) || !a->dir ||
            !a->module_path || !a->relative_dir)
                return -ENOMEM;
        *ret = TAKE_PTR(a);
        return 0;
}

/* Names the artifacts' binaries (n of them, from go->artifacts), and puts them into batches: by slot, then
 * up to GO_BUILD_BATCH_MAX at a time, in at least max_builds batches when there are enough packages; or,
 * when every binary exists, up to GO_BUILD_WARM_BATCH_MAX at a time. */
static int go_make_batches(GoTest *go, size_t n) {
        _cleanup_free_ GoArtifact **all = NULL;
        _cleanup_free_ unsigned *slots = NULL;
        _cleanup_free_ char **names = NULL; /* borrowed from the artifacts */
        GoBatch **tail = &go->batches;
        unsigned max_slot = 0;
        size_t i = 0, batch_max = GO_BUILD_WARM_BATCH_MAX, min_batches = 1;
        int r;

        all = calloc(MAX(n, (size_t) 1), sizeof(GoArtifact *));
        names = calloc(n + 1, sizeof(char *));
        slots = calloc(MAX(n, (size_t) 1), sizeof(unsigned));
        if (!all || !names || !slots)
                return -ENOMEM;
        for (GoArtifact *a = go->artifacts; a; a = a->next, i++) {
                all[i] = a;
                r = go_binary_name(a->import_path, &a->name);
                if (r < 0)
                        return r;
                names[i] = a->name;
        }
        r = go_binary_slots(names, n, slots);
        if (r < 0)
                return r;

        for (i = 0; i < n; i++) {
                GoArtifact *a = all[i];

                a->slot = slots[i];
                max_slot = MAX(max_slot, a->slot);
                if (asprintf(&a->binary, "%s/%u/%s", go->bin_dir, a->slot, a->name) < 0) {
                        a->binary = NULL;
                        return -ENOMEM;
                }
                a->program = strjoin("/", a->name);
                if (!a->program)
                        return -ENOMEM;
                struct stat st;
                if (stat(a->binary, &st) < 0 || !S_ISREG(st.st_mode)) {
                        batch_max = GO_BUILD_BATCH_MAX;
                        min_batches = go->max_builds;
                }
        }

        for (unsigned s = 0; s <= max_slot; s++) {
                _cleanup_free_ GoArtifact **in_slot = NULL;
                size_t k = 0;

                in_slot = calloc(MAX(n, (size_t) 1), sizeof(GoArtifact *));
                if (!in_slot)
                        return -ENOMEM;
                for (i = 0; i < n; i++)
                        if (all[i]->slot == s)
                                in_slot[k++] = all[i];
                if (k == 0)
                        continue;
                size_t n_batches = MAX((k + batch_max - 1) / batch_max, MIN(k, min_batches));
                size_t per_batch = (k + n_batches - 1) / n_batches;

                for (size_t first = 0; first < k; first += per_batch) {
                        GoBatch *b = calloc(1, sizeof(GoBatch));
                        if (!b)
                                return -ENOMEM;
                        go_child_init(&b->child, go, b);
                        *tail = b;
                        tail = &b->next;
                        b->n_artifacts = MIN(per_batch, k - first);
                        b->artifacts = calloc(b->n_artifacts, sizeof(GoArtifact *));
                        if (asprintf(&b->dir, "%s/%u/", go->bin_dir, s) < 0) {
                                b->dir = NULL;
                                return -ENOMEM;
                        }
                        if (!b->artifacts)
                                return -ENOMEM;
                        memcpy(b->artifacts, in_slot + first, b->n_artifacts * sizeof(GoArtifact *));
                        r = mkdir_p(b->dir, 0755);
                        if (r < 0)
                                return log_error_errno(r, "Failed to create %s: %m", b->dir);
                }
        }
        go->queued_batch = go->batches;
        return 0;
}

/* The artifacts of go list's output (and their batches, and the early start of those whose listing was
 * kept).  -EBADMSG: not go list's output (*reterr_message says why); -ENOMEM. */
static int go_use_packages(GoTest *go, const char *text, size_t size, char **reterr_message) {
        _cleanup_(go_package_list_freep) GoPackageList *packages = NULL;
        GoArtifact **tail = &go->artifacts;
        size_t n = 0;
        int r;

        r = go_list_parse(text, size, &packages, reterr_message);
        if (r < 0)
                return r == -ENOMEM ? r : -EBADMSG;
        for (size_t i = 0; i < packages->n_packages; i++) {
                const GoPackage *p = &packages->packages[i];
                GoArtifact *a;

                /* Packages without tests are not built, as go test does; but one go could not read fails
                 * to build, so that the run shows why. */
                if ((!go_package_has_tests(p) && !p->error) || !go_package_in_project(go, p))
                        continue;
                r = go_artifact_new(go, p, &a);
                if (r < 0)
                        return r;
                PatternCase pc = go_artifact_case(a);
                if (!test_engine_can_match(go->engine, &pc)) {
                        go_artifact_free(a);
                        continue;
                }
                *tail = a;
                tail = &a->next;
                n++;
        }

        r = go_make_batches(go, n);
        if (r < 0)
                return r;
        for (GoArtifact *a = go->artifacts; a; a = a->next) {
                r = go_artifact_start_early(a);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The artifacts made from a kept list that go list did not repeat: their early cases revoked, their
 * batches (none started) dropped; the artifacts are kept until the end of the run, for what the engine
 * may still hold of them. */
static void go_discard_packages(GoTest *go) {
        while (go->batches) {
                GoBatch *b = go->batches;
                go->batches = b->next;
                go_batch_free(b);
        }
        go->queued_batch = NULL;
        for (GoArtifact *a = go->artifacts; a; a = a->next)
                if (a->early)
                        test_engine_revoke(go->engine, TAKE_PTR(a->early));
        if (go->artifacts) {
                GoArtifact *last = go->artifacts;
                while (last->next)
                        last = last->next;
                last->next = go->discarded;
                go->discarded = TAKE_PTR(go->artifacts);
        }
        go->list_kept = mfree(go->list_kept);
}

static int go_packages_done(GoChild *c, int status, const char *output, size_t size) {
        GoTest *go = c->go;
        _cleanup_free_ char *message = NULL;
        int r;

        go->list_pending = false;
        if (go->stopped)
                return 0;
        if (status != 0 || c->run.cut || !output) {
                if (c->run.cut)
                        log_error("Failed to run go list: its output is too long.");
                else
                        log_error("Failed to run go list: exit status %d.", status);
                go_discard_packages(go);
                go->ok = false;
                return 0;
        }
        if (go->list_kept && strlen(go->list_kept) == size && memcmp(go->list_kept, output, size) == 0) {
                /* As the run started: go_schedule() starts the builds, once we return. */
                go->list_kept = mfree(go->list_kept);
                return 0;
        }

        go_discard_packages(go);
        if (go->early)
                (void) write_file_atomic(go->list_path, output, size, 0644);
        r = go_use_packages(go, output, size, &message);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                log_error("Cannot read the output of go list: %s", message ?: strerror(-r));
                go->ok = false;
        }
        return 0;
}

/* go list, whose answer the builds wait for.  With the local worker, the run starts at once from what go
 * list printed last time, kept in list_path: the artifacts, their batches, and the cases of the binaries
 * whose listing was kept (tentative, see go_artifact_start_early()); if go list then prints the same, the
 * builds start, and otherwise all of that is dropped (the cases revoked) and the run starts again from what
 * go list printed. */
static int go_start(void *userdata, TestEngine *e, sd_event *event) {
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_free_ char *kept = NULL;
        GoTest *go = userdata;
        size_t size = 0;
        int r;

        go->engine = e;
        go->event = event;
        go->ok = true;
        go->stopped = false;
        go->finished = false;
        go->n_builds = go->n_children = 0;
        go_child_init(&go->list, go, go);

        r = go_list_argv(&argv);
        if (r < 0)
                return log_oom();
        r = go_child_spawn(&go->list, argv, go->project_dir, /* flags= */ 0, GO_LIST_SIZE_MAX,
                           go_packages_done);
        if (r < 0) {
                log_error_errno(r, "Failed to run go list: %m");
                go->ok = false;
                go_maybe_finished(go);
                return 0;
        }
        go->list_pending = true;

        if (!go->early)
                return 0;
        r = read_full_file(go->list_path, GO_LIST_SIZE_MAX, &kept, &size);
        if (r == -ENOMEM)
                return r;
        if (r < 0 || strlen(kept) != size)
                return 0;
        r = go_use_packages(go, kept, size, /* reterr_message= */ NULL);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                go_discard_packages(go); /* not go list's: go list's answer decides */
                return 0;
        }
        go->list_kept = TAKE_PTR(kept);
        return 0;
}

static void go_finish(void *userdata) {
        GoTest *go = userdata;

        go_child_kill(&go->list);
        go->list_pending = false;
        go->list_kept = mfree(go->list_kept);
        while (go->discarded) {
                GoArtifact *a = go->discarded;
                go->discarded = a->next;
                go_artifact_free(a);
        }

        while (go->batches) {
                GoBatch *b = go->batches;
                go->batches = b->next;
                go_batch_free(b);
        }
        while (go->artifacts) {
                GoArtifact *a = go->artifacts;
                go->artifacts = a->next;
                go_artifact_free(a);
        }
        go->queued_batch = NULL;
        go->solo_first = go->solo_last = NULL;
        go->n_builds = go->n_children = 0;
        go->engine = NULL;
}

static const RunnerAdapterOps go_ops = {
        .start = go_start,
        .finish = go_finish,
};

static int run(const Config *c) {
        _cleanup_free_ char *cwd = NULL, *project_dir = NULL, *top = NULL, *state_dir = NULL,
                            *cache_dir = NULL, *bin_dir = NULL, *list_path = NULL;
        _cleanup_strv_free_ char **extra = NULL;
        int r;

        r = runner_extra_args(c, go_extra_args_check, &extra);
        if (r != EXIT_SUCCESS)
                return r;

        cwd = getcwd(NULL, 0);
        if (!cwd)
                return log_error_errno(errno, "Failed to get the current directory: %m"), EXIT_FAILURE;
        r = go_module_find(cwd, &project_dir);
        if (r == -ENOENT) {
                log_error("No go.mod in %s or any directory above it: run maelstrom-go-test inside a Go "
                          "module.", cwd);
                return EXIT_FAILURE;
        }
        if (r < 0)
                return log_error_errno(r, "Failed to look for go.mod: %m"), EXIT_FAILURE;

        top = strjoin(project_dir, "/" GO_STATE_DIR_NAME);
        state_dir = strjoin(project_dir, "/" GO_STATE_DIR_NAME "/state");
        cache_dir = strjoin(project_dir, "/" GO_STATE_DIR_NAME "/cache");
        bin_dir = strjoin(project_dir, "/" GO_STATE_DIR_NAME "/cache/bin");
        list_path = strjoin(project_dir, "/" GO_STATE_DIR_NAME "/cache/go-list.json");
        if (!top || !state_dir || !cache_dir || !bin_dir || !list_path)
                return log_oom(), EXIT_FAILURE;

        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        GoTest go = {
                .project_dir = project_dir,
                .bin_dir = bin_dir,
                .vet = config_get_string(c, "vet"),
                .case_options = {
                        .short_mode = config_get_bool(c, "short"),
                        .fullpath = config_get_bool(c, "fullpath"),
                        .extra_args = extra,
                },
                .max_builds = cpus > 0 ? (unsigned) MIN(cpus, 256L) : 1,
                .early = isempty(config_get_string(c, "broker")),
                .list_path = list_path,
        };
        char *watch_ignore[] = { top, NULL };
        RunnerOptions o = {
                .config = c,
                .project_dir = project_dir,
                .state_dir = state_dir,
                .cache_dir = cache_dir,
                .watch_ignore = watch_ignore,
                .adapter = &go_adapter,
                .ops = &go_ops,
                .userdata = &go,
        };
        return runner_run(&o);
}

int main(int argc, char **argv) {
        _cleanup_(config_freep) Config *c = NULL;
        int r;

        r = config_main_load(&go_program, argc, argv, &c);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : EXIT_SUCCESS;

        return run(c);
}
