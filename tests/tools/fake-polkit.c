/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/* A stand-in for polkitd on a test's private system bus (DBUS_SYSTEM_BUS_ADDRESS): owns
 * org.freedesktop.PolicyKit1 and answers CheckAuthorization, authorizing the actions named on the command
 * line ("challenge:ACTION" answers that authentication is needed instead).  Prints one line per question:
 * "check ACTION SUBJECT-KIND SUBJECT-NAME FLAGS". */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "basic/string-util.h"
#include "bus/bus.h"

typedef struct FakePolkit {
        char **allowed;
        BusService *service;
        sd_event *event;
} FakePolkit;

static int method_check_authorization(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        FakePolkit *f = userdata;
        const char *kind, *key, *name = "", *action, *cancel;
        _cleanup_free_ char *challenge = NULL;
        uint32_t flags;
        int r;

        r = sd_bus_message_enter_container(m, 'r', "sa{sv}");
        if (r >= 0)
                r = sd_bus_message_read(m, "s", &kind);
        if (r >= 0)
                r = sd_bus_message_enter_container(m, 'a', "{sv}");
        while (r >= 0 && (r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                r = sd_bus_message_read(m, "s", &key);
                if (r >= 0 && streq(key, "name"))
                        r = sd_bus_message_read(m, "v", "s", &name);
                else if (r >= 0)
                        r = sd_bus_message_skip(m, "v");
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        if (r >= 0)
                r = sd_bus_message_read(m, "s", &action);
        if (r >= 0)
                r = sd_bus_message_skip(m, "a{ss}");
        if (r >= 0)
                r = sd_bus_message_read(m, "us", &flags, &cancel);
        if (r < 0)
                return r;

        printf("check %s %s %s %u\n", action, kind, name, flags);
        fflush(stdout);
        challenge = strjoin("challenge:", action);
        if (!challenge)
                return -ENOMEM;
        return sd_bus_reply_method_return(m, "(bba{ss})", strv_contains(f->allowed, action),
                                          strv_contains(f->allowed, challenge), 0);
}

static const sd_bus_vtable authority_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("CheckAuthorization",
                                SD_BUS_ARGS("(sa{sv})", subject, "s", action_id, "a{ss}", details, "u",
                                            flags, "s", cancellation_id),
                                SD_BUS_RESULT("(bba{ss})", result), method_check_authorization,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

static void on_lost(BusService *s, int error, void *userdata) {
        FakePolkit *f = userdata;
        fprintf(stderr, "fake-polkit: lost the name or the bus: %s\n", strerror(-error));
        (void) sd_event_exit(f->event, 1);
}

int main(int argc, char **argv) {
        FakePolkit f = { .allowed = argv + 1 };
        bool explicit;
        int why, r;
        sigset_t mask;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 || sd_event_default(&f.event) < 0 ||
            sd_event_set_signal_exit(f.event, true) < 0)
                return 1;
        BusServiceOptions o = {
                .bus = "system",
                .name = "org.freedesktop.PolicyKit1",
                .path = "/org/freedesktop/PolicyKit1/Authority",
                .interface = "org.freedesktop.PolicyKit1.Authority",
                .vtable = authority_vtable,
                .userdata = &f,
                .lost = on_lost,
        };
        r = bus_service_new(f.event, &o, &f.service, &explicit, &why);
        if (r < 0 || !f.service) {
                fprintf(stderr, "fake-polkit: cannot connect to the bus: %s\n", strerror(-r));
                return 1;
        }
        r = sd_event_loop(f.event);
        bus_service_free(f.service);
        sd_event_unref(f.event);
        return r < 0 ? 1 : r;
}
