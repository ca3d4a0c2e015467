/* Task directories: instruction.md, task.json (or Harbor's task.toml,
 * task_toml.c), workspace/, tests/, solution/. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "egress/egress.h"
#include "rollout/rollout_internal.h"

/* Bounds on what a task may make corral read into memory. */
#define INSTRUCTION_MAX ((size_t)4 << 20)
#define TASK_JSON_MAX ((size_t)1 << 20)
/* Sane maxima for task.json's numbers: past them a value is a mistake or an
 * attack (1e300 seconds), and every product below stays inside int64_t. */
#define MAX_S ((double)CRL_MAX_TIMEOUT_S)
#define MAX_CPUS 4096.0
#define MAX_MEMORY_MB (double)((int64_t)1 << 24) /* 16 TiB */
#define MAX_PIDS 4194304.0                       /* the kernel's pid_max limit */

/* What the task directory (dirfd) holds at rel, never following a
 * symlink: 0 nothing, 'd' a directory, 'f' a regular file; anything else
 * (a symlink, a FIFO, a device) is refused naming the file, because a
 * task comes from a dataset nobody vetted and a link would pull host
 * files into the sandbox or the prompt. */
static int entry_kind(int dirfd, const char *dir, const char *rel, int *kind, struct corral_call *call)
{
    struct stat st;
    *kind = 0;
    if (fstatat(dirfd, rel, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT)
            return 0;
        return corral_call_fail(call, CORRAL_EINVAL, "%s/%s: %s", dir, rel, strerror(errno));
    }
    if (S_ISDIR(st.st_mode))
        *kind = 'd';
    else if (S_ISREG(st.st_mode))
        *kind = 'f';
    else
        return corral_call_fail(call, CORRAL_EINVAL, "%s/%s: %s; task files must be regular files and directories "
                                "inside the task directory", dir, rel,
                                S_ISLNK(st.st_mode) ? "a symbolic link (refused)" : "not a regular file (refused)");
    return 0;
}

/* entry_kind, demanding `want` ('d' or 'f') when something is there. */
static int entry_is(int dirfd, const char *dir, const char *rel, int want, int *present, struct corral_call *call)
{
    int kind;
    int r = entry_kind(dirfd, dir, rel, &kind, call);
    if (r)
        return r;
    if (kind && kind != want)
        return corral_call_fail(call, CORRAL_EINVAL, "%s/%s: must be a %s", dir, rel,
                                want == 'd' ? "directory" : "regular file");
    *present = kind != 0;
    return 0;
}

