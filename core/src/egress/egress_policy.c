/* Egress policies: reading a policy object (JSON, or task.toml's [egress]
 * table through the same reader), validating every rule, and the phase
 * inheritance.  The format is in docs/egress.md. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crl_common.h"
#include "egress/egress.h"

#define MAX_RULES 1024
#define MAX_PATTERN 1024
#define EGRESS_FILE_MAX (1u << 20)

static const char *const phase_names[CRL_EGRESS_NPHASES] = {"setup", "agent", "verify"};

const char *crl_egress_phase_name(enum crl_egress_phase p)
{
    return (unsigned)p < CRL_EGRESS_NPHASES ? phase_names[p] : NULL;
}

const struct crl_egress_policy *crl_egress_for(const struct crl_egress *e, enum crl_egress_phase p)
{
    if (!e || !e->present || (unsigned)p >= CRL_EGRESS_NPHASES)
        return NULL;
    return e->has_own[p] ? &e->own[p] : &e->all;
}

static void policy_free(struct crl_egress_policy *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->rules[i].host_pattern);
        free(p->rules[i].host);
        free(p->rules[i].path_pattern);
    }
    free(p->rules);
    memset(p, 0, sizeof *p);
}

void crl_egress_free(struct crl_egress *e)
{
    if (!e)
        return;
    policy_free(&e->all);
    for (int i = 0; i < CRL_EGRESS_NPHASES; i++)
        policy_free(&e->own[i]);
    memset(e, 0, sizeof *e);
}

/* A DNS name: labels of [a-z0-9_-], 1..63 bytes, no hyphen at either end,
 * 253 bytes at most.  Lower-cases s in place. */
static int hostname_ok(char *s)
{
    size_t n = strlen(s), label = 0;
    if (n == 0 || n > 253)
        return 0;
    for (size_t i = 0; i <= n; i++) {
        char c = s[i];
        if (c == '.' || c == '\0') {
            if (label == 0 || label > 63 || s[i - 1] == '-' || s[i - label] == '-')
                return 0;
            label = 0;
            continue;
        }
        if (c >= 'A' && c <= 'Z')
            s[i] = c = (char)(c - 'A' + 'a');
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return 0;
        label++;
    }
    return 1;
}

static void mask_addr(unsigned char *a, int bytes, int prefix)
{
    for (int i = 0; i < bytes; i++) {
        int keep = prefix - 8 * i;
        if (keep >= 8)
            continue;
        a[i] = keep <= 0 ? 0 : (unsigned char)(a[i] & (0xff << (8 - keep)));
    }
}

/* host_pattern: exact name, "*.domain", an address or a CIDR block. */
static const char *parse_host(struct crl_egress_rule *r, const char *pat)
{
    char buf[300];
    if (strlen(pat) >= sizeof buf)
        return "is too long";
    snprintf(buf, sizeof buf, "%s", pat);
    char *slash = strchr(buf, '/');
    if (slash)
        *slash = '\0';
    if (crl_egress_parse_addr(buf, &r->family, r->addr) == 0) {
        int bits = r->family == AF_INET ? 32 : 128;
        r->prefix = bits;
        if (slash) {
            int64_t v;
            if (crl_parse_i64(slash + 1, 0, bits, &v) != 0)
                return "has a CIDR prefix length out of range";
            r->prefix = (int)v;
        }
        unsigned char net[16];
        memcpy(net, r->addr, 16);
        mask_addr(net, bits / 8, r->prefix);
        if (memcmp(net, r->addr, (size_t)bits / 8) != 0)
            return "has host bits set after the CIDR prefix";
        r->kind = CRL_HOST_CIDR;
        return NULL;
    }
    if (slash)
        return "is not an address before '/' (a CIDR block is ADDRESS/BITS)";
    char *name = buf;
    size_t n = strlen(name);
    if (n && name[n - 1] == '.')
        name[--n] = '\0';
    r->kind = CRL_HOST_EXACT;
    if (strncmp(name, "*.", 2) == 0) {
        r->kind = CRL_HOST_SUFFIX;
        name += 2;
    }
    if (!hostname_ok(name))
        return "is malformed (an exact host name, *.domain, an IP address or a CIDR block)";
    if (r->kind == CRL_HOST_SUFFIX) {
        char *s = malloc(strlen(name) + 2);
        if (!s)
            return "could not be stored";
        s[0] = '.';
        strcpy(s + 1, name);
        r->host = s;
    } else if (!(r->host = strdup(name))) {
        return "could not be stored";
    }
    return NULL;
}

