/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

#include "worker-manager.h"

/* A session's jobs (kept in worker-session.c's Session). */
typedef struct SessionJobs {
        Job *head;        /* list */
        size_t n;
        uint64_t last_id; /* job ids increase within a session */
} SessionJobs;
SessionJobs *session_jobs(Session *s);
/* Tty input and resizing for a running job; takes the unpacked ClientMessage (borrowed). */
int job_tty(Session *s, const void *client_message);
