/*
 * The rollout's record (struct crl_rollout_record) and the one function
 * that renders it as RolloutResult JSON (keys in README "RolloutResult").
 * The lifecycle writes typed fields as it goes; JSON is made once, at the
 * end, and the public struct corral_rollout_result points into the record.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollout/rollout_internal.h"

void crl_record_set(char **dst, const char *s)
{
    free(*dst);
    *dst = s ? strdup(s) : NULL;
}

int crl_record_init(struct crl_rollout_record *rec, const char *id, const char *task_dir, const char *agent,
                    const char *backend)
{
    memset(rec, 0, sizeof *rec);
    snprintf(rec->id, sizeof rec->id, "%s", id ? id : "");
    crl_record_set(&rec->task_dir, task_dir ? task_dir : "");
    crl_record_set(&rec->agent, agent ? agent : "");
    crl_record_set(&rec->backend, backend ? backend : "");
    rec->events = cJSON_CreateArray();
    return rec->task_dir && rec->agent && rec->backend && rec->events ? 0 : CORRAL_ENOMEM;
}

int crl_record_error(struct crl_rollout_record *rec, int error_class, const char *phase, int status,
                     const char *message)
{
    if (rec->error_class != CORRAL_ROLLOUT_OK)
        return 0;
    rec->error_class = error_class;
    rec->error_phase = phase;
    rec->error_status = status;
    crl_record_set(&rec->error_message, message);
    return 1;
}

const char *crl_capture_tail(const struct corral_capture *c)
{
    if (!c->data)
        return "";
    return c->len > CRL_OUTPUT_KEEP ? c->data + c->len - CRL_OUTPUT_KEEP : c->data;
}

void crl_record_command(struct crl_command_log *log, const char *const *argv, const char *command,
                        const struct corral_exec_output *out)
{
    if (log->n == log->cap) {
        size_t cap = log->cap ? log->cap * 2 : 4;
        struct crl_command_record *p = realloc(log->items, cap * sizeof *p);
        if (!p)
            return;
        log->items = p;
        log->cap = cap;
    }
    struct crl_command_record *c = &log->items[log->n++];
    memset(c, 0, sizeof *c);
    if (command) {
        crl_record_set(&c->command, command);
    } else {
        size_t n = 0;
        while (argv[n])
            n++;
        c->argv = calloc(n + 1, sizeof *c->argv);
        for (size_t i = 0; c->argv && i < n; i++)
            c->argv[i] = strdup(argv[i]);
    }
    c->exit_code = out->res.exit_code;
    c->timed_out = out->res.timed_out;
    c->duration_ms = out->res.duration_ms;
    crl_record_set(&c->out_tail, crl_capture_tail(&out->out));
    crl_record_set(&c->err_tail, crl_capture_tail(&out->err));
}

void crl_record_timing(struct crl_rollout_record *rec, const char *phase, int64_t ms)
{
    for (size_t i = 0; i < rec->n_timings; i++) {
        if (strcmp(rec->timings[i].phase, phase) == 0) {
            rec->timings[i].ms += ms;
            return;
        }
    }
    if (rec->n_timings < CRL_ROLLOUT_MAX_PHASES)
        rec->timings[rec->n_timings++] = (struct corral_rollout_timing){phase, ms};
}

/* JSON strings of the record: "" for a NULL that must be a string. */
static const char *str(const char *s)
{
    return s ? s : "";
}

