/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <systemd/sd-event.h>

#include "basic/fd-util.h"
#include "basic/log.h"
#include "basic/string-util.h"
#include "client/client.h"
#include "config/config-main.h"
#include "config/config-values.h"
#include "run-tty.h"
#include "spec/spec-json.h"
#include "spec/spec.h"

static int default_cache_root(char **ret) {
        return config_xdg_cache_path("/maelstrom/run", ret);
}

static const ConfigValueDef run_values[] = {
        {
                .name = "file",
                .type = CONFIG_VALUE_STRING,
                .short_opt = 'f',
                .metavar = "PATH",
                .default_doc = "standard input",
                .help = "Read the job specifications from this file instead of standard input",
                .flags = CONFIG_CLI_ONLY,
        },
        {
                .name = "one",
                .type = CONFIG_VALUE_BOOL,
                .short_opt = '1',
                .default_value = "false",
                .help = "Run exactly one job and exit the way it did; extra arguments replace program and "
                        "arguments",
                .flags = CONFIG_CLI_ONLY,
        },
        {
                .name = "tty",
                .type = CONFIG_VALUE_BOOL,
                .short_opt = 't',
                .default_value = "false",
                .help = "Like --one, with the job on a pseudo-terminal wired to this terminal",
                .flags = CONFIG_CLI_ONLY,
        },
        {
                .name = "cache-root",
                .type = CONFIG_VALUE_STRING,
                .metavar = "PATH",
                .default_fn = default_cache_root,
                .default_doc = "$XDG_CACHE_HOME/maelstrom/run",
                .help = "Directory of the client's cache and of its local worker's cache",
        },
        {
                .name = "escape-char",
                .type = CONFIG_VALUE_STRING,
                .metavar = "CHAR",
                .default_value = "^]",
                .help = "With --tty, this character followed by '.' detaches from the job",
        },
        {},
};

static const ConfigValueDef *const run_value_sets[] = {
        CONFIG_VALUE_SETS_CLIENT,
        run_values,
        NULL,
};

static const ConfigProgram run_program = {
        .name = "maelstrom-run",
        .dir_name = "run",
        .env_prefix = "MAELSTROM_RUN_",
        .file_format = CONFIG_FILE_TOML,
        .positional = CONFIG_POSITIONAL_STOP,
        .usage = "[OPTIONS] [[--] PROGRAM [ARGUMENT...]]",
        .description = "Run jobs, read as a stream of JSON job specifications from standard input or "
                       "--file, each in its own container,\non the broker's cluster or on a transient local "
                       "worker.",
        .value_sets = run_value_sets,
};

typedef struct Run Run;

typedef struct RunJob {
        Run *run;
        unsigned number; /* position in the stream, from 1 */
} RunJob;

struct Run {
        sd_event *event;
        Client *client;
        JobSpecReader *reader;
        sd_event_source *input_source;
        int input_fd;
        bool input_done;
        unsigned outstanding;
        unsigned jobs_seen;
        bool failed;
        bool one;
        bool tty;              /* --tty (implies one) */
        RunTty tty_state;
        ClientJob *tty_job;    /* --tty: submitted, forwarding starts once our input is read */
        RunJob *tty_job_data;
        char *const *override; /* --one: replaces program and arguments */
        int one_exit;          /* --one: exit code, or -signal */
};

/* Something failed: the run exits 1, and --one exits with one_exit (an exit code, or -signal). */
static void run_fail(Run *r, int one_exit) {
        r->failed = true;
        r->one_exit = one_exit;
}

static void run_maybe_finish(Run *r) {
        if (r->input_done && r->outstanding == 0)
                (void) sd_event_exit(r->event, 0);
}

static void write_all(int fd, const void *data, size_t size) {
        int r = loop_write(fd, data, size);
        if (r < 0 && r != -EPIPE)
                log_warning_errno(r, "Failed to write job output: %m");
}

