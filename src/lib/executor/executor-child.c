/* SPDX-License-Identifier: MIT OR Apache-2.0 */

/* The container's child, from clone to execve.  It runs on a stack of its own in the worker's memory while
 * the worker's threads go on (see clone_child() in executor.c): it makes raw system calls only
 * (executor-syscall.h; no allocation, no stdio, no locks, not even errno), writes nothing but its own stack,
 * and reads the plan, which stays untouched until the child is gone.  AddressSanitizer cannot follow the
 * stack switch (it reports false overflows), so none of this is instrumented. */

#include <fcntl.h>
#include <linux/if.h>
#include <linux/netlink.h>
#include <linux/openat2.h>
#include <linux/rtnetlink.h>
#include <linux/seccomp.h>
#include <linux/sockios.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <termios.h>

#include "basic/time-util.h"
#include "executor/executor-child.h"
#include "executor/executor-syscall.h"

#define _child_ __attribute__((no_sanitize_address))

_child_ static size_t child_strlen(const char *s) {
        size_t n = 0;
        while (s[n])
                n++;
        return n;
}

_child_ static _noreturn_ void child_exit(int status) {
        for (;;)
                (void) child_syscall(SYS_exit_group, status);
}

_child_ static _noreturn_ void child_fail_at(const ChildPlan *p, ChildStep step, size_t index, long error,
                                             int fs_fd) {
        ChildReport r = {
                .step = step,
                .error = error < 0 ? (int32_t) -error : EIO,
                .index = (uint32_t) index,
        };

        /* An fs context fd carries the kernel's explanation of a failed fsconfig/fsmount. */
        if (fs_fd >= 0 && child_syscall(SYS_read, fs_fd, r.detail, sizeof r.detail - 1) < 0)
                r.detail[0] = 0;
        (void) child_syscall(SYS_write, p->report_fd, &r, sizeof r);
        child_exit(127);
}

/* error: the negative errno of a failed call. */
_child_ static _noreturn_ void child_fail(const ChildPlan *p, ChildStep step, long error) {
        child_fail_at(p, step, /* index= */ 0, error, /* fs_fd= */ -EBADF);
}

_child_ static long child_write_file_at(long dir, const char *path, const char *s) {
        long fd, r;

        fd = child_syscall(SYS_openat, dir, path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return fd;
        r = child_syscall(SYS_write, fd, s, child_strlen(s));
        (void) child_syscall(SYS_close, fd);
        return r < 0 ? r : 0;
}

_child_ static long child_write_file(const char *path, const char *s) {
        return child_write_file_at(AT_FDCWD, path, s);
}

_child_ static long child_loopback_up(void) {
        struct {
                struct nlmsghdr nh;
                struct ifinfomsg ifi;
        } req = {
                .nh.nlmsg_len = sizeof req,
                .nh.nlmsg_type = RTM_NEWLINK,
                .nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK,
                .nh.nlmsg_seq = 1,
                .ifi.ifi_family = AF_UNSPEC,
                .ifi.ifi_index = 1, /* lo is always index 1 in a new network namespace */
                .ifi.ifi_flags = IFF_UP,
                .ifi.ifi_change = IFF_UP,
        };
        struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
        union {
                struct nlmsghdr nh;
                char buf[1024];
        } resp;
        long fd, n;

        fd = child_syscall(SYS_socket, AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
        if (fd < 0)
                return fd;
        n = child_syscall(SYS_sendto, fd, &req, sizeof req, 0, &sa, sizeof sa);
        if (n >= 0)
                n = child_syscall(SYS_recvfrom, fd, &resp, sizeof resp, 0, NULL, NULL);
        (void) child_syscall(SYS_close, fd);
        if (n < 0)
                return n;
        if ((size_t) n < NLMSG_LENGTH(sizeof(struct nlmsgerr)) || resp.nh.nlmsg_type != NLMSG_ERROR)
                return -EBADMSG;
        return ((const struct nlmsgerr *) NLMSG_DATA(&resp.nh))->error;
}

_child_ static void child_fsconfig(const ChildPlan *p, ChildStep step, size_t index, long fs,
                                   const char *key, const char *value) {
        long r = child_syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, key, value, 0);
        if (r < 0)
                child_fail_at(p, step, index, r, (int) fs);
}

/* Create a file system of the fs context fs and return a mount of it. */
_child_ static long child_fsmount(const ChildPlan *p, ChildStep step, size_t index, long fs, unsigned attr) {
        long r, mnt;

        r = child_syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0);
        if (r < 0)
                child_fail_at(p, step, index, r, (int) fs);
        mnt = child_syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, attr);
        if (mnt < 0)
                child_fail_at(p, step, index, mnt, (int) fs);
        (void) child_syscall(SYS_close, fs);
        return mnt;
}

