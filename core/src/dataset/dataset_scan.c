/* The task directories of a dataset tree, and paths inside a dataset that
 * must stay inside it (docs/datasets.md, "A directory of tasks"). */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/internal.h"
#include "crl_common.h"
#include "dataset/dataset_internal.h"

#define SCAN_MAX_DEPTH 8
#define SCAN_MAX_TASKS 1000000

int crl_ds_push(struct crl_ds_list *l, const char *name, const char *dir)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct corral_dataset_task *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return CORRAL_ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    char *n = strdup(name), *d = strdup(dir);
    if (!n || !d) {
        free(n);
        free(d);
        return CORRAL_ENOMEM;
    }
    l->v[l->n].name = n;
    l->v[l->n].dir = d;
    l->n++;
    return 0;
}

void crl_ds_list_free(struct crl_ds_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].name);
        free(l->v[i].dir);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}

static int is_task_dir(const char *dir)
{
    static const char *const marks[] = {"task.toml", "task.json", "instruction.md"};
    char p[PATH_MAX];
    for (size_t i = 0; i < sizeof marks / sizeof *marks; i++) {
        int n = snprintf(p, sizeof p, "%s/%s", dir, marks[i]);
        struct stat st;
        if (n > 0 && (size_t)n < sizeof p && lstat(p, &st) == 0 && S_ISREG(st.st_mode))
            return 1;
    }
    return 0;
}

static int scan(const char *abs, const char *rel, int depth, struct crl_ds_list *l, struct corral_call *call)
{
    if (is_task_dir(abs)) {
        if (l->n >= SCAN_MAX_TASKS)
            return corral_call_fail(call, CORRAL_EINVAL, "dataset: more than %d tasks", SCAN_MAX_TASKS);
        return crl_ds_push(l, rel, abs) ? corral_call_fail(call, CORRAL_ENOMEM, "dataset: out of memory") : 0;
    }
    if (depth >= SCAN_MAX_DEPTH)
        return 0; /* deeper trees hold no tasks of a dataset; said in docs/datasets.md */
    DIR *d = opendir(abs);
    if (!d)
        return corral_call_fail(call, CORRAL_EIO, "dataset: cannot read %s: %s", abs, strerror(errno));
    int st = 0;
    for (struct dirent *e; !st && (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue; /* ".", "..", .git and other hidden directories */
        char a[PATH_MAX], r[PATH_MAX];
        int na = snprintf(a, sizeof a, "%s/%s", abs, e->d_name);
        int nr = snprintf(r, sizeof r, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
        if (na < 0 || (size_t)na >= sizeof a || nr < 0 || (size_t)nr >= sizeof r) {
            st = corral_call_fail(call, CORRAL_EINVAL, "dataset: path too long under %s", abs);
            break;
        }
        struct stat sb;
        if (lstat(a, &sb) != 0 || !S_ISDIR(sb.st_mode))
            continue; /* files, and symlinks (never followed out of the tree) */
        st = scan(a, r, depth + 1, l, call);
    }
    closedir(d);
    return st;
}

int crl_ds_scan(const char *root, const char *prefix, struct crl_ds_list *l, struct corral_call *call)
{
    char real[PATH_MAX];
    struct stat sb;
    if (!realpath(root, real) || stat(real, &sb) != 0)
        return corral_call_fail(call, CORRAL_ENOTFOUND, "dataset: %s: %s", root, strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return corral_call_fail(call, CORRAL_EINVAL, "dataset: %s is not a directory", root);
    if (is_task_dir(real)) {
        const char *base = strrchr(real, '/');
        return crl_ds_push(l, prefix && *prefix ? prefix : (base && base[1] ? base + 1 : real), real)
                   ? corral_call_fail(call, CORRAL_ENOMEM, "dataset: out of memory")
                   : 0;
    }
    return scan(real, prefix ? prefix : "", 0, l, call);
}

int crl_ds_subpath(const char *root, const char *rel, const char *what, char **out, struct corral_call *call)
{
    *out = NULL;
    rel = rel ? rel : "";
    if (rel[0] == '/')
        return corral_call_fail(call, CORRAL_EPERM, "dataset: %s \"%s\" is absolute; give a path inside the dataset",
                                what, rel);
    for (const char *p = rel; *p;) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return corral_call_fail(call, CORRAL_EPERM, "dataset: %s \"%s\" leaves the dataset (a \"..\" component)",
                                    what, rel);
        p += n;
        p += *p == '/';
    }
    char rroot[PATH_MAX], joined[PATH_MAX * 2], real[PATH_MAX];
    if (!realpath(root, rroot))
        return corral_call_fail(call, CORRAL_ENOTFOUND, "dataset: %s: %s", root, strerror(errno));
    snprintf(joined, sizeof joined, "%s/%s", rroot, rel);
    if (!realpath(joined, real))
        return corral_call_fail(call, CORRAL_ENOTFOUND, "dataset: %s \"%s\" does not exist in %s", what, rel, root);
    size_t rl = strlen(rroot);
    if (strncmp(real, rroot, rl) != 0 || (real[rl] != '\0' && real[rl] != '/'))
        return corral_call_fail(call, CORRAL_EPERM, "dataset: %s \"%s\" resolves outside the dataset (a symlink to %s)",
                                what, rel, real);
    *out = strdup(real);
    return *out ? 0 : corral_call_fail(call, CORRAL_ENOMEM, "dataset: out of memory");
}
