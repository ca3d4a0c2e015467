/* Host-side sandbox handles: create/attach/destroy on a named backend,
 * exec (streaming and captured), pause/resume, files and jobs.  The
 * optional slots go through the table completed at load
 * (sandbox_table.c), so nothing here decides between native and emulated. */
#include "base/internal.h" /* crl_plugins_sandbox_table */
#include "sandbox/sandbox_internal.h"
#include "crl_common.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int crl_sandbox_plugin(corral_ctx *ctx, const char *backend, const struct corral_plugin_record **rec,
                          const struct crl_sandbox_table **tbl, struct corral_call *call)
{
    *rec = ctx ? corral_plugin_find(ctx, CORRAL_PLUGIN_SANDBOX, backend) : NULL;
    *tbl = *rec ? crl_plugins_sandbox_table(ctx, *rec) : NULL;
    if (!*rec || !(*rec)->desc || !(*rec)->desc->ops || !*tbl)
        return corral_call_fail(call, CORRAL_ENOTFOUND,
                                "no sandbox backend '%s' is loaded (see `corral plugins`)", backend);
    const struct corral_sandbox_ops *ops = (*rec)->desc->ops;
    if (!CORRAL_HAS(ops, create) || !CORRAL_HAS(ops, exec) || !CORRAL_HAS(ops, destroy) ||
        !CORRAL_HAS(ops, close))
        return corral_call_fail(call, CORRAL_EINVAL,
                                "the %s sandbox backend lacks create/exec/destroy/close", backend);
    return 0;
}

static corral_sandbox *handle_new(const struct corral_plugin_record *rec, const struct crl_sandbox_table *tbl,
                                  const char *id)
{
    corral_sandbox *sb = calloc(1, sizeof *sb);
    if (!sb)
        return NULL;
    sb->rec = rec;
    sb->ops = rec->desc->ops;
    sb->tbl = tbl;
    sb->serial = !(sb->ops->caps & CORRAL_CAP_CONCURRENT);
    pthread_mutex_init(&sb->lock, NULL);
    sb->ps = rec->state;
    snprintf(sb->id, sizeof sb->id, "%s", id);
    snprintf(sb->backend, sizeof sb->backend, "%s", rec->name);
    return sb;
}

/* Free a host handle whose plugin handle is released (or never was). */
static void handle_free(corral_sandbox *sb)
{
    crl_sandbox_limits_release(sb->limit_slot);
    pthread_mutex_destroy(&sb->lock);
    free(sb);
}

/* sandbox.h's failure rule: a handle a failed create/attach left in
 * *out is the host's to close, once. */
static void handle_failed(corral_sandbox *sb)
{
    if (sb->sbx)
        sb->ops->close(sb->sbx);
    handle_free(sb);
}

/* Calls on one handle of a plugin without CORRAL_CAP_CONCURRENT run one
 * at a time (sandbox.h, "Concurrency"). */
static void enter(corral_sandbox *sb)
{
    if (sb->serial)
        pthread_mutex_lock(&sb->lock);
}

static int leave(corral_sandbox *sb, int rc)
{
    if (sb->serial)
        pthread_mutex_unlock(&sb->lock);
    return rc;
}

int64_t crl_state_storage_bytes(const char *state_json)
{
    cJSON *o = state_json ? cJSON_Parse(state_json) : NULL;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "storage_bytes");
    int64_t n = cJSON_IsNumber(v) && v->valuedouble > 0 && v->valuedouble < 9e18 ? (int64_t)v->valuedouble : 0;
    cJSON_Delete(o);
    return n;
}

int corral_sandbox_create(corral_ctx *ctx, const struct corral_sandbox_create_opts *opts,
                          const struct corral_sandbox_spec *spec_in, corral_sandbox **out,
                          struct corral_call *call)
{
    *out = NULL;
    if (!opts || !opts->backend || !spec_in)
        return corral_call_fail(call, CORRAL_EINVAL, "sandbox create needs a backend and a spec");
    const char *rollout = CORRAL_HAS_FIELD(opts, rollout) && opts->rollout ? opts->rollout : "";
    int no_registry = CORRAL_HAS_FIELD(opts, no_registry) ? opts->no_registry : 0;
    const struct corral_plugin_record *rec;
    const struct crl_sandbox_table *tbl;
    int rc = crl_sandbox_plugin(ctx, opts->backend, &rec, &tbl, call);
    if (rc)
        return rc;

