/* SPDX-License-Identifier: MIT OR Apache-2.0 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "basic/tests.h"
#include "maelstrom/v1/cluster.pb-c.h"
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

/* Appends the encoding of message to buf (the way rpc_call_send_batched() concatenates queued messages). */
static void append_packed(const void *message, uint8_t **buf, size_t *size) {
        _cleanup_free_ uint8_t *one = NULL;
        size_t n;

        ASSERT_OK(proto_pack(message, &one, &n));
        *buf = realloc(*buf, *size + n + 1);
        ASSERT_TRUE(*buf);
        memcpy(*buf + *size, one, n);
        *size += n;
}

TEST(batches_merge) {
        /* Items that set only repeated fields, concatenated: one message with every item, in order. */
        _cleanup_free_ uint8_t *buf = NULL;
        _cleanup_(proto_freep) Maelstrom__V1__ClientMessage *client = NULL;
        _cleanup_(proto_freep) Maelstrom__V1__ServerMessage *server = NULL;
        _cleanup_(proto_freep) Maelstrom__V1__BrokerMessage *broker = NULL;
        size_t size = 0, n;

        for (uint64_t id = 1; id <= 100; id++) {
                Maelstrom__V1__ClientMessage m = MAELSTROM__V1__CLIENT_MESSAGE__INIT;
                Maelstrom__V1__Submit submit = MAELSTROM__V1__SUBMIT__INIT, *submits[] = { &submit };
                Maelstrom__V1__Cancel cancel = MAELSTROM__V1__CANCEL__INIT, *cancels[] = { &cancel };
                Maelstrom__V1__JobSpec spec = MAELSTROM__V1__JOB_SPEC__INIT;

                spec.program = (char *) "/bin/true";
                submit.job_id = id;
                submit.spec = &spec;
                cancel.job_id = id;
                if (id % 10 == 0) {
                        m.n_cancels = 1;
                        m.cancels = cancels;
                } else {
                        m.n_submits = 1;
                        m.submits = submits;
                }
                append_packed(&m, &buf, &size);
        }
        ASSERT_OK(proto_count_fields(buf, size, &n));
        ASSERT_EQ(n, 100);
        ASSERT_OK(proto_unpack_batch(&maelstrom__v1__client_message__descriptor, buf, size, 100,
                                     (void **) &client));
        ASSERT_EQ(client->kind_case, MAELSTROM__V1__CLIENT_MESSAGE__KIND__NOT_SET);
        ASSERT_EQ(client->n_submits, 90);
        ASSERT_EQ(client->n_cancels, 10);
        for (size_t i = 0, id = 1; i < client->n_submits; i++, id++) {
                if (id % 10 == 0)
                        id++;
                ASSERT_EQ(client->submits[i]->job_id, id);
                ASSERT_STREQ(client->submits[i]->spec->program, "/bin/true");
        }
        for (size_t i = 0; i < client->n_cancels; i++)
                ASSERT_EQ(client->cancels[i]->job_id, (i + 1) * 10);
        /* One item over the limit: refused before unpacking. */
        void *m = NULL;
        ASSERT_ERROR(proto_unpack_batch(&maelstrom__v1__client_message__descriptor, buf, size, 99, &m),
                     E2BIG);
        ASSERT_TRUE(!m);

        /* States and results. */
        buf = mfree(buf);
        size = 0;
        for (uint64_t id = 1; id <= 50; id++) {
                Maelstrom__V1__ServerMessage s = MAELSTROM__V1__SERVER_MESSAGE__INIT;
                Maelstrom__V1__JobStateChange st = MAELSTROM__V1__JOB_STATE_CHANGE__INIT;
                Maelstrom__V1__JobStateChange *states[] = { &st };
                Maelstrom__V1__JobResult res = MAELSTROM__V1__JOB_RESULT__INIT, *results[] = { &res };

                st.job_id = id;
                st.state = MAELSTROM__V1__JOB_STATE__JOB_STATE_RUNNING;
                s.n_states = 1;
                s.states = states;
                append_packed(&s, &buf, &size);
                res.job_id = id;
                res.outcome_case = MAELSTROM__V1__JOB_RESULT__OUTCOME_EXITED;
                res.exited = (int32_t) id;
                s.n_states = 0;
                s.n_results = 1;
                s.results = results;
                append_packed(&s, &buf, &size);
        }
        ASSERT_OK(proto_unpack_batch(&maelstrom__v1__server_message__descriptor, buf, size, 100,
                                     (void **) &server));
        ASSERT_EQ(server->n_states, 50);
        ASSERT_EQ(server->n_results, 50);
        for (size_t i = 0; i < 50; i++) {
                ASSERT_EQ(server->states[i]->job_id, i + 1);
                ASSERT_EQ(server->results[i]->job_id, i + 1);
                ASSERT_EQ(server->results[i]->exited, (int32_t) i + 1);
        }

        /* Whole ClientMessages in a BrokerMessage: in order, whatever their kind. */
        buf = mfree(buf);
        size = 0;
        for (uint64_t id = 1; id <= 20; id++) {
                Maelstrom__V1__BrokerMessage b = MAELSTROM__V1__BROKER_MESSAGE__INIT;
                Maelstrom__V1__ClientMessage c = MAELSTROM__V1__CLIENT_MESSAGE__INIT, *jobs[] = { &c };
                Maelstrom__V1__Cancel cancel = MAELSTROM__V1__CANCEL__INIT;

                cancel.job_id = id;
                c.kind_case = MAELSTROM__V1__CLIENT_MESSAGE__KIND_CANCEL;
                c.cancel = &cancel;
                b.n_jobs = 1;
                b.jobs = jobs;
                append_packed(&b, &buf, &size);
        }
        ASSERT_OK(proto_unpack_batch(&maelstrom__v1__broker_message__descriptor, buf, size, 20,
                                     (void **) &broker));
        ASSERT_EQ(broker->kind_case, MAELSTROM__V1__BROKER_MESSAGE__KIND__NOT_SET);
        ASSERT_EQ(broker->n_jobs, 20);
        for (size_t i = 0; i < 20; i++)
                ASSERT_EQ(broker->jobs[i]->cancel->job_id, i + 1);
}

