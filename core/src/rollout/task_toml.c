/* Harbor's task.toml (schema 1.x and the legacy spellings Harbor still
 * accepts) mapped onto the same struct corral_task that task.json fills:
 * which field is read, mapped or refused, and why, is the table in
 * docs/harbor.md.  Unknown keys are warnings (Harbor adds fields); a wrong
 * type is an error naming the file, the table and the key. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crl_toml.h"
#include "egress/egress.h"
#include "rollout/rollout_internal.h"

#define MAX_CPUS 4096
#define MAX_MB ((int64_t)1 << 24) /* 16 TiB, as task.json */

struct tt {
    struct corral_task *t;
    const char *path;
    struct corral_call *call;
    struct crl_strv warnings;
};

static void warn(struct tt *x, const char *table, const char *key, const char *why)
{
    crl_strv_pushf(&x->warnings, "%s: %s%s%s%s %s", x->path, table ? "[" : "", table ? table : "", table ? "] " : "",
                   key, why);
}

/* A wrong type: the error names file, table and key. */
static int type_error(struct tt *x, const char *table, const char *key, const char *want, const struct crl_toml *v)
{
    return corral_call_fail(x->call, CORRAL_EINVAL, "%s: %s%s%s%s must be %s (found %s)", x->path, table ? "[" : "",
                            table ? table : "", table ? "] " : "", key, want, crl_toml_type_name(v->type));
}

static int refuse(struct tt *x, const char *table, const char *key, const char *why)
{
    return corral_call_fail(x->call, CORRAL_EINVAL, "%s: %s%s%s%s: %s", x->path, table ? "[" : "", table ? table : "",
                            table ? "] " : "", key, why);
}

/* Warn about every key of tbl that known does not list. */
static void unknown_keys(struct tt *x, const struct crl_toml *tbl, const char *table, const char *const *known)
{
    for (size_t i = 0; i < tbl->n; i++) {
        size_t k = 0;
        while (known[k] && strcmp(known[k], tbl->items[i]->key) != 0)
            k++;
        if (!known[k])
            warn(x, table, tbl->items[i]->key, "is not a field corral knows: ignored");
    }
}

/* tbl.key as a table (absent: *out NULL). */
static int table_of(struct tt *x, const struct crl_toml *tbl, const char *table, const char *key,
                    const struct crl_toml **out)
{
    *out = crl_toml_get(tbl, key);
    if (*out && (*out)->type != CRL_TOML_TABLE)
        return type_error(x, table, key, "a table", *out);
    return 0;
}

static int string_of(struct tt *x, const struct crl_toml *tbl, const char *table, const char *key, const char **out)
{
    const struct crl_toml *v = crl_toml_get(tbl, key);
    *out = NULL;
    if (!v)
        return 0;
    if (v->type != CRL_TOML_STRING)
        return type_error(x, table, key, "a string", v);
    if (strlen(v->s) != v->len)
        return refuse(x, table, key, "must not contain U+0000");
    *out = v->s;
    return 0;
}

/* A number of seconds (integer or float) above 0 and at most 7 days,
 * rounded up to whole seconds; absent leaves *out. */
static int seconds_of(struct tt *x, const struct crl_toml *tbl, const char *table, const char *key, int64_t *out)
{
    const struct crl_toml *v = crl_toml_get(tbl, key);
    if (!v)
        return 0;
    double s;
    if (v->type == CRL_TOML_INT)
        s = (double)v->i;
    else if (v->type == CRL_TOML_FLOAT)
        s = v->f;
    else
        return type_error(x, table, key, "a number of seconds", v);
    if (!(s > 0) || s > (double)CRL_MAX_TIMEOUT_S)
        return corral_call_fail(x->call, CORRAL_EINVAL, "%s: [%s] %s must be above 0 and at most %lld seconds",
                                x->path, table, key, (long long)CRL_MAX_TIMEOUT_S);
    *out = (int64_t)ceil(s);
    return 0;
}

/* An integer from 0 to max (a float with no fraction is one too, as
 * pydantic reads it); *present says whether the key was there. */
