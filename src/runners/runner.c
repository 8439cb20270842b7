/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "basic/fd-util.h"
#include "basic/log.h"
#include "basic/string-util.h"
#include "config/config-main.h"
#include "runner.h"
#include "testrunner/testrunner-watch.h"

/* After a change, wait this long for the rest of a burst (an editor saving, a checkout). */
#define WATCH_SETTLE_USEC (200 * USEC_PER_MSEC)

void runner_child_init(RunnerChild *c) {
        *c = (RunnerChild) { .fd = -EBADF };
}

void runner_child_kill(RunnerChild *c) {
        c->source = sd_event_source_disable_unref(c->source);
        c->fd = safe_close(c->fd);
        process_terminate(&c->pid);
        textbuf_done(&c->output);
}

static int on_runner_child_output(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        RunnerChild *c = userdata;
        char *text = NULL;
        bool signaled;
        int status = 127;
        char buf[65536];

        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && IN_SET(errno, EAGAIN, EINTR))
                return 0;
        if (n > 0) {
                if (c->cut)
                        return 0;
                size_t take = MIN((size_t) n, c->max - MIN(c->max, c->output.len));
                textbuf_append_len(&c->output, buf, take);
                if (take < (size_t) n || c->output.oom) {
                        /* Too much: stop the child; it fails when its output ends. */
                        if (c->pid > 0)
                                (void) kill(c->pid, SIGTERM);
                        c->cut = true;
                }
                return 0;
        }

        /* The end of its output: reap it and take the next step. */
        c->source = sd_event_source_disable_unref(c->source);
        c->fd = safe_close(c->fd);
        if (c->pid > 0) {
                if (process_wait(c->pid, &status, &signaled) < 0)
                        status = 127;
                c->pid = 0;
        }
        size_t size = c->output.len;
        if (textbuf_steal(&c->output, &text) < 0)
                c->cut = true;
        c->done(c, status, text, size);
        return 0;
}

int runner_child_spawn(RunnerChild *c, sd_event *event, char *const *argv, const char *cwd, char *const *env,
                       ProcessSpawnFlags flags, size_t max, RunnerChildDone done) {
        int r;

        textbuf_done(&c->output);
        c->cut = false;
        c->max = max;
        c->done = done;
        r = process_spawn_pipe_full(argv, cwd, env, flags, &c->pid, &c->fd);
        if (r < 0)
                return r;
        (void) fd_nonblock(c->fd, true);
        r = sd_event_add_io(event, &c->source, c->fd, EPOLLIN, on_runner_child_output, c);
        if (r < 0) {
                runner_child_kill(c);
                return r;
        }
        return 0;
}

bool runner_job_hides(const JobSpec *job, const char *path) {
        const ContainerSpec *c = &job->container;

        if (c->parent || path_is_under(path, "/tmp"))
                return true;
        for (size_t i = 0; i < c->n_mounts + c->n_added_mounts; i++) {
                const JobMount *m = i < c->n_mounts ? &c->mounts[i] : &c->added_mounts[i - c->n_mounts];
                if (m->mount_point && path_is_under(path, m->mount_point))
                        return true;
        }
        return false;
}

int runner_job_take_layer(JobSpec *job, LayerSpec *l, bool first) {
        size_t n = job->container.n_added_layers;
        LayerSpec *layers;

        layers = reallocarray(job->container.added_layers, n + 1, sizeof(LayerSpec));
        if (!layers)
                return -ENOMEM;
        job->container.added_layers = layers;
        if (first)
                memmove(layers + 1, layers, n * sizeof(LayerSpec));
        layers[first ? 0 : n] = *l;
        job->container.n_added_layers = n + 1;
        *l = (LayerSpec) {};
        return 0;
}

/* Appends a layer of kind with path as its only path (strip_prefix may be NULL). */
int runner_job_add_path_layer(JobSpec *job, LayerKind kind, const char *path, const char *strip_prefix) {
        _cleanup_(layer_spec_done) LayerSpec l = { .kind = kind };

        if (strv_extend(&l.paths, path) < 0 ||
            (strip_prefix && !(l.prefix.strip_prefix = strdup(strip_prefix))))
                return -ENOMEM;
        return runner_job_take_layer(job, &l, /* first= */ false);
}

