/* The local registry of sandbox handles: one JSON file per sandbox id
 * holding the backend name, the plugin's state JSON (never env values) and
 * the deadline, so another corral process can reattach by id. */
#include "sandbox/sandbox_internal.h"
#include "crl_common.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int corral_registry_dir(char *buf, size_t cap, struct corral_call *call)
{
    char root[PATH_MAX];
    if (crl_state_root(root, sizeof root) != 0)
        return corral_call_fail(call, CORRAL_ECONFIG,
                                "no state directory: CORRAL_STATE_DIR is not absolute (give an absolute path, or set "
                                "XDG_STATE_HOME or HOME)");
    int n = snprintf(buf, cap, "%s/sandboxes", root);
    if (n < 0 || (size_t)n >= cap || buf[0] != '/')
        return corral_call_fail(call, CORRAL_ECONFIG, "state directory path is not absolute or too long");
    int e = crl_mkdir_p(buf, 0700);
    if (e != 0)
        return corral_call_fail(call, CORRAL_EIO, "cannot create state directory %s: %s", buf, strerror(-e));
    return 0;
}

static int entry_path(const char *id, char *buf, size_t cap, struct corral_call *call)
{
    if (!corral_sandbox_id_valid(id))
        return corral_call_fail(call, CORRAL_EINVAL, "'%s' is not a corral sandbox id (<backend>-<16 hex>)",
                                id ? id : "");
    char dir[PATH_MAX - 128];
    int rc = corral_registry_dir(dir, sizeof dir, call);
    if (rc)
        return rc;
    snprintf(buf, cap, "%s/%s.json", dir, id);
    return 0;
}

/* Write the entry to a temporary file and rename it over id's: readers see
 * the old entry or the new one, never a part.  sync: fsync the file before
 * the rename, so its content is on disk before anything that depends on
 * it happens (docs/batches.md, "What is durable when"). */
static int registry_write(const char *id, const char *backend, const char *state_json, int64_t deadline, int sync,
                          struct corral_call *call)
{
    char path[PATH_MAX], tmp[PATH_MAX + 16];
    int rc = entry_path(id, path, sizeof path, call);
    if (rc)
        return rc;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "backend", backend);
    cJSON_AddStringToObject(o, "state", state_json ? state_json : "{}");
    cJSON_AddNumberToObject(o, "deadline", (double)deadline);
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    if (!text)
        return corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        free(text);
        return corral_call_fail(call, CORRAL_EIO, "cannot write %s: %s", tmp, strerror(errno));
    }
    int e = crl_write_all(fd, text, strlen(text)) == 0 && (!sync || fsync(fd) == 0) ? 0 : errno;
    free(text);
    if (close(fd) != 0 && !e)
        e = errno;
    if (e) {
        unlink(tmp);
        return corral_call_fail(call, CORRAL_EIO, "cannot write %s: %s", tmp, strerror(e));
    }
    if (rename(tmp, path) != 0) {
        unlink(tmp);
        return corral_call_fail(call, CORRAL_EIO, "cannot rename %s: %s", tmp, strerror(errno));
    }
    return 0;
}

int corral_registry_put(const char *id, const char *backend, const char *state_json, int64_t deadline,
                        struct corral_call *call)
{
    return registry_write(id, backend, state_json, deadline, 1, call);
}

int crl_registry_put_created(const char *id, const char *backend, const char *state_json, int64_t deadline,
                             struct corral_call *call)
{
    return registry_write(id, backend, state_json, deadline, 0, call);
}

/* Parse an entry file; 0 on success with malloc'ed strings. */
static int parse_entry(const char *path, const char *id, char **backend, char **state, int64_t *deadline)
{
    int e;
    char *text = crl_read_file_max(path, 1 << 20, NULL, &e);
    if (!text)
        return e == ENOENT ? CORRAL_ENOTFOUND : CORRAL_EIO;
    cJSON *o = cJSON_Parse(text);
    free(text);
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(o, "backend");
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, "state");
    const cJSON *i = cJSON_GetObjectItemCaseSensitive(o, "id");
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(o, "deadline");
    if (!cJSON_IsString(b) || !cJSON_IsString(s) || !cJSON_IsString(i) || strcmp(i->valuestring, id) != 0) {
        cJSON_Delete(o);
        return CORRAL_EPROTO;
    }
    if (backend)
        *backend = strdup(b->valuestring);
    if (state)
        *state = strdup(s->valuestring);
    if (deadline)
        if (!cJSON_IsNumber(d) || crl_number_i64(d->valuedouble, 0, INT64_MAX, deadline) != 0)
            *deadline = 0;
    cJSON_Delete(o);
    if ((backend && !*backend) || (state && !*state)) {
        if (backend)
            free(*backend);
        if (state)
            free(*state);
        return CORRAL_ENOMEM;
    }
    return 0;
}

int corral_registry_get(const char *id, char **backend, char **state_json, int64_t *deadline,
                        struct corral_call *call)
{
    char path[PATH_MAX];
    int rc = entry_path(id, path, sizeof path, call);
    if (rc)
        return rc;
    rc = parse_entry(path, id, backend, state_json, deadline);
    if (rc == CORRAL_ENOTFOUND)
        return corral_call_fail(call, rc, "no sandbox '%s' in the registry (%s)", id, path);
    if (rc)
        return corral_call_fail(call, rc, "registry entry %s is unreadable", path);
    return 0;
}

