/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/log.h"
#include "basic/string-util.h"
#include "basic/string-table.h"
#include "bus/bus-internal.h"

static const char *const bus_kind_table[_BUS_KIND_MAX] = {
        [BUS_KIND_SYSTEM] = "system",
        [BUS_KIND_USER] = "user",
        [BUS_KIND_NONE] = "none",
};

DEFINE_STRING_TABLE_LOOKUP(bus_kind, BusKind);

static void service_lost(BusService *s, int error) {
        s->changes_pending = false;
        (void) sd_event_source_set_enabled(s->changes_timer, SD_EVENT_OFF);
        if (s->options.lost)
                s->options.lost(s, error, s->options.userdata);
}

static int on_name_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        BusService *s = userdata;
        uint32_t result;
        int r;

        s->name_slot = sd_bus_slot_unref(s->name_slot);
        if (sd_bus_message_is_method_error(m, NULL)) {
                log_debug("bus: RequestName(%s) failed: %s", s->options.name,
                          sd_bus_message_get_error(m)->message);
                service_lost(s, sd_bus_message_get_errno(m) ? -sd_bus_message_get_errno(m) : -EACCES);
                return 0;
        }
        r = sd_bus_message_read(m, "u", &result);
        if (r < 0) {
                service_lost(s, r);
                return 0;
        }
        /* 1 = now the primary owner, 4 = already; without queueing, anything else means someone else has
         * it. */
        if (result != 1 && result != 4)
                service_lost(s, -EEXIST);
        return 0;
}

static int on_disconnected(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        service_lost(userdata, -ECONNRESET);
        return 0;
}

static size_t counter_size(const BusCounter *c) {
        return c->type == 't' ? sizeof(uint64_t) : sizeof(uint32_t);
}

static int on_changes_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        BusService *s = userdata;
        const BusServiceOptions *o = &s->options;
        _cleanup_free_ const char **names = NULL;
        size_t n = 0;
        int r;

        s->changes_pending = false;
        s->last_changes = usec;
        names = calloc(o->n_counters + 1, sizeof(char *));
        if (!names)
                return 0; /* next time */
        o->snapshot(o->userdata, s->state);
        for (size_t i = 0; i < o->n_counters; i++) {
                const BusCounter *c = &o->counters[i];
                if (memcmp((char *) s->state + c->offset, (char *) s->last_state + c->offset,
                           counter_size(c)) != 0)
                        names[n++] = c->name;
        }
        if (n == 0)
                return 0;
        memcpy(s->last_state, s->state, o->state_size);
        r = sd_bus_emit_properties_changed_strv(s->bus, o->path, o->interface, (char **) names);
        if (r < 0)
                log_debug_errno(r, "bus: failed to emit PropertiesChanged: %m");
        return 0;
}

int bus_service_append_counter(BusService *s, sd_bus_message *m, const char *name, bool variant) {
        const BusServiceOptions *o = &s->options;

        for (size_t i = 0; i < o->n_counters; i++) {
                const BusCounter *c = &o->counters[i];
                const char type[2] = { c->type, 0 };
                uint64_t t;
                uint32_t u;
                int r;

                if (!streq(c->name, name))
                        continue;
                o->snapshot(o->userdata, s->state);
                if (c->type == 't')
                        memcpy(&t, (char *) s->state + c->offset, sizeof(t));
                else
                        memcpy(&u, (char *) s->state + c->offset, sizeof(u));
                if (variant) {
                        r = sd_bus_message_open_container(m, 'v', type);
                        if (r < 0)
                                return r;
                }
                /* A 'b' is an int for sd-bus, which uint32_t is the size of. */
                r = sd_bus_message_append_basic(m, c->type,
                                                c->type == 't' ? (const void *) &t : (const void *) &u);
                if (r < 0 || !variant)
                        return r;
                return sd_bus_message_close_container(m);
        }
        return -ENOENT;
}

static int bus_open(BusKind kind, const char *description, sd_bus **ret) {
        return kind == BUS_KIND_SYSTEM ? sd_bus_open_system_with_description(ret, description)
                                       : sd_bus_open_user_with_description(ret, description);
}

