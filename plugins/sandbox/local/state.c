/* sandbox_local: the per-sandbox state directory, meta.json, the env file
 * and the /proc probes that tell whether a holder is still the one we
 * started (pid + start time guard against pid reuse). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "local.h"

int local_id_valid(const char *id)
{
    if (!id || !*id || id[0] == '.' || strlen(id) > 128)
        return 0;
    for (const char *p = id; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

char *local_state_dir(const struct local_plugin *lp, const char *id)
{
    char *out = NULL;
    if (asprintf(&out, "%s/%s", lp->state_root, id) < 0)
        return NULL;
    return out;
}

char *local_default_state_root(void)
{
    char *out = NULL, root[4096];
    int rc;
    if (crl_state_root(root, sizeof root) == 0) /* the rule the registry uses too */
        rc = asprintf(&out, "%s/local", root);
    else
        rc = asprintf(&out, "/tmp/corral-%u/local", (unsigned)geteuid());
    return rc < 0 ? NULL : out;
}

/* ---- meta.json -------------------------------------------------------------- */

char *local_meta_to_json(const struct local_meta *m, const char *dir)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "backend", "local");
    cJSON_AddStringToObject(o, "id", m->id ? m->id : "");
    if (dir)
        cJSON_AddStringToObject(o, "state_dir", dir);
    cJSON_AddStringToObject(o, "workdir", m->workdir ? m->workdir : "/workspace");
    if (m->user)
        cJSON_AddStringToObject(o, "user", m->user);
    cJSON_AddNumberToObject(o, "holder_pid", (double)m->holder_pid);
    cJSON_AddNumberToObject(o, "holder_start", (double)m->holder_start);
    cJSON_AddNumberToObject(o, "created", (double)m->created);
    cJSON_AddNumberToObject(o, "deadline", (double)m->deadline);
    cJSON_AddBoolToObject(o, "net_shared", m->net_shared);
    /* Read by the host too: hydrate stops an archive expanding past it. */
    if (m->storage_bytes > 0)
        cJSON_AddNumberToObject(o, "storage_bytes", (double)m->storage_bytes);
    cJSON *lim = cJSON_AddObjectToObject(o, "limits");
    if (lim) {
        cJSON_AddNumberToObject(lim, "memory_bytes", (double)m->limits.memory_bytes);
        cJSON_AddNumberToObject(lim, "pids_max", (double)m->limits.pids_max);
        cJSON_AddNumberToObject(lim, "fsize_bytes", (double)m->limits.fsize_bytes);
    }
    if (m->cgroups[0]) {
        cJSON *cg = cJSON_AddArrayToObject(o, "cgroups");
        for (int i = 0; cg && i < LOCAL_MAX_CGROUPS && m->cgroups[i]; i++)
            cJSON_AddItemToArray(cg, cJSON_CreateString(m->cgroups[i]));
        cJSON_AddBoolToObject(o, "cg_pids", m->cg_pids);
        cJSON_AddBoolToObject(o, "cg_memory", m->cg_memory);
        if (m->freezer) {
            cJSON_AddStringToObject(o, "freezer", m->freezer);
            cJSON_AddBoolToObject(o, "freezer_v2", m->freezer_v2);
        }
    }
    cJSON *labels = cJSON_AddObjectToObject(o, "labels");
    for (size_t i = 0; labels && m->labels && m->labels[i]; i++) {
        const char *kv = m->labels[i];
        const char *eq = strchr(kv, '=');
        char key[256];
        size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);
        if (klen >= sizeof(key))
            klen = sizeof(key) - 1;
        memcpy(key, kv, klen);
        key[klen] = '\0';
        cJSON_AddStringToObject(labels, key, eq ? eq + 1 : "");
    }
    char *txt = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return txt;
}

static int64_t num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

static char *str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) && v->valuestring ? strdup(v->valuestring) : NULL;
}

void local_meta_free(struct local_meta *m)
{
    free(m->id);
    free(m->workdir);
    free(m->user);
    crl_strv_free_array(m->labels);
    for (int i = 0; i < LOCAL_MAX_CGROUPS; i++)
        free(m->cgroups[i]);
    free(m->freezer);
    memset(m, 0, sizeof(*m));
}

