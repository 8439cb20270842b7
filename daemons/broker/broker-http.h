/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* The broker's read-only HTTP endpoint (http-port): a status page at "/" and metrics in the Prometheus text
 * format at "/metrics".  A minimal HTTP/1.1 server on the event loop: GET and HEAD only, one request per
 * connection whose head is at most HTTP_MAX_REQUEST_SIZE bytes and arrives within HTTP_TIMEOUT_USEC, one
 * response, then the connection is closed.  At most HTTP_MAX_CONNECTIONS are open at once; more are
 * closed at once. */

#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "basic/macro.h"
#include "basic/time-util.h"

#define HTTP_MAX_REQUEST_SIZE 8192U
#define HTTP_MAX_CONNECTIONS 64U
#define HTTP_TIMEOUT_USEC (10 * USEC_PER_SEC)
#define HTTP_MAX_METHOD 16U
#define HTTP_MAX_PATH 1024U

/* The name of the socket-activated listening socket for HTTP (FileDescriptorName=). */
#define BROKER_FD_NAME_HTTP "http"

typedef struct HttpServer HttpServer;

/* Fills the body of a response to GET path: 200 with its content type and body, or 404 (then the body and
 * type are the server's own).  The body is malloc()ed. */
typedef int (*http_handler_t)(const char *path, void *userdata, int *ret_status, const char **ret_type,
                              char **ret_body);

/* Serves the listening stream socket fd (taken in every case) on event. */
int http_server_new_take(sd_event *event, int fd, http_handler_t handler, void *userdata, HttpServer **ret);
HttpServer *http_server_free(HttpServer *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(HttpServer *, http_server_free);
/* The port it listens on. */
uint16_t http_server_get_port(const HttpServer *s);

/* A listening TCP socket on host ("[::]", "127.0.0.1", "localhost", ...) and port (0 = any free port).
 * "[::]" accepts both address families.  Resolving a name blocks: meant for start-up. */
int http_listen(const char *host, uint16_t port, int *ret_fd);

/* Parses the head of an HTTP/1.x request: returns 1 with the method and the path (query string removed)
 * once the head is complete (an empty line ends it), 0 while more bytes are needed, -EBADMSG if it is
 * malformed, -E2BIG if the method or path is too long. */
int http_request_parse(const char *data, size_t size, char ret_method[static HTTP_MAX_METHOD],
                       char ret_path[static HTTP_MAX_PATH]);