bool runner_includes_shared_libraries(const TestCandidate *candidate, bool based_on_image) {
        /* The default: include them, unless the container is based on an image. */
        if (candidate->include_shared_libraries_set)
                return candidate->include_shared_libraries;
        return !based_on_image;
}

int runner_job_add_environment(JobSpec *job, char *const *vars, bool first) {
        _cleanup_(environment_spec_done) EnvironmentSpec e = { .extend = true };
        size_t n = job->container.n_added_environment;
        EnvironmentSpec *l;

        STRV_FOREACH(v, vars) {
                _cleanup_(textbuf_done) TextBuf b = {};
                char *var = NULL;

                for (const char *c = *v; *c; c++) {
                        if (*c == '$')
                                textbuf_append_char(&b, '$');
                        textbuf_append_char(&b, *c);
                }
                if (textbuf_steal(&b, &var) < 0 || strv_consume(&e.vars, var) < 0)
                        return -ENOMEM;
        }
        if (!e.vars)
                return 0;
        l = reallocarray(job->container.added_environment, n + 1, sizeof(EnvironmentSpec));
        if (!l)
                return -ENOMEM;
        job->container.added_environment = l;
        if (first)
                memmove(l + 1, l, n * sizeof(EnvironmentSpec));
        l[first ? 0 : n] = e;
        job->container.n_added_environment = n + 1;
        e = (EnvironmentSpec) {};
        return 0;
}

int runner_job_add_binary(JobSpec *job, const TestCandidate *candidate, bool based_on_image,
                          const char *executable, const char *library_path) {
        _cleanup_free_ char *dir = NULL;
        const char *slash = strrchr(executable, '/');
        int r;

        if (!slash || slash == executable)
                return -EINVAL;
        dir = strndup(executable, slash - executable);
        if (!dir)
                return -ENOMEM;
        if (runner_includes_shared_libraries(candidate, based_on_image)) {
                _cleanup_(layer_spec_done) LayerSpec l = { .kind = LAYER_SHARED_LIBRARY_DEPENDENCIES };

                if (strv_extend(&l.paths, executable) < 0 ||
                    (library_path && !(l.library_path = strdup(library_path))))
                        return -ENOMEM;
                r = runner_job_take_layer(job, &l, /* first= */ false);
                if (r < 0)
                        return r;
        }
        return runner_job_add_path_layer(job, LAYER_PATHS, executable, dir);
}

int runner_job_set_command(JobSpec *job, char *const *argv) {
        _cleanup_free_ char *program = NULL;
        char **arguments;

        if (strv_isempty(argv))
                return -EINVAL;
        program = strdup(argv[0]);
        arguments = strv_copy(argv + 1);
        if (!program || !arguments) {
                strv_free(arguments);
                return -ENOMEM;
        }
        free(job->program);
        job->program = TAKE_PTR(program);
        strv_free(job->arguments);
        job->arguments = arguments;
        return 0;
}

int runner_add_cases(TestEngine *e, const char *listing_package, const char *package, const char *artifact,
                     char *const *names, char *const *ignored, RunnerIgnored mode,
                     const PatternCase *selectors, void *artifact_data,
                     TestEngineTentative **ret_tentative) {
        _cleanup_free_ TestEngineCase *cases = NULL;
        size_t n = strv_length(names);

        cases = calloc(MAX(n, (size_t) 1), sizeof(TestEngineCase));
        if (!cases)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                bool is_ignored = strv_contains(ignored, names[i]);
                cases[i] = (TestEngineCase) {
                        .package = package,
                        .artifact = artifact,
                        .name = names[i],
                        .selectors = *selectors,
                        .ignored = is_ignored && mode == RUNNER_IGNORED_REPORT,
                        .left_out = !is_ignored && mode == RUNNER_IGNORED_ONLY,
                        .artifact_data = artifact_data,
                };
                cases[i].selectors.name = names[i];
        }
        if (ret_tentative)
                return test_engine_add_artifact_tentative(e, listing_package, artifact, cases, n,
                                                          ret_tentative);
        return test_engine_add_artifact(e, listing_package, artifact, cases, n);
}

