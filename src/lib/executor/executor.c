/* SPDX-License-Identifier: MIT OR Apache-2.0 */

/* The container.  executor_start() prepares everything the child needs (strings, fds, the seccomp program,
 * the argv/envp arrays and the PATH candidates) and then clones it (or has the zygote clone it: see below),
 * sharing our memory, into a new user and PID namespace (see clone_vm()).  The worker that calls us is
 * multi-threaded (gRPC), so between clone and execve the child makes raw system calls only: no allocation,
 * no stdio, no locks, not even errno.  It reports a failed step through a CLOEXEC pipe; end of file on that
 * pipe means execve succeeded.
 *
 * The child, in order:
 *   1. unshares the mount, IPC, UTS and cgroup namespaces, and the network namespace unless the network is
 *      local or the namespace comes from the pool (in the child, so that creating them, the network
 *      namespace above all, does not hold up the worker's loop);
 *   2. writes its own uid_map ("user euid 1"), "deny" to setgroups, and gid_map ("group egid 1"): a process
 *      may map its own effective ids into the user namespace it has just created, so the parent has nothing
 *      to do and the child never waits on it;
 *   3. brings lo up through rtnetlink for NETWORK_LOOPBACK;
 *   4. builds the root: an overlayfs of the layers (new mount API; each layer directory is named
 *      /proc/self/fd/N, a number the parent reserves by opening it, and the child opens it again in its own
 *      mount namespace, where overlayfs wants it), read-only, or with upper and work directories on a tmpfs
 *      of the container's own mount namespace when writable, attached on the executor's root directory --
 *      each container has its own mount namespace, so one directory serves them all;
 *   5. attaches the mounts in order, each mount point resolved inside the new root (openat2 with
 *      RESOLVE_IN_ROOT, so a symlink in a layer cannot point a mount outside the container): new file
 *      systems through fsopen/fsmount, bind mounts and devices through open_tree(OPEN_TREE_CLONE) of the
 *      host path (+ mount_setattr for read-only), all before pivot_root because the kernel lets a user
 *      namespace mount proc and sysfs only while a full host instance is visible in its mount namespace;
 *   6. pivot_root(".", "."), detaches the old root; with a read-only bind mount, or a proc or sys in a job
 *      that runs as the host's root, enters a user namespace and a mount namespace of its own so that the
 *      kernel locks every mount (see child_lock_mounts(): such a job's proc has its host-wide entries,
 *      /proc/sys above all, bound read-only over themselves, and its sysfs is read-only, as the host's root
 *      may write them whatever its capabilities; see plan_mounts() for why other jobs need neither);
 *      chdirs to the working directory;
 *   7. sets up stdin (the host's /dev/null, or the tty), stdout and stderr, marks every other fd CLOEXEC,
 *      setsid()s (and takes the tty as controlling terminal), resets signal dispositions and the mask
 *      (a tty comes from the container's own devpts instance when the job mounts one on /dev/pts: the
 *      child opens its ptmx and sends the master to the parent over a socket, so that ttyname() finds
 *      /dev/pts/N inside; without such a mount the parent allocates it on the host before clone, and the
 *      job has a working terminal that has no name in its file system);
 *   8. reports the time, installs the seccomp filter, and execve()s each PATH candidate in turn.
 *
 * The job is PID 1 of its PID namespace: when it exits the kernel kills everything else in the namespace
 * before the exit can be reaped, so no process survives a job, and its mounts vanish with its mount
 * namespace.  The parent watches the pidfd and the output pipes from the caller's sd-event loop.
 *
 * Network namespaces are reused.  Creating one costs the kernel about 0.4 ms (registering its sysctls and
 * proc entries) and destroying it as much again in a kernel worker, most of a trivial job's cost, so the
 * executor keeps a pool of them for each of disabled (lo down) and loopback (lo up), all owned by one user
 * namespace that maps nothing but our uid and gid.  Two zygotes (child_zygote()), processes that share our
 * memory and fd table, live in that user namespace (the first creates it), where they have every capability,
 * and clone the pool's jobs for us: for each, one joins the network namespace we hand it (or creates one for
 * the pool) and clones the job from there with CLONE_PARENT, so that the job is our child like any other; it
 * answers through a socket that the loop watches, so we never wait for it.  The second zygote serves the
 * jobs with the seccomp filter: it installed the filter once, and the jobs inherit it, which spares each of
 * them the kernel's work of installing it.  The job's user namespace is then a child of the pool's: the job
 * has every capability over its own namespaces but none over the network namespace, so it cannot bring lo up
 * or down, add addresses or routes, or mount a sysfs (the zygote mounts one for it).  The sysctls of the
 * namespace are writable by the host's root whatever its capabilities: a job's own proc has /proc/sys
 * read-only and locked, but a job that runs as the host's root gets a pooled namespace only if it has no
 * bind mount to reach a /proc/sys through.  A namespace serves one job at a time, goes back to the pool once
 * that job's PID 1 is reaped (every process of the job is gone, and every socket they held with them), and
 * is handed out again only if the kernel counts no socket in it at all (its /proc/net/sockstat, opened from
 * inside when it was made): a listening socket kept alive by file descriptors in flight, or a TCP connection
 * in TIME_WAIT, gets it thrown away instead, so that a job never finds what an earlier one left, not even a
 * port in use.  Whatever fails on that path, the job gets a network namespace of its own, as outside the
 * pool. */

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PIDFD_GET_MNT_NAMESPACE
#define PIDFD_GET_MNT_NAMESPACE _IO(0xFF, 3) /* Linux 6.11 */
#endif

#include "basic/fd-util.h"
#include "basic/log.h"
#include "basic/macro.h"
#include "basic/parse-util.h"
#include "basic/process-util.h"
#include "basic/string-util.h"
#include "executor/executor-child.h"
#include "executor/executor-netns.h"
#include "executor/executor-seccomp.h"
#include "executor/executor-syscall.h"
#include "executor/executor.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* What a job may ask of us, and what one running job may make us hold. */
#define EXEC_LAYERS_MAX 500U        /* overlayfs' own limit of lower layers */
#define EXEC_MOUNTS_MAX 1024U
#define EXEC_ARGUMENTS_MAX 65536U
#define EXEC_PATH_CANDIDATES_MAX 256U
/* fsconfig() copies at most 255 bytes of a string value: longer lower-directory lists go one at a time. */
#define FSCONFIG_STRING_MAX 255U
#define OUTPUT_CHUNK (64U * 1024U)
/* How long a stream past the inline limit waits between reads (see output_pause()). */
#define OUTPUT_PAUSE_USEC (2 * USEC_PER_MSEC)
#define ZYGOTE_STACK_SIZE (64U * 1024U)
/* Roots kept at once; each holds its layers' directories (and the dentries looked up in them) open. */
#define ROOT_CACHE_MAX 16U

static const char *const outcome_table[_EXEC_OUTCOME_MAX] = {
        [EXEC_EXITED] = "exited",
        [EXEC_SIGNALED] = "signaled",
        [EXEC_TIMED_OUT] = "timed-out",
        [EXEC_ERROR] = "error",
};

const char *exec_outcome_to_string(ExecOutcome o) {
        return o >= 0 && o < _EXEC_OUTCOME_MAX ? outcome_table[o] : NULL;
}

static const char *const mount_type_table[_MOUNT_TYPE_MAX] = {
        [MOUNT_TMP] = "tmp",
        [MOUNT_PROC] = "proc",
        [MOUNT_SYS] = "sys",
        [MOUNT_DEVPTS] = "devpts",
        [MOUNT_MQUEUE] = "mqueue",
        [MOUNT_BIND] = "bind",
        [MOUNT_DEVICES] = "devices",
};

/* The mounts that create a new file system: its type, mount attributes, and one string option. */
static const struct {
        const char *fstype;
        unsigned attr;
        const char *option_key, *option_value;
} new_fs_table[_MOUNT_TYPE_MAX] = {
        [MOUNT_TMP] = { "tmpfs", MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV },
        [MOUNT_PROC] = { "proc", MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC },
        /* Read-only: much of it is the host's, and writable by the host's root whatever its capabilities. */
        [MOUNT_SYS] = { "sysfs", MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
                                         MOUNT_ATTR_NOEXEC },
        [MOUNT_DEVPTS] = { "devpts", MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, "ptmxmode", "0666" },
        [MOUNT_MQUEUE] = { "mqueue", MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC },
};

/* ---- the plan ---- */

static void child_stack_put(void *stack);

static ChildPlan *child_plan_free(ChildPlan *p) {
        if (!p)
                return NULL;
        free(p->lowerdir);
        free(p->root_key);
        strv_free(p->lowerdirs);
        strv_free(p->layer_paths);
        for (size_t i = 0; i < p->n_layer_fds && !p->layer_fds_closed; i++)
                safe_close(p->layer_fds[i]);
        free(p->layer_fds);
        for (size_t i = 0; i < p->n_mounts; i++) {
                free(p->mounts[i].target_owned);
                free(p->mounts[i].source_owned);
        }
        free(p->mounts);
        free(p->working_directory);
        free(p->program);
        strv_free(p->candidates);
        free(p->argv);
        free(p->envp);
        child_stack_put(p->stack);
        return mfree(p);
}

/* ---- the parent ---- */

typedef struct OutputStream {
        int fd;
        sd_event_source *source;
        sd_event_source *pause;  /* a chatty stream's reads wait for this timer */
        ExecOutput out;
        size_t allocated;
        bool eof;
} OutputStream;

/* A job handed to the zygote (see child_zygote()), until it answers. */
typedef struct Launch Launch;
struct Launch {
        Execution *execution; /* NULL once freed: its job is killed as soon as it exists */
        ChildPlan *plan;      /* the execution's, ours once it is freed: the zygote reads it */
        int child_fds[6];     /* the child's ends of its pipes and tty, open until it is cloned */
        Network network;
        PooledNetns netns;    /* to join, or the one the zygote created */
        bool root_used;       /* the plan's root_fd is a kept root, which it holds a use of */
        Launch *next;
};

/* A zygote (see child_zygote()), and the jobs handed to it, which it answers for in order. */
typedef struct Zygote {
        int pidfd;
        int socket;           /* our end; its own is child.socket */
        sd_event_source *source, *exit_source;
        ChildZygote child;    /* the zygote reads it */
        void *stack;          /* with a guard page below */
        Launch *launches, *launches_last;
} Zygote;

typedef struct Orphan Orphan;
struct Orphan {
        Executor *executor;
        int pidfd;
        ChildPlan *plan; /* the child may still be reading it, on the stack it holds */
        Network network;
        PooledNetns netns; /* back to the pool once the child is reaped */
        sd_event_source *source;
        Orphan *prev, *next;
};