    for (size_t i = 0; spec_in->labels && spec_in->labels[i]; i++)
        if (!corral_label_valid(spec_in->labels[i], 0))
            return corral_call_fail(call, CORRAL_EINVAL,
                                    "bad label '%s': want key=value, key [A-Za-z0-9][A-Za-z0-9._/-]* not "
                                    "starting with corral., value [A-Za-z0-9._:@/+,-]*",
                                    spec_in->labels[i]);
    for (size_t i = 0; spec_in->env && spec_in->env[i]; i++)
        if (!corral_env_entry_valid(spec_in->env[i])) {
            /* Print the name only: the value may be a secret. */
            const char *eq = strchr(spec_in->env[i], '=');
            int nl = eq ? (int)(eq - spec_in->env[i]) : (int)strlen(spec_in->env[i]);
            return corral_call_fail(call, CORRAL_EINVAL, "bad env entry '%.*s': want NAME=value with NAME "
                                    "matching ^[A-Za-z_][A-Za-z0-9_]*$", nl > 64 ? 64 : nl, spec_in->env[i]);
        }
    char rl[320];
    snprintf(rl, sizeof rl, "corral.rollout=%s", rollout);
    if (!corral_label_valid(rl, 1))
        return corral_call_fail(call, CORRAL_EINVAL, "bad rollout id '%s'", rollout);

    struct corral_sandbox_spec spec = *spec_in;
    spec.struct_size = sizeof spec;
    if (spec.ttl_s <= 0)
        spec.ttl_s = CORRAL_SANDBOX_DEFAULT_TTL_S;
    char id[96], l_id[128], l_owner[320], l_deadline[64], owner[256], l_lease[320];
    rc = corral_sandbox_id_new(rec->name, id, sizeof id, call);
    if (rc)
        return rc;
    corral_sandbox_owner(owner, sizeof owner);
    int64_t deadline = (int64_t)time(NULL) + spec.ttl_s;
    snprintf(l_id, sizeof l_id, "corral.id=%s", id);
    snprintf(l_owner, sizeof l_owner, "corral.owner=%s", owner);
    snprintf(l_deadline, sizeof l_deadline, "corral.deadline=%lld", (long long)deadline);
    size_t nl = crl_strv_len(spec_in->labels);
    int lease = CORRAL_HAS_FIELD(opts, owner_lease) && opts->owner_lease;
    if (lease) {
        char tok[300];
        if (crl_owner_token(tok, sizeof tok) < 0)
            return corral_call_fail(call, CORRAL_EIO, "cannot name this process for the sandbox's lease");
        snprintf(l_lease, sizeof l_lease, "corral.lease=%s", tok);
    }
    const char **labels = calloc(nl + 6, sizeof *labels);
    if (!labels)
        return corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
    for (size_t i = 0; i < nl; i++)
        labels[i] = spec_in->labels[i];
    labels[nl] = l_id;
    labels[nl + 1] = l_owner;
    labels[nl + 2] = rl;
    labels[nl + 3] = l_deadline;
    labels[nl + 4] = lease ? l_lease : NULL;
    spec.labels = labels;
    spec.id = id;

