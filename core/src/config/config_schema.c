/*
 * Plugin config sections against the schema each plugin declares
 * (struct corral_option arrays): validation per layer so messages name the
 * file and the key (types, limits, required options), defaults, the
 * accessors plugins use, binding into a 1.1 plugin's state (the way Fluent
 * Bit's config_map fills a plugin context), and the redacted dump.
 */
#include <stdalign.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/internal.h"

/* sizeof(struct corral_option) in ABI 1.0: up to and including description. */
#define OPTION_10_SIZE (offsetof(struct corral_option, description) + sizeof(const char *))

struct opt_value {
    const struct corral_option *opt;
    cJSON *value;          /* owned: the configured value or the parsed default; NULL if unset */
    char **strv;           /* cached NULL-terminated view for CORRAL_OPT_STRINGS */
};

struct corral_config {
    const struct corral_plugin *desc;
    struct opt_value *v;
    size_t n;
};

/* The i-th option of desc's schema, honouring the plugin's element size. */
static const struct corral_option *opt_at(const struct corral_plugin *desc, size_t i)
{
    return (const struct corral_option *)((const char *)desc->options + i * desc->option_size);
}

static size_t opt_count(const struct corral_plugin *desc)
{
    size_t n = 0;
    if (desc->options)
        while (opt_at(desc, n)->name)
            n++;
    return n;
}

/* Whether the ABI 1.1 fields of desc's options (offset, min, max) exist. */
static int opt_ext(const struct corral_plugin *desc)
{
    return crl_desc_speaks(desc, 1) &&
           desc->option_size >= offsetof(struct corral_option, max) + sizeof(((struct corral_option *)0)->max);
}

/* The flags the host honours for o: the 1.1 ones only where they exist. */
static uint32_t opt_flags(const struct corral_plugin *desc, const struct corral_option *o)
{
    return opt_ext(desc) ? o->flags : o->flags & (CORRAL_OPT_SECRET_ENV | CORRAL_OPT_REQUIRED);
}

/* Size and alignment of the C type a bound option of `type` is stored as. */
static size_t bound_size(int type, size_t *align)
{
    switch (type) {
    case CORRAL_OPT_INT: *align = alignof(int64_t); return sizeof(int64_t);
    case CORRAL_OPT_BOOL: *align = alignof(int); return sizeof(int);
    case CORRAL_OPT_DOUBLE: *align = alignof(double); return sizeof(double);
    default: *align = alignof(const char *); return sizeof(const char *);
    }
}

/* What a limit measures in v: the number, a string's bytes, an array's elements. */
static double measure(int type, const cJSON *v)
{
    if (type == CORRAL_OPT_STRING)
        return (double)strlen(v->valuestring);
    if (type == CORRAL_OPT_STRINGS)
        return (double)cJSON_GetArraySize(v);
    return v->valuedouble;
}

/* Whether v (already of the right type) is within o's limits. */
static int within_limits(uint32_t flags, const struct corral_option *o, const cJSON *v)
{
    double m = measure(o->type, v);
    return !((flags & CORRAL_OPT_MIN) && m < o->min) && !((flags & CORRAL_OPT_MAX) && m > o->max);
}

/* "an integer of at least 10", "a non-empty string", ...: what o's limits
 * ask for, for messages. */
static void describe_limits(uint32_t flags, const struct corral_option *o, char *buf, size_t cap)
{
    static const char *const what[] = {"", "a string of", "an integer", "", "a number", "an array of"};
    static const char *const unit[] = {"", " bytes", "", "", "", " strings"};
    int lo = (flags & CORRAL_OPT_MIN) != 0, hi = (flags & CORRAL_OPT_MAX) != 0;
    int counted = o->type == CORRAL_OPT_STRING || o->type == CORRAL_OPT_STRINGS;
    if (counted && lo && !hi && o->min == 1)
        snprintf(buf, cap, "%s", o->type == CORRAL_OPT_STRING ? "a non-empty string" : "a non-empty array of strings");
    else if (lo && hi)
        snprintf(buf, cap, "%s %s%g to %g%s", what[o->type], counted ? "" : "from ", o->min, o->max, unit[o->type]);
    else
        snprintf(buf, cap, "%s %s%s %g%s", what[o->type], counted ? "" : "of ", lo ? "at least" : "at most",
                 lo ? o->min : o->max, unit[o->type]);
}

