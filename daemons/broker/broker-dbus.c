/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/* The broker's D-Bus object: org.maelstrom.Broker1 at /org/maelstrom/Broker1 (dbus/org.maelstrom.Broker1.xml
 * is the contract).  Handlers are thin: read, validate, authorize (polkit), then the manager does the
 * work. */
#include <stdlib.h>

#include "basic/log.h"
#include "basic/string-util.h"
#include "broker-manager.h"
#include "maelstrom/maelstrom.h"
#include "maelstrom/v1/cluster.pb-c.h"

#define BROKER_BUS_NAME MAELSTROM_BROKER_BUS_NAME
#define BROKER_BUS_PATH MAELSTROM_BROKER_BUS_PATH
#define BROKER_BUS_INTERFACE MAELSTROM_BROKER_BUS_INTERFACE
/* A worker's name as the broker got it in its hello (at most 256 bytes). */
#define WORKER_NAME_MAX 256U

/* The state the changing properties show. */
typedef struct BrokerBusState {
        uint32_t workers, clients, total_slots, used_slots;
        uint64_t awaiting, pending, running, completed, cache_bytes;
} BrokerBusState;

static const BusCounter broker_counters[] = {
        { "Workers", 'u', offsetof(BrokerBusState, workers) },
        { "Clients", 'u', offsetof(BrokerBusState, clients) },
        { "TotalSlots", 'u', offsetof(BrokerBusState, total_slots) },
        { "UsedSlots", 'u', offsetof(BrokerBusState, used_slots) },
        { "JobsAwaitingArtifacts", 't', offsetof(BrokerBusState, awaiting) },
        { "JobsPending", 't', offsetof(BrokerBusState, pending) },
        { "JobsRunning", 't', offsetof(BrokerBusState, running) },
        { "JobsCompleted", 't', offsetof(BrokerBusState, completed) },
        { "CacheBytes", 't', offsetof(BrokerBusState, cache_bytes) },
};

static void broker_bus_state(void *userdata, void *ret) {
        Manager *m = userdata;
        BrokerBusState st = {
                .workers = m->scheduler.n_workers,
                .clients = m->n_clients,
                .awaiting = m->n_awaiting,
                .pending = sched_n_pending(&m->scheduler),
                .running = m->scheduler.n_running,
                .completed = m->n_completed,
                .cache_bytes = cache_get_bytes(m->cache),
        };

        for (SchedWorker *w = m->scheduler.workers; w; w = w->next) {
                st.total_slots += w->slots;
                st.used_slots += sched_worker_busy(w);
        }
        *(BrokerBusState *) ret = st;
}

static int property_get_counter(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        return bus_service_append_counter(m->bus, reply, property, /* variant= */ false);
}

static int property_get_port(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        return sd_bus_message_append(reply, "q", m->port);
}

/* Status(): the counters, the port, and each worker as (name, slots, used slots). */
static int method_status(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Maelstrom__V1__StatusReply status = MAELSTROM__V1__STATUS_REPLY__INIT;
        Manager *m = userdata;
        int r;

        r = manager_fill_status(m, &status);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r >= 0)
                r = sd_bus_message_append(reply, "{sv}", "Port", "q", m->port);
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(broker_counters); i++) {
                r = sd_bus_message_open_container(reply, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(reply, "s", broker_counters[i].name);
                if (r >= 0)
                        r = bus_service_append_counter(m->bus, reply, broker_counters[i].name,
                                                       /* variant= */ true);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
        }
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(reply, "s", "WorkerList");
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'v', "a(suu)");
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(suu)");
        for (size_t i = 0; r >= 0 && i < status.n_workers; i++)
                r = sd_bus_message_append(reply, "(suu)", status.workers[i]->name, status.workers[i]->slots,
                                          status.workers[i]->used_slots);
        free(status.workers);
        for (unsigned i = 0; r >= 0 && i < 4; i++) /* the array, the variant, the entry, the dictionary */
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_drain_worker(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *name;
        int r;

        r = sd_bus_message_read(msg, "s", &name);
        if (r < 0)
                return r;
        if (isempty(name) || strlen(name) > WORKER_NAME_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid worker name.");
        r = bus_service_verify_polkit(m->bus, msg, MAELSTROM_POLKIT_BROKER_DRAIN_WORKER, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = manager_drain_worker(m, name);
        if (r == -ENOENT)
                return sd_bus_error_setf(error, BUS_ERROR_NOT_FOUND, "No worker '%s' is attached.", name);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_stop(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        int r = bus_service_verify_polkit(m->bus, msg, MAELSTROM_POLKIT_BROKER_STOP, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        /* The reply leaves when the connection is flushed, on the way out. */
        r = sd_bus_reply_method_return(msg, NULL);
        manager_stop(m);
        return r;
}

#define COUNTER_PROPERTY(name, type) \
        SD_BUS_PROPERTY(name, type, property_get_counter, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE)

static const sd_bus_vtable broker_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Port", "q", property_get_port, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        COUNTER_PROPERTY("Workers", "u"),
        COUNTER_PROPERTY("Clients", "u"),
        COUNTER_PROPERTY("TotalSlots", "u"),
        COUNTER_PROPERTY("UsedSlots", "u"),
        COUNTER_PROPERTY("JobsAwaitingArtifacts", "t"),
        COUNTER_PROPERTY("JobsPending", "t"),
        COUNTER_PROPERTY("JobsRunning", "t"),
        COUNTER_PROPERTY("JobsCompleted", "t"),
        COUNTER_PROPERTY("CacheBytes", "t"),
        /* Anyone may ask for the status: read-only, nothing to authorize. */
        SD_BUS_METHOD_WITH_ARGS("Status", SD_BUS_NO_ARGS, SD_BUS_RESULT("a{sv}", status), method_status,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Stop", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_stop,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("DrainWorker", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT, method_drain_worker,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("WorkerAttached", SD_BUS_ARGS("s", name, "u", slots), 0),
        SD_BUS_SIGNAL_WITH_ARGS("WorkerDetached", SD_BUS_ARGS("s", name), 0),
        SD_BUS_VTABLE_END,
};

int manager_dbus_start(Manager *m, const Config *config) {
        BusServiceOptions o = {
                .bus = config_get_string(config, "bus"),
                .name = BROKER_BUS_NAME,
                .path = BROKER_BUS_PATH,
                .interface = BROKER_BUS_INTERFACE,
                .vtable = broker_vtable,
                .userdata = m,
                .counters = broker_counters,
                .n_counters = ELEMENTSOF(broker_counters),
                .state_size = sizeof(BrokerBusState),
                .snapshot = broker_bus_state,
        };
        return daemon_bus_start(m->event, &o, &m->bus);
}
