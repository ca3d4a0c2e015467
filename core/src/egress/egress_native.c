/* One phase's policy rendered for a backend that enforces it natively
 * (spec.egress_json, the set_egress op): the policy language of
 * docs/egress.md without phases, every rule with its priority and its
 * name in the source file so that a backend refusing it can say which. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "egress/egress.h"

/* The methods of a rule's bit set as a JSON array of names. */
static cJSON *methods_json(unsigned bits)
{
    cJSON *a = cJSON_CreateArray();
    const char *p = CRL_EGRESS_METHODS;
    for (unsigned bit = 1; a && *p; bit <<= 1) {
        const char *e = strchr(p, ' ');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char m[16];
        memcpy(m, p, len);
        m[len] = '\0';
        if (bits & bit)
            cJSON_AddItemToArray(a, cJSON_CreateString(m));
        p += len + (e ? 1 : 0);
    }
    return a;
}

char *crl_egress_native_json(const struct crl_egress_policy *pol, const char *gate_host)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "default", pol->default_action == CRL_EGRESS_ALLOW ? "allow" : "deny");
    cJSON *rules = cJSON_AddArrayToObject(o, "rules");
    if (rules && gate_host && *gate_host) { /* the gate is never subject to the policy */
        cJSON *g = cJSON_CreateObject();
        cJSON_AddItemToArray(rules, g);
        cJSON_AddStringToObject(g, "name", "gate");
        cJSON_AddStringToObject(g, "host_pattern", gate_host);
        cJSON_AddStringToObject(g, "action", "allow");
        cJSON_AddNumberToObject(g, "priority", -1);
    }
    for (size_t i = 0; rules && i < pol->n; i++) {
        const struct crl_egress_rule *r = &pol->rules[i];
        cJSON *j = cJSON_CreateObject();
        cJSON_AddItemToArray(rules, j);
        cJSON_AddStringToObject(j, "name", r->name);
        cJSON_AddStringToObject(j, "host_pattern", r->host_pattern);
        cJSON_AddStringToObject(j, "action", r->action == CRL_EGRESS_ALLOW ? "allow" : "deny");
        cJSON_AddNumberToObject(j, "priority", (double)r->priority);
        if (r->methods)
            cJSON_AddItemToObject(j, "methods", methods_json(r->methods));
        if (r->path_pattern)
            cJSON_AddStringToObject(j, "path_pattern", r->path_pattern);
        if (r->rate_limit_rpm)
            cJSON_AddNumberToObject(j, "rate_limit_rpm", (double)r->rate_limit_rpm);
    }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}