static int int_of(struct tt *x, const struct crl_toml *tbl, const char *table, const char *key, int64_t max,
                  int64_t *out, int *present)
{
    const struct crl_toml *v = crl_toml_get(tbl, key);
    *present = v != NULL;
    if (!v)
        return 0;
    int64_t n;
    if (v->type == CRL_TOML_INT)
        n = v->i;
    else if (v->type == CRL_TOML_FLOAT && crl_number_i64(v->f, 0, max, &n) == 0 && (double)n == v->f)
        ;
    else
        return type_error(x, table, key, "an integer", v);
    if (n < 0 || n > max)
        return corral_call_fail(x->call, CORRAL_EINVAL, "%s: [%s] %s must be from 0 to %lld", x->path, table, key,
                                (long long)max);
    *out = n;
    return 0;
}

/* Harbor's legacy size strings: "2G", "512M", "1024K" (case-insensitive,
 * a decimal number before the unit) in MB, truncated as Harbor does. */
static int size_mb(const char *s, int64_t *mb)
{
    char num[64];
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n < 2 || n - 1 >= sizeof num)
        return -1;
    char unit = s[n - 1];
    memcpy(num, s, n - 1);
    num[n - 1] = 0;
    double v;
    if (crl_parse_decimal(num, 0, (double)MAX_MB * 1024, &v))
        return -1;
    if (unit == 'G' || unit == 'g')
        v *= 1024;
    else if (unit == 'K' || unit == 'k')
        v /= 1024;
    else if (unit != 'M' && unit != 'm')
        return -1;
    return crl_number_i64(v, 0, MAX_MB, mb);
}

/* memory_mb / memory (or storage_mb / storage) into *bytes. */
static int mb_field(struct tt *x, const struct crl_toml *env, const char *key_mb, const char *legacy, int64_t *bytes)
{
    int64_t mb = 0, lmb = 0;
    int present;
    int r = int_of(x, env, "environment", key_mb, MAX_MB, &mb, &present);
    const struct crl_toml *l = crl_toml_get(env, legacy);
    if (r || !l) {
        if (!r && present)
            *bytes = mb * 1024 * 1024;
        return r;
    }
    if (l->type != CRL_TOML_STRING)
        return type_error(x, "environment", legacy, "a size string such as \"2G\" or \"512M\"", l);
    if (size_mb(l->s, &lmb))
        return refuse(x, "environment", legacy, "must be a size such as \"2G\", \"512M\" or \"1024K\"");
    if (present && lmb != mb)
        return corral_call_fail(x->call, CORRAL_EINVAL, "%s: [environment] %s = \"%s\" (%lld MB) conflicts with %s = %lld",
                                x->path, legacy, l->s, (long long)lmb, key_mb, (long long)mb);
    *bytes = lmb * 1024 * 1024;
    return 0;
}

/* "${VAR}" or "${VAR:-default}" as the whole value: from this process's
 * environment, as Harbor resolves its env tables; other values as they
 * are.  `table` ("environment.env", ...) names the table in messages. */
static int env_value(struct tt *x, const char *table, const char *key, const char *v, struct crl_strv *out)
{
    size_t n = strlen(v);
    if (n >= 4 && v[0] == '$' && v[1] == '{' && v[n - 1] == '}') {
        size_t name = strcspn(v + 2, "}:");
        const char *after = v + 2 + name;
        int whole = name > 0 && (after == v + n - 1 || (after[0] == ':' && after[1] == '-'));
        if (whole) {
            char var[256];
            if (name >= sizeof var)
                return refuse(x, table, key, "names a variable longer than 255 bytes");
            memcpy(var, v + 2, name);
            var[name] = 0;
            const char *host = getenv(var);
            int r;
            if (host)
                r = crl_strv_pushf(out, "%s=%s", key, host);
            else if (after[0] == ':')
                r = crl_strv_pushf(out, "%s=%.*s", key, (int)(v + n - 1 - (after + 2)), after + 2);
            else
                return corral_call_fail(x->call, CORRAL_EINVAL,
                                    "%s: [%s] %s: the variable %s is not set on this host (and no "
                                    "${%s:-default} is given)", x->path, table, key, var, var);
            return r ? corral_call_fail(x->call, CORRAL_ENOMEM, "out of memory") : 0;
        }
    }
    return crl_strv_pushf(out, "%s=%s", key, v) ? corral_call_fail(x->call, CORRAL_ENOMEM, "out of memory") : 0;
}