int crl_task_open_dir(const struct corral_task *t, const char *rel, int *fd, struct corral_call *call)
{
    *fd = -1;
    int dfd = open(t->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return corral_call_fail(call, CORRAL_ENOTFOUND, "task %s: %s", t->dir, strerror(errno));
    int present = 0;
    int r = entry_is(dfd, t->dir, rel, 'd', &present, call);
    if (!r && !present)
        r = corral_call_fail(call, CORRAL_ENOTFOUND, "%s/%s: missing", t->dir, rel);
    if (!r && (*fd = openat(dfd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
        r = corral_call_fail(call, CORRAL_EINVAL, "%s/%s: %s", t->dir, rel, crl_file_strerror(errno));
    close(dfd);
    return r;
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

/* obj.key (absent: *out untouched) as a number from 0 to max. */
static int number_of(const cJSON *obj, const char *key, double max, double *out, const char *file, const char *field,
                     struct corral_call *call)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v)
        return 0;
    if (!cJSON_IsNumber(v) || crl_number_in(v->valuedouble, 0, max) != 0)
        return corral_call_fail(call, CORRAL_EINVAL, "%s: \"%s.%s\" must be a number from 0 to %.0f", file, field,
                                key, max);
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

/* Harbor's environment/ files corral cannot honour, refused naming them. */
static int check_harbor_environment(struct corral_task *t, int dirfd, struct corral_call *call)
{
    static const char *const compose[] = {"environment/docker-compose.yaml", "environment/docker-compose.yml"};
    int present = 0;
    for (size_t i = 0; i < CRL_ARRAY_LEN(compose); i++) {
        int r = entry_is(dirfd, t->dir, compose[i], 'f', &present, call);
        if (r)
            return r;
        if (present)
            return corral_call_fail(call, CORRAL_EINVAL, "%s/%s: multi-container (docker compose) environments are "
                                    "not supported", t->dir, compose[i]);
    }
    int r = entry_is(dirfd, t->dir, "environment/Dockerfile", 'f', &present, call);
    if (!r)
        t->has_dockerfile = present; /* built on a backend that builds, unless an image is named */
    return r;
}

/* task.json or Harbor's task.toml (never both: which would win is a guess). */
static int parse_task_file(struct corral_task *t, int dirfd, struct corral_call *call)
{
    char path[PATH_MAX + 32];
    int json = 0, toml = 0;
    int r = entry_is(dirfd, t->dir, "task.json", 'f', &json, call);
    if (!r)
        r = entry_is(dirfd, t->dir, "task.toml", 'f', &toml, call);
    if (r)
        return r;
    if (json && toml)
        return corral_call_fail(call, CORRAL_EINVAL, "%s: both task.json and task.toml are present; keep one",
                                t->dir);
    if (!json && !toml)
        return 0;
    const char *name = json ? "task.json" : "task.toml";
    snprintf(path, sizeof path, "%s/%s", t->dir, name);
    int err;
    size_t len;
    char *text = crl_read_file_at(dirfd, name, CRL_READ_NOFOLLOW, TASK_JSON_MAX, &len, &err);
    if (!text)
        return corral_call_fail(call, CORRAL_EINVAL, "%s: %s", path, crl_file_strerror(err));
    r = json ? crl_task_parse_json(t, text, path, call) : crl_task_parse_toml(t, text, len, path, call);
    free(text);
    if (!r && toml)
        r = check_harbor_environment(t, dirfd, call);
    return r;
}

int crl_task_parse_json(struct corral_task *t, const char *text, const char *path, struct corral_call *call)
{
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithOpts(text, &end, 1);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return corral_call_fail(call, CORRAL_EINVAL, "%s: not a JSON object", path);
    }
    static const char *const keys[] = {"image", "workdir", "env", "setup", "verify", "timeouts", "resources",
                                       "network", "name", "description", "verify_sandbox", "egress", "mcp_servers"};
    static const char *const tkeys[] = {"setup_s", "agent_s", "verify_s"};
    static const char *const rkeys[] = {"cpus", "memory_mb", "pids", "storage_mb"};
    int r = check_keys(j, keys, CRL_ARRAY_LEN(keys), path, "", call);
    const cJSON *v;
    if (!r && (v = cJSON_GetObjectItemCaseSensitive(j, "image"))) {
        if (!cJSON_IsString(v) || !*v->valuestring)
            r = corral_call_fail(call, CORRAL_EINVAL, "%s: \"image\" must be a non-empty string", path);
        else
            t->image = strdup(v->valuestring);
    }
    if (!r && (v = cJSON_GetObjectItemCaseSensitive(j, "workdir"))) {
        const char *why = cJSON_IsString(v) ? crl_workdir_refusal(v->valuestring) : "must be a string";
        if (why)
            r = corral_call_fail(call, CORRAL_EINVAL, "%s: \"workdir\" %s (it is the task's own directory)", path,
                                 why);
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
            r = number_of(to, "setup_s", MAX_S, &s, path, "timeouts", call);
        if (!r)
            r = number_of(to, "agent_s", MAX_S, &a, path, "timeouts", call);
        if (!r)
            r = number_of(to, "verify_s", MAX_S, &ve, path, "timeouts", call);
        t->setup_timeout_s = (int64_t)s, t->agent_timeout_s = (int64_t)a, t->verify_timeout_s = (int64_t)ve;
    }
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(j, "resources");
    if (!r && res) {
        double mem = 0, pids = 0, storage = 0;
        r = !cJSON_IsObject(res) ? corral_call_fail(call, CORRAL_EINVAL, "%s: \"resources\" must be an object", path)
                                 : check_keys(res, rkeys, CRL_ARRAY_LEN(rkeys), path, "resources.", call);
        if (!r)
            r = number_of(res, "cpus", MAX_CPUS, &t->cpus, path, "resources", call);
        if (!r)
            r = number_of(res, "memory_mb", MAX_MEMORY_MB, &mem, path, "resources", call);
        if (!r)
            r = number_of(res, "pids", MAX_PIDS, &pids, path, "resources", call);
        if (!r)
            r = number_of(res, "storage_mb", MAX_MEMORY_MB, &storage, path, "resources", call);
        t->memory_bytes = (int64_t)(mem * 1024 * 1024);
        t->storage_bytes = (int64_t)(storage * 1024 * 1024);
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
    if (!r && (v = cJSON_GetObjectItemCaseSensitive(j, "egress"))) {
        char where[PATH_MAX + 16];
        snprintf(where, sizeof where, "%s: egress", path);
        struct crl_egress e;
        r = crl_egress_from_json(v, where, CRL_EGRESS_TASK, &e, call);
        crl_egress_free(&e);
        if (!r && !(t->egress_json = cJSON_PrintUnformatted(v)))
            r = corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
    }
    if (!r && (v = cJSON_GetObjectItemCaseSensitive(j, "mcp_servers"))) {
        char where[PATH_MAX + 32];
        snprintf(where, sizeof where, "%s: \"mcp_servers\"", path);
        r = crl_task_mcp_servers(v, where, &t->mcp_servers_json, call);
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
    int dfd = open(abs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int r = 0, err = errno;
    if (dfd < 0)
        r = corral_call_fail(call, CORRAL_ENOTFOUND, "task %s: %s", abs, strerror(err));
    if (!r && !(t->instruction = crl_read_file_at(dfd, "instruction.md", CRL_READ_NOFOLLOW, INSTRUCTION_MAX,
                                                   &t->instruction_len, &err)))
        r = corral_call_fail(call, CORRAL_EINVAL, "%s: %s (every task needs its instruction)", path,
                             err == ENOENT ? "missing" : crl_file_strerror(err));
    else if (!r && t->instruction_len == 0)
        r = corral_call_fail(call, CORRAL_EINVAL, "%s: empty", path);
    if (!r)
        r = parse_task_file(t, dfd, call);
    int has_tests_dir = 0, has_solution_dir = 0, has_env = 0;
    if (!r)
        r = entry_is(dfd, abs, "workspace", 'd', &t->has_workspace, call);
    if (!r)
        r = entry_is(dfd, abs, "tests", 'd', &has_tests_dir, call);
    if (!r)
        r = entry_is(dfd, abs, "solution", 'd', &has_solution_dir, call);
    if (!r)
        r = entry_is(dfd, abs, "environment", 'd', &has_env, call);
    if (!r && has_tests_dir)
        r = entry_is(dfd, abs, "tests/test.sh", 'f', &t->has_tests, call);
    if (!r && has_solution_dir)
        r = entry_is(dfd, abs, "solution/solve.sh", 'f', &t->has_solution, call);
    if (!r && has_tests_dir && !t->has_tests && !t->verify)
        r = corral_call_fail(call, CORRAL_EINVAL, "%s/tests: no test.sh in it and no \"verify\" in task.json", abs);
    if (dfd >= 0)
        close(dfd);
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
    free(t->version);
    free(t->metadata_json);
    free_strv(t->warnings);
    free_strv(t->verifier_env);
    free_strv(t->solution_env);
    free(t->agent_user);
    free(t->verifier_user);
    free(t->egress_json);
    free(t->mcp_servers_json);
    free_strv(t->artifact_sources);
    free_strv(t->artifact_dests);
    free(t);
}
