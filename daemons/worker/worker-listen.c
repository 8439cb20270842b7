/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/* The system worker's socket for local clients (maelstrom-worker.socket): JobService, as a broker would
 * serve it, on the connections accepted from the listening unix sockets systemd passes.  Each peer's
 * credentials are checked before gRPC sees the connection: root, the worker's own user, and members of the
 * socket file's group (SocketGroup=) may use the worker. */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "basic/fd-util.h"
#include "basic/log.h"
#include "basic/string-util.h"
#include "basic/time-util.h"
#include "worker-manager.h"

/* At most this many groups of a peer are looked at (NGROUPS_MAX is 65536). */
#define PEER_MAX_GROUPS 65536U
/* At most this many refusals are logged per interval: a peer can trigger them. */
#define REFUSAL_LOG_BURST 10U
#define REFUSAL_LOG_INTERVAL_USEC (10 * USEC_PER_SEC)

/* Whether gid is among the peer's groups (its primary group, then SO_PEERGROUPS). */
static int peer_in_group(int fd, gid_t primary, gid_t gid) {
        _cleanup_free_ gid_t *groups = NULL;
        socklen_t size = 64 * sizeof(gid_t);

        if (primary == gid)
                return 1;
        for (;;) {
                gid_t *g = realloc(groups, size);
                if (!g)
                        return -ENOMEM;
                groups = g;
                if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &size) >= 0)
                        break;
                if (errno != ERANGE || size > PEER_MAX_GROUPS * sizeof(gid_t))
                        return -errno;
        }
        for (size_t i = 0; i < size / sizeof(gid_t); i++)
                if (groups[i] == gid)
                        return 1;
        return 0;
}

/* The group of the socket file a connection arrived on; -ENOENT for an abstract or unnamed socket. */
static int socket_file_group(int fd, gid_t *ret) {
        struct sockaddr_un sa = {};
        socklen_t l = sizeof(sa);
        struct stat st;

        if (getsockname(fd, (struct sockaddr *) &sa, &l) < 0)
                return -errno;
        if (sa.sun_family != AF_UNIX || l <= offsetof(struct sockaddr_un, sun_path) || sa.sun_path[0] != '/')
                return -ENOENT;
        sa.sun_path[sizeof(sa.sun_path) - 1] = 0;
        if (stat(sa.sun_path, &st) < 0)
                return -errno;
        *ret = st.st_gid;
        return 0;
}

int manager_check_peer(int fd, uid_t *ret_uid) {
        struct ucred cred;
        socklen_t l = sizeof(cred);
        gid_t group;
        int r;

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &l) < 0)
                return -errno;
        *ret_uid = cred.uid;
        if (cred.uid == 0 || cred.uid == geteuid())
                return 0;
        r = socket_file_group(fd, &group);
        if (r < 0)
                return r == -ENOENT ? -EPERM : r;
        r = peer_in_group(fd, cred.gid, group);
        if (r < 0)
                return r;
        return r > 0 ? 0 : -EPERM;
}

static int on_accept(int fd, void *userdata) {
        Manager *m = userdata;
        uid_t uid = (uid_t) -1;
        usec_t t;
        int r;

        r = manager_check_peer(fd, &uid);
        if (r >= 0) {
                log_debug("Serving a local client (uid %u).", (unsigned) uid);
                return 0;
        }
        t = now(CLOCK_MONOTONIC);
        if (t >= m->refusal_log_start + REFUSAL_LOG_INTERVAL_USEC) {
                m->refusal_log_start = t;
                m->n_refusals_logged = 0;
        }
        if (m->n_refusals_logged++ < REFUSAL_LOG_BURST) {
                if (r == -EPERM)
                        log_notice("Refused a local client (uid %u): not root, the worker's user, nor in "
                                   "the socket's group.", (unsigned) uid);
                else
                        log_warning_errno(r, "Failed to check the credentials of a local client, refusing "
                                          "it: %m");
        }
        return r;
}

void manager_blob_stored(const Digest *d, void *userdata) {
        Manager *m = userdata;

        bus_service_mark_changed(m->bus); /* CacheBytes */
        if (m->fetch_waiters)
                jobs_fetched(m, d, /* error= */ 0, /* failed_step= */ NULL);
}

int manager_listen_fds(Manager *m) {
        _cleanup_strv_free_ char **names = NULL;
        int n, n_taken = 0, r;

        n = sd_listen_fds_with_names(/* unset_environment= */ true, &names);
        if (n < 0)
                return log_error_errno(n, "Failed to get the sockets from systemd: %m");
        for (int i = 0; i < n; i++) {
                int fd = SD_LISTEN_FDS_START + i;
                const char *name = names ? names[i] : NULL;

                if (!streq_ptr(name, WORKER_LISTEN_FD_NAME) || m->local) {
                        log_warning("Socket '%s' from systemd is not one the worker serves (%s), "
                                    "closing it.", strna(name),
                                    m->local ? "--local" : "FileDescriptorName=" WORKER_LISTEN_FD_NAME);
                        safe_close(fd);
                        continue;
                }
                if (sd_is_socket_unix(fd, SOCK_STREAM, /* listening= */ 1, /* path= */ NULL,
                                      /* length= */ 0) <= 0) {
                        log_warning("Socket '%s' from systemd is not a listening unix stream socket, "
                                    "closing it.", name);
                        safe_close(fd);
                        continue;
                }
                r = rpc_server_add_filtered_listener_take(m->server, fd, on_accept, m);
                if (r < 0)
                        return log_error_errno(r, "Failed to serve the socket from systemd: %m");
                n_taken++;
        }
        if (n_taken > 0)
                log_info("Serving local clients on the socket from systemd.");
        return n_taken;
}