static const char *parse_path(const char *p)
{
    if (p[0] != '/')
        return "must start with '/'";
    if (strlen(p) > MAX_PATTERN)
        return "is too long";
    for (const unsigned char *c = (const unsigned char *)p; *c; c++)
        if (*c <= 0x20 || *c >= 0x7f)
            return "may hold only printable ASCII without spaces";
    return NULL;
}

unsigned crl_egress_method_bit(const char *m, size_t n)
{
    const char *all = CRL_EGRESS_METHODS;
    unsigned bit = 1;
    for (const char *p = all; *p; bit <<= 1) {
        const char *e = strchr(p, ' ');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && strncasecmp(p, m, n) == 0)
            return bit;
        p += len + (e ? 1 : 0);
    }
    return 0;
}

struct reader {
    const char *file;
    enum crl_egress_origin origin;
    struct corral_call *call;
};

/* "FILE: RULE: what is wrong" */
static int bad(struct reader *x, const char *where, const char *what)
{
    return corral_call_fail(x->call, CORRAL_EINVAL, "%s: %s: %s", x->file, where, what);
}

static int check_keys(struct reader *x, const cJSON *o, const char *where, const char *const *keys, size_t n)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, o) {
        size_t i = 0;
        while (i < n && strcmp(it->string, keys[i]) != 0)
            i++;
        if (i == n)
            return corral_call_fail(x->call, CORRAL_EINVAL, "%s: %s%sunknown key \"%s\"", x->file, where,
                                    *where ? ": " : "", it->string);
    }
    return 0;
}

static int action_of(const cJSON *v, enum crl_egress_action *out)
{
    if (!cJSON_IsString(v))
        return -1;
    if (strcmp(v->valuestring, "allow") == 0)
        *out = CRL_EGRESS_ALLOW;
    else if (strcmp(v->valuestring, "deny") == 0)
        *out = CRL_EGRESS_DENY;
    else
        return -1;
    return 0;
}

static int int_of(const cJSON *v, int64_t min, int64_t max, int64_t *out)
{
    return cJSON_IsNumber(v) && crl_number_i64(v->valuedouble, min, max, out) == 0 ? 0 : -1;
}

