/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include <systemd/sd-event.h>

#include "basic/log.h"
#include "basic/string-util.h"
#include "basic/time-util.h"
#include "config/config-main.h"
#include "config/config-values.h"
#include "maelstrom/v1/cluster.pb-c.h"
#include "proto/proto-util.h"
#include "rpc/rpc.h"

/* How long the broker gets to answer. */
#define ADMIN_TIMEOUT_USEC (10 * USEC_PER_SEC)

static const RpcMethod method_status = { "/maelstrom.v1.AdminService/Status", RPC_METHOD_UNARY };
static const RpcMethod method_stop = { "/maelstrom.v1.AdminService/Stop", RPC_METHOD_UNARY };

typedef struct Admin {
        sd_event *event;
        const char *broker;
        bool status;
        int result; /* exit code */
} Admin;

static void print_status(const Maelstrom__V1__StatusReply *s) {
        unsigned slots = 0, used = 0;

        for (size_t i = 0; i < s->n_workers; i++) {
                slots += s->workers[i]->slots;
                used += s->workers[i]->used_slots;
        }
        printf("Broker port: %u\n", s->port);
        printf("Workers: %zu, slots: %u used of %u\n", s->n_workers, used, slots);
        for (size_t i = 0; i < s->n_workers; i++)
                printf("  worker %s: %u slots, %u used\n", s->workers[i]->name, s->workers[i]->slots,
                       s->workers[i]->used_slots);
        printf("Clients: %u\n", s->clients);
        printf("Jobs: %" PRIu64 " awaiting artifacts, %" PRIu64 " pending, %" PRIu64 " running, %" PRIu64
               " completed\n",
               s->jobs_awaiting_artifacts, s->jobs_pending, s->jobs_running, s->jobs_completed);
        printf("Cache: %" PRIu64 " bytes, target %" PRIu64 " bytes\n", s->cache_bytes, s->cache_size_target);
        printf("Transfers: %" PRIu64 " blobs (%" PRIu64 " bytes) received, %" PRIu64 " blobs (%" PRIu64
               " bytes) sent\n",
               s->blobs_received, s->bytes_received, s->blobs_sent, s->bytes_sent);
}

static int on_reply(RpcCall *call, const void *data, size_t size, void *userdata) {
        Admin *a = userdata;
        _cleanup_(proto_freep) Maelstrom__V1__StatusReply *reply = NULL;
        int r;

        if (!a->status) {
                printf("Stopping the broker and its workers.\n");
                a->result = EXIT_SUCCESS;
                return 0;
        }
        r = proto_unpack(&maelstrom__v1__status_reply__descriptor, data, size, (void **) &reply);
        if (r < 0)
                return log_error_errno(r, "Malformed status from the broker: %m");
        print_status(reply);
        a->result = EXIT_SUCCESS;
        return 0;
}

static void on_closed(RpcCall *call, RpcStatus status, const char *message, void *userdata) {
        Admin *a = userdata;
        if (status != RPC_STATUS_OK) {
                log_error("The broker %s did not answer: %s%s%s", a->broker, rpc_status_to_string(status),
                          isempty(message) ? "" : ": ", strempty(message));
                a->result = EXIT_FAILURE;
        }
        (void) sd_event_exit(a->event, 0);
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Admin *a = userdata;
        log_error("The broker %s did not answer within %u s.", a->broker,
                  (unsigned) (ADMIN_TIMEOUT_USEC / USEC_PER_SEC));
        a->result = EXIT_FAILURE;
        return sd_event_exit(a->event, 0);
}

static int admin_call(const char *broker, bool status) {
        static const RpcCallHandlers handlers = { .message = on_reply, .closed = on_closed };
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(sd_event_source_unrefp) sd_event_source *timer = NULL;
        _cleanup_(rpc_context_freep) RpcContext *rpc = NULL;
        _cleanup_(rpc_channel_freep) RpcChannel *channel = NULL;
        _cleanup_(rpc_call_freep) RpcCall *call = NULL;
        Maelstrom__V1__StatusRequest sreq = MAELSTROM__V1__STATUS_REQUEST__INIT;
        Maelstrom__V1__StopRequest preq = MAELSTROM__V1__STOP_REQUEST__INIT;
        _cleanup_free_ uint8_t *data = NULL;
        Admin a = { .broker = broker, .status = status, .result = EXIT_FAILURE };
        sigset_t mask;
        size_t size;
        int r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(errno, "Failed to block signals: %m"), EXIT_FAILURE;
        r = sd_event_default(&event);
        if (r >= 0)
                r = sd_event_set_signal_exit(event, true);
        if (r >= 0)
                r = sd_event_add_time_relative(event, &timer, CLOCK_MONOTONIC, ADMIN_TIMEOUT_USEC,
                                               /* accuracy= */ 0, on_timeout, &a);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the event loop: %m"), EXIT_FAILURE;
        a.event = event;
        r = rpc_context_new(event, &rpc);
        if (r >= 0)
                r = rpc_channel_new_target(rpc, broker, /* limits= */ NULL, &channel);
        if (r >= 0)
                r = rpc_channel_call(channel, status ? &method_status : &method_stop, &handlers, &a, &call);
        if (r >= 0)
                r = proto_pack(status ? (const void *) &sreq : (const void *) &preq, &data, &size);
        if (r >= 0)
                r = rpc_call_send(call, data, size);
        if (r < 0)
                return log_error_errno(r, "Failed to call the broker %s: %m", broker), EXIT_FAILURE;
        r = sd_event_loop(event);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m"), EXIT_FAILURE;
        call = rpc_call_free(call);
        channel = rpc_channel_free(channel);
        return a.result;
}

static const ConfigValueDef *const admin_value_sets[] = {
        config_values_common,
        config_values_broker_address,
        NULL,
};

static const ConfigProgram admin_program = {
        .name = "maelstrom-admin",
        .dir_name = "admin",
        .env_prefix = "MAELSTROM_ADMIN_",
        .file_format = CONFIG_FILE_TOML,
        .positional = CONFIG_POSITIONAL_INTERLEAVED,
        .usage = "[OPTIONS] status|stop",
        .description = "Administer a Maelstrom cluster through its broker.\n\n"
                       "Commands:\n"
                       "  status   Print the workers and their slots, the clients, the jobs in each state, "
                       "and cache use\n"
                       "  stop     Tell the broker and every worker to exit",
        .value_sets = admin_value_sets,
};

int main(int argc, char **argv) {
        _cleanup_(config_freep) Config *c = NULL;
        int r;

        r = config_main_load(&admin_program, argc, argv, &c);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : EXIT_SUCCESS;

        char *const *args = config_get_positional(c);
        if (strv_length(args) != 1) {
                log_error("Expected exactly one command, status or stop (see --help).");
                return EXIT_USAGE;
        }
        const char *verb = args[0];
        if (!streq(verb, "status") && !streq(verb, "stop")) {
                log_error("Unknown command '%s': expected status or stop (see --help).", verb);
                return EXIT_USAGE;
        }
        if (!config_is_set(c, "broker")) {
                log_error("No broker configured: set it with --broker/-b, MAELSTROM_ADMIN_BROKER, "
                          "MAELSTROM_BROKER or the broker key of the configuration file.");
                return EXIT_USAGE;
        }

        return admin_call(config_get_string(c, "broker"), streq(verb, "status"));
}
