/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* The parsing half of maelstrom-go-test's adapter (spec/04): pure functions over what go and the test
 * binaries print, the command lines given to them, and where a package goes in a case's container.  Nothing
 * here starts a process.
 *
 *   nearest go.mod upward                           → go_module_find()
 *   go list -e -json=<fields> ./...                 → go_list_argv(), go_list_parse()
 *   go test -c -o <cache>/bin/<slot>/ [-vet=V] <import path>...
 *                                                   → go_binary_name(), go_binary_slots(), go_build_argv()
 *   its build ID, to tell an unchanged binary      → go_binary_build_id(), go_build_id_find()
 *   <bin> -test.list .                              → go_test_list_parse()
 *   /<bin> -test.run ^Name$ -test.timeout=0 -test.v [-test.short] [-test.fullpath] [extra args]
 *                                                   → go_case_argv(); its output → go_case_result()
 *
 * In a case's container the module's root directory is where it is on this machine, as go test runs a
 * package's tests in its directory (where the source paths compiled into the binary point), or, where the
 * container would hide that path, GO_CONTAINER_ROOT/<module path> (so a package's directory is
 * GO_CONTAINER_ROOT/<its import path>); the package's files go there and its cases run there:
 * go_package_layer(), go_container_dir().
 *
 * Errors: -EBADMSG for malformed input, -E2BIG over a limit below, with *reterr_message (when not NULL) set
 * to an allocated sentence naming what is wrong, e.g. "go list: package 3: 'ImportPath' is missing";
 * -ENOMEM. */

#include <stdbool.h>
#include <stddef.h>

#include "basic/macro.h"
#include "spec/spec.h"

/* Largest `go list` output accepted, and most packages in it. */
#define GO_LIST_SIZE_MAX (64U << 20)
#define GO_PACKAGES_MAX 65536U
/* Largest `-test.list` output, and most cases in it. */
#define GO_TEST_LIST_SIZE_MAX (16U << 20)
#define GO_TEST_LIST_CASES_MAX (1U << 20)

/* Where the module's root directory is in a case's container that would hide its own path:
 * GO_CONTAINER_ROOT "/" <module path>. */
#define GO_CONTAINER_ROOT "/go/src"

/* The directory holding go.mod: start itself or its nearest ancestor that has one (a regular file, or a
 * symbolic link to one).  start must be absolute.  -ENOENT if there is none, -EINVAL for a relative
 * start. */
int go_module_find(const char *start, char **ret);

typedef struct GoPackage {
        char *import_path;
        char *dir;             /* absolute; NULL if go did not say */
        char *name;            /* the package clause; NULL if go could not read it */
        char **test_go_files;  /* never NULL */
        char **xtest_go_files; /* never NULL */
        char *module_path;     /* NULL: the package is not in a module */
        char *module_dir;
        char *error;           /* what go list -e found wrong with the package; NULL = nothing */
} GoPackage;

typedef struct GoPackageList {
        GoPackage *packages; /* in go list's order */
        size_t n_packages;
} GoPackageList;