static cJSON *commands_json(const struct crl_command_log *log)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < log->n; i++) {
        const struct crl_command_record *c = &log->items[i];
        cJSON *o = cJSON_CreateObject();
        if (c->command) {
            cJSON_AddStringToObject(o, "command", c->command);
        } else {
            cJSON *av = cJSON_AddArrayToObject(o, "argv");
            for (char **p = c->argv; p && *p; p++)
                cJSON_AddItemToArray(av, cJSON_CreateString(*p));
        }
        cJSON_AddNumberToObject(o, "exit_code", c->exit_code);
        cJSON_AddBoolToObject(o, "timed_out", c->timed_out);
        cJSON_AddNumberToObject(o, "duration_ms", (double)c->duration_ms);
        cJSON_AddStringToObject(o, "stdout", str(c->out_tail));
        cJSON_AddStringToObject(o, "stderr", str(c->err_tail));
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

/* The JSON name of an error class.  A cancelled rollout has always been
 * reported as an infrastructure error with the message "cancelled". */
const char *crl_rollout_error_name(int cls)
{
    switch (cls) {
    case CORRAL_ROLLOUT_ERR_TASK: return "task";
    case CORRAL_ROLLOUT_ERR_AGENT: return "agent";
    default: return "infrastructure";
    }
}

/* "error" of a result or of a try: null, or its class, phase, message, status. */
static void add_error(cJSON *j, int cls, const char *phase, const char *message, int status)
{
    if (cls == CORRAL_ROLLOUT_OK) {
        cJSON_AddNullToObject(j, "error");
        return;
    }
    cJSON *e = cJSON_AddObjectToObject(j, "error");
    cJSON_AddStringToObject(e, "class", crl_rollout_error_name(cls));
    cJSON_AddStringToObject(e, "phase", str(phase));
    cJSON_AddStringToObject(e, "message", str(message));
    cJSON_AddStringToObject(e, "status", corral_strerror(status));
}

/* "attempts": the tries of a retrying batch (docs/batches.md "Retries"). */
static cJSON *tries_json(const struct crl_rollout_record *rec)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < rec->n_tries; i++) {
        const struct corral_rollout_try *t = &rec->tries[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "rollout_id", str(t->rollout_id));
        if (t->sandbox_id)
            cJSON_AddStringToObject(o, "sandbox_id", t->sandbox_id);
        add_error(o, t->error_class, t->error_phase, t->error_message, t->error_status);
        cJSON_AddNumberToObject(o, "total_ms", (double)t->total_ms);
        cJSON_AddNumberToObject(o, "backoff_ms", (double)t->backoff_ms);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

int crl_record_add_try(struct crl_rollout_record *rec, const struct crl_rollout_record *done, int64_t backoff_ms)
{
    struct corral_rollout_try *p = realloc(rec->tries, (rec->n_tries + 1) * sizeof *p);
    if (!p)
        return CORRAL_ENOMEM;
    rec->tries = p;
    struct corral_rollout_try t = {
        .rollout_id = strdup(done->id),
        .sandbox_id = done->sandbox_id ? strdup(done->sandbox_id) : NULL,
        .error_class = done->error_class,
        .error_phase = done->error_class ? done->error_phase : NULL,
        .error_message = done->error_class ? strdup(str(done->error_message)) : NULL,
        .error_status = done->error_status,
        .total_ms = done->total_ms,
        .backoff_ms = backoff_ms,
    };
    p[rec->n_tries++] = t;
    return t.rollout_id && (t.sandbox_id || !done->sandbox_id) && (t.error_message || !done->error_class)
               ? 0 : CORRAL_ENOMEM;
}

/* The RolloutResult document of `rec`: the only place its keys are written. */
static cJSON *render(const struct crl_rollout_record *rec)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "rollout_id", rec->id);
    cJSON *task = cJSON_AddObjectToObject(j, "task");
    cJSON_AddStringToObject(task, "dir", str(rec->task_dir));
    if (rec->task_name)
        cJSON_AddStringToObject(task, "name", rec->task_name);
    cJSON_AddNumberToObject(j, "attempt", rec->attempt);
    if (rec->task_digest)
        cJSON_AddStringToObject(j, "task_digest", rec->task_digest);
    else
        cJSON_AddNullToObject(j, "task_digest");
    if (rec->dataset_source) {
        cJSON *ds = cJSON_AddObjectToObject(j, "dataset");
        cJSON_AddStringToObject(ds, "source", rec->dataset_source);
        if (rec->dataset_name)
            cJSON_AddStringToObject(ds, "name", rec->dataset_name);
        if (rec->dataset_version)
            cJSON_AddStringToObject(ds, "version", rec->dataset_version);
        if (rec->dataset_commit)
            cJSON_AddStringToObject(ds, "commit", rec->dataset_commit);
    }
    if (rec->task_version)
        cJSON_AddStringToObject(task, "version", rec->task_version);
    if (rec->task_metadata)
        cJSON_AddItemToObject(task, "metadata", cJSON_Duplicate(rec->task_metadata, 1));
    if (rec->task_warnings)
        cJSON_AddItemToObject(task, "warnings", cJSON_Duplicate(rec->task_warnings, 1));
    cJSON *agent = cJSON_AddObjectToObject(j, "agent");
    cJSON_AddStringToObject(agent, "name", str(rec->agent));
    if (rec->agent_version)
        cJSON_AddStringToObject(agent, "version", rec->agent_version);
    if (rec->agent_status) {
        cJSON_AddStringToObject(agent, "stderr_tail", str(rec->agent_stderr_tail));
        cJSON_AddNumberToObject(agent, "exit_code", rec->agent_exit_code);
        cJSON_AddBoolToObject(agent, "timed_out", rec->agent_timed_out);
        cJSON_AddStringToObject(agent, "status", rec->agent_status);
    }
    cJSON *sb = cJSON_AddObjectToObject(j, "sandbox");
    cJSON_AddStringToObject(sb, "backend", str(rec->backend));
    if (rec->sandbox_id)
        cJSON_AddStringToObject(sb, "id", rec->sandbox_id);
    if (rec->verify_sandbox_id)
        cJSON_AddStringToObject(sb, "verify_id", rec->verify_sandbox_id);
    if (rec->artifacts_dir || rec->artifacts_error) {
        cJSON *a = cJSON_AddObjectToObject(j, "artifacts");
        if (rec->artifacts_dir)
            cJSON_AddStringToObject(a, "dir", rec->artifacts_dir);
        if (rec->artifacts_error)
            cJSON_AddStringToObject(a, "error", rec->artifacts_error);
        if (rec->artifacts_missing) /* a warning, not a failure */
            cJSON_AddItemToObject(a, "missing", cJSON_Duplicate(rec->artifacts_missing, 1));
    }
    if (rec->has_reward)
        cJSON_AddNumberToObject(j, "reward", rec->reward);
    else
        cJSON_AddNullToObject(j, "reward");
    add_error(j, rec->error_class, rec->error_phase, rec->error_message, rec->error_status);
    cJSON *t = cJSON_AddObjectToObject(j, "timings_ms");
    for (size_t i = 0; i < rec->n_timings; i++)
        cJSON_AddNumberToObject(t, rec->timings[i].phase, (double)rec->timings[i].ms);
    cJSON_AddNumberToObject(t, "total", (double)rec->total_ms);
    if (rec->timeouts_s[2]) { /* the timeouts that applied, multipliers included */
        static const char *const names[4] = {"setup", "agent_setup", "agent", "verify"};
        cJSON *to = cJSON_AddObjectToObject(j, "timeouts_s");
        for (int i = 0; i < 4; i++)
            cJSON_AddNumberToObject(to, names[i], (double)rec->timeouts_s[i]);
    }
    cJSON_AddItemToObject(j, "setup", commands_json(&rec->setup));
    cJSON_AddItemToObject(j, "verify", commands_json(&rec->verify));
    cJSON_AddItemReferenceToObject(j, "events", rec->events);
    if (rec->events_truncated)
        cJSON_AddNumberToObject(j, "events_truncated", (double)rec->events_truncated);
    cJSON *tr = rec->transcript ? cJSON_Parse(rec->transcript) : NULL;
    cJSON_AddItemToObject(j, "transcript", tr ? tr : cJSON_CreateArray());
    const cJSON *te; /* the gate marks entries it kept sizes of only */
    cJSON_ArrayForEach(te, tr) if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(te, "truncated"))) {
        cJSON_AddTrueToObject(j, "transcript_truncated");
        break;
    }
    if (rec->has_reward)
        cJSON_AddStringToObject(j, "reward_source", str(rec->reward_source));
    if (rec->rewards)
        cJSON_AddItemToObject(j, "rewards", cJSON_Duplicate(rec->rewards, 1));
    if (rec->egress) /* only with a policy (docs/egress.md) */
        cJSON_AddItemToObject(j, "egress", cJSON_Duplicate(rec->egress, 1));
    if (rec->tries)
        cJSON_AddItemToObject(j, "attempts", tries_json(rec));
    return j;
}

