/*
 * libcorral datasets: a set of task directories named by one string.  A
 * dataset is a directory tree of tasks, a git repository pinned to a commit
 * (fetched with the `git` CLI into corral's cache, keyed by commit), or an
 * entry of a Harbor registry.json (name, version, tasks with git URL,
 * commit and path).  The forms, the cache and what a result records are in
 * docs/datasets.md.
 */
#ifndef CORRAL_DATASET_H
#define CORRAL_DATASET_H

#include <corral/corral.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Which of a dataset's tasks to keep (Harbor's -i/-x/-l).  Caller-owned;
 * read during corral_dataset_open().  Globs are fnmatch(3) patterns over
 * the task's name; a task is kept when it matches some include (or there
 * are none) and no exclude.  Append-only: new members go at the end. */
struct corral_dataset_filter {
    size_t struct_size;           /* sizeof(struct corral_dataset_filter) */
    const char *const *include;   /* NULL-terminated; NULL: every task */
    const char *const *exclude;   /* NULL-terminated; NULL: none */
    size_t limit;                 /* at most this many (after the globs, in name order); 0: all */
};

/* One task of a dataset. */
struct corral_dataset_task {
    char *name;                   /* the registry's name, else the path below the dataset's root */
    char *dir;                    /* an absolute path to the task directory */
};

/* An opened dataset, owned by the caller (corral_dataset_free). */
struct corral_dataset {
    char *source;                 /* the spec as given */
    char *name;                   /* registry datasets: its name; else NULL */
    char *version;                /* registry datasets: its version; else NULL */
    char *commit;                 /* git datasets: the commit checked out (40 hex); else NULL.
                                     A registry whose tasks come from several commits: NULL */
    struct corral_dataset_task *tasks; /* sorted by name; the filter applied */
    size_t n_tasks;
};

/* Open the dataset `spec`:
 *   DIR                     every task under DIR (a directory holding task.toml,
 *                           task.json or instruction.md is a task; hidden
 *                           directories and symlinks are not entered);
 *   git+URL@REF[#PATH]      the repository at REF (a branch, tag or commit),
 *                           fetched once into the cache, then as DIR at PATH;
 *   NAME[@VERSION]          with `registry`: that entry of the registry, whose
 *                           tasks are fetched as above (or, without git_url,
 *                           taken relative to a local registry file).
 * `registry` is NULL, a registry.json path, or git+URL@REF[#PATH] (PATH
 * defaults to registry.json).  An empty result after the filter is
 * CORRAL_ENOTFOUND; a spec that is neither is CORRAL_EINVAL; a failed fetch
 * is CORRAL_EIO with git's last output line.  Progress (fetches) goes to the
 * log.  0 and *out, or a status with the reason in `call`. */
int corral_dataset_open(const char *spec, const char *registry, const struct corral_dataset_filter *filter,
                        struct corral_dataset **out, struct corral_call *call);
void corral_dataset_free(struct corral_dataset *ds);

#ifdef __cplusplus
}
#endif

#endif
