/* SPDX-License-Identifier: MIT OR Apache-2.0 */

/* maelstrom-go-test: the Go adapter on the test runners' engine.  A run lists the module's packages with go
 * list, then for each package that has tests and that the filter can match, builds its test binary with go
 * test -c and lists the binary's cases, several packages at once on the event loop, handing each package's
 * cases to the engine as soon as they are known.  A case's container has the binary at "/", its shared
 * libraries, and the package's directory (its files and testdata/) at /go/src/<import path>, which is the
 * working directory unless the directives set one. */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "basic/fd-util.h"
#include "basic/log.h"
#include "basic/process-util.h"
#include "basic/string-util.h"
#include "config/config-main.h"
#include "config/config-values.h"
#include "runner.h"
#include "testrunner/testrunner-go.h"

/* The most a failed build may print before it is cut off (and the build killed). */
#define GO_BUILD_OUTPUT_MAX (16U << 20)
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

static const ConfigProgram go_program = {
        .name = "maelstrom-go-test",
        .dir_name = "go-test",
        .env_prefix = "MAELSTROM_GO_TEST_",
        .file_format = CONFIG_FILE_TOML,
        .positional = CONFIG_POSITIONAL_NONE,
        .usage = "[OPTIONS] [-- EXTRA-TEST-BINARY-ARGS...]",
        .description = "Build the test binaries of a Go module and run every test, example and fuzz seed corpus in "
                       "its own container.",
        .value_sets = go_value_sets,
};

typedef struct GoTest GoTest;

/* What a package's child process is doing. */
typedef enum GoStep {
        GO_STEP_QUEUED,
        GO_STEP_BUILD,  /* go test -c */
        GO_STEP_LIST,   /* <binary> -test.list . */
        GO_STEP_DONE,
} GoStep;

/* A package to build, list and run: what its cases need, and the child working for it. */
typedef struct GoArtifact {
        GoTest *go;
        char *import_path;
        char *package_path; /* the selectors */
        char *package_name; /* NULL: go could not read it */
        char *dir;          /* on this machine */
        char *module_path;
        char *relative_dir; /* of dir, in the module */
        char *binary;       /* the test binary on this machine */
        char *program;      /* "/" + its file name: where the layer puts it */

        GoStep step;
        pid_t pid;
        int fd;
        sd_event_source *source;
        TextBuf output;
        bool output_too_big;
        struct GoArtifact *next;
} GoArtifact;

struct GoTest {
        const Config *config;
        char *project_dir; /* the module root */
        char *bin_dir;     /* the test binaries */
        const char *vet;
        GoCaseOptions case_options;
        unsigned max_children;
        /* One run. */
        TestEngine *engine;
        sd_event *event;
        GoArtifact *artifacts; /* in go list's order; kept until the run is over */
        GoArtifact *queued;    /* the first one not started yet */
        unsigned n_running;
        bool ok;
        bool stopped;
        bool finished;
};

static void go_artifact_kill(GoArtifact *a) {
        a->source = sd_event_source_disable_unref(a->source);
        a->fd = safe_close(a->fd);
        if (a->pid > 0) {
                bool signaled;
                int status;
                (void) kill(a->pid, SIGTERM);
                (void) process_wait(a->pid, &status, &signaled);
                a->pid = 0;
        }
}

static GoArtifact *go_artifact_free(GoArtifact *a) {
        if (!a)
                return NULL;
        go_artifact_kill(a);
        textbuf_done(&a->output);
        free(a->import_path);
        free(a->package_path);
        free(a->package_name);
        free(a->dir);
        free(a->module_path);
        free(a->relative_dir);
        free(a->binary);
        free(a->program);
        return mfree(a);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(GoArtifact *, go_artifact_free);

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
        const GoArtifact *a = c->artifact_data;
        GoTest *go = userdata;
        int r;

        /* The binary (with its shared libraries), then the package's directory. */
        r = runner_job_add_binary(job, candidate, based_on_image, a->binary);
        if (r < 0)
                return r;
        r = go_package_layer(a->module_path, a->relative_dir, &package);
        if (r == -EINVAL)
                return asprintf(reterr_message, "cannot place package directory '%s' of module '%s' in the "
                                "container", a->relative_dir, a->module_path) < 0 ? -ENOMEM : -EINVAL;
        if (r < 0)
                return r;
        r = runner_job_take_layer(job, &package);
        if (r < 0)
                return r;

        if (!job->container.working_directory) {
                r = go_container_dir(a->module_path, a->relative_dir, &job->container.working_directory);
                if (r < 0)
                        return r;
        }

        r = go_case_argv(a->program, c->name, &go->case_options, &argv);
        if (r < 0)
                return r;
        return runner_job_set_command(job, argv);
}