/* The `env` table of [parent] into *out ("K=V", NULL-terminated; replaced). */
static int env_table(struct tt *x, const struct crl_toml *tbl, const char *parent, char ***out)
{
    const struct crl_toml *e;
    int r = table_of(x, tbl, parent, "env", &e);
    if (r || !e)
        return r;
    char table[32];
    snprintf(table, sizeof table, "%s.env", parent);
    struct crl_strv sv = {0};
    for (size_t i = 0; !r && i < e->n; i++) {
        const struct crl_toml *v = e->items[i];
        if (!crl_is_env_name(v->key))
            r = refuse(x, table, v->key, "is not a valid environment variable name");
        else if (v->type != CRL_TOML_STRING || strlen(v->s) != v->len)
            r = type_error(x, table, v->key, "a string", v);
        else
            r = env_value(x, table, v->key, v->s, &sv);
    }
    if (r) {
        crl_strv_free(&sv);
        return r;
    }
    crl_strv_free_array(*out);
    *out = crl_strv_take(&sv);
    if (!*out)
        *out = calloc(1, sizeof **out);
    return *out ? 0 : corral_call_fail(x->call, CORRAL_ENOMEM, "out of memory");
}

/* [environment] network_mode = "allowlist": no network but corral's egress
 * proxy, letting through allowed_hosts only (docs/egress.md), as the
 * task's egress policy in JSON. */
/* [table] allowed_hosts as a deny-by-default policy allowing each host
 * (an absent list denies everything: "no-network" for a phase). */
static int host_policy(struct tt *x, const struct crl_toml *tbl, const char *table, int required, cJSON **out)
{
    const struct crl_toml *h = crl_toml_get(tbl, "allowed_hosts");
    *out = NULL;
    if (!h && required)
        return refuse(x, table, "allowed_hosts", "is required with network_mode = \"allowlist\"");
    if (h && h->type != CRL_TOML_ARRAY)
        return type_error(x, table, "allowed_hosts", "an array of host names", h);
    cJSON *j = cJSON_CreateObject(), *rules = cJSON_AddArrayToObject(j, "rules");
    cJSON_AddStringToObject(j, "default", "deny");
    for (size_t i = 0; h && i < h->n; i++) {
        if (h->items[i]->type != CRL_TOML_STRING) {
            cJSON_Delete(j);
            return type_error(x, table, "allowed_hosts", "an array of host names", h->items[i]);
        }
        cJSON *rule = cJSON_CreateObject();
        cJSON_AddStringToObject(rule, "host_pattern", h->items[i]->s);
        cJSON_AddStringToObject(rule, "action", "allow");
        cJSON_AddItemToArray(rules, rule);
    }
    *out = j;
    return 0;
}

/* The task's egress policy j, checked by the egress reader (`what` names
 * its origin in messages), as x->t->egress_json. */
static int set_policy(struct tt *x, cJSON *j, const char *what)
{
    char where[PATH_MAX + 40];
    snprintf(where, sizeof where, "%s: %s", x->path, what);
    struct crl_egress e = {0};
    int r = crl_egress_from_json(j, where, CRL_EGRESS_TASK, &e, x->call);
    crl_egress_free(&e);
    free(x->t->egress_json);
    x->t->egress_json = NULL;
    if (!r && !(x->t->egress_json = cJSON_PrintUnformatted(j)))
        r = corral_call_fail(x->call, CORRAL_ENOMEM, "out of memory");
    return r;
}

static int allowlist(struct tt *x, const struct crl_toml *tbl)
{
    cJSON *j;
    int r = host_policy(x, tbl, "environment", 1, &j);
    if (r)
        return r;
    r = set_policy(x, j, "[environment] allowed_hosts");
    cJSON_Delete(j);
    return r;
}

