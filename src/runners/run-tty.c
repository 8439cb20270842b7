/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "basic/fd-util.h"
#include "basic/log.h"
#include "run-tty.h"

int run_tty_parse_escape(const char *s, int *ret) {
        if (streq(s, "none")) {
                *ret = -1;
                return 0;
        }
        if (s[0] == '^' && s[1] && !s[2]) {
                char c = s[1];
                if (c == '?') {
                        *ret = 0x7f;
                        return 0;
                }
                if (c >= 'a' && c <= 'z')
                        c = (char) (c - 'a' + 'A');
                if (c < '@' || c > '_')
                        return -EINVAL;
                *ret = c & 0x1f;
                return 0;
        }
        if (s[0] && !s[1]) {
                *ret = (unsigned char) s[0];
                return 0;
        }
        return -EINVAL;
}

void run_tty_size(unsigned short *ret_rows, unsigned short *ret_columns) {
        struct winsize w = {};

        if ((ioctl(STDOUT_FILENO, TIOCGWINSZ, &w) < 0 && ioctl(STDIN_FILENO, TIOCGWINSZ, &w) < 0) ||
            w.ws_row == 0 || w.ws_col == 0)
                w = (struct winsize) { .ws_row = 24, .ws_col = 80 };
        *ret_rows = w.ws_row;
        *ret_columns = w.ws_col;
}

void run_tty_output(const void *data, size_t size) {
        (void) loop_write(STDOUT_FILENO, data, size);
}

static void run_tty_detach(RunTty *t) {
        static const char msg[] = "\r\n[detached from the job]\r\n";

        t->detached = true;
        run_tty_output(msg, sizeof msg - 1);
        client_job_cancel(TAKE_PTR(t->job));
        run_tty_stop(t);
        (void) sd_event_exit(t->event, 0);
}

static int on_input(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        RunTty *t = userdata;
        unsigned char buf[4096], out[sizeof buf + 1];
        size_t n_out = 0;

        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0) {
                if (errno == EAGAIN || errno == EINTR)
                        return 0;
                n = 0;
        }
        if (n == 0) {
                /* Our input ended: the job keeps its terminal, we just stop forwarding. */
                t->input_source = sd_event_source_disable_unref(t->input_source);
                return 0;
        }

        for (ssize_t i = 0; i < n; i++) {
                unsigned char c = buf[i];
                if (t->saw_escape) {
                        t->saw_escape = false;
                        if (c == '.') {
                                if (n_out > 0 && t->job)
                                        (void) client_job_tty_write(t->job, out, n_out);
                                run_tty_detach(t);
                                return 0;
                        }
                        /* escape escape sends one; escape anything-else sends both. */
                        out[n_out++] = (unsigned char) t->escape;
                        if (c == t->escape)
                                continue;
                } else if (t->escape >= 0 && c == t->escape) {
                        t->saw_escape = true;
                        continue;
                }
                out[n_out++] = c;
        }
        if (n_out > 0 && t->job) {
                int r = client_job_tty_write(t->job, out, n_out);
                if (r < 0)
                        log_debug_errno(r, "Failed to forward terminal input: %m");
        }
        return 0;
}

static int on_winch(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        RunTty *t = userdata;
        unsigned short rows, columns;

        run_tty_size(&rows, &columns);
        if (t->job)
                (void) client_job_tty_resize(t->job, rows, columns);
        return 0;
}

int run_tty_start(RunTty *t, sd_event *event, ClientJob *job) {
        sigset_t mask;
        int r;

        t->event = event;
        t->job = job;

        if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &t->saved) >= 0) {
                struct termios raw = t->saved;
                cfmakeraw(&raw);
                if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) < 0)
                        return -errno;
                t->raw = true;
        }

        sigemptyset(&mask);
        sigaddset(&mask, SIGWINCH);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;
        r = sd_event_add_signal(event, &t->winch_source, SIGWINCH, on_winch, t);
        if (r < 0)
                return r;

        r = fd_nonblock(STDIN_FILENO, true);
        if (r < 0)
                return r;
        r = sd_event_add_io(event, &t->input_source, STDIN_FILENO, EPOLLIN, on_input, t);
        if (r == -EPERM)
                return 0; /* a regular file or /dev/null: nothing to forward */
        return r;
}

void run_tty_stop(RunTty *t) {
        t->input_source = sd_event_source_disable_unref(t->input_source);
        t->winch_source = sd_event_source_disable_unref(t->winch_source);
        if (t->raw) {
                (void) tcsetattr(STDIN_FILENO, TCSANOW, &t->saved);
                t->raw = false;
        }
        (void) fd_nonblock(STDIN_FILENO, false);
        t->job = NULL;
}
