/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "basic/fd-util.h"
#include "basic/log.h"
#include "basic/string-util.h"
#include "broker-http.h"

typedef struct HttpConnection HttpConnection;

struct HttpServer {
        sd_event *event;
        int fd;
        sd_event_source *io;
        http_handler_t handler;
        void *userdata;
        uint16_t port;
        HttpConnection *connections; /* list */
        unsigned n_connections;
        usec_t refused_logged;       /* when "too many connections" was last logged */
};

struct HttpConnection {
        HttpServer *server;
        int fd;
        sd_event_source *io, *timer;
        char request[HTTP_MAX_REQUEST_SIZE];
        size_t n_request;
        char *response;              /* once the request is answered */
        size_t n_response, n_sent;
        HttpConnection *prev, *next;
};

static HttpConnection *connection_free(HttpConnection *c) {
        if (!c)
                return NULL;
        HttpServer *s = c->server;

        c->io = sd_event_source_disable_unref(c->io);
        c->timer = sd_event_source_disable_unref(c->timer);
        safe_close(c->fd);
        free(c->response);
        if (c->prev)
                c->prev->next = c->next;
        else
                s->connections = c->next;
        if (c->next)
                c->next->prev = c->prev;
        s->n_connections--;
        free(c);
        return NULL;
}

HttpServer *http_server_free(HttpServer *s) {
        if (!s)
                return NULL;
        while (s->connections)
                connection_free(s->connections);
        s->io = sd_event_source_disable_unref(s->io);
        safe_close(s->fd);
        sd_event_unref(s->event);
        free(s);
        return NULL;
}

uint16_t http_server_get_port(const HttpServer *s) {
        return s->port;
}

int http_request_parse(const char *data, size_t size, char ret_method[static HTTP_MAX_METHOD],
                       char ret_path[static HTTP_MAX_PATH]) {
        const char *end = NULL, *line_end, *sp1, *sp2, *path_end;

        /* The head ends with an empty line; bare LFs are accepted as line ends (RFC 9112, 2.2). */
        for (size_t i = 0; i + 1 < size && !end; i++)
                if (data[i] == '\n' && (data[i + 1] == '\n' || (data[i + 1] == '\r' && i + 2 < size &&
                                                                data[i + 2] == '\n')))
                        end = data + i;
        if (memchr(data, '\0', size))
                return -EBADMSG;
        if (!end)
                return 0;

        /* The request line: METHOD SP TARGET SP HTTP/1.x */
        line_end = memchr(data, '\n', (size_t) (end - data) + 1);
        if (line_end > data && line_end[-1] == '\r')
                line_end--;
        sp1 = memchr(data, ' ', (size_t) (line_end - data));
        if (!sp1 || sp1 == data)
                return -EBADMSG;
        sp2 = memchr(sp1 + 1, ' ', (size_t) (line_end - sp1 - 1));
        if (!sp2 || sp2 == sp1 + 1)
                return -EBADMSG;
        if ((size_t) (line_end - sp2 - 1) != strlen("HTTP/1.x") || strncmp(sp2 + 1, "HTTP/1.", 7) != 0 ||
            sp2[8] < '0' || sp2[8] > '9')
                return -EBADMSG;
        for (const char *p = data; p < sp1; p++)
                if (*p < 'A' || *p > 'Z')
                        return -EBADMSG;
        if (sp1[1] != '/')
                return -EBADMSG; /* only the origin form: no absolute URIs, no "*" */
        path_end = sp1 + 1;
        while (path_end < sp2 && *path_end != '?')
                path_end++;
        for (const char *p = sp1 + 1; p < sp2; p++)
                if ((unsigned char) *p <= ' ' || (unsigned char) *p >= 0x7f)
                        return -EBADMSG;
        if ((size_t) (sp1 - data) >= HTTP_MAX_METHOD || (size_t) (path_end - sp1 - 1) >= HTTP_MAX_PATH)
                return -E2BIG;

        memcpy(ret_method, data, (size_t) (sp1 - data));
        ret_method[sp1 - data] = 0;
        memcpy(ret_path, sp1 + 1, (size_t) (path_end - sp1 - 1));
        ret_path[path_end - sp1 - 1] = 0;
        return 1;
}