int runner_make_filter(const Config *c, TestRunnerKind kind, Pattern **ret) {
        char *const *include = config_get_list(c, "include"),
                    *const *exclude = config_get_list(c, "exclude");
        PatternError error = {};
        int r;

        r = pattern_filter_new(test_runner_kind_syntax(kind), include, exclude, ret, &error);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0) {
                bool is_include = strv_contains(include, error.pattern);
                log_error("Invalid --%s pattern '%s': %s", is_include ? "include" : "exclude",
                          strna(error.pattern), error.message);
                return -EINVAL;
        }
        return 0;
}

int runner_init(TestRunnerKind kind, const char *project_dir) {
        _cleanup_free_ char *text = NULL, *path = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        path = strjoin(project_dir, "/", test_runner_spec_file_name(kind));
        if (!path)
                return log_oom(), EXIT_FAILURE;
        r = test_spec_file_default_text(kind, /* pytest_image= */ NULL, &text);
        if (r < 0)
                return log_oom(), EXIT_FAILURE;

        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0) {
                if (errno == EEXIST)
                        log_error("%s exists already; --init does not overwrite it.", path);
                else
                        log_error_errno(errno, "Failed to create %s: %m", path);
                return EXIT_FAILURE;
        }
        r = loop_write(fd, text, strlen(text));
        if (r < 0) {
                log_error_errno(r, "Failed to write %s: %m", path);
                (void) unlink(path);
                return EXIT_FAILURE;
        }
        printf("Wrote %s\n", path);
        return EXIT_SUCCESS;
}

int runner_extra_args(const Config *c, int (*check)(char *const *args, char **reterr_message),
                      char ***ret) {
        _cleanup_strv_free_ char **extra = strv_copy(config_get_list(c, "extra-test-binary-args"));
        _cleanup_free_ char *message = NULL;

        if (!extra || strv_extend_strv(&extra, config_get_positional(c)) < 0)
                return log_oom(), EXIT_FAILURE;
        int r = check(extra, &message);
        if (r == -ENOMEM)
                return log_oom(), EXIT_FAILURE;
        if (r < 0) {
                log_error("%s", message ?: strerror(-r));
                return EXIT_USAGE;
        }
        *ret = TAKE_PTR(extra);
        return EXIT_SUCCESS;
}

int runner_spec_file_load(TestRunnerKind kind, const char *path, TestSpecFile **ret, char **reterr_message) {
        _cleanup_(test_spec_file_freep) TestSpecFile *f = NULL;
        TestSpecError error = {};
        int r;

        *reterr_message = NULL;
        r = test_spec_file_load(kind, path, &f, &error);
        if (r < 0 && !IN_SET(r, -ENOENT, -ENOMEM) && test_spec_error_format(&error, reterr_message) < 0)
                return -ENOMEM;
        if (r < 0)
                return r;
        /* A bad filter is as wrong as a bad key. */
        r = test_spec_file_check_filters(f, path, reterr_message);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(f);
        return 0;
}

static int runner_load_spec(TestRunnerKind kind, const char *project_dir, TestSpecFile **ret,
                            char **ret_name) {
        _cleanup_free_ char *path = NULL, *message = NULL;
        int r;

        path = strjoin(project_dir, "/", test_runner_spec_file_name(kind));
        if (!path)
                return log_oom();
        r = runner_spec_file_load(kind, path, ret, &message);
        if (r == -ENOENT) {
                r = test_spec_file_default(kind, /* pytest_image= */ NULL, ret);
                if (r < 0)
                        return log_error_errno(r, "Failed to load the default spec file: %m");
                *ret_name = strdup("(built-in default spec)");
                return *ret_name ? 0 : log_oom();
        }
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0) {
                log_error("%s", message);
                return r;
        }
        *ret_name = TAKE_PTR(path);
        return 0;
}

typedef struct Runner {
        const RunnerOptions *o;
        sd_event *event;
        TestEngine *engine;
        TestUi *ui;
        TestWatch *watch;
        sd_event_source *watch_source, *settle_source;
        bool interrupted;
        bool changed;
} Runner;

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Runner *r = userdata;

        r->interrupted = true;
        if (r->engine && !test_engine_is_done(r->engine))
                test_engine_cancel(r->engine);
        return 0;
}

