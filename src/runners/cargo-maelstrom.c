/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/pidfd.h>
#include <unistd.h>

#include "basic/fd-util.h"
#include "basic/log.h"
#include "basic/process-util.h"
#include "basic/string-util.h"
#include "config/config-main.h"
#include "config/config-values.h"
#include "layer/layer-ldso.h"
#include "runner.h"
#include "testrunner/testrunner-cargo.h"
#include "testrunner/testrunner-directives.h"
#include "toml/toml.h"

/* How long an early build may take to fail on its own once cargo metadata has failed (see
 * cargo_early_build_failed()). */
#define CARGO_EARLY_BUILD_GRACE_MSEC 2000

static const ConfigValueDef cargo_values[] = {
        {
                .name = "list-binaries",
                .type = CONFIG_VALUE_BOOL,
                .default_value = "false",
                .help = "Print the test binaries that match, and run nothing",
                .flags = CONFIG_CLI_ONLY,
        },
        {
                .name = "list-packages",
                .type = CONFIG_VALUE_BOOL,
                .default_value = "false",
                .help = "Print the packages that match, and run nothing",
                .flags = CONFIG_CLI_ONLY,
        },
        {
                .name = "features",
                .type = CONFIG_VALUE_STRING,
                .short_opt = 'F',
                .metavar = "FEATURES",
                .help = "Passed to cargo as --features",
        },
        {
                .name = "all-features",
                .type = CONFIG_VALUE_BOOL,
                .default_value = "false",
                .help = "Passed to cargo as --all-features",
        },
        {
                .name = "no-default-features",
                .type = CONFIG_VALUE_BOOL,
                .default_value = "false",
                .help = "Passed to cargo as --no-default-features",
        },
        {
                .name = "profile",
                .type = CONFIG_VALUE_STRING,
                .metavar = "PROFILE-NAME",
                .help = "Passed to cargo as --profile",
        },
        {
                .name = "target",
                .type = CONFIG_VALUE_STRING,
                .metavar = "TRIPLE",
                .help = "Passed to cargo as --target",
        },
        {
                .name = "target-dir",
                .type = CONFIG_VALUE_STRING,
                .metavar = "DIRECTORY",
                .help = "Passed to cargo as --target-dir",
        },
        {
                .name = "manifest-path",
                .type = CONFIG_VALUE_STRING,
                .metavar = "PATH",
                .help = "Passed to cargo as --manifest-path",
        },
        {
                .name = "frozen",
                .type = CONFIG_VALUE_BOOL,
                .default_value = "false",
                .help = "Passed to cargo as --frozen",
        },
        {
                .name = "locked",
                .type = CONFIG_VALUE_BOOL,
                .default_value = "false",
                .help = "Passed to cargo as --locked",
        },
        {
                .name = "offline",
                .type = CONFIG_VALUE_BOOL,
                .default_value = "false",
                .help = "Passed to cargo as --offline",
        },
        {},
};

static const ConfigValueDef *const cargo_value_sets[] = {
        CONFIG_VALUE_SETS_TEST_RUNNER,
        config_values_test_binary_args,
        cargo_values,
        NULL,
};

/* cargo test's and nextest's flags, and what to use instead. */
#define CARGO "a cargo test flag: "
#define NEXTEST "a nextest flag: "
#define CARGO_PACKAGE CARGO "to run one package's cases, use --include 'package.equals(NAME)'"
#define CARGO_WORKSPACE CARGO "every package of the workspace runs here; to select one, use --include " \
                              "'package.equals(NAME)'"
#define CARGO_JOBS CARGO "to set how many cases run at once, use --slots N; cargo's build jobs: " \
                         "CARGO_BUILD_JOBS=N"
#define NEXTEST_FILTER NEXTEST "to select what runs, use --include PATTERN"
static const ConfigHabit cargo_habits[] = {
        { "p", CARGO_PACKAGE },
        { "package", CARGO_PACKAGE },
        { "workspace", CARGO_WORKSPACE },
        { "all", CARGO_WORKSPACE },
        { "lib", CARGO "to run the library's cases, use --include library" },
        { "bins", CARGO "to run the binaries' cases, use --include binary" },
        { "bin", CARGO "to run one binary's cases, use --include 'binary.equals(NAME)'" },
        { "tests", CARGO "to run the integration tests' cases, use --include test" },
        { "test", CARGO "to run one integration test's cases, use --include 'test.equals(NAME)'" },
        { "examples", CARGO "to run the examples' cases, use --include example" },
        { "example", CARGO "to run one example's cases, use --include 'example.equals(NAME)'" },
        { "benches", CARGO "to run the benchmarks' cases, use --include benchmark" },
        { "bench", CARGO "to run one benchmark's cases, use --include 'benchmark.equals(NAME)'" },
        { "doc", CARGO "doc tests are not run here; cargo test --doc runs them" },
        { "release", CARGO "use --profile release" },
        { "no-fail-fast", CARGO "a failure does not stop the run here; --stop-after N stops after N "
                          "failures" },
        { "no-run", CARGO "to build and list the cases without running them, use --list-tests" },
        { "j", CARGO_JOBS },
        { "jobs", CARGO_JOBS },
        { "test-threads", NEXTEST "to set how many cases run at once, use --slots N" },
        { "E", NEXTEST_FILTER },
        { "filterset", NEXTEST_FILTER },
        { "filter-expr", NEXTEST_FILTER },
        { "retries", NEXTEST "failed cases are not retried here" },
        { "run-ignored", NEXTEST "to run the #[ignore]d cases too, give the tests -- --include-ignored; "
                         "only them, -- --ignored" },
        {}
};

static const ConfigProgram cargo_program = {
        .name = "cargo-maelstrom",
        .dir_name = "cargo-maelstrom",
        .env_prefix = "CARGO_MAELSTROM_",
        .file_format = CONFIG_FILE_TOML,
        .positional = CONFIG_POSITIONAL_NONE,
        .usage = "[OPTIONS] [-- EXTRA-TEST-BINARY-ARGS...]",
        .description = "Build the tests of a Cargo workspace and run every test case in its own container.",
        .value_sets = cargo_value_sets,
        .habits = cargo_habits,
};

/* One of an artifact's two listings. */
typedef struct CargoListing {
        RunnerChild run;
        struct CargoArtifact *artifact;
        bool over;
        int status;
        char *output; /* NULL: cut off (or out of memory) */
        size_t size;
} CargoListing;

/* A test executable that was built: what its cases need to run. */
typedef struct CargoArtifact {
        char *package;    /* the package's name */
        char *target;     /* the target's name */
        CargoTargetKind kind;
        char *binary_id;  /* how cases are shown: "pkg", "pkg::tests", "pkg::bin/name" (as nextest does) */
        char *executable;
        char *program;    /* "/" + its file name: where the layer puts it */
        /* See cargo_library_path(); NULL when ld.so finds its libraries without cargo's directories. */
        char *library_path; /* LD_LIBRARY_PATH with them, on this machine */
        char **cargo_libraries; /* the libraries found there, which its jobs get in CARGO_LIBRARY_DIR */
        char *job_library_var; /* its jobs' "LD_LIBRARY_PATH=..." */
        /* What cargo test gives it at run time: its package's variables, and for an integration test or a
         * benchmark, CARGO_BIN_EXE_<name> for each of the package's binaries, which its jobs get at their
         * paths (in binaries); and what insta would ask cargo for, INSTA_WORKSPACE_ROOT. */
        char **environment;
        char **binaries;
        char *package_dir; /* where cargo test runs it; NULL if unknown */
        /* CARGO_TARGET_TMPDIR, for an integration test or benchmark that was compiled with it (see
         * cargo_job_add_scratch_dir()); NULL otherwise. */
        const char *scratch_dir;
        /* Its cases, as it lists them: --list and --list --ignored, at the same time (see
         * cargo_list_start()). */
        struct Cargo *cargo;
        CargoListing listing[2];
        char **list_env;   /* the listings' environment (LD_LIBRARY_PATH), NULL: ours */
        bool listed;       /* both listings are over (or could not start: list_failed) */
        bool list_failed;
        struct CargoArtifact *next;
        struct CargoArtifact *next_queued; /* the artifacts to list, in cargo's order */
} CargoArtifact;

