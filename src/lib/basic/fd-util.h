/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "basic/macro.h"

/* Closes fd if valid; always returns -EBADF so that callers can write fd = safe_close(fd). */
int safe_close(int fd);

static inline void closep(int *fd) {
        safe_close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

static inline void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Read a whole file (or fd) into a NUL-terminated buffer.  Files larger than max_size give -E2BIG. */
int read_full_fd(int fd, size_t max_size, char **ret, size_t *ret_size);
int read_full_file(const char *path, size_t max_size, char **ret, size_t *ret_size);

/* Write all of buf to fd, retrying on EINTR and short writes, and waiting when a non-blocking fd is full. */
int loop_write(int fd, const void *buf, size_t size);

int fd_nonblock(int fd, bool nonblock);

/* mkdir -p: creates the missing directories with mode; -ENOTDIR if path exists as something else. */
int mkdir_p(const char *path, mode_t mode);

/* Write a file atomically: a temporary file in the same directory, fsync, then rename over path. */
int write_file_atomic(const char *path, const void *buf, size_t size, mode_t mode);
