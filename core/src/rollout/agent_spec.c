/* Declarative agent specs: parsing, templates, events, success. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollout/agent_spec.h"
#include "gate/gate_aux.h"
#include "base/internal.h"

static const char *str_or(const cJSON *o, const char *key, const char *dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : dflt;
}

static int all_strings(const cJSON *a)
{
    if (!cJSON_IsArray(a))
        return 0;
    const cJSON *s;
    cJSON_ArrayForEach(s, a) if (!cJSON_IsString(s)) return 0;
    return 1;
}

static const char *var_value(const struct crl_agent_vars *v, const char *name, size_t len, int *known)
{
    static const char *const names[] = {"home", "workdir", "run", "agent_dir", "base_url", "gate_url", "model", "task"};
    const char *vals[] = {v->home, v->workdir, v->run, v->agent_dir, v->base_url, v->gate_url, v->model, v->task};
    for (const char *const *x = v->extra; x && x[0]; x += 2)
        if (strlen(x[0]) == len && strncmp(x[0], name, len) == 0) {
            *known = 1;
            return x[1] ? x[1] : "";
        }
    for (size_t i = 0; i < CRL_ARRAY_LEN(names); i++)
        if (strlen(names[i]) == len && strncmp(names[i], name, len) == 0) {
            *known = 1;
            return vals[i] ? vals[i] : "";
        }
    *known = 0;
    return NULL;
}

char *crl_agent_subst(const char *t, const struct crl_agent_vars *v, char *why, size_t wl)
{
    struct crl_buf b = {0};
    crl_buf_add(&b, "", 0);
    for (const char *p = t; *p;) {
        if (p[0] == '{' && p[1] == '{') {
            crl_buf_add(&b, "{", 1);
            p += 2;
            continue;
        }
        if (*p == '{') {
            size_t n = 0;
            while ((p[1 + n] >= 'a' && p[1 + n] <= 'z') || p[1 + n] == '_')
                n++;
            if (n && p[1 + n] == '}') {
                int known;
                const char *val = var_value(v, p + 1, n, &known);
                if (!known) {
                    snprintf(why, wl, "unknown template variable {%.*s}", (int)n, p + 1);
                    crl_buf_free(&b);
                    return NULL;
                }
                crl_buf_add(&b, val, strlen(val));
                p += n + 2;
                continue;
            }
        }
        crl_buf_add(&b, p, 1);
        p++;
    }
    return b.p;
}

cJSON crl_agent_omit;

cJSON *crl_agent_subst_json_with(const cJSON *t, const struct crl_agent_vars *v, crl_agent_leaf_fn leaf, void *ctx,
                                 char *why, size_t wl)
{
    if (cJSON_IsString(t)) {
        cJSON *own = leaf ? leaf(t, ctx) : NULL;
        if (own)
            return own;
        char *s = crl_agent_subst(t->valuestring, v, why, wl);
        cJSON *r = s ? cJSON_CreateString(s) : NULL;
        free(s);
        return r;
    }
    if (!cJSON_IsObject(t) && !cJSON_IsArray(t))
        return cJSON_Duplicate(t, 1);
    cJSON *out = cJSON_IsObject(t) ? cJSON_CreateObject() : cJSON_CreateArray();
    const cJSON *it;
    cJSON_ArrayForEach(it, t) {
        cJSON *c = crl_agent_subst_json_with(it, v, leaf, ctx, why, wl);
        if (!c) {
            cJSON_Delete(out);
            return NULL;
        }
        if (c == &crl_agent_omit)
            continue;
        if (cJSON_IsObject(t)) {
            char *k = crl_agent_subst(it->string, v, why, wl);
            if (!k) {
                cJSON_Delete(c);
                cJSON_Delete(out);
                return NULL;
            }
            cJSON_AddItemToObject(out, k, c);
            free(k);
        } else {
            cJSON_AddItemToArray(out, c);
        }
    }
    return out;
}

cJSON *crl_agent_subst_json(const cJSON *t, const struct crl_agent_vars *v, char *why, size_t wl)
{
    return crl_agent_subst_json_with(t, v, NULL, NULL, why, wl);
}

/* Check every template in the spec by substituting placeholder values. */
static int check_templates(const cJSON *node, char *why, size_t wl)
{
    static const struct crl_agent_vars dummy = {"h", "w", "r", "a", "b", "m", "t", "g", NULL};
    if (!node)
        return 0;
    cJSON *c = crl_agent_subst_json(node, &dummy, why, wl);
    cJSON_Delete(c);
    return c ? 0 : -1;
}

/* "auxiliary" (gate_aux.c's rule) into s.  0, or -1 with why set. */
static int parse_auxiliary(const cJSON *a, struct crl_agent_spec *s, char *why, size_t wl)
{
    if (!a)
        return 0;
    struct corral_gate_responder rule = {0};
    char w[256];
    if (crl_gate_aux_parse(a, &rule, w, sizeof w) != 0) {
        snprintf(why, wl, "agent spec: %s", w);
        return -1;
    }
    s->aux_no_tools = rule.aux_no_tools;
    s->aux_max_tokens_below = rule.aux_max_tokens_below;
    s->aux_system_prefix = rule.aux_system_prefix;
    return 0;
}