/* Open the layer directories in our own mount namespace (overlayfs takes no directory from another one), on
 * the fd numbers of the plan's placeholders.  Returns the index that failed, with *ret_error, or -1. */
_child_ static long child_open_layers(const ChildPlan *p, long *ret_error) {
        for (size_t i = 0; i < p->n_layer_fds; i++) {
                long fd = child_syscall(SYS_openat, AT_FDCWD, p->layer_paths[i],
                                        O_PATH | O_DIRECTORY | O_CLOEXEC);
                long r = fd < 0 ? fd : child_syscall(SYS_dup3, fd, p->layer_fds[i], O_CLOEXEC);
                if (fd >= 0)
                        (void) child_syscall(SYS_close, fd);
                if (r < 0)
                        return *ret_error = r, (long) i;
        }
        return -1;
}

/* An overlayfs of the plan's layers (opened by child_open_layers()), with the writable root's upper and
 * work directories if any: its fs context, configured, or -errno (*ret_fs: the context all the same, for
 * the kernel's message, or -EBADF). */
_child_ static long child_overlay_context(const ChildPlan *p, long *ret_fs) {
        long fs, r;

        *ret_fs = -EBADF;
        fs = child_syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
        if (fs < 0)
                return fs;
        *ret_fs = fs;
        r = child_syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "source", "overlay", 0);
        if (r >= 0 && p->lowerdir)
                r = child_syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "lowerdir", p->lowerdir, 0);
        for (size_t i = 0; r >= 0 && !p->lowerdir && i < p->n_lowerdirs; i++)
                r = child_syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "lowerdir+", p->lowerdirs[i], 0);
        if (r >= 0 && p->writable)
                r = child_syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "upperdir", p->upper_dir, 0);
        if (r >= 0 && p->writable)
                r = child_syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "workdir", p->work_dir, 0);
        return r < 0 ? r : fs;
}