/* The companion of an entry: the link ID.egress, in the registry
 * directory, naming a bare "egress-*" directory there.  1 with both paths
 * filled, 0 when there is none, -1 when the link is not corral's or the
 * registry is unusable. */
static int companion(const char *id, char *link, size_t link_cap, char *dir, size_t dir_cap, struct corral_call *call)
{
    char reg[PATH_MAX - 256], target[128];
    if (!corral_sandbox_id_valid(id) || corral_registry_dir(reg, sizeof reg, call) != 0)
        return -1;
    snprintf(link, link_cap, "%s/%s.egress", reg, id);
    ssize_t t = readlink(link, target, sizeof target - 1);
    if (t < 0)
        return errno == ENOENT ? 0 : -1;
    target[t] = '\0';
    if (strchr(target, '/') || strncmp(target, "egress-", 7) != 0)
        return -1;
    snprintf(dir, dir_cap, "%s/%s", reg, target);
    return 1;
}

int crl_registry_egress_dir(const char *id, char *buf, size_t cap, struct corral_call *call)
{
    char link[PATH_MAX];
    return companion(id, link, sizeof link, buf, cap, call);
}

int crl_registry_egress_link(const char *id, const char *dir, struct corral_call *call)
{
    char reg[PATH_MAX - 256], link[PATH_MAX];
    int rc = corral_registry_dir(reg, sizeof reg, call);
    if (rc)
        return rc;
    const char *name = strrchr(dir, '/');
    name = name ? name + 1 : dir;
    if (strncmp(name, "egress-", 7) != 0 || strlen(reg) != (size_t)(name - 1 - dir) || strncmp(dir, reg, strlen(reg)))
        return corral_call_fail(call, CORRAL_EINVAL, "%s is not an egress directory of the registry", dir);
    snprintf(link, sizeof link, "%s/%s.egress", reg, id);
    if (symlink(name, link) != 0)
        return corral_call_fail(call, CORRAL_EIO, "%s: %s", link, strerror(errno));
    return 0;
}

/* An entry's companion goes with it. */
static void del_companion(const char *id)
{
    char link[PATH_MAX] = "", dir[PATH_MAX];
    struct corral_call c;
    corral_call_init(&c, 0);
    int found = companion(id, link, sizeof link, dir, sizeof dir, &c);
    if (found == 1)
        crl_rm_rf(dir);
    if (found != 0 && link[0])
        unlink(link);
}

int corral_registry_del(const char *id, struct corral_call *call)
{
    char path[PATH_MAX];
    int rc = entry_path(id, path, sizeof path, call);
    if (rc)
        return rc;
    if (unlink(path) != 0 && errno != ENOENT)
        return corral_call_fail(call, CORRAL_EIO, "cannot remove %s: %s", path, strerror(errno));
    del_companion(id);
    return 0;
}

int corral_registry_each(corral_registry_cb cb, void *ud, struct corral_call *call)
{
    char dir[PATH_MAX - 128];
    int rc = corral_registry_dir(dir, sizeof dir, call);
    if (rc)
        return rc;
    DIR *d = opendir(dir);
    if (!d)
        return corral_call_fail(call, CORRAL_EIO, "cannot open %s: %s", dir, strerror(errno));
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 6 || strcmp(e->d_name + n - 5, ".json") != 0 || n - 5 >= 96)
            continue;
        char id[96], path[PATH_MAX];
        memcpy(id, e->d_name, n - 5);
        id[n - 5] = '\0';
        if (!corral_sandbox_id_valid(id))
            continue;
        snprintf(path, sizeof path, "%s/%s.json", dir, id);
        char *backend = NULL, *state = NULL;
        int64_t deadline = 0;
        if (parse_entry(path, id, &backend, &state, &deadline) != 0) {
            corral_log(CORRAL_LOG_WARN, "sandbox", "skipping unreadable registry entry %s", path);
            continue;
        }
        int stop = cb(ud, id, backend, state, deadline);
        free(backend);
        free(state);
        if (stop)
            break;
    }
    closedir(d);
    return 0;
}

/* The state a create-in-progress leaves: {"corral_pending": "<owner token>"}
 * naming the creating process, overwritten by the plugin's state once
 * create returns. */
int crl_registry_put_pending(const char *id, const char *backend, int64_t deadline, int sync,
                             struct corral_call *call)
{
    char tok[300], state[400];
    if (crl_owner_token(tok, sizeof tok) < 0)
        return corral_call_fail(call, CORRAL_EIO, "cannot name this process for the registry");
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "corral_pending", tok);
    int ok = cJSON_PrintPreallocated(o, state, sizeof state, 0);
    cJSON_Delete(o);
    if (!ok)
        return corral_call_fail(call, CORRAL_EINTERNAL, "owner token too long");
    return registry_write(id, backend, state, deadline, sync, call);
}

int crl_registry_pending_gone(const char *state_json)
{
    cJSON *o = state_json ? cJSON_Parse(state_json) : NULL;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "corral_pending");
    int r = -1;
    if (cJSON_IsString(t))
        r = crl_owner_gone(t->valuestring) == 1 ? 1 : 0;
    cJSON_Delete(o);
    return r;
}