int crl_agent_spec_parse(const char *json, struct crl_agent_spec *s, char *why, size_t wl)
{
    memset(s, 0, sizeof *s);
    s->root = cJSON_Parse(json);
    if (!cJSON_IsObject(s->root)) {
        snprintf(why, wl, "agent spec is not a JSON object");
        goto bad;
    }
    const cJSON *r = s->root;
    s->name = str_or(r, "name", NULL);
    if (!s->name) {
        snprintf(why, wl, "agent spec: \"name\" missing");
        goto bad;
    }
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(r, "model");
    s->uses_model = !cJSON_IsFalse(model);
    const cJSON *inst = cJSON_GetObjectItemCaseSensitive(r, "install");
    if (inst && !cJSON_IsObject(inst) && !cJSON_IsNull(inst)) {
        snprintf(why, wl, "agent spec: \"install\" must be an object");
        goto bad;
    }
    s->npm = cJSON_GetObjectItemCaseSensitive(inst, "npm");
    s->requires = cJSON_GetObjectItemCaseSensitive(inst, "requires");
    s->check = cJSON_GetObjectItemCaseSensitive(inst, "check");
    s->install_script = str_or(inst, "script", NULL);
    if ((s->npm && !all_strings(s->npm)) || (s->requires && !all_strings(s->requires)) ||
        (s->check && !all_strings(s->check))) {
        snprintf(why, wl, "agent spec: install.npm, install.requires and install.check must be string arrays");
        goto bad;
    }
    if (cJSON_GetArraySize(s->requires) > CRL_AGENT_MAX_REQUIRES) {
        snprintf(why, wl, "agent spec: install.requires lists %d commands; at most %d", cJSON_GetArraySize(s->requires),
                 CRL_AGENT_MAX_REQUIRES);
        goto bad;
    }
    s->argv = cJSON_GetObjectItemCaseSensitive(r, "argv");
    if (!all_strings(s->argv) || cJSON_GetArraySize(s->argv) == 0) {
        snprintf(why, wl, "agent spec: \"argv\" must be a non-empty array of strings");
        goto bad;
    }
    s->files = cJSON_GetObjectItemCaseSensitive(r, "files");
    const cJSON *f;
    cJSON_ArrayForEach(f, s->files) {
        if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(f, "path")) ||
            (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(f, "text")) &&
             !cJSON_GetObjectItemCaseSensitive(f, "json"))) {
            snprintf(why, wl, "agent spec: each of \"files\" needs \"path\" and \"text\" or \"json\"");
            goto bad;
        }
    }
    s->env = cJSON_GetObjectItemCaseSensitive(r, "env");
    const cJSON *e;
    cJSON_ArrayForEach(e, s->env) {
        if (!crl_is_env_name(e->string) || !cJSON_IsString(e)) {
            snprintf(why, wl, "agent spec: env \"%s\" must be a string with a valid name", e->string);
            goto bad;
        }
    }
    s->prompt = str_or(r, "prompt", "stdin");
    if (strcmp(s->prompt, "stdin") != 0 && strcmp(s->prompt, "none") != 0) {
        snprintf(why, wl, "agent spec: \"prompt\" must be \"stdin\" or \"none\"");
        goto bad;
    }
    s->model_key_env = str_or(r, "model_key_env", NULL);
    if (s->model_key_env && !crl_is_env_name(s->model_key_env)) {
        snprintf(why, wl, "agent spec: \"model_key_env\" must be an environment variable name");
        goto bad;
    }
    const cJSON *to = cJSON_GetObjectItemCaseSensitive(r, "timeout_s");
    s->timeout_s = 0; /* the plan's default */
    if (to && (!cJSON_IsNumber(to) || crl_number_i64(to->valuedouble, 0, CRL_MAX_TIMEOUT_S, &s->timeout_s) != 0)) {
        snprintf(why, wl, "agent spec: \"timeout_s\" must be a number of seconds from 0 to %lld",
                 (long long)CRL_MAX_TIMEOUT_S);
        goto bad;
    }
    if (parse_auxiliary(cJSON_GetObjectItemCaseSensitive(r, "auxiliary"), s, why, wl))
        goto bad;
    if (crl_agent_mcp_parse(cJSON_GetObjectItemCaseSensitive(r, "mcp"), s, why, wl))
        goto bad;
    s->events = cJSON_GetObjectItemCaseSensitive(r, "events");
    cJSON_ArrayForEach(e, s->events) {
        if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(e, "match")) ||
            !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "emit"))) {
            snprintf(why, wl, "agent spec: each event rule needs \"match\" (object) and \"emit\" (string)");
            goto bad;
        }
    }
    s->success = cJSON_GetObjectItemCaseSensitive(r, "success");
    s->task_files = cJSON_GetObjectItemCaseSensitive(r, "task_files");
    if (s->task_files && !all_strings(s->task_files)) {
        snprintf(why, wl, "agent spec: \"task_files\" must be an array of task subdirectory names");
        goto bad;
    }
    s->artifacts = cJSON_GetObjectItemCaseSensitive(r, "artifacts");
    if (check_templates(s->argv, why, wl) || check_templates(s->files, why, wl) ||
        check_templates(s->env, why, wl) || check_templates(s->check, why, wl))
        goto bad;
    return 0;