_child_ static long child_overlay(const ChildPlan *p) {
        long fs, mnt, r;

        if (p->root_fd >= 0) {
                /* The root kept for these layers: a clone of it. */
                mnt = child_syscall(SYS_open_tree, p->root_fd, "",
                                    OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
                if (mnt < 0)
                        child_fail(p, STEP_OVERLAY, mnt);
                r = child_syscall(SYS_move_mount, mnt, "", AT_FDCWD, p->root_dir, MOVE_MOUNT_F_EMPTY_PATH);
                if (r < 0)
                        child_fail(p, STEP_OVERLAY, r);
                return mnt;
        }

        if (p->writable) {
                r = child_syscall(SYS_mount, "tmpfs", p->tmpfs_dir, "tmpfs", MS_NOSUID | MS_NODEV,
                                  "mode=0755");
                if (r < 0)
                        child_fail(p, STEP_WRITABLE_TMPFS, r);
                r = child_syscall(SYS_mkdirat, AT_FDCWD, p->upper_dir, 0755);
                if (r >= 0)
                        r = child_syscall(SYS_mkdirat, AT_FDCWD, p->work_dir, 0755);
                if (r >= 0)
                        r = child_syscall(SYS_mkdirat, AT_FDCWD, p->root_dir, 0755);
                if (r < 0)
                        child_fail(p, STEP_WRITABLE_DIRS, r);
        }

        {
                long error = 0, i = child_open_layers(p, &error);
                if (i >= 0)
                        child_fail_at(p, STEP_LAYER, (size_t) i, error, /* fs_fd= */ -EBADF);
        }
        r = child_overlay_context(p, &fs);
        if (r < 0)
                child_fail_at(p, STEP_OVERLAY, /* index= */ 0, r, (int) fs);
        mnt = child_fsmount(p, STEP_OVERLAY, /* index= */ 0, fs, p->writable ? 0 : MOUNT_ATTR_RDONLY);
        r = child_syscall(SYS_move_mount, mnt, "", AT_FDCWD, p->root_dir, MOVE_MOUNT_F_EMPTY_PATH);
        if (r < 0)
                child_fail(p, STEP_OVERLAY, r);
        return mnt;
}

/* Open a pty in the job's devpts instance, send the master to the parent, and put the slave on the fd number
 * that the plan uses for stdio. */
_child_ static void child_tty(const ChildPlan *p, long devpts) {
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        struct iovec iov = { .iov_base = (void *) "t", .iov_len = 1 };
        struct msghdr mh = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = &control,
                .msg_controllen = sizeof control,
        };
        struct cmsghdr *cmsg = CMSG_FIRSTHDR(&mh);
        int unlock = 0, master_fd;
        long master, slave, r;

        master = child_syscall(SYS_openat, devpts, "ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
        r = master < 0 ? master : child_syscall(SYS_ioctl, master, TIOCSPTLCK, &unlock);
        if (r >= 0 && (p->winsize.ws_row > 0 || p->winsize.ws_col > 0))
                r = child_syscall(SYS_ioctl, master, TIOCSWINSZ, &p->winsize);
        slave = r < 0 ? r : child_syscall(SYS_ioctl, master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
        r = slave < 0 ? slave : child_syscall(SYS_dup3, slave, p->stdin_fd, O_CLOEXEC);
        if (r < 0)
                child_fail(p, STEP_TTY, r);
        (void) child_syscall(SYS_close, slave);

        master_fd = (int) master;
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int));
        *(int *) (void *) CMSG_DATA(cmsg) = master_fd;
        r = child_syscall(SYS_sendmsg, p->tty_socket, &mh, MSG_NOSIGNAL);
        if (r < 0)
                child_fail(p, STEP_TTY, r);
        (void) child_syscall(SYS_close, master);
        (void) child_syscall(SYS_close, p->tty_socket);
}

/* The entries of a proc that reach the whole host rather than the job's namespaces, and that the host's root
 * may write whatever its capabilities (the kernel checks the uid only): sysctls, the magic SysRq key, IRQ
 * affinities, PCI devices, file system (nfsd) and ACPI settings.  A job that runs as the host's root gets
 * them read-only, as Docker does; the lock (child_lock_mounts()) keeps them so.  (Any other job may write
 * none of them: the kernel refuses it, EACCES.) */
static const char *const proc_host_entries[] = { "sys", "sysrq-trigger", "irq", "bus", "fs", "acpi", NULL };

/* proc: the job's proc mount i, attached. */
_child_ static void child_proc_read_only(const ChildPlan *p, size_t i, long proc) {
        struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };

        for (const char *const *e = proc_host_entries; *e; e++) {
                long mnt, r;

                mnt = child_syscall(SYS_open_tree, proc, *e, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
                if (mnt == -ENOENT)
                        continue; /* not built into this kernel */
                r = mnt;
                if (r >= 0)
                        r = child_syscall(SYS_mount_setattr, mnt, "", AT_EMPTY_PATH, &attr, sizeof attr);
                if (r >= 0)
                        r = child_syscall(SYS_move_mount, mnt, "", proc, *e, MOVE_MOUNT_F_EMPTY_PATH);
                if (mnt >= 0)
                        (void) child_syscall(SYS_close, mnt);
                if (r < 0)
                        child_fail_at(p, STEP_MOUNT, i, r, /* fs_fd= */ -EBADF);
        }
}