static void on_result(ClientJob *cj, const ClientJobResult *res, void *userdata) {
        RunJob *j = userdata;
        Run *r = j->run;

        if (r->tty)
                run_tty_stop(&r->tty_state);

        /* Each job's output whole, when it completes. */
        write_all(STDOUT_FILENO, res->out.data, res->out.size);
        write_all(STDERR_FILENO, res->err.data, res->err.size);

        switch (res->outcome) {
        case CLIENT_JOB_EXITED:
                if (res->status != 0) {
                        fprintf(stderr, "job %u: exited with code %d\n", j->number, res->status);
                        run_fail(r, res->status);
                }
                break;
        case CLIENT_JOB_SIGNALED:
                fprintf(stderr, "job %u: killed by signal %d\n", j->number, res->status);
                run_fail(r, -res->status);
                break;
        case CLIENT_JOB_TIMED_OUT:
                fprintf(stderr, "job %u: timed out\n", j->number);
                run_fail(r, 1);
                break;
        case CLIENT_JOB_ERROR:
        case _CLIENT_JOB_OUTCOME_MAX:
        case _CLIENT_JOB_OUTCOME_INVALID:
                fprintf(stderr, "job %u: execution error: %s\n", j->number, strna(res->error));
                run_fail(r, 1);
                break;
        }
        /* Reported, but not a failure: the run's status is the jobs' exit statuses (spec 03). */
        if (res->out.truncated > 0)
                fprintf(stderr, "job %u: stdout truncated, %" PRIu64 " bytes lost\n", j->number,
                        res->out.truncated);
        if (res->err.truncated > 0)
                fprintf(stderr, "job %u: stderr truncated, %" PRIu64 " bytes lost\n", j->number,
                        res->err.truncated);
        fflush(stderr);

        free(j);
        r->outstanding--;
        run_maybe_finish(r);
}

static void on_tty_output(ClientJob *cj, const void *data, size_t size, void *userdata) {
        run_tty_output(data, size);
}

static void job_error(Run *r, unsigned number, const char *message) {
        fprintf(stderr, "job %u: %s\n", number, message);
        fflush(stderr);
        run_fail(r, 1);
}

static int run_submit(Run *r, unsigned number, JobSpec *spec) {
        _cleanup_(resolved_job_freep) ResolvedJob *job = NULL;
        _cleanup_free_ char *message = NULL;
        SpecError error = {};
        extern char **environ;
        int k;

        if (r->one && !strv_isempty(r->override)) {
                char *program = strdup(r->override[0]);
                char **args = strv_copy(r->override + 1);
                if (!program || !args) {
                        free(program);
                        strv_free(args);
                        return log_oom();
                }
                free(spec->program);
                spec->program = program;
                strv_free(spec->arguments);
                spec->arguments = args;
        }

        k = job_spec_collapse(spec, /* lookup= */ NULL, /* userdata= */ NULL, /* image= */ NULL, environ,
                              &job, &error);
        if (k == -ENOMEM)
                return log_oom();
        if (k < 0) {
                error.job = number;
                if (spec_error_format(&error, &message) < 0)
                        return log_oom();
                /* spec_error_format() names the job already. */
                fprintf(stderr, "%s\n", message);
                run_fail(r, 1);
                return 0;
        }

        if (r->tty) {
                job->allocate_tty = true;
                run_tty_size(&job->tty.rows, &job->tty.columns);
        }

        RunJob *j = calloc(1, sizeof(RunJob));
        if (!j)
                return log_oom();
        j->run = r;
        j->number = number;
        static const ClientJobHandlers handlers = { .result = on_result, .tty_output = on_tty_output };
        ClientJob *cj = NULL;
        k = client_submit(r->client, job, &handlers, j, &cj, &message);
        if (k < 0) {
                free(j);
                if (k == -ENOMEM)
                        return log_oom();
                job_error(r, number, message ?: strerror(-k));
                return 0;
        }
        r->outstanding++;
        if (r->tty) {
                r->tty_job = cj;
                r->tty_job_data = j;
        }
        return 0;
}