static const char *opt_type_name(int type)
{
    switch (type) {
    case CORRAL_OPT_STRING: return "a string";
    case CORRAL_OPT_INT: return "an integer";
    case CORRAL_OPT_BOOL: return "true or false";
    case CORRAL_OPT_DOUBLE: return "a number";
    case CORRAL_OPT_STRINGS: return "an array of strings";
    default: return "?";
    }
}

static int value_fits(int type, const cJSON *v)
{
    switch (type) {
    case CORRAL_OPT_STRING: return cJSON_IsString(v);
    case CORRAL_OPT_BOOL: return cJSON_IsBool(v);
    case CORRAL_OPT_DOUBLE: return cJSON_IsNumber(v);
    case CORRAL_OPT_INT:
        return cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble) && fabs(v->valuedouble) < 9.0e15;
    case CORRAL_OPT_STRINGS: {
        if (!cJSON_IsArray(v))
            return 0;
        const cJSON *s;
        cJSON_ArrayForEach(s, v) if (!cJSON_IsString(s)) return 0;
        return 1;
    }
    default: return 0;
    }
}

/* A name like E2B_API_KEY: what secret options must hold (never the secret). */
static int is_upper_env_name(const char *s)
{
    if (!crl_is_env_name(s))
        return 0;
    for (; *s; s++)
        if (*s >= 'a' && *s <= 'z')
            return 0;
    return 1;
}

int crl_schema_check(const struct corral_plugin *desc, char *why, size_t whylen)
{
    if (!desc->options)
        return 0;
    if (desc->option_size < OPTION_10_SIZE) {
        snprintf(why, whylen, "option_size %zu is smaller than ABI 1.0's %zu", desc->option_size,
                 (size_t)OPTION_10_SIZE);
        return CORRAL_EINVAL;
    }
    size_t n = opt_count(desc);
    for (size_t i = 0; i < n; i++) {
        const struct corral_option *o = opt_at(desc, i);
        if (strcmp(o->name, "enabled") == 0 || !*o->name ||
            (desc->kind == CORRAL_PLUGIN_SANDBOX && crl_backend_limit_key(o->name))) {
            snprintf(why, whylen, "option name '%s' is reserved or empty", o->name);
            return CORRAL_EINVAL;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(opt_at(desc, j)->name, o->name) == 0) {
                snprintf(why, whylen, "option '%s' declared twice", o->name);
                return CORRAL_EINVAL;
            }
        if (o->type < CORRAL_OPT_STRING || o->type > CORRAL_OPT_STRINGS) {
            snprintf(why, whylen, "option '%s' has unknown type %d", o->name, o->type);
            return CORRAL_EINVAL;
        }
        if ((o->flags & CORRAL_OPT_SECRET_ENV) && o->type != CORRAL_OPT_STRING) {
            snprintf(why, whylen, "secret option '%s' must be a string (an env-var name)", o->name);
            return CORRAL_EINVAL;
        }
        uint32_t flags = opt_flags(desc, o);
        if ((flags & (CORRAL_OPT_MIN | CORRAL_OPT_MAX)) && o->type == CORRAL_OPT_BOOL) {
            snprintf(why, whylen, "option '%s' is a boolean and cannot have limits", o->name);
            return CORRAL_EINVAL;
        }
        if ((flags & CORRAL_OPT_MIN) && (flags & CORRAL_OPT_MAX) && o->min > o->max) {
            snprintf(why, whylen, "option '%s' has min %g above max %g", o->name, o->min, o->max);
            return CORRAL_EINVAL;
        }
        size_t align, size = bound_size(o->type, &align);
        if ((flags & CORRAL_OPT_BIND) &&
            (o->offset % align != 0 || o->offset > crl_desc_state_size(desc) ||
             crl_desc_state_size(desc) - o->offset < size)) {
            snprintf(why, whylen, "bound option '%s' at offset %zu does not fit the state of %zu bytes", o->name,
                     o->offset, crl_desc_state_size(desc));
            return CORRAL_EINVAL;
        }
        if (o->default_json) {
            cJSON *d = cJSON_Parse(o->default_json);
            int ok = d && value_fits(o->type, d);
            int in = ok && within_limits(flags, o, d);
            cJSON_Delete(d);
            if (!ok || !in) {
                snprintf(why, whylen, "option '%s' has a default that is not %s", o->name,
                         !ok ? opt_type_name(o->type) : "within its limits");
                return CORRAL_EINVAL;
            }
        }
    }
    return 0;
}

static const struct corral_option *find_opt(const struct corral_plugin *desc, const char *key)
{
    for (size_t i = 0, n = opt_count(desc); i < n; i++)
        if (strcmp(opt_at(desc, i)->name, key) == 0)
            return opt_at(desc, i);
    return NULL;
}

