/* `corral run --dataset SPEC [--registry R] [--include G] [--exclude G]
 * [--limit N]`: the options and what they add to the run (cli_dataset.c). */
#ifndef CORRAL_CLI_DATASET_H
#define CORRAL_CLI_DATASET_H

#include <stddef.h>
#include <stdint.h>

struct corral_dataset;

/* getopt_long values of the dataset options (past every short option). */
enum { CLI_OPT_DATASET = 0x200, CLI_OPT_REGISTRY, CLI_OPT_INCLUDE, CLI_OPT_EXCLUDE, CLI_OPT_LIMIT };
#define CLI_DATASET_LONGOPTS                                                                                   \
    {"dataset", required_argument, 0, CLI_OPT_DATASET}, {"registry", required_argument, 0, CLI_OPT_REGISTRY},  \
        {"include", required_argument, 0, CLI_OPT_INCLUDE}, {"exclude", required_argument, 0, CLI_OPT_EXCLUDE}, \
        {"limit", required_argument, 0, CLI_OPT_LIMIT}
#define CLI_DATASET_MAX_GLOBS 65

/* What the options said; zero-initialize.  Points into argv. */
struct cli_dataset_args {
    const char *spec, *registry;
    const char *include[CLI_DATASET_MAX_GLOBS], *exclude[CLI_DATASET_MAX_GLOBS];
    size_t n_include, n_exclude;
    int64_t limit;
};

/* Take one option (which: a CLI_OPT_* value).  0, or -1 after printing why
 * (the caller exits with CLI_USAGE). */
int cli_dataset_option(struct cli_dataset_args *a, int which, const char *arg);
/* The filters without a --dataset are a usage error: -1 after printing why. */
int cli_dataset_check(const struct cli_dataset_args *a);
/* Open the dataset (when one was given) and append its task directories to
 * *tasks (realloc'ed; its strings then point into *ds, which the caller
 * frees with corral_dataset_free after the run).  CLI_OK, or CLI_FAIL after
 * printing why. */
int cli_dataset_tasks(const struct cli_dataset_args *a, char ***tasks, size_t *n_tasks, struct corral_dataset **ds);

#endif
