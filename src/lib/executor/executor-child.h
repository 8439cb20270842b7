/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* What executor.c prepares for the container's child, and the child itself (executor-child.c): everything
 * the child reads is in a ChildPlan made before clone; it reports a failed step as a ChildReport on a
 * pipe. */

#include <linux/filter.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>

#include "basic/macro.h"
#include "spec/spec.h"

/* The child's frames are small (the largest holds a 1 KiB netlink buffer); the rest is margin for
 * sanitizer builds. */
#define CHILD_STACK_SIZE (256U * 1024U)
#define CHILD_STACK_GUARD 4096U

typedef enum ChildStep {
        STEP_READY, /* not a failure: the time just before the seccomp filter and execve */
        STEP_PDEATHSIG,
        STEP_UNSHARE,
        STEP_UID_MAP,
        STEP_SETGROUPS,
        STEP_GID_MAP,
        STEP_LOOPBACK,
        STEP_WRITABLE_TMPFS,
        STEP_WRITABLE_DIRS,
        STEP_LAYER, /* index = entry in ChildPlan.layer_paths */
        STEP_OVERLAY,
        STEP_MOUNT_POINT, /* index = entry in ChildPlan.mounts */
        STEP_MOUNT_SOURCE,
        STEP_MOUNT,
        STEP_TTY,
        STEP_PIVOT_ROOT,
        STEP_UNMOUNT_OLD_ROOT,
        STEP_LOCK_MOUNTS,
        STEP_CHDIR,
        STEP_STDIO,
        STEP_CLOSE_FDS,
        STEP_SETSID,
        STEP_CONTROLLING_TTY,
        STEP_GATE,
        STEP_SCHEDULER,
        STEP_NO_NEW_PRIVS,
        STEP_SECCOMP,
        STEP_EXECVE,
        /* The zygote's (never the job's failure: see ChildLaunch) */
        STEP_JOIN_NETNS,
        STEP_CREATE_NETNS,
        STEP_POOL_LOOPBACK,
        STEP_POOL_SYSFS,
        _STEP_MAX,
} ChildStep;

/* One record on the report pipe; smaller than PIPE_BUF, so written atomically. */
typedef struct ChildReport {
        int32_t step;
        int32_t error; /* positive errno */
        uint32_t index;
        uint32_t reserved;
        uint64_t usec; /* STEP_READY: CLOCK_MONOTONIC */
        char detail[112]; /* the kernel's message from an fs context, if any */
} ChildReport;

typedef struct ChildMount {
        MountType type;
        size_t spec_index;
        const char *target;  /* in the container; resolved inside the new root */
        const char *source;  /* MOUNT_BIND and MOUNT_DEVICES: host path to clone */
        const char *fstype;  /* the others */
        const char *option_key, *option_value; /* one string option of the new file system, or NULL */
        unsigned attr;       /* MOUNT_ATTR_* of a new file system */
        bool read_only;
        char *target_owned, *source_owned;
} ChildMount;

/* What the zygote (child_zygote) is asked for and reports, for a job that runs in a pooled network
 * namespace.  The zygote is a process that shares our memory and our fd table and lives in the pool's user
 * namespace, where it has every capability: for each such job, it joins (or creates) the network namespace,
 * and clones the job from there, so that the job's user namespace is a child of the pool's, with no
 * capability over the network namespace.  Whatever goes wrong there, the job falls back to a network
 * namespace of its own, like a job outside the pool. */
typedef struct ChildLaunch {
        int netns_fd;       /* the one to join, or -EBADF to create one (brought up for loopback) */
        bool loopback;      /* NETWORK_LOOPBACK */
        bool sysfs;         /* mount a sysfs of the network namespace, for the job's sys mounts: */
        int sysfs_fd;       /* the pooled namespace's, to clone, or -EBADF to make one */
        void *stack_top;    /* the child's */
        /* Written by the zygote: */
        int new_netns_fd, new_sockstat_fd; /* what it created, or -EBADF */
        int new_sysfs_fd;   /* a sysfs it made for the pool (the job clones it), or -EBADF */
        bool make_root;     /* make the job's read-only root, to keep for the jobs with the same layers: */
        int new_root_fd;    /* written: that root (a detached overlayfs mount the job clones), or -EBADF */
        int pidfd;          /* written by the kernel, at clone */
        long pid;           /* the child, or -errno when clone failed */
        int32_t fallback_step;  /* a ChildStep that failed (the child then made its own namespace), or 0 */
        int32_t fallback_error; /* its positive errno */
} ChildLaunch;

