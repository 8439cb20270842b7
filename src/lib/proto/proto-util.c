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