/* sysfs_attached: whether p->sysfs_fd itself was attached already (by an earlier sys mount). */
_child_ static void child_mount(const ChildPlan *p, size_t i, long root, bool *sysfs_attached) {
        const ChildMount *m = &p->mounts[i];
        struct open_how how = {
                .flags = O_PATH | O_CLOEXEC,
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        long target, mnt, r;

        target = child_syscall(SYS_openat2, root, m->target, &how, sizeof how);
        if (target < 0)
                child_fail_at(p, STEP_MOUNT_POINT, i, target, /* fs_fd= */ -EBADF);

        if (m->source) {
                mnt = child_syscall(SYS_open_tree, AT_FDCWD, m->source,
                                    OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
                if (mnt < 0)
                        child_fail_at(p, STEP_MOUNT_SOURCE, i, mnt, /* fs_fd= */ -EBADF);
                if (m->read_only) {
                        struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
                        r = child_syscall(SYS_mount_setattr, mnt, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr,
                                          sizeof attr);
                        if (r < 0)
                                child_fail_at(p, STEP_MOUNT, i, r, /* fs_fd= */ -EBADF);
                }
        } else if (m->type == MOUNT_SYS && p->sysfs_fd >= 0) {
                /* In a pooled network namespace we may not create a sysfs (that takes CAP_SYS_ADMIN over the
                 * namespace's owner): the zygote made one.  Attach a clone, made now so that the mounts are
                 * listed in the order they were made; older kernels clone only mounts of our own
                 * namespace: there, attach the zygote's the first time, and clone it after. */
                mnt = child_syscall(SYS_open_tree, p->sysfs_fd, "",
                                    OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
                if (mnt < 0 && !*sysfs_attached && !p->sysfs_pooled)
                        mnt = p->sysfs_fd;
                if (mnt < 0)
                        child_fail_at(p, STEP_MOUNT, i, mnt, /* fs_fd= */ -EBADF);
        } else {
                long fs = child_syscall(SYS_fsopen, m->fstype, FSOPEN_CLOEXEC);
                if (fs < 0)
                        child_fail_at(p, STEP_MOUNT, i, fs, /* fs_fd= */ -EBADF);
                /* What /proc/mounts shows as the device; the new mount API leaves it "none". */
                child_fsconfig(p, STEP_MOUNT, i, fs, "source", m->fstype);
                if (m->option_key)
                        child_fsconfig(p, STEP_MOUNT, i, fs, m->option_key, m->option_value);
                mnt = child_fsmount(p, STEP_MOUNT, i, fs, m->attr);
        }

        r = child_syscall(SYS_move_mount, mnt, "", target, "",
                          MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
        if (r < 0)
                child_fail_at(p, STEP_MOUNT, i, r, /* fs_fd= */ -EBADF);
        if (m->type == MOUNT_PROC && p->proc_read_only)
                child_proc_read_only(p, i, mnt);
        if (p->tty_socket >= 0 && i == p->devpts_index)
                child_tty(p, mnt);
        if (mnt == p->sysfs_fd)
                *sysfs_attached = true; /* kept: the next sys mount clones it */
        else
                (void) child_syscall(SYS_close, mnt);
        (void) child_syscall(SYS_close, target);
}

/* Lock every mount of the container.  A mount namespace copied for a less privileged user namespace than
 * its owner gets its mounts locked: none can be unmounted (to reveal what it covers) or moved, and none can
 * lose its read-only, nosuid, nodev or noexec flag, although the job has CAP_SYS_ADMIN over the copy.  So we
 * enter a user namespace of our own, which maps the job's ids onto themselves (its ids are unchanged, and
 * it is still PID 1), with a copy of the mount namespace; its UTS and cgroup namespaces are made here too,
 * so that the job owns them (the parent left them out of the first unshare).  It loses its capabilities over
 * the IPC and network namespaces, which belong to the first user namespace, as a job in a pooled network
 * namespace has none over that anyway.  setgroups is "deny" already: a user namespace inherits it.
 * self: the host's /proc/self, opened before pivot_root (the job may have no proc of its own). */
_child_ static void child_lock_mounts(const ChildPlan *p, long self) {
        long r;

        r = child_syscall(SYS_unshare, CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWCGROUP);
        if (r >= 0)
                r = child_write_file_at(self, "uid_map", p->lock_uid_map);
        if (r >= 0)
                r = child_write_file_at(self, "gid_map", p->lock_gid_map);
        (void) child_syscall(SYS_close, self);
        if (r < 0)
                child_fail(p, STEP_LOCK_MOUNTS, r);
}

/* Close every fd from 3 up but a and b (either may be negative: none). */
_child_ static long child_close_all_but(int a, int b) {
        const int keep[2] = { MIN(a, b), MAX(a, b) };
        unsigned from = 3;
        long r;

        for (size_t i = 0; i < 2; i++) {
                if (keep[i] < 0 || (unsigned) keep[i] < from)
                        continue;
                if ((unsigned) keep[i] > from) {
                        r = child_syscall(SYS_close_range, from, (unsigned) keep[i] - 1, 0);
                        if (r < 0)
                                return r;
                }
                from = (unsigned) keep[i] + 1;
        }
        return child_syscall(SYS_close_range, from, ~0U, 0);
}

_child_ static _noreturn_ void child_exec(const ChildPlan *p) {
        bool eacces = false;
        long error = -ENOENT;

        /* Like execvp: go on past candidates that do not exist, remember a permission problem, stop at any
         * other error.  (No fallback to /bin/sh for ENOEXEC: a job names a real program.) */
        for (char *const *c = p->candidates; *c; c++) {
                long r = child_syscall(SYS_execve, *c, p->argv, p->envp);
                if (r == -EACCES)
                        eacces = true;
                else if (!IN_SET(r, -ENOENT, -ENOTDIR, -ESTALE, -ENODEV, -ETIMEDOUT)) {
                        error = r;
                        eacces = false;
                        break;
                }
        }
        child_fail(p, STEP_EXECVE, eacces ? -EACCES : error);
}

/* The kernel's struct sigaction (with sa_restorer, as on x86-64 and arm64). */
struct child_sigaction {
        unsigned long handler;
        unsigned long flags;
        unsigned long restorer;
        uint64_t mask;
};

_child_ static _noreturn_ void child_main(const ChildPlan *p) {
        static const struct child_sigaction dfl = {}; /* SIG_DFL, no flags, nothing blocked */
        const uint64_t empty = 0;
        struct timespec ts;
        ChildReport ready = { .step = STEP_READY };
        bool sysfs_attached = false;
        long root, self = -EBADF, r;

        r = child_syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL);
        if (r < 0)
                child_fail(p, STEP_PDEATHSIG, r);

        /* Only the user and PID namespaces came with clone: the others are created here, in parallel with
         * the worker, and owned by the new user namespace.  The network namespace is most of the cost. */
        r = child_syscall(SYS_unshare, p->unshare_flags);
        if (r < 0)
                child_fail(p, STEP_UNSHARE, r);

        r = child_write_file("/proc/self/uid_map", p->uid_map);
        if (r < 0)
                child_fail(p, STEP_UID_MAP, r);
        r = child_write_file("/proc/self/setgroups", "deny");
        if (r < 0)
                child_fail(p, STEP_SETGROUPS, r);
        r = child_write_file("/proc/self/gid_map", p->gid_map);
        if (r < 0)
                child_fail(p, STEP_GID_MAP, r);

        if (p->loopback) {
                r = child_loopback_up();
                if (r < 0)
                        child_fail(p, STEP_LOOPBACK, r);
        }

        root = child_overlay(p);
        for (size_t i = 0; i < p->n_mounts; i++)
                child_mount(p, i, root, &sysfs_attached);
        if (p->lock_mounts) {
                self = child_syscall(SYS_openat, AT_FDCWD, "/proc/self", O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (self < 0)
                        child_fail(p, STEP_LOCK_MOUNTS, self);
        }

        r = child_syscall(SYS_fchdir, root);
        if (r >= 0)
                r = child_syscall(SYS_pivot_root, ".", ".");
        if (r < 0)
                child_fail(p, STEP_PIVOT_ROOT, r);
        r = child_syscall(SYS_umount2, ".", MNT_DETACH);
        if (r < 0)
                child_fail(p, STEP_UNMOUNT_OLD_ROOT, r);
        (void) child_syscall(SYS_close, root);
        if (p->lock_mounts)
                child_lock_mounts(p, self);
        r = child_syscall(SYS_chdir, p->working_directory);
        if (r < 0)
                child_fail(p, STEP_CHDIR, r);

        /* The parent made sure all three are above 2, so no dup3 clobbers another's source. */
        r = child_syscall(SYS_dup3, p->stdin_fd, STDIN_FILENO, 0);
        if (r >= 0)
                r = child_syscall(SYS_dup3, p->stdout_fd, STDOUT_FILENO, 0);
        if (r >= 0)
                r = child_syscall(SYS_dup3, p->stderr_fd, STDERR_FILENO, 0);
        if (r < 0)
                child_fail(p, STEP_STDIO, r);
        /* Close everything we inherited but the report pipe (CLOEXEC: open until execve succeeds) and the
         * gate: our fd table was a copy of the worker's, with the ends of other jobs' output pipes, and a
         * job prepared ahead that held those while it waits would keep the others' output from ending. */
        r = child_close_all_but(p->report_fd, p->gate_fd);
        if (r < 0)
                child_fail(p, STEP_CLOSE_FDS, r);
        r = child_syscall(SYS_setsid);
        if (r < 0)
                child_fail(p, STEP_SETSID, r);
        if (p->tty) {
                r = child_syscall(SYS_ioctl, STDIN_FILENO, TIOCSCTTY, 0);
                if (r < 0)
                        child_fail(p, STEP_CONTROLLING_TTY, r);
        }

        /* Every signal has been blocked since before clone, so none of our handlers ever ran here.  execve
         * keeps ignored signals ignored and the mask as it is: give the job a clean slate. */
        for (int sig = 1; sig < NSIG; sig++)
                if (!IN_SET(sig, SIGKILL, SIGSTOP))
                        (void) child_syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof dfl.mask);
        (void) child_syscall(SYS_rt_sigprocmask, SIG_SETMASK, &empty, NULL, sizeof empty);
        (void) child_syscall(SYS_umask, 0022);

        if (p->gate_fd >= 0) {
                /* Prepared ahead: the container is ready, the job starts when the parent says so (one byte;
                 * end of file means it never will). */
                char go;
                do
                        r = child_syscall(SYS_read, p->gate_fd, &go, 1);
                while (r == -EINTR);
                if (r != 1)
                        child_fail(p, STEP_GATE, r < 0 ? r : -ECANCELED);
        }

        if (child_syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts) >= 0) {
                ready.usec = timespec_load(&ts);
                (void) child_syscall(SYS_write, p->report_fd, &ready, sizeof ready);
        }

        if (p->sched_other) {
                /* The worker's own threads and this set-up run as SCHED_BATCH; the job runs as the worker
                 * was started (see process_sched_batch()).  Both are normal policies: any thread may move
                 * between them, its nice value unchanged. */
                const struct sched_param other = {};
                r = child_syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, &other);
                if (r < 0)
                        child_fail(p, STEP_SCHEDULER, r);
        }

        if (p->seccomp) {
                r = child_syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
                if (r < 0)
                        child_fail(p, STEP_NO_NEW_PRIVS, r);
                if (!p->seccomp_inherited) {
                        r = child_syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, p->seccomp);
                        if (r < 0)
                                child_fail(p, STEP_SECCOMP, r);
                }
        }

        child_exec(p);
}

