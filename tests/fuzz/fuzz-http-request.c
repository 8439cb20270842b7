/* SPDX-License-Identifier: MIT OR Apache-2.0 */

/* Request heads as any peer can send them to the broker's HTTP port.  A parsed head gives a method of
 * capital letters and an origin-form path without query, both NUL-terminated within their limits. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "broker-http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char method[HTTP_MAX_METHOD], path[HTTP_MAX_PATH];
        int r;

        if (size > HTTP_MAX_REQUEST_SIZE)
                return 0;
        r = http_request_parse((const char *) data, size, method, path);
        if (!IN_SET(r, 1, 0, -EBADMSG, -E2BIG))
                abort();
        if (r != 1)
                return 0;
        if (strlen(method) == 0 || strlen(method) >= HTTP_MAX_METHOD || path[0] != '/' ||
            strlen(path) >= HTTP_MAX_PATH || strchr(path, '?'))
                abort();
        for (const char *p = method; *p; p++)
                if (*p < 'A' || *p > 'Z')
                        abort();
        return 0;
}
