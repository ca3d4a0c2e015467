/* Harbor's registry.json: a list of datasets {name, version, description,
 * tasks: [{name, git_url, git_commit_id, path}]}.  This file parses the
 * text and selects one entry, with no git and no filesystem, so the
 * untrusted bytes can be fuzzed alone (docs/datasets.md, "Registries"). */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/internal.h"
#include "crl_common.h"
#include "dataset/dataset_internal.h"

static const char *str_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

/* The entry named `name` (of `version`, or the only one of that name). */
static int pick(const cJSON *root, const char *where, const char *name, const char *version, const cJSON **out,
                struct corral_call *call)
{
    const cJSON *e, *hit = NULL;
    struct crl_buf versions = {0};
    int count = 0;
    cJSON_ArrayForEach(e, root)
    {
        const char *n = cJSON_IsObject(e) ? str_of(e, "name") : NULL;
        if (!n || strcmp(n, name) != 0)
            continue;
        const char *v = str_of(e, "version");
        crl_buf_addf(&versions, "%s%s", count ? ", " : "", v ? v : "(none)");
        count++;
        if (!version || (v && strcmp(v, version) == 0))
            hit = e;
    }
    int rc = 0;
    if (!count)
        rc = corral_call_fail(call, CORRAL_ENOTFOUND, "dataset %s: no dataset of that name in %s", name, where);
    else if (!hit)
        rc = corral_call_fail(call, CORRAL_ENOTFOUND, "dataset %s@%s: no such version in %s (it has: %s)", name,
                              version, where, versions.p ? versions.p : "");
    else if (!version && count > 1)
        rc = corral_call_fail(call, CORRAL_EINVAL, "dataset %s: %s has %d versions (%s); name one: %s@VERSION", name,
                              where, count, versions.p ? versions.p : "", name);
    crl_buf_free(&versions);
    *out = hit;
    return rc;
}

static char *dup_or_null(const char *s, int *oom)
{
    char *d = s ? strdup(s) : NULL;
    if (s && !d)
        *oom = 1;
    return d;
}

/* tasks[i] into sel->tasks[i], checked. */
static int task_of(const cJSON *t, size_t i, const char *where, struct crl_reg_task *out, struct corral_call *call)
{
    const char *name = cJSON_IsObject(t) ? str_of(t, "name") : NULL, *path = name ? str_of(t, "path") : NULL,
               *url = path ? str_of(t, "git_url") : NULL, *ref = url ? str_of(t, "git_commit_id") : NULL;
    if (!name || !path)
        return corral_call_fail(call, CORRAL_EINVAL, "%s: tasks[%zu] needs a \"name\" and a \"path\" (strings)", where,
                                i);
    if (url && url[0] == '-')
        return corral_call_fail(call, CORRAL_EINVAL, "%s: tasks[%zu]: \"%s\" is not a repository URL", where, i, url);
    if (ref && ref[0] == '-')
        return corral_call_fail(call, CORRAL_EINVAL, "%s: tasks[%zu]: \"%s\" is not a git commit", where, i, ref);
    int oom = 0;
    out->name = dup_or_null(name, &oom);
    out->path = dup_or_null(path, &oom);
    out->url = dup_or_null(url, &oom);
    out->ref = dup_or_null(url ? (ref ? ref : "HEAD") : NULL, &oom);
    return oom ? corral_call_fail(call, CORRAL_ENOMEM, "dataset: out of memory") : 0;
}

int crl_registry_select(const char *json, size_t len, const char *where, const char *name, const char *version,
                        struct crl_reg_sel *sel, struct corral_call *call)
{
    memset(sel, 0, sizeof *sel);
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!cJSON_IsArray(root)) {
        cJSON_Delete(root);
        return corral_call_fail(call, CORRAL_EINVAL, "%s: not a registry (a JSON array of datasets)", where);
    }
    const cJSON *entry = NULL, *tasks = NULL, *t;
    int rc = pick(root, where, name, version, &entry, call);
    if (!rc && !cJSON_IsArray(tasks = cJSON_GetObjectItemCaseSensitive(entry, "tasks")))
        rc = corral_call_fail(call, CORRAL_EINVAL, "%s: dataset %s has no \"tasks\" array", where, name);
    size_t n = rc ? 0 : (size_t)cJSON_GetArraySize(tasks);
    if (n && !(sel->tasks = calloc(n, sizeof *sel->tasks)))
        rc = corral_call_fail(call, CORRAL_ENOMEM, "dataset: out of memory");
    if (!rc)
        cJSON_ArrayForEach(t, tasks)
        {
            if ((rc = task_of(t, sel->n_tasks, where, &sel->tasks[sel->n_tasks], call)))
                break;
            sel->n_tasks++;
        }
    if (!rc) {
        int oom = 0;
        sel->name = dup_or_null(name, &oom);
        sel->version = dup_or_null(str_of(entry, "version"), &oom);
        if (oom)
            rc = corral_call_fail(call, CORRAL_ENOMEM, "dataset: out of memory");
    }
    cJSON_Delete(root);
    if (rc) {
        /* the task that failed may hold some copies */
        if (sel->tasks && sel->n_tasks < n)
            sel->n_tasks++;
        crl_reg_sel_free(sel);
    }
    return rc;
}

void crl_reg_sel_free(struct crl_reg_sel *sel)
{
    for (size_t i = 0; i < sel->n_tasks; i++) {
        free(sel->tasks[i].name);
        free(sel->tasks[i].path);
        free(sel->tasks[i].url);
        free(sel->tasks[i].ref);
    }
    free(sel->tasks);
    free(sel->name);
    free(sel->version);
    memset(sel, 0, sizeof *sel);
}
