/* corral_dataset_open(): which form a dataset spec has, and the filter
 * (docs/datasets.md). */
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/internal.h"
#include "crl_common.h"
#include "dataset/dataset_internal.h"

#define REGISTRY_MAX_BYTES (64 << 20)

void corral_dataset_free(struct corral_dataset *ds)
{
    if (!ds)
        return;
    struct crl_ds_list l = {ds->tasks, ds->n_tasks, ds->n_tasks};
    crl_ds_list_free(&l);
    free(ds->source);
    free(ds->name);
    free(ds->version);
    free(ds->commit);
    free(ds);
}

static int matches_any(const char *const *globs, const char *name)
{
    const char *base = strrchr(name, '/');
    for (size_t i = 0; globs && globs[i]; i++)
        if (fnmatch(globs[i], name, 0) == 0 || (base && fnmatch(globs[i], base + 1, 0) == 0))
            return 1;
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct corral_dataset_task *)a)->name, ((const struct corral_dataset_task *)b)->name);
}

/* Sort l, keep what the filter keeps, into ds. */
static int apply_filter(struct crl_ds_list *l, const struct corral_dataset_filter *f, struct corral_dataset *ds,
                        struct corral_call *call)
{
    const char *const *inc = f && f->struct_size >= sizeof *f ? f->include : NULL;
    const char *const *exc = f && f->struct_size >= sizeof *f ? f->exclude : NULL;
    size_t limit = f && f->struct_size >= sizeof *f ? f->limit : 0, kept = 0, found = l->n;
    if (l->n)
        qsort(l->v, l->n, sizeof *l->v, by_name);
    for (size_t i = 0; i < l->n; i++) {
        int keep = (!inc || !inc[0] || matches_any(inc, l->v[i].name)) && !matches_any(exc, l->v[i].name) &&
                   (!limit || kept < limit);
        if (keep) {
            l->v[kept++] = l->v[i];
        } else {
            free(l->v[i].name);
            free(l->v[i].dir);
        }
    }
    l->n = kept;
    ds->tasks = l->v;
    ds->n_tasks = l->n;
    memset(l, 0, sizeof *l);
    if (!kept)
        return corral_call_fail(call, CORRAL_ENOTFOUND, "dataset %s: %s", ds->source,
                                found ? "no task is left after --include/--exclude"
                                      : "no tasks in it (a task is a directory with task.toml, task.json or "
                                        "instruction.md)");
    return 0;
}

/* A git dataset's checkout and the PATH inside it, into *root. */
static int git_root(const struct crl_git_spec *g, const char *default_path, char **root, char commit[41],
                    struct corral_call *call)
{
    char dir[PATH_MAX];
    int rc = crl_git_checkout(g->url, g->ref, dir, sizeof dir, commit, call);
    return rc ? rc : crl_ds_subpath(dir, g->path ? g->path : default_path, "#PATH", root, call);
}

static int open_registry(const char *spec, const char *registry, struct corral_dataset *ds, struct crl_ds_list *l,
                         struct corral_call *call)
{
    struct crl_git_spec g;
    int rc = crl_git_spec_parse(registry, &g, call);
    if (rc < 0)
        return rc;
    char *file = NULL, commit[41];
    if (rc == 1)
        rc = git_root(&g, "registry.json", &file, commit, call);
    else if (!(file = strdup(registry)))
        rc = corral_call_fail(call, CORRAL_ENOMEM, "dataset: out of memory");
    crl_git_spec_free(&g);
    char *name = rc ? NULL : strdup(spec), *at = name ? strrchr(name, '@') : NULL;
    if (!rc && !name)
        rc = corral_call_fail(call, CORRAL_ENOMEM, "dataset: out of memory");
    if (at)
        *at++ = '\0';
    if (!rc && (!name[0] || (at && !at[0])))
        rc = corral_call_fail(call, CORRAL_EINVAL, "dataset \"%s\": with --registry, name a dataset: NAME[@VERSION]",
                              spec);
    size_t len = 0;
    int err = 0;
    char *json = rc ? NULL : crl_read_file_max(file, REGISTRY_MAX_BYTES, &len, &err);
    if (!rc && !json)
        rc = corral_call_fail(call, CORRAL_EIO, "registry %s: %s", registry, crl_file_strerror(err));
    if (!rc) {
        char *slash = strrchr(file, '/');
        char base[PATH_MAX];
        snprintf(base, sizeof base, "%.*s", slash ? (int)(slash - file) : 1, slash ? file : ".");
        rc = crl_registry_open(json, len, registry, base, name, at, ds, l, call);
    }
    free(json);
    free(name);
    free(file);
    return rc;
}

int corral_dataset_open(const char *spec, const char *registry, const struct corral_dataset_filter *filter,
                        struct corral_dataset **out, struct corral_call *call)
{
    *out = NULL;
    if (!spec || !spec[0])
        return corral_call_fail(call, CORRAL_EINVAL, "dataset: empty name");
    struct corral_dataset *ds = calloc(1, sizeof *ds);
    struct crl_ds_list l = {0};
    if (!ds || !(ds->source = strdup(spec))) {
        free(ds);
        return corral_call_fail(call, CORRAL_ENOMEM, "dataset: out of memory");
    }
    int rc;
    struct crl_git_spec g = {0};
    if (registry && registry[0]) {
        rc = open_registry(spec, registry, ds, &l, call);
    } else if ((rc = crl_git_spec_parse(spec, &g, call)) == 1) {
        char *root = NULL, commit[41];
        rc = git_root(&g, "", &root, commit, call);
        if (!rc && !(ds->commit = strdup(commit)))
            rc = corral_call_fail(call, CORRAL_ENOMEM, "dataset: out of memory");
        if (!rc)
            rc = crl_ds_scan(root, NULL, &l, call);
        free(root);
    } else if (rc == 0) {
        rc = crl_ds_scan(spec, NULL, &l, call);
    }
    crl_git_spec_free(&g);
    if (!rc)
        rc = apply_filter(&l, filter, ds, call);
    crl_ds_list_free(&l);
    if (rc) {
        corral_dataset_free(ds);
        return rc;
    }
    *out = ds;
    return 0;
}