static int on_winch(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Runner *r = userdata;
        struct winsize ws = {};

        if (r->ui && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) >= 0)
                test_ui_set_size(r->ui, ws.ws_col, ws.ws_row);
        return 0;
}

static int on_settled(sd_event_source *s, uint64_t usec, void *userdata) {
        Runner *r = userdata;
        r->changed = true;
        return 0;
}

static int on_watch(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Runner *r = userdata;
        int k = test_watch_process(r->watch);

        if (k < 0) {
                log_error_errno(k, "Failed to watch %s: %m", r->o->project_dir);
                r->interrupted = true;
                return 0;
        }
        if (k == 0)
                return 0;
        /* Restart the settling time on every change. */
        if (r->settle_source)
                return sd_event_source_set_time_relative(r->settle_source, WATCH_SETTLE_USEC);
        return sd_event_add_time_relative(r->event, &r->settle_source, CLOCK_MONOTONIC, WATCH_SETTLE_USEC,
                                          /* accuracy= */ 0, on_settled, r);
}

/* After a run with --watch: returns 1 when something changed, 0 when interrupted. */
static int runner_wait_for_change(Runner *r) {
        int k;

        k = test_watch_new(r->o->project_dir, r->o->watch_ignore, &r->watch);
        if (k < 0)
                return log_error_errno(k, "Failed to watch %s: %m", r->o->project_dir);
        k = sd_event_add_io(r->event, &r->watch_source, test_watch_fd(r->watch), EPOLLIN, on_watch, r);
        if (k < 0)
                return log_error_errno(k, "Failed to watch %s: %m", r->o->project_dir);

        printf("Watching %s for changes (Ctrl-C to stop).\n", r->o->project_dir);
        fflush(stdout);
        r->changed = false;
        do
                k = sd_event_run(r->event, UINT64_MAX);
        while (k >= 0 && !r->changed && !r->interrupted);
        r->watch_source = sd_event_source_disable_unref(r->watch_source);
        r->settle_source = sd_event_source_disable_unref(r->settle_source);
        r->watch = test_watch_free(r->watch);
        if (k < 0)
                return log_error_errno(k, "Event loop failed: %m");
        return r->changed && !r->interrupted;
}

static int runner_make_ui(const Config *c, TestUi **ret) {
        struct winsize ws = {};
        bool tty = isatty(STDOUT_FILENO);
        TestUiKind kind;

        if (test_ui_kind_resolve(config_get_string(c, "ui"), config_get_bool(c, "quiet"), tty, &kind) < 0) {
                log_error("Invalid ui '%s': expected auto, simple, quiet or fancy.",
                          config_get_string(c, "ui"));
                return -EINVAL;
        }
        if (tty)
                (void) ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws);
        TestUiOptions uo = {
                .kind = kind,
                .fd = STDOUT_FILENO,
                .is_terminal = tty,
                .columns = ws.ws_col,
                .rows = ws.ws_row,
        };
        int k = test_ui_new(&uo, ret);
        return k < 0 ? log_oom() : 0;
}

/* A size the way the values take it: MB below a GB (powers of 1000). */
static const char *format_size(uint64_t bytes, char buf[static 32]) {
        if (bytes < 1000000000)
                snprintf(buf, 32, "%" PRIu64 " MB", (bytes + 999999) / 1000000);
        else
                snprintf(buf, 32, "%.1f GB", (double) bytes / 1e9);
        return buf;
}

/* A run whose files do not fit in the local worker's cache has it evict files that later cases need again,
 * and copy them again (a Go module of 764 packages: 88 s against 44 s with a cache that holds them).  Say
 * so, with a size that would do. */
static void runner_note_cache_size(const Config *c, const Client *client) {
        uint64_t need = client_local_blob_bytes(client), size = config_get_number(c, "cache-size");
        char a[32], b[32];

        if (!isempty(config_get_string(c, "broker")) || need <= size)
                return;
        /* In whole GB, with a quarter more for what the layers add. */
        uint64_t suggest = (need + need / 4 + 999999999) / 1000000000;
        log_warning("This run's files (%s) do not fit in the local worker's cache (cache-size: %s): it "
                    "evicts files that later cases need, and copies them again.  A larger cache keeps them: "
                    "e.g. --cache-size \"%" PRIu64 " GB\" (or cache-size in the configuration file).",
                    format_size(need, a), format_size(size, b), suggest);
}