int crl_record_finish(struct crl_rollout_record *rec, int pretty)
{
    cJSON *j = render(rec);
    free(rec->json);
    rec->json = !j ? NULL : pretty ? cJSON_Print(j) : cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    free(rec->egress_text);
    rec->egress_text = rec->egress ? cJSON_PrintUnformatted(rec->egress) : NULL;
    struct corral_rollout_result *p = &rec->pub;
    *p = (struct corral_rollout_result){
        .struct_size = sizeof *p,
        .rollout_id = rec->id,
        .task_dir = str(rec->task_dir),
        .task_name = rec->task_name,
        .agent = str(rec->agent),
        .agent_version = rec->agent_version,
        .agent_status = rec->agent_status,
        .agent_exit_code = rec->agent_exit_code,
        .sandbox_backend = str(rec->backend),
        .sandbox_id = rec->sandbox_id,
        .has_reward = rec->has_reward,
        .reward = rec->reward,
        .reward_source = rec->has_reward ? rec->reward_source : NULL,
        .error_class = rec->error_class,
        .error_phase = rec->error_class ? rec->error_phase : NULL,
        .error_message = rec->error_class ? str(rec->error_message) : NULL,
        .error_status = rec->error_status,
        .status = rec->status,
        .timings = rec->timings,
        .n_timings = rec->n_timings,
        .total_ms = rec->total_ms,
        .json = rec->json,
        .json_len = rec->json ? strlen(rec->json) : 0,
        .attempt = rec->attempt,
        .task_digest = rec->task_digest,
        .dataset_source = rec->dataset_source,
        .dataset_name = rec->dataset_name,
        .dataset_version = rec->dataset_version,
        .dataset_commit = rec->dataset_commit,
        .artifacts_dir = rec->artifacts_dir,
        .artifacts_error = rec->artifacts_error,
        .egress = rec->egress_text,
        .tries = rec->tries,
        .n_tries = rec->n_tries,
    };
    return rec->json ? 0 : CORRAL_ENOMEM;
}