TEST(count_fields) {
        static const uint8_t mixed[] = {
                0x08, 0x96, 0x01,                               /* 1: varint 150 */
                0x11, 1, 2, 3, 4, 5, 6, 7, 8,                   /* 2: fixed64 */
                0x1a, 0x03, 'a', 'b', 'c',                      /* 3: 3 bytes */
                0x25, 1, 2, 3, 4,                               /* 4: fixed32 */
                0x1a, 0x00,                                     /* 3 again: empty */
        };
        static const uint8_t truncated_fixed[] = { 0x11, 1, 2, 3 };
        static const uint8_t long_length[] = { 0x1a, 0xff, 0xff, 0xff, 0xff, 0x0f, 'a' };
        static const uint8_t group[] = { 0x0b, 0x0c };
        static const uint8_t field_zero[] = { 0x00, 0x01 };
        size_t n = 99;

        ASSERT_OK(proto_count_fields(mixed, sizeof(mixed), &n));
        ASSERT_EQ(n, 5);
        ASSERT_OK(proto_count_fields(NULL, 0, &n));
        ASSERT_EQ(n, 0);
        n = 99;
        ASSERT_ERROR(proto_count_fields(mixed, sizeof(mixed) - 1, &n), EBADMSG);
        ASSERT_ERROR(proto_count_fields(truncated_fixed, sizeof(truncated_fixed), &n), EBADMSG);
        ASSERT_ERROR(proto_count_fields(long_length, sizeof(long_length), &n), EBADMSG);
        ASSERT_ERROR(proto_count_fields(group, sizeof(group), &n), EBADMSG);
        ASSERT_ERROR(proto_count_fields(field_zero, sizeof(field_zero), &n), EBADMSG);
        ASSERT_EQ(n, 99);
}

/* What the walk saw, in order: "s<id>" for a submit (taken when the id is odd), "c<id>", "b", "t". */
typedef struct Walked {
        char log[256];
        uint64_t fail_at; /* a submit or cancel with this id fails */
        Maelstrom__V1__Submit *taken[8];
        size_t n_taken;
} Walked;

static void walked_add(Walked *w, char kind, uint64_t id) {
        size_t l = strlen(w->log);
        snprintf(w->log + l, sizeof w->log - l, "%c%" PRIu64 " ", kind, id);
}

static int walk_submit(Maelstrom__V1__Submit **submit, void *userdata) {
        Walked *w = userdata;

        walked_add(w, 's', (*submit)->job_id);
        if ((*submit)->job_id == w->fail_at)
                return -EIO;
        if ((*submit)->job_id % 2 == 1) {
                ASSERT_TRUE(w->n_taken < ELEMENTSOF(w->taken));
                w->taken[w->n_taken++] = TAKE_PTR(*submit);
        }
        return 0;
}

static int walk_cancel(uint64_t job_id, void *userdata) {
        Walked *w = userdata;
        walked_add(w, 'c', job_id);
        return job_id == w->fail_at ? -EIO : 0;
}

static int walk_local_blob(const Maelstrom__V1__LocalBlob *blob, void *userdata) {
        walked_add(userdata, 'b', 0);
        return 0;
}

static int walk_tty(const Maelstrom__V1__ClientMessage *msg, void *userdata) {
        walked_add(userdata, 't', msg->tty_input->job_id);
        return 0;
}

/* Pack and unpack: a message as a peer's would arrive (every pointer its own allocation). */
static Maelstrom__V1__ClientMessage *client_message_copy(const Maelstrom__V1__ClientMessage *m) {
        _cleanup_free_ uint8_t *buf = NULL;
        Maelstrom__V1__ClientMessage *copy = NULL;
        size_t size;

        ASSERT_OK(proto_pack(m, &buf, &size));
        ASSERT_OK(proto_unpack(&maelstrom__v1__client_message__descriptor, buf, size, (void **) &copy));
        return copy;
}

