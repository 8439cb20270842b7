/* SPDX-License-Identifier: MIT OR Apache-2.0 */

/* The one place where gRPC's codes become errnos: the status table and the call error table. */

#include <assert.h>
#include <stdlib.h>

#include <grpc/status.h>

#include "basic/string-table.h"
#include "rpc/rpc-internal.h"

/* Our RpcStatus is gRPC's grpc_status_code, number for number. */
#define CHECK_STATUS(name) \
        _Static_assert((int) RPC_STATUS_##name == (int) GRPC_STATUS_##name, "RpcStatus differs from gRPC")
CHECK_STATUS(OK);
CHECK_STATUS(CANCELLED);
CHECK_STATUS(UNKNOWN);
CHECK_STATUS(INVALID_ARGUMENT);
CHECK_STATUS(DEADLINE_EXCEEDED);
CHECK_STATUS(NOT_FOUND);
CHECK_STATUS(ALREADY_EXISTS);
CHECK_STATUS(PERMISSION_DENIED);
CHECK_STATUS(RESOURCE_EXHAUSTED);
CHECK_STATUS(FAILED_PRECONDITION);
CHECK_STATUS(ABORTED);
CHECK_STATUS(OUT_OF_RANGE);
CHECK_STATUS(UNIMPLEMENTED);
CHECK_STATUS(INTERNAL);
CHECK_STATUS(UNAVAILABLE);
CHECK_STATUS(DATA_LOSS);
CHECK_STATUS(UNAUTHENTICATED);

/* The table.  Status → errno uses the first row of a status; errno → status uses the first row of an
 * errno, so the rows after the first of a status are aliases for the reverse direction only. */
static const struct {
        RpcStatus status;
        int error; /* positive */
} status_table[] = {
        { RPC_STATUS_CANCELLED,           ECANCELED    },
        { RPC_STATUS_UNKNOWN,             EIO          },
        { RPC_STATUS_INVALID_ARGUMENT,    EINVAL       },
        { RPC_STATUS_DEADLINE_EXCEEDED,   ETIMEDOUT    },
        { RPC_STATUS_NOT_FOUND,           ENOENT       },
        { RPC_STATUS_ALREADY_EXISTS,      EEXIST       },
        { RPC_STATUS_PERMISSION_DENIED,   EACCES       },
        { RPC_STATUS_RESOURCE_EXHAUSTED,  E2BIG        },
        { RPC_STATUS_FAILED_PRECONDITION, EBUSY        },
        { RPC_STATUS_ABORTED,             ECONNABORTED },
        { RPC_STATUS_OUT_OF_RANGE,        ERANGE       },
        { RPC_STATUS_UNIMPLEMENTED,       EOPNOTSUPP   },
        { RPC_STATUS_INTERNAL,            EPROTO       },
        { RPC_STATUS_UNAVAILABLE,         ECONNRESET   },
        { RPC_STATUS_DATA_LOSS,           EUCLEAN      },
        { RPC_STATUS_UNAUTHENTICATED,     EKEYREJECTED },
        /* Aliases: errno → status only. */
        { RPC_STATUS_INVALID_ARGUMENT,    EBADMSG      },
        { RPC_STATUS_PERMISSION_DENIED,   EPERM        },
        { RPC_STATUS_RESOURCE_EXHAUSTED,  ENOMEM       },
        { RPC_STATUS_RESOURCE_EXHAUSTED,  ENOBUFS      },
        { RPC_STATUS_RESOURCE_EXHAUSTED,  ENOSPC       },
        { RPC_STATUS_RESOURCE_EXHAUSTED,  EMFILE       },
        { RPC_STATUS_UNIMPLEMENTED,       ENOSYS       },
        { RPC_STATUS_INTERNAL,            EPIPE        },
        { RPC_STATUS_UNAVAILABLE,         ECONNREFUSED },
        { RPC_STATUS_UNAVAILABLE,         ENOTCONN     },
        { RPC_STATUS_UNAVAILABLE,         EHOSTUNREACH },
        { RPC_STATUS_UNAVAILABLE,         EAGAIN       },
        { RPC_STATUS_ABORTED,             ESTALE       },
        { RPC_STATUS_FAILED_PRECONDITION, ENOTEMPTY    },
};

int rpc_status_to_errno(RpcStatus s) {
        if (s == RPC_STATUS_OK)
                return 0;
        for (size_t i = 0; i < ELEMENTSOF(status_table); i++)
                if (status_table[i].status == s)
                        return -status_table[i].error;
        return -EIO;
}

RpcStatus rpc_status_from_errno(int error) {
        error = abs(error);
        if (error == 0)
                return RPC_STATUS_OK;
        for (size_t i = 0; i < ELEMENTSOF(status_table); i++)
                if (status_table[i].error == error)
                        return status_table[i].status;
        return RPC_STATUS_UNKNOWN;
}

/* gRPC's call errors are programming errors or races with the end of a call; the caller gets an errno that
 * says which. */
int rpc_call_error_to_errno(grpc_call_error e) {
        switch (e) {
        case GRPC_CALL_OK:
                return 0;
        case GRPC_CALL_ERROR:
                return -EIO;
        case GRPC_CALL_ERROR_NOT_ON_SERVER:
        case GRPC_CALL_ERROR_NOT_ON_CLIENT:
        case GRPC_CALL_ERROR_NOT_INVOKED:
        case GRPC_CALL_ERROR_INVALID_FLAGS:
        case GRPC_CALL_ERROR_NOT_SERVER_COMPLETION_QUEUE:
        case GRPC_CALL_ERROR_PAYLOAD_TYPE_MISMATCH:
                return -EINVAL;
        case GRPC_CALL_ERROR_ALREADY_ACCEPTED:
        case GRPC_CALL_ERROR_ALREADY_INVOKED:
                return -EALREADY;
        case GRPC_CALL_ERROR_ALREADY_FINISHED:
                return -ESHUTDOWN;
        case GRPC_CALL_ERROR_TOO_MANY_OPERATIONS:
                return -EBUSY;
        case GRPC_CALL_ERROR_INVALID_METADATA:
        case GRPC_CALL_ERROR_INVALID_MESSAGE:
                return -EBADMSG;
        case GRPC_CALL_ERROR_BATCH_TOO_BIG:
                return -E2BIG;
        case GRPC_CALL_ERROR_COMPLETION_QUEUE_SHUTDOWN:
                return -ESHUTDOWN;
        }
        return -EIO;
}

static const char *const status_names[_RPC_STATUS_MAX] = {
        [RPC_STATUS_OK] = "OK",
        [RPC_STATUS_CANCELLED] = "CANCELLED",
        [RPC_STATUS_UNKNOWN] = "UNKNOWN",
        [RPC_STATUS_INVALID_ARGUMENT] = "INVALID_ARGUMENT",
        [RPC_STATUS_DEADLINE_EXCEEDED] = "DEADLINE_EXCEEDED",
        [RPC_STATUS_NOT_FOUND] = "NOT_FOUND",
        [RPC_STATUS_ALREADY_EXISTS] = "ALREADY_EXISTS",
        [RPC_STATUS_PERMISSION_DENIED] = "PERMISSION_DENIED",
        [RPC_STATUS_RESOURCE_EXHAUSTED] = "RESOURCE_EXHAUSTED",
        [RPC_STATUS_FAILED_PRECONDITION] = "FAILED_PRECONDITION",
        [RPC_STATUS_ABORTED] = "ABORTED",
        [RPC_STATUS_OUT_OF_RANGE] = "OUT_OF_RANGE",
        [RPC_STATUS_UNIMPLEMENTED] = "UNIMPLEMENTED",
        [RPC_STATUS_INTERNAL] = "INTERNAL",
        [RPC_STATUS_UNAVAILABLE] = "UNAVAILABLE",
        [RPC_STATUS_DATA_LOSS] = "DATA_LOSS",
        [RPC_STATUS_UNAUTHENTICATED] = "UNAUTHENTICATED",
};

static const char *const method_kind_names[_RPC_METHOD_KIND_MAX] = {
        [RPC_METHOD_UNARY] = "unary",
        [RPC_METHOD_CLIENT_STREAMING] = "client-streaming",
        [RPC_METHOD_SERVER_STREAMING] = "server-streaming",
        [RPC_METHOD_BIDI_STREAMING] = "bidi-streaming",
};

const char *rpc_status_to_string(RpcStatus s) {
        return string_table_lookup_to_string(status_names, ELEMENTSOF(status_names), s);
}

RpcStatus rpc_status_from_string(const char *s) {
        return string_table_lookup_from_string(status_names, ELEMENTSOF(status_names), s);
}

const char *rpc_method_kind_to_string(RpcMethodKind k) {
        return string_table_lookup_to_string(method_kind_names, ELEMENTSOF(method_kind_names), k);
}

RpcMethodKind rpc_method_kind_from_string(const char *s) {
        return string_table_lookup_from_string(method_kind_names, ELEMENTSOF(method_kind_names), s);
}