static int read_rule(struct reader *x, const cJSON *o, size_t index, struct crl_egress_rule *r)
{
    const char *w = r->name;
    static const char *const keys[] = {"host_pattern", "path_pattern", "methods", "action", "priority",
                                       "rate_limit_rpm"};
    if (!cJSON_IsObject(o))
        return bad(x, w, "must be an object");
    if (check_keys(x, o, w, keys, sizeof keys / sizeof *keys))
        return -1;
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(o, "host_pattern");
    if (!cJSON_IsString(h))
        return bad(x, w, "host_pattern is required (a string)");
    if (!(r->host_pattern = strdup(h->valuestring)))
        return corral_call_fail(x->call, CORRAL_ENOMEM, "out of memory");
    const char *why = parse_host(r, h->valuestring);
    if (why)
        return corral_call_fail(x->call, CORRAL_EINVAL, "%s: %s: host_pattern \"%s\" %s", x->file, w,
                                h->valuestring, why);
    if (x->origin == CRL_EGRESS_TASK && r->kind == CRL_HOST_CIDR) {
        unsigned char probe[16];
        memcpy(probe, r->addr, 16);
        if (crl_egress_addr_is_private(r->family, probe))
            return corral_call_fail(x->call, CORRAL_EINVAL,
                                    "%s: %s: host_pattern \"%s\" names a private or loopback address, which only "
                                    "an operator's policy (--egress) may allow",
                                    x->file, w, h->valuestring);
    }
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "path_pattern");
    if (v) {
        if (!cJSON_IsString(v) || (why = parse_path(v->valuestring)))
            return corral_call_fail(x->call, CORRAL_EINVAL, "%s: %s: path_pattern %s", x->file, w,
                                    cJSON_IsString(v) ? why : "must be a string");
        if (!(r->path_pattern = strdup(v->valuestring)))
            return corral_call_fail(x->call, CORRAL_ENOMEM, "out of memory");
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(o, "methods"))) {
        if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) == 0)
            return bad(x, w, "methods must be a non-empty array of strings");
        const cJSON *m;
        cJSON_ArrayForEach(m, v) {
            unsigned bit = cJSON_IsString(m) ? crl_egress_method_bit(m->valuestring, strlen(m->valuestring)) : 0;
            if (!bit)
                return corral_call_fail(x->call, CORRAL_EINVAL, "%s: %s: methods: %s%s%s is not one of %s", x->file,
                                        w, cJSON_IsString(m) ? "\"" : "", cJSON_IsString(m) ? m->valuestring : "a non-string",
                                        cJSON_IsString(m) ? "\"" : "", CRL_EGRESS_METHODS);
            r->methods |= bit;
        }
    }
    if (action_of(cJSON_GetObjectItemCaseSensitive(o, "action"), &r->action) != 0)
        return bad(x, w, "action is required: \"allow\" or \"deny\"");
    r->priority = (int64_t)(index + 1) * 10;
    if ((v = cJSON_GetObjectItemCaseSensitive(o, "priority")) && int_of(v, 0, 1000000000, &r->priority) != 0)
        return bad(x, w, "priority must be an integer from 0 to 1000000000");
    if ((v = cJSON_GetObjectItemCaseSensitive(o, "rate_limit_rpm")) && int_of(v, 1, 1000000, &r->rate_limit_rpm) != 0)
        return bad(x, w, "rate_limit_rpm must be an integer from 1 to 1000000");
    return 0;
}

/* Two rules some one request could match both of. */
static int hosts_overlap(const struct crl_egress_rule *a, const struct crl_egress_rule *b)
{
    if ((a->kind == CRL_HOST_CIDR) != (b->kind == CRL_HOST_CIDR))
        return 0;
    if (a->kind == CRL_HOST_CIDR) {
        if (a->family != b->family)
            return 0;
        const struct crl_egress_rule *wide = a->prefix <= b->prefix ? a : b, *narrow = wide == a ? b : a;
        return crl_egress_rule_has_addr(wide, narrow->family, narrow->addr);
    }
    const struct crl_egress_rule *s = a->kind == CRL_HOST_SUFFIX ? a : b, *o = s == a ? b : a;
    if (s->kind != CRL_HOST_SUFFIX)
        return strcmp(a->host, b->host) == 0;
    size_t sl = strlen(s->host), ol = strlen(o->host);
    if (o->kind == CRL_HOST_SUFFIX) /* one suffix ends the other */
        return sl <= ol ? strcmp(o->host + ol - sl, s->host) == 0 : strcmp(s->host + sl - ol, o->host) == 0;
    return ol > sl && strcmp(o->host + ol - sl, s->host) == 0;
}

static int rules_overlap(const struct crl_egress_rule *a, const struct crl_egress_rule *b)
{
    if (!hosts_overlap(a, b))
        return 0;
    if (a->methods && b->methods && !(a->methods & b->methods))
        return 0;
    if (a->path_pattern && b->path_pattern && !strchr(a->path_pattern, '*') && !strchr(b->path_pattern, '*') &&
        strcmp(a->path_pattern, b->path_pattern) != 0)
        return 0;
    return 1;
}

