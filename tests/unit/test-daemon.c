/* SPDX-License-Identifier: MIT OR Apache-2.0 */

#include <unistd.h>

#include <systemd/sd-event.h>

#include "basic/tests.h"
#include "basic/time-util.h"
#include "daemon/daemon.h"

static unsigned n_sent;
static usec_t sent_at[8];

static void count_send(void *userdata) {
        if (n_sent < ELEMENTSOF(sent_at))
                sent_at[n_sent] = now(CLOCK_MONOTONIC);
        n_sent++;
}

TEST(status_rate_limit) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        DaemonStatus s;
        usec_t deadline;

        ASSERT_OK(sd_event_new(&e));
        daemon_status_init(&s, e, count_send, NULL);

        /* The first change goes at once; a burst after it, once, when the interval is over. */
        daemon_status_changed(&s);
        ASSERT_EQ(n_sent, 1U);
        for (int i = 0; i < 100; i++)
                daemon_status_changed(&s);
        ASSERT_EQ(n_sent, 1U);
        deadline = now(CLOCK_MONOTONIC) + 5 * DAEMON_STATUS_INTERVAL_USEC;
        while (n_sent < 2 && now(CLOCK_MONOTONIC) < deadline)
                ASSERT_OK(sd_event_run(e, DAEMON_STATUS_INTERVAL_USEC));
        ASSERT_EQ(n_sent, 2U);
        ASSERT_TRUE(sent_at[1] - sent_at[0] >= DAEMON_STATUS_INTERVAL_USEC);

        /* Nothing more without a change; a change after a quiet interval goes at once again. */
        ASSERT_OK(sd_event_run(e, 2 * DAEMON_STATUS_INTERVAL_USEC));
        ASSERT_EQ(n_sent, 2U);
        usleep(DAEMON_STATUS_INTERVAL_USEC);
        daemon_status_changed(&s);
        ASSERT_EQ(n_sent, 3U);

        daemon_status_done(&s);
}

int main(void) {
        RUN(status_rate_limit);
        return 0;
}
