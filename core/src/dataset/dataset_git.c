/* Datasets in git repositories: "git+URL@REF[#PATH]" and the checkouts
 * behind them, made with the `git` CLI into corral's cache and keyed by
 * commit, so a dataset is pinned and a commit is fetched once per host
 * (docs/datasets.md, "Git repositories"). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "base/internal.h"
#include "crl_common.h"
#include "dataset/dataset_internal.h"

void crl_git_spec_free(struct crl_git_spec *g)
{
    free(g->url);
    free(g->ref);
    free(g->path);
    memset(g, 0, sizeof *g);
}

int crl_git_spec_parse(const char *spec, struct crl_git_spec *g, struct corral_call *call)
{
    memset(g, 0, sizeof *g);
    if (strncmp(spec, "git+", 4) != 0)
        return 0;
    const char *url = spec + 4, *hash = strchr(url, '#');
    size_t upto = hash ? (size_t)(hash - url) : strlen(url);
    const char *at = NULL;
    for (const char *p = url; p < url + upto; p++)
        if (*p == '@')
            at = p;
    if (!at || at == url || at + 1 == url + upto)
        return corral_call_fail(call, CORRAL_EINVAL,
                                "dataset %s: give the repository and a ref: git+URL@REF[#PATH] (a branch, tag or commit)",
                                spec);
    if (url[0] == '-' || strncmp(url, "ext::", 5) == 0 || strncmp(url, "fd::", 4) == 0)
        return corral_call_fail(call, CORRAL_EINVAL, "dataset %s: not a repository URL", spec);
    g->url = strndup(url, (size_t)(at - url));
    g->ref = strndup(at + 1, (size_t)(url + upto - at - 1));
    g->path = hash && hash[1] ? strdup(hash + 1) : NULL;
    if (!g->url || !g->ref || (hash && hash[1] && !g->path)) {
        crl_git_spec_free(g);
        return corral_call_fail(call, CORRAL_ENOMEM, "dataset: out of memory");
    }
    if (g->ref[0] == '-' || strstr(g->ref, "..") || strpbrk(g->ref, " \t\n~^:?*[\\")) {
        int rc = corral_call_fail(call, CORRAL_EINVAL, "dataset %s: \"%s\" is not a valid git ref", spec, g->ref);
        crl_git_spec_free(g);
        return rc;
    }
    return 1;
}

static int is_commit(const char *s)
{
    size_t n = strspn(s, "0123456789abcdef");
    return n == 40 && s[40] == '\0';
}

/* The first 16 hex digits of sha256(url): the cache folder of a repository. */
static void url_key(const char *url, char out[17])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(url, strlen(url), md, &n, EVP_sha256(), NULL);
    for (int i = 0; i < 8; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* git with the arguments after "git", never prompting, never through the
 * ext:: transport; output appended to log.  Its exit status or -1. */
static int git(const char *dir, const char *log, const char *const *args)
{
    const char *argv[16] = {"env", "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=/bin/false", "git",
                            "-c", "protocol.ext.allow=never", "-c", "advice.detachedHead=false"};
    size_t n = 8;
    for (size_t i = 0; args[i] && n < sizeof argv / sizeof *argv - 1; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return crl_spawn_wait(argv, dir, log);
}

/* The last non-empty line of the file at path into out (for messages). */
static void last_line(const char *path, char *out, size_t cap)
{
    int err;
    size_t len = 0;
    char *t = crl_read_file_max(path, 1 << 20, &len, &err);
    out[0] = '\0';
    if (!t)
        return;
    while (len && (t[len - 1] == '\n' || t[len - 1] == '\r'))
        t[--len] = '\0';
    char *nl = strrchr(t, '\n');
    snprintf(out, cap, "%s", nl ? nl + 1 : t);
    free(t);
}

/* REF's commit by `git ls-remote` (a branch, a tag peeled to its commit,
 * or HEAD), into commit. */
static int resolve_ref(const char *url, const char *ref, const char *log, char commit[41], struct corral_call *call)
{
    unlink(log);
    char peel[300];
    if (strlen(ref) > 255)
        return corral_call_fail(call, CORRAL_EINVAL, "dataset: the ref \"%.40s...\" is too long", ref);
    snprintf(peel, sizeof peel, "%s^{}", ref); /* ls-remote matches patterns on whole tails */
    const char *args[] = {"ls-remote", "--", url, ref, peel, NULL};
    int st = git(NULL, log, args);
    char why[512];
    if (st != 0) {
        last_line(log, why, sizeof why);
        return corral_call_fail(call, st < 0 ? CORRAL_ENOTFOUND : CORRAL_EIO, "dataset: git ls-remote %s failed%s: %s",
                                url, st < 0 ? " (is git installed? Debian: apt-get install git)" : "", why);
    }
    int err;
    size_t len = 0;
    char *out = crl_read_file_max(log, 16 << 20, &len, &err);
    int found = 0, peeled = 0;
    for (char *line = out; line && *line && !peeled;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (strlen(line) > 41 && line[40] == '\t' && strspn(line, "0123456789abcdef") == 40) {
            const char *name = line + 41;
            char heads[512], tags[512], peel[512];
            snprintf(heads, sizeof heads, "refs/heads/%s", ref);
            snprintf(tags, sizeof tags, "refs/tags/%s", ref);
            snprintf(peel, sizeof peel, "refs/tags/%s^{}", ref);
            int is_peel = strcmp(name, peel) == 0;
            if (is_peel || (!found && (!strcmp(name, ref) || !strcmp(name, heads) || !strcmp(name, tags)))) {
                memcpy(commit, line, 40);
                commit[40] = '\0';
                found = 1;
                peeled = is_peel;
            }
        }
        line = nl ? nl + 1 : NULL;
    }
    free(out);
    unlink(log);
    return found ? 0 : corral_call_fail(call, CORRAL_ENOTFOUND, "dataset: %s has no ref \"%s\"", url, ref);
}

int crl_git_checkout(const char *url, const char *ref, char *dir, size_t cap, char commit[41],
                     struct corral_call *call)
{
    char root[PATH_MAX], repo[PATH_MAX + 32], key[17], log[PATH_MAX + 64], why[512];
    if (crl_cache_root(root, sizeof root) != 0)
        return corral_call_fail(call, CORRAL_ECONFIG, "dataset: no cache directory (CORRAL_CACHE_DIR must be absolute)");
    url_key(url, key);
    snprintf(repo, sizeof repo, "%s/datasets/%s", root, key);
    int e = crl_mkdir_p(repo, 0755);
    if (e)
        return corral_call_fail(call, CORRAL_EIO, "dataset: cannot create %s: %s", repo, strerror(-e));
    snprintf(log, sizeof log, "%s/git-%d.log", repo, (int)getpid());
    int rc;
    if (is_commit(ref))
        snprintf(commit, 41, "%s", ref);
    else if ((rc = resolve_ref(url, ref, log, commit, call)))
        return rc;
    int n = snprintf(dir, cap, "%s/%s", repo, commit);
    if (n < 0 || (size_t)n >= cap)
        return corral_call_fail(call, CORRAL_EINVAL, "dataset: cache path too long");
    struct stat sb;
    if (stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode))
        return 0; /* complete: a checkout only appears by rename */

    char lockp[PATH_MAX + 64], tmp[PATH_MAX + 64];
    snprintf(lockp, sizeof lockp, "%s/.lock", repo);
    int lfd = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lfd < 0 || flock(lfd, LOCK_EX) != 0) {
        if (lfd >= 0)
            close(lfd);
        return corral_call_fail(call, CORRAL_EIO, "dataset: cannot lock %s: %s", lockp, strerror(errno));
    }
    rc = 0;
    if (stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode))
        goto out; /* another process fetched it while this one waited */
    corral_log(CORRAL_LOG_INFO, "dataset", "fetching %s at %s into %s", url, commit, dir);
    snprintf(tmp, sizeof tmp, "%s.tmp-%d", dir, (int)getpid());
    unlink(log);
    if (crl_rm_rf(tmp) != 0 || crl_mkdir_p(tmp, 0755) != 0) {
        rc = corral_call_fail(call, CORRAL_EIO, "dataset: cannot create %s: %s", tmp, strerror(errno));
        goto out;
    }
    const char *init[] = {"init", "-q", NULL};
    const char *fetch[] = {"fetch", "-q", "--depth", "1", "--", url, commit, NULL};
    const char *fetch_all[] = {"fetch", "-q", "--", url, "+refs/heads/*:refs/remotes/src/*", "+refs/tags/*:refs/tags/*",
                               NULL};
    const char *checkout[] = {"checkout", "-q", "--detach", commit, NULL};
    int st = git(tmp, log, init);
    if (st == 0 && git(tmp, log, fetch) != 0) /* a server that refuses fetching a commit by id */
        st = git(tmp, log, fetch_all);
    if (st == 0)
        st = git(tmp, log, checkout);
    if (st != 0) {
        last_line(log, why, sizeof why);
        rc = corral_call_fail(call, st < 0 ? CORRAL_ENOTFOUND : CORRAL_EIO, "dataset: fetching %s at %s failed%s: %s",
                              url, commit, st < 0 ? " (is git installed? Debian: apt-get install git)" : "", why);
        crl_rm_rf(tmp);
        goto out;
    }
    /* The checkout is the commit's files only: .git differs from host to
     * host and would change every task digest. */
    char gitdir[PATH_MAX + 96];
    snprintf(gitdir, sizeof gitdir, "%s/.git", tmp);
    if (crl_rm_rf(gitdir) != 0 || rename(tmp, dir) != 0) {
        rc = corral_call_fail(call, CORRAL_EIO, "dataset: cannot finish the checkout in %s: %s", dir, strerror(errno));
        crl_rm_rf(tmp);
    }
out:
    unlink(log);
    flock(lfd, LOCK_UN);
    close(lfd);
    return rc;
}
