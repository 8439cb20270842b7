/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include "basic/string-util.h"
#include "spec/spec.h"

/* The parent chain of a job: nodes[0] is the job's own container, nodes[i + 1] the named container that
 * nodes[i] inherits from.  use[i] is what the job takes from nodes[i]: the fields that every link from the
 * job up to it uses. */
typedef struct Chain {
        const ContainerSpec *nodes[SPEC_CONTAINER_CHAIN_MAX + 1];
        unsigned use[SPEC_CONTAINER_CHAIN_MAX + 1];
        size_t n;
        const ContainerParent *image; /* the image the chain ends in, NULL = none */
        unsigned image_use;
} Chain;

static int chain_cycle_error(const Chain *c, size_t first, const char *name, SpecError *e) {
        TextBuf b = {};

        /* nodes[i] for i >= 1 was reached through nodes[i - 1]->parent->name. */
        for (size_t i = first; i < c->n; i++)
                textbuf_appendf(&b, "'%.64s' -> ", c->nodes[i - 1]->parent->name);
        textbuf_appendf(&b, "'%.64s'", name);
        if (b.oom) {
                textbuf_done(&b);
                return -ENOMEM;
        }
        spec_error_set_field(e, EINVAL, "parent", "containers inherit from each other in a cycle: %s",
                             b.data);
        textbuf_done(&b);
        return -EINVAL;
}

static int chain_build(const ContainerSpec *c, ContainerLookupFunc lookup, void *userdata, Chain *ret,
                       SpecError *e) {
        ret->nodes[0] = c;
        ret->use[0] = USE_CONTAINER_ALL;
        ret->n = 1;
        ret->image = NULL;
        ret->image_use = 0;

        for (;;) {
                const ContainerSpec *last = ret->nodes[ret->n - 1];
                const ContainerParent *p = last->parent;
                unsigned use = ret->use[ret->n - 1] & (p ? p->use : 0);

                if (!p)
                        return 0;
                if (p->is_image) {
                        ret->image = p;
                        ret->image_use = use & USE_IMAGE_ALL;
                        return 0;
                }

                /* A name seen before on this chain closes a cycle. */
                for (size_t i = 1; i < ret->n; i++)
                        if (streq(ret->nodes[i - 1]->parent->name, p->name))
                                return chain_cycle_error(ret, i, p->name, e);
                if (ret->n > SPEC_CONTAINER_CHAIN_MAX)
                        return spec_error_set_field(e, E2BIG, "parent",
                                                    "containers inherit through more than %u levels",
                                                    SPEC_CONTAINER_CHAIN_MAX);

                const ContainerSpec *next = lookup ? lookup(p->name, userdata) : NULL;
                if (!next)
                        return spec_error_set_field(e, EINVAL, "parent", "unknown container '%.64s'",
                                                    p->name);
                ret->nodes[ret->n] = next;
                ret->use[ret->n] = use;
                ret->n++;
        }
}

int job_spec_find_image(const JobSpec *job, ContainerLookupFunc lookup, void *userdata,
                        const char **ret_image, unsigned *ret_use, SpecError *reterr) {
        Chain chain;
        int r;

        r = chain_build(&job->container, lookup, userdata, &chain, reterr);
        if (r < 0)
                return r;
        *ret_image = chain.image ? chain.image->name : NULL;
        *ret_use = chain.image_use;
        return 0;
}

/* The first node, walking up, that the job takes the field (bit) from and for which is_set (an expression
 * of node) holds; NULL = none. */
#define CHAIN_FIND(chain, bit, node, is_set)                                            \
        ({                                                                              \
                const ContainerSpec *_found_ = NULL;                                    \
                for (size_t _i_ = 0; _i_ < (chain)->n && !_found_; _i_++) {             \
                        const ContainerSpec *node = (chain)->nodes[_i_];                \
                        if (((chain)->use[_i_] & (bit)) && (is_set))                    \
                                _found_ = node;                                         \
                }                                                                       \
                _found_;                                                                \
        })

/* A container's own list is its list followed by its added list. */
static int append_own_list(void **array, size_t *n_array, const void *list, size_t n_list, const void *added,
                           size_t n_added, size_t size, int (*copy)(const void *src, void *dst)) {
        int r = spec_array_append_copies(array, n_array, list, n_list, size, copy);
        if (r < 0)
                return r;
        return spec_array_append_copies(array, n_array, added, n_added, size, copy);
}

static int layer_copy(const void *src, void *dst) {
        return layer_spec_copy(src, dst);
}

static int mount_copy(const void *src, void *dst) {
        return job_mount_copy(src, dst);
}