static const char *status_text(int status) {
        switch (status) {
        case 200:
                return "OK";
        case 400:
                return "Bad Request";
        case 404:
                return "Not Found";
        case 405:
                return "Method Not Allowed";
        case 414:
                return "URI Too Long";
        case 431:
                return "Request Header Fields Too Large";
        case 503:
                return "Service Unavailable";
        default:
                return "Internal Server Error";
        }
}

static int connection_write(HttpConnection *c) {
        while (c->n_sent < c->n_response) {
                ssize_t n = send(c->fd, c->response + c->n_sent, c->n_response - c->n_sent, MSG_NOSIGNAL);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return 0;
                        return -errno;
                }
                c->n_sent += (size_t) n;
        }
        return 1;
}

/* Queues the response and starts sending it; body may be NULL.  Takes body. */
static int connection_respond(HttpConnection *c, int status, const char *type, char *body, bool head_only) {
        _cleanup_free_ char *b = body;
        const char *text = b ?: status_text(status);
        size_t body_len = strlen(text);
        int r;

        if (!b) {
                type = "text/plain; charset=utf-8";
                body_len++; /* a newline */
        }
        TextBuf out = {};
        textbuf_appendf(&out,
                        "HTTP/1.1 %d %s\r\n"
                        "Content-Type: %s\r\n"
                        "Content-Length: %zu\r\n"
                        "Cache-Control: no-store\r\n"
                        "Connection: close\r\n"
                        "%s"
                        "\r\n",
                        status, status_text(status), type, body_len,
                        status == 405 ? "Allow: GET, HEAD\r\n" : "");
        if (!head_only) {
                textbuf_append_len(&out, text, strlen(text));
                if (!b)
                        textbuf_append_char(&out, '\n');
        }
        c->n_response = out.len;
        r = textbuf_steal(&out, &c->response);
        if (r < 0)
                return r;
        r = connection_write(c);
        if (r != 0)
                return r;
        return sd_event_source_set_io_events(c->io, EPOLLOUT);
}

static int connection_answer(HttpConnection *c, int parsed, const char *method, const char *path) {
        HttpServer *s = c->server;
        _cleanup_free_ char *body = NULL;
        const char *type = NULL;
        int status, r;

        if (parsed == -E2BIG)
                return connection_respond(c, 414, NULL, NULL, false);
        if (parsed < 0)
                return connection_respond(c, 400, NULL, NULL, false);
        if (!streq(method, "GET") && !streq(method, "HEAD"))
                return connection_respond(c, 405, NULL, NULL, false);
        r = s->handler(path, s->userdata, &status, &type, &body);
        if (r < 0) {
                log_warning_errno(r, "Failed to make the page '%s', ignoring: %m", path);
                return connection_respond(c, 503, NULL, NULL, streq(method, "HEAD"));
        }
        return connection_respond(c, status, type, TAKE_PTR(body), streq(method, "HEAD"));
}

