/* SPDX-License-Identifier: MIT OR Apache-2.0 */

/* The runners' spec file (a user's file) and the listing state (our own file, but anything may be on disk):
 * the first byte chooses which, and for spec files the runner.  A good spec file is folded for every
 * combination of its first directives' filters and collapsed; a good listing is written and read back, and
 * must give the same text again. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "testrunner/testrunner-directives.h"
#include "testrunner/testrunner-listing.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* userdata is a bit mask: directive i matches when bit i % 8 is set. */
static int match_bits(const TestDirective *d, size_t index, void *userdata) {
        return (*(const unsigned *) userdata >> (index % 8)) & 1;
}

static void fuzz_spec_file(TestRunnerKind kind, const char *text, size_t size) {
        static char *const environment[] = { (char *) "RUST_BACKTRACE=1", NULL };
        _cleanup_(test_spec_file_freep) TestSpecFile *f = NULL;
        _cleanup_free_ char *message = NULL;
        TestSpecError e = {};

        if (test_spec_file_parse(kind, text, size, /* file_name= */ NULL, &f, &e) < 0) {
                if (!e.message[0] || test_spec_error_format(&e, &message) < 0)
                        abort();
                return;
        }
        for (unsigned bits = 0; bits < 4; bits++) {
                _cleanup_(test_candidate_freep) TestCandidate *c = NULL;
                _cleanup_(job_spec_freep) JobSpec *j = NULL;
                _cleanup_(resolved_job_freep) ResolvedJob *resolved = NULL;
                SpecError se = {};

                if (test_spec_file_apply(f, match_bits, &bits, &c) < 0 || job_spec_new(&j) < 0)
                        abort();
                j->program = strdup("/test");
                if (!j->program)
                        abort();
                j->container = c->container;
                container_spec_init(&c->container);
                (void) job_spec_collapse(j, test_spec_file_lookup_container, f, /* image= */ NULL,
                                         environment, &resolved, &se);
        }
}

static void fuzz_listing(const char *text, size_t size) {
        _cleanup_(test_listing_freep) TestListing *l = NULL, *m = NULL;
        _cleanup_free_ char *out = NULL, *again = NULL;

        if (test_listing_parse(text, size, &l) < 0)
                return;
        if (test_listing_record(l, "p", "a", "c", 1, true) < 0)
                abort();
        if (test_listing_format(l, &out) < 0 || test_listing_parse(out, strlen(out), &m) < 0 ||
            test_listing_format(m, &again) < 0 || strcmp(out, again) != 0)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 1)
                return 0;
        char *text = malloc(size);
        if (!text)
                return 0;
        memcpy(text, data + 1, size - 1);
        text[size - 1] = 0;
        if (data[0] % 4 == 3)
                fuzz_listing(text, size - 1);
        else
                fuzz_spec_file((TestRunnerKind) (data[0] % 4), text, size - 1);
        free(text);
        return 0;
}
