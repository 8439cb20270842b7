/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* Maelstrom's public interfaces, for C programs that talk to its daemons (installed as
 * <maelstrom/maelstrom.h>, next to the .proto files in /usr/share/maelstrom/proto).  Header-only: names and
 * paths, no code.
 *
 * gRPC: the services of maelstrom/v1/job.proto and cluster.proto, as method paths.  A client runs jobs
 * through JobService, on a broker (host:port, MAELSTROM_BROKER_PORT when socket activated by the packaged
 * unit) or on the system worker's unix socket (MAELSTROM_WORKER_SOCKET, for members of the group
 * "maelstrom").
 *
 * D-Bus: the daemons' control objects on the system bus (dbus-1/interfaces/org.maelstrom.*.xml), their
 * errors, and the polkit actions of the methods that change state. */

#define MAELSTROM_BROKER_PORT 9000
#define MAELSTROM_WORKER_SOCKET "/run/maelstrom/worker.sock"

#define MAELSTROM_METHOD_JOB_SESSION "/maelstrom.v1.JobService/Session"
#define MAELSTROM_METHOD_JOB_PUT_BLOB "/maelstrom.v1.JobService/PutBlob"
#define MAELSTROM_METHOD_JOB_MISSING_BLOBS "/maelstrom.v1.JobService/MissingBlobs"
#define MAELSTROM_METHOD_WORKER_ATTACH "/maelstrom.v1.WorkerService/Attach"
#define MAELSTROM_METHOD_WORKER_GET_BLOB "/maelstrom.v1.WorkerService/GetBlob"
#define MAELSTROM_METHOD_ADMIN_STATUS "/maelstrom.v1.AdminService/Status"
#define MAELSTROM_METHOD_ADMIN_STOP "/maelstrom.v1.AdminService/Stop"

#define MAELSTROM_BROKER_BUS_NAME "org.maelstrom.Broker1"
#define MAELSTROM_BROKER_BUS_PATH "/org/maelstrom/Broker1"
#define MAELSTROM_BROKER_BUS_INTERFACE "org.maelstrom.Broker1"
/* A worker started as maelstrom-worker@NAME.service owns MAELSTROM_WORKER_BUS_NAME ".NAME". */
#define MAELSTROM_WORKER_BUS_NAME "org.maelstrom.Worker1"
#define MAELSTROM_WORKER_BUS_PATH "/org/maelstrom/Worker1"
#define MAELSTROM_WORKER_BUS_INTERFACE "org.maelstrom.Worker1"

#define MAELSTROM_BUS_ERROR_NOT_FOUND "org.maelstrom.Error.NotFound"
#define MAELSTROM_BUS_ERROR_SHUTTING_DOWN "org.maelstrom.Error.ShuttingDown"
#define MAELSTROM_BUS_ERROR_BUSY "org.maelstrom.Error.Busy"

#define MAELSTROM_POLKIT_BROKER_STOP "org.maelstrom.broker.stop"
#define MAELSTROM_POLKIT_BROKER_DRAIN_WORKER "org.maelstrom.broker.drain-worker"
#define MAELSTROM_POLKIT_WORKER_SET_SLOTS "org.maelstrom.worker.set-slots"
#define MAELSTROM_POLKIT_WORKER_DRAIN "org.maelstrom.worker.drain"
#define MAELSTROM_POLKIT_WORKER_STOP "org.maelstrom.worker.stop"
#define MAELSTROM_POLKIT_WORKER_PRUNE_CACHE "org.maelstrom.worker.prune-cache"
