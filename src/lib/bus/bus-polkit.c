/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/* Authorizing method calls: the caller's uid first (GetConnectionUnixUser), then polkit's
 * CheckAuthorization, both asked asynchronously; when the answer is in, the method call is queued again on
 * the connection and its handler, called once more, finds it here (systemd's pattern, which is internal to
 * systemd: this is our own). */
#include <stdlib.h>
#include <unistd.h>

#include "basic/log.h"
#include "basic/string-util.h"
#include "bus/bus-internal.h"

/* How long polkit may take: an interactive authentication waits for a person. */
#define POLKIT_TIMEOUT_USEC (25 * USEC_PER_SEC)
#define POLKIT_INTERACTIVE_TIMEOUT_USEC (120 * USEC_PER_SEC)

struct BusPolkitQuery {
        BusService *service;
        sd_bus_message *request; /* the method call being authorized */
        char *action;
        sd_bus_slot *slot;       /* the call in flight */
        int result;              /* 0 = pending, > 0 allowed, < 0 refused (error says why) */
        sd_bus_error error;
        BusPolkitQuery *prev, *next;
};

static BusPolkitQuery *query_free(BusPolkitQuery *q) {
        if (!q)
                return NULL;
        BusService *s = q->service;

        if (q->prev)
                q->prev->next = q->next;
        else
                s->queries = q->next;
        if (q->next)
                q->next->prev = q->prev;
        s->n_queries--;
        sd_bus_slot_unref(q->slot);
        sd_bus_message_unref(q->request);
        sd_bus_error_free(&q->error);
        free(q->action);
        return mfree(q);
}

void bus_polkit_queries_free(BusService *s) {
        while (s->queries)
                query_free(s->queries);
}

/* The answer is in: dispatch the method call again. */
static void query_done(BusPolkitQuery *q, int result) {
        int r;

        q->slot = sd_bus_slot_unref(q->slot);
        q->result = result;
        if (result < 0 && !sd_bus_error_is_set(&q->error))
                (void) sd_bus_error_set_errno(&q->error, result);
        r = sd_bus_enqueue_for_read(q->service->bus, q->request);
        if (r < 0) {
                log_debug_errno(r, "bus: failed to dispatch a method call again after authorizing it: %m");
                query_free(q);
        }
}

static void query_refuse(BusPolkitQuery *q, const char *name, const char *message) {
        (void) sd_bus_error_set_const(&q->error, name, message);
        query_done(q, -EACCES);
}

static int on_check_authorization(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        BusPolkitQuery *q = userdata;
        const sd_bus_error *e;
        int authorized, challenge, r;

        if (sd_bus_message_is_method_error(m, NULL)) {
                e = sd_bus_message_get_error(m);
                if (sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
                        query_refuse(q, SD_BUS_ERROR_ACCESS_DENIED,
                                     "Only root and the daemon's user may do this: "
                                     "polkit is not available.");
                else {
                        log_debug("bus: CheckAuthorization failed: %s: %s", e->name, strna(e->message));
                        (void) sd_bus_error_copy(&q->error, e);
                        query_done(q, -EACCES);
                }
                return 0;
        }
        r = sd_bus_message_enter_container(m, 'r', "bba{ss}");
        if (r >= 0)
                r = sd_bus_message_read(m, "bb", &authorized, &challenge);
        if (r < 0) {
                log_debug_errno(r, "bus: bad reply from polkit: %m");
                query_refuse(q, SD_BUS_ERROR_ACCESS_DENIED, "polkit's answer could not be read.");
                return 0;
        }
        if (authorized)
                query_done(q, 1);
        else if (challenge)
                query_refuse(q, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
                             "Authentication is required (call with interactive authorization allowed).");
        else
                query_refuse(q, SD_BUS_ERROR_ACCESS_DENIED, "Not authorized by polkit.");
        return 0;
}

static int query_ask_polkit(BusPolkitQuery *q) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        bool interactive = sd_bus_message_get_allow_interactive_authorization(q->request) > 0;
        int r;

        r = sd_bus_message_new_method_call(q->service->bus, &call, "org.freedesktop.PolicyKit1",
                                           "/org/freedesktop/PolicyKit1/Authority",
                                           "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization");
        if (r < 0)
                return r;
        /* The subject is the caller's connection; no details; flag 1 = AllowUserInteraction. */
        r = sd_bus_message_append(call, "(sa{sv})sa{ss}us", "system-bus-name", 1, "name", "s",
                                  sd_bus_message_get_sender(q->request), q->action, 0,
                                  (uint32_t) interactive, "");
        if (r < 0)
                return r;
        return sd_bus_call_async(q->service->bus, &q->slot, call, on_check_authorization, q,
                                 interactive ? POLKIT_INTERACTIVE_TIMEOUT_USEC : POLKIT_TIMEOUT_USEC);
}

static int on_unix_user(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        BusPolkitQuery *q = userdata;
        uint32_t uid;
        int r;

        q->slot = sd_bus_slot_unref(q->slot);
        r = sd_bus_message_is_method_error(m, NULL) ? -EIO : sd_bus_message_read(m, "u", &uid);
        if (r < 0) {
                query_refuse(q, SD_BUS_ERROR_ACCESS_DENIED, "The caller's identity could not be found out.");
                return 0;
        }
        if (uid == 0 || uid == geteuid()) {
                query_done(q, 1);
                return 0;
        }
        r = query_ask_polkit(q);
        if (r < 0) {
                log_debug_errno(r, "bus: failed to ask polkit: %m");
                query_refuse(q, SD_BUS_ERROR_ACCESS_DENIED, "polkit could not be asked.");
        }
        return 0;
}

int bus_service_verify_polkit(BusService *s, sd_bus_message *m, const char *action, sd_bus_error *error) {
        BusPolkitQuery *q;
        int r;

        for (q = s->queries; q; q = q->next) {
                if (q->request != m || !streq(q->action, action))
                        continue;
                if (q->result == 0)
                        return 0; /* asked again before the answer (should not happen) */
                r = q->result;
                if (r < 0)
                        (void) sd_bus_error_move(error, &q->error);
                query_free(q);
                return r;
        }

        if (s->n_queries >= BUS_POLKIT_MAX_QUERIES)
                return sd_bus_error_set_errnof(error, EBUSY,
                                               "Too many authorizations are pending, try again.");
        q = calloc(1, sizeof(BusPolkitQuery));
        if (!q)
                return -ENOMEM;
        q->service = s;
        q->request = sd_bus_message_ref(m);
        q->error = SD_BUS_ERROR_NULL;
        q->next = s->queries;
        if (s->queries)
                s->queries->prev = q;
        s->queries = q;
        s->n_queries++;
        q->action = strdup(action);
        if (!q->action) {
                query_free(q);
                return -ENOMEM;
        }
        r = sd_bus_call_method_async(s->bus, &q->slot, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                     "org.freedesktop.DBus", "GetConnectionUnixUser", on_unix_user, q, "s",
                                     sd_bus_message_get_sender(m));
        if (r < 0) {
                query_free(q);
                return r;
        }
        return 0;
}
