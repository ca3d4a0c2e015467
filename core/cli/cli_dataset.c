/* `corral run --dataset`: a dataset's tasks added to the run's --task list
 * (docs/datasets.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <corral/dataset.h>

#include "cli.h"
#include "cli_dataset.h"

int cli_dataset_option(struct cli_dataset_args *a, int which, const char *arg)
{
    switch (which) {
    case CLI_OPT_DATASET:
        if (a->spec) {
            cli_error("run: one --dataset per run (start one run per dataset)");
            return -1;
        }
        a->spec = arg;
        return 0;
    case CLI_OPT_REGISTRY: a->registry = arg; return 0;
    case CLI_OPT_LIMIT: return cli_int_arg("--limit", arg, 1, 100000000, &a->limit);
    case CLI_OPT_INCLUDE:
    case CLI_OPT_EXCLUDE: {
        const char **v = which == CLI_OPT_INCLUDE ? a->include : a->exclude;
        size_t *n = which == CLI_OPT_INCLUDE ? &a->n_include : &a->n_exclude;
        if (*n + 1 >= CLI_DATASET_MAX_GLOBS) {
            cli_error("run: at most %d --include and %d --exclude", CLI_DATASET_MAX_GLOBS - 1,
                      CLI_DATASET_MAX_GLOBS - 1);
            return -1;
        }
        v[(*n)++] = arg;
        v[*n] = NULL;
        return 0;
    }
    }
    return -1;
}

int cli_dataset_check(const struct cli_dataset_args *a)
{
    if (!a->spec && (a->registry || a->n_include || a->n_exclude || a->limit)) {
        cli_error("run: --registry, --include, --exclude and --limit select from a --dataset; give one");
        return -1;
    }
    return 0;
}

int cli_dataset_tasks(const struct cli_dataset_args *a, char ***tasks, size_t *n_tasks, struct corral_dataset **ds)
{
    *ds = NULL;
    if (!a->spec)
        return CLI_OK;
    struct corral_dataset_filter f = {.struct_size = sizeof f,
                                      .include = a->n_include ? a->include : NULL,
                                      .exclude = a->n_exclude ? a->exclude : NULL,
                                      .limit = (size_t)a->limit};
    struct corral_call call;
    corral_call_init(&call, 0);
    if (corral_dataset_open(a->spec, a->registry, &f, ds, &call) != 0) {
        cli_error("run: %s", call.message);
        return CLI_FAIL;
    }
    char **v = realloc(*tasks, (*n_tasks + (*ds)->n_tasks + 1) * sizeof *v);
    if (!v) {
        cli_error("run: out of memory");
        corral_dataset_free(*ds);
        *ds = NULL;
        return CLI_FAIL;
    }
    for (size_t i = 0; i < (*ds)->n_tasks; i++)
        v[(*n_tasks)++] = (*ds)->tasks[i].dir;
    *tasks = v;
    if (!cli_globals.quiet)
        fprintf(stderr, "corral: dataset %s%s%s%s%s: %zu tasks\n", a->spec, (*ds)->commit ? " at " : "",
                (*ds)->commit ? (*ds)->commit : "", (*ds)->version ? " version " : "",
                (*ds)->version ? (*ds)->version : "", (*ds)->n_tasks);
    return CLI_OK;
}
