/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* The runners' spec file (cargo-maelstrom.toml, maelstrom-go-test.toml, maelstrom-pytest.toml; spec/04): a
 * `containers` table of named container specs and a `directives` array of tables, which are folded in order
 * into the container of each test case.  The container fields are decoded by the spec module; this adds
 * the directive-only fields (filter, ignore, timeout, include_shared_libraries), unknown-key errors with
 * file and line, the fold, and the built-in default file of each runner. */

#include <stdbool.h>
#include <stddef.h>

#include "basic/macro.h"
#include "basic/time-util.h"
#include "spec/spec.h"

typedef enum TestRunnerKind {
        TEST_RUNNER_CARGO,
        TEST_RUNNER_GO,
        TEST_RUNNER_PYTEST,
        _TEST_RUNNER_KIND_MAX,
        _TEST_RUNNER_KIND_INVALID = -EINVAL,
} TestRunnerKind;

/* "cargo", "go", "pytest". */
const char *test_runner_kind_to_string(TestRunnerKind k);
TestRunnerKind test_runner_kind_from_string(const char *s);
/* "cargo-maelstrom.toml", "maelstrom-go-test.toml", "maelstrom-pytest.toml". */
const char *test_runner_spec_file_name(TestRunnerKind k);

/* Limits on what a spec file may declare. */
#define TEST_SPEC_DIRECTIVES_MAX 4096U
#define TEST_SPEC_CONTAINERS_MAX 4096U

typedef struct TestDirective {
        unsigned line, column; /* of the directive's table (its [[directives]] header) */
        char *filter;          /* the pattern text, NULL = matches every case */
        unsigned filter_line, filter_column;
        ContainerSpec container; /* the container fields this directive sets */
        bool ignore;
        bool ignore_set;
        usec_t timeout; /* 0 = none */
        bool timeout_set;
        bool include_shared_libraries; /* cargo only */
        bool include_shared_libraries_set;
} TestDirective;

typedef struct TestNamedContainer {
        char *name;
        unsigned line, column;
        ContainerSpec *spec;
} TestNamedContainer;

typedef struct TestSpecFile {
        TestRunnerKind kind;
        TestNamedContainer *containers; /* in file order; names are unique */
        size_t n_containers;
        TestDirective *directives; /* in file order */
        size_t n_directives;
} TestSpecFile;

/* An error in a spec file: "FILE:LINE:COLUMN: MESSAGE". */
typedef struct TestSpecError {
        char file[256];
        unsigned line, column; /* 0 = no position */
        unsigned directive;    /* 1-based index of the directive it is in; 0 = none */
        char message[640];     /* e.g. "directive 3: unknown key 'layer'" */
} TestSpecError;

/* "cargo-maelstrom.toml:12:1: directive 3: unknown key 'layer'" (parts not known are left out). */
int test_spec_error_format(const TestSpecError *e, char **ret);

TestSpecFile *test_spec_file_free(TestSpecFile *f);
DEFINE_TRIVIAL_CLEANUP_FUNC(TestSpecFile *, test_spec_file_free);

/* Parse the text of a spec file; file_name is used in messages only (NULL = the runner's file name).
 * Returns -EINVAL (TOML syntax, unknown keys, bad values, image with parent, cargo-only keys in another
 * runner's file), -E2BIG (over the limits above), -ENOMEM, with *reterr filled for the first two.
 * Container references (unknown names, cycles) are checked when collapsing, by job_spec_collapse(). */
int test_spec_file_parse(TestRunnerKind kind, const char *text, size_t size, const char *file_name,
                         TestSpecFile **ret, TestSpecError *reterr);
/* The same from a file; errors from reading it are returned as they are (-ENOENT for a missing file). */
int test_spec_file_load(TestRunnerKind kind, const char *path, TestSpecFile **ret, TestSpecError *reterr);

/* The built-in default spec file of a runner: the TOML text (with comments) that --init writes, and that
 * test_spec_file_parse() reads when the project has no spec file.  pytest_image NULL = the upstream default
 * "docker://python:3.12-slim" (only used for TEST_RUNNER_PYTEST). */
int test_spec_file_default_text(TestRunnerKind kind, const char *pytest_image, char **ret);
int test_spec_file_default(TestRunnerKind kind, const char *pytest_image, TestSpecFile **ret);

/* A ContainerLookupFunc for job_spec_collapse(): userdata is the TestSpecFile. */
const ContainerSpec *test_spec_file_lookup_container(const char *name, void *userdata);

/* ---- folding the directives ---- */

/* What the directives produce for one case. */
typedef struct TestCandidate {
        ContainerSpec container; /* ready to become a JobSpec's container */
        bool ignore;
        usec_t timeout; /* 0 = none */
        bool include_shared_libraries;
        bool include_shared_libraries_set; /* false = the runner's default applies */
} TestCandidate;

TestCandidate *test_candidate_free(TestCandidate *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(TestCandidate *, test_candidate_free);

/* Whether the directive's filter matches the case: > 0 yes, 0 no, < 0 an error that stops the fold and is
 * returned.  index is the 0-based position of d in the file.  Only called for directives with a filter. */
typedef int (*TestDirectiveMatchFunc)(const TestDirective *d, size_t index, void *userdata);

/* Fold the matching directives, in order, into a candidate: a directive setting image or parent resets
 * every other container field first; layers, environment and mounts replace what was gathered so far
 * (added entries included); added_* append; scalars, ignore, timeout and include_shared_libraries
 * overwrite. */
int test_spec_file_apply(const TestSpecFile *f, TestDirectiveMatchFunc match, void *userdata,
                         TestCandidate **ret);
