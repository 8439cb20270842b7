/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* The broker's scheduling, as pure logic (no I/O, no gRPC): pending jobs ordered by priority, then the
 * longest estimated duration, then arrival; workers with slots; and which layers each worker was given, so
 * that a job goes preferably where its layers are cached already.  The objects are embedded in the broker's
 * jobs and workers. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/prioq.h"
#include "digest/digest-map.h"

/* Layers remembered per worker at most: a cap on what the broker keeps per worker. */
#define SCHED_WORKER_MAX_LAYERS 100000U

typedef struct SchedWorker SchedWorker;

typedef struct SchedJob {
        int priority;
        uint64_t estimate;       /* estimated duration, µs */
        const Digest *layers;    /* borrowed */
        size_t n_layers;

        /* Owned by the scheduler */
        uint64_t seq;
        unsigned queue_idx;      /* in the pending queue, PRIOQ_IDX_NULL if not there */
        SchedWorker *worker;     /* running there, or NULL */
        struct SchedJob *wprev, *wnext; /* in worker->running */
} SchedJob;

struct SchedWorker {
        unsigned slots;
        /* Owned by the scheduler */
        unsigned used;
        DigestMap *layers;       /* layer digests it was given (value: non-NULL) */
        SchedJob *running;       /* list */
        SchedWorker *prev, *next;
};

typedef struct Scheduler {
        Prioq *pending;
        SchedWorker *workers;
        uint64_t next_seq;
        unsigned n_workers;
        uint64_t n_running;
        /* Once every slot is busy, give each worker up to as many jobs again as it has slots: it prepares
         * their containers while its slots are busy and starts each as soon as a slot frees (the worker says
         * RUNNING then).  Off by default. */
        bool prepare_ahead;
} Scheduler;

int scheduler_init(Scheduler *s);
void scheduler_done(Scheduler *s);

void sched_job_init(SchedJob *j, int priority, uint64_t estimate, const Digest *layers, size_t n_layers);
/* Queues j as pending (j must be neither pending nor running). */
int sched_job_enqueue(Scheduler *s, SchedJob *j);
/* Takes j out of the queue, or off its worker (freeing the slot).  No-op if neither. */
void sched_job_remove(Scheduler *s, SchedJob *j);
bool sched_job_is_pending(const SchedJob *j);

int sched_worker_init(SchedWorker *w, unsigned slots);
void sched_worker_add(Scheduler *s, SchedWorker *w);
/* Takes the worker out; its running jobs go back to pending, ahead of later arrivals of equal rank (they
 * keep their place).  Returns how many were requeued, or a negative errno if queueing failed (then the jobs
 * not requeued are neither pending nor running). */
int sched_worker_remove(Scheduler *s, SchedWorker *w);
void sched_worker_done(SchedWorker *w);

/* The next assignment: the best pending job, on the worker with a free slot that holds most of its layers
 * (ties: the least busy); with prepare_ahead and no free slot anywhere, on a worker with room to prepare it.
 * Marks the job assigned there and returns true; false if there is no pending job or no room. */
bool sched_next(Scheduler *s, SchedJob **ret_job, SchedWorker **ret_worker);
/* How many of the worker's slots are in use (jobs assigned beyond its slots wait to be prepared). */
unsigned sched_worker_busy(const SchedWorker *w);

size_t sched_n_pending(const Scheduler *s);