struct Execution {
        Executor *executor;
        Execution *prev, *next;

        ExecDoneFunc done;
        ExecTtyOutputFunc tty_output;
        void *userdata;

        ChildPlan *plan; /* kept for the error messages */
        Network network;
        PooledNetns netns; /* from the pool, held until the job's PID 1 is reaped */
        Launch *launch;    /* while the zygote clones it */
        bool kill_pending; /* killed (or timed out) while the zygote clones it */
        size_t inline_limit;

        int pidfd;
        int report_fd;
        int gate_fd;      /* prepared ahead: our end of the child's gate, until execution_release() */
        int mnt_ns_fd;    /* its mount namespace, from its release to its end (see executor_close_later()) */
        usec_t timeout;   /* armed at release when prepared ahead */
        sd_event_source *child_source, *timer_source, *defer_source;
        OutputStream out, err; /* with a tty, out reads the master */
        bool tty;
        int tty_socket;                 /* the master comes from the child through here */
        sd_event_source *tty_socket_source;
        TextBuf tty_pending;            /* input written before the master arrived */
        struct winsize winsize;         /* the size to set when the master arrives */

        bool exited, finished, timed_out;
        int exit_code, exit_status; /* siginfo si_code and si_status */

        /* A failure found by the parent (before clone, or while waiting), instead of the child's report. */
        char *error_step;
        int error_errno;

        usec_t start_usec, exec_usec, end_usec;
};

/* A job's read-only root, a detached overlayfs mount, kept for the jobs after it with the same layers: key
 * names each layer directory by its device and inode, so a layer made again at the same path (after the
 * cache evicted it) is another key.  users: the launches handed to a zygote with it, which have not been
 * cloned yet (their child needs the fd number to stay). */
typedef struct CachedRoot {
        char *key;
        int fd;
        unsigned users;
} CachedRoot;

struct Executor {
        sd_event *event;
        char *root_dir, *upper_dir, *work_dir, *merged_dir, *empty_dir;
        int null_fd;  /* stdin of every job without a tty */
        uid_t uid;
        gid_t gid;
        struct sock_filter *seccomp_filter;
        struct sock_fprog seccomp;
        Execution *executions;
        Orphan *orphans;
        size_t n_orphans;

        /* The pool of network namespaces and its zygotes, which own them (without them, no pool): one for
         * the jobs without the seccomp filter, one for those with it, which it installed once for all its
         * clones to inherit. */
        Zygote zygotes[2];
        NetnsPool pools[NETWORK_LOCAL]; /* NETWORK_DISABLED and NETWORK_LOOPBACK */
        /* Read-only roots that the zygotes made, kept for the pooled jobs with the same layers (see
         * root_cache_find()), least recently used first. */
        CachedRoot roots[ROOT_CACHE_MAX];
        size_t n_roots;

        /* The write end of the pipe to the thread that closes the jobs' mount namespaces (see
         * executor_close_later()); -EBADF until the first one. */
        int closer_fd;
        pthread_t closer;
};

static void output_stream_done(OutputStream *s) {
        s->pause = sd_event_source_disable_unref(s->pause);
        s->source = sd_event_source_disable_unref(s->source);
        s->fd = safe_close(s->fd);
        s->out.data = mfree(s->out.data);
}

void exec_result_done(ExecResult *r) {
        if (!r)
                return;
        r->error_step = mfree(r->error_step);
        r->out.data = mfree(r->out.data);
        r->err.data = mfree(r->err.data);
}

/* Move fd above 2, so that the child's dup2() onto 0, 1 and 2 can never clobber one of its own sources. */
static int fd_move_above_stdio(int fd) {
        if (fd < 0 || fd > 2)
                return fd;
        int n = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        int r = n < 0 ? -errno : n;
        safe_close(fd);
        return r;
}

static int make_pipe(int *ret_read, int *ret_write, bool nonblocking_read) {
        int p[2];

        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        p[0] = fd_move_above_stdio(p[0]);
        p[1] = fd_move_above_stdio(p[1]);
        if (p[0] < 0 || p[1] < 0) {
                int r = p[0] < 0 ? p[0] : p[1];
                safe_close(p[0]);
                safe_close(p[1]);
                return r;
        }
        if (nonblocking_read && fcntl(p[0], F_SETFL, O_NONBLOCK) < 0) {
                int r = -errno;
                safe_close(p[0]);
                safe_close(p[1]);
                return r;
        }
        *ret_read = p[0];
        *ret_write = p[1];
        return 0;
}

/* ---- cloning ---- */

/* Map a stack of size bytes for a child, with a guard page below, which turns an overflow into a crash of
 * the child instead of a silent write into our memory. */
static int stack_new(size_t size, void **ret) {
        void *stack;

        stack = mmap(NULL, size + CHILD_STACK_GUARD, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
        if (stack == MAP_FAILED)
                return -errno;
        if (mprotect(stack, CHILD_STACK_GUARD, PROT_NONE) < 0) {
                int r = -errno;
                (void) munmap(stack, size + CHILD_STACK_GUARD);
                return r;
        }
        *ret = stack;
        return 0;
}

/* The children's stacks, kept for the next jobs: a new one per job cost a mapping, its guard page, the page
 * faults of a fresh stack, and an unmapping, which flushes the TLB of every CPU that runs a zygote (they
 * share our memory).  A stack is given back when its plan is freed, once the child is gone; one process's
 * executors all run on its one event loop, so the list needs no lock. */
static void *child_stack_pool[EXECUTOR_CHILD_STACKS_KEPT_MAX];
static size_t n_child_stack_pool;

static int child_stack_get(void **ret) {
        if (n_child_stack_pool > 0) {
                *ret = child_stack_pool[--n_child_stack_pool];
                return 0;
        }
        return stack_new(CHILD_STACK_SIZE, ret);
}

static void child_stack_put(void *stack) {
        if (!stack)
                return;
        if (n_child_stack_pool < EXECUTOR_CHILD_STACKS_KEPT_MAX)
                child_stack_pool[n_child_stack_pool++] = stack;
        else
                (void) munmap(stack, CHILD_STACK_SIZE + CHILD_STACK_GUARD);
}

size_t executor_n_child_stacks_kept(void) {
        return n_child_stack_pool;
}

static void *stack_top(void *stack, size_t size) {
        return (uint8_t *) stack + CHILD_STACK_GUARD + size;
}

/* Create a child sharing our memory (CLONE_VM is added), running fn(arg) on stack_top, with every signal
 * blocked.  A fork-like clone copies the page tables of the whole worker and tears the copy down again at
 * execve, which costs about 55 us per MiB of the worker's resident memory (measured: 500 MiB made each job
 * 28 ms slower), and gRPC and our caches make the worker large.  Sharing is safe because the child makes
 * only raw system calls (no errno, nothing of ours written but what it is given to fill in), reads its plan,
 * which is freed only after the child is gone, and runs with every signal blocked until it has reset all
 * handlers to SIG_DFL, so that no handler of ours ever runs on its side. */
static pid_t clone_vm(int (*fn)(void *), void *top, unsigned long flags, void *arg, int *ret_pidfd) {
        sigset_t all, saved;
        pid_t pid;
        int error;

        sigfillset(&all);
        error = pthread_sigmask(SIG_SETMASK, &all, &saved);
        if (error != 0)
                return -error;
        pid = clone(fn, top, (int) (flags | CLONE_VM), arg, ret_pidfd);
        error = pid < 0 ? errno : 0;
        (void) pthread_sigmask(SIG_SETMASK, &saved, NULL);
        return pid < 0 ? -error : pid;
}

/* ---- the pool of network namespaces, and its zygotes ---- */

static bool executor_has_zygote(const Executor *x) {
        return x->zygotes[0].socket >= 0;
}

static void executor_netns_give_back(Executor *x, Network network, PooledNetns *n) {
        netns_pool_give_back(&x->pools[network], n, executor_has_zygote(x), now(CLOCK_MONOTONIC));
}

static void zygote_init(Zygote *z) {
        *z = (Zygote) {
                .pidfd = -EBADF,
                .socket = -EBADF,
                .child.socket = -EBADF,
                .child.userns_fd = -EBADF,
                .child.new_userns_fd = -EBADF,
                .child.clones_detached = -1,
        };
}

/* End the zygote; the jobs it has not answered for are the caller's to finish. */
static void zygote_stop(Zygote *z) {
        siginfo_t si;

        z->source = sd_event_source_disable_unref(z->source);
        z->exit_source = sd_event_source_disable_unref(z->exit_source);
        /* End of file makes it exit (it never blocks but on its socket). */
        z->socket = safe_close(z->socket);
        if (z->pidfd >= 0)
                while (waitid(P_PIDFD, (id_t) z->pidfd, &si, WEXITED) < 0 && errno == EINTR)
                        ;
        z->pidfd = safe_close(z->pidfd);
        /* Shared fd table: its end of the socket is ours to close, once it is gone. */
        z->child.socket = safe_close(z->child.socket);
        z->child.new_userns_fd = safe_close(z->child.new_userns_fd);
        if (z->stack)
                (void) munmap(z->stack, ZYGOTE_STACK_SIZE + CHILD_STACK_GUARD);
        z->stack = NULL;
}

/* No pool any more: the zygotes go, the namespaces in use are closed when their jobs give them back. */
static void executor_netns_pool_disable(Executor *x) {
        for (size_t i = 0; i < ELEMENTSOF(x->zygotes); i++)
                zygote_stop(&x->zygotes[i]);
        for (Network m = 0; m < NETWORK_LOCAL; m++)
                netns_pool_set_max(&x->pools[m], 0);
}

void executor_set_netns_pool_max(Executor *x, size_t n) {
        assert(x);
        if (!executor_has_zygote(x))
                return;
        for (Network m = 0; m < NETWORK_LOCAL; m++)
                netns_pool_set_max(&x->pools[m], n);
}

/* Receive the zygote's answer.  Its end of the socket is in our fd table too, so its death is no end of
 * file: watch its pidfd as well. */
static int zygote_recv(Zygote *z, void *buf, size_t size) {
        struct pollfd p[2] = {
                { .fd = z->socket, .events = POLLIN },
                { .fd = z->pidfd, .events = POLLIN },
        };
        ssize_t n;

        while (poll(p, ELEMENTSOF(p), /* timeout= */ -1) < 0)
                if (errno != EINTR)
                        return -errno;
        if (!(p[0].revents & POLLIN))
                return -ECHILD;
        n = recv(z->socket, buf, size, MSG_WAITALL);
        if (n < 0)
                return -errno;
        return n == (ssize_t) size ? 0 : -EBADMSG;
}

static int on_zygote_answer(sd_event_source *s, int fd, uint32_t revents, void *userdata);
static int on_zygote_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata);

