/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/* The broker's HTTP endpoint: the request parser, the server on a real socket in this process, and the
 * status page and metrics made from a StatusReply. */
#undef NDEBUG
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include "basic/fd-util.h"
#include "basic/string-util.h"
#include "basic/tests.h"
#include "broker-http.h"
#include "broker-manager.h"
#include "maelstrom/v1/cluster.pb-c.h"

static bool endswith(const char *s, const char *suffix) {
        size_t n = strlen(s), k = strlen(suffix);
        return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

static int parse(const char *s, char method[static HTTP_MAX_METHOD], char path[static HTTP_MAX_PATH]) {
        return http_request_parse(s, strlen(s), method, path);
}

TEST(request_parse) {
        char method[HTTP_MAX_METHOD], path[HTTP_MAX_PATH];
        char *big = NULL;

        ASSERT_EQ(parse("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", method, path), 1);
        ASSERT_STREQ(method, "GET");
        ASSERT_STREQ(path, "/metrics");
        ASSERT_EQ(parse("HEAD /?refresh=1 HTTP/1.0\n\n", method, path), 1);
        ASSERT_STREQ(method, "HEAD");
        ASSERT_STREQ(path, "/");
        /* Incomplete heads. */
        ASSERT_EQ(parse("", method, path), 0);
        ASSERT_EQ(parse("GET / HTTP/1.1\r\nHost: x\r\n", method, path), 0);
        ASSERT_EQ(parse("GET / HTTP/1.1\r\n\r", method, path), 0);
        /* Malformed. */
        ASSERT_ERROR(parse("garbage\r\n\r\n", method, path), EBADMSG);
        ASSERT_ERROR(parse("GET /\r\n\r\n", method, path), EBADMSG);
        ASSERT_ERROR(parse("GET / HTTP/2.0\r\n\r\n", method, path), EBADMSG);
        ASSERT_ERROR(parse("GET / HTTP/1.1 x\r\n\r\n", method, path), EBADMSG);
        ASSERT_ERROR(parse("get / HTTP/1.1\r\n\r\n", method, path), EBADMSG);
        ASSERT_ERROR(parse("GET http://x/ HTTP/1.1\r\n\r\n", method, path), EBADMSG);
        ASSERT_ERROR(parse("GET  / HTTP/1.1\r\n\r\n", method, path), EBADMSG);
        ASSERT_ERROR(parse("GET /\x7f HTTP/1.1\r\n\r\n", method, path), EBADMSG);
        ASSERT_ERROR(http_request_parse("GET /\0 HTTP/1.1\r\n\r\n", 20, method, path), EBADMSG);
        /* Too long. */
        ASSERT_ERROR(parse("ABCDEFGHIJKLMNOPQRSTUVWXYZ / HTTP/1.1\r\n\r\n", method, path), E2BIG);
        ASSERT_TRUE(asprintf(&big, "GET /%0*d HTTP/1.1\r\n\r\n", (int) HTTP_MAX_PATH, 0) > 0);
        ASSERT_ERROR(parse(big, method, path), E2BIG);
        free(big);
}

static int handler(const char *path, void *userdata, int *ret_status, const char **ret_type,
                   char **ret_body) {
        unsigned *calls = userdata;

        (*calls)++;
        if (!streq(path, "/page")) {
                *ret_status = 404;
                *ret_type = NULL;
                *ret_body = NULL;
                return 0;
        }
        *ret_status = 200;
        *ret_type = "text/plain";
        *ret_body = strdup("the page\n");
        return *ret_body ? 0 : -ENOMEM;
}

static int connect_to(uint16_t port) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

        ASSERT_TRUE(fd >= 0);
        ASSERT_TRUE(connect(fd, (struct sockaddr *) &a, sizeof a) >= 0 || errno == EINPROGRESS);
        return fd;
}

