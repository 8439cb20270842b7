/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/fd-util.h"
#include "basic/log.h"
#include "basic/string-util.h"
#include "blobrpc/blobrpc.h"
#include "client/client.h"
#include "digest/digest-map.h"
#include "layer/layer.h"
#include "maelstrom/v1/job.pb-c.h"
#include "proto/proto-util.h"
#include "rpc/rpc.h"

static const RpcMethod method_session = { "/maelstrom.v1.JobService/Session", RPC_METHOD_BIDI_STREAMING };

static const RpcMethod method_missing_blobs = { "/maelstrom.v1.JobService/MissingBlobs", RPC_METHOD_UNARY };

/* A blob that a broker may need: its digest and the file that holds it. */
typedef struct BlobRef {
        Digest digest;
        char *path;
} BlobRef;

/* A layer built once per run and reused by every job that names the same spec. */
typedef struct LayerMemo {
        BuiltLayerKind kind;
        Digest digest;
        BlobRef *blobs;      /* with a broker: the file blobs, then the layer blob */
        size_t n_blobs;
        bool offered;        /* to the broker (MissingBlobs asked) */
} LayerMemo;

/* Broker mode: a MissingBlobs query about a layer's blobs; the missing ones are then uploaded one at a time,
 * in order (file blobs before the manifest that names them). */
typedef struct Upload {
        Client *client;
        RpcCall *query;
        const LayerMemo *layer;
        struct Upload *prev, *next;
} Upload;

static void layer_memo_free(void *p) {
        LayerMemo *l = p;
        if (!l)
                return;
        for (size_t i = 0; i < l->n_blobs; i++)
                free(l->blobs[i].path);
        free(l->blobs);
        free(l);
}

struct ClientJob {
        Client *client;
        uint64_t id;
        bool remote;             /* on the broker */
        ClientJobHandlers handlers;
        void *userdata;
        ClientJob *prev, *next;
};

struct Client {
        sd_event *event;
        char *project_dir;
        char *cache_dir;
        char *manifest_dir;
        char *digest_cache_path;
        char **template_vars;

        int lock_fd; /* flock()ed: the cache directory is this run's until the client is freed */
        pid_t worker_pid;
        sd_event_source *worker_source;
        int worker_status; /* si_code/si_status once it ended */
        bool worker_ended;
        char *worker_gone; /* why the local worker or its session ended: its exit status, when known */

        RpcContext *rpc;
        RpcChannel *channel;
        RpcCall *session;
        bool session_closed;

        DigestCache *digests;
        DigestMap *sent_blobs; /* digests already named to the worker in LocalBlob messages */
        uint64_t sent_blob_bytes; /* their sizes, added up */
        DigestMap *layers;     /* SHA-256 of a layer spec's key text → LayerMemo */
        DigestMap **forgotten_layers; /* by client_forget_layers(), kept for the uploads that use them */
        size_t n_forgotten_layers;

        ClientJob *jobs;
        size_t n_jobs;
        uint64_t next_id;
        ClientJob **by_id;  /* job id - 1 → job, NULL once delivered: results find their job at once */
        size_t n_by_id_allocated;

        /* Broker mode */
        RpcChannel *broker_channel;
        RpcCall *broker_session;
        bool broker_session_closed;
        char *broker;
        DigestMap *offered_blobs;  /* digests already asked about in MissingBlobs */
        Upload *queries;           /* MissingBlobs in flight (list) */
        BlobRef *missing;          /* blobs the broker lacks, to upload in order (paths borrowed) */
        size_t n_missing, missing_pos;
        BlobTransfer *upload;      /* the running PutBlob */
};

static void client_job_free(ClientJob *j) {
        Client *c = j->client;
        c->by_id[j->id - 1] = NULL;
        if (j->prev)
                j->prev->next = j->next;
        else
                c->jobs = j->next;
        if (j->next)
                j->next->prev = j->prev;
        c->n_jobs--;
        free(j);
}

static ClientJob *client_find_job(Client *c, uint64_t id) {
        if (id == 0 || id > c->next_id)
                return NULL;
        return c->by_id[id - 1];
}

size_t client_jobs_outstanding(const Client *c) {
        return c->n_jobs;
}

static void client_job_deliver(ClientJob *j, const ClientJobResult *r) {
        if (j->handlers.result)
                j->handlers.result(j, r, j->userdata);
        client_job_free(j);
}

/* The worker or the connection is gone: every outstanding job there fails with why. */
static void client_fail_jobs(Client *c, bool remote, const char *why) {
        ClientJobResult r = { .outcome = CLIENT_JOB_ERROR, .error = why };
        ClientJob *next;
        for (ClientJob *j = c->jobs; j; j = next) {
                next = j->next;
                if (j->remote == remote)
                        client_job_deliver(j, &r);
        }
}

static void client_fail_all(Client *c, const char *why) {
        client_fail_jobs(c, /* remote= */ false, why);
}

