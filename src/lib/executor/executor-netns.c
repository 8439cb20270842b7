/* SPDX-License-Identifier: MIT OR Apache-2.0 */

#include <assert.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "basic/fd-util.h"
#include "basic/log.h"
#include "basic/macro.h"
#include "basic/parse-util.h"
#include "executor/executor-netns.h"

/* How long a given-back namespace may still hold sockets that the kernel is freeing (netlink and reuseport
 * sockets go after an RCU grace period, unix sockets in flight at the next garbage collection) before it is
 * thrown away. */
#define NETNS_SETTLE_USEC (100 * USEC_PER_MSEC)

void pooled_netns_close(PooledNetns *n) {
        n->fd = safe_close(n->fd);
        n->sockstat_fd = safe_close(n->sockstat_fd);
        n->sysfs_fd = safe_close(n->sysfs_fd);
}

/* The count after key in /proc/net/sockstat's text. */
static int sockstat_field(const char *text, const char *key, unsigned *ret) {
        const char *p = strstr(text, key);
        char num[16];
        size_t l;

        if (!p)
                return -EBADMSG;
        p += strlen(key);
        l = strspn(p, "0123456789");
        if (l == 0 || l >= sizeof num)
                return -EBADMSG;
        memcpy(num, p, l);
        num[l] = 0;
        return safe_atou(num, ret);
}

int pooled_netns_is_empty(const PooledNetns *n, bool *ret_time_wait) {
        char buf[1024];
        unsigned used, tw;
        ssize_t k;
        int r;

        assert(n);
        assert(ret_time_wait);

        k = pread(n->sockstat_fd, buf, sizeof buf - 1, 0);
        if (k < 0)
                return -errno;
        buf[k] = 0;
        /* "sockets: used N" counts every socket of the namespace, of every family, until it is freed;
         * "TCP: inuse N orphan N tw N ..." the TCP connections in TIME_WAIT, of both IP versions, which are
         * not sockets any more. */
        r = sockstat_field(buf, "sockets: used ", &used);
        if (r >= 0)
                r = sockstat_field(buf, " tw ", &tw);
        if (r < 0)
                return r;
        *ret_time_wait = tw > 0;
        return used == 0 && tw == 0;
}

static void netns_pool_remove_idle(NetnsPool *pool, size_t i) {
        memmove(pool->idle + i, pool->idle + i + 1, (pool->n_idle - i - 1) * sizeof(PooledNetns));
        pool->n_idle--;
}

bool netns_pool_take(NetnsPool *pool, usec_t now_usec, PooledNetns *ret) {
        assert(pool);
        assert(ret);

        for (size_t i = 0; i < pool->n_idle;) {
                PooledNetns *n = &pool->idle[i];
                bool time_wait = false;
                int r;

                r = pooled_netns_is_empty(n, &time_wait);
                if (r > 0) {
                        *ret = *n;
                        netns_pool_remove_idle(pool, i);
                        return true;
                }
                if (r == 0 && !time_wait && now_usec < n->released_usec + NETNS_SETTLE_USEC) {
                        i++; /* sockets being freed, maybe: look again next time */
                        continue;
                }
                if (r < 0)
                        log_debug_errno(r, "Failed to count the sockets of a pooled network namespace, "
                                        "throwing it away: %m");
                netns_pool_discard(pool, n);
                netns_pool_remove_idle(pool, i);
        }
        return false;
}

bool netns_pool_has_room(const NetnsPool *pool) {
        return pool->n_total < pool->max;
}

void netns_pool_add(NetnsPool *pool) {
        pool->n_total++;
}

void netns_pool_discard(NetnsPool *pool, PooledNetns *n) {
        if (n->fd < 0)
                return;
        pooled_netns_close(n);
        assert(pool->n_total > 0);
        pool->n_total--;
}

void netns_pool_give_back(NetnsPool *pool, PooledNetns *n, bool keep, usec_t now_usec) {
        assert(pool);
        assert(n);

        if (n->fd < 0)
                return;
        if (!keep || pool->n_total > pool->max || pool->n_idle >= NETNS_POOL_MAX) {
                netns_pool_discard(pool, n);
                return;
        }
        n->released_usec = now_usec;
        pool->idle[pool->n_idle++] = *n;
        *n = POOLED_NETNS_NULL;
}

void netns_pool_set_max(NetnsPool *pool, size_t max) {
        pool->max = MIN(max, (size_t) NETNS_POOL_MAX);
        while (pool->n_idle > 0 && pool->n_total > pool->max)
                netns_pool_discard(pool, &pool->idle[--pool->n_idle]);
}