/* The zygote's state, in memory that outlives it. */
typedef struct ChildZygote {
        int userns_fd;                 /* the pool's user namespace to join, or -EBADF to create it: */
        char uid_map[64], gid_map[64]; /* mapping our own uid and gid, no others */
        int new_userns_fd;             /* written: an fd of the one it created */
        const struct sock_fprog *seccomp; /* a filter for the jobs it clones to inherit, or NULL */
        bool own_mount_namespace;      /* written: it made one, to mount in (see child_launch_netns()) */
        /* written: whether a job can clone a detached mount it made (a sysfs, a root): 1, 0, or -1 */
        int clones_detached;
        /* Its end of a stream socket pair: it reads ChildPlan pointers and answers one byte for each once
         * done with it; at start, it sends a long: 0 once it is ready, or -errno. */
        int socket;
} ChildZygote;

typedef struct ChildPlan {
        char uid_map[64], gid_map[64];
        bool writable;
        const char *tmpfs_dir, *upper_dir, *work_dir; /* writable only */
        const char *root_dir;                         /* where the overlay is attached */
        char *lowerdir;     /* all lower directories in one fsconfig string, or NULL: */
        char **lowerdirs;   /* one "lowerdir+" each, top first */
        size_t n_lowerdirs;
        /* The lower directories, top first, and the fd numbers that name them (/proc/self/fd/N).  The
         * parent's fds are only placeholders: overlayfs takes no directory from another mount namespace,
         * so the child opens each path again in its own and dup3()s it over the placeholder. */
        char **layer_paths;
        int *layer_fds;
        size_t n_layer_fds;
        bool layer_fds_closed; /* the parent's only; set after clone */
        ChildMount *mounts;
        size_t n_mounts;
        char *working_directory;
        int stdin_fd, stdout_fd, stderr_fd;
        int report_fd;
        int gate_fd;   /* read end: the child waits for a byte here before execve, or -EBADF */
        bool tty, loopback;
        unsigned long unshare_flags;
        size_t devpts_index;   /* with tty_socket: the devpts mount on /dev/pts that provides the tty */
        int tty_socket;        /* where the child sends the master, or -EBADF for a pty from the host */
        struct winsize winsize;
        const struct sock_fprog *seccomp;
        bool seccomp_inherited; /* from the zygote: set no_new_privs, install nothing */
        bool sched_other;       /* we run as SCHED_BATCH (process_sched_batch()): the job gets SCHED_OTHER */
        char *program;
        char **candidates; /* NULL-terminated */
        char **argv;       /* each one allocation, pointers and strings: the child reads them after */
        char **envp;       /* executor_start() has returned, when the caller's spec may be gone */
        void *stack;       /* the child's, with a guard page below; freed once the child is gone */
        int sysfs_fd;      /* a detached sysfs mount of the pooled network namespace, or -EBADF */
        bool sysfs_pooled; /* sysfs_fd is the pool's, kept for the jobs after: clone it, never attach it */
        /* A read-only root kept for the jobs with the same layers (a detached overlayfs mount, which the
         * child clones rather than mounting one of its own), or -EBADF; and what identifies those layers. */
        int root_fd;
        char *root_key;
        /* Bind a proc's host-wide entries read-only over themselves (see proc_host_entries): for a job that
         * runs as the host's root, which the kernel lets write them. */
        bool proc_read_only;
        /* Lock every mount (see child_lock_mounts()): enter a user and mount namespace of their own, whose
         * maps are these (the job's ids onto themselves). */
        bool lock_mounts;
        char lock_uid_map[64], lock_gid_map[64];
        ChildLaunch launch;
} ChildPlan;

/* The child's entry point, for clone(): plan is the ChildPlan.  Never returns. */
int child_entry(void *plan);
/* The zygote's, for a clone(CLONE_VM | CLONE_FILES): zygote is a ChildZygote.  For each plan it gets, it
 * fills in its launch (and unshare_flags, loopback and sysfs_fd, which the child then reads).  It exits at
 * end of file on its socket, or when the thread that cloned it ends. */
int child_zygote(void *zygote);