static int on_job_spec(JobSpecReader *reader, unsigned number, JobSpec *spec, const SpecError *error,
                       void *userdata) {
        _cleanup_(job_spec_freep) JobSpec *owned = spec;
        Run *r = userdata;

        r->jobs_seen = number;
        if (r->one && number > 1) {
                log_error("--one runs exactly one job, but the input has more.");
                run_fail(r, 1);
                return -E2BIG;
        }
        if (error) {
                _cleanup_free_ char *message = NULL;
                if (spec_error_format(error, &message) < 0)
                        return log_oom();
                fprintf(stderr, "%s\n", message);
                run_fail(r, 1);
                return 0;
        }
        return run_submit(r, number, owned);
}

static void run_input_error(Run *r, int k, const SpecError *error) {
        _cleanup_free_ char *message = NULL;

        if (error && error->message[0] && spec_error_format(error, &message) >= 0)
                log_error("%s", message);
        else if (k != -E2BIG)
                log_error_errno(k, "Failed to read the job specifications: %m");
        run_fail(r, 1);
}

static void run_input_end(Run *r) {
        SpecError error = {};
        int k;

        r->input_source = sd_event_source_disable_unref(r->input_source);
        if (!r->input_done) {
                k = job_spec_reader_finish(r->reader, &error);
                if (k < 0)
                        run_input_error(r, k, &error);
                if (r->one && r->jobs_seen == 0 && !r->failed) {
                        log_error("--one needs one job specification on the input, and got none.");
                        run_fail(r, 1);
                }
        }
        r->input_done = true;
        /* The input may share its file description with our stdout and the user's shell: leave it
         * blocking. */
        if (r->input_fd >= 0)
                (void) fd_nonblock(r->input_fd, false);
        r->input_fd = safe_close(r->input_fd);
        if (r->tty && r->tty_job && r->outstanding > 0) {
                /* Our terminal is free now that the job specification is read: wire it to the job's. */
                k = run_tty_start(&r->tty_state, r->event, r->tty_job);
                if (k < 0)
                        log_warning_errno(k, "Failed to forward the terminal, ignoring: %m");
        }
        run_maybe_finish(r);
}

/* Returns true when the input ended (EOF or an error that stops reading). */
static bool run_read_some(Run *r) {
        char buf[65536];
        SpecError error = {};

        ssize_t n = read(r->input_fd, buf, sizeof buf);
        if (n < 0) {
                if (errno == EAGAIN || errno == EINTR)
                        return false;
                log_error_errno(errno, "Failed to read the job specifications: %m");
                run_fail(r, 1);
                return true;
        }
        if (n == 0)
                return true;
        int k = job_spec_reader_feed(r->reader, buf, (size_t) n, &error);
        if (k < 0) {
                run_input_error(r, k, &error);
                r->input_done = true;
                return true;
        }
        return false;
}

static int on_input(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Run *r = userdata;
        if (run_read_some(r))
                run_input_end(r);
        return 0;
}

/* A regular file (or /dev/null) cannot be polled: read it whole from a deferred event. */
static int on_input_defer(sd_event_source *s, void *userdata) {
        Run *r = userdata;
        while (!run_read_some(r))
                ;
        run_input_end(r);
        return 0;
}