    if (!no_registry) {
        /* A registry we cannot write (a relative CORRAL_STATE_DIR, say) is
         * found before a remote sandbox exists, not after. */
        char dir[PATH_MAX - 128];
        if ((rc = corral_registry_dir(dir, sizeof dir, call)) != 0) {
            free(labels);
            return rc;
        }
    }
    corral_sandbox *sb = handle_new(rec, tbl, id);
    if (!sb) {
        free(labels);
        return corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
    }
    const struct corral_sandbox_ops *ops = sb->ops;
    if (CORRAL_HAS_FIELD(spec_in, storage_bytes) && spec_in->storage_bytes > 0 && !(ops->caps & CORRAL_CAP_STORAGE)) {
        /* A limit nobody enforces is worse than none: say so. */
        free(labels);
        handle_free(sb);
        return corral_call_fail(call, CORRAL_ENOTSUP,
                                "the %s backend cannot enforce a storage limit (resources.storage_mb): use a "
                                "backend that can (local) or drop the limit", rec->name);
    }
    /* An image is resolved (maybe pulled) before a concurrency slot is
     * taken: a long pull must not hold one. */
    struct crl_sandbox_image image;
    if ((rc = crl_sandbox_image_apply(ctx, ops, &spec, &image, call)) != 0) {
        free(labels);
        handle_free(sb);
        return rc;
    }
    if ((rc = crl_sandbox_limits_acquire(ctx, sb->backend, rollout, &sb->limit_slot, call)) != 0) {
        free(labels);
        crl_sandbox_image_release(&image);
        handle_free(sb);
        return rc;
    }
    /* The entry exists before the remote sandbox may: a corral killed
     * during create (SIGKILL while it waits for "running") leaves a sandbox
     * the backend lists by name, without the labels a later step writes
     * (Islo); gc then knows its deadline, and that its creator is gone.
     * Only where list() can tell whether anything was made. */
    int pending = !no_registry && CORRAL_HAS(ops, list);
    int durable = !(ops->caps & CORRAL_CAP_HOST_BOUND); /* a machine crash ends a host-bound sandbox */
    if (pending && (rc = crl_registry_put_pending(id, sb->backend, deadline, durable, call)) != 0) {
        free(labels);
        crl_sandbox_image_release(&image);
        handle_free(sb);
        return rc;
    }
    rc = ops->create(sb->ps, &spec, &sb->sbx, call);
    free(labels);
    crl_sandbox_image_release(&image);
    if (rc == 0 && !sb->sbx)
        rc = corral_call_fail(call, CORRAL_EINTERNAL, "the %s backend's create returned no handle", sb->backend);
    if (rc) {
        /* A failed create took down what it made (the plugin's contract). */
        if (pending) {
            struct corral_call c2;
            corral_call_init(&c2, 0);
            corral_registry_del(id, &c2);
        }
        handle_failed(sb);
        return rc;
    }
    if (spec.network == CORRAL_NET_POLICY && !(ops->caps & CORRAL_CAP_EGRESS_RULES)) {
        /* A backend that does not declare it enforces a policy must refuse
         * one (with its reason); one that accepted it would run open. */
        struct corral_call c2;
        corral_call_init(&c2, 60000);
        ops->destroy(sb->sbx, &c2);
        ops->close(sb->sbx);
        if (pending)
            corral_registry_del(id, &c2);
        handle_free(sb);
        return corral_call_fail(call, CORRAL_ENOTSUP,
                                "the %s backend accepted an egress policy without declaring that it enforces one "
                                "(CORRAL_CAP_EGRESS_RULES): refused, the sandbox is destroyed",
                                rec->name);
    }
    sb->storage_bytes = CORRAL_HAS_FIELD(spec_in, storage_bytes) ? spec_in->storage_bytes : 0;
    if (!no_registry) {
        char *state = NULL;
        if (CORRAL_HAS(ops, state)) {
            rc = ops->state(sb->sbx, &state, call);
        } else {
            rc = 0;
        }
        if (rc == 0 && crl_state_storage_bytes(state) > 0)
            sb->storage_bytes = crl_state_storage_bytes(state); /* the backend's default limit */
        if (rc == 0)
            rc = (pending ? crl_registry_put_created : corral_registry_put)(id, sb->backend, state ? state : "{}",
                                                                            deadline, call);
        free(state);
        if (rc) {
            /* A sandbox nobody can find again is a leak: take it down. */
            struct corral_call c2;
            corral_call_init(&c2, 60000);
            ops->destroy(sb->sbx, &c2);
            ops->close(sb->sbx);
            handle_free(sb);
            return rc;
        }
    }
    *out = sb;
    return 0;
}

int corral_sandbox_attach(corral_ctx *ctx, const char *id, corral_sandbox **out, struct corral_call *call)
{
    *out = NULL;
    char *backend = NULL, *state = NULL;
    int rc = corral_registry_get(id, &backend, &state, NULL, call);
    if (rc)
        return rc;
    if (crl_registry_pending_gone(state) >= 0) {
        /* No plugin state yet: nothing to reattach to. */
        int gone = crl_registry_pending_gone(state) == 1;
        free(backend);
        free(state);
        return corral_call_fail(call, CORRAL_ESTATE, "sandbox %s %s", id,
                                gone ? "was being created by a corral that is gone (`corral gc` removes it)"
                                     : "is still being created");
    }
    const struct corral_plugin_record *rec;
    const struct crl_sandbox_table *tbl;
    rc = crl_sandbox_plugin(ctx, backend, &rec, &tbl, call);
    free(backend);
    if (rc) {
        free(state);
        return rc;
    }
    corral_sandbox *sb = handle_new(rec, tbl, id);
    if (!sb) {
        free(state);
        return corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
    }
    sb->storage_bytes = crl_state_storage_bytes(state);
    rc = sb->tbl->attach(sb, state, call);
    free(state);
    if (rc == 0 && !sb->sbx)
        rc = corral_call_fail(call, CORRAL_EINTERNAL, "the %s backend's attach returned no handle", sb->backend);
    if (rc) {
        handle_failed(sb);
        return rc;
    }
    *out = sb;
    return 0;
}

