/* Listing every corral sandbox across the loaded backends and the local
 * registry, and garbage-collecting those past their corral.deadline. */
#include "sandbox/sandbox_internal.h"
#include "crl_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct item {
    char *id, *backend, *status, *owner, *rollout, *state;
    int64_t deadline;
    int orphan; /* its corral.lease names a process of this host that is gone */
    int creating; /* a create in progress (the registry's pending entry, creator alive) */
    int in_registry, listed;
    const struct corral_plugin_record *rec;
};

struct items {
    struct item *v;
    size_t n, cap;
    const struct corral_plugin_record *rec; /* during list() */
    const struct corral_plugin_record *failed[64]; /* backends whose list() failed */
    size_t nfailed;
    int oom;
};

static struct item *items_add(struct items *it)
{
    if (it->n == it->cap) {
        size_t nc = it->cap ? it->cap * 2 : 16;
        struct item *nv = realloc(it->v, nc * sizeof *nv);
        if (!nv) {
            it->oom = 1;
            return NULL;
        }
        it->v = nv;
        it->cap = nc;
    }
    struct item *x = &it->v[it->n++];
    memset(x, 0, sizeof *x);
    return x;
}

static void items_free(struct items *it)
{
    for (size_t i = 0; i < it->n; i++) {
        struct item *x = &it->v[i];
        free(x->id);
        free(x->backend);
        free(x->status);
        free(x->owner);
        free(x->rollout);
        free(x->state);
    }
    free(it->v);
}

static char *dup0(const char *s) { return strdup(s ? s : ""); }

static int list_cb(void *ud, const struct corral_sandbox_info *info)
{
    struct items *it = ud;
    const char *id = info->id;
    if (!id || !*id)
        id = sbx_label_get(info->labels, "corral.id");
    if (!id || !*id)
        return 0;
    struct item *x = items_add(it);
    if (!x)
        return 1;
    const char *dl = sbx_label_get(info->labels, "corral.deadline");
    x->id = dup0(id);
    x->backend = dup0(it->rec->name);
    x->status = dup0(info->status ? info->status : "unknown");
    x->owner = dup0(sbx_label_get(info->labels, "corral.owner"));
    x->rollout = dup0(sbx_label_get(info->labels, "corral.rollout"));
    x->state = dup0(info->state_json);
    x->deadline = dl ? strtoll(dl, NULL, 10) : 0;
    const char *lease = sbx_label_get(info->labels, "corral.lease");
    x->orphan = lease && crl_owner_gone(lease) == 1;
    x->listed = 1;
    x->rec = it->rec;
    return 0;
}

struct reg_ud {
    struct items *it;
    corral_ctx *ctx;
};

static int reg_cb(void *ud, const char *id, const char *backend, const char *state, int64_t deadline)
{
    struct reg_ud *r = ud;
    for (size_t i = 0; i < r->it->n; i++)
        if (strcmp(r->it->v[i].id, id) == 0) {
            r->it->v[i].in_registry = 1;
            /* A backend may list a sandbox without its labels (Islo keeps
             * them in a file it can only read while the sandbox runs): the
             * registry's deadline then decides. */
            if (r->it->v[i].deadline <= 0)
                r->it->v[i].deadline = deadline;
            /* Listed but still pending: its corral was killed during create
             * (before any labels), or is creating it right now. */
            int pg = crl_registry_pending_gone(state);
            r->it->v[i].orphan |= pg == 1;
            r->it->v[i].creating = pg == 0;
            return 0;
        }
    struct item *x = items_add(r->it);
    if (!x)
        return 1;
    x->id = dup0(id);
    x->backend = dup0(backend);
    x->creating = crl_registry_pending_gone(state) == 0;
    x->status = dup0(x->creating ? "creating" : "registered");
    x->owner = dup0("");
    x->rollout = dup0("");
    x->state = dup0(state);
    x->deadline = deadline;
    x->in_registry = 1;
    x->rec = corral_plugin_find(r->ctx, CORRAL_PLUGIN_SANDBOX, backend);
    return 0;
}

static int collect(corral_ctx *ctx, struct items *it, struct corral_call *call)
{
    size_t n = 0;
    const struct corral_plugin_record *recs = corral_plugins(ctx, &n);
    static const char *const filters[] = { "corral.id", NULL };
    for (size_t i = 0; i < n; i++) {
        const struct corral_plugin_record *rec = &recs[i];
        if (rec->kind != CORRAL_PLUGIN_SANDBOX || rec->status != CORRAL_PLUGIN_LOADED || !rec->desc)
            continue;
        const struct corral_sandbox_ops *ops = rec->desc->ops;
        if (!CORRAL_HAS(ops, list))
            continue;
        struct corral_call c;
        corral_call_init(&c, 60000);
        c.cancel = call->cancel;
        it->rec = rec;
        size_t before = it->n;
        int rc = ops->list(rec->state, filters, list_cb, it, &c);
        if (rc) {
            corral_log(CORRAL_LOG_WARN, "sandbox", "listing the %s backend failed: %s", rec->name, c.message);
            /* Its registry entries must not look stale: keep what we got. */
            for (size_t k = before; k < it->n; k++)
                it->v[k].listed = 1;
            if (it->nfailed < sizeof it->failed / sizeof it->failed[0])
                it->failed[it->nfailed++] = rec;
            it->rec = NULL;
            continue;
        }
    }
    if (it->oom)
        return corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
    struct reg_ud r = { it, ctx };
    int rc = corral_registry_each(reg_cb, &r, call);
    if (rc)
        return rc;
    if (it->oom)
        return corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
    return 0;
}