/* network_mode: "public", "no-network", or (in [environment] only)
 * "allowlist", which *allow says. */
static int network_mode(struct tt *x, const struct crl_toml *tbl, const char *table, int *mode, int *present,
                        int *allow)
{
    const char *s;
    *present = 0;
    int r = string_of(x, tbl, table, "network_mode", &s);
    if (r || !s)
        return r;
    *present = 1;
    if (strcmp(s, "public") == 0)
        *mode = CORRAL_NET_FULL;
    else if (strcmp(s, "no-network") == 0)
        *mode = CORRAL_NET_NONE;
    else if (strcmp(s, "allowlist") == 0 && allow) {
        *mode = CORRAL_NET_NONE;
        *allow = 1;
        return 0;
    } else

        return refuse(x, table, "network_mode", "must be \"public\", \"no-network\" or \"allowlist\"");
    const struct crl_toml *h = crl_toml_get(tbl, "allowed_hosts");
    if (h && (h->type != CRL_TOML_ARRAY || h->n))
        return refuse(x, table, "allowed_hosts", "is only valid with network_mode = \"allowlist\"");
    return 0;
}

/* Something non-empty under key is refused with why. */
static int refuse_nonempty(struct tt *x, const struct crl_toml *tbl, const char *table, const char *key, const char *why)
{
    const struct crl_toml *v = crl_toml_get(tbl, key);
    if (!v || ((v->type == CRL_TOML_ARRAY || v->type == CRL_TOML_TABLE) && v->n == 0))
        return 0;
    return refuse(x, table, key, why);
}

static cJSON *to_json(const struct crl_toml *v);

/* Whether a string anywhere in v holds U+0000 (to_json would cut it). */
static int has_nul(const struct crl_toml *v)
{
    if (v->type == CRL_TOML_STRING)
        return strlen(v->s) != v->len;
    for (size_t i = 0; (v->type == CRL_TOML_TABLE || v->type == CRL_TOML_ARRAY) && i < v->n; i++)
        if (has_nul(v->items[i]))
            return 1;
    return 0;
}

/* [[environment.mcp_servers]]: checked by the reader task.json shares. */
static int mcp_servers(struct tt *x, const struct crl_toml *m)
{
    if (!m)
        return 0;
    if (has_nul(m))
        return refuse(x, "environment", "mcp_servers", "must not contain U+0000");
    char where[PATH_MAX + 48];
    snprintf(where, sizeof where, "%s: [environment] mcp_servers", x->path);
    cJSON *j = to_json(m);
    int r = j ? crl_task_mcp_servers(j, where, &x->t->mcp_servers_json, x->call)
              : corral_call_fail(x->call, CORRAL_ENOMEM, "out of memory");
    cJSON_Delete(j);
    return r;
}

