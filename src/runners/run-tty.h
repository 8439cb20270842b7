/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* maelstrom-run --tty: the job's pseudo-terminal wired to ours, in raw mode, window size changes forwarded,
 * and the escape character followed by '.' to detach. */

#include <stdbool.h>
#include <termios.h>

#include <systemd/sd-event.h>

#include "client/client.h"

typedef struct RunTty {
        sd_event *event;
        ClientJob *job;
        int escape;          /* the escape character, or -1 for none */
        struct termios saved;
        bool raw;            /* our terminal is in raw mode, saved holds how it was */
        bool saw_escape;
        bool detached;
        sd_event_source *input_source, *winch_source;
} RunTty;

/* "^]" (a control character), "^^", a single character, or "none". */
int run_tty_parse_escape(const char *s, int *ret);
/* Our terminal's size, or 24x80 when standard output is not a terminal. */
void run_tty_size(unsigned short *ret_rows, unsigned short *ret_columns);
/* Starts forwarding once the job is submitted.  Puts standard input in raw mode if it is a terminal. */
int run_tty_start(RunTty *t, sd_event *event, ClientJob *job);
/* The job ended (or is cancelled): stop forwarding and restore the terminal.  Idempotent. */
void run_tty_stop(RunTty *t);
/* Output of the job's terminal. */
void run_tty_output(const void *data, size_t size);
