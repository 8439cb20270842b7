/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* The listing state (spec/04): state/test-listing.toml records, per package, per artifact (test binary),
 * per case, the last few durations and whether the last run failed.  It orders the jobs of a run (new or
 * previously failed cases first, then the longest first) and feeds the progress estimate.
 *
 * The file:
 *
 *     version = 1
 *
 *     [packages."pkg".artifacts."bin".cases."mod::test"]
 *     durations = [0.25, 0.5]   # seconds, oldest first
 *     failed = false
 */

#include <stdbool.h>
#include <stddef.h>

#include "basic/macro.h"
#include "basic/time-util.h"

#define TEST_LISTING_VERSION 1
/* Durations kept per case. */
#define TEST_LISTING_DURATIONS_MAX 3U
/* Most cases a listing file may hold, over all artifacts. */
#define TEST_LISTING_CASES_MAX (1U << 20)

typedef struct TestListingCase {
        char *name;
        usec_t durations[TEST_LISTING_DURATIONS_MAX]; /* oldest first */
        unsigned n_durations;
        bool failed; /* the last run failed */
} TestListingCase;

typedef struct TestListingArtifact {
        char *name;
        TestListingCase *cases; /* sorted by name (strcmp) */
        size_t n_cases;
} TestListingArtifact;

typedef struct TestListingPackage {
        char *name;
        TestListingArtifact *artifacts;
        size_t n_artifacts;
} TestListingPackage;

typedef struct TestListing {
        TestListingPackage *packages;
        size_t n_packages;
        size_t n_cases; /* over all artifacts */
} TestListing;

int test_listing_new(TestListing **ret);
TestListing *test_listing_free(TestListing *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(TestListing *, test_listing_free);

/* Parse the text of a listing file.  -EBADMSG: not TOML, or not a listing; -EPROTO: another version;
 * -E2BIG: more than TEST_LISTING_CASES_MAX cases; -ENOMEM. */
int test_listing_parse(const char *text, size_t size, TestListing **ret);

/* Load path.  A listing is always produced: returns 0 when the file was read, or is missing (empty
 * listing); returns 1 when the file could not be used (*ret is then empty) and sets *ret_problem (if not
 * NULL) to why: -EBADMSG (corrupt), -EPROTO (another version), -E2BIG, or an error reading it, for the
 * caller to log as a warning.  Returns < 0 only for -ENOMEM. */
int test_listing_load(const char *path, TestListing **ret, int *ret_problem);

/* The TOML text.  Names that are not valid UTF-8 cannot be written in TOML: their cases are left out (they
 * count as new next time). */
int test_listing_format(const TestListing *l, char **ret);
/* Write atomically (creating the directory if needed). */
int test_listing_save(const TestListing *l, const char *path);

/* The artifact's cases were listed again: keep the history of those still there, add the new ones (with
 * no history), drop those that are gone.  cases may hold duplicates. */
int test_listing_update_artifact(TestListing *l, const char *package, const char *artifact,
                                 char * const *cases);
/* A case finished: remember its duration (keeping the last TEST_LISTING_DURATIONS_MAX) and outcome. */
int test_listing_record(TestListing *l, const char *package, const char *artifact, const char *name,
                        usec_t duration, bool failed);

/* NULL = not in the listing (a new case). */
const TestListingCase *test_listing_find(const TestListing *l, const char *package, const char *artifact,
                                         const char *name);

/* The estimated duration: the mean of the recorded durations; 0 = unknown (c NULL or no durations). */
usec_t test_listing_case_estimate(const TestListingCase *c);
/* Whether a case goes first: new (NULL), never timed, or failed last time. */
bool test_listing_case_is_urgent(const TestListingCase *c);
/* The order of a run, for qsort-like use: urgent cases first, then the longest estimate first.  NULL
 * (a new case) is allowed.  < 0 when a goes before b. */
int test_listing_case_compare(const TestListingCase *a, const TestListingCase *b);