static int environment(struct tt *x, const struct crl_toml *env)
{
    static const char *const known[] = {"build_timeout_sec", "docker_image", "os", "cpus", "memory_mb", "storage_mb",
                                        "gpus", "gpu_types", "tpu", "mcp_servers", "env", "skills_dir", "healthcheck",
                                        "workdir", "allow_internet", "network_mode", "allowed_hosts", "memory",
                                        "storage", NULL};
    struct corral_task *t = x->t;
    unknown_keys(x, env, "environment", known);
    const char *s;
    int64_t n, build = 0;
    int present, r = string_of(x, env, "environment", "docker_image", &s);
    if (!r && s)
        t->image = strdup(s);
    if (!r && !(r = string_of(x, env, "environment", "os", &s)) && s && strcasecmp(s, "linux") != 0)
        r = refuse(x, "environment", "os", strcasecmp(s, "windows") == 0
                                               ? "\"windows\" is refused: corral's backends run Linux sandboxes"
                                               : "must be \"linux\" or \"windows\"");
    if (!r)
        r = seconds_of(x, env, "environment", "build_timeout_sec", &build);
    if (!r)
        t->build_timeout_s = build;
    if (!r && !(r = int_of(x, env, "environment", "cpus", MAX_CPUS, &n, &present)) && present)
        t->cpus = (double)n;
    if (!r)
        r = mb_field(x, env, "memory_mb", "memory", &t->memory_bytes);
    if (!r)
        r = mb_field(x, env, "storage_mb", "storage", &t->storage_bytes);
    if (!r && !(r = int_of(x, env, "environment", "gpus", 1 << 16, &n, &present)) && present && n > 0)
        r = refuse(x, "environment", "gpus", "no corral backend provides GPUs to a task yet");
    if (!r)
        r = refuse_nonempty(x, env, "environment", "tpu", "no corral backend provides TPUs");
    if (!r)
        r = mcp_servers(x, crl_toml_get(env, "mcp_servers"));
    if (!r)
        r = refuse_nonempty(x, env, "environment", "healthcheck",
                            "healthchecks are not supported yet; fold the wait into the task's image or test.sh");
    if (!r && crl_toml_get(env, "skills_dir"))
        warn(x, "environment", "skills_dir", "is read but not copied: corral's agent specs have no skills directory");
    if (!r && !(r = string_of(x, env, "environment", "workdir", &s)) && s) {
        const char *why = crl_workdir_refusal(s);
        if (why)
            r = refuse(x, "environment", "workdir", why);
        else {
            free(t->workdir);
            t->workdir = strdup(s);
        }
    }
    const struct crl_toml *ai = crl_toml_get(env, "allow_internet");
    if (!r && ai && ai->type != CRL_TOML_BOOL)
        r = type_error(x, "environment", "allow_internet", "a boolean", ai);
    else if (!r && ai)
        t->network = ai->b ? CORRAL_NET_FULL : CORRAL_NET_NONE;
    int mode, allow = 0;
    if (!r && !(r = network_mode(x, env, "environment", &mode, &present, &allow)) && present)
        t->network = mode; /* network_mode wins over the legacy allow_internet, as in Harbor */
    if (!r && allow)
        r = allowlist(x, env);
    if (!r && !present && crl_toml_get(env, "allowed_hosts"))
        r = refuse_nonempty(x, env, "environment", "allowed_hosts", "is only valid with network_mode = \"allowlist\"");
    if (!r)
        r = env_table(x, env, "environment", &x->t->env);
    return r;
}

/* Whether the task-wide part of the egress policy `json` (NULL: none, the
 * task has no network) lets nothing out. */
static int top_denies_all(const char *json)
{
    cJSON *j = json ? cJSON_Parse(json) : NULL;
    const cJSON *rules = cJSON_GetObjectItemCaseSensitive(j, "rules"), *dflt = cJSON_GetObjectItemCaseSensitive(j, "default");
    int none = !json || (cJSON_GetArraySize(rules) == 0 && (!cJSON_IsString(dflt) || strcmp(dflt->valuestring, "deny") == 0));
    cJSON_Delete(j);
    return none;
}

/* [agent] or [verifier] network_mode (Harbor's per-phase override): a
 * restatement of [environment]'s changes nothing; "no-network" and
 * "allowlist" (with the phase's allowed_hosts) become that phase's own
 * egress policy (docs/egress.md), which needs the task's network to go
 * through corral's proxy already: [environment] "no-network" or
 * "allowlist".  A narrower phase of a public task, and a public phase of a
 * task without network, are refused. */
