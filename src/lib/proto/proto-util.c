/* SPDX-License-Identifier: MIT OR Apache-2.0 */

#include <assert.h>

#include "proto/proto-util.h"

int proto_unpack(const ProtobufCMessageDescriptor *descriptor, const void *data, size_t size, void **ret) {
        ProtobufCMessage *m;

        assert(descriptor);
        assert(data || size == 0);
        assert(ret);

        m = protobuf_c_message_unpack(descriptor, /* allocator= */ NULL, size, data ?: (const uint8_t *) "");
        if (!m)
                return -EBADMSG;

        *ret = m;
        return 0;
}

/* A varint at *p (before end): its value, and *p moved past it.  -EBADMSG if truncated or over 10 bytes. */
static int read_varint(const uint8_t **p, const uint8_t *end, uint64_t *ret) {
        uint64_t v = 0;

        for (unsigned shift = 0; shift < 70; shift += 7) {
                if (*p >= end)
                        return -EBADMSG;
                uint8_t b = *(*p)++;
                v |= (uint64_t) (b & 0x7f) << shift;
                if (!(b & 0x80)) {
                        *ret = v;
                        return 0;
                }
        }
        return -EBADMSG;
}

int proto_count_fields(const void *data, size_t size, size_t *ret) {
        const uint8_t *p = data, *end = p + size;
        size_t n = 0;
        int r;

        assert(data || size == 0);
        assert(ret);

        while (p < end) {
                uint64_t tag, len;

                r = read_varint(&p, end, &tag);
                if (r < 0)
                        return r;
                if (tag >> 3 == 0)
                        return -EBADMSG; /* field number 0 does not exist */
                switch (tag & 7) {
                case 0: /* varint */
                        r = read_varint(&p, end, &len);
                        if (r < 0)
                                return r;
                        break;
                case 1: /* 64-bit */
                case 5: /* 32-bit */
                        len = (tag & 7) == 1 ? 8 : 4;
                        if ((size_t) (end - p) < len)
                                return -EBADMSG;
                        p += len;
                        break;
                case 2: /* length-delimited */
                        r = read_varint(&p, end, &len);
                        if (r < 0)
                                return r;
                        if ((uint64_t) (end - p) < len)
                                return -EBADMSG;
                        p += len;
                        break;
                default: /* groups (never in proto3) and invalid types */
                        return -EBADMSG;
                }
                n++;
        }

        *ret = n;
        return 0;
}

int proto_unpack_batch(
                const ProtobufCMessageDescriptor *descriptor,
                const void *data,
                size_t size,
                size_t max_items,
                void **ret) {

        size_t n;
        int r;

        r = proto_count_fields(data, size, &n);
        if (r < 0)
                return r;
        if (n > max_items)
                return -E2BIG;
        return proto_unpack(descriptor, data, size, ret);
}

size_t proto_client_message_items(const Maelstrom__V1__ClientMessage *m) {
        return (m->kind_case != MAELSTROM__V1__CLIENT_MESSAGE__KIND__NOT_SET) + m->n_local_blobs +
               m->n_submits + m->n_cancels;
}

static int walk_submit(Maelstrom__V1__Submit **submit, const ProtoClientMessageHandlers *h, void *userdata) {
        return h->submit ? h->submit(submit, userdata) : 0;
}

static int walk_cancel(const Maelstrom__V1__Cancel *cancel, const ProtoClientMessageHandlers *h,
                       void *userdata) {
        return h->cancel && cancel ? h->cancel(cancel->job_id, userdata) : 0;
}

static int walk_local_blob(const Maelstrom__V1__LocalBlob *blob, const ProtoClientMessageHandlers *h,
                           void *userdata) {
        return h->local_blob ? h->local_blob(blob, userdata) : 0;
}

int proto_client_message_walk(
                Maelstrom__V1__ClientMessage *m,
                const ProtoClientMessageHandlers *h,
                void *userdata) {
        int r = 0;

        assert(m);
        assert(h);

        switch (m->kind_case) {
        case MAELSTROM__V1__CLIENT_MESSAGE__KIND_SUBMIT:
                r = walk_submit(&m->submit, h, userdata);
                if (!m->submit)
                        m->kind_case = MAELSTROM__V1__CLIENT_MESSAGE__KIND__NOT_SET; /* taken */
                break;
        case MAELSTROM__V1__CLIENT_MESSAGE__KIND_CANCEL:
                r = walk_cancel(m->cancel, h, userdata);
                break;
        case MAELSTROM__V1__CLIENT_MESSAGE__KIND_LOCAL_BLOB:
                r = walk_local_blob(m->local_blob, h, userdata);
                break;
        case MAELSTROM__V1__CLIENT_MESSAGE__KIND_TTY_INPUT:
        case MAELSTROM__V1__CLIENT_MESSAGE__KIND_TTY_RESIZE:
                r = h->tty ? h->tty(m, userdata) : 0;
                break;
        case MAELSTROM__V1__CLIENT_MESSAGE__KIND__NOT_SET:
        case _MAELSTROM__V1__CLIENT_MESSAGE__KIND__CASE_IS_INT_SIZE:
                break;
        }
        for (size_t i = 0; r >= 0 && i < m->n_local_blobs; i++)
                r = walk_local_blob(m->local_blobs[i], h, userdata);
        for (size_t i = 0; r >= 0 && i < m->n_submits; i++)
                r = walk_submit(&m->submits[i], h, userdata);
        for (size_t i = 0; r >= 0 && i < m->n_cancels; i++)
                r = walk_cancel(m->cancels[i], h, userdata);
        return r;
}

size_t proto_server_message_items(const Maelstrom__V1__ServerMessage *m) {
        return (m->kind_case != MAELSTROM__V1__SERVER_MESSAGE__KIND__NOT_SET) + m->n_states + m->n_results;
}

int proto_pack(const void *message, uint8_t **ret, size_t *ret_size) {
        const ProtobufCMessage *m = message;
        _cleanup_free_ uint8_t *buf = NULL;
        size_t size, n;

        assert(m);
        assert(ret);
        assert(ret_size);

        size = protobuf_c_message_get_packed_size(m);
        buf = malloc(MAX(size, (size_t) 1));
        if (!buf)
                return -ENOMEM;

        n = protobuf_c_message_pack(m, buf);
        assert(n == size);

        *ret = TAKE_PTR(buf);
        *ret_size = size;
        return 0;
}