_child_ int child_entry(void *plan) {
        child_main(plan);
}

/* ---- the zygote (see ChildLaunch) ---- */

/* Bring lo up with an ioctl rather than netlink: the kernel frees a closed netlink socket only after an RCU
 * grace period, and the pool counts the sockets left in a namespace before reusing it. */
_child_ static long child_loopback_up_ioctl(void) {
        struct ifreq ifr = { .ifr_name = "lo" };
        long fd, r;

        fd = child_syscall(SYS_socket, AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return fd;
        r = child_syscall(SYS_ioctl, fd, SIOCGIFFLAGS, &ifr);
        if (r >= 0) {
                ifr.ifr_flags |= IFF_UP;
                r = child_syscall(SYS_ioctl, fd, SIOCSIFFLAGS, &ifr);
        }
        (void) child_syscall(SYS_close, fd);
        return r;
}

_child_ static long child_open_proc(const char *path) {
        return child_syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
}

/* fsmount needs CAP_SYS_ADMIN over our mount namespace: take a copy of our own, once (each unshare frees the
 * namespace it replaces, and the kernel waits for an RCU grace period there, which would hold up every job
 * behind this one). */
_child_ static long child_zygote_own_mount_namespace(ChildZygote *z) {
        long r;

        if (z->own_mount_namespace)
                return 0;
        r = child_syscall(SYS_unshare, CLONE_NEWNS);
        if (r < 0)
                return r;
        z->own_mount_namespace = true;
        return 0;
}

/* Whether a job can clone a detached mount we made: only newer kernels clone one into another mount
 * namespace, which we tell by cloning this one here, once.  (Freeing the clone makes the kernel wait for an
 * RCU grace period: here once, rather than in every job.) */
_child_ static bool child_zygote_clones_detached(ChildZygote *z, long mnt) {
        if (z->clones_detached < 0) {
                long clone = child_syscall(SYS_open_tree, mnt, "",
                                           OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
                z->clones_detached = clone >= 0;
                if (clone >= 0)
                        (void) child_syscall(SYS_close, clone);
        }
        return z->clones_detached > 0;
}

/* Make the job's read-only root, to be kept for the jobs with the same layers: the job clones it.  On any
 * failure the job makes its own, as it would without. */
_child_ static void child_launch_root(ChildZygote *z, ChildPlan *p) {
        ChildLaunch *l = &p->launch;
        long error = 0, fs, mnt;

        if (child_zygote_own_mount_namespace(z) < 0 || child_open_layers(p, &error) >= 0)
                return;
        mnt = child_overlay_context(p, &fs);
        if (mnt >= 0)
                mnt = child_syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0);
        if (mnt >= 0)
                mnt = child_syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY);
        if (fs >= 0)
                (void) child_syscall(SYS_close, fs);
        if (mnt < 0)
                return;
        if (!child_zygote_clones_detached(z, mnt)) {
                (void) child_syscall(SYS_close, mnt);
                return;
        }
        l->new_root_fd = (int) mnt;
        p->root_fd = (int) mnt;
}