GoPackageList *go_package_list_free(GoPackageList *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(GoPackageList *, go_package_list_free);

/* `go list -e -json=Dir,ImportPath,Name,TestGoFiles,XTestGoFiles,Module,Error ./...` (go >= 1.19). */
int go_list_argv(char ***ret);

/* Parses that output: a stream of JSON objects, one per package.  ImportPath is required; the other fields
 * may be missing (then NULL or empty); unknown fields are ignored. */
int go_list_parse(const char *text, size_t size, GoPackageList **ret, char **reterr_message);

/* Whether the package has _test.go files (its own or an external _test package's). */
bool go_package_has_tests(const GoPackage *p);
/* The package_path selector: the import path minus the module path and a slash, "" at the module root.  NULL
 * when the package is not in a module or its import path is not below the module path.  Points into p. */
const char *go_package_path(const GoPackage *p);
/* The package's directory relative to its module's root, "" at the root; NULL when it is not below it.
 * Points into p. */
const char *go_package_relative_dir(const GoPackage *p);

/* The file name go test -c -o DIR/ gives a package's test binary (go's DefaultExecName): the import path's
 * last element, or the one before it when that is a major version suffix ("v2" and up, as in
 * example.com/m/v2), then ".test".  -EINVAL for an empty import path or one ending in '/'. */
int go_binary_name(const char *import_path, char **ret);

/* Packages whose binaries have the same name go to different directories of the cache: ret[i] is the
 * number of names[j] with j < i equal to names[i] (n of them).  The same list always gives the same
 * slots. */
int go_binary_slots(char *const *names, size_t n, unsigned *ret);

/* A Go binary's build ID: go puts it in an ELF note (name "Go", type 4) that a PT_NOTE program header
 * points at, within the first GO_BUILD_ID_SEARCH_SIZE bytes of the file (as much as go's own reader looks
 * at).  go ends the ID of a linked binary with a hash of the binary's content, so two binaries with the same
 * ID have the same bytes. */
#define GO_BUILD_ID_SEARCH_SIZE (32U << 10)
#define GO_BUILD_ID_MAX 1024U

/* The build ID in data (size bytes, the start of an ELF file, 32 or 64 bits, either byte order): -ENOENT if
 * it is not ELF or has no such note in data, -EBADMSG if the note is empty or has a NUL in it, -E2BIG if it
 * is longer than GO_BUILD_ID_MAX. */
int go_build_id_find(const void *data, size_t size, char **ret);
/* The same, read from the start of the file at path; the errors of open() and read() otherwise. */
int go_binary_build_id(const char *path, char **ret);

/* `go test -c -o output [-vet=vet] import_paths...`; vet NULL = go's default.  output is the binary, or for
 * several packages a directory ending in '/' (go >= 1.21), where each one's binary is go_binary_name(). */
int go_build_argv(const char *vet, const char *output, char *const *import_paths, char ***ret);

/* What to show for a package that failed to build: go test -c's output (a newline added if missing), then
 * "FAIL\t<import path> [build failed]" as go test prints it, unless go already printed a FAIL line for the
 * package (it does for setup failures, not for compile errors). */
int go_build_failure_message(const char *output, const char *import_path, char **ret);

/* Parses `<bin> -test.list .`: one name per line.  Tests, examples (the binary lists only those with output)
 * and fuzz targets are the cases, in order; benchmarks, empty lines and lines that are not a Go identifier
 * (whatever a TestMain prints) are skipped.  *ret is an empty strv for none. */
int go_test_list_parse(const char *text, size_t size, char ***ret, char **reterr_message);

/* Go's regexp.QuoteMeta: a backslash before each of \.+*?()|[]{}^$. */
int go_regex_quote(const char *s, char **ret);

typedef struct GoCaseOptions {
        bool short_mode;        /* -test.short */
        bool fullpath;          /* -test.fullpath */
        char *const *extra_args; /* after the rest; may be NULL */
} GoCaseOptions;

/* `program -test.run ^<quoted name>$ -test.timeout=0 -test.v [-test.short] [-test.fullpath] extra...`.
 * -EINVAL for an empty program or name. */
int go_case_argv(const char *program, const char *name, const GoCaseOptions *o, char ***ret);
/* What to use instead of go test's ways to choose what runs. */
#define GO_HINT_RUN "to select cases by a regular expression, use --include 'name.matches(REGEX)'"
#define GO_HINT_SKIP "to leave cases out by a regular expression, use --exclude 'name.matches(REGEX)'"
#define GO_HINT_BENCH "benchmarks are not run here; go test -bench runs them"
#define GO_HINT_FUZZ "fuzzing is not run here; each fuzz target's seed corpus runs as a case"

/* Checks the extra arguments for the test binaries: -EINVAL, with a message that says what to use instead,
 * for a flag that would take over the choice of what a case runs: -test.run, -test.skip and -test.list
 * (each case would run those tests instead, and pass), -test.bench*, -test.fuzz* (or each spelt as go
 * test's -run, -bench, ...; with one dash or two, '=VALUE' or not). */
int go_extra_args_check(char *const *args, char **reterr_message);

typedef enum GoCaseResult {
        GO_CASE_PASS,
        GO_CASE_FAIL,
        GO_CASE_SKIP,
        _GO_CASE_RESULT_MAX,
        _GO_CASE_RESULT_INVALID = -EINVAL,
} GoCaseResult;

/* "pass", "fail", "skip". */
const char *go_case_result_to_string(GoCaseResult r);
GoCaseResult go_case_result_from_string(const char *s);

/* What the verbose output of a case's run (size bytes, need not be NUL-terminated) says about the top-level
 * test name: the last line that starts with "--- PASS: <name> (", "--- FAIL: <name> (" or
 * "--- SKIP: <name> (" (subtests' lines are indented and do not count).  -ENOENT if there is none. */
int go_case_result(const char *output, size_t size, const char *name, GoCaseResult *ret);

/* Whether a run's standard error says that it ran no test at all ("testing: warning: no tests to run"): the
 * case's name matched none, and exit status 0 would be a pass for nothing. */
bool go_case_ran_nothing(const char *output, size_t size);

/* The layer of a package's directory: a glob layer (relative to the module root) of its files, not its
 * subdirectories, and testdata/ with everything below it, and the testdata/ of each directory above it up to
 * the module root (tests read ../testdata too), put under module_root, the module root's absolute path in
 * the container (with template variables and glob characters in the paths escaped).  relative_dir as
 * go_package_relative_dir() gives it.  -EINVAL for a module_root that is not absolute, or a relative_dir as
 * go_container_dir() refuses it. */
int go_package_layer(const char *module_root, const char *relative_dir, LayerSpec *ret);

/* GO_CONTAINER_ROOT/<module_path>[/<relative_dir>]: the module root's or a package's directory in a
 * container that would hide the module's own directory.  -EINVAL for a module path that is empty,
 * absolute, or has an empty, "." or ".." component, and for such a relative_dir ("" is the root). */
int go_container_dir(const char *module_path, const char *relative_dir, char **ret);
