/*
 * Gateway profiles for inline egress policies: made before the sandbox,
 * removed after it (and on every failure path), never touched when the
 * profile was named in config/options.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "islo.h"

static int ok2xx(const struct corral_http_response *r)
{
    return r->status >= 200 && r->status < 300;
}

int islo_profile_delete(struct islo *p, const char *profile_id, corral_call *call)
{
    const struct corral_host *h = p->host;
    char path[512] = "gateway/profiles/";
    if (corral_url_escape(path, sizeof path, profile_id, NULL))
        return h->fail(call, CORRAL_EINVAL, "islo: profile id too long");
    int64_t end = h->now_ms() + p->profile_delete_timeout_ms;
    int64_t wait = 100;
    for (;;) {
        struct corral_http_response resp;
        struct islo_req r = {.hostsel = ISLO_CONTROL, .method = "DELETE", .path = path};
        int rc = islo_http(p, &r, &resp, call);
        long st = resp.status;
        if (rc == 0 && (ok2xx(&resp) || st == 404)) {
            h->http_response_free(&resp);
            return 0;
        }
        /* 409: a sandbox being torn down still uses it (teardown is async);
         * 5xx and 429 (past the host's own retries) and transport errors
         * are transient too: giving up on them leaks the profile, since the
         * next gc finds the sandbox gone and forgets it. */
        int again = (rc == 0 && (st == 409 || st == 429 || st >= 500)) || corral_status_is_transient(rc);
        if (!again || h->now_ms() + wait > end) {
            if (rc == 0)
                rc = islo_fail_http(p, &resp, "deleting gateway profile", call);
            h->http_response_free(&resp);
            h->log(h, CORRAL_LOG_WARN, "islo: gateway profile %s could not be deleted", profile_id);
            return rc;
        }
        h->http_response_free(&resp);
        if ((rc = islo_sleep(p, wait, call)) != 0)
            return rc;
        if (wait < 2000)
            wait *= 2;
    }
}

void islo_profile_name(char *buf, size_t cap, const char *sandbox)
{
    snprintf(buf, cap, "corral-%s", sandbox);
}

char *islo_profile_find(struct islo *p, const char *name, corral_call *call)
{
    struct corral_http_response resp;
    struct islo_req l = {.hostsel = ISLO_CONTROL, .method = "GET", .path = "gateway/profiles"};
    char *found = NULL;
    if (islo_http(p, &l, &resp, call) == 0 && ok2xx(&resp)) {
        cJSON *j = cJSON_ParseWithLength(resp.body, resp.body_len);
        const cJSON *it;
        cJSON_ArrayForEach(it, j)
        {
            const cJSON *n = cJSON_GetObjectItemCaseSensitive(it, "name");
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");
            if (!found && cJSON_IsString(n) && strcmp(n->valuestring, name) == 0 && cJSON_IsString(id))
                found = strdup(id->valuestring);
        }
        cJSON_Delete(j);
    }
    p->host->http_response_free(&resp);
    return found;
}

/* "gateway/profiles/<id>" + tail into path; -1 when it does not fit. */
static int profile_path(char *path, size_t cap, const char *profile_id, const char *tail)
{
    snprintf(path, cap, "gateway/profiles/");
    size_t room = cap - strlen(tail);
    if (room <= strlen(path) || corral_url_escape(path, room, profile_id, NULL))
        return -1;
    strcat(path, tail);
    return 0;
}

/* Add pol's rules to the profile in order, priorities (i+1)*10. */
static int add_rules(struct islo *p, const char *profile_id, const struct islo_policy *pol, corral_call *call)
{
    const struct corral_host *h = p->host;
    char path[512];
    if (profile_path(path, sizeof path, profile_id, "/rules"))
        return h->fail(call, CORRAL_EINVAL, "islo: profile id too long");
    int rc = 0;
    for (size_t i = 0; i < pol->n_rules && rc == 0; i++) {
        struct corral_http_response resp;
        char *rb = islo_rule_body(&pol->rules[i], (int)(i + 1) * 10);
        struct islo_req rr = {.hostsel = ISLO_CONTROL, .method = "POST", .path = path, .json = rb};
        rc = islo_http(p, &rr, &resp, call);
        free(rb);
        if (rc == 0 && !ok2xx(&resp)) {
            char what[96];
            snprintf(what, sizeof what, "adding gateway rule %zu (%.40s)", i + 1, pol->rules[i].host);
            rc = islo_fail_http(p, &resp, what, call);
        }
        h->http_response_free(&resp);
    }
    return rc;
}

/* PATCH the profile's default action. */
static int set_default(struct islo *p, const char *profile_id, const char *action, corral_call *call)
{
    char path[512];
    if (profile_path(path, sizeof path, profile_id, ""))
        return p->host->fail(call, CORRAL_EINVAL, "islo: profile id too long");
    char body[64];
    snprintf(body, sizeof body, "{\"default_action\":\"%s\"}", strcmp(action, "allow") ? "deny" : "allow");
    struct corral_http_response resp;
    struct islo_req r = {.hostsel = ISLO_CONTROL, .method = "PATCH", .path = path, .json = body};
    int rc = islo_http(p, &r, &resp, call);
    if (rc == 0 && !ok2xx(&resp))
        rc = islo_fail_http(p, &resp, "changing the gateway profile's default action", call);
    p->host->http_response_free(&resp);
    return rc;
}

