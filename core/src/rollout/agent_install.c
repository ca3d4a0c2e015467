/*
 * Host-side agent installs: npm packages pinned by the agent spec,
 * installed once into a cache directory and bound read-only into
 * sandboxes.  Idempotent (a marker per install), safe against concurrent
 * corral processes (flock), atomic (install into a temp dir, then rename),
 * retried on failure with backoff (npm failures are mostly transient).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "rollout/agent_install.h"
#include "base/internal.h"


int crl_agent_cache_root(char *buf, size_t cap)
{
    char root[PATH_MAX];
    if (crl_cache_root(root, sizeof root) != 0)
        return -1;
    int n = snprintf(buf, cap, "%s/agents", root);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

/* First 12 hex digits of SHA-256 over the package list. */
static void packages_hash(const cJSON *npm, char out[13])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    EVP_DigestInit_ex(c, EVP_sha256(), NULL);
    const cJSON *p;
    cJSON_ArrayForEach(p, npm) EVP_DigestUpdate(c, p->valuestring, strlen(p->valuestring) + 1);
    EVP_DigestFinal_ex(c, md, &len);
    EVP_MD_CTX_free(c);
    for (int i = 0; i < 6; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

int crl_agent_npm_argv(const struct crl_agent_spec *s, struct crl_strv *argv, char *why, size_t wl)
{
    static const char *const head[] = {"npm", "install", "--no-audit", "--no-fund", "--no-update-notifier",
                                       "--loglevel=warn"};
    for (size_t i = 0; i < CRL_ARRAY_LEN(head); i++)
        if (crl_strv_push(argv, head[i]))
            return CORRAL_ENOMEM;
    const cJSON *p;
    cJSON_ArrayForEach(p, s->npm) {
        /* [@scope/]name@version: nothing a shell or npm would read as an option. */
        if (!*p->valuestring || p->valuestring[0] == '-' ||
            strspn(p->valuestring, "abcdefghijklmnopqrstuvwxyz0123456789@/._-") != strlen(p->valuestring)) {
            snprintf(why, wl, "odd npm package spec '%s'", p->valuestring);
            return CORRAL_EINVAL;
        }
        if (crl_strv_push(argv, p->valuestring))
            return CORRAL_ENOMEM;
    }
    return 0;
}

/* Run the npm argv in dir (its package.json written first), output to
 * log; returns the exit status, or -1 when npm cannot be started. */
static int run_npm(const struct crl_strv *argv, const char *dir, const char *log)
{
    char pkg[PATH_MAX + 64];
    snprintf(pkg, sizeof pkg, "%s/package.json", dir);
    FILE *f = fopen(pkg, "w");
    if (!f)
        return -1;
    int werr = fputs(CRL_AGENT_PACKAGE_JSON, f) < 0;
    if (fclose(f) != 0 || werr)
        return -1;
    return crl_spawn_wait(crl_strv_get(argv), dir, log);
}

static void tail_of(const char *path, char *out, size_t cap)
{
    int err;
    size_t len = 0;
    char *text = crl_read_file(path, &len, &err);
    out[0] = '\0';
    if (!text)
        return;
    size_t from = len > cap - 1 ? len - (cap - 1) : 0;
    snprintf(out, cap, "%s", text + from);
    free(text);
}

int crl_agent_install_host(const struct crl_agent_spec *s, char *dir, size_t cap, struct corral_call *call)
{
    char root[PATH_MAX], hash[13], lockp[PATH_MAX + 16], tmp[PATH_MAX + 32], marker[PATH_MAX + 32],
        log[PATH_MAX + 16];
    if (crl_agent_cache_root(root, sizeof root) != 0 || crl_mkdir_p(root, 0755) != 0)
        return corral_call_fail(call, CORRAL_EIO, "agent %s: cannot create the cache directory %s: %s", s->name, root,
                                strerror(errno));
    packages_hash(s->npm, hash);
    snprintf(dir, cap, "%s/%s-%s", root, s->name, hash);
    snprintf(marker, sizeof marker, "%s/.corral-installed", dir);
    if (access(marker, F_OK) == 0)
        return 0;

    struct crl_strv argv = {0};
    char why[256];
    int rc = crl_agent_npm_argv(s, &argv, why, sizeof why);
    if (rc) {
        crl_strv_free(&argv);
        return corral_call_fail(call, rc, "agent %s: %s", s->name, rc == CORRAL_ENOMEM ? "out of memory" : why);
    }
    snprintf(lockp, sizeof lockp, "%s/%s.lock", root, s->name);
    int lfd = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lfd < 0 || flock(lfd, LOCK_EX) != 0) {
        if (lfd >= 0)
            close(lfd);
        crl_strv_free(&argv);
        return corral_call_fail(call, CORRAL_EIO, "agent %s: cannot lock %s: %s", s->name, lockp, strerror(errno));
    }
    if (access(marker, F_OK) == 0) /* another process installed it while we waited */
        goto out;
    snprintf(tmp, sizeof tmp, "%s.tmp-%d", dir, (int)getpid());
    snprintf(log, sizeof log, "%s.log", dir);
    corral_log(CORRAL_LOG_WARN, "agent", "installing %s into %s (first use only; npm log: %s)", s->name, dir, log);
    int status = -1;
    for (int attempt = 1; attempt <= 3; attempt++) {
        if (corral_call_cancelled(call)) {
            rc = corral_call_fail(call, CORRAL_ECANCELED, "agent %s: install cancelled", s->name);
            goto out;
        }
        if (crl_rm_rf(tmp) != 0 || crl_mkdir_p(tmp, 0755) != 0)
            break;
        status = run_npm(&argv, tmp, log);
        if (status == 0)
            break;
        corral_log(CORRAL_LOG_WARN, "agent", "npm install for %s failed with %d (attempt %d of 3)", s->name, status,
                   attempt);
        if (attempt < 3)
            sleep((unsigned)(2 << attempt));
    }
    if (status != 0) {
        char t[600];
        tail_of(log, t, sizeof t);
        rc = corral_call_fail(call, status < 0 ? CORRAL_ENOTFOUND : CORRAL_ETRANSIENT,
                              "agent %s: npm install failed%s (log %s): ...%s", s->name,
                              status < 0 ? " (is npm installed? Debian: apt-get install npm)" : "", log, t);
        goto out;
    }
    char mk[PATH_MAX + 64];
    snprintf(mk, sizeof mk, "%s/.corral-installed", tmp);
    FILE *m = fopen(mk, "w");
    if (m) {
        const cJSON *p;
        cJSON_ArrayForEach(p, s->npm) fprintf(m, "%s\n", p->valuestring);
        fclose(m);
    }
    if (!m || rename(tmp, dir) != 0)
        rc = corral_call_fail(call, CORRAL_EIO, "agent %s: cannot finish the install in %s: %s", s->name, dir,
                              strerror(errno));
out:
    flock(lfd, LOCK_UN);
    close(lfd);
    crl_strv_free(&argv);
    return rc;
}