/* Enter the network namespace (made here when there is none to join), and prepare a sysfs of it.  Returns
 * STEP_READY, or the step that failed with its error in *ret_error. */
_child_ static ChildStep child_launch_netns(ChildZygote *z, ChildPlan *p, long *ret_error) {
        ChildLaunch *l = &p->launch;
        long r, fs;

        if (l->netns_fd >= 0) {
                r = child_syscall(SYS_setns, l->netns_fd, CLONE_NEWNET);
                if (r < 0)
                        return *ret_error = r, STEP_JOIN_NETNS;
        } else {
                r = child_syscall(SYS_unshare, CLONE_NEWNET);
                if (r < 0)
                        return *ret_error = r, STEP_CREATE_NETNS;
                if (l->loopback) {
                        r = child_loopback_up_ioctl();
                        if (r < 0)
                                return *ret_error = r, STEP_POOL_LOOPBACK;
                }
                /* Our fd table is the parent's: these are its fds. */
                r = child_open_proc("/proc/thread-self/ns/net");
                if (r < 0)
                        return *ret_error = r, STEP_CREATE_NETNS;
                l->new_netns_fd = (int) r;
                r = child_open_proc("/proc/thread-self/net/sockstat");
                if (r < 0)
                        return *ret_error = r, STEP_CREATE_NETNS;
                l->new_sockstat_fd = (int) r;
        }

        if (l->sysfs && l->sysfs_fd >= 0) {
                /* The pooled namespace has one already, which the job clones. */
                p->sysfs_fd = l->sysfs_fd;
                p->sysfs_pooled = true;
        } else if (l->sysfs) {
                /* The sysfs shows the network namespace we are in, whatever the mount namespace. */
                r = child_zygote_own_mount_namespace(z);
                if (r < 0)
                        return *ret_error = r, STEP_POOL_SYSFS;
                fs = child_syscall(SYS_fsopen, "sysfs", FSOPEN_CLOEXEC);
                if (fs < 0)
                        return *ret_error = fs, STEP_POOL_SYSFS;
                r = child_syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "source", "sysfs", 0);
                if (r >= 0)
                        r = child_syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0);
                if (r >= 0)
                        r = child_syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC,
                                          MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
                                                  MOUNT_ATTR_NOEXEC);
                (void) child_syscall(SYS_close, fs);
                if (r < 0)
                        return *ret_error = r, STEP_POOL_SYSFS;
                p->sysfs_fd = (int) r;

                /* Keep it with the namespace for the jobs after, if a job can clone it.  Otherwise the job
                 * attaches this one, and the next job gets a new one. */
                if (child_zygote_clones_detached(z, p->sysfs_fd)) {
                        l->new_sysfs_fd = p->sysfs_fd;
                        p->sysfs_pooled = true;
                }
        }
        return STEP_READY;
}

