/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/* The broker's status as text, for the HTTP endpoint: an HTML page and Prometheus metrics, both made from
 * the AdminService StatusReply, so that every view of the cluster shows the same numbers. */
#include <inttypes.h>
#include <stdlib.h>

#include "basic/string-util.h"
#include "broker-manager.h"
#include "maelstrom/v1/cluster.pb-c.h"

static void metric_head(TextBuf *b, const char *name, const char *type, const char *help) {
        textbuf_appendf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

int broker_format_metrics(const void *status_reply, char **ret) {
        const Maelstrom__V1__StatusReply *s = status_reply;
        uint64_t slots = 0, used = 0;
        TextBuf b = {};

        for (size_t i = 0; i < s->n_workers; i++) {
                slots += s->workers[i]->slots;
                used += s->workers[i]->used_slots;
        }
        const struct {
                const char *name, *type, *help;
                uint64_t value;
        } metrics[] = {
                { "jobs_completed_total", "counter", "Jobs completed since the start.", s->jobs_completed },
                { "workers", "gauge", "Workers attached.", s->n_workers },
                { "clients", "gauge", "Clients connected.", s->clients },
                { "slots", "gauge", "Job slots of the attached workers.", slots },
                { "slots_used", "gauge", "Job slots running a job.", used },
                { "cache_bytes", "gauge", "Disk usage of the blob cache.", s->cache_bytes },
                { "cache_target_bytes", "gauge", "Target size of the blob cache.", s->cache_size_target },
                { "blobs_received_total", "counter", "Blobs stored from clients.", s->blobs_received },
                { "blob_bytes_received_total", "counter", "Blob bytes from clients.", s->bytes_received },
                { "blobs_sent_total", "counter", "Blobs sent whole to workers.", s->blobs_sent },
                { "blob_bytes_sent_total", "counter", "Blob bytes sent to workers.", s->bytes_sent },
        };

        metric_head(&b, "maelstrom_broker_jobs", "gauge", "Jobs queued or running, by state.");
        textbuf_appendf(&b,
                        "maelstrom_broker_jobs{state=\"awaiting_artifacts\"} %" PRIu64 "\n"
                        "maelstrom_broker_jobs{state=\"pending\"} %" PRIu64 "\n"
                        "maelstrom_broker_jobs{state=\"running\"} %" PRIu64 "\n",
                        s->jobs_awaiting_artifacts, s->jobs_pending, s->jobs_running);
        for (size_t i = 0; i < ELEMENTSOF(metrics); i++) {
                _cleanup_free_ char *name = strjoin("maelstrom_broker_", metrics[i].name);
                if (!name)
                        return -ENOMEM;
                metric_head(&b, name, metrics[i].type, metrics[i].help);
                textbuf_appendf(&b, "%s %" PRIu64 "\n", name, metrics[i].value);
        }
        return textbuf_steal(&b, ret);
}

static void html_escaped(TextBuf *b, const char *s) {
        for (; *s; s++)
                switch (*s) {
                case '&':
                        textbuf_append(b, "&amp;");
                        break;
                case '<':
                        textbuf_append(b, "&lt;");
                        break;
                case '>':
                        textbuf_append(b, "&gt;");
                        break;
                case '"':
                        textbuf_append(b, "&quot;");
                        break;
                case '\'':
                        textbuf_append(b, "&#39;");
                        break;
                default:
                        textbuf_append_char(b, *s);
                }
}

int broker_format_status_page(const void *status_reply, char **ret) {
        const Maelstrom__V1__StatusReply *s = status_reply;
        TextBuf b = {};

        textbuf_append(&b,
                       "<!DOCTYPE html>\n"
                       "<html><head><meta charset=\"utf-8\"><title>Maelstrom broker</title></head>\n"
                       "<body>\n<h1>Maelstrom broker</h1>\n");
        textbuf_appendf(&b, "<p>Port %u. %u clients. <a href=\"/metrics\">Metrics</a>.</p>\n", s->port,
                        s->clients);
        textbuf_appendf(&b,
                        "<h2>Jobs</h2>\n<table>\n"
                        "<tr><th>awaiting artifacts</th><td>%" PRIu64 "</td></tr>\n"
                        "<tr><th>pending</th><td>%" PRIu64 "</td></tr>\n"
                        "<tr><th>running</th><td>%" PRIu64 "</td></tr>\n"
                        "<tr><th>completed</th><td>%" PRIu64 "</td></tr>\n</table>\n",
                        s->jobs_awaiting_artifacts, s->jobs_pending, s->jobs_running, s->jobs_completed);
        textbuf_appendf(&b,
                        "<h2>Workers (%zu)</h2>\n<table>\n"
                        "<tr><th>name</th><th>slots</th><th>used</th></tr>\n",
                        s->n_workers);
        for (size_t i = 0; i < s->n_workers; i++) {
                textbuf_append(&b, "<tr><td>");
                html_escaped(&b, strempty(s->workers[i]->name));
                textbuf_appendf(&b, "</td><td>%u</td><td>%u</td></tr>\n", s->workers[i]->slots,
                                s->workers[i]->used_slots);
        }
        textbuf_appendf(&b,
                        "</table>\n<h2>Cache</h2>\n"
                        "<p>%" PRIu64 " bytes used of a %" PRIu64 " byte target.</p>\n"
                        "<h2>Transfers</h2>\n"
                        "<p>%" PRIu64 " blobs (%" PRIu64 " bytes) received from clients, "
                        "%" PRIu64 " blobs (%" PRIu64 " bytes) sent to workers.</p>\n"
                        "</body></html>\n",
                        s->cache_bytes, s->cache_size_target, s->blobs_received, s->bytes_received,
                        s->blobs_sent, s->bytes_sent);
        return textbuf_steal(&b, ret);
}

int manager_http_handler(const char *path, void *userdata, int *ret_status, const char **ret_type,
                         char **ret_body) {
        Manager *m = userdata;
        Maelstrom__V1__StatusReply reply = MAELSTROM__V1__STATUS_REPLY__INIT;
        char *body = NULL;
        const char *type;
        int r;

        if (streq(path, "/metrics"))
                type = "text/plain; version=0.0.4; charset=utf-8";
        else if (streq(path, "/"))
                type = "text/html; charset=utf-8";
        else {
                *ret_status = 404;
                *ret_type = NULL;
                *ret_body = NULL;
                return 0;
        }
        r = manager_fill_status(m, &reply);
        if (r < 0)
                return r;
        if (streq(path, "/"))
                r = broker_format_status_page(&reply, &body);
        else
                r = broker_format_metrics(&reply, &body);
        free(reply.workers);
        if (r < 0)
                return r;
        *ret_status = 200;
        *ret_type = type;
        *ret_body = body;
        return 0;
}