static int run(const Config *c) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(client_freep) Client *client = NULL;
        _cleanup_(job_spec_reader_freep) JobSpecReader *reader = NULL;
        _cleanup_free_ char *message = NULL, *cwd = NULL;
        Run r = { .input_fd = -EBADF };
        int k;

        r.tty = config_get_bool(c, "tty");
        r.one = config_get_bool(c, "one") || r.tty;
        k = run_tty_parse_escape(config_get_string(c, "escape-char"), &r.tty_state.escape);
        if (k < 0) {
                log_error("Invalid escape-char '%s': expected one character, ^X for a control character, or "
                          "none.", config_get_string(c, "escape-char"));
                return EXIT_USAGE;
        }
        r.override = config_get_positional(c);
        if (!r.one && !strv_isempty(r.override)) {
                log_error("Arguments after the options replace the job's program, which only --one allows.");
                return EXIT_USAGE;
        }

        const char *file = config_get_string(c, "file");
        if (file) {
                r.input_fd = open(file, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
                if (r.input_fd < 0) {
                        log_error_errno(errno, "Failed to open '%s': %m", file);
                        return EXIT_USAGE;
                }
        } else {
                r.input_fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
                if (r.input_fd < 0) {
                        (void) log_error_errno(errno, "Failed to duplicate standard input: %m");
                        return EXIT_FAILURE;
                }
        }

        cwd = get_current_dir_name();
        if (!cwd) {
                (void) log_error_errno(errno, "Failed to get the current directory: %m");
                return EXIT_FAILURE;
        }

        k = sd_event_default(&event);
        if (k < 0) {
                (void) log_error_errno(k, "Failed to allocate the event loop: %m");
                return EXIT_FAILURE;
        }
        r.event = event;

        ClientOptions o = {
                .project_dir = cwd,
                .cache_dir = config_get_string(c, "cache-root"),
                .slots = (unsigned) config_get_number(c, "slots"),
                .cache_size = config_get_number(c, "cache-size"),
                .inline_limit = config_get_number(c, "inline-limit"),
                .log_level = config_get_string(c, "log-level"),
                .broker = config_get_string(c, "broker"),
        };
        k = client_new(event, &o, &client, &message);
        if (k < 0) {
                if (message)
                        log_error("%s", message);
                else
                        log_error_errno(k, "Failed to start the local worker: %m");
                return EXIT_FAILURE;
        }
        r.client = client;
        (void) sd_event_set_signal_exit(event, true);

        k = job_spec_reader_new(on_job_spec, &r, &reader);
        if (k < 0) {
                (void) log_oom();
                return EXIT_FAILURE;
        }
        r.reader = reader;

        k = fd_nonblock(r.input_fd, true);
        if (k >= 0)
                k = sd_event_add_io(event, &r.input_source, r.input_fd, EPOLLIN, on_input, &r);
        if (k == -EPERM)
                k = sd_event_add_defer(event, &r.input_source, on_input_defer, &r);
        if (k < 0) {
                (void) log_error_errno(k, "Failed to watch the input: %m");
                return EXIT_FAILURE;
        }

        k = sd_event_loop(event);
        if (k < 0) {
                (void) log_error_errno(k, "Event loop failed: %m");
                return EXIT_FAILURE;
        }

        r.input_source = sd_event_source_disable_unref(r.input_source);
        safe_close(r.input_fd);
        if (r.tty)
                run_tty_stop(&r.tty_state);
        client = client_free(client);
        if (r.tty_state.detached) {
                free(r.tty_job_data);
                fprintf(stderr, "job 1: detached\n");
                return EXIT_FAILURE;
        }

        if (r.one && r.one_exit < 0) {
                /* Die the way the job did. */
                int sig = -r.one_exit;
                fflush(stdout);
                signal(sig, SIG_DFL);
                sigset_t mask;
                sigemptyset(&mask);
                sigaddset(&mask, sig);
                sigprocmask(SIG_UNBLOCK, &mask, NULL);
                raise(sig);
                return 128 + sig;
        }
        if (r.one)
                return r.one_exit;
        return r.failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

int main(int argc, char **argv) {
        _cleanup_(config_freep) Config *c = NULL;
        int r;

        r = config_main_load(&run_program, argc, argv, &c);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : EXIT_SUCCESS;

        return run(c);
}