/* Sends request on a new connection and runs the loop until the server closes it; returns what came back. */
static char *exchange(sd_event *e, uint16_t port, const char *request, size_t size) {
        _cleanup_close_ int fd = connect_to(port);
        TextBuf got = {};
        size_t sent = 0;
        char *ret = NULL;

        for (unsigned i = 0; i < 2000; i++) {
                char buf[4096];
                ssize_t n;

                if (sent < size) {
                        n = send(fd, request + sent, size - sent, MSG_NOSIGNAL);
                        if (n > 0)
                                sent += (size_t) n;
                }
                ASSERT_OK(sd_event_run(e, 10 * 1000));
                n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
                if (n > 0)
                        textbuf_append_len(&got, buf, (size_t) n);
                else if (n == 0 || (n < 0 && errno == ECONNRESET)) {
                        ASSERT_OK(textbuf_steal(&got, &ret));
                        return ret ?: strdup("");
                }
        }
        ASSERT_TRUE(!"the server did not close the connection");
        return NULL;
}

TEST(server) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(http_server_freep) HttpServer *s = NULL;
        unsigned calls = 0;
        char *r;
        int fd;

        ASSERT_OK(sd_event_new(&e));
        ASSERT_OK(http_listen("127.0.0.1", 0, &fd));
        ASSERT_OK(http_server_new_take(e, fd, handler, &calls, &s));
        uint16_t port = http_server_get_port(s);
        ASSERT_TRUE(port > 0);

        const char *get = "GET /page HTTP/1.1\r\nHost: localhost\r\n\r\n";
        r = exchange(e, port, get, strlen(get));
        ASSERT_TRUE(startswith(r, "HTTP/1.1 200 OK\r\n"));
        ASSERT_TRUE(strstr(r, "\r\nContent-Type: text/plain\r\n"));
        ASSERT_TRUE(strstr(r, "\r\nContent-Length: 9\r\n"));
        ASSERT_TRUE(strstr(r, "\r\nConnection: close\r\n"));
        ASSERT_TRUE(endswith(r, "\r\n\r\nthe page\n"));
        free(r);

        const char *head = "HEAD /page HTTP/1.0\n\n";
        r = exchange(e, port, head, strlen(head));
        ASSERT_TRUE(startswith(r, "HTTP/1.1 200 OK\r\n"));
        ASSERT_TRUE(strstr(r, "\r\nContent-Length: 9\r\n"));
        ASSERT_TRUE(endswith(r, "\r\n\r\n"));
        free(r);

        const char *other = "GET /other HTTP/1.1\r\n\r\n";
        r = exchange(e, port, other, strlen(other));
        ASSERT_TRUE(startswith(r, "HTTP/1.1 404 Not Found\r\n"));
        free(r);
        ASSERT_EQ(calls, 3u);

        /* Refused before the handler. */
        const char *post = "POST /page HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
        r = exchange(e, port, post, strlen(post));
        ASSERT_TRUE(startswith(r, "HTTP/1.1 405 Method Not Allowed\r\n"));
        ASSERT_TRUE(strstr(r, "\r\nAllow: GET, HEAD\r\n"));
        free(r);
        r = exchange(e, port, "\x16\x03\x01 garbage\r\n\r\n", 15);
        ASSERT_TRUE(startswith(r, "HTTP/1.1 400 Bad Request\r\n"));
        free(r);
        /* A head that never ends within the limit. */
        _cleanup_free_ char *huge = malloc(HTTP_MAX_REQUEST_SIZE + 100);
        ASSERT_TRUE(huge);
        memcpy(huge, "GET / HTTP/1.1\r\n", 16);
        memset(huge + 16, 'x', HTTP_MAX_REQUEST_SIZE + 100 - 16);
        r = exchange(e, port, huge, HTTP_MAX_REQUEST_SIZE + 100);
        ASSERT_TRUE(startswith(r, "HTTP/1.1 431 "));
        free(r);
        ASSERT_EQ(calls, 3u);

        /* Idle connections up to the cap; one more is closed at once, and the server still answers once they
         * are gone. */
        int idle[HTTP_MAX_CONNECTIONS];
        for (unsigned i = 0; i < HTTP_MAX_CONNECTIONS; i++)
                idle[i] = connect_to(port);
        for (unsigned i = 0; i < 50; i++)
                ASSERT_OK(sd_event_run(e, 10 * 1000));
        r = exchange(e, port, get, strlen(get));
        ASSERT_STREQ(r, "");
        free(r);
        for (unsigned i = 0; i < HTTP_MAX_CONNECTIONS; i++)
                safe_close(idle[i]);
        for (unsigned i = 0; i < 50; i++)
                ASSERT_OK(sd_event_run(e, 10 * 1000));
        r = exchange(e, port, get, strlen(get));
        ASSERT_TRUE(startswith(r, "HTTP/1.1 200 OK\r\n"));
        free(r);
}