static void to_entry(const struct item *x, const char *action, struct corral_sandbox_entry *e)
{
    e->id = x->id;
    e->backend = x->backend;
    e->status = x->status;
    e->owner = x->owner;
    e->rollout = x->rollout;
    e->deadline = x->deadline;
    e->in_registry = x->in_registry;
    e->action = action;
}

int corral_sandbox_ls(corral_ctx *ctx, corral_sandbox_entry_cb cb, void *ud, struct corral_call *call)
{
    struct items it = { 0 };
    int rc = collect(ctx, &it, call);
    for (size_t i = 0; rc == 0 && i < it.n; i++) {
        struct corral_sandbox_entry e;
        to_entry(&it.v[i], NULL, &e);
        if (cb(ud, &e))
            break;
    }
    items_free(&it);
    return rc;
}

/* Whether the backend of a registry-only entry can tell us it is gone. */
static int backend_lists(const struct items *it, const struct item *x)
{
    if (!x->rec || !CORRAL_HAS((const struct corral_sandbox_ops *)x->rec->desc->ops, list))
        return 0;
    for (size_t i = 0; i < it->nfailed; i++)
        if (it->failed[i] == x->rec)
            return 0;
    return 1;
}

static int remove_one(const struct item *x, struct corral_call *call)
{
    const struct corral_sandbox_ops *ops = x->rec->desc->ops;
    if (CORRAL_HAS(ops, remove))
        return ops->remove(x->rec->state, x->state, call);
    if (CORRAL_HAS(ops, attach) && CORRAL_HAS(ops, destroy) && CORRAL_HAS(ops, close)) {
        corral_sbx *s = NULL;
        int rc = ops->attach(x->rec->state, x->state, &s, call);
        if (rc == CORRAL_ENOTFOUND)
            return 0;
        if (rc)
            return rc;
        rc = ops->destroy(s, call);
        ops->close(s);
        return rc;
    }
    return corral_call_fail(call, CORRAL_ENOTSUP, "the %s backend offers neither remove nor attach", x->backend);
}

int corral_gc(corral_ctx *ctx, int dry_run, corral_sandbox_entry_cb cb, void *ud, struct corral_gc_stats *stats,
              struct corral_call *call)
{
    struct corral_gc_stats st = { 0 };
    struct items it = { 0 };
    int rc = collect(ctx, &it, call);
    int64_t now = (int64_t)time(NULL);
    for (size_t i = 0; rc == 0 && i < it.n; i++) {
        struct item *x = &it.v[i];
        const char *action = "keep";
        int expired = x->deadline > 0 && x->deadline <= now;
        /* A rollout's sandbox dies with its corral (SIGKILL, crash): it is
         * not left to run until the deadline. */
        int dead = strcmp(x->status, "dead") == 0 || x->orphan;
        st.seen++;
        if (x->creating) {
            action = "keep";        /* another corral is creating it */
        } else if (x->listed && (expired || dead)) {
            action = "remove";
        } else if (!x->listed && x->rec && backend_lists(&it, x)) {
            action = "forget";      /* the backend no longer has it */
        } else if (!x->listed && x->rec && expired) {
            action = "remove";      /* registry-only backend: remove by state */
        }
        if (!dry_run && strcmp(action, "remove") == 0) {
            struct corral_call c;
            corral_call_init(&c, 120000);
            c.cancel = call->cancel;
            int r = remove_one(x, &c);
            if (r) {
                corral_log(CORRAL_LOG_WARN, "gc", "removing %s failed: %s", x->id, c.message);
                st.failed++;
                action = "failed";
            } else {
                st.removed++;
                if (corral_sandbox_id_valid(x->id))
                    corral_registry_del(x->id, &c);
            }
        } else if (!dry_run && strcmp(action, "forget") == 0) {
            struct corral_call c;
            corral_call_init(&c, 0);
            if (corral_registry_del(x->id, &c) == 0)
                st.forgotten++;
        }
        if (cb) {
            struct corral_sandbox_entry e;
            to_entry(x, action, &e);
            cb(ud, &e);
        }
    }
    items_free(&it);
    if (stats)
        *stats = st;
    return rc;
}