/* Exit 0 is OK unless the case said it skipped (IGNORED); the run fails otherwise. */
static TestOutcome go_classify(void *userdata, const TestEngineCase *c, const ClientJobResult *result) {
        GoCaseResult r;

        if (result->outcome != CLIENT_JOB_EXITED || result->status != 0)
                return TEST_OUTCOME_FAIL;
        if (go_case_result(result->out.data, result->out.size, c->name, &r) < 0)
                return TEST_OUTCOME_OK;
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
        for (GoArtifact *a = go->artifacts; a; a = a->next)
                if (a->pid > 0)
                        (void) kill(a->pid, SIGTERM);
}

static const TestAdapter go_adapter = {
        .kind = TEST_RUNNER_GO,
        .case_job = go_case_job,
        .classify = go_classify,
        .stop = go_stop,
};

static void go_schedule(GoTest *go);

static void go_maybe_finished(GoTest *go) {
        if (go->finished || go->n_running > 0 || (go->queued && !go->stopped))
                return;
        go->finished = true;
        test_engine_build_finished(go->engine, go->ok || go->stopped);
}

static int go_message(GoTest *go, const char *text) {
        if (go->stopped)
                return 0;
        return test_engine_message(go->engine, text);
}

/* The binary was built and listed its cases: hand them to the engine. */
static int go_artifact_listed(GoArtifact *a, const char *text, size_t size) {
        _cleanup_strv_free_ char **cases = NULL;
        _cleanup_free_ char *message = NULL;
        GoTest *go = a->go;
        int r;

        r = go_test_list_parse(text, size, &cases, &message);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                go->ok = false;
                _cleanup_free_ char *m = strjoin("Cannot read the test list of ", a->binary, ": ",
                                                 message ?: strerror(-r));
                return m ? go_message(go, m) : -ENOMEM;
        }
        PatternCase selectors = go_artifact_case(a);
        return runner_add_cases(go->engine, a->import_path, a->import_path, a->import_path, cases,
                                /* ignored= */ NULL, &selectors, a);
}

static int on_child_output(sd_event_source *s, int fd, uint32_t revents, void *userdata);

/* Starts argv for a, as step, with its output on the event loop. */
static int go_artifact_spawn(GoArtifact *a, GoStep step, char *const *argv, const char *cwd,
                             ProcessSpawnFlags flags) {
        int r;

        textbuf_done(&a->output);
        a->output_too_big = false;
        r = process_spawn_pipe_full(argv, cwd, NULL, flags, &a->pid, &a->fd);
        if (r < 0)
                return r;
        (void) fd_nonblock(a->fd, true);
        r = sd_event_add_io(a->go->event, &a->source, a->fd, EPOLLIN, on_child_output, a);
        if (r < 0) {
                go_artifact_kill(a);
                return r;
        }
        a->step = step;
        return 0;
}

static int go_artifact_start_build(GoArtifact *a) {
        _cleanup_strv_free_ char **argv = NULL;
        int r;

        r = go_build_argv(a->go->vet, a->binary, a->import_path, &argv);
        if (r < 0)
                return log_oom();
        r = go_artifact_spawn(a, GO_STEP_BUILD, argv, a->go->project_dir, PROCESS_STDERR_TO_PIPE);
        if (r < 0)
                return log_error_errno(r, "Failed to run go test -c for %s: %m", a->import_path);
        return 0;
}