/* One run: returns its exit status, or < 0 when it could not run. */
static int runner_run_once(Runner *r, Client *client, const Pattern *filter, const TestSpecFile *spec,
                           const char *spec_name, TestListing *listing) {
        const Config *c = r->o->config;
        _cleanup_(test_event_writer_freep) TestEventWriter *events = NULL;
        _cleanup_(test_engine_freep) TestEngine *engine = NULL;
        _cleanup_(test_ui_freep) TestUi *ui = NULL;
        _cleanup_free_ char *message = NULL;
        bool list = config_get_bool(c, "list-tests");
        const char *path;
        int k, status;

        if (!list) {
                k = runner_make_ui(c, &ui);
                if (k < 0)
                        return k;
                path = config_get_string(c, "json-events");
                if (path) {
                        k = test_event_writer_open(path, &events);
                        if (k < 0)
                                return log_error_errno(k, "Failed to open --json-events file %s: %m", path);
                }
        }

        extern char **environ;
        TestEngineOptions eo = {
                .event = r->event,
                .adapter = r->o->adapter,
                .adapter_data = r->o->userdata,
                .filter = filter,
                .spec = spec,
                .client_environment = environ,
                .listing = listing,
                .client = client,
                .ui = ui,
                .events = events,
                .list = list,
                .list_fd = STDOUT_FILENO,
                .repeat = (unsigned) MIN(config_get_number(c, "repeat"), (uint64_t) 1000000),
                .stop_after = config_get_number(c, "stop-after"),
                .timeout_set = config_is_set(c, "timeout"),
                .timeout = config_get_number(c, "timeout") * USEC_PER_SEC,
        };
        k = test_engine_new(&eo, spec_name, &engine, &message);
        if (k < 0) {
                if (message)
                        log_error("%s", message);
                else
                        log_error_errno(k, "Failed to start the run: %m");
                return k;
        }
        r->engine = engine;
        r->ui = ui;

        k = r->o->ops->start(r->o->userdata, engine, r->event);
        if (k < 0) {
                log_error_errno(k, "Failed to start building: %m");
                test_engine_cancel(engine);
        }
        while (!test_engine_is_done(engine) && !r->interrupted) {
                k = sd_event_run(r->event, UINT64_MAX);
                if (k < 0) {
                        log_error_errno(k, "Event loop failed: %m");
                        test_engine_cancel(engine);
                        break;
                }
        }
        r->o->ops->finish(r->o->userdata);
        status = test_engine_exit_status(engine);
        r->engine = NULL;
        r->ui = NULL;

        if (list)
                return status;
        runner_note_cache_size(c, client);

        path = config_get_string(c, "junit");
        if (path) {
                k = test_report_write_junit(test_engine_report(engine),
                                            r->o->adapter->kind == TEST_RUNNER_CARGO ? "cargo-maelstrom"
                                                                                     : "maelstrom",
                                            path);
                if (k < 0) {
                        log_error_errno(k, "Failed to write the JUnit report %s: %m", path);
                        status = EXIT_FAILURE;
                }
        }
        return status;
}

static int runner_client_new(const RunnerOptions *o, sd_event *event, Client **ret) {
        const Config *c = o->config;
        _cleanup_free_ char *message = NULL;
        ClientOptions co = {
                .project_dir = o->project_dir,
                .cache_dir = o->cache_dir,
                .slots = (unsigned) config_get_number(c, "slots"),
                .cache_size = config_get_number(c, "cache-size"),
                .inline_limit = config_get_number(c, "inline-limit"),
                .log_level = config_get_string(c, "log-level"),
                .template_vars = o->template_vars,
                .broker = config_get_string(c, "broker"),
        };
        int k = client_new(event, &co, ret, &message);
        if (k == -EINTR) /* Ctrl-C while it waited for the lock */
                return k;
        if (k < 0) {
                if (message)
                        log_error("%s", message);
                else
                        log_error_errno(k, "Failed to start the local worker: %m");
        }
        return k;
}

