/* Task directories: instruction.md, task.json, workspace/, tests/, solution/. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/internal.h"
#include <corral/rollout.h>

static int is_dir(const char *dir, const char *rel)
{
    char p[PATH_MAX + 64];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *dir, const char *rel)
{
    char p[PATH_MAX + 64];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* A NULL-terminated copy of a JSON array of strings; field names the key for errors. */
static int strings_of(const cJSON *arr, char ***out, const char *file, const char *field, struct corral_call *call)
{
    if (!arr)
        return 0;
    if (!cJSON_IsArray(arr))
        return corral_call_fail(call, CORRAL_EINVAL, "%s: \"%s\" must be an array of command strings", file, field);
    int n = cJSON_GetArraySize(arr);
    char **v = calloc((size_t)n + 1, sizeof *v);
    if (!v)
        return corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        const cJSON *s = cJSON_GetArrayItem(arr, i);
        if (!cJSON_IsString(s) || !*s->valuestring) {
            for (int j = 0; j < i; j++)
                free(v[j]);
            free(v);
            return corral_call_fail(call, CORRAL_EINVAL, "%s: \"%s\"[%d] must be a non-empty string", file, field, i);
        }
        v[i] = strdup(s->valuestring);
    }
    *out = v;
    return 0;
}

static int number_of(const cJSON *obj, const char *key, double *out, const char *file, const char *field,
                     struct corral_call *call)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v)
        return 0;
    if (!cJSON_IsNumber(v) || v->valuedouble < 0)
        return corral_call_fail(call, CORRAL_EINVAL, "%s: \"%s.%s\" must be a non-negative number", file, field, key);
    *out = v->valuedouble;
    return 0;
}

static int check_keys(const cJSON *obj, const char *const *valid, size_t n, const char *file, const char *where,
                      struct corral_call *call)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, obj) {
        size_t i;
        for (i = 0; i < n; i++)
            if (strcmp(valid[i], it->string) == 0)
                break;
        if (i == n) {
            struct crl_buf b = {0};
            for (size_t k = 0; k < n; k++)
                crl_buf_addf(&b, "%s%s", k ? ", " : "", valid[k]);
            int r = corral_call_fail(call, CORRAL_EINVAL, "%s: unknown key \"%s%s\" (valid: %s)", file, where,
                                     it->string, b.p);
            crl_buf_free(&b);
            return r;
        }
    }
    return 0;
}

