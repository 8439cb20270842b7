/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* The container: runs one job as PID 1 of new user, mount, PID, IPC, cgroup and UTS namespaces (and a
 * network namespace of its own unless the network is local: a new one, or one reused from a pool, never
 * shared by two jobs at once), on an overlayfs of its layer directories, and reports how it ended.
 * Everything is driven by the caller's sd-event loop; nothing blocks. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <systemd/sd-event.h>

#include "basic/macro.h"
#include "basic/time-util.h"
#include "spec/spec.h"

/* One mount, resolved: bind sources are absolute host paths. */
typedef struct ExecMount {
        MountType type;
        const char *mount_point; /* absolute in the container; unused for MOUNT_DEVICES */
        const char *source;      /* MOUNT_BIND: absolute host path */
        bool read_only;          /* MOUNT_BIND */
        unsigned devices;        /* MOUNT_DEVICES: 1 << Device for each */
} ExecMount;

/* What to run.  All pointers are borrowed for the duration of executor_start() only. */
typedef struct ExecSpec {
        const char *const *layers; /* host directories, bottom first; at least one */
        size_t n_layers;
        const ExecMount *mounts;
        size_t n_mounts;
        Network network;
        bool writable;                 /* overlayfs upper directory on a fresh tmpfs, thrown away */
        const char *working_directory; /* NULL = "/" */
        uid_t user;                    /* inside the container */
        gid_t group;
        const char *program;           /* searched in the job's PATH if it has no '/' */
        const char *const *arguments;  /* argv[1..], NULL-terminated; argv[0] is program as written */
        const char *const *environment; /* "KEY=VALUE", NULL-terminated */
        usec_t timeout;                /* 0 = none */
        size_t inline_limit;           /* bytes kept of stdout and of stderr each */
        bool tty;                      /* a pseudo-terminal as stdin/stdout/stderr */
        unsigned short rows, columns;  /* tty window size */
        bool seccomp;                  /* install the default seccomp filter */
        bool gated;                    /* prepare ahead: set the container up, then wait before execve
                                        * until execution_release() (the timeout starts there) */
} ExecSpec;

typedef enum ExecOutcome {
        EXEC_EXITED,    /* status = exit code */
        EXEC_SIGNALED,  /* status = signal number */
        EXEC_TIMED_OUT,
        EXEC_ERROR,     /* the container could not be built or the program not started */
        _EXEC_OUTCOME_MAX,
        _EXEC_OUTCOME_INVALID = -EINVAL,
} ExecOutcome;

const char *exec_outcome_to_string(ExecOutcome o);

typedef struct ExecOutput {
        char *data;         /* at most inline_limit bytes, NUL-terminated (NULL when nothing was kept) */
        size_t size;
        uint64_t truncated; /* bytes cut past inline_limit */
} ExecOutput;

typedef struct ExecResult {
        ExecOutcome outcome;
        int status;
        char *error_step;  /* EXEC_ERROR: what failed, e.g. "mount proc on /proc" or "execve /bin/foo" */
        int error_errno;   /* EXEC_ERROR: the positive errno */
        ExecOutput out, err; /* with a tty, everything is in out */
        usec_t setup_usec;   /* from start to the execve */
        usec_t run_usec;     /* from the execve to the end */
} ExecResult;

void exec_result_done(ExecResult *r);

typedef struct Execution Execution;

/* Called once when the job has ended and all its output is in.  The result is the callee's to keep (it may
 * move the buffers out, and must exec_result_done() what it keeps); the Execution may be freed from inside
 * the callback, and must be freed at some point. */
typedef void (*ExecDoneFunc)(Execution *e, ExecResult *result, void *userdata);
/* With a tty, called with output as it arrives (the result then carries no output; without this callback the
 * tty's output is kept in result.out like a pipe's).  It must not free the Execution. */
typedef void (*ExecTtyOutputFunc)(Execution *e, const void *data, size_t size, void *userdata);

/* Shared, prepared state: the seccomp program, a scratch directory for mount points, cached host facts, and
 * two zygotes, processes of ours that make the pooled network namespaces and clone the jobs that use them.
 * One per worker. scratch_dir must exist, be absolute and be private to this worker; the executor creates
 * "root" and "empty" in it (removed again by executor_free).  SIGCHLD must not be set to SIG_IGN (children
 * are reaped through their pidfds; it need not be blocked).  Call it from the loop's thread: the zygotes and
 * the jobs die with that thread. */
typedef struct Executor Executor;
int executor_new(sd_event *event, const char *scratch_dir, Executor **ret);
/* Kills and reaps, synchronously, every job still running (their done is not called; their Executions stay
 * valid but inert, to be freed by their owners), every orphan, and the zygotes. */
Executor *executor_free(Executor *x);
DEFINE_TRIVIAL_CLEANUP_FUNC(Executor *, executor_free);
/* How many jobs freed while running are still being killed and reaped. */
size_t executor_n_orphans(const Executor *x);
/* Most stacks kept for the jobs' first processes, and how many are kept now (in this process). */
#define EXECUTOR_CHILD_STACKS_KEPT_MAX 16U
size_t executor_n_child_stacks_kept(void);
/* Jobs with network disabled or loopback reuse network namespaces, kept in a pool that grows on demand up to
 * n namespaces for each of the two (default: the number of CPUs + 2, at most 256); past that, a job makes
 * one of its own, as it always does where the pool cannot serve it.  Give it the number of jobs run at once,
 * plus a few for namespaces thrown away because a job left sockets behind.  (See executor.c for how the pool
 * keeps jobs apart.) */
void executor_set_netns_pool_max(Executor *x, size_t n);

/* Start a job.  This only prepares and clones, or hands the job to the zygote to clone (about 0.1 ms): the
 * job sets its container up in parallel.  Call it from the loop's thread.  With tty and a devpts mount on
 * /dev/pts, the terminal is allocated in that devpts instance (so that ttyname() works inside); otherwise on
 * the host.
 *
 * Failures of our own (out of memory or fds, clone refused) are returned as -errno, as is an invalid spec
 * (-EINVAL: no program, user or group -1, NULL arrays); a clone refused to a zygote, later, arrives as
 * EXEC_ERROR.  Everything that is wrong with the job itself (a missing layer, a bad or missing mount point,
 * a missing program...) arrives as EXEC_ERROR through done, from the event loop, never from inside
 * executor_start(). */
int executor_start(Executor *x, const ExecSpec *spec, ExecDoneFunc done, ExecTtyOutputFunc tty_output,
                   void *userdata, Execution **ret);
/* Let a job started with spec->gated go on to execve: its timeout and its setup_usec start now.  A no-op for
 * a job that was not gated or was released already.  A job that failed or was killed while it waited still
 * ends through done as usual, released or not. */
int execution_release(Execution *e);
/* Kill the job (SIGKILL to its PID 1); done is still called, with EXEC_SIGNALED. */
int execution_kill(Execution *e);
/* Input for a tty job: written whole, or -EAGAIN when the terminal's input buffer is full. */
int execution_tty_write(Execution *e, const void *data, size_t size);
int execution_tty_resize(Execution *e, unsigned short rows, unsigned short columns);
/* Frees; if the job still runs, kills it first and reaps it without calling done (the Executor keeps it as
 * an orphan until it is reaped). */
Execution *execution_free(Execution *e);
DEFINE_TRIVIAL_CLEANUP_FUNC(Execution *, execution_free);