static int go_artifact_start_list(GoArtifact *a) {
        char *argv[] = { a->binary, (char *) "-test.list", (char *) ".", NULL };
        int r;

        r = go_artifact_spawn(a, GO_STEP_LIST, argv, a->dir, /* flags= */ 0);
        if (r < 0)
                return log_error_errno(r, "Failed to list the tests of %s: %m", a->binary);
        return 0;
}

/* The child's output ended: reap it and take the next step.  Returns < 0 only for -ENOMEM. */
static int go_artifact_step_done(GoArtifact *a) {
        GoTest *go = a->go;
        _cleanup_free_ char *text = NULL;
        bool signaled = false;
        int status = 0, r;

        a->source = sd_event_source_disable_unref(a->source);
        a->fd = safe_close(a->fd);
        if (a->pid > 0) {
                r = process_wait(a->pid, &status, &signaled);
                a->pid = 0;
                if (r < 0)
                        status = 127;
        }
        size_t size = a->output.len;
        r = textbuf_steal(&a->output, &text);
        if (r < 0)
                return r;

        GoStep step = a->step;
        a->step = GO_STEP_DONE;
        if (go->stopped)
                return 0;

        if (step == GO_STEP_BUILD) {
                /* As go test shows it: go's messages, then the verdict. */
                if (status != 0 || a->output_too_big) {
                        _cleanup_free_ char *m = NULL;
                        go->ok = false;
                        if (a->output_too_big) {
                                char *t = strjoin(text, "\n(output cut off)");
                                if (!t)
                                        return -ENOMEM;
                                free(text);
                                text = t;
                        }
                        r = go_build_failure_message(text, a->import_path, &m);
                        return r < 0 ? r : go_message(go, m);
                }
                if (size > 0) {
                        r = go_message(go, text);
                        if (r < 0)
                                return r;
                }
                if (go_artifact_start_list(a) < 0)
                        go->ok = false;
                return 0;
        }

        if (status != 0 || a->output_too_big) {
                _cleanup_free_ char *m = NULL;
                go->ok = false;
                if (a->output_too_big)
                        m = strjoin("The test list of ", a->binary, " is too long.");
                else if (asprintf(&m, "Listing the tests of %s failed with exit status %d.", a->binary,
                                  status) < 0)
                        m = NULL;
                return m ? go_message(go, m) : -ENOMEM;
        }
        return go_artifact_listed(a, text, size);
}

static int on_child_output(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        GoArtifact *a = userdata;
        GoTest *go = a->go;
        char buf[65536];
        int r;

        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && IN_SET(errno, EAGAIN, EINTR))
                return 0;
        if (n > 0) {
                size_t max = a->step == GO_STEP_BUILD ? GO_BUILD_OUTPUT_MAX : GO_TEST_LIST_SIZE_MAX;
                if (a->output.len + (size_t) n > max) {
                        if (!a->output_too_big && a->pid > 0)
                                (void) kill(a->pid, SIGTERM);
                        a->output_too_big = true;
                } else {
                        textbuf_append_len(&a->output, buf, (size_t) n);
                        if (a->output.oom)
                                return log_oom();
                }
                return 0;
        }

        r = go_artifact_step_done(a);
        if (r < 0) {
                /* Still count the package as done, so that the run ends. */
                log_oom();
                go->ok = false;
                a->step = GO_STEP_DONE;
        }
        if (a->step == GO_STEP_DONE) {
                go->n_running--;
                go_schedule(go);
        }
        go_maybe_finished(go);
        return 0;
}