static int parse_task_json(struct corral_task *t, struct corral_call *call)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/task.json", t->dir);
    int err;
    char *text = crl_read_file(path, NULL, &err);
    if (!text)
        return err == ENOENT ? 0 : corral_call_fail(call, CORRAL_EIO, "%s: %s", path, strerror(err));
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithOpts(text, &end, 1);
    free(text);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return corral_call_fail(call, CORRAL_EINVAL, "%s: not a JSON object", path);
    }
    static const char *const keys[] = {"image", "workdir", "env", "setup", "verify", "timeouts", "resources",
                                       "network", "name", "description", "verify_sandbox"};
    static const char *const tkeys[] = {"setup_s", "agent_s", "verify_s"};
    static const char *const rkeys[] = {"cpus", "memory_mb", "pids"};
    int r = check_keys(j, keys, CRL_ARRAY_LEN(keys), path, "", call);
    const cJSON *v;
    if (!r && (v = cJSON_GetObjectItemCaseSensitive(j, "image"))) {
        if (!cJSON_IsString(v) || !*v->valuestring)
            r = corral_call_fail(call, CORRAL_EINVAL, "%s: \"image\" must be a non-empty string", path);
        else
            t->image = strdup(v->valuestring);
    }
    if (!r && (v = cJSON_GetObjectItemCaseSensitive(j, "workdir"))) {
        if (!cJSON_IsString(v) || v->valuestring[0] != '/')
            r = corral_call_fail(call, CORRAL_EINVAL, "%s: \"workdir\" must be an absolute path", path);
        else {
            free(t->workdir);
            t->workdir = strdup(v->valuestring);
        }
    }
    if (!r && (v = cJSON_GetObjectItemCaseSensitive(j, "env"))) {
        if (!cJSON_IsObject(v)) {
            r = corral_call_fail(call, CORRAL_EINVAL, "%s: \"env\" must be an object of strings", path);
        } else {
            struct crl_strv sv = {0};
            const cJSON *e;
            cJSON_ArrayForEach(e, v) {
                if (!crl_is_env_name(e->string) || !cJSON_IsString(e)) {
                    r = corral_call_fail(call, CORRAL_EINVAL, "%s: \"env.%s\" must be a string with a valid name",
                                         path, e->string);
                    break;
                }
                crl_strv_pushf(&sv, "%s=%s", e->string, e->valuestring);
            }
            t->env = sv.v;
            if (!t->env)
                t->env = calloc(1, sizeof *t->env);
        }
    }
    if (!r)
        r = strings_of(cJSON_GetObjectItemCaseSensitive(j, "setup"), &t->setup, path, "setup", call);
    if (!r)
        r = strings_of(cJSON_GetObjectItemCaseSensitive(j, "verify"), &t->verify, path, "verify", call);
    const cJSON *to = cJSON_GetObjectItemCaseSensitive(j, "timeouts");
    if (!r && to) {
        double s = 0, a = 0, ve = 0;
        r = !cJSON_IsObject(to) ? corral_call_fail(call, CORRAL_EINVAL, "%s: \"timeouts\" must be an object", path)
                                : check_keys(to, tkeys, CRL_ARRAY_LEN(tkeys), path, "timeouts.", call);
        if (!r)
            r = number_of(to, "setup_s", &s, path, "timeouts", call);
        if (!r)
            r = number_of(to, "agent_s", &a, path, "timeouts", call);
        if (!r)
            r = number_of(to, "verify_s", &ve, path, "timeouts", call);
        t->setup_timeout_s = (int64_t)s, t->agent_timeout_s = (int64_t)a, t->verify_timeout_s = (int64_t)ve;
    }
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(j, "resources");
    if (!r && res) {
        double mem = 0, pids = 0;
        r = !cJSON_IsObject(res) ? corral_call_fail(call, CORRAL_EINVAL, "%s: \"resources\" must be an object", path)
                                 : check_keys(res, rkeys, CRL_ARRAY_LEN(rkeys), path, "resources.", call);
        if (!r)
            r = number_of(res, "cpus", &t->cpus, path, "resources", call);
        if (!r)
            r = number_of(res, "memory_mb", &mem, path, "resources", call);
        if (!r)
            r = number_of(res, "pids", &pids, path, "resources", call);
        t->memory_bytes = (int64_t)(mem * 1024 * 1024);
        t->pids = (int64_t)pids;
    }
    if (!r && (v = cJSON_GetObjectItemCaseSensitive(j, "network"))) {
        if (cJSON_IsString(v) && strcmp(v->valuestring, "none") == 0)
            t->network = CORRAL_NET_NONE;
        else if (cJSON_IsString(v) && strcmp(v->valuestring, "full") == 0)
            t->network = CORRAL_NET_FULL;
        else
            r = corral_call_fail(call, CORRAL_EINVAL, "%s: \"network\" must be \"none\" or \"full\"", path);
    }
    if (!r && (v = cJSON_GetObjectItemCaseSensitive(j, "verify_sandbox"))) {
        if (cJSON_IsString(v) && strcmp(v->valuestring, "fresh") == 0)
            t->verify_sandbox = CORRAL_VERIFY_FRESH;
        else if (cJSON_IsString(v) && strcmp(v->valuestring, "same") == 0)
            t->verify_sandbox = CORRAL_VERIFY_SAME;
        else
            r = corral_call_fail(call, CORRAL_EINVAL, "%s: \"verify_sandbox\" must be \"fresh\" or \"same\"", path);
    }
    cJSON_Delete(j);
    return r;
}

int corral_task_load(const char *dir, struct corral_task **out, struct corral_call *call)
{
    *out = NULL;
    char abs[PATH_MAX];
    if (!realpath(dir, abs))
        return corral_call_fail(call, CORRAL_ENOTFOUND, "task %s: %s", dir, strerror(errno));
    struct corral_task *t = calloc(1, sizeof *t);
    if (!t)
        return corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
    t->dir = strdup(abs);
    const char *base = strrchr(abs, '/');
    t->name = strdup(base && base[1] ? base + 1 : abs);
    t->workdir = strdup("/workspace");
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/instruction.md", abs);
    int err;
    t->instruction = crl_read_file(path, &t->instruction_len, &err);
    int r = 0;
    if (!t->instruction)
        r = corral_call_fail(call, CORRAL_EINVAL, "%s: %s (every task needs its instruction)", path,
                             err == ENOENT ? "missing" : strerror(err));
    else if (t->instruction_len == 0)
        r = corral_call_fail(call, CORRAL_EINVAL, "%s: empty", path);
    if (!r)
        r = parse_task_json(t, call);
    if (!r) {
        t->has_workspace = is_dir(abs, "workspace");
        t->has_tests = is_file(abs, "tests/test.sh");
        t->has_solution = is_file(abs, "solution/solve.sh");
        if (is_dir(abs, "tests") && !t->has_tests && !t->verify)
            r = corral_call_fail(call, CORRAL_EINVAL, "%s/tests: no test.sh in it and no \"verify\" in task.json",
                                 abs);
    }
    if (r) {
        corral_task_free(t);
        return r;
    }
    *out = t;
    return 0;
}

static void free_strv(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

void corral_task_free(struct corral_task *t)
{
    if (!t)
        return;
    free(t->dir);
    free(t->name);
    free(t->instruction);
    free(t->image);
    free(t->workdir);
    free_strv(t->env);
    free_strv(t->setup);
    free_strv(t->verify);
    free(t);
}
