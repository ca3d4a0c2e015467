/* A corral egress policy (spec.egress_json, set_egress) mapped onto E2B's
 * network model: allowOut (addresses, CIDRs, domains, *.domain) and
 * denyOut (addresses and CIDRs only), where an allowOut entry always wins
 * over a denyOut one.  What that model cannot say is refused naming the
 * rule, never widened (docs/backends/e2b.md, "Egress policies"). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2b.h"

/* One rule of the policy as far as E2B is concerned. */
struct nrule {
    const char *name, *host;
    int allow;
    double priority;
    int cidr;                  /* an address or CIDR (else a domain pattern) */
    int family, prefix;
    unsigned char addr[16];
};

/* Parse an address or CIDR block; 0 when host is one. */
static int parse_cidr(const char *host, struct nrule *r)
{
    char buf[64];
    const char *slash = strchr(host, '/');
    size_t len = slash ? (size_t)(slash - host) : strlen(host);
    if (len >= sizeof buf)
        return -1;
    memcpy(buf, host, len);
    buf[len] = '\0';
    if (inet_pton(AF_INET, buf, r->addr) == 1)
        r->family = AF_INET, r->prefix = 32;
    else if (inet_pton(AF_INET6, buf, r->addr) == 1)
        r->family = AF_INET6, r->prefix = 128;
    else
        return -1;
    if (slash) {
        char *end;
        long v = strtol(slash + 1, &end, 10);
        if (*end || end == slash + 1 || v < 0 || v > r->prefix)
            return -1;
        r->prefix = (int)v;
    }
    return 0;
}

/* 1 when two address rules share an address. */
static int cidrs_overlap(const struct nrule *a, const struct nrule *b)
{
    if (a->family != b->family)
        return 0;
    int bits = a->prefix < b->prefix ? a->prefix : b->prefix;
    int whole = bits / 8, rest = bits % 8;
    if (memcmp(a->addr, b->addr, (size_t)whole) != 0)
        return 0;
    unsigned char mask = (unsigned char)(0xff00 >> rest);
    return rest == 0 || (a->addr[whole] & mask) == (b->addr[whole] & mask);
}

static int refuse(char *err, size_t n, const char *fmt, const char *name, const char *host, const char *what)
{
    char head[160];
    snprintf(head, sizeof head, "egress rule %s (%s)", name, host);
    snprintf(err, n, fmt, head, what);
    return -1;
}

/* Read one rule (index i) into *r; -1 with err on what E2B cannot say. */
static int read_rule(const cJSON *o, int i, struct nrule *r, char *err, size_t n)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
    const cJSON *host = cJSON_GetObjectItemCaseSensitive(o, "host_pattern");
    const cJSON *action = cJSON_GetObjectItemCaseSensitive(o, "action");
    const cJSON *prio = cJSON_GetObjectItemCaseSensitive(o, "priority");
    if (!cJSON_IsString(host) || !cJSON_IsString(action) ||
        (strcmp(action->valuestring, "allow") && strcmp(action->valuestring, "deny")) ||
        (prio && !cJSON_IsNumber(prio))) {
        snprintf(err, n, "egress policy: rules[%d] needs host_pattern, action allow|deny and a numeric priority", i);
        return -1;
    }
    r->name = cJSON_IsString(name) ? name->valuestring : "?";
    r->host = host->valuestring;
    r->allow = strcmp(action->valuestring, "allow") == 0;
    r->priority = prio ? prio->valuedouble : (i + 1) * 10.0;
    r->cidr = parse_cidr(r->host, r) == 0;
    static const char *const unsayable[] = {"methods", "path_pattern", "rate_limit_rpm"};
    for (size_t k = 0; k < sizeof unsayable / sizeof *unsayable; k++)
        if (cJSON_GetObjectItemCaseSensitive(o, unsayable[k]))
            return refuse(err, n, "%s has %s, which E2B's network rules cannot express (refused, not widened); "
                                  "use local or docker, or a host-only rule",
                          r->name, r->host, unsayable[k]);
    if (!r->allow && !r->cidr)
        return refuse(err, n, "%s denies a %s, but E2B's denyOut takes addresses and CIDR blocks only", r->name,
                      r->host, "domain");
    return 0;
}

int e2b_network_from_policy(const char *policy_json, cJSON **network, char *err, size_t n)
{
    *network = NULL;
    cJSON *j = policy_json ? cJSON_Parse(policy_json) : NULL;
    const cJSON *def = cJSON_GetObjectItemCaseSensitive(j, "default");
    const cJSON *rules = cJSON_GetObjectItemCaseSensitive(j, "rules");
    if (!cJSON_IsObject(j) || !cJSON_IsString(def) || (rules && !cJSON_IsArray(rules)) ||
        (strcmp(def->valuestring, "allow") && strcmp(def->valuestring, "deny"))) {
        cJSON_Delete(j);
        snprintf(err, n, "egress policy: expected {\"default\": \"allow\"|\"deny\", \"rules\": [...]}");
        return -1;
    }
    int count = rules ? cJSON_GetArraySize(rules) : 0;
    struct nrule *r = calloc((size_t)count + 1, sizeof *r);
    cJSON *allow = cJSON_CreateArray(), *deny = cJSON_CreateArray();
    int rc = r && allow && deny ? 0 : (snprintf(err, n, "out of memory"), -1);
    int i = 0;
    for (const cJSON *o = rules ? rules->child : NULL; o && rc == 0; o = o->next, i++)
        rc = read_rule(o, i, &r[i], err, n);
    /* E2B lets allowOut win: a deny that outranks an overlapping allow
     * would be overruled.  Names and CIDR rules never match the same
     * request (a rule by name matches the name asked for), so only two
     * address rules can overlap. */
    for (int d = 0; d < count && rc == 0; d++)
        for (int a = 0; a < count && rc == 0 && !r[d].allow; a++)
            if (r[a].allow && r[a].cidr && r[d].priority < r[a].priority && cidrs_overlap(&r[d], &r[a])) {
                char what[200];
                snprintf(what, sizeof what, "allow rule %s (%s)", r[a].name, r[a].host);
                rc = refuse(err, n, "%s outranks the overlapping %s, but on E2B an allowOut entry always wins "
                                    "over denyOut",
                            r[d].name, r[d].host, what);
            }
    if (rc == 0 && strcmp(def->valuestring, "deny") == 0)
        cJSON_AddItemToArray(deny, cJSON_CreateString("0.0.0.0/0"));
    for (int k = 0; k < count && rc == 0; k++)
        cJSON_AddItemToArray(r[k].allow ? allow : deny, cJSON_CreateString(r[k].host));
    if (rc == 0) {
        *network = cJSON_CreateObject();
        cJSON_AddItemToObject(*network, "allowOut", allow);
        cJSON_AddItemToObject(*network, "denyOut", deny);
        allow = deny = NULL;
    }
    cJSON_Delete(allow);
    cJSON_Delete(deny);
    free(r);
    cJSON_Delete(j);
    return rc;
}