/* What an artifact or binary event of the build said, kept: a workspace package's binary built in this run,
 * or an integration test or benchmark that waits for cargo to report its package's binaries (see
 * cargo_artifact_environment()): cargo reports the units that are up to date in no particular order. */
typedef struct CargoUnit {
        char *package_id;
        char *package_name;
        char *target_name;
        CargoTargetKind kind;
        char *executable;
} CargoUnit;

typedef struct CargoUnits {
        CargoUnit *units;
        size_t n;
} CargoUnits;

typedef struct Cargo {
        const Config *config;
        CargoMetadata *metadata;
        CargoBuildOptions build_options;
        char *features;           /* build_options.features points here */
        char *features_list[2];
        const char *cargo;        /* $CARGO or "cargo" */
        char **extra_args;
        RunnerIgnored ignored_mode; /* from extra_args, as libtest takes them */
        /* One run. */
        TestEngine *engine;
        sd_event *event;
        CargoBuildParser *parser;
        pid_t build_pid;
        int build_fd;
        sd_event_source *build_source;
        bool build_ok;
        bool stopped;
        CargoArtifact *artifacts;
        /* The artifacts to list, in cargo's order (through next_queued): the first whose listing has not
         * started, the first whose cases the engine has not got (a run's jobs come in this order,
         * whichever listing ends first; --list sorts them, see cargo_add_sorted()), the last. */
        CargoArtifact *list_first, *add_first, *queued_last;
        unsigned n_listing;                    /* artifacts being listed */
        unsigned list_parallel;                /* the most at once (cargo_list_parallel()) */
        bool list_only;                        /* --list: nothing runs */
        bool build_finished;                   /* test_engine_build_finished() was called */
        CargoUnits binaries;
        CargoUnits deferred;
        bool build_over;          /* cargo's output ended: nothing waits for another message */
        char **native_dirs;       /* what the build scripts of this run named (cargo:rustc-link-search) */
        char *target_tmpdir;      /* what cargo gives integration tests as CARGO_TARGET_TMPDIR */
        /* Found once, when an executable first needs them (see cargo_library_path()). */
        LdCache *ld_cache;
        bool ld_cache_loaded;
        char *toolchain_libdir;   /* rustc --print target-libdir */
        bool toolchain_libdir_tried;
        /* The build started before cargo metadata answered (see cargo_start_early_build()): its command
         * line and directory, for the first run to take over if they are what it would start. */
        pid_t early_pid;
        int early_fd;
        char **early_argv;
        char *early_cwd;
} Cargo;