/* Starts builds until max_children packages are being built or listed. */
static void go_schedule(GoTest *go) {
        while (go->queued && !go->stopped && go->n_running < go->max_children) {
                GoArtifact *a = go->queued;

                go->queued = a->next;
                if (go_artifact_start_build(a) < 0) {
                        a->step = GO_STEP_DONE;
                        go->ok = false;
                        continue;
                }
                go->n_running++;
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
        _cleanup_free_ char *name = NULL;
        int r;

        a = calloc(1, sizeof(GoArtifact));
        if (!a)
                return -ENOMEM;
        a->go = go;
        a->fd = -EBADF;
        r = go_binary_name(p->import_path, &name);
        if (r < 0)
                return r;
        a->import_path = strdup(p->import_path);
        a->package_path = strdup(go_package_path(p));
        a->package_name = p->name ? strdup(p->name) : NULL;
        a->dir = strdup(p->dir);
        a->module_path = strdup(p->module_path);
        a->relative_dir = strdup(go_package_relative_dir(p));
        a->binary = strjoin(go->bin_dir, "/", name);
        a->program = strjoin("/", name);
        if (!a->import_path || !a->package_path || (p->name && !a->package_name) || !a->dir ||
            !a->module_path || !a->relative_dir || !a->binary || !a->program)
                return -ENOMEM;
        *ret = TAKE_PTR(a);
        return 0;
}

/* go list: the packages of the module. */
static int go_list_packages(GoTest *go, GoPackageList **ret) {
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_free_ char *out = NULL, *message = NULL;
        size_t size;
        int r;

        r = go_list_argv(&argv);
        if (r < 0)
                return log_oom();
        r = runner_capture(argv, go->project_dir, GO_LIST_SIZE_MAX, "run go list", &out, &size);
        if (r < 0)
                return r;
        r = go_list_parse(out, size, ret, &message);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0) {
                log_error("Cannot read the output of go list: %s", message ?: strerror(-r));
                return r;
        }
        return 0;
}

static int go_start(void *userdata, TestEngine *e, sd_event *event) {
        _cleanup_(go_package_list_freep) GoPackageList *packages = NULL;
        GoTest *go = userdata;
        GoArtifact **tail = &go->artifacts;
        int r;

        go->engine = e;
        go->event = event;
        go->ok = true;
        go->stopped = false;
        go->finished = false;
        go->n_running = 0;

        if (go_list_packages(go, &packages) < 0) {
                go->ok = false;
                go_maybe_finished(go);
                return 0;
        }

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
                if (!test_engine_can_match(e, &pc)) {
                        go_artifact_free(a);
                        continue;
                }
                *tail = a;
                tail = &a->next;
        }
        go->queued = go->artifacts;

        if (go->artifacts) {
                r = mkdir_p(go->bin_dir, 0755);
                if (r < 0)
                        return log_error_errno(r, "Failed to create %s: %m", go->bin_dir);
        }
        go_schedule(go);
        go_maybe_finished(go);
        return 0;
}

static void go_finish(void *userdata) {
        GoTest *go = userdata;

        while (go->artifacts) {
                GoArtifact *a = go->artifacts;
                go->artifacts = a->next;
                go_artifact_free(a);
        }
        go->queued = NULL;
        go->n_running = 0;
        go->engine = NULL;
}

static const RunnerAdapterOps go_ops = {
        .start = go_start,
        .finish = go_finish,
};

static int run(const Config *c) {
        _cleanup_free_ char *cwd = NULL, *project_dir = NULL, *top = NULL, *state_dir = NULL,
                            *cache_dir = NULL, *bin_dir = NULL;
        _cleanup_strv_free_ char **extra = NULL;
        int r;

        if (config_get_string(c, "broker"))
                return config_main_not_available(&go_program, "Running tests on a broker");

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

        extra = strv_copy(config_get_list(c, "extra-test-binary-args"));
        if (!extra || strv_extend_strv(&extra, config_get_positional(c)) < 0)
                return log_oom(), EXIT_FAILURE;

        top = strjoin(project_dir, "/" GO_STATE_DIR_NAME);
        state_dir = strjoin(project_dir, "/" GO_STATE_DIR_NAME "/state");
        cache_dir = strjoin(project_dir, "/" GO_STATE_DIR_NAME "/cache");
        bin_dir = strjoin(project_dir, "/" GO_STATE_DIR_NAME "/cache/bin");
        if (!top || !state_dir || !cache_dir || !bin_dir)
                return log_oom(), EXIT_FAILURE;

        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        GoTest go = {
                .config = c,
                .project_dir = project_dir,
                .bin_dir = bin_dir,
                .vet = config_get_string(c, "vet"),
                .case_options = {
                        .short_mode = config_get_bool(c, "short"),
                        .fullpath = config_get_bool(c, "fullpath"),
                        .extra_args = extra,
                },
                .max_children = cpus > 0 ? (unsigned) MIN(cpus, 256L) : 1,
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