int local_meta_from_json(const char *json, struct local_meta *m)
{
    memset(m, 0, sizeof(*m));
    cJSON *o = cJSON_Parse(json);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return -1;
    }
    m->id = str(o, "id");
    m->workdir = str(o, "workdir");
    m->user = str(o, "user");
    m->holder_pid = (pid_t)num(o, "holder_pid");
    m->holder_start = (uint64_t)num(o, "holder_start");
    m->created = num(o, "created");
    m->deadline = num(o, "deadline");
    m->net_shared = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "net_shared"));
    const cJSON *sb = cJSON_GetObjectItemCaseSensitive(o, "storage_bytes");
    m->storage_bytes = cJSON_IsNumber(sb) && sb->valuedouble > 0 && sb->valuedouble < 9e18 ? (int64_t)sb->valuedouble : 0;
    const cJSON *lim = cJSON_GetObjectItemCaseSensitive(o, "limits");
    m->limits.memory_bytes = num(lim, "memory_bytes");
    m->limits.pids_max = num(lim, "pids_max");
    m->limits.fsize_bytes = num(lim, "fsize_bytes");
    const cJSON *cg = cJSON_GetObjectItemCaseSensitive(o, "cgroups");
    const cJSON *c;
    int ncg = 0;
    cJSON_ArrayForEach(c, cg)
    {
        if (ncg < LOCAL_MAX_CGROUPS && cJSON_IsString(c) && c->valuestring)
            m->cgroups[ncg++] = strdup(c->valuestring);
    }
    m->cg_pids = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "cg_pids"));
    m->cg_memory = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "cg_memory"));
    m->freezer = str(o, "freezer");
    m->freezer_v2 = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "freezer_v2"));
    struct crl_strv labels = {0};
    const cJSON *it;
    int bad = 0;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(o, "labels"))
    {
        if (!bad && cJSON_IsString(it) && it->string &&
            crl_strv_pushf(&labels, "%s=%s", it->string, it->valuestring) != 0)
            bad = 1;
    }
    m->labels = crl_strv_take(&labels);
    bad = bad || !m->labels;
    cJSON_Delete(o);
    if (bad || !m->id || !local_id_valid(m->id)) {
        local_meta_free(m);
        return -1;
    }
    return 0;
}

int local_meta_load(const char *dir, struct local_meta *m)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/meta.json", dir);
    int e;
    char *txt = crl_read_file(path, NULL, &e);
    if (!txt)
        return e == ENOENT ? -ENOENT : -EIO;
    int rc = local_meta_from_json(txt, m) < 0 ? -EINVAL : 0;
    free(txt);
    return rc;
}

/* Create path and write data to it: O_EXCL, never
 * through a symlink, mode exactly `mode`.  0 or -errno (nothing left). */
static int write_new(const char *path, const void *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        return -errno;
    int e = fchmod(fd, mode) == 0 && crl_write_all(fd, data, len) == 0 ? 0 : -errno;
    if (close(fd) < 0 && !e)
        e = -errno;
    if (e)
        unlink(path);
    return e;
}

static int write_atomic(const char *dir, const char *name, const void *data, size_t len, mode_t mode)
{
    char tmp[4096], path[4096];
    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    unlink(tmp);
    int e = write_new(tmp, data, len, mode);
    if (e)
        return e;
    if (rename(tmp, path) < 0) {
        e = -errno;
        unlink(tmp);
        return e;
    }
    return 0;
}

int local_meta_save(const char *dir, const struct local_meta *m)
{
    char *txt = local_meta_to_json(m, NULL);
    if (!txt)
        return -ENOMEM;
    int rc = write_atomic(dir, "meta.json", txt, strlen(txt), 0644);
    free(txt);
    return rc;
}

int local_env_save(const char *dir, const char *const *env)
{
    size_t len = 0;
    for (size_t i = 0; env && env[i]; i++)
        len += strlen(env[i]) + 1;
    char *buf = malloc(len + 1);
    if (!buf)
        return -ENOMEM;
    size_t off = 0;
    for (size_t i = 0; env && env[i]; i++) {
        size_t l = strlen(env[i]) + 1;
        memcpy(buf + off, env[i], l);
        off += l;
    }
    /* Written once, by create, into its fresh directory before meta.json
     * makes the sandbox visible: no temporary file, and none at all for an
     * empty env (local_env_load reads a missing file as empty). */
    char path[4096];
    snprintf(path, sizeof(path), "%s/env", dir);
    int rc = len ? write_new(path, buf, len, 0600) : 0;
    explicit_bzero(buf, len);
    free(buf);
    return rc;
}

int local_env_load(const char *dir, char ***env)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/env", dir);
    size_t len = 0;
    int e;
    char *buf = crl_read_file(path, &len, &e);
    int rc = buf || e == ENOENT ? 0 : -e;
    struct crl_strv sv = {0};
    for (size_t off = 0; buf && off < len;) {
        const char *s = buf + off;
        size_t l = strnlen(s, len - off);
        if (l > 0 && strchr(s, '=') && crl_strv_push(&sv, s) != 0) {
            rc = -ENOMEM;
            break;
        }
        off += l + 1;
    }
    if (buf)
        explicit_bzero(buf, len);
    free(buf);
    *env = crl_strv_take(&sv);
    if (!*env)
        return -ENOMEM;
    if (rc) {
        crl_strv_wipe_array(*env);
        *env = NULL;
    }
    return rc;
}

/* ---- /proc ------------------------------------------------------------------- */

uint64_t local_parse_stat_start(const char *stat_text, char *state)
{
    return crl_parse_stat_start(stat_text, state);
}

uint64_t local_proc_start(int proc_dirfd, pid_t pid)
{
    return crl_proc_start_at(proc_dirfd, pid);
}

int local_holder_alive(const struct local_meta *m)
{
    if (m->holder_pid <= 1 || m->holder_start == 0)
        return 0;
    return local_proc_start(-1, m->holder_pid) == m->holder_start;
}

int local_is_paused(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/paused", dir);
    return access(path, F_OK) == 0;
}
