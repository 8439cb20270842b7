/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/* Cluster mode: the Attach stream to the broker, reconnection with backoff, and blob fetches. */
#include <stdio.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "basic/log.h"
#include "basic/string-util.h"
#include "maelstrom/v1/cluster.pb-c.h"
#include "worker-manager.h"

#define BACKOFF_MIN (200 * USEC_PER_MSEC)
#define BACKOFF_MAX (30 * USEC_PER_SEC)

static const RpcMethod method_attach = { "/maelstrom.v1.WorkerService/Attach", RPC_METHOD_BIDI_STREAMING };

struct Fetch {
        Manager *manager;
        BlobTransfer *transfer;
        Fetch *prev, *next;
};

static Fetch *fetch_free(Fetch *f) {
        if (!f)
                return NULL;
        Manager *m = f->manager;
        if (f->prev)
                f->prev->next = f->next;
        else
                m->fetches = f->next;
        if (f->next)
                f->next->prev = f->prev;
        blob_transfer_free(f->transfer);
        free(f);
        return NULL;
}

void fetches_free_all(Manager *m) {
        while (m->fetches)
                fetch_free(m->fetches);
}

static void on_fetch_done(BlobTransfer *t, int error, void *userdata) {
        Fetch *f = userdata;
        Manager *m = f->manager;
        Digest d = *blob_transfer_digest(t);
        char hex[DIGEST_HEX_SIZE];

        digest_to_hex(&d, hex);
        if (error < 0)
                log_warning_errno(error, "Failed to fetch blob %s from the broker: %m", hex);
        else
                log_debug("Fetched blob %s from the broker.", hex);
        fetch_free(f);
        jobs_fetched(m, &d, error, /* failed_step= */ NULL);
}

int manager_fetch(Manager *m, const Digest *d) {
        Fetch *f;
        int r;

        for (f = m->fetches; f; f = f->next)
                if (digest_equal(blob_transfer_digest(f->transfer), d))
                        return 0;
        if (!m->broker_channel)
                return -ENOTCONN;
        f = calloc(1, sizeof(Fetch));
        if (!f)
                return -ENOMEM;
        f->manager = m;
        r = blob_fetch(m->broker_channel, m->cache, d, on_fetch_done, f, &f->transfer);
        if (r < 0) {
                free(f);
                return r;
        }
        f->next = m->fetches;
        if (m->fetches)
                m->fetches->prev = f;
        m->fetches = f;
        return 0;
}

void manager_send_status(void *userdata) {
        Manager *m = userdata;

        (void) sd_notifyf(/* unset_environment= */ false, "STATUS=%s%s, %u of %u slots in use%s",
                          !m->broker ? "Serving local clients" : m->broker_session ? "Attached to " :
                          m->draining ? "Detached from " : "Connecting to ", strempty(m->broker),
                          m->running, m->slots, m->draining ? ", draining" : "");
}

void manager_notify_status(Manager *m) {
        bus_service_mark_changed(m->bus);
        if (!m->local)
                daemon_status_changed(&m->status);
}

void manager_send_slots(Manager *m) {
        Maelstrom__V1__WorkerMessage msg = MAELSTROM__V1__WORKER_MESSAGE__INIT;
        Maelstrom__V1__WorkerSlots slots = MAELSTROM__V1__WORKER_SLOTS__INIT;

        if (!m->broker_session)
                return;
        slots.slots = m->draining ? 0 : m->slots;
        msg.kind_case = MAELSTROM__V1__WORKER_MESSAGE__KIND_SLOTS;
        msg.slots = &slots;
        session_send_message(m->broker_session, &msg);
}

static int on_reconnect(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        m->reconnect_timer = sd_event_source_disable_unref(m->reconnect_timer);
        (void) manager_connect(m);
        return 0;
}

static void schedule_reconnect(Manager *m) {
        int r;

        if (m->stopping || m->draining || m->reconnect_timer)
                return; /* a draining worker has nothing to finish once its broker is gone */
        m->backoff = m->backoff == 0 ? BACKOFF_MIN : MIN(m->backoff * 2, BACKOFF_MAX);
        log_debug("Reconnecting to the broker in %" PRIu64 " ms.", m->backoff / USEC_PER_MSEC);
        r = sd_event_add_time_relative(m->event, &m->reconnect_timer, CLOCK_MONOTONIC, m->backoff,
                                       /* accuracy= */ 0, on_reconnect, m);
        if (r < 0) {
                log_error_errno(r, "Failed to schedule reconnecting to the broker, exiting: %m");
                (void) sd_event_exit(m->event, r);
        }
}

void manager_broker_lost(Manager *m) {
        /* Our jobs were dropped with the session; the broker gives them to others. */
        fetches_free_all(m);
        m->broker_channel = rpc_channel_free(m->broker_channel);
        manager_notify_status(m);
        schedule_reconnect(m);
}

int manager_connect(Manager *m) {
        Maelstrom__V1__WorkerMessage msg = MAELSTROM__V1__WORKER_MESSAGE__INIT;
        Maelstrom__V1__WorkerHello hello = MAELSTROM__V1__WORKER_HELLO__INIT;
        _cleanup_(rpc_call_freep) RpcCall *call = NULL;
        char host[256] = "", name[300];
        int r;

        assert(!m->broker_session);
        m->broker_channel = rpc_channel_free(m->broker_channel);
        r = rpc_channel_new_target(m->rpc, m->broker, /* limits= */ NULL, &m->broker_channel);
        if (r < 0) {
                log_warning_errno(r, "Failed to set up a channel to the broker '%s', retrying: %m",
                                  m->broker);
                schedule_reconnect(m);
                return r;
        }
        r = rpc_channel_call(m->broker_channel, &method_attach, /* handlers= */ NULL, /* userdata= */ NULL,
                             &call);
        if (r < 0) {
                log_warning_errno(r, "Failed to attach to the broker '%s', retrying: %m", m->broker);
                schedule_reconnect(m);
                return r;
        }
        (void) gethostname(host, sizeof host - 1);
        snprintf(name, sizeof name, "%s:%d", host, (int) getpid());
        hello.slots = m->slots;
        hello.name = name;
        msg.kind_case = MAELSTROM__V1__WORKER_MESSAGE__KIND_HELLO;
        msg.hello = &hello;
        r = blob_call_send_message(call, &msg);
        if (r < 0) {
                log_warning_errno(r, "Failed to greet the broker '%s', retrying: %m", m->broker);
                schedule_reconnect(m);
                return r;
        }
        r = session_new_broker(m, call, &m->broker_session);
        if (r < 0) {
                log_warning_errno(r, "Failed to set up the broker session, retrying: %m");
                schedule_reconnect(m);
                return r;
        }
        TAKE_PTR(call);
        log_debug("Attaching to the broker '%s' with %u slots.", m->broker, m->slots);
        manager_notify_status(m);
        return 0;
}
