/*
 * Islo wire JSON: SandboxResponse, GetExecResult, ErrorResponse, and the
 * corral egress policy.  No host services here, so the fuzz targets link it
 * alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "islo.h"

static char *dup_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) && v->valuestring ? strdup(v->valuestring) : NULL;
}

int islo_parse_sandbox(const char *body, size_t len, struct islo_sandbox_info *out)
{
    memset(out, 0, sizeof *out);
    cJSON *j = cJSON_ParseWithLength(body, len);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return -1;
    }
    out->id = dup_str(j, "id");
    out->name = dup_str(j, "name");
    out->status = dup_str(j, "status");
    out->workdir = dup_str(j, "workdir");
    cJSON_Delete(j);
    if (!out->name || !out->status) {
        islo_sandbox_info_free(out);
        return -1;
    }
    return 0;
}

void islo_sandbox_info_free(struct islo_sandbox_info *i)
{
    free(i->id);
    free(i->name);
    free(i->status);
    free(i->workdir);
    memset(i, 0, sizeof *i);
}

int islo_parse_exec(const char *body, size_t len, struct islo_exec_info *out)
{
    memset(out, 0, sizeof *out);
    cJSON *j = cJSON_ParseWithLength(body, len);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return -1;
    }
    out->status = dup_str(j, "status");
    out->out = dup_str(j, "stdout");
    out->err = dup_str(j, "stderr");
    const cJSON *ec = cJSON_GetObjectItemCaseSensitive(j, "exit_code");
    if (cJSON_IsNumber(ec) && ec->valuedouble >= -1e9 && ec->valuedouble <= 1e9) {
        out->has_exit = 1;
        out->exit_code = (int)ec->valuedouble;
    }
    out->truncated = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "truncated"));
    cJSON_Delete(j);
    if (!out->status) {
        islo_exec_info_free(out);
        return -1;
    }
    return 0;
}

void islo_exec_info_free(struct islo_exec_info *e)
{
    free(e->status);
    free(e->out);
    free(e->err);
    memset(e, 0, sizeof *e);
}

int islo_exec_terminal(const char *s)
{
    static const char *const t[] = {"completed", "failed", "timeout", "finished", "succeeded",
                                    "exited",    "done",   "error",   "killed",   "cancelled"};
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        if (strcmp(s, t[i]) == 0)
            return 1;
    return 0;
}

void islo_parse_error(const char *body, size_t len, char *code, size_t code_len, char *msg, size_t msg_len)
{
    if (code_len)
        code[0] = '\0';
    if (msg_len)
        msg[0] = '\0';
    cJSON *j = body ? cJSON_ParseWithLength(body, len) : NULL;
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return;
    }
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "code");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "detail");
    if (cJSON_IsString(c) && code_len)
        snprintf(code, code_len, "%s", c->valuestring);
    if (cJSON_IsString(m) && msg_len)
        snprintf(msg, msg_len, "%s", m->valuestring);
    else if (cJSON_IsString(d) && msg_len)
        snprintf(msg, msg_len, "%s", d->valuestring);
    else if (cJSON_IsArray(d) && msg_len) { /* FastAPI 422: the first item's msg */
        const cJSON *m0 = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(d, 0), "msg");
        if (cJSON_IsString(m0))
            snprintf(msg, msg_len, "%s", m0->valuestring);
    }
    cJSON_Delete(j);
}

/* ---- egress policy ---- */

static int fail_err(char *err, size_t n, const char *what)
{
    snprintf(err, n, "%s", what);
    return -1;
}

static int is_action(const char *s)
{
    return strcmp(s, "allow") == 0 || strcmp(s, "deny") == 0;
}