static int on_connection_io(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        HttpConnection *c = userdata;
        char method[HTTP_MAX_METHOD], path[HTTP_MAX_PATH];
        int r;

        if (c->response) {
                r = connection_write(c);
                if (r != 0) {
                        if (r > 0)
                                (void) shutdown(c->fd, SHUT_WR);
                        connection_free(c);
                }
                return 0;
        }

        ssize_t n = recv(c->fd, c->request + c->n_request, sizeof c->request - c->n_request, 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (n <= 0) {
                /* Gone, or half-closed before a whole request. */
                connection_free(c);
                return 0;
        }
        c->n_request += (size_t) n;
        r = http_request_parse(c->request, c->n_request, method, path);
        if (r == 0 && c->n_request < sizeof c->request)
                return 0;
        if (r == 0) {
                r = connection_respond(c, 431, NULL, NULL, false);
        } else
                r = connection_answer(c, r, method, path);
        if (r != 0) {
                if (r > 0)
                        (void) shutdown(c->fd, SHUT_WR);
                connection_free(c);
        }
        return 0;
}

static int on_connection_timeout(sd_event_source *source, uint64_t usec, void *userdata) {
        connection_free(userdata);
        return 0;
}

static int on_accept(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        HttpServer *s = userdata;
        _cleanup_close_ int cfd = -EBADF;
        HttpConnection *c;
        int r;

        cfd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
                if (!IN_SET(errno, EAGAIN, EINTR, ECONNABORTED))
                        log_debug_errno(errno, "Failed to accept an HTTP connection: %m");
                return 0;
        }
        if (s->n_connections >= HTTP_MAX_CONNECTIONS) {
                usec_t t = now(CLOCK_MONOTONIC);
                if (s->refused_logged == 0 || t >= s->refused_logged + 60 * USEC_PER_SEC) {
                        log_warning("Too many HTTP connections (%u), closing new ones.",
                                    HTTP_MAX_CONNECTIONS);
                        s->refused_logged = t;
                }
                return 0;
        }
        c = calloc(1, sizeof(HttpConnection));
        if (!c)
                return 0;
        c->server = s;
        c->fd = TAKE_FD(cfd);
        c->next = s->connections;
        if (s->connections)
                s->connections->prev = c;
        s->connections = c;
        s->n_connections++;
        r = sd_event_add_io(s->event, &c->io, c->fd, EPOLLIN, on_connection_io, c);
        if (r >= 0)
                r = sd_event_add_time_relative(s->event, &c->timer, CLOCK_MONOTONIC, HTTP_TIMEOUT_USEC,
                                               /* accuracy= */ 0, on_connection_timeout, c);
        if (r < 0) {
                log_debug_errno(r, "Failed to watch an HTTP connection: %m");
                connection_free(c);
        }
        return 0;
}

int http_server_new_take(sd_event *event, int fd, http_handler_t handler, void *userdata, HttpServer **ret) {
        _cleanup_close_ int lfd = fd;
        _cleanup_(http_server_freep) HttpServer *s = NULL;
        union {
                struct sockaddr sa;
                struct sockaddr_in in;
                struct sockaddr_in6 in6;
                struct sockaddr_storage storage;
        } addr = {};
        socklen_t len = sizeof addr;
        int r;

        r = fd_nonblock(lfd, true);
        if (r < 0)
                return r;
        if (getsockname(lfd, &addr.sa, &len) < 0)
                return -errno;
        s = calloc(1, sizeof(HttpServer));
        if (!s)
                return -ENOMEM;
        s->event = sd_event_ref(event);
        s->fd = TAKE_FD(lfd);
        s->handler = handler;
        s->userdata = userdata;
        if (addr.sa.sa_family == AF_INET)
                s->port = ntohs(addr.in.sin_port);
        else if (addr.sa.sa_family == AF_INET6)
                s->port = ntohs(addr.in6.sin6_port);
        r = sd_event_add_io(event, &s->io, s->fd, EPOLLIN, on_accept, s);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

int http_listen(const char *host, uint16_t port, int *ret_fd) {
        _cleanup_free_ char *name = NULL;
        struct addrinfo hints = {
                .ai_flags = AI_PASSIVE | AI_NUMERICSERV,
                .ai_family = AF_UNSPEC,
                .ai_socktype = SOCK_STREAM,
        };
        struct addrinfo *list = NULL;
        char service[8];
        int r = -EADDRNOTAVAIL;

        /* "[::1]" → "::1" */
        size_t n = strlen(host);
        name = n >= 2 && host[0] == '[' && host[n - 1] == ']' ? strndup(host + 1, n - 2) : strdup(host);
        if (!name)
                return -ENOMEM;
        snprintf(service, sizeof service, "%u", port);
        int k = getaddrinfo(name, service, &hints, &list);
        if (k != 0)
                return k == EAI_MEMORY ? -ENOMEM : k == EAI_SYSTEM ? -errno : -EADDRNOTAVAIL;
        for (struct addrinfo *ai = list; ai; ai = ai->ai_next) {
                _cleanup_close_ int fd = -EBADF;
                int one = 1, zero = 0;

                fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, /* protocol= */ 0);
                if (fd < 0) {
                        r = -errno;
                        continue;
                }
                (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
                if (ai->ai_family == AF_INET6)
                        (void) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
                if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, SOMAXCONN) < 0) {
                        r = -errno;
                        continue;
                }
                *ret_fd = TAKE_FD(fd);
                r = 0;
                break;
        }
        freeaddrinfo(list);
        return r;
}