/* Start a zygote in the pool's user namespace: it joins userns_fd, or creates the namespace when that is
 * -EBADF, mapping our uid and gid onto themselves, so that a job's user namespace inside it maps the job's
 * user onto ours just as outside (ret_userns_fd: an fd of it, for the next zygote).  With seccomp, it
 * installs that filter, which the jobs it clones inherit. */
static int zygote_start(Executor *x, Zygote *z, int userns_fd, const struct sock_fprog *seccomp,
                        int *ret_userns_fd) {
        long status;
        int sp[2], r;
        pid_t pid;

        if (!CHILD_CLONE)
                return -EOPNOTSUPP;
        r = stack_new(ZYGOTE_STACK_SIZE, &z->stack);
        if (r < 0)
                return r;
        /* A stream: as many jobs may wait for it as we like (a datagram queue holds ten). */
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
                return -errno;
        z->socket = sp[0];
        z->child.socket = sp[1];
        z->child.userns_fd = userns_fd;
        z->child.seccomp = seccomp;
        snprintf(z->child.uid_map, sizeof z->child.uid_map, "%u %u 1\n", (unsigned) x->uid,
                 (unsigned) x->uid);
        snprintf(z->child.gid_map, sizeof z->child.gid_map, "%u %u 1\n", (unsigned) x->gid,
                 (unsigned) x->gid);

        /* No CLONE_VFORK: it lives on.  Its fd table is ours: the fds it opens (pidfds, namespaces) too. */
        pid = clone_vm(child_zygote, stack_top(z->stack, ZYGOTE_STACK_SIZE),
                       CLONE_FILES | CLONE_PIDFD | SIGCHLD, &z->child, &z->pidfd);
        if (pid < 0)
                return pid;

        r = zygote_recv(z, &status, sizeof status);
        if (r < 0)
                return r;
        if (status < 0)
                return (int) status;

        /* From now on its answers come through the loop. */
        r = sd_event_add_io(x->event, &z->source, z->socket, EPOLLIN, on_zygote_answer, x);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(z->source, "executor-zygote");
        r = sd_event_add_io(x->event, &z->exit_source, z->pidfd, EPOLLIN, on_zygote_exit, x);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(z->exit_source, "executor-zygote-exit");
        if (ret_userns_fd)
                *ret_userns_fd = TAKE_FD(z->child.new_userns_fd);
        return 0;
}

static int executor_start_zygotes(Executor *x) {
        _cleanup_close_ int userns_fd = -EBADF;
        int r;

        r = zygote_start(x, &x->zygotes[0], /* userns_fd= */ -EBADF, /* seccomp= */ NULL, &userns_fd);
        if (r < 0)
                return r;
        return zygote_start(x, &x->zygotes[1], userns_fd, &x->seccomp, /* ret_userns_fd= */ NULL);
}

/* ---- Executor ---- */

static char *path_join(const char *a, const char *b) {
        return strjoin(a, "/", b);
}

int executor_new(sd_event *event, const char *scratch_dir, Executor **ret) {
        _cleanup_(executor_freep) Executor *x = NULL;
        size_t len;
        int r;

        assert(event);
        assert(scratch_dir);
        assert(ret);

        if (scratch_dir[0] != '/')
                return -EINVAL;

        x = calloc(1, sizeof *x);
        if (!x)
                return -ENOMEM;
        x->null_fd = x->closer_fd = -EBADF;
        for (size_t i = 0; i < ELEMENTSOF(x->zygotes); i++)
                zygote_init(&x->zygotes[i]);
        x->event = sd_event_ref(event);
        x->uid = geteuid();
        x->gid = getegid();

        x->root_dir = path_join(scratch_dir, "root");
        x->empty_dir = path_join(scratch_dir, "empty");
        if (!x->root_dir || !x->empty_dir)
                return -ENOMEM;
        /* Inside the tmpfs that a writable container mounts on root_dir; the overlay goes on top of it
         * all. */
        x->upper_dir = path_join(x->root_dir, "upper");
        x->work_dir = path_join(x->root_dir, "work");
        x->merged_dir = path_join(x->root_dir, "merged");
        if (!x->upper_dir || !x->work_dir || !x->merged_dir)
                return -ENOMEM;
        /* fsconfig() takes the writable root's directories as strings: they must fit its limit. */
        if (strlen(x->merged_dir) > FSCONFIG_STRING_MAX)
                return -ENAMETOOLONG;

        for (const char *const *d = (const char *const[]) { x->root_dir, x->empty_dir, NULL }; *d; d++)
                if (mkdir(*d, 0755) < 0 && errno != EEXIST)
                        return -errno;

        x->null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (x->null_fd < 0)
                return -errno;
        x->null_fd = fd_move_above_stdio(x->null_fd);
        if (x->null_fd < 0)
                return x->null_fd;

        r = seccomp_default_program(&x->seccomp_filter, &len);
        if (r < 0)
                return r;
        x->seccomp = (struct sock_fprog) {
                .len = (unsigned short) len,
                .filter = x->seccomp_filter,
        };

        /* Without a pool, every job makes a network namespace of its own: slower, nothing else. */
        r = executor_start_zygotes(x);
        if (r < 0) {
                log_debug_errno(r, "Failed to start the zygotes of the network namespace pool, running "
                                "without one: %m");
                executor_netns_pool_disable(x);
        }
        /* Until told the number of slots: as many jobs at once as CPUs, and a few more. */
        executor_set_netns_pool_max(x, (size_t) MAX(sysconf(_SC_NPROCESSORS_ONLN), 1L) + 2);

        *ret = TAKE_PTR(x);
        return 0;
}

static void execution_detach(Execution *e);
static void executor_launches_drain(Executor *x);

/* The closing thread: closes each fd that comes through the pipe, until it ends. */
static void *closer_main(void *arg) {
        int fd = (int) (intptr_t) arg, ns;
        ssize_t n;

        while ((n = read(fd, &ns, sizeof ns)) == (ssize_t) sizeof ns || (n < 0 && errno == EINTR))
                if (n > 0)
                        (void) close(ns);
        (void) close(fd);
        return NULL;
}

/* A job's PID 1 that holds the last reference to its mount namespace drops it as it exits, and the kernel
 * then waits for an expedited RCU grace period (namespace_unlock()) before its parent hears of the exit: a
 * sixth of a millisecond here, in which its slot's CPU has nothing to run, since the next job waits for
 * the worker to hear.  So the executor holds each job's mount namespace from its release, and once the job
 * is reaped closes it on a thread of its own, which waits instead.  Without the thread, fd is closed
 * here. */
static void executor_close_later(Executor *x, int fd) {
        if (fd < 0)
                return;
        if (x->closer_fd < 0) {
                int p[2];

                if (pipe2(p, O_CLOEXEC) < 0) {
                        (void) close(fd);
                        return;
                }
                /* Blocked signals, like ours: the loop's signalfd takes them. */
                if (pthread_create(&x->closer, NULL, closer_main, (void *) (intptr_t) p[0]) != 0) {
                        (void) close(p[0]);
                        (void) close(p[1]);
                        (void) close(fd);
                        return;
                }
                (void) fcntl(p[1], F_SETFL, O_NONBLOCK);
                x->closer_fd = p[1];
        }
        if (write(x->closer_fd, &fd, sizeof fd) != (ssize_t) sizeof fd)
                (void) close(fd); /* the pipe is full: the thread is that far behind */
}

static void reap_sync(int pidfd) {
        siginfo_t si;

        (void) pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
        while (waitid(P_PIDFD, pidfd, &si, WEXITED) < 0 && errno == EINTR)
                ;
}

static Orphan *orphan_free(Orphan *o) {
        if (!o)
                return NULL;
        if (o->executor) {
                if (o->prev)
                        o->prev->next = o->next;
                else
                        o->executor->orphans = o->next;
                if (o->next)
                        o->next->prev = o->prev;
                o->executor->n_orphans--;
        }
        sd_event_source_disable_unref(o->source);
        safe_close(o->pidfd);
        child_plan_free(o->plan);
        /* Freed only once the child is reaped (or the executor is going): its namespace is free again. */
        if (o->executor)
                executor_netns_give_back(o->executor, o->network, &o->netns);
        pooled_netns_close(&o->netns);
        return mfree(o);
}

/* ---- read-only roots kept for the jobs with the same layers ---- */

static CachedRoot *root_cache_find(Executor *x, const char *key) {
        for (size_t i = 0; i < x->n_roots; i++)
                if (streq(x->roots[i].key, key))
                        return &x->roots[i];
        return NULL;
}

/* Take a use of the kept root for key (most recently used now), and return its fd, or -ENOENT. */
static int root_cache_use(Executor *x, const char *key) {
        CachedRoot *c = root_cache_find(x, key), used;

        if (!c)
                return -ENOENT;
        used = *c;
        used.users++;
        memmove(c, c + 1, (size_t) (x->roots + x->n_roots - c - 1) * sizeof *c);
        x->roots[x->n_roots - 1] = used;
        return used.fd;
}

static void root_cache_release(Executor *x, const char *key) {
        CachedRoot *c = root_cache_find(x, key);

        assert(c && c->users > 0);
        if (c)
                c->users--;
}

/* Keep fd, a root that a zygote made, for key; without room (every kept root in use), close it. */
static void root_cache_add(Executor *x, const char *key, int fd) {
        char *k;

        if (root_cache_find(x, key)) {
                safe_close(fd); /* two jobs with the same layers were launched before either came back */
                return;
        }
        if (x->n_roots == ROOT_CACHE_MAX) {
                size_t i = 0;
                while (i < x->n_roots && x->roots[i].users > 0)
                        i++;
                if (i == x->n_roots) {
                        safe_close(fd);
                        return;
                }
                free(x->roots[i].key);
                safe_close(x->roots[i].fd);
                memmove(x->roots + i, x->roots + i + 1, (x->n_roots - i - 1) * sizeof(CachedRoot));
                x->n_roots--;
        }
        k = strdup(key);
        if (!k) {
                safe_close(fd);
                return;
        }
        x->roots[x->n_roots++] = (CachedRoot) { .key = k, .fd = fd };
}

static void root_cache_clear(Executor *x) {
        for (size_t i = 0; i < x->n_roots; i++) {
                free(x->roots[i].key);
                safe_close(x->roots[i].fd);
        }
        x->n_roots = 0;
}