int bus_service_new(sd_event *e, const BusServiceOptions *o, BusService **ret, bool *ret_explicit,
                    int *ret_why) {
        _cleanup_(bus_service_freep) BusService *s = NULL;
        BusKind kind;
        int r;

        if (o->bus) {
                kind = bus_kind_from_string(o->bus);
                if (kind < 0)
                        return kind;
        } else
                kind = geteuid() == 0 ? BUS_KIND_SYSTEM : BUS_KIND_USER;
        *ret_explicit = !!o->bus;
        *ret_why = 0;
        if (kind == BUS_KIND_NONE) {
                *ret = NULL;
                return 0;
        }

        r = bus_error_map_register();
        if (r < 0)
                return r;
        s = calloc(1, sizeof(BusService));
        if (!s)
                return -ENOMEM;
        s->kind = kind;
        s->explicit = !!o->bus;
        s->options = *o;
        s->options.name = s->name = strdup(o->name);
        if (!s->name)
                return -ENOMEM;
        s->state = calloc(1, o->state_size ?: 1);
        s->last_state = calloc(1, o->state_size ?: 1);
        if (!s->state || !s->last_state)
                return -ENOMEM;
        if (o->snapshot)
                o->snapshot(o->userdata, s->last_state);

        r = bus_open(kind, o->name, &s->bus);
        if (r < 0) {
                if (s->explicit)
                        return r;
                *ret_why = r;
                *ret = NULL;
                return 0;
        }
        r = sd_bus_add_object_vtable(s->bus, &s->object_slot, o->path, o->interface, o->vtable, o->userdata);
        if (r < 0)
                return r;
        r = sd_bus_match_signal_async(s->bus, &s->disconnect_slot, "org.freedesktop.DBus.Local",
                                      "/org/freedesktop/DBus/Local", "org.freedesktop.DBus.Local",
                                      "Disconnected", on_disconnected, /* add_callback= */ NULL, s);
        if (r < 0)
                return r;
        r = sd_bus_request_name_async(s->bus, &s->name_slot, o->name, /* flags= */ 0, on_name_reply, s);
        if (r < 0)
                return r;
        r = sd_event_add_time(e, &s->changes_timer, CLOCK_MONOTONIC, 0, /* accuracy= */ 0,
                              on_changes_timer, s);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(s->changes_timer, SD_EVENT_OFF);
        (void) sd_event_source_set_description(s->changes_timer, "bus-properties-changed");
        r = sd_bus_attach_event(s->bus, e, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(s);
        return 0;
}

BusService *bus_service_free(BusService *s) {
        if (!s)
                return NULL;
        bus_polkit_queries_free(s);
        free(s->state);
        free(s->last_state);
        free(s->name);
        s->changes_timer = sd_event_source_disable_unref(s->changes_timer);
        s->name_slot = sd_bus_slot_unref(s->name_slot);
        s->disconnect_slot = sd_bus_slot_unref(s->disconnect_slot);
        s->object_slot = sd_bus_slot_unref(s->object_slot);
        if (s->bus) {
                (void) sd_bus_detach_event(s->bus);
                s->bus = sd_bus_flush_close_unref(s->bus);
        }
        return mfree(s);
}

sd_bus *bus_service_get_bus(BusService *s) {
        return s->bus;
}

BusKind bus_service_get_kind(BusService *s) {
        return s->kind;
}

bool bus_service_is_explicit(BusService *s) {
        return s->explicit;
}

void bus_service_mark_changed(BusService *s) {
        usec_t t;

        if (!s || s->changes_pending || s->options.n_counters == 0)
                return;
        s->changes_pending = true;
        t = now(CLOCK_MONOTONIC);
        if (s->last_changes + BUS_PROPERTIES_CHANGED_INTERVAL_USEC > t)
                t = s->last_changes + BUS_PROPERTIES_CHANGED_INTERVAL_USEC;
        if (sd_event_source_set_time(s->changes_timer, t) < 0 ||
            sd_event_source_set_enabled(s->changes_timer, SD_EVENT_ONESHOT) < 0)
                s->changes_pending = false;
}

int bus_service_emit_signal(BusService *s, const char *member, const char *types, ...) {
        va_list ap;
        int r;

        if (!s)
                return 0;
        va_start(ap, types);
        r = sd_bus_emit_signalv(s->bus, s->options.path, s->options.interface, member, types, ap);
        va_end(ap);
        return r;
}