TEST(pages) {
        Maelstrom__V1__StatusReply s = MAELSTROM__V1__STATUS_REPLY__INIT;
        Maelstrom__V1__WorkerStatus w[2] = { MAELSTROM__V1__WORKER_STATUS__INIT,
                                             MAELSTROM__V1__WORKER_STATUS__INIT };
        Maelstrom__V1__WorkerStatus *ws[2] = { &w[0], &w[1] };
        _cleanup_free_ char *metrics = NULL, *page = NULL;

        w[0].name = (char *) "host:1";
        w[0].slots = 4;
        w[0].used_slots = 3;
        w[1].name = (char *) "<script>&\"'";
        w[1].slots = 2;
        w[1].used_slots = 1;
        s.workers = ws;
        s.n_workers = 2;
        s.clients = 5;
        s.jobs_awaiting_artifacts = 6;
        s.jobs_pending = 7;
        s.jobs_running = 4;
        s.jobs_completed = 123456789012;
        s.cache_bytes = 1000;
        s.cache_size_target = 2000;
        s.blobs_received = 8;
        s.bytes_received = 9000;
        s.blobs_sent = 10;
        s.bytes_sent = 11000;

        ASSERT_OK(broker_format_metrics(&s, &metrics));
        static const char *const lines[] = {
                "# TYPE maelstrom_broker_jobs gauge\n",
                "\nmaelstrom_broker_jobs{state=\"awaiting_artifacts\"} 6\n",
                "\nmaelstrom_broker_jobs{state=\"pending\"} 7\n",
                "\nmaelstrom_broker_jobs{state=\"running\"} 4\n",
                "# TYPE maelstrom_broker_jobs_completed_total counter\n",
                "\nmaelstrom_broker_jobs_completed_total 123456789012\n",
                "\nmaelstrom_broker_workers 2\n",
                "\nmaelstrom_broker_clients 5\n",
                "\nmaelstrom_broker_slots 6\n",
                "\nmaelstrom_broker_slots_used 4\n",
                "\nmaelstrom_broker_cache_bytes 1000\n",
                "\nmaelstrom_broker_cache_target_bytes 2000\n",
                "\nmaelstrom_broker_blobs_received_total 8\n",
                "\nmaelstrom_broker_blob_bytes_received_total 9000\n",
                "\nmaelstrom_broker_blobs_sent_total 10\n",
                "\nmaelstrom_broker_blob_bytes_sent_total 11000\n",
        };
        for (size_t i = 0; i < ELEMENTSOF(lines); i++)
                ASSERT_TRUE(strstr(metrics, lines[i]));
        /* Every sample has its HELP and TYPE before it. */
        ASSERT_TRUE(startswith(metrics, "# HELP maelstrom_broker_jobs "));
        ASSERT_TRUE(endswith(metrics, "\n"));

        ASSERT_OK(broker_format_status_page(&s, &page));
        ASSERT_TRUE(startswith(page, "<!DOCTYPE html>"));
        ASSERT_TRUE(strstr(page, "<td>host:1</td><td>4</td><td>3</td>"));
        /* A peer chose that name: it is escaped. */
        ASSERT_TRUE(strstr(page, "<td>&lt;script&gt;&amp;&quot;&#39;</td>"));
        ASSERT_FALSE(strstr(page, "<script>"));
}

int main(void) {
        RUN(request_parse);
        RUN(server);
        RUN(pages);
        return 0;
}