Executor *executor_free(Executor *x) {
        if (!x)
                return NULL;

        /* Whatever still runs dies now, synchronously: nothing outlives the executor.  First, know every job
         * that exists. */
        executor_launches_drain(x);
        while (x->executions) {
                Execution *e = x->executions;
                if (e->pidfd >= 0 && !e->exited)
                        reap_sync(e->pidfd);
                execution_detach(e);
        }
        while (x->orphans) {
                reap_sync(x->orphans->pidfd);
                orphan_free(x->orphans);
        }

        executor_netns_pool_disable(x);
        root_cache_clear(x);
        if (x->closer_fd >= 0) {
                x->closer_fd = safe_close(x->closer_fd);
                (void) pthread_join(x->closer, NULL);
        }
        safe_close(x->null_fd);
        if (x->root_dir)
                (void) rmdir(x->root_dir);
        if (x->empty_dir)
                (void) rmdir(x->empty_dir);
        free(x->root_dir);
        free(x->upper_dir);
        free(x->work_dir);
        free(x->merged_dir);
        free(x->empty_dir);
        free(x->seccomp_filter);
        sd_event_unref(x->event);
        return mfree(x);
}

size_t executor_n_orphans(const Executor *x) {
        return x ? x->n_orphans : 0;
}

static int on_orphan_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Orphan *o = userdata;
        siginfo_t si = {};

        if (waitid(P_PIDFD, o->pidfd, &si, WEXITED | WNOHANG) < 0) {
                if (errno == EINTR)
                        return 0;
                /* Not ours to wait for any more (ECHILD): nothing left to reap. */
        } else if (si.si_pid == 0)
                return 0;
        orphan_free(o);
        return 0;
}

/* Kill the process behind pidfd and reap it from the event loop; pidfd, plan and the pooled namespace netns
 * are taken, and freed (or given back) once the child is gone. */
static void executor_adopt(Executor *x, int pidfd, ChildPlan *plan, Network network, PooledNetns *netns) {
        Orphan *o;

        (void) pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
        o = calloc(1, sizeof *o);
        if (!o) {
                reap_sync(pidfd);
                safe_close(pidfd);
                child_plan_free(plan);
                executor_netns_give_back(x, network, netns);
                return;
        }
        o->pidfd = pidfd;
        o->plan = plan;
        o->network = network;
        o->netns = *netns;
        *netns = POOLED_NETNS_NULL;
        if (sd_event_add_io(x->event, &o->source, pidfd, EPOLLIN, on_orphan_exit, o) < 0) {
                reap_sync(pidfd);
                executor_netns_give_back(x, network, &o->netns);
                orphan_free(o);
                return;
        }
        (void) sd_event_source_set_description(o->source, "executor-orphan");
        o->executor = x;
        o->next = x->orphans;
        if (o->next)
                o->next->prev = o;
        x->orphans = o;
        x->n_orphans++;
}

/* ---- building the plan ---- */

static int plan_layer(ChildPlan *p, const char *path, char ***dirs, char **reterr_step) {
        char buf[64];
        int fd, r;

        fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                r = -errno;
                *reterr_step = strjoin("open layer '", path, "'");
                return *reterr_step ? r : -ENOMEM;
        }
        p->layer_fds[p->n_layer_fds++] = fd;
        r = strv_extend(&p->layer_paths, path);
        if (r < 0)
                return r;
        snprintf(buf, sizeof buf, "/proc/self/fd/%d", fd);
        return strv_extend(dirs, buf);
}

static int plan_layers(ChildPlan *p, const Executor *x, const ExecSpec *spec, char **reterr_step) {
        _cleanup_strv_free_ char **dirs = NULL;
        size_t total = 0;
        int r;

        p->layer_fds = calloc(spec->n_layers + 1, sizeof(int));
        if (!p->layer_fds)
                return -ENOMEM;

        /* The parent opens the layers: a missing one is found before clone, and each is then named by its
         * short /proc/self/fd/N, whatever the length of its path.  Overlayfs takes the top layer first, and
         * refuses a directory given twice (ELOOP): a layer below the same one adds nothing, and is left
         * out (two layers of the same content are one directory in the cache). */
        for (size_t i = spec->n_layers; i > 0; i--) {
                bool again = false;
                for (size_t k = i; k < spec->n_layers && !again; k++)
                        again = streq(spec->layers[k], spec->layers[i - 1]);
                if (again)
                        continue;
                r = plan_layer(p, spec->layers[i - 1], &dirs, reterr_step);
                if (r < 0)
                        return r;
        }
        /* Without an upper directory, overlayfs needs two lower ones. */
        if (p->n_layer_fds == 1 && !spec->writable) {
                r = plan_layer(p, x->empty_dir, &dirs, reterr_step);
                if (r < 0)
                        return r;
        }
        /* A read-only root may be kept for the jobs with the same layers: what identifies them. */
        if (!spec->writable) {
                TextBuf key = {};
                for (size_t i = 0; i < p->n_layer_fds; i++) {
                        struct stat st;
                        if (fstat(p->layer_fds[i], &st) < 0)
                                return -errno;
                        textbuf_appendf(&key, "%" PRIu64 ":%" PRIu64 " ", (uint64_t) st.st_dev,
                                        (uint64_t) st.st_ino);
                }
                r = textbuf_steal(&key, &p->root_key);
                if (r < 0)
                        return r;
        }

        STRV_FOREACH(d, dirs)
                total += strlen(*d) + 1;
        if (total <= FSCONFIG_STRING_MAX) {
                p->lowerdir = strv_join(dirs, ":");
                if (!p->lowerdir)
                        return -ENOMEM;
        } else {
                p->n_lowerdirs = strv_length(dirs);
                p->lowerdirs = TAKE_PTR(dirs);
        }
        return 0;
}

static int plan_add_mount(ChildPlan *p, const ChildMount *m) {
        ChildMount *n = &p->mounts[p->n_mounts];

        *n = *m;
        n->target = n->target_owned = strdup(m->target);
        if (!n->target_owned)
                return -ENOMEM;
        if (m->source) {
                n->source = n->source_owned = strdup(m->source);
                if (!n->source_owned) {
                        n->target_owned = mfree(n->target_owned);
                        return -ENOMEM;
                }
        }
        p->n_mounts++;
        return 0;
}

static int plan_mounts(ChildPlan *p, const ExecSpec *spec, char **reterr_step) {
        size_t n = 0;
        int r;

        for (size_t i = 0; i < spec->n_mounts; i++)
                n += spec->mounts[i].type == MOUNT_DEVICES
                             ? (size_t) __builtin_popcount(spec->mounts[i].devices)
                             : 1;
        if (n == 0)
                return 0;
        p->mounts = calloc(n, sizeof(ChildMount));
        if (!p->mounts)
                return -ENOMEM;

        for (size_t i = 0; i < spec->n_mounts; i++) {
                const ExecMount *em = &spec->mounts[i];
                ChildMount m = { .type = em->type, .spec_index = i, .target = em->mount_point };
                const char *problem = NULL;

                if (em->type < 0 || em->type >= _MOUNT_TYPE_MAX)
                        return -EINVAL;
                if (em->type != MOUNT_DEVICES) {
                        if (isempty(em->mount_point) || em->mount_point[0] != '/')
                                problem = "is not an absolute path";
                        else if (em->mount_point[strspn(em->mount_point, "/")] == 0)
                                problem = "is the root directory";
                }
                if (!problem && em->type == MOUNT_BIND && (isempty(em->source) || em->source[0] != '/'))
                        problem = "has no absolute source path";
                if (!problem && em->type == MOUNT_DEVICES && (em->devices & ~((1U << _DEVICE_MAX) - 1)))
                        problem = "names an unknown device";
                if (problem) {
                        char num[32];
                        snprintf(num, sizeof num, "%zu", i + 1);
                        *reterr_step = strjoin("mount ", num, " (", mount_type_table[em->type], " on '",
                                               strempty(em->mount_point), "') ", problem);
                        return *reterr_step ? -EINVAL : -ENOMEM;
                }

                switch (em->type) {
                case MOUNT_TMP:
                case MOUNT_PROC:
                case MOUNT_SYS:
                case MOUNT_DEVPTS:
                case MOUNT_MQUEUE:
                        m.fstype = new_fs_table[em->type].fstype;
                        m.attr = new_fs_table[em->type].attr;
                        m.option_key = new_fs_table[em->type].option_key;
                        m.option_value = new_fs_table[em->type].option_value;
                        break;
                case MOUNT_BIND:
                        m.source = em->source;
                        m.read_only = em->read_only;
                        break;
                case MOUNT_DEVICES:
                        for (Device d = 0; d < _DEVICE_MAX; d++) {
                                char path[32];
                                if (!(em->devices & (1U << d)))
                                        continue;
                                snprintf(path, sizeof path, "/dev/%s", device_to_string(d));
                                m.target = m.source = path;
                                r = plan_add_mount(p, &m);
                                if (r < 0)
                                        return r;
                        }
                        continue;
                case _MOUNT_TYPE_MAX:
                case _MOUNT_TYPE_INVALID:
                        return -EINVAL;
                }
                /* The lock (see child_lock_mounts()) stops what the kernel's own checks would not: a job
                 * remounting a read-only bind of the host's files read-write; and a job that runs as the
                 * host's root unmounting its proc's read-only host-wide entries, or making its sysfs
                 * writable, and writing them (the kernel checks the uid only there).  Any other job may
                 * write none of those whatever its mounts (EACCES), its read-only root is so in its
                 * superblock (an overlayfs without an upper directory: EROFS), and its other file
                 * systems are its own: it goes without the lock, and its proc without the read-only
                 * entries, which would cost it a user and a mount namespace more and six mounts. */
                if (m.read_only || (p->proc_read_only && IN_SET(em->type, MOUNT_PROC, MOUNT_SYS)))
                        p->lock_mounts = true;
                r = plan_add_mount(p, &m);
                if (r < 0)
                        return r;
        }
        return 0;
}

static const char *env_get(const char *const *env, const char *key) {
        size_t l = strlen(key);
        for (const char *const *v = env; v && *v; v++)
                if (strneq(*v, key, l) && (*v)[l] == '=')
                        return *v + l + 1;
        return NULL;
}

/* A NULL-terminated vector of first (unless NULL) and the n strings of l, in one allocation. */
static char **string_vector_copy(const char *first, const char *const *l, size_t n) {
        size_t count = n + !!first, size = (count + 1) * sizeof(char *);
        char **v, *s;

        if (first)
                size += strlen(first) + 1;
        for (size_t i = 0; i < n; i++)
                size += strlen(l[i]) + 1;
        v = malloc(size);
        if (!v)
                return NULL;
        s = (char *) (v + count + 1);
        for (size_t i = 0; i < count; i++) {
                const char *from = first ? (i == 0 ? first : l[i - 1]) : l[i];
                size_t k = strlen(from) + 1;
                memcpy(s, from, k);
                v[i] = s;
                s += k;
        }
        v[count] = NULL;
        return v;
}

