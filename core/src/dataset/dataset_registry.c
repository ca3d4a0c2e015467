/* Harbor's registry.json: a list of datasets {name, version, description,
 * tasks: [{name, git_url, git_commit_id, path}]}; a task without git_url is
 * a path relative to the registry file (docs/datasets.md, "Registries"). */
#include <limits.h>
#include <stdio.h>
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

/* One checkout per (git_url, git_commit_id) of the registry. */
struct fetched {
    const char *url, *ref;
    char dir[PATH_MAX], commit[41];
};

static int task_of(const cJSON *t, size_t i, const char *where, const char *base, struct fetched *seen, size_t *n_seen,
                   char *common_commit, int *mixed, struct crl_ds_list *l, struct corral_call *call)
{
    const char *name = str_of(t, "name"), *path = str_of(t, "path"), *url = str_of(t, "git_url"),
               *ref = str_of(t, "git_commit_id");
    if (!cJSON_IsObject(t) || !name || !path)
        return corral_call_fail(call, CORRAL_EINVAL, "%s: tasks[%zu] needs a \"name\" and a \"path\" (strings)", where,
                                i);
    const char *root = base;
    if (url) {
        ref = ref ? ref : "HEAD";
        struct fetched *f = NULL;
        for (size_t k = 0; k < *n_seen && !f; k++)
            if (!strcmp(seen[k].url, url) && !strcmp(seen[k].ref, ref))
                f = &seen[k];
        if (!f) {
            f = &seen[(*n_seen)++];
            f->url = url;
            f->ref = ref;
            if (url[0] == '-')
                return corral_call_fail(call, CORRAL_EINVAL, "%s: tasks[%zu]: \"%s\" is not a repository URL", where,
                                        i, url);
            int rc = crl_git_checkout(url, ref, f->dir, sizeof f->dir, f->commit, call);
            if (rc)
                return rc;
        }
        root = f->dir;
        if (!common_commit[0])
            memcpy(common_commit, f->commit, 41);
        else if (strcmp(common_commit, f->commit) != 0)
            *mixed = 1;
    } else {
        *mixed = 1; /* a local task pins no commit */
        if (!base)
            return corral_call_fail(call, CORRAL_EINVAL,
                                    "%s: tasks[%zu] (%s) has no git_url, and a registry fetched from git has no local "
                                    "tasks",
                                    where, i, name);
    }
    char what[64], *dir = NULL;
    snprintf(what, sizeof what, "tasks[%zu].path", i);
    int rc = crl_ds_subpath(root, path, what, &dir, call);
    if (!rc && crl_ds_push(l, name, dir))
        rc = corral_call_fail(call, CORRAL_ENOMEM, "dataset: out of memory");
    free(dir);
    return rc;
}

int crl_registry_open(const char *json, size_t len, const char *where, const char *base, const char *name,
                      const char *version, struct corral_dataset *ds, struct crl_ds_list *l,
                      struct corral_call *call)
{
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!cJSON_IsArray(root)) {
        cJSON_Delete(root);
        return corral_call_fail(call, CORRAL_EINVAL, "%s: not a registry (a JSON array of datasets)", where);
    }
    const cJSON *entry = NULL, *tasks;
    int rc = pick(root, where, name, version, &entry, call);
    if (!rc && !cJSON_IsArray(tasks = cJSON_GetObjectItemCaseSensitive(entry, "tasks")))
        rc = corral_call_fail(call, CORRAL_EINVAL, "%s: dataset %s has no \"tasks\" array", where, name);
    size_t n = rc ? 0 : (size_t)cJSON_GetArraySize(tasks);
    struct fetched *seen = n ? calloc(n, sizeof *seen) : NULL;
    if (n && !seen)
        rc = corral_call_fail(call, CORRAL_ENOMEM, "dataset: out of memory");
    size_t n_seen = 0, i = 0;
    char commit[41] = "";
    int mixed = 0;
    const cJSON *t;
    if (!rc)
        cJSON_ArrayForEach(t, tasks)
        {
            if ((rc = task_of(t, i++, where, base, seen, &n_seen, commit, &mixed, l, call)))
                break;
        }
    if (!rc) {
        const char *v = str_of(entry, "version");
        ds->name = strdup(name);
        ds->version = v ? strdup(v) : NULL;
        ds->commit = commit[0] && !mixed ? strdup(commit) : NULL;
        if (!ds->name || (v && !ds->version) || (commit[0] && !mixed && !ds->commit))
            rc = corral_call_fail(call, CORRAL_ENOMEM, "dataset: out of memory");
    }
    free(seen);
    cJSON_Delete(root);
    return rc;
}
