/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <assert.h>
#include <stdlib.h>

#include "broker-scheduler.h"

/* Better first: higher priority, then the longest estimated duration, then the first to arrive. */
static int sched_job_compare(const void *a, const void *b) {
        const SchedJob *x = a, *y = b;
        if (x->priority != y->priority)
                return x->priority > y->priority ? -1 : 1;
        if (x->estimate != y->estimate)
                return x->estimate > y->estimate ? -1 : 1;
        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int scheduler_init(Scheduler *s) {
        *s = (Scheduler) {};
        return prioq_new(sched_job_compare, &s->pending);
}

void scheduler_done(Scheduler *s) {
        s->pending = prioq_free(s->pending);
}

void sched_job_init(SchedJob *j, int priority, uint64_t estimate, const Digest *layers, size_t n_layers) {
        *j = (SchedJob) {
                .priority = priority,
                .estimate = estimate,
                .layers = layers,
                .n_layers = n_layers,
                .queue_idx = PRIOQ_IDX_NULL,
        };
}

bool sched_job_is_pending(const SchedJob *j) {
        return j->queue_idx != PRIOQ_IDX_NULL;
}

static int sched_job_put(Scheduler *s, SchedJob *j) {
        return prioq_put(s->pending, j, &j->queue_idx);
}

int sched_job_enqueue(Scheduler *s, SchedJob *j) {
        assert(!j->worker && !sched_job_is_pending(j));
        j->seq = ++s->next_seq;
        return sched_job_put(s, j);
}

static void worker_unlink_job(Scheduler *s, SchedJob *j) {
        SchedWorker *w = j->worker;
        if (j->wprev)
                j->wprev->wnext = j->wnext;
        else
                w->running = j->wnext;
        if (j->wnext)
                j->wnext->wprev = j->wprev;
        j->wprev = j->wnext = NULL;
        j->worker = NULL;
        w->used--;
        s->n_running--;
}

void sched_job_remove(Scheduler *s, SchedJob *j) {
        if (j->worker)
                worker_unlink_job(s, j);
        else if (sched_job_is_pending(j))
                (void) prioq_remove(s->pending, j, &j->queue_idx);
}

int sched_worker_init(SchedWorker *w, unsigned slots) {
        *w = (SchedWorker) { .slots = slots };
        return digest_map_new(/* free_value= */ NULL, &w->layers);
}

void sched_worker_done(SchedWorker *w) {
        w->layers = digest_map_free(w->layers);
}

void sched_worker_add(Scheduler *s, SchedWorker *w) {
        w->next = s->workers;
        if (s->workers)
                s->workers->prev = w;
        s->workers = w;
        s->n_workers++;
}

int sched_worker_remove(Scheduler *s, SchedWorker *w) {
        int n = 0, r = 0;

        while (w->running) {
                SchedJob *j = w->running;
                worker_unlink_job(s, j);
                /* Keeps its seq: ahead of those that arrived after it. */
                int k = sched_job_put(s, j);
                if (k < 0)
                        r = k;
                else
                        n++;
        }
        if (w->prev)
                w->prev->next = w->next;
        else if (s->workers == w)
                s->workers = w->next;
        if (w->next)
                w->next->prev = w->prev;
        w->prev = w->next = NULL;
        s->n_workers--;
        return r < 0 ? r : n;
}

static size_t worker_layers_held(const SchedWorker *w, const SchedJob *j) {
        size_t n = 0;
        for (size_t i = 0; i < j->n_layers; i++)
                if (digest_map_get(w->layers, &j->layers[i]))
                        n++;
        return n;
}

bool sched_next(Scheduler *s, SchedJob **ret_job, SchedWorker **ret_worker) {
        SchedJob *j = prioq_peek(s->pending);
        SchedWorker *best = NULL;
        size_t best_held = 0;

        if (!j)
                return false;
        /* First a free slot; only when there is none anywhere, room to prepare the job ahead. */
        for (unsigned pass = 0; pass < (s->prepare_ahead ? 2u : 1u) && !best; pass++)
                for (SchedWorker *w = s->workers; w; w = w->next) {
                        if (w->used >= w->slots * (pass + 1))
                                continue;
                        size_t held = worker_layers_held(w, j);
                        /* More layers held wins; then the smaller share of slots in use. */
                        if (!best || held > best_held ||
                            (held == best_held &&
                             (uint64_t) w->used * best->slots < (uint64_t) best->used * w->slots)) {
                                best = w;
                                best_held = held;
                        }
                }
        if (!best)
                return false;

        (void) prioq_pop(s->pending);
        j->queue_idx = PRIOQ_IDX_NULL;
        j->worker = best;
        j->wnext = best->running;
        if (best->running)
                best->running->wprev = j;
        best->running = j;
        best->used++;
        s->n_running++;
        for (size_t i = 0; i < j->n_layers; i++)
                if (digest_map_size(best->layers) < SCHED_WORKER_MAX_LAYERS)
                        (void) digest_map_put(best->layers, &j->layers[i], (void *) 1);
        *ret_job = j;
        *ret_worker = best;
        return true;
}

unsigned sched_worker_busy(const SchedWorker *w) {
        return MIN(w->used, w->slots);
}

size_t sched_n_pending(const Scheduler *s) {
        return prioq_size(s->pending);
}
