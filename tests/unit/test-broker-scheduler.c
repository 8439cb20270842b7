/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#undef NDEBUG
#include <stdlib.h>

#include "basic/tests.h"
#include "broker-scheduler.h"

static Digest layer(unsigned char c) {
        Digest d;
        memset(d.bytes, c, sizeof d.bytes);
        return d;
}

TEST(priority_then_estimate_then_arrival) {
        Scheduler s;
        SchedWorker w;
        SchedJob j[5], *got;
        SchedWorker *on;

        ASSERT_OK(scheduler_init(&s));
        sched_job_init(&j[0], 0, 100, NULL, 0);
        sched_job_init(&j[1], 0, 500, NULL, 0);
        sched_job_init(&j[2], 5, 1, NULL, 0);
        sched_job_init(&j[3], 0, 500, NULL, 0); /* equal to j[1], later */
        sched_job_init(&j[4], -3, 9999, NULL, 0);
        for (unsigned i = 0; i < 5; i++)
                ASSERT_OK(sched_job_enqueue(&s, &j[i]));
        ASSERT_EQ(sched_n_pending(&s), 5u);

        /* No worker: nothing to do. */
        ASSERT_FALSE(sched_next(&s, &got, &on));

        ASSERT_OK(sched_worker_init(&w, 1));
        sched_worker_add(&s, &w);
        const unsigned expected[] = { 2, 1, 3, 0, 4 };
        for (unsigned i = 0; i < 5; i++) {
                ASSERT_TRUE(sched_next(&s, &got, &on));
                ASSERT_TRUE(got == &j[expected[i]]);
                ASSERT_TRUE(on == &w);
                ASSERT_EQ(w.used, 1u);
                /* The slot is taken: nothing more until the job is done. */
                ASSERT_FALSE(sched_next(&s, &got, &on));
                sched_job_remove(&s, got);
                ASSERT_EQ(w.used, 0u);
        }
        ASSERT_EQ(sched_worker_remove(&s, &w), 0);
        sched_worker_done(&w);
        scheduler_done(&s);
}

TEST(prefers_worker_with_layers) {
        Scheduler s;
        SchedWorker a, b;
        Digest la[2] = { layer(1), layer(2) }, lb[1] = { layer(3) };
        SchedJob x, y, z, *got;
        SchedWorker *on;

        ASSERT_OK(scheduler_init(&s));
        ASSERT_OK(sched_worker_init(&a, 4));
        ASSERT_OK(sched_worker_init(&b, 4));
        sched_worker_add(&s, &a);
        sched_worker_add(&s, &b);

        /* x goes anywhere; y has the same layers and must follow it; z has others and goes to the idle
         * one. */
        sched_job_init(&x, 0, 0, la, 2);
        sched_job_init(&y, 0, 0, la, 2);
        sched_job_init(&z, 0, 0, lb, 1);
        ASSERT_OK(sched_job_enqueue(&s, &x));
        ASSERT_TRUE(sched_next(&s, &got, &on));
        SchedWorker *first = on, *other = on == &a ? &b : &a;
        ASSERT_OK(sched_job_enqueue(&s, &y));
        ASSERT_TRUE(sched_next(&s, &got, &on));
        ASSERT_TRUE(got == &y);
        ASSERT_TRUE(on == first);
        ASSERT_OK(sched_job_enqueue(&s, &z));
        ASSERT_TRUE(sched_next(&s, &got, &on));
        ASSERT_TRUE(on == other);
        ASSERT_EQ(s.n_running, 3u);

        /* A full worker is not chosen even if it holds the layers. */
        SchedJob more[3];
        for (unsigned i = 0; i < 3; i++) {
                sched_job_init(&more[i], 0, 0, la, 2);
                ASSERT_OK(sched_job_enqueue(&s, &more[i]));
        }
        ASSERT_TRUE(sched_next(&s, &got, &on));
        ASSERT_TRUE(on == first);
        ASSERT_TRUE(sched_next(&s, &got, &on));
        ASSERT_TRUE(on == first);
        ASSERT_EQ(first->used, 4u);
        ASSERT_TRUE(sched_next(&s, &got, &on));
        ASSERT_TRUE(on == other);

        ASSERT_EQ(sched_worker_remove(&s, first), 4);
        ASSERT_EQ(sched_worker_remove(&s, other), 2);
        ASSERT_EQ(sched_n_pending(&s), 6u);
        sched_worker_done(&a);
        sched_worker_done(&b);
        scheduler_done(&s);
}