static int plan_program(ChildPlan *p, const ExecSpec *spec) {
        size_t n_args = 0, n_env = 0;
        const char *path;
        int r;

        p->program = strdup(spec->program);
        if (!p->program)
                return -ENOMEM;

        while (spec->arguments && spec->arguments[n_args])
                n_args++;
        while (spec->environment && spec->environment[n_env])
                n_env++;
        if (n_args > EXEC_ARGUMENTS_MAX || n_env > EXEC_ARGUMENTS_MAX)
                return -E2BIG;

        p->argv = string_vector_copy(spec->program, spec->arguments, n_args);
        p->envp = string_vector_copy(NULL, spec->environment, n_env);
        if (!p->argv || !p->envp)
                return -ENOMEM;

        if (strchr(spec->program, '/'))
                return strv_extend(&p->candidates, spec->program);

        path = env_get(spec->environment, "PATH") ?: "/bin:/usr/bin";
        for (const char *s = path;;) {
                size_t l = strcspn(s, ":");
                if (strv_length(p->candidates) >= EXEC_PATH_CANDIDATES_MAX)
                        break;
                /* An empty element is the working directory, as for execvp. */
                if (l == 0)
                        r = strv_extend(&p->candidates, spec->program);
                else {
                        _cleanup_free_ char *dir = strndup(s, l);
                        if (!dir)
                                return -ENOMEM;
                        r = strv_consume(&p->candidates, path_join(dir, spec->program));
                }
                if (r < 0)
                        return r;
                if (s[l] == 0)
                        break;
                s += l + 1;
        }
        if (!p->candidates)
                return strv_extend(&p->candidates, spec->program);
        return 0;
}

/* ---- Execution ---- */

static void execution_unlink(Execution *e) {
        if (!e->executor)
                return;
        if (e->prev)
                e->prev->next = e->next;
        else
                e->executor->executions = e->next;
        if (e->next)
                e->next->prev = e->prev;
        e->prev = e->next = NULL;
        e->executor = NULL;
}

/* Called by executor_free() on an execution whose process is gone: it stays a valid, inert object. */
static void execution_detach(Execution *e) {
        e->child_source = sd_event_source_disable_unref(e->child_source);
        e->timer_source = sd_event_source_disable_unref(e->timer_source);
        e->defer_source = sd_event_source_disable_unref(e->defer_source);
        e->tty_socket_source = sd_event_source_disable_unref(e->tty_socket_source);
        e->out.source = sd_event_source_disable_unref(e->out.source);
        e->err.source = sd_event_source_disable_unref(e->err.source);
        e->pidfd = safe_close(e->pidfd);
        e->exited = e->finished = true;
        executor_netns_give_back(e->executor, e->network, &e->netns);
        executor_close_later(e->executor, TAKE_FD(e->mnt_ns_fd));
        execution_unlink(e);
}

Execution *execution_free(Execution *e) {
        if (!e)
                return NULL;

        e->child_source = sd_event_source_disable_unref(e->child_source);
        e->timer_source = sd_event_source_disable_unref(e->timer_source);
        e->defer_source = sd_event_source_disable_unref(e->defer_source);
        e->tty_socket_source = sd_event_source_disable_unref(e->tty_socket_source);
        e->tty_socket = safe_close(e->tty_socket);
        textbuf_done(&e->tty_pending);
        if (e->launch) {
                /* The zygote is cloning it: the job is killed as soon as it exists (see
                 * executor_launch_complete()), and the plan is the launch's until then. */
                e->launch->execution = NULL;
                e->launch->plan = TAKE_PTR(e->plan);
                e->launch->netns = e->netns; /* (empty) */
                e->netns = POOLED_NETNS_NULL;
                e->launch = NULL;
        }
        if (e->pidfd >= 0 && !e->exited && e->executor)
                executor_adopt(e->executor, TAKE_FD(e->pidfd), TAKE_PTR(e->plan), e->network, &e->netns);
        else if (e->pidfd >= 0 && !e->exited)
                reap_sync(e->pidfd);
        safe_close(e->pidfd);
        if (e->executor) {
                executor_netns_give_back(e->executor, e->network, &e->netns);
                executor_close_later(e->executor, TAKE_FD(e->mnt_ns_fd));
        } else
                safe_close(e->mnt_ns_fd);
        pooled_netns_close(&e->netns);
        execution_unlink(e);

        output_stream_done(&e->out);
        output_stream_done(&e->err);
        safe_close(e->report_fd);
        safe_close(e->gate_fd);
        child_plan_free(e->plan);
        free(e->error_step);
        return mfree(e);
}

static const char *child_step_verb(ChildStep s) {
        static const char *const table[_STEP_MAX] = {
                [STEP_READY] = "start",
                [STEP_PDEATHSIG] = "set the parent-death signal",
                [STEP_UNSHARE] = "create the namespaces",
                [STEP_UID_MAP] = "write /proc/self/uid_map",
                [STEP_SETGROUPS] = "write /proc/self/setgroups",
                [STEP_GID_MAP] = "write /proc/self/gid_map",
                [STEP_LOOPBACK] = "bring up the loopback interface",
                [STEP_WRITABLE_TMPFS] = "mount the tmpfs of the writable root",
                [STEP_WRITABLE_DIRS] = "create the directories of the writable root",
                [STEP_OVERLAY] = "mount the overlayfs of the layers",
                [STEP_TTY] = "allocate a pseudo-terminal in the job's devpts",
                [STEP_PIVOT_ROOT] = "pivot_root into the container",
                [STEP_UNMOUNT_OLD_ROOT] = "unmount the old root",
                [STEP_LOCK_MOUNTS] = "lock the mounts",
                [STEP_CHDIR] = "change to the working directory",
                [STEP_STDIO] = "set up standard input and output",
                [STEP_CLOSE_FDS] = "close inherited file descriptors",
                [STEP_SETSID] = "create a session",
                [STEP_CONTROLLING_TTY] = "acquire the controlling terminal",
                [STEP_GATE] = "wait to be released",
                [STEP_SCHEDULER] = "set the scheduling policy",
                [STEP_NO_NEW_PRIVS] = "set no_new_privs",
                [STEP_SECCOMP] = "install the seccomp filter",
                [STEP_EXECVE] = "execve",
                [STEP_JOIN_NETNS] = "join the pooled network namespace",
                [STEP_CREATE_NETNS] = "create a pooled network namespace",
                [STEP_POOL_LOOPBACK] = "bring up the loopback interface of a pooled network namespace",
                [STEP_POOL_SYSFS] = "mount the sysfs of the pooled network namespace",
        };
        return s < _STEP_MAX ? table[s] : NULL;
}

/* Turn the child's report into "what failed", naming the path or mount involved. */
static char *child_report_describe(const Execution *e, const ChildReport *r) {
        const ChildPlan *p = e->plan;
        TextBuf b = {};
        char *s;

        if (IN_SET(r->step, STEP_MOUNT_POINT, STEP_MOUNT_SOURCE, STEP_MOUNT) && r->index < p->n_mounts) {
                const ChildMount *m = &p->mounts[r->index];
                const char *type = mount_type_table[m->type];

                if (r->step == STEP_MOUNT_POINT)
                        textbuf_appendf(&b, "%s mount point '%s' in the container", type, m->target);
                else if (m->type == MOUNT_DEVICES)
                        textbuf_appendf(&b, "bind the host's %s onto the stub %s", m->source, m->target);
                else if (r->step == STEP_MOUNT_SOURCE)
                        textbuf_appendf(&b, "bind mount source '%s' for '%s'", m->source, m->target);
                else if (m->type == MOUNT_BIND)
                        textbuf_appendf(&b, "bind mount '%s' on '%s'%s", m->source, m->target,
                                        m->read_only ? " read-only" : "");
                else
                        textbuf_appendf(&b, "mount %s on '%s'", type, m->target);
                if (r->step == STEP_MOUNT && m->type == MOUNT_SYS && e->network == NETWORK_LOCAL)
                        textbuf_append(&b, " (the kernel refuses sysfs without a network namespace of the "
                                           "container's own: not possible with network 'local')");
        } else if (r->step == STEP_LAYER && r->index < strv_length(p->layer_paths))
                textbuf_appendf(&b, "open layer '%s' in the container", p->layer_paths[r->index]);
        else if (r->step == STEP_EXECVE)
                textbuf_appendf(&b, "execve '%s'%s", p->program,
                                strchr(p->program, '/') ? "" : " (searched in the job's PATH)");
        else if (r->step == STEP_CHDIR)
                textbuf_appendf(&b, "change to the working directory '%s'", p->working_directory);
        else
                textbuf_append(&b, child_step_verb(r->step) ?: "set up the container");

        if (r->detail[0]) {
                char detail[sizeof r->detail];
                memcpy(detail, r->detail, sizeof detail);
                detail[sizeof detail - 1] = 0;
                detail[strcspn(detail, "\n")] = 0;
                textbuf_appendf(&b, " [kernel: %s]", detail);
        }
        if (textbuf_steal(&b, &s) < 0)
                return NULL;
        return s;
}

static void execution_read_reports(Execution *e) {
        ChildReport r;

        for (;;) {
                ssize_t n = read(e->report_fd, &r, sizeof r);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n != (ssize_t) sizeof r)
                        break;
                if (r.step == STEP_READY) {
                        e->exec_usec = r.usec;
                        continue;
                }
                if (e->error_step || r.step <= STEP_READY || r.step >= _STEP_MAX)
                        continue;
                e->error_step = child_report_describe(e, &r);
                e->error_errno = r.error;
                if (!e->error_step) /* out of memory: still an error, with a generic step */
                        e->error_step = strdup("set up the container");
        }
}

static void execution_finish(Execution *e) {
        ExecResult result = {};
        ExecDoneFunc done = e->done;

        e->finished = true;
        e->child_source = sd_event_source_disable_unref(e->child_source);
        e->timer_source = sd_event_source_disable_unref(e->timer_source);
        e->defer_source = sd_event_source_disable_unref(e->defer_source);
        e->tty_socket_source = sd_event_source_disable_unref(e->tty_socket_source);
        if (e->report_fd >= 0)
                execution_read_reports(e);
        if (!e->end_usec)
                e->end_usec = now(CLOCK_MONOTONIC);

        if (e->timed_out)
                result.outcome = EXEC_TIMED_OUT;
        else if (e->error_step) {
                result.outcome = EXEC_ERROR;
                result.error_step = TAKE_PTR(e->error_step);
                result.error_errno = e->error_errno;
        } else if (e->exit_code == CLD_EXITED) {
                result.outcome = EXEC_EXITED;
                result.status = e->exit_status;
        } else {
                result.outcome = EXEC_SIGNALED;
                result.status = e->exit_status;
        }

        result.out = e->out.out;
        result.err = e->err.out;
        e->out.out = e->err.out = (ExecOutput) {};

        if (e->exec_usec >= e->start_usec) {
                result.setup_usec = e->exec_usec - e->start_usec;
                result.run_usec = e->end_usec > e->exec_usec ? e->end_usec - e->exec_usec : 0;
        } else
                result.setup_usec = e->end_usec - e->start_usec;

        execution_unlink(e);
        done(e, &result, e->userdata); /* may free e */
}

