/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

#include "worker-manager.h"

/* The head of a session's list of jobs (worker-session.c). */
Job **session_jobs(Session *s);
/* Tty input and resizing for a running job; takes the unpacked ClientMessage (borrowed). */
int job_tty(Session *s, const void *client_message);