TEST(requeue_on_worker_loss) {
        Scheduler s;
        SchedWorker a, b;
        SchedJob j[3], late, *got;
        SchedWorker *on;

        ASSERT_OK(scheduler_init(&s));
        ASSERT_OK(sched_worker_init(&a, 2));
        sched_worker_add(&s, &a);
        sched_job_init(&j[0], 0, 10, NULL, 0);
        sched_job_init(&j[1], 0, 20, NULL, 0);
        sched_job_init(&j[2], 0, 5, NULL, 0);
        for (unsigned i = 0; i < 3; i++)
                ASSERT_OK(sched_job_enqueue(&s, &j[i]));
        ASSERT_TRUE(sched_next(&s, &got, &on));
        ASSERT_TRUE(got == &j[1]);
        ASSERT_TRUE(sched_next(&s, &got, &on));
        ASSERT_TRUE(got == &j[0]);
        ASSERT_EQ(sched_n_pending(&s), 1u);

        /* A later job of the same rank as j[0] must not overtake it once j[0] is requeued. */
        sched_job_init(&late, 0, 10, NULL, 0);
        ASSERT_OK(sched_job_enqueue(&s, &late));

        ASSERT_EQ(sched_worker_remove(&s, &a), 2);
        ASSERT_EQ(sched_n_pending(&s), 4u);
        ASSERT_EQ(s.n_running, 0u);
        ASSERT_TRUE(j[0].worker == NULL && sched_job_is_pending(&j[0]));

        ASSERT_OK(sched_worker_init(&b, 8));
        sched_worker_add(&s, &b);
        const SchedJob *order[] = { &j[1], &j[0], &late, &j[2] };
        for (unsigned i = 0; i < 4; i++) {
                ASSERT_TRUE(sched_next(&s, &got, &on));
                ASSERT_TRUE(got == order[i]);
                ASSERT_TRUE(on == &b);
        }
        ASSERT_FALSE(sched_next(&s, &got, &on));
        /* A job removed while running frees its slot. */
        sched_job_remove(&s, &j[0]);
        ASSERT_EQ(b.used, 3u);
        ASSERT_EQ(sched_worker_remove(&s, &b), 3);
        for (unsigned i = 0; i < 3; i++)
                sched_job_remove(&s, &j[i]);
        sched_job_remove(&s, &late);
        ASSERT_EQ(sched_n_pending(&s), 0u);
        sched_worker_done(&a);
        sched_worker_done(&b);
        scheduler_done(&s);
}

TEST(prepare_ahead) {
        Scheduler s;
        SchedWorker a, b;
        SchedJob j[12], *got;
        SchedWorker *on;
        unsigned on_a = 0;

        ASSERT_OK(scheduler_init(&s));
        s.prepare_ahead = true;
        ASSERT_OK(sched_worker_init(&a, 2));
        ASSERT_OK(sched_worker_init(&b, 2));
        sched_worker_add(&s, &a);
        sched_worker_add(&s, &b);
        for (unsigned i = 0; i < 12; i++) {
                sched_job_init(&j[i], 0, 100 - i, NULL, 0);
                ASSERT_OK(sched_job_enqueue(&s, &j[i]));
        }

        /* Every slot first, spread... */
        for (unsigned i = 0; i < 4; i++) {
                ASSERT_TRUE(sched_next(&s, &got, &on));
                ASSERT_TRUE(got == &j[i]);
                on_a += on == &a;
        }
        ASSERT_EQ(on_a, 2u);
        ASSERT_EQ(sched_worker_busy(&a), 2u);
        /* ... then as many again to prepare, and no more. */
        for (unsigned i = 4; i < 8; i++)
                ASSERT_TRUE(sched_next(&s, &got, &on));
        ASSERT_EQ(a.used, 4u);
        ASSERT_EQ(b.used, 4u);
        ASSERT_EQ(sched_worker_busy(&b), 2u);
        ASSERT_FALSE(sched_next(&s, &got, &on));
        ASSERT_EQ(sched_n_pending(&s), 4u);

        /* A new worker's free slots come before preparing more on a busy one. */
        SchedWorker c;
        ASSERT_OK(sched_worker_init(&c, 1));
        sched_worker_add(&s, &c);
        sched_job_remove(&s, &j[0]); /* a frees room on its worker */
        ASSERT_TRUE(sched_next(&s, &got, &on));
        ASSERT_TRUE(got == &j[8]);
        ASSERT_TRUE(on == &c);
        /* Then the room that freed, and c's room to prepare one. */
        ASSERT_TRUE(sched_next(&s, &got, &on));
        ASSERT_TRUE(sched_next(&s, &got, &on));
        ASSERT_FALSE(sched_next(&s, &got, &on));
        ASSERT_EQ(c.used, 2u);

        /* A worker drained to no slots gets nothing, not even to prepare. */
        a.slots = b.slots = c.slots = 0;
        for (unsigned i = 1; i < 8; i++)
                sched_job_remove(&s, &j[i]);
        ASSERT_FALSE(sched_next(&s, &got, &on));

        ASSERT_TRUE(sched_worker_remove(&s, &a) >= 0);
        ASSERT_TRUE(sched_worker_remove(&s, &b) >= 0);
        ASSERT_TRUE(sched_worker_remove(&s, &c) >= 0);
        for (unsigned i = 0; i < 12; i++)
                sched_job_remove(&s, &j[i]);
        sched_worker_done(&a);
        sched_worker_done(&b);
        sched_worker_done(&c);
        scheduler_done(&s);
}

int main(void) {
        RUN(priority_then_estimate_then_arrival);
        RUN(prefers_worker_with_layers);
        RUN(requeue_on_worker_loss);
        RUN(prepare_ahead);
        return 0;
}