static void execution_maybe_finish(Execution *e) {
        if (e->exited && e->out.eof && e->err.eof && !e->finished)
                execution_finish(e);
}

static int on_child_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Execution *e = userdata;
        siginfo_t si = {};

        if (waitid(P_PIDFD, e->pidfd, &si, WEXITED | WNOHANG) < 0) {
                if (errno == EINTR)
                        return 0;
                /* Someone else reaped our child: we cannot know how it ended. */
                if (!e->error_step) {
                        e->error_errno = errno;
                        e->error_step = strdup("wait for the job");
                }
                si.si_code = CLD_KILLED;
                si.si_status = SIGKILL;
        } else if (si.si_pid == 0)
                return 0;

        e->exited = true;
        e->exit_code = si.si_code;
        e->exit_status = si.si_status;
        e->end_usec = now(CLOCK_MONOTONIC);
        /* PID 1 is reaped only after every other process of its namespace: nothing of the job is left in
         * the network namespace but what the pool checks for before handing it out again. */
        if (e->executor)
                executor_netns_give_back(e->executor, e->network, &e->netns);
        e->child_source = sd_event_source_disable_unref(e->child_source);
        e->timer_source = sd_event_source_disable_unref(e->timer_source);
        e->pidfd = safe_close(e->pidfd);
        if (e->executor)
                executor_close_later(e->executor, TAKE_FD(e->mnt_ns_fd));
        execution_maybe_finish(e);
        return 0;
}

static int output_grow(OutputStream *s, size_t limit) {
        size_t n;
        char *p;

        if (s->allocated > s->out.size)
                return 0;
        n = MIN(limit, MAX(s->allocated * 2, (size_t) 16384));
        p = realloc(s->out.data, n + 1);
        if (!p)
                return -ENOMEM;
        s->out.data = p;
        s->allocated = n;
        return 0;
}

static int on_output_pause_end(sd_event_source *source, uint64_t usec, void *userdata) {
        OutputStream *s = userdata;

        if (s->source)
                (void) sd_event_source_set_enabled(s->source, SD_EVENT_ON);
        return 0;
}

/* A stream past the inline limit only has its bytes counted: rather than waking up for every small write
 * of the job (a test printing millions of short lines makes millions of them), let the pipe fill for a
 * moment between reads.  A stream within the limit is read as soon as anything arrives. */
static void output_pause(Execution *e, OutputStream *s) {
        if (s->out.truncated == 0 || !s->source)
                return;
        if (!s->pause &&
            sd_event_add_time_relative(e->executor->event, &s->pause, CLOCK_MONOTONIC, OUTPUT_PAUSE_USEC,
                                       /* accuracy= */ 100, on_output_pause_end, s) < 0)
                return;
        if (s->pause != NULL &&
            sd_event_source_set_time_relative(s->pause, OUTPUT_PAUSE_USEC) >= 0 &&
            sd_event_source_set_enabled(s->pause, SD_EVENT_ONESHOT) >= 0)
                (void) sd_event_source_set_enabled(s->source, SD_EVENT_OFF);
}

static int on_output(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        Execution *e = userdata;
        OutputStream *s = source == e->out.source ? &e->out : &e->err;
        bool forward = e->tty && e->tty_output && s == &e->out;
        char discard[OUTPUT_CHUNK];

        /* A bounded number of reads per dispatch, so that one chatty job cannot starve the loop. */
        for (unsigned i = 0; i < 16; i++) {
                size_t room = forward ? 0 : e->inline_limit - s->out.size;
                void *buf = discard;
                size_t want = sizeof discard;
                ssize_t n;

                if (room > 0 && output_grow(s, e->inline_limit) >= 0) {
                        buf = s->out.data + s->out.size;
                        want = MIN(room, s->allocated - s->out.size);
                }
                n = read(fd, buf, want);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN) {
                        output_pause(e, s);
                        return 0;
                }
                if (n <= 0) {
                        /* EOF; for a tty master, EIO once no slave is left; anything else ends the stream
                         * too, as no more output can come. */
                        s->eof = true;
                        s->source = sd_event_source_disable_unref(s->source);
                        s->fd = safe_close(s->fd);
                        if (s->out.data)
                                s->out.data[s->out.size] = 0;
                        execution_maybe_finish(e);
                        return 0;
                }
                if (forward)
                        e->tty_output(e, buf, (size_t) n, e->userdata);
                else if (buf == discard)
                        s->out.truncated += (uint64_t) n;
                else {
                        s->out.size += (size_t) n;
                        s->out.data[s->out.size] = 0;
                }
        }
        return 0;
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Execution *e = userdata;

        e->timer_source = sd_event_source_disable_unref(e->timer_source);
        if (e->exited || (e->pidfd < 0 && !e->launch))
                return 0;
        e->timed_out = true;
        (void) execution_kill(e);
        return 0;
}

static int execution_arm_timeout(Execution *e) {
        if (e->timeout == 0 || e->timer_source)
                return 0;
        return sd_event_add_time_relative(e->executor->event, &e->timer_source, CLOCK_MONOTONIC, e->timeout,
                                          /* accuracy= */ USEC_PER_MSEC, on_timeout, e);
}

static int on_deferred_failure(sd_event_source *s, void *userdata) {
        execution_finish(userdata);
        return 0;
}

int execution_kill(Execution *e) {
        if (!e)
                return -EINVAL;
        if (e->launch) {
                e->kill_pending = true;
                return 0;
        }
        if (e->exited || e->pidfd < 0)
                return 0;
        return RET_NERRNO(pidfd_send_signal(e->pidfd, SIGKILL, NULL, 0));
}

int execution_tty_write(Execution *e, const void *data, size_t size) {
        if (!e || (!data && size > 0))
                return -EINVAL;
        if (!e->tty)
                return -ENOTTY;
        if (e->tty_socket >= 0) {
                /* The master has not arrived yet: keep the input for it, within reason. */
                if (e->tty_pending.len + size > OUTPUT_CHUNK)
                        return -EAGAIN;
                textbuf_append_len(&e->tty_pending, data, size);
                return e->tty_pending.oom ? -ENOMEM : 0;
        }
        if (e->out.fd < 0)
                return -EPIPE;
        return loop_write(e->out.fd, data, size);
}

int execution_tty_resize(Execution *e, unsigned short rows, unsigned short columns) {
        struct winsize ws = { .ws_row = rows, .ws_col = columns };

        if (!e)
                return -EINVAL;
        if (!e->tty)
                return -ENOTTY;
        if (e->tty_socket >= 0) {
                e->winsize = ws;
                return 0;
        }
        if (e->out.fd < 0)
                return -EPIPE;
        return RET_NERRNO(ioctl(e->out.fd, TIOCSWINSZ, &ws));
}

/* Fill the fds of a job with a tty: the master is read by the parent, the slave is all three stdio fds. */
static int open_tty(const ExecSpec *spec, int *ret_master, int *ret_slave) {
        _cleanup_close_ int master = -EBADF, slave = -EBADF;
        struct winsize ws = { .ws_row = spec->rows, .ws_col = spec->columns };

        master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (master < 0)
                return -errno;
        master = fd_move_above_stdio(TAKE_FD(master));
        if (master < 0)
                return master;
        if (unlockpt(master) < 0)
                return -errno;
        slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (slave < 0)
                return -errno;
        slave = fd_move_above_stdio(TAKE_FD(slave));
        if (slave < 0)
                return slave;
        if ((ws.ws_row > 0 || ws.ws_col > 0) && ioctl(master, TIOCSWINSZ, &ws) < 0)
                return -errno;
        if (fcntl(master, F_SETFL, O_NONBLOCK) < 0)
                return -errno;
        *ret_master = TAKE_FD(master);
        *ret_slave = TAKE_FD(slave);
        return 0;
}

static int on_tty_master(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Execution *e = userdata;
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(int))];
        } control;
        char c;
        struct msghdr mh = {
                .msg_iov = &(struct iovec) { .iov_base = &c, .iov_len = 1 },
                .msg_iovlen = 1,
                .msg_control = &control,
                .msg_controllen = sizeof control,
        };
        struct cmsghdr *cmsg;
        int master = -EBADF, r;

        ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
        if (n < 0 && IN_SET(errno, EINTR, EAGAIN))
                return 0;
        cmsg = n > 0 ? CMSG_FIRSTHDR(&mh) : NULL;
        if (cmsg && cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS &&
            cmsg->cmsg_len == CMSG_LEN(sizeof(int)))
                memcpy(&master, CMSG_DATA(cmsg), sizeof(int));

        e->tty_socket_source = sd_event_source_disable_unref(e->tty_socket_source);
        e->tty_socket = safe_close(e->tty_socket);
        if (master < 0) {
                /* The child failed before it had a tty (its report says why), or sent garbage. */
                e->out.eof = true;
                execution_maybe_finish(e);
                return 0;
        }

        e->out.fd = fd_move_above_stdio(master);
        r = e->out.fd < 0 ? e->out.fd : RET_NERRNO(fcntl(e->out.fd, F_SETFL, O_NONBLOCK));
        if (r >= 0 && (e->winsize.ws_row > 0 || e->winsize.ws_col > 0))
                (void) ioctl(e->out.fd, TIOCSWINSZ, &e->winsize);
        if (r >= 0 && e->tty_pending.len > 0)
                r = loop_write(e->out.fd, e->tty_pending.data, e->tty_pending.len);
        textbuf_done(&e->tty_pending);
        if (r >= 0)
                r = sd_event_add_io(e->executor->event, &e->out.source, e->out.fd, EPOLLIN, on_output, e);
        if (r < 0) {
                /* We cannot serve this terminal: end the job rather than leave it hanging. */
                e->out.fd = safe_close(e->out.fd);
                e->out.eof = true;
                (void) execution_kill(e);
                execution_maybe_finish(e);
        }
        return 0;
}

static int execution_add_child_source(Execution *e) {
        int r;

        r = sd_event_add_io(e->executor->event, &e->child_source, e->pidfd, EPOLLIN, on_child_exit, e);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(e->child_source, "execution-child");
        return 0;
}