static void result_from_proto(const Maelstrom__V1__JobResult *p, ClientJobResult *r, char **error_text) {
        *r = (ClientJobResult) {};
        switch (p->outcome_case) {
        case MAELSTROM__V1__JOB_RESULT__OUTCOME_EXITED:
                r->outcome = CLIENT_JOB_EXITED;
                r->status = p->exited;
                break;
        case MAELSTROM__V1__JOB_RESULT__OUTCOME_SIGNALED:
                r->outcome = CLIENT_JOB_SIGNALED;
                r->status = p->signaled;
                break;
        case MAELSTROM__V1__JOB_RESULT__OUTCOME_TIMED_OUT:
                r->outcome = CLIENT_JOB_TIMED_OUT;
                break;
        case MAELSTROM__V1__JOB_RESULT__OUTCOME_ERROR:
        case MAELSTROM__V1__JOB_RESULT__OUTCOME__NOT_SET:
        case _MAELSTROM__V1__JOB_RESULT__OUTCOME__CASE_IS_INT_SIZE:
                r->outcome = CLIENT_JOB_ERROR;
                if (p->outcome_case == MAELSTROM__V1__JOB_RESULT__OUTCOME_ERROR && p->error) {
                        const char *msg = p->error->error_number ? strerror(p->error->error_number)
                                                                 : strempty(p->error->message);
                        if (asprintf(error_text, "%s%s%s", strempty(p->error->step),
                                     isempty(msg) ? "" : ": ", msg) < 0)
                                *error_text = NULL;
                } else
                        *error_text = strdup("the worker sent a result without an outcome");
                r->error = *error_text ?: "out of memory";
                break;
        }
        if (p->standard_output)
                r->out = (ClientJobOutput) { p->standard_output->data.data, p->standard_output->data.len,
                                             p->standard_output->truncated };
        if (p->standard_error)
                r->err = (ClientJobOutput) { p->standard_error->data.data, p->standard_error->data.len,
                                             p->standard_error->truncated };
        if (p->timing) {
                r->queued_usec = p->timing->queued_usec;
                r->setup_usec = p->timing->setup_usec;
                r->run_usec = p->timing->run_usec;
        }
}

static void client_job_state(Client *c, const Maelstrom__V1__JobStateChange *state) {
        ClientJob *j = client_find_job(c, state->job_id);

        if (!j || !j->handlers.state)
                return;
        if (state->state == MAELSTROM__V1__JOB_STATE__JOB_STATE_RUNNING)
                j->handlers.state(j, CLIENT_JOB_RUNNING, j->userdata);
        else if (IN_SET((int) state->state, MAELSTROM__V1__JOB_STATE__JOB_STATE_PENDING,
                        MAELSTROM__V1__JOB_STATE__JOB_STATE_AWAITING_ARTIFACTS))
                j->handlers.state(j, CLIENT_JOB_PENDING, j->userdata);
}

static void client_job_result(Client *c, const Maelstrom__V1__JobResult *result) {
        _cleanup_free_ char *error_text = NULL;
        ClientJobResult res;
        ClientJob *j = client_find_job(c, result->job_id);

        if (!j)
                return; /* cancelled meanwhile */
        result_from_proto(result, &res, &error_text);
        client_job_deliver(j, &res);
}

/* One message or a batch, in the order job.proto gives. */
static int on_session_message(RpcCall *call, const void *data, size_t size, void *userdata) {
        Client *c = userdata;
        _cleanup_(proto_freep) Maelstrom__V1__ServerMessage *msg = NULL;
        ClientJob *j;
        int r;

        r = proto_unpack_batch(&maelstrom__v1__server_message__descriptor, data, size,
                               RPC_BATCH_MAX_MESSAGES, (void **) &msg);
        if (r < 0)
                return r;

        switch (msg->kind_case) {
        case MAELSTROM__V1__SERVER_MESSAGE__KIND_STATE:
                client_job_state(c, msg->state);
                break;
        case MAELSTROM__V1__SERVER_MESSAGE__KIND_RESULT:
                client_job_result(c, msg->result);
                break;
        case MAELSTROM__V1__SERVER_MESSAGE__KIND_TTY_OUTPUT:
                j = client_find_job(c, msg->tty_output->job_id);
                if (j && j->handlers.tty_output)
                        j->handlers.tty_output(j, msg->tty_output->data.data, msg->tty_output->data.len,
                                               j->userdata);
                break;
        case MAELSTROM__V1__SERVER_MESSAGE__KIND__NOT_SET:
        case _MAELSTROM__V1__SERVER_MESSAGE__KIND__CASE_IS_INT_SIZE:
                if (msg->n_states + msg->n_results == 0)
                        return -EBADMSG;
                break;
        }
        for (size_t i = 0; i < msg->n_states; i++)
                client_job_state(c, msg->states[i]);
        for (size_t i = 0; i < msg->n_results; i++)
                client_job_result(c, msg->results[i]);
        return 0;
}

static void on_session_closed(RpcCall *call, RpcStatus status, const char *message, void *userdata) {
        Client *c = userdata;
        _cleanup_free_ char *why = NULL;

        c->session_closed = true;
        if (asprintf(&why, "lost the connection to the local worker (%s%s%s)", rpc_status_to_string(status),
                     isempty(message) ? "" : ": ", strempty(message)) < 0)
                why = NULL;
        if (!c->worker_gone)
                c->worker_gone = strdup(why ?: "lost the connection to the local worker");
        client_fail_all(c, why ?: "lost the connection to the local worker");
}

static void on_broker_session_closed(RpcCall *call, RpcStatus status, const char *message, void *userdata) {
        Client *c = userdata;
        _cleanup_free_ char *why = NULL;

        c->broker_session_closed = true;
        if (asprintf(&why, "lost the connection to the broker %s (%s%s%s)", c->broker,
                     rpc_status_to_string(status), isempty(message) ? "" : ": ", strempty(message)) < 0)
                why = NULL;
        client_fail_jobs(c, /* remote= */ true, why ?: "lost the connection to the broker");
}

