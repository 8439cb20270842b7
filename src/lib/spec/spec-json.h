/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* maelstrom-run's job stream: JSON objects one after the other, with any whitespace between them (no array,
 * no separators).  The reader is fed bytes as they arrive and calls back once per complete object, as soon
 * as it is complete, with the decoded job or with what is wrong with it.
 *
 * Two kinds of error:
 *   - a bad job (an unknown field, a wrong type, a missing program, a duplicate key, null, ...) fails that
 *     job only: the callback gets the error, and reading goes on with the next object;
 *   - malformed JSON cannot be resynchronised: feed() returns -EBADMSG with the position, and the reader
 *     takes no more input (the jobs already delivered stand).  So do an object larger than the size limit
 *     and one nested deeper than the depth limit, with -E2BIG.
 * Positions are 1-based lines and columns (in characters) counted over the whole stream, pointing at the
 * offending key or value. */

#include <stddef.h>

#include "spec/spec.h"

#define JOB_SPEC_READER_OBJECT_SIZE_MAX ((size_t) 16U * 1024U * 1024U)
#define JOB_SPEC_READER_DEPTH_MAX 32U

typedef struct JobSpecReader JobSpecReader;

/* Called for each top-level value, in order; job is its 1-based position in the stream.  Either spec is the
 * decoded job (the callee takes it) and error is NULL, or spec is NULL and error says what is wrong.  A
 * negative return stops the reader: the feed()/finish() call in progress returns it, and later ones fail.
 * The callback must not free the reader. */
typedef int (*JobSpecReaderFunc)(JobSpecReader *reader, unsigned job, JobSpec *spec, const SpecError *error,
                                 void *userdata);

int job_spec_reader_new(JobSpecReaderFunc callback, void *userdata, JobSpecReader **ret);
JobSpecReader *job_spec_reader_free(JobSpecReader *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(JobSpecReader *, job_spec_reader_free);

/* Limits on one object: its size in bytes (from its first byte to its last) and its nesting depth (a job
 * object with a scalar field is depth 1).  Only before the first feed.  -EINVAL if out of range (size 1 to
 * INT_MAX, depth 1 to 1000). */
int job_spec_reader_set_limits(JobSpecReader *r, size_t max_object_size, unsigned max_depth);

/* Feed the next bytes of the stream.  Returns 0, or -EBADMSG (malformed JSON) / -E2BIG (a limit) with
 * *reterr filled, or what a callback returned, or -ENOMEM. */
int job_spec_reader_feed(JobSpecReader *r, const void *data, size_t size, SpecError *reterr);

/* The end of the stream: completes a value that needs its end to be seen (a top-level number), or fails with
 * -EBADMSG if an object is incomplete. */
int job_spec_reader_finish(JobSpecReader *r, SpecError *reterr);

/* How many top-level values were started so far. */
unsigned job_spec_reader_jobs(const JobSpecReader *r);