const char *corral_sandbox_id(const corral_sandbox *sb) { return sb->id; }
const char *corral_sandbox_backend(const corral_sandbox *sb) { return sb->backend; }
const struct corral_sandbox_ops *corral_sandbox_ops_of(const corral_sandbox *sb) { return sb->ops; }

int corral_sandbox_destroy(corral_sandbox *sb, struct corral_call *call)
{
    enter(sb);
    int rc = leave(sb, sb->ops->destroy(sb->sbx, call));
    if (rc)
        return rc;
    return corral_registry_del(sb->id, call);
}

void corral_sandbox_close(corral_sandbox *sb)
{
    if (!sb)
        return;
    if (sb->sbx)
        sb->ops->close(sb->sbx);
    handle_free(sb);
}

int corral_sandbox_pause(corral_sandbox *sb, struct corral_call *call)
{
    enter(sb);
    return leave(sb, sb->tbl->pause(sb, call));
}

int corral_sandbox_resume(corral_sandbox *sb, struct corral_call *call)
{
    enter(sb);
    return leave(sb, sb->tbl->resume(sb, call));
}

int corral_sandbox_running(corral_sandbox *sb, struct corral_call *call)
{
    enter(sb);
    return leave(sb, sb->tbl->running(sb, call));
}

int corral_sandbox_quiesce(corral_sandbox *sb, struct corral_call *call)
{
    enter(sb);
    return leave(sb, sb->tbl->quiesce(sb, call));
}

int corral_sandbox_set_egress(corral_sandbox *sb, const char *policy_json, struct corral_call *call)
{
    if (!CORRAL_HAS(sb->ops, set_egress))
        return corral_call_fail(call, CORRAL_ENOTSUP,
                                "the %s sandbox backend cannot change the egress policy of a live sandbox",
                                sb->backend);
    enter(sb);
    return leave(sb, sb->ops->set_egress(sb->sbx, policy_json, call));
}

/* ---- exec ---- */

int corral_sandbox_exec(corral_sandbox *sb, const struct corral_exec_request *req_in,
                        struct corral_exec_result *res, struct corral_call *call)
{
    memset(res, 0, sizeof *res);
    res->struct_size = sizeof *res;
    if (!req_in || (!req_in->argv && !req_in->shell) || (req_in->argv && !req_in->argv[0]))
        return corral_call_fail(call, CORRAL_EINVAL, "exec needs an argv or a shell string");
    for (size_t i = 0; req_in->env && req_in->env[i]; i++)
        if (!corral_env_entry_valid(req_in->env[i]))
            return corral_call_fail(call, CORRAL_EINVAL, "bad env entry #%zu: want NAME=value with NAME "
                                    "matching ^[A-Za-z_][A-Za-z0-9_]*$", i + 1);
    struct corral_exec_request req = *req_in;
    req.struct_size = sizeof req;
    int64_t t0 = corral_now_ms();
    enter(sb);
    int rc = leave(sb, sb->ops->exec(sb->sbx, &req, res, call));
    if (rc == 0 && res->duration_ms == 0)
        res->duration_ms = corral_now_ms() - t0;
    return rc;
}

int corral_sandbox_run(corral_sandbox *sb, const struct corral_exec_request *req_in, struct corral_exec_output *o,
                       struct corral_call *call)
{
    struct corral_sink so, se;
    corral_capture_sink(&o->out, &so);
    corral_capture_sink(&o->err, &se);
    struct corral_exec_request req = *req_in;
    req.struct_size = sizeof req;
    req.out = &so;
    req.err = &se;
    return corral_sandbox_exec(sb, &req, &o->res, call);
}

void corral_exec_output_free(struct corral_exec_output *o)
{
    corral_capture_free(&o->out);
    corral_capture_free(&o->err);
}

