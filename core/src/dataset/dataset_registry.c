/* A Harbor registry.json entry made into a task list: the selection
 * (registry_select.c) checked out with git where a task names a git_url,
 * or resolved relative to the registry file (docs/datasets.md,
 * "Registries"). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/internal.h"
#include "crl_common.h"
#include "dataset/dataset_internal.h"

/* One checkout per (git_url, git_commit_id) of the registry. */
struct fetched {
    const char *url, *ref;
    char dir[PATH_MAX], commit[41];
};

static int task_dir(const struct crl_reg_task *t, size_t i, const char *where, const char *base, struct fetched *seen,
                    size_t *n_seen, char *common_commit, int *mixed, struct crl_ds_list *l, struct corral_call *call)
{
    const char *root = base;
    if (t->url) {
        struct fetched *f = NULL;
        for (size_t k = 0; k < *n_seen && !f; k++)
            if (!strcmp(seen[k].url, t->url) && !strcmp(seen[k].ref, t->ref))
                f = &seen[k];
        if (!f) {
            f = &seen[(*n_seen)++];
            f->url = t->url;
            f->ref = t->ref;
            int rc = crl_git_checkout(t->url, t->ref, f->dir, sizeof f->dir, f->commit, call);
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
                                    where, i, t->name);
    }
    char what[64], *dir = NULL;
    snprintf(what, sizeof what, "tasks[%zu].path", i);
    int rc = crl_ds_subpath(root, t->path, what, &dir, call);
    if (!rc && crl_ds_push(l, t->name, dir))
        rc = corral_call_fail(call, CORRAL_ENOMEM, "dataset: out of memory");
    free(dir);
    return rc;
}

int crl_registry_open(const char *json, size_t len, const char *where, const char *base, const char *name,
                      const char *version, struct corral_dataset *ds, struct crl_ds_list *l,
                      struct corral_call *call)
{
    struct crl_reg_sel sel;
    int rc = crl_registry_select(json, len, where, name, version, &sel, call);
    if (rc)
        return rc;
    struct fetched *seen = sel.n_tasks ? calloc(sel.n_tasks, sizeof *seen) : NULL;
    if (sel.n_tasks && !seen)
        rc = corral_call_fail(call, CORRAL_ENOMEM, "dataset: out of memory");
    size_t n_seen = 0;
    char commit[41] = "";
    int mixed = 0;
    for (size_t i = 0; !rc && i < sel.n_tasks; i++)
        rc = task_dir(&sel.tasks[i], i, where, base, seen, &n_seen, commit, &mixed, l, call);
    if (!rc) {
        ds->name = sel.name;
        ds->version = sel.version;
        sel.name = sel.version = NULL;
        ds->commit = commit[0] && !mixed ? strdup(commit) : NULL;
        if (commit[0] && !mixed && !ds->commit)
            rc = corral_call_fail(call, CORRAL_ENOMEM, "dataset: out of memory");
    }
    free(seen);
    crl_reg_sel_free(&sel);
    return rc;
}
