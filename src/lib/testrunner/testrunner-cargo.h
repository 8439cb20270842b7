/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* The parsing half of cargo-maelstrom's language adapter (spec/04): pure functions over the text that cargo
 * and the test binaries print, and the command lines given to them.  Nothing here starts a process.
 *
 *   cargo metadata --format-version 1 --no-deps     → cargo_metadata_parse()
 *   cargo test --no-run --message-format=json-render-diagnostics
 *                                                   → cargo_build_argv(), then CargoBuildParser
 *   <exe> --list --format terse [--ignored]         → cargo_test_list_parse()
 *   <exe> --exact --nocapture <case> [extra args]   → cargo_case_argv()
 *
 * Errors: -EBADMSG for malformed input, -E2BIG over a limit below, with *reterr_message (when not NULL) set
 * to an allocated sentence naming what is wrong, e.g. "line 3: compiler-artifact: 'target.name' is not a
 * string"; -ENOMEM. */

#include <stdbool.h>
#include <stddef.h>

#include "basic/macro.h"
#include "spec/spec.h"
#include "testrunner/testrunner-pattern.h"

/* Largest `cargo metadata` output accepted. */
#define CARGO_METADATA_SIZE_MAX (64U << 20)
/* Most workspace packages, and most targets in one package. */
#define CARGO_PACKAGES_MAX 16384U
#define CARGO_TARGETS_MAX 65536U
/* Longest line of `cargo test` messages (a compiler message with its rendering can be long). */
#define CARGO_BUILD_LINE_MAX (16U << 20)
/* Largest `--list` output, and most cases in it. */
#define CARGO_LIST_SIZE_MAX (64U << 20)
#define CARGO_LIST_CASES_MAX (1U << 20)

typedef struct CargoTarget {
        char *name;
        char **kinds;          /* cargo's own: "lib", "rlib", "bin", "test", "custom-build", ... */
        char **crate_types;
        char *src_path;
        bool test;             /* `cargo test` builds it as a test */
        CargoTargetKind kind;  /* ours, from kinds; _CARGO_TARGET_KIND_INVALID for e.g. custom-build */
} CargoTarget;

typedef struct CargoPackage {
        char *id;              /* cargo's package id, as in the build messages */
        char *name;
        char *version;
        char *manifest_path;
        CargoTarget *targets;
        size_t n_targets;
        /* What cargo test gives the package's test executables at run time, "NAME=VALUE":
         * CARGO_MANIFEST_DIR, CARGO_MANIFEST_PATH, CARGO_PKG_NAME, CARGO_PKG_VERSION and its parts
         * (_MAJOR, _MINOR, _PATCH, _PRE), CARGO_PKG_AUTHORS (joined with ':'), and CARGO_PKG_DESCRIPTION,
         * _HOMEPAGE, _REPOSITORY, _LICENSE, _LICENSE_FILE, _RUST_VERSION, _README (empty when unset). */
        char **environment;
} CargoPackage;

typedef struct CargoMetadata {
        char *workspace_root;   /* the project directory */
        char *target_directory;
        CargoPackage *packages; /* the workspace members, in the order of "workspace_members" */
        size_t n_packages;
} CargoMetadata;

