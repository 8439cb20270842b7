/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/fd-util.h"
#include "basic/macro.h"
#include "basic/process-util.h"

extern char **environ;

static bool sched_batch;

int process_sched_batch(void) {
        struct sched_param param = {};
        int policy;

        if (sched_batch)
                return 1;
        /* SCHED_RESET_ON_FORK shows in the policy: left as it is too. */
        policy = sched_getscheduler(0);
        if (policy < 0)
                return -errno;
        if (policy != SCHED_OTHER)
                return 0;
        if (sched_setscheduler(0, SCHED_BATCH, &param) < 0)
                return -errno;
        sched_batch = true;
        return 1;
}

bool process_sched_batch_entered(void) {
        return sched_batch;
}

/* The attributes and file actions every child gets; 0 or a positive error number. */
static int spawn_setup(posix_spawnattr_t *attr, posix_spawn_file_actions_t *actions, int stdout_fd,
                       int stderr_fd, ProcessSpawnFlags flags, const char *cwd) {
        sigset_t none, all;
        int r;

        sigemptyset(&none);
        sigfillset(&all);
        r = posix_spawnattr_setsigmask(attr, &none);
        if (r == 0)
                r = posix_spawnattr_setsigdefault(attr, &all);
        if (r == 0 && sched_batch) {
                /* Our policy is not the child's (process_sched_batch()). */
                struct sched_param param = {};
                r = posix_spawnattr_setschedpolicy(attr, SCHED_OTHER);
                if (r == 0)
                        r = posix_spawnattr_setschedparam(attr, &param);
        }
        if (r == 0)
                r = posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                                           (sched_batch ? POSIX_SPAWN_SETSCHEDULER : 0));
        if (r == 0)
                r = posix_spawn_file_actions_addopen(actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        if (r == 0)
                r = posix_spawn_file_actions_adddup2(actions, stdout_fd, STDOUT_FILENO);
        if (r == 0 && (flags & PROCESS_STDERR_TO_PIPE))
                r = posix_spawn_file_actions_adddup2(actions, stdout_fd, STDERR_FILENO);
        else if (r == 0 && stderr_fd >= 0)
                r = posix_spawn_file_actions_adddup2(actions, stderr_fd, STDERR_FILENO);
        if (r == 0 && cwd)
                r = posix_spawn_file_actions_addchdir_np(actions, cwd);
        return r;
}

/* process_spawn_pipe_full(), and stderr on stderr_fd (>= 0) unless flags say otherwise. */
static int spawn_pipe(char *const *argv, const char *cwd, char *const *env, ProcessSpawnFlags flags,
                      int stderr_fd, pid_t *ret_pid, int *ret_stdout_fd) {
        _cleanup_close_ int rfd = -EBADF, wfd = -EBADF;
        posix_spawn_file_actions_t actions;
        posix_spawnattr_t attr;
        int fds[2], r;
        pid_t pid;

        if (!argv || !argv[0])
                return -EINVAL;
        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        rfd = fds[0];
        wfd = fds[1];

        r = posix_spawnattr_init(&attr);
        if (r != 0)
                return -r;
        r = posix_spawn_file_actions_init(&actions);
        if (r != 0) {
                posix_spawnattr_destroy(&attr);
                return -r;
        }
        r = spawn_setup(&attr, &actions, wfd, stderr_fd, flags, cwd);
        if (r == 0)
                r = posix_spawnp(&pid, argv[0], &actions, &attr, argv, env ?: environ);
        posix_spawn_file_actions_destroy(&actions);
        posix_spawnattr_destroy(&attr);
        if (r != 0)
                return -r;

        *ret_pid = pid;
        *ret_stdout_fd = TAKE_FD(rfd);
        return 0;
}

int process_spawn_pipe_full(char *const *argv, const char *cwd, char *const *env, ProcessSpawnFlags flags,
                            pid_t *ret_pid, int *ret_stdout_fd) {
        return spawn_pipe(argv, cwd, env, flags, /* stderr_fd= */ -EBADF, ret_pid, ret_stdout_fd);
}

int process_spawn_pipe(char *const *argv, const char *cwd, char *const *env, pid_t *ret_pid,
                       int *ret_stdout_fd) {
        return process_spawn_pipe_full(argv, cwd, env, /* flags= */ 0, ret_pid, ret_stdout_fd);
}

int process_wait(pid_t pid, int *ret_status, bool *ret_signaled) {
        int status;

        for (;;) {
                if (waitpid(pid, &status, 0) >= 0)
                        break;
                if (errno != EINTR)
                        return -errno;
        }
        if (WIFSIGNALED(status)) {
                *ret_status = 128 + WTERMSIG(status);
                *ret_signaled = true;
        } else {
                *ret_status = WEXITSTATUS(status);
                *ret_signaled = false;
        }
        return 0;
}

void process_terminate(pid_t *pid) {
        bool signaled;
        int status;

        if (*pid <= 0)
                return;
        (void) kill(*pid, SIGTERM);
        (void) process_wait(*pid, &status, &signaled);
        *pid = 0;
}

int process_capture_wait(pid_t pid, int fd, size_t max_size, char **ret_out, size_t *ret_size) {
        _cleanup_free_ char *out = NULL;
        size_t size = 0;
        bool signaled;
        int r, k, status;

        r = read_full_fd(fd, max_size, &out, &size);
        safe_close(fd);
        if (r < 0)
                (void) kill(pid, SIGKILL);
        k = process_wait(pid, &status, &signaled);
        if (r < 0)
                return r;
        if (k < 0)
                return k;
        *ret_out = TAKE_PTR(out);
        if (ret_size)
                *ret_size = size;
        return status;
}

int process_capture_full(char *const *argv, const char *cwd, char *const *env, size_t max_size,
                         char **ret_out, size_t *ret_size, char **ret_err) {
        _cleanup_free_ char *out = NULL, *err = NULL;
        _cleanup_close_ int fd = -EBADF, err_fd = -EBADF;
        size_t size = 0;
        pid_t pid;
        int r, status;

        if (ret_err) {
                /* A file, not a pipe: nothing to read until the child is gone, and it never blocks. */
                err_fd = memfd_create("stderr", MFD_CLOEXEC);
                if (err_fd < 0)
                        return -errno;
        }
        r = spawn_pipe(argv, cwd, env, /* flags= */ 0, err_fd, &pid, &fd);
        if (r < 0)
                return r;

        status = process_capture_wait(pid, TAKE_FD(fd), max_size, &out, &size);
        if (status < 0)
                return status;
        if (ret_err) {
                if (lseek(err_fd, 0, SEEK_SET) < 0)
                        return -errno;
                r = read_full_fd(err_fd, PROCESS_STDERR_SIZE_MAX, &err, NULL);
                if (r == -E2BIG) {
                        /* Keep the beginning: where an error message starts. */
                        err = malloc(PROCESS_STDERR_SIZE_MAX + 1);
                        if (!err)
                                return -ENOMEM;
                        ssize_t n = pread(err_fd, err, PROCESS_STDERR_SIZE_MAX, 0);
                        if (n < 0)
                                return -errno;
                        err[n] = 0;
                } else if (r < 0)
                        return r;
                *ret_err = TAKE_PTR(err);
        }

        *ret_out = TAKE_PTR(out);
        if (ret_size)
                *ret_size = size;
        return status;
}

int process_capture(char *const *argv, const char *cwd, char *const *env, size_t max_size, char **ret_out,
                    size_t *ret_size) {
        return process_capture_full(argv, cwd, env, max_size, ret_out, ret_size, /* ret_err= */ NULL);
}
