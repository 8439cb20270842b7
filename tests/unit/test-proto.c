/* SPDX-License-Identifier: MIT OR Apache-2.0 */

#include "basic/tests.h"
#include "maelstrom/v1/job.pb-c.h"
#include "proto/proto-util.h"

TEST(round_trip) {
        Maelstrom__V1__ClientMessage msg = MAELSTROM__V1__CLIENT_MESSAGE__INIT;
        Maelstrom__V1__Submit submit = MAELSTROM__V1__SUBMIT__INIT;
        Maelstrom__V1__JobSpec spec = MAELSTROM__V1__JOB_SPEC__INIT;
        Maelstrom__V1__Layer layer = MAELSTROM__V1__LAYER__INIT, *layers[] = { &layer };
        char *arguments[] = { (char *) "-c", (char *) "echo hi" };
        uint8_t digest[32];
        _cleanup_free_ uint8_t *buf = NULL;
        _cleanup_(proto_freep) Maelstrom__V1__ClientMessage *back = NULL;
        size_t size;

        for (size_t i = 0; i < sizeof(digest); i++)
                digest[i] = (uint8_t) i;
        layer.digest = (ProtobufCBinaryData) { .len = sizeof(digest), .data = digest };
        layer.kind = MAELSTROM__V1__LAYER_KIND__LAYER_KIND_MANIFEST;
        spec.program = (char *) "/bin/sh";
        spec.n_arguments = ELEMENTSOF(arguments);
        spec.arguments = arguments;
        spec.n_layers = ELEMENTSOF(layers);
        spec.layers = layers;
        spec.network = MAELSTROM__V1__NETWORK__NETWORK_LOOPBACK;
        spec.timeout_usec = 5000000;
        spec.priority = -3;
        submit.job_id = 42;
        submit.spec = &spec;
        msg.kind_case = MAELSTROM__V1__CLIENT_MESSAGE__KIND_SUBMIT;
        msg.submit = &submit;

        ASSERT_OK(proto_pack(&msg, &buf, &size));
        ASSERT_TRUE(size > 0);
        ASSERT_OK(proto_unpack(&maelstrom__v1__client_message__descriptor, buf, size, (void **) &back));

        ASSERT_EQ(back->kind_case, MAELSTROM__V1__CLIENT_MESSAGE__KIND_SUBMIT);
        ASSERT_EQ(back->submit->job_id, 42);
        ASSERT_STREQ(back->submit->spec->program, "/bin/sh");
        ASSERT_EQ(back->submit->spec->n_arguments, 2);
        ASSERT_STREQ(back->submit->spec->arguments[1], "echo hi");
        ASSERT_EQ(back->submit->spec->n_layers, 1);
        ASSERT_EQ(back->submit->spec->layers[0]->digest.len, 32);
        ASSERT_TRUE(memcmp(back->submit->spec->layers[0]->digest.data, digest, 32) == 0);
        ASSERT_EQ(back->submit->spec->layers[0]->kind, MAELSTROM__V1__LAYER_KIND__LAYER_KIND_MANIFEST);
        ASSERT_EQ(back->submit->spec->network, MAELSTROM__V1__NETWORK__NETWORK_LOOPBACK);
        ASSERT_EQ(back->submit->spec->timeout_usec, 5000000);
        ASSERT_EQ(back->submit->spec->priority, -3);
        ASSERT_TRUE(!back->submit->spec->tty);
}

TEST(empty) {
        Maelstrom__V1__PutBlobReply reply = MAELSTROM__V1__PUT_BLOB_REPLY__INIT;
        _cleanup_free_ uint8_t *buf = NULL;
        _cleanup_(proto_freep) Maelstrom__V1__PutBlobReply *back = NULL;
        size_t size;

        ASSERT_OK(proto_pack(&reply, &buf, &size));
        ASSERT_EQ(size, 0);
        ASSERT_TRUE(buf);
        ASSERT_OK(proto_unpack(&maelstrom__v1__put_blob_reply__descriptor, NULL, 0, (void **) &back));
}

TEST(malformed) {
        /* A truncated length-delimited field, a varint that never ends, and a wire type that does not exist.
         */
        static const uint8_t truncated[] = { 0x0a, 0x10, 'a', 'b' };
        static const uint8_t endless[] = {
                0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        };
        const ProtobufCMessageDescriptor *server_message = &maelstrom__v1__server_message__descriptor,
                                         *cancel = &maelstrom__v1__cancel__descriptor;
        static const uint8_t bad_wire_type[] = { 0x0f, 0x00 };
        void *m = NULL;

        ASSERT_ERROR(proto_unpack(server_message, truncated, sizeof(truncated), &m), EBADMSG);
        ASSERT_ERROR(proto_unpack(cancel, endless, sizeof(endless), &m), EBADMSG);
        ASSERT_ERROR(proto_unpack(cancel, bad_wire_type, sizeof(bad_wire_type), &m), EBADMSG);
        ASSERT_TRUE(!m);
}

TEST(service_descriptor) {
        /* The method paths that the rpc layer registers come from here: "/<service>/<method>". */
        const ProtobufCServiceDescriptor *d = &maelstrom__v1__job_service__descriptor;

        ASSERT_STREQ(d->name, "maelstrom.v1.JobService");
        ASSERT_EQ(d->n_methods, 3);
        ASSERT_TRUE(protobuf_c_service_descriptor_get_method_by_name(d, "Session"));
        ASSERT_TRUE(protobuf_c_service_descriptor_get_method_by_name(d, "PutBlob"));
        ASSERT_TRUE(protobuf_c_service_descriptor_get_method_by_name(d, "MissingBlobs"));
}

int main(void) {
        RUN(round_trip);
        RUN(empty);
        RUN(malformed);
        RUN(service_descriptor);
        return 0;
}
