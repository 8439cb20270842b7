/* SPDX-License-Identifier: MIT OR Apache-2.0 */

/* What cargo and the test binaries print (trusted programs, but built from the user's project): the first
 * byte chooses the parser.  0: cargo metadata.  1: the build messages, fed in pieces of the second byte's
 * size (0: all at once), against the metadata of a fixed workspace.  2: a test list.  Every error must come
 * with a message. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "basic/string-util.h"
#include "testrunner/testrunner-cargo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The package of the fixtures (tests/unit/data/cargo), so that the seeds' artifacts are found. */
static const char workspace[] =
        "{\"version\":1,\"workspace_root\":\"/w\",\"target_directory\":\"/w/target\","
        "\"workspace_members\":[\"path+file:///tmp/cargo%20ws/alpha#0.1.0\"],"
        "\"packages\":[{\"id\":\"path+file:///tmp/cargo%20ws/alpha#0.1.0\","
        "\"name\":\"alpha\",\"version\":\"0.1.0\",\"manifest_path\":\"/w/a/Cargo.toml\",\"targets\":[]}]}";

static int on_event(const CargoBuildEvent *e, void *userdata) {
        unsigned *n = userdata;

        if (!cargo_build_event_type_to_string(e->type))
                abort();
        if (e->type == CARGO_BUILD_EVENT_ARTIFACT &&
            (!e->package_name || !e->target_name || !e->executable ||
             !cargo_target_kind_to_string(e->target_kind)))
                abort();
        if (e->type == CARGO_BUILD_EVENT_MESSAGE && !e->rendered)
                abort();
        (*n)++;
        return 0;
}

static void check_error(int r, const char *message) {
        if (r < 0 && r != -ENOMEM && !message)
                abort();
}

static void fuzz_metadata(const char *text, size_t size) {
        _cleanup_(cargo_metadata_freep) CargoMetadata *m = NULL;
        _cleanup_free_ char *message = NULL;
        int r;

        r = cargo_metadata_parse(text, size, &m, &message);
        check_error(r, message);
        if (r >= 0)
                for (size_t i = 0; i < m->n_packages; i++)
                        if (cargo_metadata_find_package(m, m->packages[i].id) != m->packages + i)
                                abort();
}

static void fuzz_build(const char *text, size_t size, size_t chunk) {
        _cleanup_(cargo_metadata_freep) CargoMetadata *m = NULL;
        _cleanup_(cargo_build_parser_freep) CargoBuildParser *p = NULL;
        _cleanup_free_ char *message = NULL;
        unsigned n = 0;
        int r = 0;

        if (cargo_metadata_parse(workspace, strlen(workspace), &m, NULL) < 0 ||
            cargo_build_parser_new(m, on_event, &n, &p) < 0)
                abort();
        if (chunk == 0)
                chunk = size;
        for (size_t i = 0; i < size && r >= 0; i += chunk)
                r = cargo_build_parser_feed(p, text + i, MIN(chunk, size - i), &message);
        if (r >= 0)
                r = cargo_build_parser_finish(p, &message);
        check_error(r, message);
}

static void fuzz_list(const char *text, size_t size) {
        _cleanup_strv_free_ char **cases = NULL;
        _cleanup_free_ char *message = NULL;
        int r;

        r = cargo_test_list_parse(text, size, &cases, &message);
        check_error(r, message);
        STRV_FOREACH(c, cases)
                if (isempty(*c))
                        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 2)
                return 0;
        size_t n = size - 2;
        char *text = malloc(n + 1);
        if (!text)
                return 0;
        memcpy(text, data + 2, n);
        text[n] = 0;
        switch (data[0] % 3) {
        case 0:
                fuzz_metadata(text, n);
                break;
        case 1:
                fuzz_build(text, n, data[1]);
                break;
        default:
                fuzz_list(text, n);
        }
        free(text);
        return 0;
}