static CargoArtifact *cargo_artifact_free(CargoArtifact *a) {
        if (!a)
                return NULL;
        free(a->package);
        free(a->target);
        free(a->binary_id);
        free(a->executable);
        free(a->program);
        free(a->library_path);
        strv_free(a->cargo_libraries);
        free(a->job_library_var);
        free(a->package_dir);
        strv_free(a->environment);
        strv_free(a->binaries);
        for (size_t i = 0; i < ELEMENTSOF(a->listing); i++) {
                runner_child_kill(&a->listing[i].run);
                free(a->listing[i].output);
        }
        strv_free(a->list_env);
        return mfree(a);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(CargoArtifact *, cargo_artifact_free);

static void cargo_unit_done(CargoUnit *u) {
        free(u->package_id);
        free(u->package_name);
        free(u->target_name);
        free(u->executable);
}

static void cargo_units_clear(CargoUnits *l) {
        for (size_t i = 0; i < l->n; i++)
                cargo_unit_done(&l->units[i]);
        l->units = mfree(l->units);
        l->n = 0;
}

/* Appends a copy of the event's unit. */
static int cargo_units_add(CargoUnits *l, const CargoBuildEvent *ev) {
        CargoUnit *u = reallocarray(l->units, l->n + 1, sizeof(CargoUnit));
        if (!u)
                return -ENOMEM;
        l->units = u;
        u = &l->units[l->n++];
        *u = (CargoUnit) {
                .package_id = strdup(ev->package_id),
                .package_name = strdup(ev->package_name),
                .target_name = strdup(ev->target_name),
                .kind = ev->target_kind,
                .executable = strdup(ev->executable),
        };
        return u->package_id && u->package_name && u->target_name && u->executable ? 0 : -ENOMEM;
}

static void cargo_binaries_clear(Cargo *cargo) {
        cargo_units_clear(&cargo->binaries);
        cargo_units_clear(&cargo->deferred);
}

/* Whether cargo reported every binary target of the package in this run. */
static bool cargo_binaries_complete(const Cargo *cargo, const char *package_id) {
        const CargoPackage *p = cargo_metadata_find_package(cargo->metadata, package_id);

        for (size_t t = 0; p && t < p->n_targets; t++) {
                bool seen = false;
                if (p->targets[t].kind != CARGO_TARGET_BINARY)
                        continue;
                for (size_t i = 0; i < cargo->binaries.n && !seen; i++)
                        seen = streq(cargo->binaries.units[i].package_id, package_id) &&
                               streq(cargo->binaries.units[i].target_name, p->targets[t].name);
                if (!seen)
                        return false;
        }
        return true;
}

static int cargo_on_artifact(Cargo *cargo, const CargoBuildEvent *ev);

/* Hands on the deferred artifacts whose package's binaries are all known now (all of them, once the build
 * is over), in the order cargo reported them. */
static int cargo_run_deferred(Cargo *cargo) {
        CargoUnits *l = &cargo->deferred;

        for (size_t i = 0; i < l->n;) {
                CargoUnit d = l->units[i];
                if (!cargo->build_over && !cargo_binaries_complete(cargo, d.package_id)) {
                        i++;
                        continue;
                }
                memmove(l->units + i, l->units + i + 1, (--l->n - i) * sizeof(CargoUnit));
                CargoBuildEvent ev = {
                        .type = CARGO_BUILD_EVENT_ARTIFACT,
                        .package_id = d.package_id,
                        .package_name = d.package_name,
                        .target_name = d.target_name,
                        .target_kind = d.kind,
                        .executable = d.executable,
                };
                int r = cargo_on_artifact(cargo, &ev);
                cargo_unit_done(&d);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int cargo_on_binary(Cargo *cargo, const CargoBuildEvent *ev) {
        int r = cargo_units_add(&cargo->binaries, ev);
        return r < 0 ? r : cargo_run_deferred(cargo);
}

/* An artifact's run-time variables and binaries (see CargoArtifact), and INSTA_WORKSPACE_ROOT.  cargo builds
 * a package's binaries before its integration tests and benchmarks, which may use them. */
static int cargo_artifact_environment(Cargo *cargo, CargoArtifact *a, const CargoPackage *p,
                                      const char *package_id) {
        if (p && strv_extend_strv(&a->environment, p->environment) < 0)
                return -ENOMEM;
        /* insta (snapshot tests) runs cargo metadata to find the workspace unless told: there is no cargo in
         * the container. */
        if (strv_extendf(&a->environment, "INSTA_WORKSPACE_ROOT=%s", cargo->metadata->workspace_root) < 0)
                return -ENOMEM;
        if (!IN_SET(a->kind, CARGO_TARGET_TEST, CARGO_TARGET_BENCHMARK))
                return 0;
        for (size_t i = 0; i < cargo->binaries.n; i++) {
                const CargoUnit *b = &cargo->binaries.units[i];
                if (!streq(b->package_id, package_id))
                        continue;
                if (strv_extendf(&a->environment, "CARGO_BIN_EXE_%s=%s", b->target_name,
                                 b->executable) < 0 ||
                    strv_extend(&a->binaries, b->executable) < 0)
                        return -ENOMEM;
        }
        /* The path is in the executable when its code names it (env!(), option_env!()). */
        if (cargo->target_tmpdir && elf_data_contains(a->executable, cargo->target_tmpdir) > 0)
                a->scratch_dir = cargo->target_tmpdir;
        return 0;
}

/* nextest's binary ids: the library's cases under the package's name, the others under package::target. */
static char *cargo_binary_id(const char *package, const char *target, CargoTargetKind kind) {
        switch (kind) {
        case CARGO_TARGET_LIBRARY:
                return strdup(package);
        case CARGO_TARGET_TEST:
                return strjoin(package, "::", target);
        case CARGO_TARGET_BINARY:
                return strjoin(package, "::bin/", target);
        case CARGO_TARGET_EXAMPLE:
                return strjoin(package, "::example/", target);
        case CARGO_TARGET_BENCHMARK:
                return strjoin(package, "::bench/", target);
        case _CARGO_TARGET_KIND_MAX:
        case _CARGO_TARGET_KIND_INVALID:
                break;
        }
        return strjoin(package, "::", target);
}

static PatternCase cargo_target_case(const char *package, const char *target, CargoTargetKind kind) {
        PatternCase pc = PATTERN_CASE_UNKNOWN;
        pc.package = package;
        pc.target = target;
        pc.kind = kind;
        return pc;
}

/* Where a job finds the libraries of cargo's directories (see cargo_library_path()): not at their paths on
 * this machine, which may be under /tmp, where the default container mounts a tmpfs. */
#define CARGO_LIBRARY_DIR "/.cargo-maelstrom/lib"

/* The libraries, each in a layer that puts it in CARGO_LIBRARY_DIR. */
static int cargo_job_add_libraries(JobSpec *job, char *const *libraries) {
        STRV_FOREACH(lib, libraries) {
                _cleanup_(layer_spec_done) LayerSpec l = { .kind = LAYER_PATHS };

                if (strv_extend(&l.paths, *lib) < 0 ||
                    !(l.prefix.strip_prefix = strndup(*lib, strrchr(*lib, '/') - *lib)) ||
                    !(l.prefix.prepend_prefix = strdup(CARGO_LIBRARY_DIR)))
                        return -ENOMEM;
                int r = runner_job_take_layer(job, &l, /* first= */ false);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* cargo test runs a test executable in its package's directory, where tests read their files (by relative
 * paths, or under CARGO_MANIFEST_DIR): the job has the package's files at their paths (cargo_package_layer(),
 * under the directives' layers, whose files win), and that directory as its working directory unless the
 * directives set one.  Not where the container would not show them (runner_job_hides()), nor for a
 * package outside the workspace's directory: such a job runs in "/", as the original Maelstrom runs every
 * job. */
static int cargo_job_add_package_dir(JobSpec *job, const char *workspace_root, const char *dir) {
        _cleanup_(layer_spec_done) LayerSpec l = {};
        int r;

        if (runner_job_hides(job, dir))
                return 0;
        r = cargo_package_layer(workspace_root, dir, &l);
        if (r == -EINVAL)
                return 0;
        if (r >= 0)
                r = runner_job_take_layer(job, &l, /* first= */ true);
        if (r < 0)
                return r;
        if (!job->container.working_directory && !(job->container.working_directory = strdup(dir)))
                return -ENOMEM;
        return 0;
}

/* cargo gives integration tests and benchmarks, at compile time, CARGO_TARGET_TMPDIR, a directory of the
 * target directory "where they are free to put any data": a test writes there, which the read-only root of
 * a container refuses.  A job whose executable names it gets an empty tmpfs there (a stub directory and a
 * tmp mount), unless runner_job_hides() it. */
static int cargo_job_add_scratch_dir(JobSpec *job, const char *dir) {
        _cleanup_(layer_spec_done) LayerSpec stub = { .kind = LAYER_STUBS };
        const ContainerSpec *c = &job->container;
        JobMount *mounts;
        int r;

        if (runner_job_hides(job, dir))
                return 0;
        if (strv_extendf(&stub.paths, "%s/", dir) < 0)
                return -ENOMEM;
        r = runner_job_take_layer(job, &stub, /* first= */ false);
        if (r < 0)
                return r;
        mounts = reallocarray(job->container.added_mounts, c->n_added_mounts + 1, sizeof(JobMount));
        if (!mounts)
                return -ENOMEM;
        job->container.added_mounts = mounts;
        mounts[job->container.n_added_mounts] = (JobMount) { .type = MOUNT_TMP, .mount_point = strdup(dir) };
        if (!mounts[job->container.n_added_mounts].mount_point)
                return -ENOMEM;
        job->container.n_added_mounts++;
        return 0;
}

/* The package's binaries, at their paths (where CARGO_BIN_EXE_<name> says), with their shared libraries. */
static int cargo_job_add_binaries(JobSpec *job, const TestCandidate *candidate, bool based_on_image,
                                  const CargoArtifact *a) {
        _cleanup_(layer_spec_done) LayerSpec bins = { .kind = LAYER_PATHS };
        int r;

        if (runner_includes_shared_libraries(candidate, based_on_image)) {
                _cleanup_(layer_spec_done) LayerSpec l = { .kind = LAYER_SHARED_LIBRARY_DEPENDENCIES };

                if (strv_extend_strv(&l.paths, a->binaries) < 0 ||
                    (a->library_path && !(l.library_path = strdup(a->library_path))))
                        return -ENOMEM;
                r = runner_job_take_layer(job, &l, /* first= */ false);
                if (r < 0)
                        return r;
        }
        if (strv_extend_strv(&bins.paths, a->binaries) < 0)
                return -ENOMEM;
        return runner_job_take_layer(job, &bins, /* first= */ false);
}

/* The test executable is at "/" (the spec's layer), and also at its own path where the container shows
 * that path: the case runs it from there, as cargo test does, so that a test that finds the package's
 * binaries from its own path (std::env::current_exe(), as assert_cmd's cargo_bin() does: the target
 * directory is its directory's parent) finds them where CARGO_BIN_EXE_<name> says, which the job has.
 * Returns 1 when it is there, 0 when the container would hide it (the case runs "/" + its name). */
static int cargo_job_add_own_path(JobSpec *job, const char *executable) {
        if (runner_job_hides(job, executable))
                return 0;
        int r = runner_job_add_path_layer(job, LAYER_PATHS, executable, /* strip_prefix= */ NULL);
        return r < 0 ? r : 1;
}

static int cargo_case_job(void *userdata, const TestEngineCase *c, const TestCandidate *candidate,
                          bool based_on_image, JobSpec *job, char **reterr_message) {
        _cleanup_strv_free_ char **argv = NULL;
        const CargoArtifact *a = c->artifact_data;
        Cargo *cargo = userdata;
        int r;

        r = runner_job_add_binary(job, candidate, based_on_image, a->executable, a->library_path);
        if (r < 0)
                return r;
        if (a->binaries) {
                r = cargo_job_add_binaries(job, candidate, based_on_image, a);
                if (r < 0)
                        return r;
        }
        /* Under the directives' added_environment, as cargo's own variables are under the user's: a
         * directive may extend our LD_LIBRARY_PATH with $prev{LD_LIBRARY_PATH}, or replace it. */
        if (a->library_path && runner_includes_shared_libraries(candidate, based_on_image)) {
                char *var[] = { a->job_library_var, NULL };
                r = cargo_job_add_libraries(job, a->cargo_libraries);
                if (r >= 0)
                        r = runner_job_add_environment(job, var, /* first= */ true);
                if (r < 0)
                        return r;
        }
        r = runner_job_add_environment(job, a->environment, /* first= */ true);
        if (r < 0)
                return r;
        if (a->package_dir) {
                r = cargo_job_add_package_dir(job, cargo->metadata->workspace_root, a->package_dir);
                if (r < 0)
                        return r;
        }
        if (a->scratch_dir) {
                r = cargo_job_add_scratch_dir(job, a->scratch_dir);
                if (r < 0)
                        return r;
        }
        r = cargo_job_add_own_path(job, a->executable);
        if (r < 0)
                return r;
        r = cargo_case_argv(r > 0 ? a->executable : a->program, c->name, cargo->extra_args, &argv);
        if (r < 0)
                return r;
        return runner_job_set_command(job, argv);
}

static TestOutcome cargo_classify(void *userdata, const TestEngineCase *c, const ClientJobResult *result,
                                  const char **ret_message) {
        if (result->outcome != CLIENT_JOB_EXITED || result->status != 0)
                return TEST_OUTCOME_FAIL;
        if (!cargo_case_ran_nothing(result->out.data, result->out.size))
                return TEST_OUTCOME_OK;
        *ret_message = "but the test executable ran no test of that name";
        return TEST_OUTCOME_FAIL;
}

static void cargo_stop(void *userdata) {
        Cargo *cargo = userdata;

        cargo->stopped = true;
        if (cargo->build_pid > 0)
                (void) kill(cargo->build_pid, SIGTERM);
        for (CargoArtifact *a = cargo->artifacts; a; a = a->next)
                for (size_t i = 0; i < ELEMENTSOF(a->listing); i++)
                        if (a->listing[i].run.pid > 0)
                                (void) kill(a->listing[i].run.pid, SIGTERM);
}

static const TestAdapter cargo_adapter = {
        .kind = TEST_RUNNER_CARGO,
        .case_job = cargo_case_job,
        .classify = cargo_classify,
        .stop = cargo_stop,
};

/* Each case runs alone, so a custom harness must name its cases as libtest does. */
#define CARGO_HARNESS_HINT                                                                               \
        " A test target with 'harness = false' must answer '--list --format terse' and '--exact NAME' as " \
        "libtest does (libtest-mimic does)."

/* Test executables listed at once, each by two processes (each mostly a process start): one per CPU (at
 * least two), so that the first one's cases can start soon, while the others list. */
static unsigned cargo_list_parallel(void) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        return n > 2 ? (unsigned) MIN(n, 256L) : 2U;
}

static void cargo_add_sorted(Cargo *cargo);

static void cargo_maybe_finished(Cargo *cargo) {
        if (cargo->build_finished || !cargo->build_over || cargo->n_listing > 0 || cargo->list_first)
                return;
        if (cargo->list_only)
                cargo_add_sorted(cargo);
        if (cargo->add_first)
                return;
        cargo->build_finished = true;
        test_engine_build_finished(cargo->engine, cargo->build_ok || cargo->stopped);
}

static void cargo_list_next(Cargo *cargo);

/* Both listings of the artifact are over: hand its cases to the engine. */
static int cargo_listed(CargoArtifact *a) {
        _cleanup_strv_free_ char **cases = NULL, **ignored = NULL;
        Cargo *cargo = a->cargo;
        int r;

        for (int pass = 0; pass < 2; pass++) {
                CargoListing *l = &a->listing[pass];
                _cleanup_free_ char *message = NULL;

                if (!l->output) {
                        log_error("Failed to read the test list of %s: more than %u bytes, or out of "
                                  "memory.", a->executable, CARGO_LIST_SIZE_MAX);
                        return -EBADMSG;
                }
                if (l->status > 0) {
                        log_error("Failed to list the tests of %s: exit status %d.%s", a->executable,
                                  l->status, CARGO_HARNESS_HINT);
                        return -EBADMSG;
                }
                r = cargo_test_list_parse(l->output, l->size, pass ? &ignored : &cases, &message);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        log_error("Cannot read the test list of %s: %s.%s", a->executable,
                                  message ?: strerror(-r), CARGO_HARNESS_HINT);
                        return -EBADMSG;
                }
        }
        PatternCase target = cargo_target_case(a->package, a->target, a->kind);
        return runner_add_cases(cargo->engine, a->package, a->binary_id, a->binary_id, cases, ignored,
                                cargo->ignored_mode, &target, a, /* ret_tentative= */ NULL);
}

static void cargo_add_one(Cargo *cargo, CargoArtifact *a) {
        int r = 0;

        if (!a->list_failed && !cargo->stopped)
                r = cargo_listed(a);
        if (r == -ENOMEM)
                log_oom();
        if (r < 0)
                cargo->build_ok = false;
        for (size_t i = 0; i < ELEMENTSOF(a->listing); i++)
                a->listing[i].output = mfree(a->listing[i].output);
        a->list_env = strv_free(a->list_env);
}

/* Hands the engine the cases of the artifacts listed, in cargo's order; with --list, they wait for
 * cargo_add_sorted(). */
static void cargo_add_listed(Cargo *cargo) {
        while (!cargo->list_only && cargo->add_first && cargo->add_first->listed) {
                CargoArtifact *a = cargo->add_first;

                cargo->add_first = a->next_queued;
                if (!cargo->add_first)
                        cargo->queued_last = NULL;
                cargo_add_one(cargo, a);
        }
}

static int cargo_binary_id_compare(const void *a, const void *b) {
        const CargoArtifact *const *x = a, *const *y = b;
        return strcmp((*x)->binary_id, (*y)->binary_id);
}

/* --list, once every executable is listed: their cases in the order of their binary ids, the same each
 * time (cargo reports the units that are up to date in no particular order). */
static void cargo_add_sorted(Cargo *cargo) {
        _cleanup_free_ CargoArtifact **all = NULL;
        size_t n = 0;

        for (CargoArtifact *a = cargo->add_first; a; a = a->next_queued)
                n++;
        all = calloc(MAX(n, (size_t) 1), sizeof(CargoArtifact *));
        if (!all) {
                log_oom();
                cargo->build_ok = false;
                return;
        }
        n = 0;
        for (CargoArtifact *a = cargo->add_first; a; a = a->next_queued)
                all[n++] = a;
        cargo->add_first = cargo->queued_last = NULL;
        qsort(all, n, sizeof(CargoArtifact *), cargo_binary_id_compare);
        for (size_t i = 0; i < n; i++)
                cargo_add_one(cargo, all[i]);
}

static void cargo_list_done(RunnerChild *run, int status, char *output, size_t size) {
        CargoListing *l = container_of(run, CargoListing, run);
        CargoArtifact *a = l->artifact;
        Cargo *cargo = a->cargo;

        l->over = true;
        l->status = status;
        l->size = size;
        if (run->cut)
                output = mfree(output);
        l->output = output;
        if (!(a->listing[0].over && a->listing[1].over))
                return;
        cargo->n_listing--;
        a->listed = true;
        cargo_add_listed(cargo);
        cargo_list_next(cargo);
        cargo_maybe_finished(cargo);
}

/* Starts the two listings of the artifact: the cases, and which of them are #[ignore]d. */
static int cargo_list_start(Cargo *cargo, CargoArtifact *a) {
        int r;

        for (int pass = 0; pass < 2; pass++) {
                char *argv[] = { a->executable, (char *) "--list", (char *) "--format", (char *) "terse",
                                 pass ? (char *) "--ignored" : NULL, NULL };
                r = runner_child_spawn(&a->listing[pass].run, cargo->event, argv, a->package_dir,
                                       a->list_env, /* flags= */ 0, CARGO_LIST_SIZE_MAX, cargo_list_done);
                if (r < 0) {
                        runner_child_kill(&a->listing[0].run);
                        return log_error_errno(r, "Failed to list the tests of %s: %m", a->executable);
                }
        }
        cargo->n_listing++;
        return 0;
}

/* Starts the listings of the artifacts waiting, up to list_parallel at a time. */
static void cargo_list_next(Cargo *cargo) {
        while (cargo->list_first && (cargo->n_listing < cargo->list_parallel || cargo->stopped)) {
                CargoArtifact *a = cargo->list_first;
                cargo->list_first = a->next_queued;
                if (cargo->stopped || cargo_list_start(cargo, a) < 0) {
                        a->listed = a->list_failed = true;
                        if (!cargo->stopped)
                                cargo->build_ok = false;
                }
        }
        cargo_add_listed(cargo);
}

/* Lists the artifact's cases (at once, or when fewer listings run): the engine gets them when both
 * listings are over.  The listings run with the executable's libraries, as cargo test runs it. */
static int cargo_list_queue(Cargo *cargo, CargoArtifact *a) {
        if (a->library_path) {
                _cleanup_free_ char *var = strjoin("LD_LIBRARY_PATH=", a->library_path);
                a->list_env = strv_copy(environ);
                if (!var || !a->list_env)
                        return -ENOMEM;
                for (size_t i = 0; a->list_env[i]; i++)
                        if (startswith(a->list_env[i], "LD_LIBRARY_PATH=")) {
                                free(a->list_env[i]);
                                a->list_env[i] = TAKE_PTR(var);
                                break;
                        }
                if (var && strv_consume(&a->list_env, TAKE_PTR(var)) < 0)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < ELEMENTSOF(a->listing); i++) {
                runner_child_init(&a->listing[i].run);
                a->listing[i].artifact = a;
        }
        a->cargo = cargo;
        if (cargo->queued_last)
                cargo->queued_last->next_queued = a;
        else
                cargo->add_first = a;
        if (!cargo->list_first)
                cargo->list_first = a;
        cargo->queued_last = a;
        cargo_list_next(cargo);
        return 0;
}

static int cargo_on_build_script(Cargo *cargo, const CargoBuildEvent *ev) {
        STRV_FOREACH(d, ev->linked_paths)
                if (!strv_contains(cargo->native_dirs, *d) && strv_extend(&cargo->native_dirs, *d) < 0)
                        return -ENOMEM;
        return 0;
}

/* The toolchain's library directory (libstd-*.so), from the rustc that cargo uses there: once. */
static const char *cargo_toolchain_libdir(Cargo *cargo) {
        _cleanup_free_ char *out = NULL;
        const char *rustc = getenv("RUSTC") ?: "rustc";
        const char *target = cargo->build_options.target;
        char *argv[] = { (char *) rustc, (char *) "--print", (char *) "target-libdir",
                         target ? (char *) "--target" : NULL, (char *) target, NULL };
        size_t size;

        if (cargo->toolchain_libdir_tried)
                return cargo->toolchain_libdir;
        cargo->toolchain_libdir_tried = true;
        if (process_capture(argv, cargo->metadata->workspace_root, NULL, PATH_MAX, &out, &size) != 0 ||
            size == 0 || out[0] != '/')
                return NULL;
        out[strcspn(out, "\n")] = 0;
        cargo->toolchain_libdir = TAKE_PTR(out);
        return cargo->toolchain_libdir;
}

/* cargo test runs a test executable with the build's dynamic libraries on LD_LIBRARY_PATH: the directories
 * that build scripts named, those inside the profile's output directory; the deps and output directories
 * (dylib crates); and the toolchain's library directory (libstd, with -C prefer-dynamic); then the
 * LD_LIBRARY_PATH it was given.  An executable whose libraries ld.so finds without that gets nothing, as
 * most do.  One that needs it gets that path in a->library_path, for its listing and its shared-library
 * layer, and the libraries found in cargo's directories in a->cargo_libraries, which its jobs get in
 * CARGO_LIBRARY_DIR, with a->job_library_var: CARGO_LIBRARY_DIR, then the LD_LIBRARY_PATH we were given
 * (whose libraries the shared-library layer has at their paths). */
static int cargo_library_path(Cargo *cargo, CargoArtifact *a) {
        _cleanup_strv_free_ char **libraries = NULL, **dirs = NULL;
        _cleanup_free_ char *message = NULL, *deps = NULL, *output = NULL, *cargo_path = NULL,
                            *path = NULL;
        char *const binaries[] = { a->executable, NULL };
        const char *given = getenv("LD_LIBRARY_PATH"), *libdir;
        int r;

        if (!cargo->ld_cache_loaded) {
                (void) ld_cache_load("/etc/ld.so.cache", &cargo->ld_cache);
                cargo->ld_cache_loaded = true;
        }
        r = ldso_resolve(binaries, given, cargo->ld_cache, &libraries, &message);
        if (r == -ENOMEM)
                return r;
        if (r != -ENOENT)
                return 0; /* all found (or not ELF, which listing will say) */

        deps = strndup(a->executable, strrchr(a->executable, '/') - a->executable);
        if (!deps)
                return -ENOMEM;
        output = strndup(deps, strrchr(deps, '/') ? (size_t) (strrchr(deps, '/') - deps) : strlen(deps));
        if (!output)
                return -ENOMEM;
        STRV_FOREACH(d, cargo->native_dirs)
                if (path_is_under(*d, output) && strv_extend(&dirs, *d) < 0)
                        return -ENOMEM;
        if (strv_extend(&dirs, deps) < 0 || strv_extend(&dirs, output) < 0)
                return -ENOMEM;
        libdir = cargo_toolchain_libdir(cargo);
        if (libdir && strv_extend(&dirs, libdir) < 0)
                return -ENOMEM;
        cargo_path = strv_join(dirs, ":");
        if (!cargo_path)
                return -ENOMEM;
        path = isempty(given) ? TAKE_PTR(cargo_path) : strjoin(cargo_path, ":", given);
        if (!path)
                return -ENOMEM;

        libraries = strv_free(libraries);
        message = mfree(message);
        r = ldso_resolve(binaries, path, cargo->ld_cache, &libraries, &message);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return 0; /* still missing: the listing says which */
        /* The ones from cargo's directories (the others are where ld.so looks by default, or on the
         * LD_LIBRARY_PATH we were given). */
        STRV_FOREACH(lib, libraries) {
                _cleanup_free_ char *dir = strndup(*lib, strrchr(*lib, '/') - *lib);
                if (!dir)
                        return -ENOMEM;
                if (strv_contains(dirs, dir) && strv_extend(&a->cargo_libraries, *lib) < 0)
                        return -ENOMEM;
        }
        a->job_library_var = strjoin("LD_LIBRARY_PATH=" CARGO_LIBRARY_DIR, isempty(given) ? "" : ":",
                                     strempty(given));
        if (!a->job_library_var)
                return -ENOMEM;
        a->library_path = TAKE_PTR(path);
        return 0;
}

static int cargo_on_artifact(Cargo *cargo, const CargoBuildEvent *ev) {
        _cleanup_(cargo_artifact_freep) CargoArtifact *a = NULL;
        const CargoPackage *p;
        _cleanup_free_ char *cwd = NULL;
        int r;

        PatternCase target = cargo_target_case(ev->package_name, ev->target_name, ev->target_kind);
        if (!test_engine_can_match(cargo->engine, &target))
                return 0;
        if (IN_SET(ev->target_kind, CARGO_TARGET_TEST, CARGO_TARGET_BENCHMARK) && !cargo->build_over &&
            !cargo_binaries_complete(cargo, ev->package_id))
                return cargo_units_add(&cargo->deferred, ev);

        a = calloc(1, sizeof(CargoArtifact));
        if (!a)
                return -ENOMEM;
        a->package = strdup(ev->package_name);
        a->target = strdup(ev->target_name);
        a->kind = ev->target_kind;
        a->binary_id = cargo_binary_id(ev->package_name, ev->target_name, ev->target_kind);
        a->executable = strdup(ev->executable);
        const char *base = strrchr(ev->executable, '/');
        a->program = strjoin("/", base ? base + 1 : ev->executable);
        if (!a->package || !a->target || !a->binary_id || !a->executable || !a->program)
                return -ENOMEM;
        if (!base)
                return log_error_errno(-EINVAL, "cargo reported a test executable without a directory: %s",
                                       ev->executable);

        /* cargo test runs a package's tests in the package's directory: list them there too. */
        p = cargo_metadata_find_package(cargo->metadata, ev->package_id);
        if (p && p->manifest_path) {
                const char *slash = strrchr(p->manifest_path, '/');
                if (slash)
                        cwd = strndup(p->manifest_path, slash - p->manifest_path);
        }

        r = cargo_library_path(cargo, a);
        if (r < 0)
                return r;
        r = cargo_artifact_environment(cargo, a, p, ev->package_id);
        if (r < 0)
                return r;
        a->package_dir = TAKE_PTR(cwd);

        /* The artifact must outlive its listings and its jobs: the adapter keeps it until the run is
         * over. */
        CargoArtifact *kept = TAKE_PTR(a);
        kept->next = cargo->artifacts;
        cargo->artifacts = kept;
        return cargo_list_queue(cargo, kept);
}

static int cargo_on_build_event(const CargoBuildEvent *ev, void *userdata) {
        Cargo *cargo = userdata;

        switch (ev->type) {
        case CARGO_BUILD_EVENT_ARTIFACT:
                return cargo_on_artifact(cargo, ev);
        case CARGO_BUILD_EVENT_BINARY:
                return cargo_on_binary(cargo, ev);
        case CARGO_BUILD_EVENT_MESSAGE:
                return test_engine_message(cargo->engine, ev->rendered);
        case CARGO_BUILD_EVENT_BUILD_SCRIPT:
                return cargo_on_build_script(cargo, ev);
        case CARGO_BUILD_EVENT_FINISHED:
        case _CARGO_BUILD_EVENT_TYPE_MAX:
        case _CARGO_BUILD_EVENT_TYPE_INVALID:
                break;
        }
        return 0;
}

static void cargo_build_done(Cargo *cargo) {
        _cleanup_free_ char *message = NULL;
        bool signaled;
        int status, r;

        cargo->build_source = sd_event_source_disable_unref(cargo->build_source);
        cargo->build_fd = safe_close(cargo->build_fd);
        r = cargo_build_parser_finish(cargo->parser, &message);
        if (r < 0 && !cargo->stopped)
                log_error("Cannot read cargo's output: %s", message ?: strerror(-r));
        if (r <= 0)
                cargo->build_ok = false;
        if (cargo->build_pid > 0) {
                if (process_wait(cargo->build_pid, &status, &signaled) >= 0 && status != 0) {
                        if (!cargo->stopped)
                                log_error("cargo test --no-run failed with exit status %d.", status);
                        cargo->build_ok = false;
                }
                cargo->build_pid = 0;
        }
        cargo->build_over = true;
        if (!cargo->stopped) {
                r = cargo_run_deferred(cargo);
                if (r < 0) {
                        log_error_errno(r, "Failed to list the tests: %m");
                        cargo->build_ok = false;
                }
        }
        cargo_maybe_finished(cargo);
}

static int on_build_output(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Cargo *cargo = userdata;
        char buf[65536];

        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && IN_SET(errno, EAGAIN, EINTR))
                return 0;
        if (n > 0) {
                _cleanup_free_ char *message = NULL;
                int r = cargo_build_parser_feed(cargo->parser, buf, (size_t) n, &message);
                if (r == -ENOMEM)
                        return log_oom();
                if (r >= 0)
                        return 0;
                log_error("Cannot read cargo's output: %s", message ?: strerror(-r));
                cargo->build_ok = false;
                if (cargo->build_pid > 0)
                        (void) kill(cargo->build_pid, SIGTERM);
        }
        cargo_build_done(cargo);
        return 0;
}

/* The build command for the given packages (NULL: the whole workspace), with our cargo. */
static int cargo_build_command(Cargo *cargo, char *const *packages, char ***ret) {
        _cleanup_strv_free_ char **argv = NULL;
        int r;

        r = cargo_build_argv(&cargo->build_options, packages, &argv);
        if (r < 0)
                return r;
        free(argv[0]);
        argv[0] = strdup(cargo->cargo);
        if (!argv[0])
                return -ENOMEM;
        *ret = TAKE_PTR(argv);
        return 0;
}

static void cargo_stop_early_build(Cargo *cargo) {
        process_terminate(&cargo->early_pid);
        cargo->early_fd = safe_close(cargo->early_fd);
        cargo->early_argv = strv_free(cargo->early_argv);
        cargo->early_cwd = mfree(cargo->early_cwd);
}

/* cargo metadata failed: whether the early build failed too, and so told the user why (they read the same
 * manifests).  It is given a moment to do so; either way it is stopped. */
static bool cargo_early_build_failed(Cargo *cargo) {
        _cleanup_close_ int pidfd = -EBADF;
        bool signaled, failed = false;
        int status;

        if (cargo->early_pid <= 0)
                return false;
        pidfd = pidfd_open(cargo->early_pid, 0);
        if (pidfd >= 0) {
                struct pollfd p = { .fd = pidfd, .events = POLLIN };
                if (poll(&p, 1, CARGO_EARLY_BUILD_GRACE_MSEC) > 0) {
                        failed = process_wait(cargo->early_pid, &status, &signaled) >= 0 && status != 0 &&
                                 !signaled;
                        cargo->early_pid = 0;
                }
        }
        cargo_stop_early_build(cargo);
        return failed;
}

/* path as seen from dir: itself if absolute, else dir/path (not simplified: ".." after a symlink means
 * what the kernel makes of it, as for cargo). */
static char *path_against(const char *dir, const char *path) {
        return path[0] == '/' ? strdup(path) : strjoin(dir, "/", path);
}

/* The workspace's root as cargo will find it from the current directory, guessed before cargo metadata says.
 * The package is the nearest Cargo.toml from here up; the root is the directory that its package.workspace
 * names, else the nearest directory from the package's up whose Cargo.toml has a [workspace] table, else the
 * package's.  (Cargo also leaves a package out of the workspace above it when the root's members or exclude
 * say so: a wrong guess only costs the early build, which is then stopped and started again at the right
 * place.)  NULL when there is no Cargo.toml here or above, or no memory. */
static char *cargo_guess_workspace_root(void) {
        _cleanup_free_ char *dir = getcwd(NULL, 0), *package_dir = NULL;

        if (!dir)
                return NULL;
        for (;;) {
                _cleanup_(toml_value_freep) TomlValue *manifest = NULL;
                _cleanup_free_ char *path = strjoin(dir, "/Cargo.toml");

                if (!path)
                        return NULL;
                int r = toml_parse_file(path, &manifest, /* reterr= */ NULL);
                if (r != -ENOENT) {
                        bool package = !package_dir;
                        if (package) {
                                package_dir = strdup(dir);
                                if (!package_dir)
                                        return NULL;
                        }
                        /* The package's manifest unreadable or broken: cargo will say so, from there. */
                        if (r < 0) {
                                if (package)
                                        return TAKE_PTR(package_dir);
                        } else if (toml_table_get(manifest, "workspace"))
                                return TAKE_PTR(dir);
                        else if (package) {
                                const TomlKeyValue *p = toml_table_get(manifest, "package");
                                const TomlKeyValue *w = p ? toml_table_get(p->value, "workspace") : NULL;
                                if (w && w->value->type == TOML_STRING) {
                                        const char *named_path = w->value->string.data;
                                        _cleanup_free_ char *named = path_against(dir, named_path);
                                        return named ? realpath(named, NULL) : NULL;
                                }
                        }
                }
                if (streq(dir, "/"))
                        break;
                /* Up one: "/a/b" becomes "/a", and "/a" becomes "/". */
                char *slash = strrchr(dir, '/');
                if (slash == dir)
                        slash++;
                *slash = '\0';
        }
        return TAKE_PTR(package_dir);
}

/* cargo metadata and a no-op build check take about 35 and 60 ms: with no --include or --exclude every
 * package is built, so the build can start at once, here, while metadata runs, where the run would start
 * it: at the workspace's root.  Its output waits in the pipe until the first run takes it over, which it
 * does only if it would have started exactly this command in exactly this directory (the root that
 * metadata gives); otherwise the early build is stopped and the right one started.  Nothing is lost either
 * way: at worst a cargo that had barely begun is stopped. */
static void cargo_start_early_build(Cargo *cargo) {
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_free_ char *root = NULL;

        if (!strv_isempty(config_get_list(cargo->config, "include")) ||
            !strv_isempty(config_get_list(cargo->config, "exclude")))
                return;
        /* No package here or above: cargo will find none, and the build would fail. */
        root = cargo_guess_workspace_root();
        if (!root)
                return;
        /* A spec file that the run will refuse: the run ends before it builds anything. */
        {
                _cleanup_(test_spec_file_freep) TestSpecFile *spec = NULL;
                _cleanup_free_ char *path =
                        strjoin(root, "/", test_runner_spec_file_name(TEST_RUNNER_CARGO)), *message = NULL;
                int r = path ? runner_spec_file_load(TEST_RUNNER_CARGO, path, &spec, &message) : -ENOMEM;
                if (r < 0 && r != -ENOENT)
                        return;
        }
        if (cargo_build_command(cargo, NULL, &argv) < 0)
                return; /* not worth failing for: the run starts the build itself */
        if (process_spawn_pipe(argv, root, NULL, &cargo->early_pid, &cargo->early_fd) < 0) {
                cargo->early_pid = 0;
                cargo->early_fd = -EBADF;
                return;
        }
        cargo->early_argv = TAKE_PTR(argv);
        cargo->early_cwd = TAKE_PTR(root);
}

static int cargo_start(void *userdata, TestEngine *e, sd_event *event) {
        _cleanup_strv_free_ char **packages = NULL, **argv = NULL;
        Cargo *cargo = userdata;
        size_t n_matching = 0;
        int r;

        cargo->engine = e;
        cargo->event = event;
        cargo->build_ok = true;
        cargo->stopped = false;
        cargo->native_dirs = strv_free(cargo->native_dirs);
        cargo_binaries_clear(cargo);
        cargo->build_over = false;
        cargo->build_finished = false;
        cargo->n_listing = 0;
        cargo->list_parallel = cargo_list_parallel();
        cargo->list_only = config_get_bool(cargo->config, "list-tests");
        cargo->list_first = cargo->add_first = cargo->queued_last = NULL;

        for (size_t i = 0; i < cargo->metadata->n_packages; i++) {
                const CargoPackage *p = &cargo->metadata->packages[i];
                PatternCase pc = PATTERN_CASE_UNKNOWN;
                pc.package = p->name;
                if (!test_engine_can_match(e, &pc))
                        continue;
                n_matching++;
                if (strv_extend(&packages, p->name) < 0)
                        return -ENOMEM;
        }
        if (n_matching == 0) {
                cargo_stop_early_build(cargo);
                cargo->build_finished = true;
                test_engine_build_finished(e, true);
                return 0;
        }
        /* Every package: let cargo say --workspace, which also covers a virtual manifest. */
        if (n_matching == cargo->metadata->n_packages)
                packages = strv_free(packages);

        r = cargo_build_command(cargo, packages, &argv);
        if (r < 0)
                return r;

        r = cargo_build_parser_new(cargo->metadata, cargo_on_build_event, cargo, &cargo->parser);
        if (r < 0)
                return r;
        if (cargo->early_pid > 0 && strv_equal(argv, cargo->early_argv) &&
            streq(cargo->early_cwd, cargo->metadata->workspace_root)) {
                cargo->build_pid = TAKE_GENERIC(cargo->early_pid, pid_t, 0);
                cargo->build_fd = TAKE_FD(cargo->early_fd);
        }
        cargo_stop_early_build(cargo);
        if (cargo->build_pid <= 0) {
                r = process_spawn_pipe(argv, cargo->metadata->workspace_root, NULL, &cargo->build_pid,
                                       &cargo->build_fd);
                if (r < 0)
                        return log_error_errno(r, "Failed to run %s: %m", cargo->cargo);
        }
        (void) fd_nonblock(cargo->build_fd, true);
        return sd_event_add_io(event, &cargo->build_source, cargo->build_fd, EPOLLIN, on_build_output,
                               cargo);
}

static void cargo_finish(void *userdata) {
        Cargo *cargo = userdata;

        cargo->build_source = sd_event_source_disable_unref(cargo->build_source);
        cargo->build_fd = safe_close(cargo->build_fd);
        process_terminate(&cargo->build_pid);
        cargo->parser = cargo_build_parser_free(cargo->parser);
        while (cargo->artifacts) {
                CargoArtifact *a = cargo->artifacts;
                cargo->artifacts = a->next;
                cargo_artifact_free(a); /* and its listings, if they still run */
        }
        cargo->list_first = cargo->add_first = cargo->queued_last = NULL;
        cargo->n_listing = 0;
        cargo->engine = NULL;
}

static const RunnerAdapterOps cargo_ops = {
        .start = cargo_start,
        .finish = cargo_finish,
};

static int cargo_load_metadata(Cargo *cargo) {
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_free_ char *out = NULL, *message = NULL, *err = NULL;
        const CargoBuildOptions *o = &cargo->build_options;
        size_t size;
        int r;

        if (strv_extend(&argv, cargo->cargo) < 0 || strv_extend(&argv, "metadata") < 0 ||
            strv_extend(&argv, "--format-version") < 0 || strv_extend(&argv, "1") < 0 ||
            strv_extend(&argv, "--no-deps") < 0 ||
            (o->manifest_path &&
             (strv_extend(&argv, "--manifest-path") < 0 || strv_extend(&argv, o->manifest_path) < 0)) ||
            (o->frozen && strv_extend(&argv, "--frozen") < 0) ||
            (o->locked && strv_extend(&argv, "--locked") < 0) ||
            (o->offline && strv_extend(&argv, "--offline") < 0))
                return log_oom();

        /* Its stderr says nothing the build will not say again (the manifests' warnings and errors): it is
         * shown when no build follows, or when metadata fails and the early build has not already said
         * why. */
        r = process_capture_full(argv, /* cwd= */ NULL, /* env= */ NULL, CARGO_METADATA_SIZE_MAX, &out,
                                 &size, &err);
        if (r < 0)
                return log_error_errno(r, "Failed to run cargo metadata: %m");
        if (r > 0) {
                if (!cargo_early_build_failed(cargo))
                        fputs(err, stderr);
                log_error("Failed to run cargo metadata: exit status %d.", r);
                return -EBADMSG;
        }
        if (config_get_bool(cargo->config, "list-packages") ||
            config_get_bool(cargo->config, "list-binaries"))
                fputs(err, stderr);
        r = cargo_metadata_parse(out, size, &cargo->metadata, &message);
        if (r < 0) {
                log_error("Cannot read the output of cargo metadata: %s", message ?: strerror(-r));
                return r;
        }
        return 0;
}

static int cargo_list_packages_or_binaries(Cargo *cargo, bool binaries) {
        _cleanup_(pattern_freep) Pattern *filter = NULL;

        if (runner_make_filter(cargo->config, TEST_RUNNER_CARGO, &filter) < 0)
                return EXIT_USAGE;
        for (size_t i = 0; i < cargo->metadata->n_packages; i++) {
                const CargoPackage *p = &cargo->metadata->packages[i];
                PatternCase pc = PATTERN_CASE_UNKNOWN;
                pc.package = p->name;

                if (!binaries) {
                        if (pattern_evaluate(filter, &pc) != PATTERN_FALSE)
                                printf("%s\n", p->name);
                        continue;
                }
                for (size_t j = 0; j < p->n_targets; j++) {
                        const CargoTarget *t = &p->targets[j];
                        if (!t->test || t->kind < 0)
                                continue;
                        pc = cargo_target_case(p->name, t->name, t->kind);
                        if (pattern_evaluate(filter, &pc) == PATTERN_FALSE)
                                continue;
                        _cleanup_free_ char *id = cargo_binary_id(p->name, t->name, t->kind);
                        if (!id)
                                return log_oom(), EXIT_FAILURE;
                        printf("%s (%s)\n", id, cargo_target_kind_to_string(t->kind));
                }
        }
        return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* A path given on the command line, made absolute against the current directory (NULL stays NULL): cargo
 * builds at the workspace's root, where a relative one would name something else. */
static int path_from_cwd(const char *path, char **ret) {
        _cleanup_free_ char *cwd = NULL;

        *ret = NULL;
        if (!path)
                return 0;
        if (path[0] != '/') {
                cwd = getcwd(NULL, 0);
                if (!cwd)
                        return -errno;
        }
        *ret = path_against(cwd, path);
        return *ret ? 0 : -ENOMEM;
}

static int run(const Config *c) {
        _cleanup_free_ char *target_dir = NULL, *state_dir = NULL, *cache_dir = NULL, *build_dir = NULL,
                            *build_var = NULL, *manifest_path = NULL, *target_dir_option = NULL;
        _cleanup_strv_free_ char **extra = NULL;
        Cargo cargo = {
                .config = c,
                .build_fd = -EBADF,
                .early_fd = -EBADF,
                .cargo = getenv("CARGO") ?: "cargo",
        };
        int r, status;

        r = path_from_cwd(config_get_string(c, "manifest-path"), &manifest_path);
        if (r >= 0)
                r = path_from_cwd(config_get_string(c, "target-dir"), &target_dir_option);
        if (r < 0)
                return log_error_errno(r, "Failed to make --manifest-path or --target-dir absolute: %m"),
                       EXIT_FAILURE;
        cargo.features = (char *) config_get_string(c, "features");
        cargo.features_list[0] = cargo.features;
        cargo.build_options = (CargoBuildOptions) {
                .features = cargo.features ? cargo.features_list : NULL,
                .all_features = config_get_bool(c, "all-features"),
                .no_default_features = config_get_bool(c, "no-default-features"),
                .profile = config_get_string(c, "profile"),
                .target = config_get_string(c, "target"),
                .target_dir = target_dir_option,
                .manifest_path = manifest_path,
                .frozen = config_get_bool(c, "frozen"),
                .locked = config_get_bool(c, "locked"),
                .offline = config_get_bool(c, "offline"),
        };
        r = runner_extra_args(c, cargo_extra_args_check, &extra);
        if (r != EXIT_SUCCESS)
                return r;
        cargo.extra_args = extra;
        /* As cargo test -- --include-ignored runs the #[ignore]d cases too, and -- --ignored only those (the
         * flag goes to each case's run, whose libtest would skip such a case otherwise). */
        cargo.ignored_mode = strv_contains(extra, "--include-ignored") ? RUNNER_IGNORED_RUN
                             : strv_contains(extra, "--ignored")      ? RUNNER_IGNORED_ONLY
                                                                      : RUNNER_IGNORED_REPORT;

        /* (Not for what builds nothing: a stopped cargo may have printed that it was compiling.) */
        if (!config_get_bool(c, "list-packages") && !config_get_bool(c, "list-binaries") &&
            !config_get_bool(c, "init"))
                cargo_start_early_build(&cargo);
        if (cargo_load_metadata(&cargo) < 0) {
                cargo_stop_early_build(&cargo);
                return EXIT_FAILURE;
        }

        if (config_get_bool(c, "list-packages") || config_get_bool(c, "list-binaries")) {
                status = cargo_list_packages_or_binaries(&cargo, config_get_bool(c, "list-binaries"));
                cargo_metadata_free(cargo.metadata);
                return status;
        }

        if (cargo.build_options.target_dir)
                target_dir = realpath(cargo.build_options.target_dir, NULL) ?:
                        strdup(cargo.build_options.target_dir);
        else
                target_dir = strdup(cargo.metadata->target_directory);
        if (!target_dir)
                return log_oom(), EXIT_FAILURE;
        state_dir = strjoin(target_dir, "/maelstrom/state");
        cache_dir = strjoin(target_dir, "/maelstrom/cache");
        r = cargo_profile_dir(target_dir, cargo.build_options.target, cargo.build_options.profile,
                              &build_dir);
        if (r < 0 || !state_dir || !cache_dir || !(build_var = strjoin("build-dir=", build_dir)))
                return log_oom(), EXIT_FAILURE;
        /* As cargo spells it: the option made absolute, not resolved. */
        cargo.target_tmpdir = strjoin(cargo.build_options.target_dir ?: cargo.metadata->target_directory,
                                      "/tmp");
        if (!cargo.target_tmpdir)
                return log_oom(), EXIT_FAILURE;

        char *template_vars[] = { build_var, NULL };
        char *watch_ignore[] = { target_dir, NULL };
        RunnerOptions o = {
                .config = c,
                .project_dir = cargo.metadata->workspace_root,
                .state_dir = state_dir,
                .cache_dir = cache_dir,
                .watch_ignore = watch_ignore,
                .template_vars = template_vars,
                .adapter = &cargo_adapter,
                .ops = &cargo_ops,
                .userdata = &cargo,
        };
        status = runner_run(&o);
        cargo_stop_early_build(&cargo); /* when no run took it over */
        cargo_metadata_free(cargo.metadata);
        strv_free(cargo.native_dirs);
        cargo_binaries_clear(&cargo);
        ld_cache_free(cargo.ld_cache);
        free(cargo.toolchain_libdir);
        free(cargo.target_tmpdir);
        return status;
}

int main(int argc, char **argv) {
        _cleanup_(config_freep) Config *c = NULL;
        int r;

        /* As a cargo subcommand ("cargo maelstrom ..."), cargo passes the subcommand name first. */
        if (argc > 1 && streq(argv[1], "maelstrom")) {
                argv[1] = argv[0];
                argv++;
                argc--;
        }

        r = config_main_load(&cargo_program, argc, argv, &c);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : EXIT_SUCCESS;

        return run(c);
}
