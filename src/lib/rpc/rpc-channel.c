/* SPDX-License-Identifier: MIT OR Apache-2.0 */

/* RpcChannel: the client end of a connection.  Calls made on it do not need it afterwards (gRPC keeps the
 * connection alive for them), so it is not reference counted. */

#include <assert.h>

#include <grpc/grpc_posix.h>
#include <grpc/grpc_security.h>

#include "basic/fd-util.h"
#include "rpc/rpc-internal.h"

struct RpcChannel {
        RpcContext *context;
        grpc_channel *channel;
        RpcLimits limits;
};

RpcChannel *rpc_channel_free(RpcChannel *ch) {
        if (!ch)
                return NULL;

        if (ch->channel)
                grpc_channel_destroy(ch->channel);
        rpc_context_handle_dropped(ch->context);
        rpc_context_object_removed(ch->context);
        return mfree(ch);
}

static int channel_new(
                RpcContext *c,
                int fd,
                const char *target,
                const RpcLimits *limits,
                RpcChannel **ret) {

        _cleanup_close_ int fd_close = fd;
        _cleanup_(rpc_channel_freep) RpcChannel *ch = NULL;
        grpc_arg args[RPC_CHANNEL_ARGS_MAX];
        grpc_channel_args channel_args;
        grpc_channel_credentials *creds;
        RpcLimits l;
        int r;

        assert(c);
        assert(ret);

        r = rpc_limits_resolve(limits, &l);
        if (r < 0)
                return r;
        if (fd >= 0) {
                r = rpc_prepare_stream_fd(fd, /* listening= */ false);
                if (r < 0)
                        return r;
        }

        ch = calloc(1, sizeof(RpcChannel));
        if (!ch)
                return -ENOMEM;
        ch->context = c;
        ch->limits = l;
        rpc_context_object_added(c);

        creds = grpc_insecure_credentials_create();
        if (!creds)
                return -ENOMEM;
        channel_args = rpc_limits_to_channel_args(&ch->limits, args);
        if (fd >= 0)
                ch->channel = grpc_channel_create_from_fd("local", TAKE_FD(fd_close), creds, &channel_args);
        else
                ch->channel = grpc_channel_create(target, creds, &channel_args);
        grpc_channel_credentials_release(creds);
        if (!ch->channel)
                return -ENOMEM;

        *ret = TAKE_PTR(ch);
        return 0;
}

int rpc_channel_new_fd_take(RpcContext *c, int fd, const RpcLimits *limits, RpcChannel **ret) {
        if (fd < 0)
                return -EBADF;
        return channel_new(c, fd, /* target= */ NULL, limits, ret);
}

int rpc_channel_new_target(RpcContext *c, const char *target, const RpcLimits *limits, RpcChannel **ret) {
        assert(target);

        if (isempty(target))
                return -EINVAL;
        return channel_new(c, -EBADF, target, limits, ret);
}

int rpc_channel_call(
                RpcChannel *ch,
                const RpcMethod *method,
                const RpcCallHandlers *handlers,
                void *userdata,
                RpcCall **ret) {

        assert(ch);
        assert(method);
        assert(ret);

        if (!rpc_method_is_valid(method))
                return -EINVAL;

        return rpc_call_new_client(ch->context, ch->channel, method, &ch->limits, handlers, userdata, ret);
}
