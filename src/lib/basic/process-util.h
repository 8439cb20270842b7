/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* Starting helper programs (cargo, go, test binaries listing their cases) from the runners.  The child gets
 * an empty signal mask and default dispositions (the runners block signals for their event loop), standard
 * input from /dev/null, and our standard error. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Start argv (searched in PATH) in cwd (NULL = ours) with its stdout on a new pipe: *ret_stdout_fd is the
 * read end (O_CLOEXEC, blocking).  env NULL = ours. */
int process_spawn_pipe(char *const *argv, const char *cwd, char *const *env, pid_t *ret_pid,
                       int *ret_stdout_fd);

typedef enum ProcessSpawnFlags {
        PROCESS_STDERR_TO_PIPE = 1 << 0, /* the child's stderr goes to the pipe too (a compiler's
                                          * messages) */
} ProcessSpawnFlags;

/* The same, with flags. */
int process_spawn_pipe_full(char *const *argv, const char *cwd, char *const *env, ProcessSpawnFlags flags,
                            pid_t *ret_pid, int *ret_stdout_fd);

/* Our own threads as SCHED_BATCH (the worker's: maelstrom-worker calls it first thing).  The worker's
 * threads and the set-up of its containers serve the jobs: woken (a job's output, its exit, a message), they
 * need not preempt a job that is running.  Each preemption costs a context switch, and the job its caches:
 * on go-toml's 711 short cases, about 4% of the CPU of a run.  Switches the calling thread (and so the
 * threads and processes it makes after) if its policy is SCHED_OTHER, and returns 1; leaves any other policy
 * (chrt's, a unit's CPUSchedulingPolicy) as it is, and returns 0; < 0 on failure.  Afterwards every child
 * gets SCHED_OTHER back, so that it runs as we were started: those started here (at spawn), and the jobs
 * (the executor's child, just before execve). */
int process_sched_batch(void);
/* Whether process_sched_batch() switched: children must then be given SCHED_OTHER back. */
bool process_sched_batch_entered(void);

/* Wait for pid (retrying on EINTR).  *ret_status is the exit code, or 128 + the signal number, and
 * *ret_signaled says which. */
int process_wait(pid_t pid, int *ret_status, bool *ret_signaled);

/* If *pid is a child (> 0): SIGTERM it, reap it, and set *pid to 0.  A helper that a run no longer needs. */
void process_terminate(pid_t *pid);

/* Run argv to completion and capture its stdout (at most max_size bytes: -E2BIG beyond, after the child
 * is killed and reaped).  *ret_out is NUL-terminated.  Returns the exit status as process_wait() puts it
 * (>= 0), or a negative errno if it could not be run; an exec failure gives status 127. */
int process_capture(char *const *argv, const char *cwd, char *const *env, size_t max_size, char **ret_out,
                    size_t *ret_size);

/* The second half of process_capture(), for a child started with process_spawn_pipe(): read its stdout from
 * fd (which is closed), kill it if that fails, and reap it.  Returns its exit status as process_wait() puts
 * it, or a negative errno (-E2BIG past max_size). */
int process_capture_wait(pid_t pid, int fd, size_t max_size, char **ret_out, size_t *ret_size);

/* Most of a child's stderr that process_capture_full() keeps (the beginning). */
#define PROCESS_STDERR_SIZE_MAX (1024U * 1024U)

/* The same, and, if ret_err is not NULL, the child's stderr too instead of ours (NUL-terminated; its
 * first PROCESS_STDERR_SIZE_MAX bytes), whatever the exit status. */
int process_capture_full(char *const *argv, const char *cwd, char *const *env, size_t max_size,
                         char **ret_out, size_t *ret_size, char **ret_err);
