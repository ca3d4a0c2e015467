/* Datasets inside libcorral: the pieces corral_dataset_open() is made of
 * (docs/datasets.md). */
#ifndef CRL_DATASET_INTERNAL_H
#define CRL_DATASET_INTERNAL_H

#include <stddef.h>

#include <corral/dataset.h>

/* A growing list of tasks; the strings are owned by the list. */
struct crl_ds_list {
    struct corral_dataset_task *v;
    size_t n, cap;
};
/* Append copies of name and dir.  0 or CORRAL_ENOMEM. */
int crl_ds_push(struct crl_ds_list *l, const char *name, const char *dir);
void crl_ds_list_free(struct crl_ds_list *l);

/* Every task directory under root (root itself when it is one), named by
 * its path below root prefixed by `prefix` (NULL: none).  0, or a status
 * with the reason in call. */
int crl_ds_scan(const char *root, const char *prefix, struct crl_ds_list *l, struct corral_call *call);

/* root joined with the relative path rel ("" or NULL: root itself) into a
 * malloc'ed absolute path, refusing absolute paths, ".." components and
 * anything that resolves (through symlinks) outside root: CORRAL_EPERM.
 * `what` names rel in messages.  0 or a status. */
int crl_ds_subpath(const char *root, const char *rel, const char *what, char **out, struct corral_call *call);

/* "git+URL@REF[#PATH]" split into malloc'ed parts (path NULL when absent).
 * 1 when spec is of that form and parsed, 0 when it does not start with
 * "git+", or a status for a malformed one. */
struct crl_git_spec {
    char *url, *ref, *path;
};
int crl_git_spec_parse(const char *spec, struct crl_git_spec *g, struct corral_call *call);
void crl_git_spec_free(struct crl_git_spec *g);

/* A checkout of url at ref (a branch, tag, "HEAD" or a 40-hex commit) in
 * the cache: $cache/datasets/<url key>/<commit>, without .git, made once
 * and shared by every later run and process (a commit already there is
 * never fetched again).  Writes the directory into dir and the commit into
 * commit.  0, or CORRAL_EIO / CORRAL_ENOTFOUND with git's reason. */
int crl_git_checkout(const char *url, const char *ref, char *dir, size_t cap, char commit[41],
                     struct corral_call *call);

/* The entry `name` (and `version`, NULL: the only one of that name) of the
 * Harbor registry JSON text, as tasks in l; base is the directory local
 * task paths are relative to.  Fills ds->name, ->version and ->commit.
 * `where` names the registry in messages.  0 or a status. */
int crl_registry_open(const char *json, size_t len, const char *where, const char *base, const char *name,
                      const char *version, struct corral_dataset *ds, struct crl_ds_list *l,
                      struct corral_call *call);

/* One dataset entry of a Harbor registry.json, selected by
 * crl_registry_select: every string malloc'ed and owned by the selection.
 * A task's url and ref are NULL for a path relative to the registry file;
 * ref is "HEAD" when the entry names no git_commit_id. */
struct crl_reg_task {
    char *name, *path, *url, *ref;
};
struct crl_reg_sel {
    char *name, *version;
    struct crl_reg_task *tasks;
    size_t n_tasks;
};
/* Parse the registry JSON text (untrusted; no git, no filesystem) and
 * select the entry `name` (of `version`; NULL: the only one of that name),
 * checking every task's fields.  `where` names the registry in messages.
 * 0 with *sel filled (free with crl_reg_sel_free), or a status with *sel
 * empty. */
int crl_registry_select(const char *json, size_t len, const char *where, const char *name, const char *version,
                        struct crl_reg_sel *sel, struct corral_call *call);
void crl_reg_sel_free(struct crl_reg_sel *sel);

#endif