/* Lists: the farthest ancestor's first, while the chain keeps using the field. */
static int collapse_lists(const Chain *chain, ResolvedJob *j, EnvironmentSpec **ret_env, size_t *ret_n_env) {
        _cleanup_free_ EnvironmentSpec *env = NULL; /* borrowed elements */
        size_t n_env = 0;
        int r;

        for (size_t k = chain->n; k > 0; k--) {
                const ContainerSpec *c = chain->nodes[k - 1];
                unsigned use = chain->use[k - 1];

                if (use & USE_LAYERS) {
                        r = append_own_list((void **) &j->layers, &j->n_layers, c->layers, c->n_layers,
                                            c->added_layers, c->n_added_layers, sizeof(LayerSpec),
                                            layer_copy);
                        if (r < 0)
                                return r;
                }
                if (use & USE_MOUNTS) {
                        r = append_own_list((void **) &j->mounts, &j->n_mounts, c->mounts, c->n_mounts,
                                            c->added_mounts, c->n_added_mounts, sizeof(JobMount),
                                            mount_copy);
                        if (r < 0)
                                return r;
                }
                if (use & USE_ENVIRONMENT) {
                        size_t more = c->n_environment + c->n_added_environment;
                        EnvironmentSpec *e = reallocarray(env, n_env + more + 1, sizeof(EnvironmentSpec));
                        if (!e)
                                return -ENOMEM;
                        env = e;
                        for (size_t i = 0; i < c->n_environment; i++)
                                env[n_env++] = c->environment[i];
                        for (size_t i = 0; i < c->n_added_environment; i++)
                                env[n_env++] = c->added_environment[i];
                }
        }

        *ret_env = TAKE_PTR(env);
        *ret_n_env = n_env;
        return 0;
}

int job_spec_collapse(const JobSpec *job, ContainerLookupFunc lookup, void *userdata,
                      const ImageConfig *image, char * const *client_environment, ResolvedJob **ret,
                      SpecError *reterr) {
        _cleanup_(resolved_job_freep) ResolvedJob *j = NULL;
        _cleanup_free_ EnvironmentSpec *env = NULL;
        const ContainerSpec *c;
        size_t n_env = 0;
        Chain chain;
        int r;

        if (!job->program)
                return spec_error_set_field(reterr, EINVAL, "program", "missing field 'program'");
        r = chain_build(&job->container, lookup, userdata, &chain, reterr);
        if (r < 0)
                return r;

        j = calloc(1, sizeof(ResolvedJob));
        if (!j)
                return -ENOMEM;

        if (chain.image) {
                j->image = strdup(chain.image->name);
                if (!j->image)
                        return -ENOMEM;
                j->image_use = chain.image_use;
        }

        r = collapse_lists(&chain, j, &env, &n_env);
        if (r < 0)
                return r;

        /* Scalars: the first value up the chain, else the image's, else the default. */
        c = CHAIN_FIND(&chain, USE_NETWORK, node, node->network_set);
        j->network = c ? c->network : NETWORK_DISABLED;
        c = CHAIN_FIND(&chain, USE_ENABLE_WRITABLE_FILE_SYSTEM, node, node->enable_writable_file_system_set);
        j->enable_writable_file_system = c && c->enable_writable_file_system;
        c = CHAIN_FIND(&chain, USE_USER, node, node->user_set);
        j->user = c ? c->user : 0;
        c = CHAIN_FIND(&chain, USE_GROUP, node, node->group_set);
        j->group = c ? c->group : 0;
        c = CHAIN_FIND(&chain, USE_WORKING_DIRECTORY, node, node->working_directory);
        const char *wd = c ? c->working_directory
                : (j->image_use & USE_WORKING_DIRECTORY) && image && image->working_directory
                        ? image->working_directory
                        : "/";
        j->working_directory = strdup(wd);
        if (!j->working_directory)
                return -ENOMEM;

        r = environment_evaluate(env, n_env,
                                 (j->image_use & USE_ENVIRONMENT) && image ? image->environment : NULL,
                                 client_environment, &j->environment, reterr);
        if (r < 0)
                return r;

        if (j->n_layers == 0 && !(j->image_use & USE_LAYERS))
                return spec_error_set_field(reterr, EINVAL, "layers",
                                            "no layers: a job needs at least one layer, or an image whose "
                                            "layers it uses");
        if (j->network == NETWORK_LOCAL)
                for (size_t i = 0; i < j->n_mounts; i++)
                        if (j->mounts[i].type == MOUNT_SYS)
                                return spec_error_set_field(reterr, EINVAL, "mounts",
                                                            "the 'sys' mount on '%.64s' is not compatible "
                                                            "with local networking",
                                                            j->mounts[i].mount_point);

        j->program = strdup(job->program);
        j->arguments = strv_copy(job->arguments);
        if (!j->program || !j->arguments)
                return -ENOMEM;
        j->timeout = job->timeout;
        j->estimated_duration = job->estimated_duration;
        j->priority = job->priority;
        if (job->tty) {
                j->allocate_tty = true;
                j->tty = *job->tty;
        }
        j->capture_file_system_changes = job->capture_file_system_changes;

        *ret = TAKE_PTR(j);
        return 0;
}
