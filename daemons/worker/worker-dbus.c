/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/* The worker's D-Bus object: org.maelstrom.Worker1 at /org/maelstrom/Worker1 (dbus/org.maelstrom.Worker1.xml
 * is the contract).  Handlers are thin: read, validate, authorize (polkit), then worker-control.c does the
 * work. */
#include <stddef.h>
#include <stdlib.h>

#include "basic/log.h"
#include "basic/string-util.h"
#include "maelstrom/maelstrom.h"
#include "worker-manager.h"

#define WORKER_BUS_NAME MAELSTROM_WORKER_BUS_NAME
#define WORKER_BUS_PATH MAELSTROM_WORKER_BUS_PATH
#define WORKER_BUS_INTERFACE MAELSTROM_WORKER_BUS_INTERFACE

/* The state the changing properties show. */
typedef struct WorkerBusState {
        uint32_t connected, draining, slots, running;
        uint64_t cache_bytes;
} WorkerBusState;

static const BusCounter worker_counters[] = {
        { "Connected", 'b', offsetof(WorkerBusState, connected) },
        { "Draining", 'b', offsetof(WorkerBusState, draining) },
        { "Slots", 'u', offsetof(WorkerBusState, slots) },
        { "RunningJobs", 'u', offsetof(WorkerBusState, running) },
        { "CacheBytes", 't', offsetof(WorkerBusState, cache_bytes) },
};

static void worker_bus_state(void *userdata, void *ret) {
        Manager *m = userdata;
        *(WorkerBusState *) ret = (WorkerBusState) {
                .connected = m->broker_session != NULL,
                .draining = m->draining,
                .slots = m->slots,
                .running = m->running,
                .cache_bytes = cache_get_bytes(m->cache),
        };
}

static int property_get_broker(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        return sd_bus_message_append(reply, "s", strempty(m->broker));
}

static int property_get_state(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        return bus_service_append_counter(m->bus, reply, property, /* variant= */ false);
}

/* Authorizes msg for the polkit action: > 0 go on, 0 pending (return 1 to sd-bus), < 0 refused. */
static int authorize(Manager *m, sd_bus_message *msg, const char *action, sd_bus_error *error) {
        return bus_service_verify_polkit(m->bus, msg, action, error);
}

static int method_set_slots(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        uint32_t slots;
        int r;

        r = sd_bus_message_read(msg, "u", &slots);
        if (r < 0)
                return r;
        if (slots < 1 || slots > WORKER_SLOTS_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Slots must be 1 to %u, not %" PRIu32 ".", WORKER_SLOTS_MAX, slots);
        r = authorize(m, msg, MAELSTROM_POLKIT_WORKER_SET_SLOTS, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = manager_set_slots(m, slots);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_drain(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        int r = authorize(m, msg, MAELSTROM_POLKIT_WORKER_DRAIN, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        manager_drain(m);
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_prune_cache(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        int r = authorize(m, msg, MAELSTROM_POLKIT_WORKER_PRUNE_CACHE, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = manager_prune_cache(m);
        if (r < 0)
                return r;
        bus_service_mark_changed(m->bus);
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_stop(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        int r = authorize(m, msg, MAELSTROM_POLKIT_WORKER_STOP, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        /* The reply leaves when the connection is flushed, on the way out. */
        r = sd_bus_reply_method_return(msg, NULL);
        manager_stop(m);
        return r;
}

static const sd_bus_vtable worker_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Broker", "s", property_get_broker, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Connected", "b", property_get_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Slots", "u", property_get_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("RunningJobs", "u", property_get_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("CacheBytes", "t", property_get_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Draining", "b", property_get_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("SetSlots", SD_BUS_ARGS("u", slots), SD_BUS_NO_RESULT, method_set_slots,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Drain", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_drain,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Stop", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_stop,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("PruneCache", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_prune_cache,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

/* org.maelstrom.Worker1, or org.maelstrom.Worker1.<instance> with characters a bus name cannot hold made
 * '_'. */
static char *worker_bus_name(const char *instance) {
        char *name;

        if (isempty(instance))
                return strdup(WORKER_BUS_NAME);
        name = strjoin(WORKER_BUS_NAME ".", instance);
        if (!name)
                return NULL;
        for (char *p = name + strlen(WORKER_BUS_NAME "."); *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                      *p == '_'))
                        *p = '_';
        return name;
}

int manager_dbus_start(Manager *m, const Config *config) {
        _cleanup_free_ char *name = worker_bus_name(config_get_string(config, "instance"));
        BusServiceOptions o = {
                .bus = config_get_string(config, "bus"),
                .name = name,
                .path = WORKER_BUS_PATH,
                .interface = WORKER_BUS_INTERFACE,
                .vtable = worker_vtable,
                .userdata = m,
                .counters = worker_counters,
                .n_counters = ELEMENTSOF(worker_counters),
                .state_size = sizeof(WorkerBusState),
                .snapshot = worker_bus_state,
        };

        if (!name)
                return log_oom();
        return daemon_bus_start(m->event, &o, &m->bus);
}