/* Delete every rule the profile has now. */
static int drop_rules(struct islo *p, const char *profile_id, corral_call *call)
{
    const struct corral_host *h = p->host;
    char path[512];
    if (profile_path(path, sizeof path, profile_id, ""))
        return h->fail(call, CORRAL_EINVAL, "islo: profile id too long");
    struct corral_http_response resp;
    struct islo_req g = {.hostsel = ISLO_CONTROL, .method = "GET", .path = path};
    int rc = islo_http(p, &g, &resp, call);
    if (rc == 0 && !ok2xx(&resp))
        rc = islo_fail_http(p, &resp, "reading the gateway profile", call);
    cJSON *j = rc == 0 ? cJSON_ParseWithLength(resp.body, resp.body_len) : NULL;
    h->http_response_free(&resp);
    const cJSON *rules = cJSON_GetObjectItemCaseSensitive(j, "rules");
    if (rc == 0 && !cJSON_IsArray(rules))
        rc = h->fail(call, CORRAL_EPROTO, "islo: gateway profile %s answered without its rules", profile_id);
    const cJSON *it;
    cJSON_ArrayForEach(it, rules)
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");
        char rp[768];
        if (rc)
            break;
        if (!cJSON_IsString(id) || profile_path(rp, sizeof rp - 256, profile_id, "/rules/") ||
            corral_url_escape(rp, sizeof rp, id->valuestring, NULL)) {
            rc = h->fail(call, CORRAL_EPROTO, "islo: gateway profile %s lists a rule without a usable id", profile_id);
            break;
        }
        struct islo_req d = {.hostsel = ISLO_CONTROL, .method = "DELETE", .path = rp};
        rc = islo_http(p, &d, &resp, call);
        if (rc == 0 && !ok2xx(&resp) && resp.status != 404)
            rc = islo_fail_http(p, &resp, "deleting a gateway rule", call);
        h->http_response_free(&resp);
    }
    cJSON_Delete(j);
    return rc;
}

int islo_profile_update(struct islo *p, const char *profile_id, const char *policy_json, corral_call *call)
{
    struct islo_policy pol;
    char err[256];
    if (islo_policy_parse(policy_json, &pol, err, sizeof err))
        return p->host->fail(call, CORRAL_EINVAL, "islo: egress policy: %s", err);
    /* deny everything first, so that the profile is never wider than
     * either policy while its rules change */
    int rc = set_default(p, profile_id, "deny", call);
    if (rc == 0)
        rc = drop_rules(p, profile_id, call);
    if (rc == 0)
        rc = add_rules(p, profile_id, &pol, call);
    if (rc == 0)
        rc = set_default(p, profile_id, pol.default_action, call);
    islo_policy_free(&pol);
    return rc;
}

int islo_profile_create(struct islo *p, const char *name, const char *policy_json, char **profile_id,
                        int *internet, corral_call *call)
{
    const struct corral_host *h = p->host;
    *profile_id = NULL;
    struct islo_policy pol;
    char err[256];
    if (islo_policy_parse(policy_json, &pol, err, sizeof err))
        return h->fail(call, CORRAL_EINVAL, "islo: egress policy: %s", err);
    *internet = pol.internet;

    cJSON *b = cJSON_CreateObject();
    char pname[160];
    islo_profile_name(pname, sizeof pname, name);
    cJSON_AddStringToObject(b, "name", pname);
    cJSON_AddStringToObject(b, "description", "corral inline egress policy (deleted with its sandbox)");
    cJSON_AddStringToObject(b, "default_action", pol.default_action);
    cJSON_AddBoolToObject(b, "internet_enabled", pol.internet);
    char *body = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    struct corral_http_response resp;
    /* Not retried blindly: a lost answer would leave an unknown profile. */
    struct islo_req r = {.hostsel = ISLO_CONTROL, .method = "POST", .path = "gateway/profiles", .json = body,
                         .attempts = 1};
    int rc = islo_http(p, &r, &resp, call);
    free(body);
    if (rc == 0 && !ok2xx(&resp))
        rc = islo_fail_http(p, &resp, "creating gateway profile", call);
    if (rc == 0) {
        cJSON *j = cJSON_ParseWithLength(resp.body, resp.body_len);
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
        if (cJSON_IsString(id) && id->valuestring[0])
            *profile_id = strdup(id->valuestring);
        else
            rc = h->fail(call, CORRAL_EPROTO, "islo: gateway profile created without an id");
        cJSON_Delete(j);
    }
    h->http_response_free(&resp);
    if (rc) {
        /* The answer may have been lost after the profile was made (the
         * host then reports it transient and never resends the POST): our
         * name is unique, so a profile of that name is ours. */
        char *found = islo_profile_find(p, pname, call);
        if (found && (rc == CORRAL_ESTATE || corral_status_is_transient(rc))) {
            h->log(h, CORRAL_LOG_INFO, "islo: adopting gateway profile %s after a lost answer", found);
            *profile_id = found;
            rc = 0;
        } else if (found) {
            h->log(h, CORRAL_LOG_INFO, "islo: removing half-made gateway profile %s", found);
            islo_profile_delete(p, found, call);
            free(found);
        }
    }
    if (rc) {
        islo_policy_free(&pol);
        return rc;
    }

    rc = add_rules(p, *profile_id, &pol, call);
    islo_policy_free(&pol);
    if (rc) {
        islo_profile_delete(p, *profile_id, call);
        free(*profile_id);
        *profile_id = NULL;
        return rc;
    }
    return 0;
}
