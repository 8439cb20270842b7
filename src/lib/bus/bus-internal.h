/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

#include "bus/bus.h"

typedef struct BusPolkitQuery BusPolkitQuery;

struct BusService {
        sd_bus *bus;
        BusKind kind;
        bool explicit;
        BusServiceOptions options; /* name points to our copy */
        char *name;
        sd_bus_slot *object_slot, *name_slot, *disconnect_slot;

        sd_event_source *changes_timer;
        bool changes_pending;
        usec_t last_changes;
        void *last_state;  /* the counters as PropertiesChanged last said them */
        void *state;       /* scratch */

        BusPolkitQuery *queries; /* list */
        unsigned n_queries;
};

void bus_polkit_queries_free(BusService *s);