static int execution_add_sources(Execution *e) {
        sd_event *ev = e->executor->event;
        int r;

        if (e->pidfd >= 0) {
                r = execution_add_child_source(e);
                if (r < 0)
                        return r;
        }
        if (e->tty_socket >= 0)
                r = sd_event_add_io(ev, &e->tty_socket_source, e->tty_socket, EPOLLIN, on_tty_master, e);
        else
                r = sd_event_add_io(ev, &e->out.source, e->out.fd, EPOLLIN, on_output, e);
        if (r < 0)
                return r;
        if (!e->err.eof) {
                r = sd_event_add_io(ev, &e->err.source, e->err.fd, EPOLLIN, on_output, e);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Clone the job ourselves (see clone_vm()), with a network namespace of its own unless local.  We do not
 * wait for it, so the setup of one job (creating the namespaces, mounting) runs in parallel with the loop.
 * Without raw system calls for this architecture, the child runs vfork-style, like posix_spawn. */
static pid_t plan_clone(ChildPlan *p, Network network, int *ret_pidfd) {
        if (network != NETWORK_LOCAL)
                p->unshare_flags |= CLONE_NEWNET;
        p->loopback = network == NETWORK_LOOPBACK;
        p->sysfs_fd = -EBADF;
        p->sysfs_pooled = false;
        p->root_fd = -EBADF;
        p->seccomp_inherited = false;
        return clone_vm(child_entry, stack_top(p->stack, CHILD_STACK_SIZE),
                        CLONE_NEWUSER | CLONE_NEWPID | CLONE_PIDFD | SIGCHLD |
                                (CHILD_RAW_SYSCALLS ? 0 : CLONE_VFORK),
                        p, ret_pidfd);
}

/* The child exists (or clone failed): what only it needed until then goes. */
static void plan_cloned(ChildPlan *p) {
        /* The child has its own fd table: these placeholders were only needed until clone.  (The plan itself
         * is the child's to read until it is gone: the numbers stay.) */
        for (size_t i = 0; i < p->n_layer_fds; i++)
                safe_close(p->layer_fds[i]);
        p->layer_fds_closed = true;
        /* A pooled sysfs is the namespace's (see executor_launch_complete()). */
        if (p->sysfs_fd >= 0 && !p->sysfs_pooled)
                (void) close(p->sysfs_fd);
}

static void launch_free(Launch *l) {
        for (size_t i = 0; i < ELEMENTSOF(l->child_fds); i++)
                safe_close(l->child_fds[i]);
        if (!l->execution)
                child_plan_free(l->plan);
        free(l);
}

/* The zygote is done with the launch (it cloned the job, or failed to), or is gone: hand the job over to its
 * execution, or kill it when there is none any more.  l is freed. */
static void executor_launch_complete(Executor *x, Launch *l) {
        ChildPlan *p = l->plan;
        ChildLaunch *cl = &p->launch;
        NetnsPool *pool = &x->pools[l->network];
        Execution *e = l->execution;
        int r;

        if (cl->new_netns_fd >= 0 && cl->new_sockstat_fd >= 0) {
                assert(l->netns.fd < 0);
                l->netns = (PooledNetns) { .fd = cl->new_netns_fd, .sockstat_fd = cl->new_sockstat_fd,
                                           .sysfs_fd = -EBADF };
                netns_pool_add(pool);
        } else {
                safe_close(cl->new_netns_fd);
                safe_close(cl->new_sockstat_fd);
        }
        /* The child is cloned (or never will be): the kept root it used may go; one made for it stays. */
        if (l->root_used)
                root_cache_release(x, p->root_key);
        if (cl->new_root_fd >= 0)
                root_cache_add(x, p->root_key, cl->new_root_fd);
        /* A sysfs made for the pool stays with its namespace (and goes with it), for the jobs after. */
        if (cl->new_sysfs_fd >= 0 && l->netns.fd >= 0 && l->netns.sysfs_fd < 0)
                l->netns.sysfs_fd = cl->new_sysfs_fd;
        else if (cl->new_sysfs_fd >= 0)
                (void) close(cl->new_sysfs_fd);
        if (cl->fallback_step != STEP_READY) {
                log_debug_errno(-cl->fallback_error, "Pooled network namespace: failed to %s, the job makes "
                                "its own: %m", strna(child_step_verb(cl->fallback_step)));
                if (cl->fallback_step == STEP_JOIN_NETNS)
                        netns_pool_discard(pool, &l->netns);
        }
        plan_cloned(p);

        if (e) {
                e->launch = NULL;
                e->netns = l->netns;
                l->netns = POOLED_NETNS_NULL;
        }
        if (cl->pid < 0 || cl->pidfd < 0) {
                /* Nothing runs.  (Its output pipes end when we close the child's ends.) */
                executor_netns_give_back(x, l->network, e ? &e->netns : &l->netns);
                if (e && !e->error_step) {
                        e->error_step = strdup("clone the container's first process");
                        e->error_errno = cl->pid < 0 ? (int) -cl->pid : EIO;
                }
                if (e)
                        e->exited = true;
        } else if (!e)
                executor_adopt(x, cl->pidfd, TAKE_PTR(l->plan), l->network, &l->netns);
        else {
                e->pidfd = cl->pidfd;
                r = execution_add_child_source(e);
                if (r < 0) {
                        /* We cannot watch it: it must not run. */
                        reap_sync(e->pidfd);
                        e->pidfd = safe_close(e->pidfd);
                        executor_netns_give_back(x, e->network, &e->netns);
                        if (!e->error_step) {
                                e->error_step = strdup("watch the container's first process");
                                e->error_errno = -r;
                        }
                        e->exited = true;
                } else if (e->kill_pending)
                        (void) pidfd_send_signal(e->pidfd, SIGKILL, NULL, 0);
        }
        launch_free(l);
}

static Launch *zygote_launch_pop(Zygote *z) {
        Launch *l = z->launches;

        if (l) {
                z->launches = l->next;
                if (!z->launches)
                        z->launches_last = NULL;
                l->next = NULL;
        }
        return l;
}

/* A zygote is gone (or failing): no pool any more.  The jobs they have not cloned, we clone ourselves. */
static void executor_zygote_lost(Executor *x, int error) {
        log_debug_errno(error, "A zygote of the network namespace pool failed, running without a pool: %m");
        executor_netns_pool_disable(x);
        for (size_t i = 0; i < ELEMENTSOF(x->zygotes); i++)
                for (Launch *l; (l = zygote_launch_pop(&x->zygotes[i]));) {
                        ChildLaunch *cl = &l->plan->launch;

                        /* Gone half-way through a clone: the kernel wrote the pidfd, but we have no pid. */
                        if (cl->pid < 0 && cl->pidfd >= 0) {
                                reap_sync(cl->pidfd);
                                cl->pidfd = safe_close(cl->pidfd);
                        }
                        if (cl->pid < 0 && l->execution) {
                                if (l->plan->sysfs_fd >= 0 && !l->plan->sysfs_pooled)
                                        (void) close(l->plan->sysfs_fd);
                                cl->pid = plan_clone(l->plan, l->network, &cl->pidfd);
                        }
                        executor_launch_complete(x, l);
                }
}

static Zygote *executor_find_zygote(Executor *x, sd_event_source *s) {
        for (size_t i = 0; i < ELEMENTSOF(x->zygotes); i++)
                if (IN_SET(s, x->zygotes[i].source, x->zygotes[i].exit_source))
                        return &x->zygotes[i];
        return NULL;
}

/* Take the zygote's answers: one byte for each job, in the order we handed them over. */
static void zygote_take_answers(Executor *x, Zygote *z) {
        char buf[64];
        ssize_t n;

        n = recv(z->socket, buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0 && IN_SET(errno, EAGAIN, EINTR))
                return;
        if (n <= 0) {
                executor_zygote_lost(x, n < 0 ? -errno : -EPIPE);
                return;
        }
        for (ssize_t i = 0; i < n; i++) {
                if (!z->launches) {
                        executor_zygote_lost(x, -EBADMSG);
                        return;
                }
                executor_launch_complete(x, zygote_launch_pop(z));
        }
}

static int on_zygote_answer(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Executor *x = userdata;
        Zygote *z = executor_find_zygote(x, s);

        assert(z);
        zygote_take_answers(x, z);
        return 0;
}

static int on_zygote_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Executor *x = userdata;
        Zygote *z = executor_find_zygote(x, s);

        assert(z);
        /* Its last answers may still be on their way: take them first. */
        zygote_take_answers(x, z);
        if (executor_has_zygote(x))
                executor_zygote_lost(x, -ECHILD);
        return 0;
}

/* Wait for the zygotes to answer for every job we handed them. */
static void executor_launches_drain(Executor *x) {
        for (size_t i = 0; i < ELEMENTSOF(x->zygotes); i++) {
                Zygote *z = &x->zygotes[i];
                while (z->launches) {
                        char c;
                        int r = zygote_recv(z, &c, sizeof c);
                        if (r < 0) {
                                executor_zygote_lost(x, r);
                                return;
                        }
                        executor_launch_complete(x, zygote_launch_pop(z));
                }
        }
}

/* May the job run in a pooled network namespace? */
static bool executor_netns_poolable(const Executor *x, const ExecSpec *spec) {
        if (!executor_has_zygote(x) || !IN_SET(spec->network, NETWORK_DISABLED, NETWORK_LOOPBACK))
                return false;
        /* The sysctls of /proc/sys are writable by the host's root, whatever its capabilities (the kernel
         * checks the uid only), so a job that runs as root on the host could change those of the namespace
         * for the jobs after it: not through a pooled one, if a bind mount reaches a /proc/sys.  Its own
         * proc has /proc/sys read-only, locked (see child_lock_mounts()), and it cannot mount another. */
        if (x->uid == 0)
                for (size_t i = 0; i < spec->n_mounts; i++)
                        if (spec->mounts[i].type == MOUNT_BIND)
                                return false;
        return true;
}

/* Hand the job to the zygote, in a namespace from the pool, or one it creates for the pool.  On success the
 * child's fds in child_fds are the launch's, and the job is cloned by the time the zygote answers; -EAGAIN
 * when the pool cannot serve it. */
static int execution_launch(Execution *e, const ExecSpec *spec, const int *child_fds, size_t n_child_fds) {
        Executor *x = e->executor;
        NetnsPool *pool = &x->pools[spec->network];
        Zygote *z = &x->zygotes[spec->seccomp];
        ChildPlan *p = e->plan;
        PooledNetns netns = POOLED_NETNS_NULL;
        bool root_used = false;
        Launch *l;

        assert(n_child_fds <= ELEMENTSOF(l->child_fds));

        if (!executor_netns_poolable(x, spec) ||
            (!netns_pool_take(pool, now(CLOCK_MONOTONIC), &netns) && !netns_pool_has_room(pool)))
                return -EAGAIN;

        l = calloc(1, sizeof *l);
        if (!l) {
                executor_netns_give_back(x, spec->network, &netns);
                return -ENOMEM;
        }
        p->launch = (ChildLaunch) {
                .netns_fd = netns.fd,
                .loopback = spec->network == NETWORK_LOOPBACK,
                .stack_top = stack_top(p->stack, CHILD_STACK_SIZE),
                .sysfs_fd = netns.sysfs_fd,
                .new_netns_fd = -EBADF,
                .new_sockstat_fd = -EBADF,
                .new_sysfs_fd = -EBADF,
                .new_root_fd = -EBADF,
                .pidfd = -EBADF,
                .pid = -ECHILD, /* until it is cloned */
        };
        for (size_t i = 0; i < p->n_mounts; i++)
                if (p->mounts[i].type == MOUNT_SYS)
                        p->launch.sysfs = true;
        p->seccomp_inherited = spec->seccomp;
        /* A read-only root: the one kept for these layers, or the zygote makes one to keep (unless it found
         * that a job cannot clone it). */
        p->root_fd = -EBADF;
        if (p->root_key) {
                int fd = root_cache_use(x, p->root_key);
                if (fd >= 0) {
                        p->root_fd = fd;
                        root_used = true;
                } else
                        p->launch.make_root = z->child.clones_detached != 0;
        }

        /* A pointer is all it needs: it shares our memory. */
        if (send(z->socket, &p, sizeof p, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t) sizeof p) {
                log_debug_errno(errno, "Failed to hand a job to the zygote, cloning it ourselves: %m");
                p->seccomp_inherited = false;
                p->root_fd = -EBADF;
                if (root_used)
                        root_cache_release(x, p->root_key);
                executor_netns_give_back(x, spec->network, &netns);
                free(l);
                return -EAGAIN;
        }

        *l = (Launch) {
                .execution = e,
                .plan = p,
                .network = spec->network,
                .netns = netns,
                .root_used = root_used,
        };
        for (size_t i = 0; i < ELEMENTSOF(l->child_fds); i++)
                l->child_fds[i] = i < n_child_fds ? child_fds[i] : -EBADF;
        if (z->launches_last)
                z->launches_last->next = l;
        else
                z->launches = l;
        z->launches_last = l;
        e->launch = l;
        return 0;
}

int executor_start(Executor *x, const ExecSpec *spec, ExecDoneFunc done, ExecTtyOutputFunc tty_output,
                   void *userdata, Execution **ret) {
        _cleanup_(execution_freep) Execution *e = NULL;
        _cleanup_close_ int out_w = -EBADF, err_w = -EBADF, report_w = -EBADF, slave = -EBADF,
                            tty_w = -EBADF, gate_r = -EBADF;
        ChildPlan *p;
        int pidfd = -EBADF, r;
        pid_t pid;

        assert(x);
        assert(spec);
        assert(done);
        assert(ret);

        if (isempty(spec->program) || (!spec->layers && spec->n_layers > 0) ||
            (!spec->mounts && spec->n_mounts > 0) || spec->network < 0 || spec->network >= _NETWORK_MAX ||
            spec->user == (uid_t) -1 || spec->group == (gid_t) -1)
                return -EINVAL;

        e = calloc(1, sizeof *e);
        if (!e)
                return -ENOMEM;
        e->pidfd = e->report_fd = e->gate_fd = e->mnt_ns_fd = e->out.fd = e->err.fd = e->tty_socket = -EBADF;
        e->netns = POOLED_NETNS_NULL;
        e->start_usec = now(CLOCK_MONOTONIC);
        e->done = done;
        e->tty_output = tty_output;
        e->userdata = userdata;
        e->network = spec->network;
        e->inline_limit = spec->inline_limit;
        e->tty = spec->tty;
        e->executor = x;
        e->next = x->executions;
        if (e->next)
                e->next->prev = e;
        x->executions = e;

        p = e->plan = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        p->stdin_fd = p->stdout_fd = p->stderr_fd = p->report_fd = p->gate_fd = p->tty_socket = p->sysfs_fd =
                p->root_fd = -EBADF;
        snprintf(p->uid_map, sizeof p->uid_map, "%u %u 1\n", (unsigned) spec->user, (unsigned) x->uid);
        snprintf(p->gid_map, sizeof p->gid_map, "%u %u 1\n", (unsigned) spec->group, (unsigned) x->gid);
        snprintf(p->lock_uid_map, sizeof p->lock_uid_map, "%u %u 1\n", (unsigned) spec->user,
                 (unsigned) spec->user);
        snprintf(p->lock_gid_map, sizeof p->lock_gid_map, "%u %u 1\n", (unsigned) spec->group,
                 (unsigned) spec->group);
        p->writable = spec->writable;
        p->proc_read_only = x->uid == 0;
        p->tmpfs_dir = x->root_dir;
        p->upper_dir = x->upper_dir;
        p->work_dir = x->work_dir;
        p->root_dir = spec->writable ? x->merged_dir : x->root_dir;
        p->tty = spec->tty;
        p->seccomp = spec->seccomp ? &x->seccomp : NULL;
        p->sched_other = process_sched_batch_entered();
        p->working_directory = strjoin(spec->working_directory && spec->working_directory[0] == '/'
                                               ? "" : "/",
                                       strempty(spec->working_directory));
        if (!p->working_directory)
                return -ENOMEM;
        r = plan_program(p, spec);
        if (r < 0)
                return r;

        if (spec->n_layers == 0) {
                e->error_step = strdup("build the root file system: the job has no layers");
                r = -EINVAL;
        } else if (spec->n_layers > EXEC_LAYERS_MAX) {
                e->error_step = strdup("build the root file system: more layers than overlayfs stacks");
                r = -E2BIG;
        } else if (spec->n_mounts > EXEC_MOUNTS_MAX) {
                e->error_step = strdup("mount: too many mounts");
                r = -E2BIG;
        } else {
                r = plan_layers(p, x, spec, &e->error_step);
                if (r >= 0)
                        r = plan_mounts(p, spec, &e->error_step);
        }
        if (r < 0 && !e->error_step)
                return r;
        if (r < 0) {
                /* A problem with the job itself: it becomes its result, delivered from the loop. */
                e->error_errno = -r;
                r = sd_event_add_defer(x->event, &e->defer_source, on_deferred_failure, e);
                if (r < 0)
                        return r;
                e->out.eof = e->err.eof = true;
                *ret = TAKE_PTR(e);
                return 0;
        }

        r = make_pipe(&e->report_fd, &report_w, /* nonblocking_read= */ true);
        if (r < 0)
                return r;
        if (spec->tty) {
                bool devpts = false;

                for (size_t i = 0; i < p->n_mounts; i++)
                        if (p->mounts[i].type == MOUNT_DEVPTS && streq(p->mounts[i].target, "/dev/pts")) {
                                devpts = true;
                                p->devpts_index = i;
                        }
                if (devpts) {
                        int sp[2];
                        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
                                return -errno;
                        e->tty_socket = fd_move_above_stdio(sp[0]);
                        tty_w = fd_move_above_stdio(sp[1]);
                        if (e->tty_socket < 0 || tty_w < 0)
                                return e->tty_socket < 0 ? e->tty_socket : tty_w;
                        p->tty_socket = tty_w;
                        p->winsize = (struct winsize) { .ws_row = spec->rows, .ws_col = spec->columns };
                        /* A placeholder fd number; the child puts its slave there. */
                        p->stdin_fd = p->stdout_fd = p->stderr_fd = x->null_fd;
                } else {
                        r = open_tty(spec, &e->out.fd, &slave);
                        if (r < 0)
                                return r;
                        p->stdin_fd = p->stdout_fd = p->stderr_fd = slave;
                }
                e->err.eof = true;
        } else {
                r = make_pipe(&e->out.fd, &out_w, /* nonblocking_read= */ true);
                if (r < 0)
                        return r;
                r = make_pipe(&e->err.fd, &err_w, /* nonblocking_read= */ true);
                if (r < 0)
                        return r;
                p->stdin_fd = x->null_fd;
                p->stdout_fd = out_w;
                p->stderr_fd = err_w;
        }
        p->report_fd = report_w;
        if (spec->gated) {
                /* A socket rather than a pipe: releasing a job that died meanwhile must not raise
                 * SIGPIPE. */
                int sp[2];
                if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
                        return -errno;
                e->gate_fd = fd_move_above_stdio(sp[0]);
                gate_r = fd_move_above_stdio(sp[1]);
                if (e->gate_fd < 0 || gate_r < 0)
                        return e->gate_fd < 0 ? e->gate_fd : gate_r;
                p->gate_fd = gate_r;
        }

        r = child_stack_get(&p->stack);
        if (r < 0)
                return r;
        p->unshare_flags = CLONE_NEWNS | CLONE_NEWIPC;
        if (!p->lock_mounts)
                p->unshare_flags |= CLONE_NEWCGROUP | CLONE_NEWUTS; /* else made with the lock's */
        int child_fds[] = { out_w, err_w, report_w, slave, tty_w, gate_r };
        r = execution_launch(e, spec, child_fds, ELEMENTSOF(child_fds));
        if (r >= 0)
                out_w = err_w = report_w = slave = tty_w = gate_r = -EBADF; /* the launch's now */
        else if (r != -EAGAIN)
                return r;
        else {
                pid = plan_clone(p, spec->network, &pidfd);
                if (pid < 0)
                        return pid;
                assert(pidfd >= 0);
                e->pidfd = pidfd;
                plan_cloned(p);
        }

        r = execution_add_sources(e);
        if (r < 0)
                return r; /* execution_free() kills and reaps the child */
        e->timeout = spec->timeout;
        if (!spec->gated) {
                r = execution_arm_timeout(e);
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(e);
        return 0;
}

int execution_release(Execution *e) {
        int r;

        assert(e);

        if (e->gate_fd < 0)
                return 0; /* not prepared ahead, released already, or failed before it was cloned */
        /* The job's time starts now: its set-up was done while it waited. */
        e->start_usec = now(CLOCK_MONOTONIC);
        if (e->pidfd >= 0 && e->executor && e->mnt_ns_fd < 0) {
                e->mnt_ns_fd = ioctl(e->pidfd, PIDFD_GET_MNT_NAMESPACE, 0);
                if (e->mnt_ns_fd < 0)
                        e->mnt_ns_fd = -EBADF;
        }
        r = RET_NERRNO(send(e->gate_fd, "", 1, MSG_NOSIGNAL | MSG_DONTWAIT));
        e->gate_fd = safe_close(e->gate_fd);
        if (r < 0 && r != -EPIPE && r != -ECONNRESET)
                return r;
        /* (On EPIPE it has ended already, and its result says how.) */
        if (e->finished || e->exited)
                return 0;
        return execution_arm_timeout(e);
}
