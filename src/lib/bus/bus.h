/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* A daemon's D-Bus control object, with sd-bus on the daemon's sd-event loop: the connection to the bus the
 * "bus" value names, one object (vtable) under a well-known name, PropertiesChanged at a limited rate, and
 * the authorization of the methods that change state (polkit, asked asynchronously).
 *
 * This is the only module that includes sd-bus headers besides the daemons' *-dbus.c files, which build the
 * vtables.  It does not log (log_debug at most): the daemons decide what to say. */

#include <stdbool.h>
#include <sys/types.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "basic/macro.h"
#include "basic/time-util.h"
#include "maelstrom/maelstrom.h"

typedef enum BusKind {
        BUS_KIND_SYSTEM,
        BUS_KIND_USER,
        BUS_KIND_NONE,
        _BUS_KIND_MAX,
        _BUS_KIND_INVALID = -EINVAL,
} BusKind;

/* "system", "user", "none". */
const char *bus_kind_to_string(BusKind k);
BusKind bus_kind_from_string(const char *s);

/* Errors of our interfaces: org.maelstrom.Error.<Name>, mapped to and from errnos
 * (sd_bus_error_add_map()). */
#define BUS_ERROR_NOT_FOUND MAELSTROM_BUS_ERROR_NOT_FOUND          /* ENOENT */
#define BUS_ERROR_SHUTTING_DOWN MAELSTROM_BUS_ERROR_SHUTTING_DOWN  /* ESHUTDOWN */
#define BUS_ERROR_BUSY MAELSTROM_BUS_ERROR_BUSY                    /* EBUSY */
/* Registers the table above (idempotent). */
int bus_error_map_register(void);

/* At most this many authorization queries wait for their answer at once; more are refused (-EBUSY). */
#define BUS_POLKIT_MAX_QUERIES 64U
/* PropertiesChanged for the counters goes out at most once per this interval. */
#define BUS_PROPERTIES_CHANGED_INTERVAL_USEC (250 * USEC_PER_MSEC)

typedef struct BusService BusService;

/* A property whose value is in a snapshot of the daemon's state (see BusServiceOptions): PropertiesChanged
 * names it when it differs from the value last emitted.  In the snapshot, 'b' and 'u' are uint32_t, 't'
 * uint64_t. */
typedef struct BusCounter {
        const char *name;
        char type;
        size_t offset;
} BusCounter;

typedef struct BusServiceOptions {
        const char *bus;        /* the "bus" value: "system", "user", "none"; NULL = the default
                                 * (see below) */
        const char *name;       /* the well-known name to own (copied) */
        const char *path;       /* these two are borrowed: static strings */
        const char *interface;
        const sd_bus_vtable *vtable;
        void *userdata;         /* of the vtable, and of the callbacks below */
        /* The name could not be had, or the connection went away: error is negative.  The service is left
         * without a bus (the daemon may free it, or exit when the bus was asked for explicitly). */
        void (*lost)(BusService *s, int error, void *userdata);
        /* The properties that change (PropertiesChanged for them is emitted here, rate limited), and how to
         * take a snapshot of their values (a struct of state_size bytes). */
        const BusCounter *counters;
        size_t n_counters;
        size_t state_size;
        void (*snapshot)(void *userdata, void *ret_state);
} BusServiceOptions;

/* Connects to the bus, exports the object, asks for the name (asynchronously: lost is called if it cannot be
 * had) and attaches to the loop.  The default bus is the system bus as root, else the user bus.  Returns 0
 * with *ret NULL for "none", and also when no bus was named and the default one cannot be reached (*ret_why
 * then says why, as an errno); with a bus named explicitly, failing to reach it is an error.  *ret_explicit
 * says whether it was named. */
int bus_service_new(sd_event *e, const BusServiceOptions *o, BusService **ret, bool *ret_explicit,
                    int *ret_why);
BusService *bus_service_free(BusService *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(BusService *, bus_service_free);

sd_bus *bus_service_get_bus(BusService *s);
BusKind bus_service_get_kind(BusService *s);
/* Whether the bus was named by the "bus" value, rather than the default. */
bool bus_service_is_explicit(BusService *s);

/* Something the counters show may have changed: PropertiesChanged for those that did follows, within the
 * rate limit.  NULL-safe. */
void bus_service_mark_changed(BusService *s);
/* Appends the current value of the counter called name to m (as a variant, or as its own type): for property
 * getters and methods that return them.  -ENOENT if there is no such counter. */
int bus_service_append_counter(BusService *s, sd_bus_message *m, const char *name, bool variant);
/* Emits a signal of the object (a thin wrapper of sd_bus_emit_signal()).  NULL-safe (returns 0). */
int bus_service_emit_signal(BusService *s, const char *member, const char *types, ...);

/* Authorizes the caller of m (a method call that changes state) for the polkit action: root and the daemon's
 * own user are allowed at once; others are asked of polkit (org.freedesktop.PolicyKit1 on the same bus, with
 * interactive authentication when the caller allows it), and without polkit on the bus they are refused.
 * Returns > 0 when allowed; 0 when the answer is pending: the handler returns 1 and is called again with the
 * same message when it comes; < 0 when refused or failed (-EACCES, with *error set to AccessDenied or
 * InteractiveAuthorizationRequired; -EBUSY when too many queries wait). */
int bus_service_verify_polkit(BusService *s, sd_bus_message *m, const char *action, sd_bus_error *error);