static int set_error(char **reterr_message, int r, const char *fmt, const char *arg) {
        if (asprintf(reterr_message, fmt, arg) < 0)
                *reterr_message = NULL;
        return r;
}

static int set_error_static(char **reterr_message, int r, const char *message) {
        return set_error(reterr_message, r, "%s", message);
}

static int on_worker_exit(sd_event_source *s, const siginfo_t *si, void *userdata) {
        Client *c = userdata;
        char why[128];

        c->worker_ended = true;
        c->worker_pid = 0;
        if (si->si_code == CLD_EXITED)
                snprintf(why, sizeof why, "the local worker exited with status %d", si->si_status);
        else
                snprintf(why, sizeof why, "the local worker was killed by signal %d", si->si_status);
        /* Says more than the closed connection that comes first. */
        free(c->worker_gone);
        c->worker_gone = strdup(why);
        client_fail_all(c, why);
        return 0;
}

const char *client_local_worker_gone(const Client *c) {
        if (!c->worker_ended && !c->session_closed)
                return NULL;
        return c->worker_gone ?: "the local worker is gone";
}

static int find_worker(const char *configured, char **ret) {
        char self[PATH_MAX];
        ssize_t n;

        if (configured) {
                *ret = strdup(configured);
                return *ret ? 0 : -ENOMEM;
        }
        /* Installed programs sit together in bindir, maelstrom-worker with the clients. */
        n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n > 0) {
                self[n] = 0;
                _cleanup_free_ char *p = strjoin(dirname(self), "/maelstrom-worker");
                if (!p)
                        return -ENOMEM;
                if (access(p, X_OK) == 0) {
                        *ret = TAKE_PTR(p);
                        return 0;
                }
        }
        *ret = strdup(BINDIR "/maelstrom-worker");
        return *ret ? 0 : -ENOMEM;
}

static int spawn_worker(Client *c, const ClientOptions *o, int *ret_fd, char **reterr_message) {
        _cleanup_free_ char *worker = NULL, *slots = NULL, *cache_size = NULL, *inline_limit = NULL,
                            *cache_root = NULL;
        int sv[2];
        int r;

        r = find_worker(o->worker_path, &worker);
        if (r < 0)
                return r;
        if (access(worker, X_OK) < 0) {
                r = -errno;
                if (asprintf(reterr_message, "cannot run the local worker '%s': %s", worker,
                             strerror(-r)) < 0)
                        *reterr_message = NULL;
                return r;
        }
        cache_root = strjoin(c->cache_dir, "/local-worker");
        if (!cache_root || asprintf(&slots, "%u", o->slots) < 0 ||
            asprintf(&cache_size, "%" PRIu64, o->cache_size) < 0 ||
            asprintf(&inline_limit, "%" PRIu64, o->inline_limit) < 0)
                return -ENOMEM;

        const char *argv[] = {
                "maelstrom-worker", "--local", "--config-file", "-", "--slots", slots,
                "--cache-root", cache_root, "--cache-size", cache_size, "--inline-limit", inline_limit,
                o->log_level ? "--log-level" : NULL, o->log_level, NULL,
        };

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                return -errno;

        pid_t parent = getpid();
        pid_t pid = fork();
        if (pid < 0) {
                r = -errno;
                safe_close(sv[0]);
                safe_close(sv[1]);
                return r;
        }
        if (pid == 0) {
                sigset_t none;
                /* The worker ends with us, whatever happens to us. */
                if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
                        _exit(EXIT_FAILURE);
                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL);
                if (dup2(sv[1], 3) < 0)
                        _exit(EXIT_FAILURE);
                execv(worker, (char **) argv);
                fprintf(stderr, "maelstrom: cannot run '%s': %m\n", worker);
                _exit(127);
        }
        safe_close(sv[1]);
        c->worker_pid = pid;
        *ret_fd = sv[0];
        return 0;
}

/* How often a run that waits for the cache's lock tries again. */
#define CLIENT_LOCK_POLL_USEC (50 * USEC_PER_MSEC)

/* One run at a time per cache directory: the local worker refuses a cache that another worker holds, and
 * two runs would write the same digest cache.  A second run waits, as cargo does for its own locks, until
 * the first and its worker are gone.  Ctrl-C ends the wait: by default, or, when the caller blocked SIGINT
 * and SIGTERM already (a --watch session between runs), as -EINTR once one is pending. */
static int client_lock_cache(Client *c, char **reterr_message) {
        _cleanup_free_ char *path = strjoin(c->cache_dir, "/lock");
        int r;

        if (!path)
                return -ENOMEM;
        c->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
        if (c->lock_fd < 0) {
                r = -errno;
                goto fail;
        }
        if (flock(c->lock_fd, LOCK_EX | LOCK_NB) >= 0)
                return 0;
        if (errno != EWOULDBLOCK) {
                r = -errno;
                goto fail;
        }
        log_notice("Blocking waiting for the lock on %s: another run is using it.", c->cache_dir);
        while (flock(c->lock_fd, LOCK_EX | LOCK_NB) < 0) {
                sigset_t pending;
                if (errno != EWOULDBLOCK) {
                        r = -errno;
                        goto fail;
                }
                if (sigpending(&pending) >= 0 && (sigismember(&pending, SIGINT) > 0 ||
                                                  sigismember(&pending, SIGTERM) > 0)) {
                        r = -EINTR;
                        goto fail;
                }
                (void) usleep(CLIENT_LOCK_POLL_USEC);
        }
        return 0;
fail:
        if (asprintf(reterr_message, "cannot lock '%s': %s", path, strerror(-r)) < 0)
                *reterr_message = NULL;
        return r;
}