/* Check one layer's section for this plugin; returns the number of problems. */
static int check_section(struct crl_config *cfg, const char *file, const char *kind, const struct corral_plugin *desc,
                         const cJSON *sec)
{
    int bad = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, sec) {
        if (strcmp(item->string, "enabled") == 0)
            continue; /* checked by the core */
        char why[160];
        if (desc->kind == CORRAL_PLUGIN_SANDBOX && crl_backend_limit_key(item->string)) {
            if (crl_backend_limit_check(item, why, sizeof why) != 0) {
                crl_config_error(cfg, "%s: %s.%s.%s", file, kind, desc->name, why);
                bad++;
            }
            continue;
        }
        const struct corral_option *o = find_opt(desc, item->string);
        if (!o) {
            struct crl_buf valid = {0};
            crl_buf_add(&valid, "enabled", 7);
            if (desc->kind == CORRAL_PLUGIN_SANDBOX)
                crl_buf_puts(&valid, ", max_concurrent, max_creates_per_second");
            for (size_t i = 0, n = opt_count(desc); i < n; i++)
                crl_buf_addf(&valid, ", %s", opt_at(desc, i)->name);
            crl_config_error(cfg, "%s: %s.%s: unknown key '%s' (valid keys: %s)", file, kind, desc->name, item->string,
                      valid.p);
            crl_buf_free(&valid);
            bad++;
            continue;
        }
        if (!value_fits(o->type, item)) {
            crl_config_error(cfg, "%s: %s.%s.%s must be %s", file, kind, desc->name, o->name, opt_type_name(o->type));
            bad++;
            continue;
        }
        uint32_t flags = opt_flags(desc, o);
        if (!within_limits(flags, o, item)) {
            char want[128];
            describe_limits(flags, o, want, sizeof want);
            if (o->type == CORRAL_OPT_INT || o->type == CORRAL_OPT_DOUBLE)
                crl_config_error(cfg, "%s: %s.%s.%s must be %s, not %g", file, kind, desc->name, o->name, want,
                                 item->valuedouble);
            else /* never echo a string: it may be a secret put in the wrong place */
                crl_config_error(cfg, "%s: %s.%s.%s must be %s", file, kind, desc->name, o->name, want);
            bad++;
            continue;
        }
        if ((o->flags & CORRAL_OPT_SECRET_ENV) && !is_upper_env_name(item->valuestring)) {
            /* Never echo the value: it may be the secret itself. */
            crl_config_error(cfg,
                      "%s: %s.%s.%s must name an environment variable that holds the secret "
                      "(like E2B_API_KEY), not contain the secret",
                      file, kind, desc->name, o->name);
            bad++;
        }
    }
    return bad;
}

int crl_schema_bind(struct crl_config *cfg, const struct corral_plugin *desc, struct corral_config **out)
{
    *out = NULL;
    const char *kind = desc->kind == CORRAL_PLUGIN_SANDBOX ? "sandbox" : "agent";
    int bad = 0;
    for (size_t i = 0; i < cfg->n_layers; i++) {
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(cfg->layers[i].json, kind);
        const cJSON *s = cJSON_IsObject(k) ? cJSON_GetObjectItemCaseSensitive(k, desc->name) : NULL;
        if (cJSON_IsObject(s))
            bad += check_section(cfg, cfg->layers[i].file, kind, desc, s);
    }
    const cJSON *merged = crl_config_section(cfg, desc->kind, desc->name);
    size_t n = opt_count(desc);
    for (size_t i = 0; i < n; i++) {
        const struct corral_option *o = opt_at(desc, i);
        if ((o->flags & CORRAL_OPT_REQUIRED) && !cJSON_GetObjectItemCaseSensitive(merged, o->name)) {
            /* Name the file where the key belongs: the one holding the
             * plugin's section, if any. */
            const char *file = crl_config_origin(cfg, desc->kind, desc->name, NULL);
            crl_config_error(cfg, "%s: %s.%s.%s is required but not set (%s)",
                             strcmp(file, "(defaults)") == 0 ? "no config file" : file, kind, desc->name, o->name,
                             o->description ? o->description : "no description");
            bad++;
        }
    }
    if (bad)
        return CORRAL_ECONFIG;

    struct corral_config *c = calloc(1, sizeof *c);
    if (!c || (n && !(c->v = calloc(n, sizeof *c->v)))) {
        free(c);
        return CORRAL_ENOMEM;
    }
    c->desc = desc;
    c->n = n;
    for (size_t i = 0; i < n; i++) {
        const struct corral_option *o = opt_at(desc, i);
        const cJSON *set = cJSON_GetObjectItemCaseSensitive(merged, o->name);
        c->v[i].opt = o;
        c->v[i].value = set ? cJSON_Duplicate(set, 1) : o->default_json ? cJSON_Parse(o->default_json) : NULL;
        if (o->type == CORRAL_OPT_STRINGS && c->v[i].value) {
            int len = cJSON_GetArraySize(c->v[i].value);
            c->v[i].strv = calloc((size_t)len + 1, sizeof(char *));
            for (int j = 0; c->v[i].strv && j < len; j++)
                c->v[i].strv[j] = cJSON_GetArrayItem(c->v[i].value, j)->valuestring;
        }
    }
    *out = c;
    return 0;
}

