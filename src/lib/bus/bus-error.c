/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <errno.h>

#include "bus/bus.h"

static const sd_bus_error_map bus_error_map[] = {
        SD_BUS_ERROR_MAP(BUS_ERROR_NOT_FOUND, ENOENT),
        SD_BUS_ERROR_MAP(BUS_ERROR_SHUTTING_DOWN, ESHUTDOWN),
        SD_BUS_ERROR_MAP(BUS_ERROR_BUSY, EBUSY),
        SD_BUS_ERROR_MAP_END,
};

int bus_error_map_register(void) {
        /* sd-bus keeps the table and ignores a second registration of the same one. */
        return sd_bus_error_add_map(bus_error_map);
}
