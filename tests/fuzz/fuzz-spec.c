/* SPDX-License-Identifier: MIT OR Apache-2.0 */

/* maelstrom-run's job stream, as a user or a program could write it: the reader, the JSON to document
 * conversion with positions, the decoder, and for each good job the collapse and environment expansion. The
 * first byte chooses how the rest is cut into chunks (0 = all at once), so that the incremental paths are
 * covered too. */

#include <stdint.h>

#include "spec/spec-json.h"
#include "spec/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_job(JobSpecReader *r, unsigned job, JobSpec *spec, const SpecError *error, void *userdata) {
        static char *const environment[] = { (char *) "HOME=/home/fuzz", (char *) "EMPTY=", NULL };
        static char *const image_environment[] = { (char *) "PATH=/usr/bin", (char *) "LANG=C.UTF-8", NULL };
        const ImageConfig image = { .environment = image_environment, .working_directory = "/img" };
        _cleanup_(job_spec_freep) JobSpec *j = spec;
        _cleanup_(resolved_job_freep) ResolvedJob *resolved = NULL;
        _cleanup_free_ char *message = NULL;
        SpecError e = {};

        if (error) {
                /* Every error has a message, and a position within the stream when it is about the text. */
                if (!error->message[0] || error->job != job)
                        abort();
                (void) spec_error_format(error, &message);
                return 0;
        }
        if (!j->program || !j->arguments)
                abort();
        (void) job_spec_collapse(j, /* lookup= */ NULL, /* userdata= */ NULL, &image, environment, &resolved,
                                 &e);
        if (resolved && (!resolved->working_directory || !resolved->environment || !resolved->arguments))
                abort();
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(job_spec_reader_freep) JobSpecReader *r = NULL;
        size_t step;

        if (size < 1)
                return 0;
        step = data[0] % 8 == 0 ? size : (size_t) (data[0] % 8);
        data++;
        size--;

        if (job_spec_reader_new(on_job, NULL, &r) < 0)
                return 0;
        /* Small limits, so that the fuzzer reaches them. */
        if (data[-1] & 0x80 && job_spec_reader_set_limits(r, 256, 4) < 0)
                abort();
        for (size_t i = 0; i < size; i += step)
                if (job_spec_reader_feed(r, data + i, MIN(step, size - i), NULL) < 0)
                        return 0;
        (void) job_spec_reader_finish(r, NULL);
        return 0;
}