static int read_policy(struct reader *x, const cJSON *o, const char *prefix, struct crl_egress_policy *p,
                       int allow_phases)
{
    static const char *const keys[] = {"default", "rules", "phases"};
    if (!cJSON_IsObject(o))
        return corral_call_fail(x->call, CORRAL_EINVAL, "%s: %s%smust be an object", x->file, prefix,
                                *prefix ? " " : "");
    if (check_keys(x, o, prefix, keys, allow_phases ? 3 : 2))
        return -1;
    p->default_action = CRL_EGRESS_DENY;
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(o, "default");
    if (d && action_of(d, &p->default_action) != 0)
        return corral_call_fail(x->call, CORRAL_EINVAL, "%s: %sdefault must be \"allow\" or \"deny\"", x->file,
                                prefix);
    const cJSON *rules = cJSON_GetObjectItemCaseSensitive(o, "rules");
    if (!rules)
        return 0;
    int n = cJSON_GetArraySize(rules);
    if (!cJSON_IsArray(rules) || n > MAX_RULES)
        return corral_call_fail(x->call, CORRAL_EINVAL, "%s: %srules must be an array of at most %d rules", x->file,
                                prefix, MAX_RULES);
    if (n == 0)
        return 0;
    if (!(p->rules = calloc((size_t)n, sizeof *p->rules)))
        return corral_call_fail(x->call, CORRAL_ENOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        struct crl_egress_rule *r = &p->rules[i];
        p->n++;
        snprintf(r->name, sizeof r->name, "%srules[%d]", prefix, i);
        if (read_rule(x, cJSON_GetArrayItem(rules, i), (size_t)i, r))
            return -1;
    }
    for (size_t i = 0; i < p->n; i++)
        for (size_t j = i + 1; j < p->n; j++) {
            const struct crl_egress_rule *a = &p->rules[i], *b = &p->rules[j];
            if (a->priority == b->priority && rules_overlap(a, b) &&
                (a->action != b->action || a->rate_limit_rpm != b->rate_limit_rpm))
                return corral_call_fail(x->call, CORRAL_EINVAL,
                                        "%s: %s and %s conflict: both priority %lld, they can match the same "
                                        "request and say different things (give them different priorities)",
                                        x->file, a->name, b->name, (long long)a->priority);
        }
    /* insertion sort, stable: equal priorities keep file order */
    for (size_t i = 1; i < p->n; i++)
        for (size_t j = i; j > 0 && p->rules[j - 1].priority > p->rules[j].priority; j--) {
            struct crl_egress_rule t = p->rules[j];
            p->rules[j] = p->rules[j - 1];
            p->rules[j - 1] = t;
        }
    return 0;
}

int crl_egress_from_json(const cJSON *obj, const char *file, enum crl_egress_origin origin, struct crl_egress *out,
                         struct corral_call *call)
{
    struct reader x = {file ? file : "egress policy", origin, call};
    memset(out, 0, sizeof *out);
    int r = read_policy(&x, obj, "", &out->all, 1);
    const cJSON *ph = r ? NULL : cJSON_GetObjectItemCaseSensitive(obj, "phases");
    if (ph && !cJSON_IsObject(ph))
        r = corral_call_fail(call, CORRAL_EINVAL, "%s: phases must be an object of setup, agent, verify", x.file);
    const cJSON *it;
    if (ph && !r)
        cJSON_ArrayForEach(it, ph) {
            int p = 0;
            while (p < CRL_EGRESS_NPHASES && strcmp(it->string, phase_names[p]) != 0)
                p++;
            if (p == CRL_EGRESS_NPHASES) {
                r = corral_call_fail(call, CORRAL_EINVAL, "%s: phases: unknown phase \"%s\" (setup, agent, verify)",
                                     x.file, it->string);
                break;
            }
            char prefix[32];
            snprintf(prefix, sizeof prefix, "phases.%s.", phase_names[p]);
            out->has_own[p] = 1;
            if ((r = read_policy(&x, it, prefix, &out->own[p], 0)))
                break;
        }
    if (r) {
        crl_egress_free(out);
        return r;
    }
    out->present = 1;
    return 0;
}

int crl_egress_load_file(const char *path, enum crl_egress_origin origin, struct crl_egress *out,
                         struct corral_call *call)
{
    memset(out, 0, sizeof *out);
    int err = 0;
    size_t len = 0;
    char *text = crl_read_file_max(path, EGRESS_FILE_MAX, &len, &err);
    if (!text)
        return corral_call_fail(call, CORRAL_EINVAL, "%s: %s", path, crl_file_strerror(err));
    const char *end = NULL;
    cJSON *j = strlen(text) == len ? cJSON_ParseWithOpts(text, &end, 1) : NULL; /* no NUL inside */
    free(text);
    if (!j)
        return corral_call_fail(call, CORRAL_EINVAL, "%s: not valid JSON", path);
    int r = crl_egress_from_json(j, path, origin, out, call);
    cJSON_Delete(j);
    return r;
}
