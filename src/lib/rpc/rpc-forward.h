/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

typedef struct RpcContext RpcContext;
typedef struct RpcServer RpcServer;
typedef struct RpcChannel RpcChannel;
typedef struct RpcCall RpcCall;
