/* Private to the archive code (archive.c, archive_tree.c). */
#ifndef CORRAL_ARCHIVE_INTERNAL_H
#define CORRAL_ARCHIVE_INTERNAL_H

#include "sandbox/sandbox_internal.h"

struct archive;
struct archive_entry;

/* Check one entry before it crosses the host boundary; on refusal returns
 * CORRAL_EPERM with a message in call.  *rel gets the cleaned relative
 * path ("" for the root itself), borrowed from e.  Names and hardlink
 * targets must be relative and free of ".."; devices, fifos and sockets
 * never pass; with `strict` (extraction onto this host) symlinks must also
 * stay inside the tree. */
int crl_archive_entry_check(struct archive_entry *e, const char **rel, int strict, struct corral_call *call);

/* Flags of crl_tree_extract. */
#define CRL_TREE_STRICT 1u /* crl_archive_entry_check's strict: links stay inside the tree */
/* An OCI image layer applied over the tree (docs/images.md): ".wh.NAME"
 * entries delete NAME, ".wh..wh..opq" hides what the directory held
 * before this layer; other ".wh..wh." entries are skipped; an entry
 * replaces whatever is in its place, a non-empty directory included;
 * device nodes, fifos and sockets are skipped (an unprivileged process
 * cannot make them; a sandbox gets its own /dev); and directories stay
 * writable by their owner (u+rwx) so that later layers can change them. */
#define CRL_TREE_LAYER 2u

/* Extract every entry of the opened reader `in` below the directory dirfd
 * (borrowed), each checked with crl_archive_entry_check (strict with
 * CRL_TREE_STRICT).  No symlink on the way to an entry is followed (such
 * an entry is refused); what is in an entry's place is replaced;
 * directories get their modes and times at the end. */
int crl_tree_extract(struct archive *in, int dirfd, unsigned flags, struct corral_call *call);

/* A depth-first walk of the tree below a directory fd, in name order,
 * never following a symlink and never changing the working directory. */
struct crl_tree_walk;
/* dirfd is borrowed (the walk opens its own).  *out is freed with
 * crl_tree_walk_free(). */
int crl_tree_walk_open(int dirfd, struct crl_tree_walk **out, struct corral_call *call);
/* The next entry into e (the caller's, cleared first): path relative to
 * the walk's root, type, mode, size and mtime; owners are 0.  For a
 * regular file *fd is an open fd of it, which the caller closes; else -1.
 * Sockets are skipped.  Returns 1 for an entry, 0 at the end, or a
 * negative status. */
int crl_tree_walk_next(struct crl_tree_walk *w, struct archive_entry *e, int *fd, struct corral_call *call);
void crl_tree_walk_free(struct crl_tree_walk *w);

/* Remove name (below dirfd) and, when it is a directory, everything in it,
 * never following a symlink; best effort (for cleaning up a partial
 * output that corral itself created). */
void crl_tree_remove(int dirfd, const char *name);

/* Host services (struct corral_host): a tar stream into / out of the tree
 * below dirfd.  See plugin.h. */
int crl_archive_extract_at(int dirfd, const struct corral_source *src, unsigned flags, struct corral_call *call);
int crl_archive_tree_at(int dirfd, const struct corral_sink *sink, unsigned flags, struct corral_call *call);

/* A build context's .dockerignore (dockerignore.c, docs/backends/docker.md):
 * parse the file's bytes (untrusted) into *out (crl_dockerignore_free);
 * a bad pattern fails with CORRAL_EINVAL naming its line. */
struct crl_dockerignore;
int crl_dockerignore_parse(const char *text, size_t len, struct crl_dockerignore **out, struct corral_call *call);
/* Whether the context-relative path ("a/b", no leading "./") is left out
 * of the context: the last pattern matching it or a parent decides.
 * d may be NULL (nothing is). */
int crl_dockerignore_excluded(const struct crl_dockerignore *d, const char *path);
void crl_dockerignore_free(struct crl_dockerignore *d);

/* A tar of the tree below dirfd (borrowed) to sink, as crl_archive_tree_at,
 * leaving out what `ignore` (may be NULL) excludes except "Dockerfile" and
 * ".dockerignore" themselves; max caps the expanded bytes (0 = none). */
int crl_archive_context_at(int dirfd, const struct crl_dockerignore *ignore, int64_t max,
                           const struct corral_sink *sink, struct corral_call *call);

#endif
