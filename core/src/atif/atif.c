/*
 * The ATIF document of a RolloutResult (root, agent, final_metrics; the
 * steps are atif_steps.c's) and its file (docs/atif.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <corral/atif.h>

#include "atif/atif_internal.h"
#include "crl_common.h"

static const cJSON *get(const cJSON *o, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(o, key);
}

static const char *str_or(const cJSON *v, const char *dflt)
{
    return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : dflt;
}

/* The first chat request the transcript kept (normalized when the dialect
 * was translated), or NULL. */
static const cJSON *first_request(const cJSON *result)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, get(result, "transcript")) {
        if (crl_atif_is_tool_entry(e))
            continue;
        const cJSON *r = get(e, "normalized_request");
        if (!cJSON_IsObject(r))
            r = get(e, "request");
        if (cJSON_IsObject(r))
            return r;
    }
    return NULL;
}

static int add_agent(cJSON *root, const cJSON *result)
{
    const cJSON *a = get(result, "agent"), *req = first_request(result);
    cJSON *agent = cJSON_AddObjectToObject(root, "agent");
    if (!agent || !cJSON_AddStringToObject(agent, "name", str_or(get(a, "name"), "unknown")) ||
        !cJSON_AddStringToObject(agent, "version", str_or(get(a, "version"), "unknown")))
        return -1;
    const cJSON *model = get(req, "model");
    if (cJSON_IsString(model) && !cJSON_AddStringToObject(agent, "model_name", model->valuestring))
        return -1;
    const cJSON *tools = get(req, "tools");
    if (cJSON_GetArraySize(tools) > 0 && !cJSON_AddItemToObject(agent, "tool_definitions", cJSON_Duplicate(tools, 1)))
        return -1;
    return 0;
}

static int add_final_metrics(cJSON *root, const struct crl_atif_totals *t, int steps)
{
    cJSON *fm = cJSON_AddObjectToObject(root, "final_metrics");
    if (!fm || (t->has_prompt && !cJSON_AddNumberToObject(fm, "total_prompt_tokens", t->prompt)) ||
        (t->has_completion && !cJSON_AddNumberToObject(fm, "total_completion_tokens", t->completion)) ||
        (t->has_cached && !cJSON_AddNumberToObject(fm, "total_cached_tokens", t->cached)) ||
        !cJSON_AddNumberToObject(fm, "total_steps", steps))
        return -1;
    cJSON *x = cJSON_AddObjectToObject(fm, "extra");
    return x && cJSON_AddNumberToObject(x, "model_calls", (double)t->model_calls) &&
                   cJSON_AddNumberToObject(x, "failed_calls", (double)t->failed_calls) &&
                   cJSON_AddNumberToObject(x, "truncated_calls", (double)t->truncated_calls) &&
                   cJSON_AddNumberToObject(x, "dropped_calls", t->dropped_calls)
               ? 0
               : -1;
}

/* The root's extra: what the result says about the rollout around the
 * trajectory. */
