/*
 * The results file of a batch (docs/batches.md "Resume"): appended a line
 * at a time under flock(2) with fsync, so that shards on one shared file
 * system can share it and a crash loses at most the line being written;
 * --resume reads it back through the report library's reader.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "cli.h"
#include "run_results.h"
#include <corral/report.h>
#include <corral/rollout.h>

static int lock(int fd, int op)
{
    while (flock(fd, op) != 0)
        if (errno != EINTR)
            return -1;
    return 0;
}


/* FILE.manifest, written whole then renamed over the old one. */
static int manifest_write(const char *mpath, const cJSON *m)
{
    char tmp[PATH_MAX + 32];
    snprintf(tmp, sizeof tmp, "%s.%d.tmp", mpath, (int)getpid());
    char *text = cJSON_Print(m);
    int fd = text ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : -1;
    int ok = fd >= 0 && crl_write_all(fd, text, strlen(text)) == 0 && crl_write_all(fd, "\n", 1) == 0 && fsync(fd) == 0;
    if (fd >= 0 && close(fd) != 0)
        ok = 0;
    free(text);
    if (!ok || rename(tmp, mpath) != 0) {
        cli_error("run: cannot write %s: %s", mpath, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* --resume: the manifest must be this run's (written when missing). */
static int manifest_resume(const char *mpath, const cJSON *m)
{
    size_t len = 0;
    int err = 0;
    char *have = crl_read_file_max(mpath, 1 << 24, &len, &err);
    if (!have && err == ENOENT)
        return manifest_write(mpath, m);
    if (!have) {
        cli_error("run: --resume: %s: %s", mpath, crl_file_strerror(err));
        return -1;
    }
    char why[512];
    int rc = cli_manifest_check(have, len, m, why, sizeof why);
    free(have);
    if (rc)
        cli_error("run: --resume: %s: %s; the results there are of another run (resume with the same options and "
                  "tasks, or write to a new --out)", mpath, why);
    return rc ? -1 : 0;
}

static int cmp_done(const void *a, const void *b)
{
    return strcmp(((const struct cli_done *)a)->key, ((const struct cli_done *)b)->key);
}

/* One merged result: add its pair to r->done unless it must run again. */
static int note_result(struct cli_results *r, const char *json, int resume_errors)
{
    cJSON *j = cJSON_Parse(json);
    const cJSON *dg = cJSON_GetObjectItemCaseSensitive(j, "task_digest");
    const cJSON *at = cJSON_GetObjectItemCaseSensitive(j, "attempt");
    const cJSON *er = cJSON_GetObjectItemCaseSensitive(j, "error");
    const cJSON *es = cJSON_GetObjectItemCaseSensitive(er, "status");
    int64_t attempt;
    int rc = 0;
    if (cJSON_IsString(dg) && cJSON_IsNumber(at) && crl_number_i64(at->valuedouble, 0, UINT32_MAX, &attempt) == 0) {
        int errored = !cJSON_IsNull(er);
        int cancelled = cJSON_IsString(es) && strcmp(es->valuestring, corral_strerror(CORRAL_ECANCELED)) == 0;
        if (!cancelled && !(errored && resume_errors)) {
            struct cli_done *d = realloc(r->done, (r->n_done + 1) * sizeof *d);
            if (d)
                r->done = d;
            if (!d || asprintf(&r->done[r->n_done].key, "%s#%u", dg->valuestring, (unsigned)attempt) < 0)
                rc = -1;
            else
                r->done[r->n_done++].errored = errored;
        }
    }
    cJSON_Delete(j);
    return rc;
}

/* Under the lock: drop a torn last line, then list the finished pairs. */
static int read_done(struct cli_results *r, int resume_errors)
{
    size_t len = 0, keep;
    int err = 0;
    char *data = crl_read_file(r->path, &len, &err);
    if (!data) {
        cli_error("run: --resume: %s: %s", r->path, crl_file_strerror(err));
        return -1;
    }
    for (keep = len; keep && data[keep - 1] != '\n';)
        keep--;
    if (keep < len) {
        if (ftruncate(r->fd, (off_t)keep) != 0) {
            cli_error("run: --resume: %s: cannot drop its torn last line: %s", r->path, strerror(errno));
            free(data);
            return -1;
        }
        cli_error("note: %s: dropped a torn last line (%zu bytes, a write cut short); its rollout runs again",
                  r->path, len - keep);
    }
    int rc = cli_results_scan(r, data, keep, resume_errors);
    free(data);
    return rc;
}

int cli_results_scan(struct cli_results *r, const char *data, size_t len, int resume_errors)
{
    corral_report *rep = corral_report_new();
    struct corral_call call;
    corral_call_init(&call, 0);
    int rc = rep ? corral_report_add(rep, r->path, data, len, &call) : CORRAL_ENOMEM;
    if (rc)
        cli_error("run: --resume: %s", rep ? call.message : "out of memory");
    for (size_t i = 0; !rc && i < corral_report_count(rep); i++)
        if (note_result(r, corral_report_result_json(rep, i), resume_errors) != 0) {
            cli_error("run: out of memory");
            rc = -1;
        }
    corral_report_free(rep);
    if (!rc && r->n_done)
        qsort(r->done, r->n_done, sizeof *r->done, cmp_done);
    return rc ? -1 : 0;
}

int cli_results_open(struct cli_results *r, const char *path, const cJSON *manifest, int resume, int resume_errors)
{
    *r = (struct cli_results){.path = path, .fd = -1};
    if (!path)
        return 0;
    char mpath[PATH_MAX];
    if ((size_t)snprintf(mpath, sizeof mpath, "%s.manifest", path) >= sizeof mpath) {
        cli_error("run: --out %s: name too long", path);
        return -1;
    }
    r->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (r->fd < 0 || lock(r->fd, LOCK_EX) != 0) {
        cli_error("run: cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    int rc;
    if (resume)
        rc = manifest_resume(mpath, manifest) || read_done(r, resume_errors) ? -1 : 0;
    else if ((rc = ftruncate(r->fd, 0)) != 0)
        cli_error("run: cannot write %s: %s", path, strerror(errno));
    else
        rc = manifest_write(mpath, manifest);
    lock(r->fd, LOCK_UN);
    return rc;
}

int cli_results_done(const struct cli_results *r, const char *digest, unsigned attempt)
{
    char key[CORRAL_TASK_DIGEST_LEN + 16];
    snprintf(key, sizeof key, "%s#%u", digest, attempt);
    struct cli_done k = {.key = key};
    const struct cli_done *d = r->n_done ? bsearch(&k, r->done, r->n_done, sizeof *r->done, cmp_done) : NULL;
    return !d ? 0 : d->errored ? 2 : 1;
}

int cli_results_append(struct cli_results *r, const char *json)
{
    if (r->fd < 0)
        return puts(json) < 0 || fflush(stdout) != 0 ? -1 : 0;
    size_t n = strlen(json);
    char *line = malloc(n + 2);
    if (!line)
        return -1;
    memcpy(line, json, n);
    line[n] = '\n';
    int rc = lock(r->fd, LOCK_EX) == 0 && crl_write_all(r->fd, line, n + 1) == 0 && fsync(r->fd) == 0 ? 0 : -1;
    lock(r->fd, LOCK_UN);
    free(line);
    return rc;
}

int cli_results_close(struct cli_results *r)
{
    for (size_t i = 0; i < r->n_done; i++)
        free(r->done[i].key);
    free(r->done);
    r->done = NULL, r->n_done = 0;
    int rc = r->fd >= 0 && close(r->fd) != 0 ? -1 : 0;
    r->fd = -1;
    return rc;
}
