/*
 * The content digest of a task directory (RolloutResult "task_digest"):
 * sha256 over every entry under the directory in a defined order and
 * framing, so that two copies of the same task on different machines get
 * the same digest whatever order their files were created in.  The exact
 * framing is in docs/report.md ("Task digest").
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "base/internal.h"
#include "crl_common.h"
#include <corral/rollout.h>

#define DIGEST_MAX_DEPTH 64

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void put_u64(EVP_MD_CTX *md, uint64_t v)
{
    unsigned char b[8];
    for (int i = 7; i >= 0; i--, v >>= 8)
        b[i] = (unsigned char)(v & 0xff);
    EVP_DigestUpdate(md, b, sizeof b);
}

/* One entry: type byte, relative path and NUL, then what the type adds. */
static int digest_entry(EVP_MD_CTX *md, const char *abs, const char *rel, int depth, struct corral_call *call);

static int digest_dir(EVP_MD_CTX *md, const char *abs, const char *rel, int depth, struct corral_call *call)
{
    if (depth > DIGEST_MAX_DEPTH)
        return corral_call_fail(call, CORRAL_EINVAL, "task digest: %s is nested too deep", abs);
    DIR *d = opendir(abs);
    if (!d)
        return corral_call_fail(call, CORRAL_EIO, "task digest: cannot read %s: %s", abs, strerror(errno));
    struct crl_strv names = {0};
    int st = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (crl_strv_push(&names, e->d_name)) {
            st = corral_call_fail(call, CORRAL_ENOMEM, "task digest: out of memory");
            break;
        }
    }
    closedir(d);
    if (!st && names.n)
        qsort(names.v, names.n, sizeof *names.v, cmp_names);
    for (size_t i = 0; !st && i < names.n; i++) {
        char *a = NULL, *r = NULL;
        if (asprintf(&a, "%s/%s", abs, names.v[i]) < 0)
            a = NULL;
        if (a && asprintf(&r, "%s%s%s", rel, *rel ? "/" : "", names.v[i]) < 0)
            r = NULL;
        if (!a || !r)
            st = corral_call_fail(call, CORRAL_ENOMEM, "task digest: out of memory");
        else
            st = digest_entry(md, a, r, depth + 1, call);
        free(a);
        free(r);
    }
    crl_strv_free(&names);
    return st;
}

static int digest_file(EVP_MD_CTX *md, const char *abs, const struct stat *lst, struct corral_call *call)
{
    int fd = open(abs, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat fst;
    if (fd < 0 || fstat(fd, &fst) != 0 || !S_ISREG(fst.st_mode) || fst.st_ino != lst->st_ino) {
        if (fd >= 0)
            close(fd);
        return corral_call_fail(call, CORRAL_EIO, "task digest: cannot read %s", abs);
    }
    EVP_DigestUpdate(md, (fst.st_mode & S_IXUSR) ? "x" : "-", 1);
    put_u64(md, (uint64_t)fst.st_size);
    unsigned char buf[65536];
    uint64_t total = 0;
    ssize_t got;
    while ((got = read(fd, buf, sizeof buf)) > 0) {
        EVP_DigestUpdate(md, buf, (size_t)got);
        total += (uint64_t)got;
    }
    close(fd);
    if (got < 0 || total != (uint64_t)fst.st_size)
        return corral_call_fail(call, CORRAL_EIO, "task digest: %s changed or could not be read while hashing", abs);
    return 0;
}

static int digest_entry(EVP_MD_CTX *md, const char *abs, const char *rel, int depth, struct corral_call *call)
{
    struct stat st;
    if (lstat(abs, &st) != 0)
        return corral_call_fail(call, CORRAL_EIO, "task digest: cannot stat %s: %s", abs, strerror(errno));
    char type = S_ISREG(st.st_mode) ? 'f' : S_ISDIR(st.st_mode) ? 'd' : S_ISLNK(st.st_mode) ? 'l' : 0;
    if (!type)
        return corral_call_fail(call, CORRAL_EINVAL, "task digest: %s is not a file, directory or symlink", abs);
    EVP_DigestUpdate(md, &type, 1);
    EVP_DigestUpdate(md, rel, strlen(rel) + 1);
    if (type == 'd')
        return digest_dir(md, abs, rel, depth, call);
    if (type == 'f')
        return digest_file(md, abs, &st, call);
    char target[PATH_MAX];
    ssize_t n = readlink(abs, target, sizeof target);
    if (n < 0 || (size_t)n >= sizeof target)
        return corral_call_fail(call, CORRAL_EIO, "task digest: cannot read the link %s", abs);
    put_u64(md, (uint64_t)n);
    EVP_DigestUpdate(md, target, (size_t)n);
    return 0;
}

int corral_task_digest(const char *dir, char out[CORRAL_TASK_DIGEST_LEN], struct corral_call *call)
{
    out[0] = '\0';
    if (!dir || !*dir)
        return corral_call_fail(call, CORRAL_EINVAL, "task digest: no directory");
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return corral_call_fail(call, CORRAL_EINVAL, "task digest: %s is not a directory", dir);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(md);
        return corral_call_fail(call, CORRAL_ENOMEM, "task digest: cannot start sha256");
    }
    static const char magic[] = "corral-task-digest-v1";
    EVP_DigestUpdate(md, magic, sizeof magic); /* with its NUL */
    int rc = digest_dir(md, dir, "", 0, call);
    unsigned char h[EVP_MAX_MD_SIZE];
    unsigned hl = 0;
    if (!rc && EVP_DigestFinal_ex(md, h, &hl) != 1)
        rc = corral_call_fail(call, CORRAL_EIO, "task digest: sha256 failed");
    EVP_MD_CTX_free(md);
    if (rc)
        return rc;
    int off = snprintf(out, CORRAL_TASK_DIGEST_LEN, "sha256:");
    for (unsigned i = 0; i < hl && off + 2 < CORRAL_TASK_DIGEST_LEN; i++)
        off += snprintf(out + off, (size_t)(CORRAL_TASK_DIGEST_LEN - off), "%02x", h[i]);
    return 0;
}