int client_new(sd_event *event, const ClientOptions *o, Client **ret, char **reterr_message) {
        _cleanup_(client_freep) Client *c = NULL;
        static const RpcCallHandlers handlers = {
                .message = on_session_message,
                .closed = on_session_closed,
        };
        sigset_t mask;
        int fd = -EBADF, r;

        *reterr_message = NULL;
        c = calloc(1, sizeof(Client));
        if (!c)
                return -ENOMEM;
        c->lock_fd = -EBADF;
        c->event = sd_event_ref(event);
        c->project_dir = strdup(o->project_dir);
        c->cache_dir = strdup(o->cache_dir);
        c->manifest_dir = strjoin(o->cache_dir, "/manifests");
        c->digest_cache_path = strjoin(o->cache_dir, "/cached-digests");
        c->template_vars = strv_copy(o->template_vars);
        if (!c->project_dir || !c->cache_dir || !c->manifest_dir || !c->digest_cache_path ||
            !c->template_vars)
                return -ENOMEM;

        r = mkdir_p(c->cache_dir, /* mode= */ 0755);
        if (r < 0) {
                if (asprintf(reterr_message, "cannot create the cache directory '%s': %s", c->cache_dir,
                             strerror(-r)) < 0)
                        *reterr_message = NULL;
                return r;
        }
        r = client_lock_cache(c, reterr_message);
        if (r < 0)
                return r;

        r = digest_cache_new(&c->digests);
        if (r < 0)
                return r;
        /* A damaged digest cache only costs hashing again. */
        (void) digest_cache_load(c->digests, c->digest_cache_path);
        r = digest_map_new(/* free_value= */ NULL, &c->sent_blobs);
        if (r < 0)
                return r;
        r = digest_map_new(layer_memo_free, &c->layers);
        if (r < 0)
                return r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;

        /* Fork before gRPC starts its threads. */
        r = spawn_worker(c, o, &fd, reterr_message);
        if (r < 0)
                return r;
        r = sd_event_add_child(event, &c->worker_source, c->worker_pid, WEXITED, on_worker_exit, c);
        if (r < 0) {
                safe_close(fd);
                return r;
        }

        r = rpc_context_new(event, &c->rpc);
        if (r < 0) {
                safe_close(fd);
                return r;
        }
        r = rpc_channel_new_fd_take(c->rpc, fd, /* limits= */ NULL, &c->channel);
        if (r < 0)
                return r;
        r = rpc_channel_call(c->channel, &method_session, &handlers, c, &c->session);
        if (r < 0)
                return r;

        if (o->broker) {
                static const RpcCallHandlers broker_handlers = {
                        .message = on_session_message,
                        .closed = on_broker_session_closed,
                };
                c->broker = strdup(o->broker);
                if (!c->broker)
                        return -ENOMEM;
                r = digest_map_new(/* free_value= */ NULL, &c->offered_blobs);
                if (r < 0)
                        return r;
                r = rpc_channel_new_target(c->rpc, c->broker, /* limits= */ NULL, &c->broker_channel);
                if (r < 0)
                        return set_error_static(reterr_message, r, "cannot set up a channel to the broker");
                r = rpc_channel_call(c->broker_channel, &method_session, &broker_handlers, c,
                                     &c->broker_session);
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(c);
        return 0;
}

static void uploads_free_all(Client *c);

Client *client_free(Client *c) {
        if (!c)
                return NULL;

        while (c->jobs)
                client_job_free(c->jobs);
        uploads_free_all(c);
        c->broker_session = rpc_call_free(c->broker_session);
        c->broker_channel = rpc_channel_free(c->broker_channel);
        digest_map_free(c->offered_blobs);
        free(c->broker);
        c->session = rpc_call_free(c->session);
        c->channel = rpc_channel_free(c->channel);
        c->rpc = rpc_context_free(c->rpc);

        c->worker_source = sd_event_source_disable_unref(c->worker_source);
        if (c->worker_pid > 0) {
                /* The connection is closed: the worker exits by itself.  Give it a moment, then insist. */
                int status;
                for (unsigned i = 0; i < 500; i++) {
                        pid_t p = waitpid(c->worker_pid, &status, WNOHANG);
                        if (p != 0)
                                break;
                        if (i == 499) {
                                (void) kill(c->worker_pid, SIGKILL);
                                (void) waitpid(c->worker_pid, &status, 0);
                                break;
                        }
                        usleep(10 * 1000);
                }
        }

        if (c->digests)
                (void) digest_cache_save(c->digests, c->digest_cache_path);
        /* Last: the worker is gone and the digest cache written. */
        safe_close(c->lock_fd);
        digest_cache_free(c->digests);
        digest_map_free(c->sent_blobs);
        digest_map_free(c->layers);
        for (size_t i = 0; i < c->n_forgotten_layers; i++)
                digest_map_free(c->forgotten_layers[i]);
        free(c->forgotten_layers);
        free(c->missing);
        free(c->by_id);
        strv_free(c->template_vars);
        free(c->project_dir);
        free(c->cache_dir);
        free(c->manifest_dir);
        free(c->digest_cache_path);
        free(c->worker_gone);
        sd_event_unref(c->event);
        free(c);
        return NULL;
}

/* ---- submitting ---- */

/* A text that is the same for two layer specs exactly when they build the same layer in this run. */
static char *layer_spec_key(const LayerSpec *l) {
        TextBuf b = {};
        char *s = NULL;

        textbuf_appendf(&b, "%d\x1f%s\x1f", (int) l->kind, strempty(l->path));
        STRV_FOREACH(p, l->paths) {
                textbuf_append(&b, *p);
                textbuf_append_char(&b, '\x1e');
        }
        textbuf_append_char(&b, '\x1f');
        for (size_t i = 0; i < l->n_symlinks; i++)
                textbuf_appendf(&b, "%s\x1e%s\x1d", l->symlinks[i].link, l->symlinks[i].target);
        textbuf_appendf(&b, "\x1f%d%d\x1f%s\x1e%s", l->prefix.follow_symlinks, l->prefix.canonicalize,
                        l->prefix.strip_prefix ? l->prefix.strip_prefix : "\x01",
                        l->prefix.prepend_prefix ? l->prefix.prepend_prefix : "\x01");
        textbuf_appendf(&b, "\x1f%s\x1f%d", l->library_path ? l->library_path : "\x01",
                        l->skip_cache_directories);
        if (textbuf_steal(&b, &s) < 0)
                return NULL;
        return s;
}

/* To the broker (remote) or to the local worker.  A batched message sets only batch fields (see job.proto):
 * it goes out with the ones queued next to it. */
static int send_message_to(Client *c, bool remote, const Maelstrom__V1__ClientMessage *msg, bool batched) {
        _cleanup_free_ uint8_t *data = NULL;
        RpcCall *call = remote ? c->broker_session : c->session;
        size_t size;
        int r;

        if (remote ? c->broker_session_closed : c->session_closed)
                return -ECONNRESET;
        r = proto_pack(msg, &data, &size);
        if (r < 0)
                return r;
        if (batched)
                return rpc_call_send_batched(call, data, size, /* hold= */ 0);
        return rpc_call_send(call, data, size);
}


/* With a broker, a job runs there unless it needs this machine: a bind mount, the local network, a tty. */
static bool job_runs_remotely(const Client *c, const ResolvedJob *job) {
        if (!c->broker || job->network == NETWORK_LOCAL || job->allocate_tty)
                return false;
        for (size_t i = 0; i < job->n_mounts; i++)
                if (job->mounts[i].type == MOUNT_BIND)
                        return false;
        return true;
}

/* Tell the local worker where a blob's bytes are (size of them), once per run. */
static int send_local_blob(Client *c, const Digest *d, const char *path, uint64_t size) {
        Maelstrom__V1__ClientMessage msg = MAELSTROM__V1__CLIENT_MESSAGE__INIT;
        Maelstrom__V1__LocalBlob b = MAELSTROM__V1__LOCAL_BLOB__INIT, *blobs[] = { &b };
        int r;

        if (digest_map_get(c->sent_blobs, d))
                return 0;
        b.digest.data = (uint8_t *) d->bytes;
        b.digest.len = DIGEST_SIZE;
        b.path = (char *) path;
        msg.n_local_blobs = 1;
        msg.local_blobs = blobs;
        r = send_message_to(c, /* remote= */ false, &msg, /* batched= */ true);
        if (r < 0)
                return r;
        c->sent_blob_bytes += size;
        return digest_map_put(c->sent_blobs, d, (void *) 1);
}

uint64_t client_local_blob_bytes(const Client *c) {
        return c ? c->sent_blob_bytes : 0;
}

/* ---- broker mode: uploading what the broker lacks ---- */

static void upload_free(Upload *u) {
        Client *c = u->client;
        if (u->prev)
                u->prev->next = u->next;
        else
                c->queries = u->next;
        if (u->next)
                u->next->prev = u->prev;
        rpc_call_free(u->query);
        free(u);
}

static void uploads_free_all(Client *c) {
        while (c->queries)
                upload_free(c->queries);
        c->upload = blob_transfer_free(c->upload);
}

static void client_upload_failed(Client *c, const Digest *d, int error) {
        _cleanup_free_ char *why = NULL;
        char hex[DIGEST_HEX_SIZE];

        digest_to_hex(d, hex);
        if (asprintf(&why, "uploading blob %s to the broker failed: %s", hex, strerror(-error)) < 0)
                why = NULL;
        client_fail_jobs(c, /* remote= */ true, why ?: "uploading a blob to the broker failed");
}

static void upload_pump(Client *c);

static void on_upload_done(BlobTransfer *t, int error, void *userdata) {
        Client *c = userdata;
        Digest d = *blob_transfer_digest(t);

        c->upload = blob_transfer_free(c->upload);
        if (error < 0)
                client_upload_failed(c, &d, error);
        upload_pump(c);
}

static void upload_pump(Client *c) {
        while (!c->upload && c->missing_pos < c->n_missing) {
                BlobRef *b = &c->missing[c->missing_pos++];
                int r = blob_upload(c->broker_channel, b->path, &b->digest, on_upload_done, c, &c->upload);
                if (r < 0)
                        client_upload_failed(c, &b->digest, r);
        }
        if (c->missing_pos == c->n_missing) {
                c->missing_pos = c->n_missing = 0;
                c->missing = mfree(c->missing);
        }
}

static int on_missing_blobs_reply(RpcCall *call, const void *data, size_t size, void *userdata) {
        Upload *u = userdata;
        Client *c = u->client;
        _cleanup_(proto_freep) Maelstrom__V1__MissingBlobsReply *reply = NULL;
        int r;

        r = proto_unpack(&maelstrom__v1__missing_blobs_reply__descriptor, data, size, (void **) &reply);
        if (r < 0)
                return r;
        /* In the layer's order, whatever order the reply has. */
        for (size_t i = 0; i < u->layer->n_blobs; i++) {
                const BlobRef *b = &u->layer->blobs[i];
                bool missing = false;
                for (size_t k = 0; k < reply->n_digests && !missing; k++)
                        missing = reply->digests[k].len == DIGEST_SIZE &&
                                  memcmp(reply->digests[k].data, b->digest.bytes, DIGEST_SIZE) == 0;
                if (!missing)
                        continue;
                BlobRef *n = reallocarray(c->missing, c->n_missing + 1, sizeof(BlobRef));
                if (!n)
                        return -ENOMEM;
                c->missing = n;
                c->missing[c->n_missing++] = *b;
        }
        upload_pump(c);
        return 0;
}

static void on_missing_blobs_closed(RpcCall *call, RpcStatus status, const char *message, void *userdata) {
        Upload *u = userdata;
        Client *c = u->client;
        int r = rpc_status_to_errno(status);

        if (r < 0 && u->layer->n_blobs > 0)
                client_upload_failed(c, &u->layer->blobs[u->layer->n_blobs - 1].digest, r);
        upload_free(u);
}

/* Asks the broker which of the layer's blobs it lacks (once per run for each blob), and uploads those. */
static int client_offer_layer(Client *c, LayerMemo *l) {
        static const RpcCallHandlers handlers = {
                .message = on_missing_blobs_reply,
                .closed = on_missing_blobs_closed,
        };
        Maelstrom__V1__MissingBlobsRequest req = MAELSTROM__V1__MISSING_BLOBS_REQUEST__INIT;
        _cleanup_free_ ProtobufCBinaryData *digests = NULL;
        Upload *u;
        int r;

        if (l->offered)
                return 0;
        digests = calloc(l->n_blobs ?: 1, sizeof(ProtobufCBinaryData));
        if (!digests)
                return -ENOMEM;
        for (size_t i = 0; i < l->n_blobs; i++) {
                if (digest_map_get(c->offered_blobs, &l->blobs[i].digest))
                        continue;
                r = digest_map_put(c->offered_blobs, &l->blobs[i].digest, (void *) 1);
                if (r < 0)
                        return r;
                digests[req.n_digests++] = (ProtobufCBinaryData) { DIGEST_SIZE, l->blobs[i].digest.bytes };
        }
        l->offered = true;
        if (req.n_digests == 0)
                return 0;
        req.digests = digests;

        u = calloc(1, sizeof(Upload));
        if (!u)
                return -ENOMEM;
        u->client = c;
        u->layer = l;
        u->next = c->queries;
        if (c->queries)
                c->queries->prev = u;
        c->queries = u;
        r = rpc_channel_call(c->broker_channel, &method_missing_blobs, &handlers, u, &u->query);
        if (r >= 0)
                r = blob_call_send_message(u->query, &req);
        if (r < 0)
                upload_free(u);
        return r;
}

static int layer_memo_add_blob(LayerMemo *l, const Digest *d, const char *path) {
        BlobRef *n = reallocarray(l->blobs, l->n_blobs + 1, sizeof(BlobRef));
        if (!n)
                return -ENOMEM;
        l->blobs = n;
        l->blobs[l->n_blobs].digest = *d;
        l->blobs[l->n_blobs].path = strdup(path);
        if (!l->blobs[l->n_blobs].path)
                return -ENOMEM;
        l->n_blobs++;
        return 0;
}

int client_forget_layers(Client *c) {
        _cleanup_(digest_map_freep) DigestMap *fresh = NULL;
        DigestMap **forgotten;
        int r;

        if (digest_map_size(c->layers) == 0)
                return 0;
        r = digest_map_new(layer_memo_free, &fresh);
        if (r < 0)
                return r;
        forgotten = reallocarray(c->forgotten_layers, c->n_forgotten_layers + 1, sizeof(DigestMap *));
        if (!forgotten)
                return -ENOMEM;
        c->forgotten_layers = forgotten;
        c->forgotten_layers[c->n_forgotten_layers++] = c->layers;
        c->layers = TAKE_PTR(fresh);
        return 0;
}

static int client_layer(Client *c, const LayerSpec *spec, LayerMemo **ret, char **reterr_message) {
        _cleanup_(built_layer_freep) BuiltLayer *built = NULL;
        _cleanup_free_ char *key = layer_spec_key(spec);
        Digest key_digest;
        LayerMemo *memo;
        int r;

        if (!key)
                return -ENOMEM;
        /* Keyed by the digest of the key text: one lookup however many distinct layers a run has. */
        digest_buffer(key, strlen(key), &key_digest);
        memo = digest_map_get(c->layers, &key_digest);
        if (memo) {
                *ret = memo;
                return 0;
        }

        r = layer_build(spec, c->project_dir, c->template_vars, c->digests, c->manifest_dir, &built,
                        reterr_message);
        if (r < 0)
                return r;
        for (size_t i = 0; i < built->n_blobs; i++) {
                r = send_local_blob(c, &built->blobs[i].digest, built->blobs[i].path, built->blobs[i].size);
                if (r < 0)
                        return r;
        }
        struct stat st;
        r = send_local_blob(c, &built->digest, built->path,
                            stat(built->path, &st) >= 0 ? (uint64_t) st.st_size : 0);
        if (r < 0)
                return r;

        memo = calloc(1, sizeof(LayerMemo));
        if (!memo)
                return -ENOMEM;
        memo->kind = built->kind;
        memo->digest = built->digest;
        for (size_t i = 0; c->broker && i < built->n_blobs && r >= 0; i++)
                r = layer_memo_add_blob(memo, &built->blobs[i].digest, built->blobs[i].path);
        if (c->broker && r >= 0)
                r = layer_memo_add_blob(memo, &built->digest, built->path);
        if (r < 0) {
                layer_memo_free(memo);
                return r;
        }
        r = digest_map_put(c->layers, &key_digest, memo);
        if (r < 0) {
                layer_memo_free(memo);
                return r;
        }
        *ret = memo;
        return 0;
}


int client_submit(Client *c, const ResolvedJob *job, const ClientJobHandlers *handlers, void *userdata,
                  ClientJob **ret, char **reterr_message) {
        Maelstrom__V1__ClientMessage msg = MAELSTROM__V1__CLIENT_MESSAGE__INIT;
        Maelstrom__V1__Submit submit = MAELSTROM__V1__SUBMIT__INIT, *submits[] = { &submit };
        Maelstrom__V1__JobSpec spec = MAELSTROM__V1__JOB_SPEC__INIT;
        Maelstrom__V1__TtySize tty = MAELSTROM__V1__TTY_SIZE__INIT;
        _cleanup_free_ Maelstrom__V1__Layer *layers = NULL, **layer_ptrs = NULL;
        _cleanup_free_ Maelstrom__V1__Mount *mounts = NULL, **mount_ptrs = NULL;
        _cleanup_strv_free_ char **bind_paths = NULL;
        _cleanup_free_ char **device_names = NULL;
        size_t n_devices = 0;
        int r;

        *reterr_message = NULL;
        bool remote = job_runs_remotely(c, job);
        if (remote && c->broker_session_closed)
                return set_error(reterr_message, -ECONNRESET, "the connection to the broker %s is lost",
                                 c->broker);
        if (!remote && (c->session_closed || c->worker_ended))
                return set_error(reterr_message, -ECONNRESET, "the local worker is gone: %s",
                                 client_local_worker_gone(c));
        if (job->image)
                return set_error(reterr_message, -EOPNOTSUPP,
                                 "container images ('%s') are not available yet in this version",
                                 job->image);

        layers = calloc(job->n_layers ?: 1, sizeof(Maelstrom__V1__Layer));
        layer_ptrs = calloc(job->n_layers ?: 1, sizeof(Maelstrom__V1__Layer *));
        mounts = calloc(job->n_mounts ?: 1, sizeof(Maelstrom__V1__Mount));
        mount_ptrs = calloc(job->n_mounts ?: 1, sizeof(Maelstrom__V1__Mount *));
        bind_paths = calloc(job->n_mounts + 1, sizeof(char *));
        device_names = calloc(job->n_mounts * _DEVICE_MAX + 1, sizeof(char *));
        if (!layers || !layer_ptrs || !mounts || !mount_ptrs || !bind_paths || !device_names)
                return -ENOMEM;

        for (size_t i = 0; i < job->n_layers; i++) {
                LayerMemo *l;
                r = client_layer(c, &job->layers[i], &l, reterr_message);
                if (r < 0)
                        return r;
                if (remote) {
                        r = client_offer_layer(c, l);
                        if (r < 0)
                                return r;
                }
                layers[i] = (Maelstrom__V1__Layer) MAELSTROM__V1__LAYER__INIT;
                layers[i].digest.data = l->digest.bytes;
                layers[i].digest.len = DIGEST_SIZE;
                layers[i].kind = l->kind == BUILT_LAYER_TAR ? MAELSTROM__V1__LAYER_KIND__LAYER_KIND_TAR
                                                            : MAELSTROM__V1__LAYER_KIND__LAYER_KIND_MANIFEST;
                layer_ptrs[i] = &layers[i];
        }

        for (size_t i = 0, nb = 0; i < job->n_mounts; i++) {
                const JobMount *jm = &job->mounts[i];
                Maelstrom__V1__Mount *m = &mounts[i];

                *m = (Maelstrom__V1__Mount) MAELSTROM__V1__MOUNT__INIT;
                m->mount_point = jm->mount_point ?: (char *) "";
                switch (jm->type) {
                case MOUNT_TMP:
                        m->type = MAELSTROM__V1__MOUNT_TYPE__MOUNT_TYPE_TMP;
                        break;
                case MOUNT_PROC:
                        m->type = MAELSTROM__V1__MOUNT_TYPE__MOUNT_TYPE_PROC;
                        break;
                case MOUNT_SYS:
                        m->type = MAELSTROM__V1__MOUNT_TYPE__MOUNT_TYPE_SYS;
                        break;
                case MOUNT_DEVPTS:
                        m->type = MAELSTROM__V1__MOUNT_TYPE__MOUNT_TYPE_DEVPTS;
                        break;
                case MOUNT_MQUEUE:
                        m->type = MAELSTROM__V1__MOUNT_TYPE__MOUNT_TYPE_MQUEUE;
                        break;
                case MOUNT_BIND: {
                        /* Bind sources are relative to the project directory; the worker gets them
                         * absolute. */
                        char *abs = jm->local_path[0] == '/' ? strdup(jm->local_path)
                                                             : strjoin(c->project_dir, "/", jm->local_path);
                        if (!abs)
                                return -ENOMEM;
                        bind_paths[nb++] = abs;
                        if (access(abs, F_OK) < 0)
                                return set_error(reterr_message, -errno,
                                                 "bind mount source '%s' does not exist", jm->local_path);
                        m->type = MAELSTROM__V1__MOUNT_TYPE__MOUNT_TYPE_BIND;
                        m->local_path = abs;
                        m->read_only = jm->read_only;
                        break;
                }
                case MOUNT_DEVICES:
                        m->type = MAELSTROM__V1__MOUNT_TYPE__MOUNT_TYPE_DEVICES;
                        m->devices = device_names + n_devices;
                        for (Device d = 0; d < _DEVICE_MAX; d++)
                                if (jm->devices & (1u << d)) {
                                        device_names[n_devices++] = (char *) device_to_string(d);
                                        m->n_devices++;
                                }
                        break;
                case _MOUNT_TYPE_MAX:
                case _MOUNT_TYPE_INVALID:
                        return -EINVAL;
                }
                mount_ptrs[i] = m;
        }

        spec.program = job->program;
        spec.arguments = job->arguments;
        spec.n_arguments = strv_length(job->arguments);
        spec.environment = job->environment;
        spec.n_environment = strv_length(job->environment);
        spec.layers = layer_ptrs;
        spec.n_layers = job->n_layers;
        spec.mounts = mount_ptrs;
        spec.n_mounts = job->n_mounts;
        spec.network = (Maelstrom__V1__Network) job->network;
        spec.enable_writable_file_system = job->enable_writable_file_system;
        spec.working_directory = job->working_directory;
        spec.user = job->user;
        spec.group = job->group;
        spec.timeout_usec = job->timeout;
        spec.priority = job->priority;
        spec.estimated_duration_usec = job->estimated_duration;
        spec.capture_file_system_changes = job->capture_file_system_changes;
        if (job->allocate_tty) {
                tty.rows = job->tty.rows;
                tty.columns = job->tty.columns;
                spec.tty = &tty;
        }

        if (c->next_id >= c->n_by_id_allocated) {
                size_t n = MAX(c->n_by_id_allocated * 2, (size_t) 1024);
                ClientJob **by_id = reallocarray(c->by_id, n, sizeof(ClientJob *));
                if (!by_id)
                        return -ENOMEM;
                c->by_id = by_id;
                c->n_by_id_allocated = n;
        }
        ClientJob *j = calloc(1, sizeof(ClientJob));
        if (!j)
                return -ENOMEM;
        j->client = c;
        j->id = c->next_id + 1;
        j->remote = remote;
        if (handlers)
                j->handlers = *handlers;
        j->userdata = userdata;

        submit.job_id = j->id;
        submit.spec = &spec;
        msg.n_submits = 1;
        msg.submits = submits;
        r = send_message_to(c, remote, &msg, /* batched= */ true);
        if (r < 0) {
                free(j);
                return r;
        }

        c->next_id = j->id;
        c->by_id[j->id - 1] = j;
        j->next = c->jobs;
        if (c->jobs)
                c->jobs->prev = j;
        c->jobs = j;
        c->n_jobs++;
        if (ret)
                *ret = j;
        return 0;
}

void client_job_cancel(ClientJob *j) {
        Maelstrom__V1__ClientMessage msg = MAELSTROM__V1__CLIENT_MESSAGE__INIT;
        Maelstrom__V1__Cancel cancel = MAELSTROM__V1__CANCEL__INIT, *cancels[] = { &cancel };

        cancel.job_id = j->id;
        msg.n_cancels = 1;
        msg.cancels = cancels;
        (void) send_message_to(j->client, j->remote, &msg, /* batched= */ true);
        client_job_free(j);
}

int client_job_tty_write(ClientJob *j, const void *data, size_t size) {
        Maelstrom__V1__ClientMessage msg = MAELSTROM__V1__CLIENT_MESSAGE__INIT;
        Maelstrom__V1__TtyInput in = MAELSTROM__V1__TTY_INPUT__INIT;

        in.job_id = j->id;
        in.data.data = (uint8_t *) data;
        in.data.len = size;
        msg.kind_case = MAELSTROM__V1__CLIENT_MESSAGE__KIND_TTY_INPUT;
        msg.tty_input = &in;
        return send_message_to(j->client, j->remote, &msg, /* batched= */ false);
}

int client_job_tty_resize(ClientJob *j, unsigned short rows, unsigned short columns) {
        Maelstrom__V1__ClientMessage msg = MAELSTROM__V1__CLIENT_MESSAGE__INIT;
        Maelstrom__V1__TtyResize resize = MAELSTROM__V1__TTY_RESIZE__INIT;
        Maelstrom__V1__TtySize size = MAELSTROM__V1__TTY_SIZE__INIT;

        size.rows = rows;
        size.columns = columns;
        resize.job_id = j->id;
        resize.size = &size;
        msg.kind_case = MAELSTROM__V1__CLIENT_MESSAGE__KIND_TTY_RESIZE;
        msg.tty_resize = &resize;
        return send_message_to(j->client, j->remote, &msg, /* batched= */ false);
}