CargoMetadata *cargo_metadata_free(CargoMetadata *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(CargoMetadata *, cargo_metadata_free);

/* Parses the output of `cargo metadata --format-version 1 --no-deps`.  Only the packages named in
 * "workspace_members" are kept (so output without --no-deps works too).  Unknown fields are ignored. */
int cargo_metadata_parse(const char *text, size_t size, CargoMetadata **ret, char **reterr_message);

/* The workspace package with this id or name; NULL if none. */
const CargoPackage *cargo_metadata_find_package(const CargoMetadata *m, const char *id);
const CargoPackage *cargo_metadata_find_package_by_name(const CargoMetadata *m, const char *name);

/* Our kind for a cargo target's "kind" list: lib, rlib, dylib, cdylib, staticlib, proc-macro → library;
 * bin → binary; test → test; example → example; bench → benchmark.  The first kind that maps wins;
 * -EINVAL if none does (custom-build, an empty list). */
int cargo_target_kind_from_cargo(char * const *kinds, CargoTargetKind *ret);

/* The stream of `cargo test --no-run --message-format=json-render-diagnostics` messages. */
typedef enum CargoBuildEventType {
        CARGO_BUILD_EVENT_ARTIFACT, /* a test executable was built */
        CARGO_BUILD_EVENT_BINARY,   /* a workspace package's binary target was built (for its integration
                                     * tests and benchmarks: CARGO_BIN_EXE_<name>) */
        CARGO_BUILD_EVENT_MESSAGE,  /* a compiler diagnostic, to print */
        CARGO_BUILD_EVENT_FINISHED, /* the build ended */
        CARGO_BUILD_EVENT_BUILD_SCRIPT, /* a build script ran */
        _CARGO_BUILD_EVENT_TYPE_MAX,
        _CARGO_BUILD_EVENT_TYPE_INVALID = -EINVAL,
} CargoBuildEventType;

/* "artifact", "message", "finished", "build-script". */
const char *cargo_build_event_type_to_string(CargoBuildEventType t);
CargoBuildEventType cargo_build_event_type_from_string(const char *s);

/* Strings are borrowed, valid during the callback only. */
typedef struct CargoBuildEvent {
        CargoBuildEventType type;
        unsigned line;                /* 1-based line of the message */
        /* ARTIFACT, BINARY */
        const char *package_id;
        const char *package_name;     /* from the metadata */
        const char *target_name;
        CargoTargetKind target_kind;
        const char *executable;
        /* MESSAGE: the text rustc rendered (ends in a newline) */
        const char *rendered;
        /* FINISHED */
        bool success;
        /* BUILD_SCRIPT: the directories its cargo:rustc-link-search lines named, without the KIND= prefix */
        char **linked_paths;
} CargoBuildEvent;

/* A negative return stops the parser: cargo_build_parser_feed() returns it as it is. */
typedef int (*CargoBuildEventFunc)(const CargoBuildEvent *event, void *userdata);

typedef struct CargoBuildParser CargoBuildParser;

/* metadata (borrowed; must outlive the parser) maps package ids to names: an artifact of a package that is
 * not in it is an error. */
int cargo_build_parser_new(const CargoMetadata *metadata, CargoBuildEventFunc callback, void *userdata,
                           CargoBuildParser **ret);
CargoBuildParser *cargo_build_parser_free(CargoBuildParser *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(CargoBuildParser *, cargo_build_parser_free);

/* Feeds size bytes as they were read: lines may be split anywhere.  Each complete line is one JSON object
 * with a "reason"; reasons other than compiler-artifact, compiler-message, build-script-executed and
 * build-finished are ignored, as are artifacts that are not test executables, build scripts that name no
 * directory (or whose linked_paths is not a list of strings), and empty lines.  After an error the parser
 * takes no more input and returns the same error again. */
int cargo_build_parser_feed(CargoBuildParser *p, const char *data, size_t size, char **reterr_message);
/* At the end of the stream: parses a last line without a newline, then returns 1 if build-finished said
 * success, 0 if it said failure, -EBADMSG if there was none. */
int cargo_build_parser_finish(CargoBuildParser *p, char **reterr_message);

/* Parses `<exe> --list --format terse` (or with --ignored): "NAME: test" lines are cases, "NAME: benchmark"
 * lines and empty lines are skipped, anything else is an error.  *ret is the case names in order (an empty
 * strv for none). */
int cargo_test_list_parse(const char *text, size_t size, char ***ret, char **reterr_message);

/* `exe --exact --nocapture case_name extra_args...`, without the extra args that say again --exact or
 * --nocapture (or --no-capture).  -EINVAL for an empty exe. */
int cargo_case_argv(const char *exe, const char *case_name, char * const *extra_args, char ***ret);

/* Whether a case's output says that libtest ran no test at all ("test result: ok. 0 passed; 0 failed;"):
 * its name matched none, and exit status 0 would be a pass for nothing. */
bool cargo_case_ran_nothing(const char *output, size_t size);

/* Checks the extra arguments for the test executables: -EINVAL, with a message that says what to use
 * instead, for a libtest option that would take over what a case runs: --skip (with --exact it skips
 * exactly the case it names, which then passes without running), --list and --bench. */
int cargo_extra_args_check(char * const *args, char **reterr_message);

/* The values passed through to cargo. */
typedef struct CargoBuildOptions {
        char **features;          /* each one as --features VALUE */
        bool all_features;
        bool no_default_features;
        const char *profile;      /* NULL: cargo's default */
        const char *target;       /* a target triple */
        const char *target_dir;
        const char *manifest_path;
        bool frozen;
        bool locked;
        bool offline;
} CargoBuildOptions;

/* `cargo test --no-run --message-format=json-render-diagnostics` with the options, then `-p NAME` for each
 * of packages, or `--workspace` when packages is empty.  opts may be NULL (none set).  -EINVAL for an empty
 * package name. */
int cargo_build_argv(const CargoBuildOptions *opts, char * const *packages, char ***ret);

/* The output directory of a profile (the <build-dir> template): TARGET_DIRECTORY[/TARGET]/DIR, where DIR is
 * "debug" for the dev and test profiles (and NULL: the default), "release" for release and bench, and the
 * profile's own name otherwise. */
int cargo_profile_dir(const char *target_directory, const char *target, const char *profile, char **ret);

/* The layer of a package's directory, where cargo test runs its tests: a glob layer (relative to the
 * workspace root) of the files at its top (Cargo.toml, README, ...) and of the directories where cargo looks
 * for targets, src/, tests/, benches/ and examples/, with everything below them, put at their paths on this
 * machine (where CARGO_MANIFEST_DIR says), with template variables and glob characters in the paths escaped.
 * Other directories (target/, .git/, data) are left out: a directive adds them.  -EINVAL when package_dir is
 * not the workspace root or a directory under it, or either is not an absolute path. */
int cargo_package_layer(const char *workspace_root, const char *package_dir, LayerSpec *ret);