void crl_schema_fill(const struct corral_config *c, void *state)
{
    for (size_t i = 0; c && state && i < c->n; i++) {
        const struct corral_option *o = c->v[i].opt;
        const cJSON *v = c->v[i].value;
        if (!(opt_flags(c->desc, o) & CORRAL_OPT_BIND))
            continue;
        void *at = (char *)state + o->offset;
        switch (o->type) {
        case CORRAL_OPT_STRING: {
            const char *s = cJSON_IsString(v) ? v->valuestring : NULL;
            memcpy(at, &s, sizeof s);
            break;
        }
        case CORRAL_OPT_INT: {
            int64_t n = cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
            memcpy(at, &n, sizeof n);
            break;
        }
        case CORRAL_OPT_BOOL: {
            int b = cJSON_IsTrue(v);
            memcpy(at, &b, sizeof b);
            break;
        }
        case CORRAL_OPT_DOUBLE: {
            double d = cJSON_IsNumber(v) ? v->valuedouble : 0.0;
            memcpy(at, &d, sizeof d);
            break;
        }
        case CORRAL_OPT_STRINGS: {
            const char *const *sv = (const char *const *)c->v[i].strv;
            memcpy(at, &sv, sizeof sv);
            break;
        }
        }
    }
}

void crl_schema_free(struct corral_config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++) {
        cJSON_Delete(c->v[i].value);
        free(c->v[i].strv);
    }
    free(c->v);
    free(c);
}

cJSON *crl_schema_effective(const struct corral_config *c)
{
    cJSON *o = cJSON_CreateObject();
    for (size_t i = 0; c && i < c->n; i++) {
        if (c->v[i].value)
            cJSON_AddItemToObject(o, c->v[i].opt->name, cJSON_Duplicate(c->v[i].value, 1));
        else
            cJSON_AddNullToObject(o, c->v[i].opt->name);
    }
    return o;
}

static const cJSON *lookup(const struct corral_config *c, const char *key, int type)
{
    for (size_t i = 0; c && i < c->n; i++)
        if (strcmp(c->v[i].opt->name, key) == 0)
            return c->v[i].opt->type == type ? c->v[i].value : NULL;
    return NULL;
}

const char *crl_config_string(const struct corral_config *c, const char *key)
{
    const cJSON *v = lookup(c, key, CORRAL_OPT_STRING);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int64_t crl_config_int(const struct corral_config *c, const char *key)
{
    const cJSON *v = lookup(c, key, CORRAL_OPT_INT);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

int crl_config_bool(const struct corral_config *c, const char *key)
{
    return cJSON_IsTrue(lookup(c, key, CORRAL_OPT_BOOL));
}

double crl_config_double(const struct corral_config *c, const char *key)
{
    const cJSON *v = lookup(c, key, CORRAL_OPT_DOUBLE);
    return cJSON_IsNumber(v) ? v->valuedouble : 0.0;
}

const char *const *crl_config_strings(const struct corral_config *c, const char *key)
{
    for (size_t i = 0; c && i < c->n; i++)
        if (strcmp(c->v[i].opt->name, key) == 0 && c->v[i].opt->type == CORRAL_OPT_STRINGS)
            return (const char *const *)c->v[i].strv;
    return NULL;
}

const char *crl_schema_secret_option(const struct corral_config *c, const char *env_name)
{
    for (size_t i = 0; c && i < c->n; i++)
        if ((c->v[i].opt->flags & CORRAL_OPT_SECRET_ENV) && cJSON_IsString(c->v[i].value) &&
            strcmp(c->v[i].value->valuestring, env_name) == 0)
            return c->v[i].opt->name;
    return NULL;
}