static int parse_rule(const cJSON *r, struct islo_rule *out, char *err, size_t n)
{
    memset(out, 0, sizeof *out);
    if (!cJSON_IsObject(r))
        return fail_err(err, n, "each rule must be an object");
    /* two spellings: this plugin's own (host, path, rate_limit_per_minute)
     * and the host's native form (docs/plugin-abi.md: the gateway's names,
     * with the rule's name and priority; rules arrive in priority order,
     * which the profile keeps) */
    static const char *const keys[] = {"host", "path", "methods", "action", "rate_limit_per_minute", "host_pattern",
                                       "path_pattern", "rate_limit_rpm", "priority", "name"};
    for (const cJSON *k = r->child; k; k = k->next) {
        size_t i = 0;
        while (i < sizeof keys / sizeof *keys && strcmp(k->string, keys[i]))
            i++;
        if (i == sizeof keys / sizeof *keys) {
            snprintf(err, n, "unknown rule key '%.64s' (valid: host, path, methods, action, rate_limit_per_minute)",
                     k->string);
            return -1;
        }
    }
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(r, "host");
    if (!h)
        h = cJSON_GetObjectItemCaseSensitive(r, "host_pattern");
    if (!cJSON_IsString(h) || !h->valuestring[0] || strlen(h->valuestring) > 253)
        return fail_err(err, n, "rule.host must be a non-empty host pattern");
    out->host = strdup(h->valuestring);
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(r, "path");
    if (!p)
        p = cJSON_GetObjectItemCaseSensitive(r, "path_pattern");
    if (p) {
        if (!cJSON_IsString(p) || p->valuestring[0] != '/')
            return fail_err(err, n, "rule.path must be a string starting with '/'");
        out->path = strdup(p->valuestring);
    }
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(r, "action");
    if (a && (!cJSON_IsString(a) || !is_action(a->valuestring)))
        return fail_err(err, n, "rule.action must be \"allow\" or \"deny\"");
    out->action = strdup(a ? a->valuestring : "allow");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(r, "methods");
    if (m) {
        if (!cJSON_IsArray(m) || cJSON_GetArraySize(m) > 16)
            return fail_err(err, n, "rule.methods must be an array of HTTP methods");
        out->methods = calloc((size_t)cJSON_GetArraySize(m) + 1, sizeof *out->methods);
        size_t i = 0;
        for (const cJSON *e = m->child; e; e = e->next) {
            if (!cJSON_IsString(e) || !e->valuestring[0] || strlen(e->valuestring) > 16 ||
                strspn(e->valuestring, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(e->valuestring))
                return fail_err(err, n, "rule.methods entries must be upper-case HTTP methods");
            out->methods[i++] = strdup(e->valuestring);
        }
    }
    const cJSON *rl = cJSON_GetObjectItemCaseSensitive(r, "rate_limit_per_minute");
    if (!rl)
        rl = cJSON_GetObjectItemCaseSensitive(r, "rate_limit_rpm");
    if (rl) {
        if (!cJSON_IsNumber(rl) || rl->valuedouble < 1 || rl->valuedouble > 1e9 ||
            rl->valuedouble != (double)(int64_t)rl->valuedouble)
            return fail_err(err, n, "rule.rate_limit_per_minute must be a positive integer");
        out->rate_limit_rpm = (int64_t)rl->valuedouble;
    }
    return 0;
}

static void rule_free(struct islo_rule *r)
{
    free(r->host);
    free(r->path);
    free(r->action);
    if (r->methods)
        for (char **m = r->methods; *m; m++)
            free(*m);
    free(r->methods);
}

int islo_policy_parse(const char *json, struct islo_policy *out, char *err, size_t n)
{
    memset(out, 0, sizeof *out);
    cJSON *j = json ? cJSON_Parse(json) : NULL;
    int rc = -1;
    if (!cJSON_IsObject(j)) {
        fail_err(err, n, "egress policy must be a JSON object");
        goto out;
    }
    for (const cJSON *k = j->child; k; k = k->next)
        if (strcmp(k->string, "default") && strcmp(k->string, "internet") && strcmp(k->string, "rules")) {
            snprintf(err, n, "unknown egress policy key '%.64s' (valid: default, internet, rules)", k->string);
            goto out;
        }
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "default");
    if (d && (!cJSON_IsString(d) || !is_action(d->valuestring))) {
        fail_err(err, n, "egress policy 'default' must be \"allow\" or \"deny\"");
        goto out;
    }
    out->default_action = strdup(d ? d->valuestring : "deny");
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(j, "internet");
    if (in && !cJSON_IsBool(in)) {
        fail_err(err, n, "egress policy 'internet' must be a boolean");
        goto out;
    }
    out->internet = in ? cJSON_IsTrue(in) : 1;
    const cJSON *rules = cJSON_GetObjectItemCaseSensitive(j, "rules");
    if (rules) {
        if (!cJSON_IsArray(rules) || cJSON_GetArraySize(rules) > 256) {
            fail_err(err, n, "egress policy 'rules' must be an array of at most 256 rules");
            goto out;
        }
        out->rules = calloc((size_t)cJSON_GetArraySize(rules) + 1, sizeof *out->rules);
        for (const cJSON *r = rules->child; r; r = r->next) {
            int bad = parse_rule(r, &out->rules[out->n_rules], err, n);
            out->n_rules++;
            if (bad)
                goto out;
        }
    }
    rc = 0;
out:
    cJSON_Delete(j);
    if (rc)
        islo_policy_free(out);
    return rc;
}

void islo_policy_free(struct islo_policy *p)
{
    for (size_t i = 0; i < p->n_rules; i++)
        rule_free(&p->rules[i]);
    free(p->rules);
    free(p->default_action);
    memset(p, 0, sizeof *p);
}

char *islo_rule_body(const struct islo_rule *r, int priority)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "host_pattern", r->host);
    if (r->path)
        cJSON_AddStringToObject(o, "path_pattern", r->path);
    if (r->methods) {
        cJSON *m = cJSON_AddArrayToObject(o, "methods");
        for (char **s = r->methods; *s; s++)
            cJSON_AddItemToArray(m, cJSON_CreateString(*s));
    }
    cJSON_AddStringToObject(o, "action", r->action);
    if (r->rate_limit_rpm)
        cJSON_AddNumberToObject(o, "rate_limit_rpm", (double)r->rate_limit_rpm);
    cJSON_AddNumberToObject(o, "priority", priority);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}
