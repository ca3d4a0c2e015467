/* The collect phase: with --artifacts DIR, Harbor's /logs/agent,
 * /logs/artifacts (from the agent's sandbox) and /logs/verifier (from the
 * sandbox the tests ran in) are copied to DIR/<rollout id>/ before the
 * sandboxes are destroyed, also after a failure, when they matter most
 * (docs/rollout.md, "Artifacts"). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crl_common.h"
#include "rollout/rollout_internal.h"

int crl_phase_collect_wanted(const struct rollout *r)
{
    return r->o->artifacts_dir && r->o->artifacts_dir[0] && r->sb;
}

#define ARTIFACT_MAX_BYTES ((int64_t)256 << 20) /* one task.toml artifact path */

/* What src is in the sandbox: 'd' directory, 'f' regular file, 'o' other,
 * 'm' missing, 0 when the probe itself failed; its size in bytes into *size. */
static char probe(corral_sandbox *sb, const char *src, int64_t *size)
{
    const char *argv[] = {"/bin/sh", "-c",
                          "if [ -d \"$1\" ]; then echo d $(( $(du -sk \"$1\" 2>/dev/null | cut -f1) * 1024 )); "
                          "elif [ -f \"$1\" ]; then echo f $(wc -c < \"$1\"); elif [ -e \"$1\" ]; then echo o 0; "
                          "else echo m 0; fi",
                          "sh", src, NULL};
    struct corral_exec_request req = {.struct_size = sizeof req, .argv = argv, .timeout_ms = 60000};
    struct corral_exec_output out = {0};
    struct corral_call c;
    corral_call_init(&c, 90000);
    char kind = 0;
    long long n = 0;
    if (corral_sandbox_run(sb, &req, &out, &c) == 0 && out.res.exit_code == 0 && out.out.data &&
        sscanf(out.out.data, "%c %lld", &kind, &n) == 2 && n >= 0 && strchr("dfom", kind))
        *size = n;
    else
        kind = 0;
    corral_exec_output_free(&out);
    return kind;
}

/* A regular file of the sandbox into the new local file out. */
static int copy_file(corral_sandbox *sb, const char *src, const char *out, struct corral_call *c)
{
    char *data = NULL;
    size_t len = 0;
    int st = corral_sandbox_read_mem(sb, src, (size_t)ARTIFACT_MAX_BYTES, &data, &len, c);
    if (st)
        return st;
    int fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    int e = fd < 0 ? errno : crl_write_all(fd, data, len) ? EIO : 0;
    if (fd >= 0 && close(fd) && !e)
        e = errno;
    free(data);
    return e ? corral_call_fail(c, CORRAL_EIO, "%s: %s", out, strerror(e)) : 0;
}

/* task.toml's `artifacts` from the agent's sandbox into dir/files/: a
 * missing path is recorded in missing, a failure appended to errs. */
static size_t collect_task_artifacts(struct rollout *r, corral_sandbox *sb, const char *dir, struct crl_buf *errs)
{
    size_t copied = 0;
    for (size_t i = 0; r->task && r->task->artifact_sources && r->task->artifact_sources[i]; i++) {
        const char *s = r->task->artifact_sources[i], *d = r->task->artifact_dests[i];
        char src[PATH_MAX], out[PATH_MAX * 2], parent[PATH_MAX * 2];
        snprintf(src, sizeof src, "%s%s%s", s[0] == '/' ? "" : r->plan.workdir, s[0] == '/' ? "" : "/", s);
        const char *rel = d[0] ? d : src + strspn(src, "/");
        snprintf(out, sizeof out, "%s/files/%s", dir, rel);
        for (size_t n = strlen(out); n > 1 && out[n - 1] == '/';)
            out[--n] = '\0';
        int64_t size = 0;
        char kind = probe(sb, src, &size);
        struct corral_call c;
        corral_call_init(&c, 300000);
        int st = 0;
        snprintf(parent, sizeof parent, "%s", out);
        *strrchr(parent, '/') = '\0';
        if (kind == 'm') {
            if (!r->rec.artifacts_missing)
                r->rec.artifacts_missing = cJSON_CreateArray();
            cJSON_AddItemToArray(r->rec.artifacts_missing, cJSON_CreateString(s));
            corral_log(CORRAL_LOG_WARN, "run", "artifacts of %s: %s does not exist in the sandbox", r->rec.id, src);
            continue;
        } else if (!kind || kind == 'o') {
            st = corral_call_fail(&c, CORRAL_EIO, kind ? "not a file or directory" : "could not look at it");
        } else if (size > ARTIFACT_MAX_BYTES) {
            st = corral_call_fail(&c, CORRAL_EINVAL, "%lld bytes, over the %lld-byte limit of one path",
                                  (long long)size, (long long)ARTIFACT_MAX_BYTES);
        } else if (crl_mkdir_p(parent, 0755)) {
            st = corral_call_fail(&c, CORRAL_EIO, "cannot create %s", parent);
        } else {
            st = kind == 'd' ? corral_sandbox_persist(sb, src, out, &c) : copy_file(sb, src, out, &c);
        }
        if (st == 0)
            copied++;
        else
            crl_buf_addf(errs, "%s%s: %s", errs->len ? "; " : "", src, c.message);
    }
    return copied;
}

int crl_phase_collect(struct rollout *r)
{
    struct corral_call c;
    corral_call_init(&c, 300000); /* not cancellable: what ran is kept */
    char dir[PATH_MAX];
    int n = snprintf(dir, sizeof dir, "%s/%s", r->o->artifacts_dir, r->rec.id);
    int e = n < 0 || (size_t)n >= sizeof dir ? -ENAMETOOLONG : crl_mkdir_p(dir, 0755);
    if (e) {
        crl_record_set(&r->rec.artifacts_error, strerror(-e));
        corral_log(CORRAL_LOG_WARN, "run", "artifacts: cannot create %s: %s", dir, strerror(-e));
        return 0;
    }
    crl_record_set(&r->rec.artifacts_dir, dir);
    corral_sandbox *agent_sb = r->agent_sb ? r->agent_sb : r->sb;
    const struct {
        corral_sandbox *sb;
        const char *from, *to;
    } what[] = {{agent_sb, "/logs/agent", "agent"}, {agent_sb, "/logs/artifacts", "artifacts"},
                {r->sb, "/logs/verifier", "verifier"}};
    struct crl_buf errs = {0};
    size_t copied = 0;
    for (size_t i = 0; i < CRL_ARRAY_LEN(what); i++) {
        char out[PATH_MAX + 16];
        snprintf(out, sizeof out, "%s/%s", dir, what[i].to);
        corral_call_init(&c, 300000);
        int st = corral_sandbox_persist(what[i].sb, what[i].from, out, &c);
        if (st == 0)
            copied++;
        else if (st != CORRAL_ENOTFOUND) /* a phase that did not run made no directory */
            crl_buf_addf(&errs, "%s%s: %s", errs.len ? "; " : "", what[i].from, c.message);
    }
    copied += collect_task_artifacts(r, agent_sb, dir, &errs);
    if (errs.len) {
        crl_record_set(&r->rec.artifacts_error, errs.p);
        corral_log(CORRAL_LOG_WARN, "run", "artifacts of %s: %s", r->rec.id, errs.p);
    }
    crl_rollout_progress(r, "%zu of Harbor's /logs directories and task artifacts copied to %s%s", copied, dir,
                         errs.len ? " (some could not be: see the result's artifacts.error)" : "");
    crl_buf_free(&errs);
    return 0;
}
