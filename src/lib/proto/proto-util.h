/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* Helpers around the protobuf-c generated code (maelstrom/v1/<name>.pb-c.h): packing into a malloc()ed
 * buffer, unpacking with our error convention, and a cleanup function for unpacked messages. */

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "basic/macro.h"
#include "maelstrom/v1/job.pb-c.h"

/* Unpack size bytes as a message of the given type.  Returns -EBADMSG if the bytes are not a valid encoding
 * (protobuf-c returns NULL for malformed input and for allocation failures alike).  Free the result with
 * protobuf_c_message_free_unpacked(m, NULL) or _cleanup_(proto_freep). */
int proto_unpack(const ProtobufCMessageDescriptor *descriptor, const void *data, size_t size, void **ret);

/* Counts the fields at the top level of an encoded message (each element of a repeated field counts once),
 * without unpacking it.  -EBADMSG if the bytes are not a valid encoding at that level. */
int proto_count_fields(const void *data, size_t size, size_t *ret);

/* proto_unpack() of a batch (a message whose items are its top-level fields, see job.proto): -E2BIG, before
 * anything is allocated, if it has more than max_items of them. */
int proto_unpack_batch(
                const ProtobufCMessageDescriptor *descriptor,
                const void *data,
                size_t size,
                size_t max_items,
                void **ret);

/* The items of an unpacked ClientMessage or ServerMessage: its `kind` if set, and each element of its batch
 * fields. */
size_t proto_client_message_items(const Maelstrom__V1__ClientMessage *m);
size_t proto_server_message_items(const Maelstrom__V1__ServerMessage *m);

/* What to do with each item of a ClientMessage (see proto_client_message_walk()); a NULL handler skips its
 * items.  submit may take *submit (leaving NULL behind), which the message then does not free. */
typedef struct ProtoClientMessageHandlers {
        int (*submit)(Maelstrom__V1__Submit **submit, void *userdata);
        int (*cancel)(uint64_t job_id, void *userdata);
        int (*local_blob)(const Maelstrom__V1__LocalBlob *blob, void *userdata);
        /* msg's tty_input or tty_resize: */
        int (*tty)(const Maelstrom__V1__ClientMessage *msg, void *userdata);
} ProtoClientMessageHandlers;

/* Hand each item of an unpacked ClientMessage to its handler, in the order job.proto gives: its kind, then
 * the batch's local blobs, submits and cancels.  Stops at the first handler that fails, and returns that
 * error. */
int proto_client_message_walk(
                Maelstrom__V1__ClientMessage *m,
                const ProtoClientMessageHandlers *handlers,
                void *userdata);

/* Pack a message into a new malloc()ed buffer (never NULL, even for an empty encoding). */
int proto_pack(const void *message, uint8_t **ret, size_t *ret_size);

/* For _cleanup_(proto_freep) on any unpacked message pointer (Maelstrom__V1__Foo *). */
static inline void proto_freep(void *p) {
        ProtobufCMessage **m = p;
        if (*m)
                protobuf_c_message_free_unpacked(*m, /* allocator= */ NULL);
}