int runner_run(const RunnerOptions *o) {
        const Config *c = o->config;
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(client_freep) Client *client = NULL;
        _cleanup_(pattern_freep) Pattern *filter = NULL;
        _cleanup_(test_spec_file_freep) TestSpecFile *spec = NULL;
        _cleanup_(test_listing_freep) TestListing *listing = NULL;
        _cleanup_free_ char *spec_name = NULL, *listing_path = NULL;
        TestRunnerKind kind = o->adapter->kind;
        bool list = config_get_bool(c, "list-tests");
        Runner r = { .o = o };
        int k, problem = 0;

        if (config_get_bool(c, "init"))
                return runner_init(kind, o->project_dir);

        if (runner_make_filter(c, kind, &filter) < 0)
                return EXIT_USAGE;
        if (runner_load_spec(kind, o->project_dir, &spec, &spec_name) < 0)
                return EXIT_USAGE;

        listing_path = strjoin(o->state_dir, "/test-listing.toml");
        if (!listing_path)
                return log_oom(), EXIT_FAILURE;

        k = sd_event_default(&event);
        if (k < 0)
                return log_error_errno(k, "Failed to allocate the event loop: %m"), EXIT_FAILURE;
        r.event = event;

        if (!list) {
                if (runner_client_new(o, event, &client) < 0)
                        return EXIT_FAILURE;
        } else {
                sigset_t mask;
                sigemptyset(&mask);
                sigaddset(&mask, SIGINT);
                sigaddset(&mask, SIGTERM);
                sigprocmask(SIG_BLOCK, &mask, NULL);
        }
        sigset_t winch;
        sigemptyset(&winch);
        sigaddset(&winch, SIGWINCH);
        sigprocmask(SIG_BLOCK, &winch, NULL);
        k = sd_event_add_signal(event, NULL, SIGINT, on_signal, &r);
        if (k >= 0)
                k = sd_event_add_signal(event, NULL, SIGTERM, on_signal, &r);
        if (k >= 0)
                k = sd_event_add_signal(event, NULL, SIGWINCH, on_winch, &r);
        if (k < 0)
                return log_error_errno(k, "Failed to watch signals: %m"), EXIT_FAILURE;

        for (int status = EXIT_SUCCESS;;) {
                /* Each run of a --watch session after the first has a client, and a local worker, of its own
                 * (see below); interrupted while it waits for the lock, the run before's status stands. */
                if (!list && !client) {
                        k = runner_client_new(o, event, &client);
                        if (k < 0)
                                return k == -EINTR ? status : EXIT_FAILURE;
                }
                listing = test_listing_free(listing);
                k = test_listing_load(listing_path, &listing, &problem);
                if (k < 0)
                        return log_oom(), EXIT_FAILURE;
                if (k > 0)
                        log_warning_errno(problem, "Ignoring the test listing %s: %m", listing_path);

                status = runner_run_once(&r, client, filter, spec, spec_name, listing);
                if (status < 0)
                        return EXIT_FAILURE;
                if (!list) {
                        k = test_listing_save(listing, listing_path);
                        if (k < 0)
                                log_warning_errno(k, "Failed to save the test listing %s: %m", listing_path);
                }
                if (!config_get_bool(c, "watch") || r.interrupted)
                        return r.interrupted ? EXIT_FAILURE : status;
                /* While it waits for a change, a --watch session holds neither the cache's lock nor a local
                 * worker: another run in the project goes ahead meanwhile (as cargo holds its lock only while
                 * it builds), and whatever ended a worker (a crash, the OOM killer) does not outlive a run.
                 * A new worker costs a few tens of milliseconds. */
                client = client_free(client);
                /* The spec file may be what changed: read it again before the next run, and while it is
                 * wrong, say why and wait for the next change. */
                for (;;) {
                        _cleanup_(test_spec_file_freep) TestSpecFile *new_spec = NULL;
                        _cleanup_free_ char *new_name = NULL;

                        k = runner_wait_for_change(&r);
                        if (k <= 0)
                                return k < 0 ? EXIT_FAILURE : status;
                        if (runner_load_spec(kind, o->project_dir, &new_spec, &new_name) < 0) {
                                status = EXIT_USAGE;
                                continue;
                        }
                        test_spec_file_free(spec);
                        spec = TAKE_PTR(new_spec);
                        free(spec_name);
                        spec_name = TAKE_PTR(new_name);
                        break;
                }
        }
}