static int phase_network(struct tt *x, const struct crl_toml *tbl, const char *table)
{
    int mode, present, allow = 0;
    int r = network_mode(x, tbl, table, &mode, &present, &allow);
    if (r || !present)
        return r ? r : refuse_nonempty(x, tbl, table, "allowed_hosts",
                                       "is only valid with network_mode = \"allowlist\"");
    if (mode == CORRAL_NET_FULL)
        return x->t->network == CORRAL_NET_FULL
                   ? 0
                   : refuse(x, table, "network_mode", "\"public\" for one phase of a task whose [environment] has "
                            "no public network is not mapped");
    if (!allow && x->t->network == CORRAL_NET_NONE && top_denies_all(x->t->egress_json))
        return 0; /* "no-network" restated */
    if (x->t->network == CORRAL_NET_FULL)
        return refuse(x, table, "network_mode", "a phase narrower than a public [environment] is not mapped (every "
                      "phase would have to go through corral's proxy); give [environment] network_mode = "
                      "\"allowlist\" or \"no-network\" and open the phases that need more");
    cJSON *phase_pol = NULL;
    if ((r = host_policy(x, tbl, table, allow, &phase_pol)) != 0)
        return r;
    cJSON *j = x->t->egress_json ? cJSON_Parse(x->t->egress_json) : NULL;
    if (!j) { /* [environment] "no-network": nothing outside in the other phases */
        j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "default", "deny");
        cJSON_AddArrayToObject(j, "rules");
    }
    cJSON *phases = cJSON_GetObjectItemCaseSensitive(j, "phases");
    if (!phases)
        phases = cJSON_AddObjectToObject(j, "phases");
    cJSON_AddItemToObject(phases, strcmp(table, "verifier") == 0 ? "verify" : "agent", phase_pol);
    char what[64];
    snprintf(what, sizeof what, "[%s] network_mode", table);
    r = set_policy(x, j, what);
    cJSON_Delete(j);
    return r;
}