bad:
    cJSON_Delete(s->root);
    memset(s, 0, sizeof *s);
    return CORRAL_EINVAL;
}

void crl_agent_spec_free(struct crl_agent_spec *s)
{
    cJSON_Delete(s->root);
    memset(s, 0, sizeof *s);
}

const cJSON *crl_json_path(const cJSON *root, const char *path)
{
    const cJSON *cur = root;
    char seg[128];
    while (cur && *path) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof seg)
            return NULL;
        memcpy(seg, path, n);
        seg[n] = '\0';
        if (cJSON_IsArray(cur)) {
            char *end;
            long i = strtol(seg, &end, 10);
            cur = *end || i < 0 ? NULL : cJSON_GetArrayItem(cur, (int)i);
        } else {
            cur = cJSON_GetObjectItemCaseSensitive(cur, seg);
        }
        path += n + (path[n] == '.');
    }
    return cur;
}

static int matches(const cJSON *line, const cJSON *match)
{
    const cJSON *m;
    cJSON_ArrayForEach(m, match) {
        const cJSON *v = crl_json_path(line, m->string);
        if (!v || !cJSON_Compare(v, m, 1))
            return 0;
    }
    return 1;
}

cJSON *crl_agent_event(const struct crl_agent_spec *s, const char *line, size_t len)
{
    cJSON *j = cJSON_ParseWithLength(line, len);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return NULL;
    }
    cJSON *ev = NULL;
    const cJSON *rule;
    cJSON_ArrayForEach(rule, s->events) {
        if (!matches(j, cJSON_GetObjectItemCaseSensitive(rule, "match")))
            continue;
        ev = cJSON_CreateObject();
        cJSON_AddStringToObject(ev, "kind", cJSON_GetObjectItemCaseSensitive(rule, "emit")->valuestring);
        const cJSON *f;
        cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(rule, "fields")) {
            const cJSON *v = cJSON_IsString(f) ? crl_json_path(j, f->valuestring) : NULL;
            if (v && !cJSON_IsNull(v))
                cJSON_AddItemToObject(ev, f->string, cJSON_Duplicate(v, 1));
        }
        break;
    }
    cJSON_Delete(j);
    return ev;
}

static int in_list(const cJSON *list, const cJSON *v)
{
    const cJSON *x;
    cJSON_ArrayForEach(x, list) if (v && cJSON_Compare(x, v, 1)) return 1;
    return 0;
}

int crl_agent_judge(const struct crl_agent_spec *s, int exit_code, const cJSON *events, char *why, size_t wl)
{
    const cJSON *succ = s->success;
    const cJSON *codes = cJSON_GetObjectItemCaseSensitive(succ, "exit_codes");
    cJSON *zero = cJSON_CreateNumber(exit_code);
    int code_ok = codes ? in_list(codes, zero) : exit_code == 0;
    cJSON_Delete(zero);
    if (!code_ok) {
        snprintf(why, wl, "agent exited with %d", exit_code);
        return 0;
    }
    const cJSON *fail_on = cJSON_GetObjectItemCaseSensitive(succ, "fail_on"), *ev;
    cJSON_ArrayForEach(ev, events) {
        const cJSON *kind = cJSON_GetObjectItemCaseSensitive(ev, "kind");
        if (in_list(fail_on, kind)) {
            const cJSON *msg = cJSON_GetObjectItemCaseSensitive(ev, "message");
            snprintf(why, wl, "agent reported %s%s%s", kind->valuestring, cJSON_IsString(msg) ? ": " : "",
                     cJSON_IsString(msg) ? msg->valuestring : "");
            return 0;
        }
    }
    const char *require = str_or(succ, "require", NULL);
    if (require) {
        int seen = 0;
        cJSON_ArrayForEach(ev, events) seen |= strcmp(str_or(ev, "kind", ""), require) == 0;
        if (!seen) {
            snprintf(why, wl, "agent never reported \"%s\"", require);
            return 0;
        }
    }
    const cJSON *last = cJSON_GetObjectItemCaseSensitive(succ, "last");
    if (last) {
        const char *kind = str_or(last, "kind", "");
        const char *field = str_or(last, "field", "");
        const cJSON *found = NULL;
        cJSON_ArrayForEach(ev, events) if (strcmp(str_or(ev, "kind", ""), kind) == 0) found = ev;
        const cJSON *v = found ? crl_json_path(found, field) : NULL;
        const cJSON *in = cJSON_GetObjectItemCaseSensitive(last, "in");
        const cJSON *not_in = cJSON_GetObjectItemCaseSensitive(last, "not_in");
        if (!found || (in && !in_list(in, v)) || (not_in && in_list(not_in, v))) {
            char *vs = v ? cJSON_PrintUnformatted(v) : NULL;
            snprintf(why, wl, "the last \"%s\" event has %s = %s", kind, field, vs ? vs : "(none)");
            free(vs);
            return 0;
        }
    }
    return 1;
}