_child_ static void child_launch(ChildZygote *z, ChildPlan *p) {
        ChildLaunch *l = &p->launch;
        long error = 0;
        ChildStep step;

        if (l->make_root)
                child_launch_root(z, p);
        step = child_launch_netns(z, p, &error);
        if (step != STEP_READY) {
                /* The child makes a network namespace of its own, as outside the pool: it can, as it gets a
                 * user namespace of its own. */
                l->fallback_step = (int32_t) step;
                l->fallback_error = (int32_t) -error;
                p->unshare_flags |= CLONE_NEWNET;
                p->loopback = l->loopback;
        }

        /* CLONE_PARENT: the child is our parent's, which watches it through the pidfd (which lands in its fd
         * table, ours) and reaps it. */
        l->pid = child_clone(CLONE_VM | CLONE_PARENT | CLONE_NEWUSER | CLONE_NEWPID | CLONE_PIDFD,
                             l->stack_top, &l->pidfd, child_entry, p);
}

_child_ int child_zygote(void *zygote) {
        ChildZygote *z = zygote;
        ChildPlan *p;
        long r;

        r = child_syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL);
        if (r >= 0)
                r = child_syscall(SYS_prctl, PR_SET_NAME, "executor-zygote");
        if (r >= 0 && z->userns_fd >= 0)
                r = child_syscall(SYS_setns, z->userns_fd, CLONE_NEWUSER);
        else if (r >= 0) {
                r = child_syscall(SYS_unshare, CLONE_NEWUSER);
                if (r >= 0)
                        r = child_write_file("/proc/self/uid_map", z->uid_map);
                if (r >= 0)
                        r = child_write_file("/proc/self/setgroups", "deny");
                if (r >= 0)
                        r = child_write_file("/proc/self/gid_map", z->gid_map);
                if (r >= 0)
                        r = child_open_proc("/proc/self/ns/user");
                if (r >= 0)
                        z->new_userns_fd = (int) r;
        }
        /* We have CAP_SYS_ADMIN in our user namespace: no need for no_new_privs (each job sets it). */
        if (r >= 0 && z->seccomp)
                r = child_syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, z->seccomp);
        if (r > 0)
                r = 0;
        (void) child_syscall(SYS_sendto, z->socket, &r, sizeof r, MSG_NOSIGNAL, NULL, 0);
        if (r < 0)
                return 1;

        /* Every signal is blocked (but SIGKILL): nothing interrupts these calls. */
        for (;;) {
                r = child_syscall(SYS_recvfrom, z->socket, &p, sizeof p, MSG_WAITALL, NULL, 0);
                if (r != (long) sizeof p)
                        break;
                child_launch(z, p);
                if (child_syscall(SYS_sendto, z->socket, "", 1, MSG_NOSIGNAL, NULL, 0) < 0)
                        break;
        }
        return 0;
}