/* user: a name (as useradd allows) or a uid, into *out. */
static int phase_user(struct tt *x, const struct crl_toml *tbl, const char *table, char **out)
{
    const struct crl_toml *u = crl_toml_get(tbl, "user");
    if (!u)
        return 0;
    if (u->type != CRL_TOML_STRING && u->type != CRL_TOML_INT)
        return type_error(x, table, "user", "a user name or uid", u);
    char buf[64];
    if (u->type == CRL_TOML_INT) {
        if (u->i < 0 || u->i > 0x7fffffff)
            return refuse(x, table, "user", "must be a uid from 0 to 2147483647");
        snprintf(buf, sizeof buf, "%lld", (long long)u->i);
    } else {
        size_t n = strlen(u->s);
        if (n == 0 || n > 32 || n != u->len || u->s[0] == '-' ||
            strspn(u->s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != n)
            return refuse(x, table, "user", "must be a user name (letters, digits, . _ -; at most 32) or a uid");
        snprintf(buf, sizeof buf, "%s", u->s);
    }
    free(*out);
    *out = strdup(buf);
    return *out ? 0 : corral_call_fail(x->call, CORRAL_ENOMEM, "out of memory");
}

/* What [agent] and [verifier] share: known keys, timeout_sec, user, network_mode. */
static int phase_table(struct tt *x, const struct crl_toml *tbl, const char *table, const char *const *known,
                       int64_t *timeout_s, char **user)
{
    unknown_keys(x, tbl, table, known);
    int r = seconds_of(x, tbl, table, "timeout_sec", timeout_s);
    if (!r)
        r = phase_user(x, tbl, table, user);
    if (!r)
        r = phase_network(x, tbl, table);
    return r;
}

/* [metadata] and the rest of [task] as JSON for the result. */
static cJSON *to_json(const struct crl_toml *v)
{
    cJSON *j;
    switch (v->type) {
    case CRL_TOML_TABLE:
    case CRL_TOML_ARRAY:
        j = v->type == CRL_TOML_TABLE ? cJSON_CreateObject() : cJSON_CreateArray();
        for (size_t i = 0; j && i < v->n; i++) {
            cJSON *c = to_json(v->items[i]);
            if (v->type == CRL_TOML_TABLE)
                cJSON_AddItemToObject(j, v->items[i]->key, c);
            else
                cJSON_AddItemToArray(j, c);
        }
        return j;
    case CRL_TOML_INT: return cJSON_CreateNumber((double)v->i);
    case CRL_TOML_FLOAT: return isfinite(v->f) ? cJSON_CreateNumber(v->f) : cJSON_CreateNull();
    case CRL_TOML_BOOL: return cJSON_CreateBool(v->b);
    default: return cJSON_CreateString(v->s);
    }
}

/* [egress]: corral's own table (docs/egress.md), read by the same reader
 * as task.json's "egress" and kept as its JSON text. */
static int egress(struct tt *x, const struct crl_toml *tbl)
{
    cJSON *j = to_json(tbl);
    char where[PATH_MAX + 16];
    snprintf(where, sizeof where, "%s: [egress]", x->path);
    struct crl_egress e = {0};
    int r = j ? crl_egress_from_json(j, where, CRL_EGRESS_TASK, &e, x->call)
              : corral_call_fail(x->call, CORRAL_ENOMEM, "out of memory");
    crl_egress_free(&e);
    if (!r && !(x->t->egress_json = cJSON_PrintUnformatted(j)))
        r = corral_call_fail(x->call, CORRAL_ENOMEM, "out of memory");
    cJSON_Delete(j);
    return r;
}

/* Harbor's `artifacts`: a list of sandbox paths, or of tables {source,
 * destination, exclude, service} (docs/harbor.md, "Artifacts"). */
static int artifacts(struct tt *x, const struct crl_toml *a)
{
    static const char *const keys[] = {"source", "destination", "exclude", "service", NULL};
    if (!a)
        return 0;
    if (a->type != CRL_TOML_ARRAY)
        return type_error(x, NULL, "artifacts", "an array of paths or tables", a);
    if (a->n > CRL_TASK_MAX_ARTIFACTS)
        return refuse(x, NULL, "artifacts", "has more entries than corral collects (64)");
    struct crl_strv src = {0}, dst = {0};
    int r = 0;
    for (size_t i = 0; !r && i < a->n; i++) {
        const struct crl_toml *e = a->items[i];
        char table[32], why[160];
        snprintf(table, sizeof table, "artifacts[%zu]", i);
        const char *s = e->type == CRL_TOML_STRING ? e->s : NULL, *d = NULL, *svc = NULL;
        if (e->type == CRL_TOML_TABLE) {
            const struct crl_toml *ex = crl_toml_get(e, "exclude");
            unknown_keys(x, e, table, keys);
            r = string_of(x, e, table, "source", &s);
            if (!r)
                r = string_of(x, e, table, "destination", &d);
            if (!r)
                r = string_of(x, e, table, "service", &svc);
            if (!r && !s)
                r = refuse(x, table, "source", "is required");
            if (!r && ex && (ex->type != CRL_TOML_ARRAY || ex->n))
                warn(x, table, "exclude", "is not honoured: the whole path is collected");
            if (!r && svc && strcmp(svc, "main") != 0)
                r = refuse(x, table, "service", "names a compose service; corral runs one container");
        } else if (!s) {
            r = type_error(x, NULL, table, "a path or a table", e);
        }
        if (!r && crl_task_artifact_check(s, d, why, sizeof why))
            r = refuse(x, NULL, table, why);
        if (!r && (crl_strv_push(&src, s) || crl_strv_push(&dst, d && d[0] ? d : "")))
            r = corral_call_fail(x->call, CORRAL_ENOMEM, "out of memory");
    }
    if (!r && src.n) {
        x->t->artifact_sources = crl_strv_take(&src);
        x->t->artifact_dests = crl_strv_take(&dst);
    }
    crl_strv_free(&src);
    crl_strv_free(&dst);
    return r;
}

static int mapped(struct tt *x, const struct crl_toml *root)
{
    static const char *const known[] = {"version", "schema_version", "source", "task", "metadata", "verifier", "agent",
                                        "environment", "solution", "steps", "artifacts", "multi_step_reward_strategy",
                                        "egress", NULL};
    static const char *const task_keys[] = {"name", "version", "description", "authors", "keywords", NULL};
    static const char *const agent_keys[] = {"timeout_sec", "user", "network_mode", "allowed_hosts", NULL};
    static const char *const verifier_keys[] = {"timeout_sec", "env", "user", "network_mode", "allowed_hosts",
                                                "environment_mode", "environment", "collect", NULL};
    static const char *const solution_keys[] = {"env", NULL};
    struct corral_task *t = x->t;
    unknown_keys(x, root, NULL, known);
    const char *s;
    int r = string_of(x, root, NULL, "schema_version", &s);
    if (!r)
        r = string_of(x, root, NULL, "version", &s);
    if (!r)
        r = string_of(x, root, NULL, "source", &s);
    if (!r)
        r = refuse_nonempty(x, root, NULL, "steps", "multi-step tasks are not supported yet");
    if (!r)
        r = artifacts(x, crl_toml_get(root, "artifacts"));
    const struct crl_toml *task, *meta, *agent, *verifier, *env, *sol;
    if (!r)
        r = table_of(x, root, NULL, "task", &task);
    if (!r)
        r = table_of(x, root, NULL, "metadata", &meta);
    if (!r)
        r = table_of(x, root, NULL, "agent", &agent);
    if (!r)
        r = table_of(x, root, NULL, "verifier", &verifier);
    if (!r)
        r = table_of(x, root, NULL, "environment", &env);
    if (!r)
        r = table_of(x, root, NULL, "solution", &sol);
    if (!r && task) {
        unknown_keys(x, task, "task", task_keys);
        if (!(r = string_of(x, task, "task", "name", &s)) && s) {
            if (!*s)
                r = refuse(x, "task", "name", "must not be empty");
            else {
                free(t->name);
                t->name = strdup(s);
            }
        }
        if (!r && !(r = string_of(x, task, "task", "version", &s)) && s)
            t->version = strdup(s);
        if (!r)
            r = string_of(x, task, "task", "description", &s);
    }
    if (!r && (meta || task)) {
        cJSON *m = meta ? to_json(meta) : cJSON_CreateObject();
        if (task && m)
            cJSON_AddItemToObject(m, "task", to_json(task));
        t->metadata_json = m ? cJSON_PrintUnformatted(m) : NULL;
        cJSON_Delete(m);
    }
    /* Harbor checks the tests in the agent's own container by default */
    t->verify_sandbox = CORRAL_VERIFY_SAME;
    t->network = CORRAL_NET_FULL; /* Harbor's default: public */
    if (!r && env)
        r = environment(x, env);
    if (!r && agent)
        r = phase_table(x, agent, "agent", agent_keys, &t->agent_timeout_s, &t->agent_user);
    if (!r && verifier) {
        r = phase_table(x, verifier, "verifier", verifier_keys, &t->verify_timeout_s, &t->verifier_user);
        if (!r)
            r = env_table(x, verifier, "verifier", &t->verifier_env);
        if (!r)
            r = refuse_nonempty(x, verifier, "verifier", "environment",
                                "a separate verifier environment (its own image) is not supported yet");
        if (!r)
            r = refuse_nonempty(x, verifier, "verifier", "collect", "needs compose services, which corral refuses");
        if (!r && !(r = string_of(x, verifier, "verifier", "environment_mode", &s)) && s) {
            if (strcmp(s, "shared") == 0)
                t->verify_sandbox = CORRAL_VERIFY_SAME;
            else if (strcmp(s, "separate") == 0)
                t->verify_sandbox = CORRAL_VERIFY_FRESH;
            else
                r = refuse(x, "verifier", "environment_mode", "must be \"shared\" or \"separate\"");
        }
    }
    if (!r && sol) {
        unknown_keys(x, sol, "solution", solution_keys);
        r = env_table(x, sol, "solution", &t->solution_env);
    }
    const struct crl_toml *eg = NULL;
    if (!r)
        r = table_of(x, root, NULL, "egress", &eg);
    if (!r && eg && t->egress_json)
        r = refuse(x, NULL, "egress", "and a network_mode = \"allowlist\" (or a phase's network_mode) both give an "
                   "egress policy; keep one");
    else if (!r && eg)
        r = egress(x, eg);
    return r;
}

int crl_task_parse_toml(struct corral_task *t, const char *text, size_t len, const char *path,
                        struct corral_call *call)
{
    char err[256];
    struct crl_toml *root = crl_toml_parse(text, len, err, sizeof err);
    if (!root)
        return corral_call_fail(call, CORRAL_EINVAL, "%s: %s", path, err);
    struct tt x = {.t = t, .path = path, .call = call};
    t->harbor = 1;
    int r = mapped(&x, root);
    crl_toml_free(root);
    crl_strv_free_array(t->warnings);
    t->warnings = crl_strv_take(&x.warnings);
    return r;
}