static int add_extra(cJSON *root, const cJSON *result)
{
    cJSON *x = cJSON_AddObjectToObject(root, "extra");
    if (!x)
        return -1;
    const cJSON *task = get(result, "task"), *err = get(result, "error");
    struct {
        const char *key;
        const cJSON *v;
    } fields[] = {
        {"rollout_id", get(result, "rollout_id")},       {"task_name", get(task, "name")},
        {"task_digest", get(result, "task_digest")},     {"attempt", get(result, "attempt")},
        {"reward", get(result, "reward")},               {"reward_source", get(result, "reward_source")},
        {"error_class", get(err, "class")},              {"error_phase", get(err, "phase")},
        {"agent_status", get(get(result, "agent"), "status")},
        {"transcript_truncated", get(result, "transcript_truncated")},
        {"events_truncated", get(result, "events_truncated")},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (fields[i].v && !cJSON_IsObject(fields[i].v) && !cJSON_IsArray(fields[i].v) &&
            !cJSON_AddItemToObject(x, fields[i].key, cJSON_Duplicate(fields[i].v, 0)))
            return -1;
    return 0;
}

/* The trajectory of a parsed result: a new object, or NULL when out of memory. */
static cJSON *build(const cJSON *result)
{
    const char *id = get(result, "rollout_id")->valuestring;
    struct crl_atif_totals t;
    cJSON *steps = crl_atif_steps(result, &t);
    cJSON *root = steps ? cJSON_CreateObject() : NULL;
    int ok = root && cJSON_AddStringToObject(root, "schema_version", CORRAL_ATIF_SCHEMA_VERSION) &&
             cJSON_AddStringToObject(root, "session_id", id) && cJSON_AddStringToObject(root, "trajectory_id", id) &&
             add_agent(root, result) == 0 && cJSON_AddItemToObject(root, "steps", steps);
    if (!ok)
        cJSON_Delete(steps);
    ok = ok &&
         cJSON_AddStringToObject(root, "notes", "built by corral from the gate transcript and the agent's events "
                                               "of one rollout (docs/atif.md)") &&
         add_final_metrics(root, &t, cJSON_GetArraySize(steps)) == 0 && add_extra(root, result) == 0;
    if (!ok) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

/* The result in `text` parsed: 0, or CORRAL_EINVAL / CORRAL_ENOMEM with why in call. */
static int parse_result(const char *text, size_t len, cJSON **out, struct corral_call *call)
{
    *out = NULL;
    if (!text)
        return corral_call_fail(call, CORRAL_EINVAL, "atif: no result");
    cJSON *doc = cJSON_ParseWithLength(text, len);
    if (!doc)
        return corral_call_fail(call, CORRAL_EINVAL, "atif: the result is not JSON");
    if (!cJSON_IsObject(doc) || !cJSON_IsString(get(doc, "rollout_id"))) {
        cJSON_Delete(doc);
        return corral_call_fail(call, CORRAL_EINVAL,
                                "atif: not a RolloutResult (a JSON object with a \"rollout_id\" string)");
    }
    *out = doc;
    return 0;
}

int corral_atif_from_result(const char *result_json, size_t len, char **out, struct corral_call *call)
{
    cJSON *doc;
    *out = NULL;
    int st = parse_result(result_json, len, &doc, call);
    if (st)
        return st;
    cJSON *traj = build(doc);
    cJSON_Delete(doc);
    *out = traj ? cJSON_Print(traj) : NULL;
    cJSON_Delete(traj);
    return *out ? 0 : corral_call_fail(call, CORRAL_ENOMEM, "atif: out of memory");
}

/* A rollout id names a directory: a plain name, never a path. */
static int id_is_name(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > 255 || id[0] == '.')
        return 0;
    for (const char *p = id; *p; p++)
        if (*p == '/' || (unsigned char)*p < 0x20)
            return 0;
    return 1;
}

/* Write `text` to `path` through a synced temporary file renamed over it. */
static int write_atomic(const char *path, const char *text, struct corral_call *call)
{
    char *tmp = NULL;
    if (asprintf(&tmp, "%s.%ld.tmp", path, (long)getpid()) < 0)
        return corral_call_fail(call, CORRAL_ENOMEM, "atif: out of memory");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int err = fd < 0 ? errno : 0;
    size_t len = strlen(text), off = 0;
    while (!err && off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            err = w < 0 ? errno : EIO;
        else
            off += (size_t)w;
    }
    if (!err && (write(fd, "\n", 1) != 1 || fsync(fd) != 0))
        err = errno ? errno : EIO;
    if (fd >= 0 && close(fd) != 0 && !err)
        err = errno;
    if (!err && rename(tmp, path) != 0)
        err = errno;
    if (err) {
        unlink(tmp);
        corral_call_fail(call, CORRAL_EIO, "atif: cannot write %s: %s", path, strerror(err));
    }
    free(tmp);
    return err ? CORRAL_EIO : 0;
}

int corral_atif_write(const char *dir, const char *result_json, size_t len, char **path_out,
                      struct corral_call *call)
{
    if (path_out)
        *path_out = NULL;
    cJSON *doc;
    int st = dir ? parse_result(result_json, len, &doc, call)
                 : corral_call_fail(call, CORRAL_EINVAL, "atif: no directory");
    if (st)
        return st;
    const char *id = get(doc, "rollout_id")->valuestring;
    if (!id_is_name(id)) {
        st = corral_call_fail(call, CORRAL_EINVAL, "atif: rollout id \"%.64s\" is not a plain file name", id);
        cJSON_Delete(doc);
        return st;
    }
    char *sub = NULL, *path = NULL;
    cJSON *traj = build(doc);
    char *text = traj ? cJSON_Print(traj) : NULL;
    cJSON_Delete(traj);
    if (!text || asprintf(&sub, "%s/%s", dir, id) < 0 || asprintf(&path, "%s/trajectory.json", sub) < 0) {
        st = corral_call_fail(call, CORRAL_ENOMEM, "atif: out of memory");
    } else {
        int e = crl_mkdir_p(sub, 0755);
        st = e ? corral_call_fail(call, CORRAL_EIO, "atif: cannot create %s: %s", sub, strerror(-e))
               : write_atomic(path, text, call);
    }
    cJSON_Delete(doc);
    free(text);
    free(sub);
    if (!st && path_out)
        *path_out = path;
    else
        free(path);
    return st;
}
