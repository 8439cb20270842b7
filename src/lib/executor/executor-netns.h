/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* The network namespaces that the executor keeps for reuse, one pool per network mode (see executor.c for
 * who makes them and why a job cannot change them).  A namespace is handed to one job at a time, given back
 * once every process of that job is gone, and handed out again only when the kernel counts no socket in it.
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

#include "basic/time-util.h"

/* Namespaces per pool, at most; each holds two fds and some kernel memory. */
#define NETNS_POOL_MAX 256U

typedef struct PooledNetns {
        int fd;          /* the network namespace */
        int sockstat_fd; /* its /proc/net/sockstat, opened from inside it */
        int sysfs_fd;    /* a detached sysfs mount of it, which jobs clone, or -EBADF */
        usec_t released_usec;
} PooledNetns;

#define POOLED_NETNS_NULL ((PooledNetns) { .fd = -EBADF, .sockstat_fd = -EBADF, .sysfs_fd = -EBADF })

typedef struct NetnsPool {
        PooledNetns idle[NETNS_POOL_MAX]; /* oldest first */
        size_t n_idle;
        size_t n_total; /* idle and in use */
        size_t max;     /* of n_total */
} NetnsPool;

void pooled_netns_close(PooledNetns *n);

/* Whether the namespace holds no socket at all: 1 if so, 0 if some are left, -errno if that cannot be told.
 * ret_time_wait: some are TCP connections in TIME_WAIT, which stay for a minute. */
int pooled_netns_is_empty(const PooledNetns *n, bool *ret_time_wait);

/* Take the oldest idle namespace that holds no socket, throwing away those that will not be empty soon.
 * Returns whether there was one. */
bool netns_pool_take(NetnsPool *pool, usec_t now_usec, PooledNetns *ret);
/* May a new namespace be added? */
bool netns_pool_has_room(const NetnsPool *pool);
/* Count in a new namespace, in use, which the caller gives back as any other. */
void netns_pool_add(NetnsPool *pool);
/* Close a namespace of the pool (n is emptied). */
void netns_pool_discard(NetnsPool *pool, PooledNetns *n);
/* Give back the namespace of a job that is gone entirely (n is emptied): it is kept if keep and there is
 * room, else thrown away. */
void netns_pool_give_back(NetnsPool *pool, PooledNetns *n, bool keep, usec_t now_usec);
/* Throw away idle namespaces until there are at most max in all (or none idle). */
void netns_pool_set_max(NetnsPool *pool, size_t max);