/* ---- jobs ---- */

int corral_sandbox_spawn(corral_sandbox *sb, const struct corral_exec_request *req_in, corral_sandbox_job **job,
                         struct corral_call *call)
{
    *job = NULL;
    if (!req_in || (!req_in->argv && !req_in->shell) || (req_in->argv && !req_in->argv[0]))
        return corral_call_fail(call, CORRAL_EINVAL, "spawn needs an argv or a shell string");
    for (size_t i = 0; req_in->env && req_in->env[i]; i++)
        if (!corral_env_entry_valid(req_in->env[i]))
            return corral_call_fail(call, CORRAL_EINVAL, "bad env entry #%zu", i + 1);
    struct corral_exec_request req = *req_in;
    req.struct_size = sizeof req;
    corral_sandbox_job *j = calloc(1, sizeof *j);
    if (!j)
        return corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
    enter(sb);
    int rc = leave(sb, sb->tbl->spawn(sb, &req, j, call));
    if (rc) {
        free(j);
        return rc;
    }
    *job = j;
    return 0;
}

int corral_sandbox_job_wait(corral_sandbox *sb, corral_sandbox_job *job, int64_t timeout_ms,
                            struct corral_exec_result *res, struct corral_call *call)
{
    memset(res, 0, sizeof *res);
    res->struct_size = sizeof *res;
    if (job->done) {
        *res = job->res;
        return 0;
    }
    enter(sb);
    int rc = leave(sb, sb->tbl->job_wait(sb, job, timeout_ms, res, call));
    if (rc == 0) {
        job->done = 1;
        job->res = *res;
    }
    return rc;
}

int corral_sandbox_job_kill(corral_sandbox *sb, corral_sandbox_job *job, struct corral_call *call)
{
    if (job->done)
        return 0;
    enter(sb);
    return leave(sb, sb->tbl->job_kill(sb, job, call));
}

void corral_sandbox_job_free(corral_sandbox *sb, corral_sandbox_job *job)
{
    if (!job)
        return;
    enter(sb);
    sb->tbl->job_free(sb, job);
    leave(sb, 0);
    free(job);
}

/* ---- files and archives ---- */

static int check_abs(const char *path, const char *what, struct corral_call *call)
{
    if (!path || path[0] != '/')
        return corral_call_fail(call, CORRAL_EINVAL, "%s must be an absolute path inside the sandbox, not '%s'",
                                what, path ? path : "");
    return 0;
}

int corral_sandbox_read_file(corral_sandbox *sb, const char *path, const struct corral_sink *sink,
                             struct corral_call *call)
{
    int rc = check_abs(path, "the file", call);
    if (rc)
        return rc;
    enter(sb);
    return leave(sb, sb->tbl->read_file(sb, path, sink, call));
}

int corral_sandbox_write_file(corral_sandbox *sb, const char *path, const struct corral_source *src,
                              uint32_t mode, struct corral_call *call)
{
    int rc = check_abs(path, "the file", call);
    if (rc)
        return rc;
    enter(sb);
    return leave(sb, sb->tbl->write_file(sb, path, src, mode, call));
}

int corral_sandbox_put_archive(corral_sandbox *sb, const char *dir, const struct corral_source *src,
                               struct corral_call *call)
{
    int rc = check_abs(dir, "the directory", call);
    if (rc)
        return rc;
    enter(sb);
    return leave(sb, sb->tbl->put_archive(sb, dir, src, call));
}

int corral_sandbox_get_archive(corral_sandbox *sb, const char *dir, const struct corral_sink *sink,
                               struct corral_call *call)
{
    int rc = check_abs(dir, "the directory", call);
    if (rc)
        return rc;
    enter(sb);
    return leave(sb, sb->tbl->get_archive(sb, dir, sink, call));
}

int corral_sandbox_read_mem(corral_sandbox *sb, const char *path, size_t max, char **data, size_t *len,
                            struct corral_call *call)
{
    struct crl_buf_sink g = {.max = max};
    struct corral_sink s = { .struct_size = sizeof s, .write = crl_buf_sink_write, .ud = &g };
    int rc = corral_sandbox_read_file(sb, path, &s, call);
    if (rc && g.over)
        rc = corral_call_fail(call, CORRAL_EIO, "%s in sandbox %s is larger than %zu bytes", path, sb->id, max);
    if (!rc && !g.buf.p && crl_buf_add(&g.buf, "", 0))
        rc = corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
    if (rc) {
        crl_buf_free(&g.buf);
        return rc;
    }
    *data = g.buf.p;
    *len = g.buf.len;
    return 0;
}