TEST(client_message_walk) {
        static const ProtoClientMessageHandlers all = {
                .submit = walk_submit,
                .cancel = walk_cancel,
                .local_blob = walk_local_blob,
                .tty = walk_tty,
        }, submits_only = {
                .submit = walk_submit,
        };
        Maelstrom__V1__ClientMessage m = MAELSTROM__V1__CLIENT_MESSAGE__INIT;
        Maelstrom__V1__JobSpec spec = MAELSTROM__V1__JOB_SPEC__INIT;
        Maelstrom__V1__Submit s1 = MAELSTROM__V1__SUBMIT__INIT, s2 = MAELSTROM__V1__SUBMIT__INIT,
                              s3 = MAELSTROM__V1__SUBMIT__INIT, *submits[] = { &s2, &s3 };
        Maelstrom__V1__Cancel c4 = MAELSTROM__V1__CANCEL__INIT, *cancels[] = { &c4 };
        Maelstrom__V1__LocalBlob blob = MAELSTROM__V1__LOCAL_BLOB__INIT, *blobs[] = { &blob };
        Maelstrom__V1__TtyInput tty = MAELSTROM__V1__TTY_INPUT__INIT;

        spec.program = (char *) "/bin/true";
        s1.job_id = 1, s2.job_id = 2, s3.job_id = 3, c4.job_id = 4;
        s1.spec = s2.spec = s3.spec = &spec;
        m.kind_case = MAELSTROM__V1__CLIENT_MESSAGE__KIND_SUBMIT;
        m.submit = &s1;
        m.n_submits = ELEMENTSOF(submits);
        m.submits = submits;
        m.n_cancels = ELEMENTSOF(cancels);
        m.cancels = cancels;
        m.n_local_blobs = ELEMENTSOF(blobs);
        m.local_blobs = blobs;

        /* Every item, in job.proto's order; the taken submits are the handler's, the rest the message's
         * (freeing both leaks nothing and frees nothing twice: the sanitizer build checks). */
        {
                _cleanup_(proto_freep) Maelstrom__V1__ClientMessage *copy = client_message_copy(&m);
                Walked w = {};

                ASSERT_EQ(proto_client_message_items(copy), 5U);
                ASSERT_OK(proto_client_message_walk(copy, &all, &w));
                ASSERT_STREQ(w.log, "s1 b0 s2 s3 c4 ");
                ASSERT_EQ(w.n_taken, 2U);
                ASSERT_EQ(w.taken[0]->job_id, 1U);
                ASSERT_EQ(w.taken[1]->job_id, 3U);
                ASSERT_EQ(copy->kind_case, MAELSTROM__V1__CLIENT_MESSAGE__KIND__NOT_SET);
                ASSERT_TRUE(!copy->submits[1] && copy->submits[0]);
                for (size_t i = 0; i < w.n_taken; i++)
                        protobuf_c_message_free_unpacked(&w.taken[i]->base, NULL);
        }

        /* The first failure stops the walk, and is returned. */
        {
                _cleanup_(proto_freep) Maelstrom__V1__ClientMessage *copy = client_message_copy(&m);
                Walked w = { .fail_at = 2 };

                ASSERT_ERROR(proto_client_message_walk(copy, &all, &w), EIO);
                ASSERT_STREQ(w.log, "s1 b0 s2 ");
                for (size_t i = 0; i < w.n_taken; i++)
                        protobuf_c_message_free_unpacked(&w.taken[i]->base, NULL);
        }

        /* A missing handler skips its items. */
        {
                _cleanup_(proto_freep) Maelstrom__V1__ClientMessage *copy = client_message_copy(&m);
                Walked w = {};

                ASSERT_OK(proto_client_message_walk(copy, &submits_only, &w));
                ASSERT_STREQ(w.log, "s1 s2 s3 ");
                for (size_t i = 0; i < w.n_taken; i++)
                        protobuf_c_message_free_unpacked(&w.taken[i]->base, NULL);
        }

        /* A single cancel, and a tty input. */
        {
                Maelstrom__V1__ClientMessage one = MAELSTROM__V1__CLIENT_MESSAGE__INIT;
                Walked w = {};

                one.kind_case = MAELSTROM__V1__CLIENT_MESSAGE__KIND_CANCEL;
                one.cancel = &c4;
                ASSERT_OK(proto_client_message_walk(&one, &all, &w));
                tty.job_id = 7;
                one.kind_case = MAELSTROM__V1__CLIENT_MESSAGE__KIND_TTY_INPUT;
                one.tty_input = &tty;
                ASSERT_OK(proto_client_message_walk(&one, &all, &w));
                ASSERT_STREQ(w.log, "c4 t7 ");
        }
}

int main(void) {
        RUN(round_trip);
        RUN(empty);
        RUN(malformed);
        RUN(service_descriptor);
        RUN(batches_merge);
        RUN(count_fields);
        RUN(client_message_walk);
        return 0;
}