void crl_command_log_free(struct crl_command_log *log)
{
    for (size_t i = 0; i < log->n; i++) {
        struct crl_command_record *c = &log->items[i];
        free(c->command);
        for (char **p = c->argv; p && *p; p++)
            free(*p);
        free(c->argv);
        free(c->out_tail);
        free(c->err_tail);
    }
    free(log->items);
    memset(log, 0, sizeof *log);
}

void crl_record_free(struct crl_rollout_record *rec)
{
    free(rec->task_dir);
    free(rec->task_name);
    free(rec->task_digest);
    free(rec->dataset_source);
    free(rec->dataset_name);
    free(rec->dataset_version);
    free(rec->dataset_commit);
    free(rec->artifacts_dir);
    free(rec->artifacts_error);
    free(rec->task_version);
    cJSON_Delete(rec->task_metadata);
    cJSON_Delete(rec->task_warnings);
    cJSON_Delete(rec->rewards);
    cJSON_Delete(rec->egress);
    cJSON_Delete(rec->artifacts_missing);
    free(rec->egress_text);
    for (size_t i = 0; i < rec->n_tries; i++) {
        free((char *)rec->tries[i].rollout_id);
        free((char *)rec->tries[i].sandbox_id);
        free((char *)rec->tries[i].error_message);
    }
    free(rec->tries);
    free(rec->agent);
    free(rec->agent_version);
    free(rec->backend);
    free(rec->sandbox_id);
    free(rec->verify_sandbox_id);
    free(rec->agent_stderr_tail);
    free(rec->error_message);
    crl_command_log_free(&rec->setup);
    crl_command_log_free(&rec->verify);
    cJSON_Delete(rec->events);
    free(rec->transcript);
    free(rec->json);
    memset(rec, 0, sizeof *rec);
}