int corral_sandbox_write_mem(corral_sandbox *sb, const char *path, const void *data, size_t len, uint32_t mode,
                             struct corral_call *call)
{
    struct sbx_memsrc m = { data, len, 0 };
    struct corral_source s = { .struct_size = sizeof s, .read = sbx_memsrc_read, .ud = &m, .length = (int64_t)len,
                               .rewind = sbx_memsrc_rewind };
    return corral_sandbox_write_file(sb, path, &s, mode, call);
}

/* ---- capabilities ---- */

static const char *const op_names[CORRAL_OP__COUNT] = {
    "exec", "spawn", "read_file", "write_file", "put_archive", "get_archive", "pause", "attach",
    "list", "remove", "running", "quiesce",
};

const char *corral_sandbox_op_name(int op)
{
    return op >= 0 && op < CORRAL_OP__COUNT ? op_names[op] : "?";
}

int corral_sandbox_op_support(const struct corral_sandbox_ops *ops, int op)
{
    int have_exec = CORRAL_HAS(ops, exec);
    switch (op) {
    case CORRAL_OP_EXEC:
        return have_exec ? CORRAL_OP_NATIVE : CORRAL_OP_NONE;
    case CORRAL_OP_SPAWN:
        if (CORRAL_HAS(ops, spawn) && CORRAL_HAS(ops, job_wait) && CORRAL_HAS(ops, job_kill) &&
            CORRAL_HAS(ops, job_free))
            return CORRAL_OP_NATIVE;
        break;
    case CORRAL_OP_READ_FILE:
        if (CORRAL_HAS(ops, read_file))
            return CORRAL_OP_NATIVE;
        break;
    case CORRAL_OP_WRITE_FILE:
        if (CORRAL_HAS(ops, write_file))
            return CORRAL_OP_NATIVE;
        break;
    case CORRAL_OP_PUT_ARCHIVE:
        if (CORRAL_HAS(ops, put_archive))
            return CORRAL_OP_NATIVE;
        break;
    case CORRAL_OP_GET_ARCHIVE:
        if (CORRAL_HAS(ops, get_archive))
            return CORRAL_OP_NATIVE;
        break;
    case CORRAL_OP_PAUSE:
        return (ops && (ops->caps & CORRAL_CAP_PAUSE) && CORRAL_HAS(ops, pause) && CORRAL_HAS(ops, resume))
                   ? CORRAL_OP_NATIVE : CORRAL_OP_NONE;
    case CORRAL_OP_ATTACH:
        return CORRAL_HAS(ops, attach) ? CORRAL_OP_NATIVE : CORRAL_OP_NONE;
    case CORRAL_OP_LIST:
        return CORRAL_HAS(ops, list) ? CORRAL_OP_NATIVE : CORRAL_OP_NONE;
    case CORRAL_OP_REMOVE:
        return CORRAL_HAS(ops, remove) ? CORRAL_OP_NATIVE : CORRAL_OP_NONE;
    case CORRAL_OP_RUNNING:
        return CORRAL_HAS(ops, running) ? CORRAL_OP_NATIVE : CORRAL_OP_NONE;
    case CORRAL_OP_QUIESCE: /* never emulated (sandbox_table.c) */
        return CORRAL_HAS(ops, quiesce) ? CORRAL_OP_NATIVE : CORRAL_OP_NONE;
    default:
        return CORRAL_OP_NONE;
    }
    return have_exec ? CORRAL_OP_EMULATED : CORRAL_OP_NONE;
}

void corral_sandbox_ops_describe(const struct corral_sandbox_ops *ops, char *buf, size_t cap)
{
    static const char *const how[] = { "none", "native", "emulated" };
    size_t off = 0;
    if (cap)
        buf[0] = '\0';
    for (int op = 0; op < CORRAL_OP__COUNT && off < cap; op++) {
        int n = snprintf(buf + off, cap - off, "%s%s:%s", op ? " " : "", op_names[op],
                         how[corral_sandbox_op_support(ops, op)]);
        if (n < 0)
            break;
        off += (size_t)n;
    }
}
