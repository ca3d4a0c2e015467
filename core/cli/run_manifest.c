/*
 * The manifest of a results file (docs/batches.md "Resume"): FILE.manifest
 * next to `corral run --out FILE` records the options that change what a
 * rollout does and the digests of the batch's tasks, so that --resume
 * refuses to mix results of two different runs in one file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run_results.h"

#define MANIFEST_FORMAT 1

/* Compare strings for qsort. */
static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

cJSON *cli_manifest_new(const struct cli_manifest_options *m, char *const *digests, size_t n)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "corral_batch_manifest", MANIFEST_FORMAT);
    cJSON *o = cJSON_AddObjectToObject(j, "options");
#define STR(k, v) ((v) ? cJSON_AddStringToObject(o, k, v) : cJSON_AddNullToObject(o, k))
    STR("agent", m->agent);
    STR("sandbox", m->sandbox);
    STR("model", m->model);
    STR("model_name", m->model_name);
    STR("image", m->image);
    STR("verify_in", m->verify_in);
#undef STR
    cJSON_AddNumberToObject(o, "timeout_s", (double)m->timeout_s);
    cJSON_AddNumberToObject(o, "timeout_multiplier", m->timeout_multiplier);
    cJSON_AddNumberToObject(o, "agent_timeout_multiplier", m->agent_timeout_multiplier);
    cJSON_AddNumberToObject(o, "verifier_timeout_multiplier", m->verifier_timeout_multiplier);
    cJSON_AddNumberToObject(o, "agent_setup_timeout_multiplier", m->agent_setup_timeout_multiplier);
    cJSON_AddNumberToObject(o, "upstream_max_tokens", (double)m->upstream_max_tokens);
    cJSON_AddNumberToObject(o, "upstream_max_n", m->upstream_max_n);
    char **sorted = n ? malloc(n * sizeof *sorted) : NULL;
    cJSON *a = cJSON_AddArrayToObject(j, "task_digests");
    if ((n && !sorted) || !a || !o) {
        free(sorted);
        cJSON_Delete(j);
        return NULL;
    }
    if (n)
        memcpy(sorted, digests, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_str);
    for (size_t i = 0; i < n; i++)
        if (i == 0 || strcmp(sorted[i], sorted[i - 1]) != 0)
            cJSON_AddItemToArray(a, cJSON_CreateString(sorted[i]));
    free(sorted);
    return j;
}

/* An option an older manifest lacks counts as unset (null or 0). */
static int unset(const cJSON *w)
{
    return cJSON_IsNull(w) || (cJSON_IsNumber(w) && w->valuedouble == 0);
}

/* A JSON value as short text for a message ("null" when missing). */
static void shown(const cJSON *v, char *buf, size_t cap)
{
    char *t = v ? cJSON_PrintUnformatted(v) : NULL;
    snprintf(buf, cap, "%.120s", t ? t : "(missing)");
    free(t);
}

int cli_manifest_check(const char *have, size_t len, const cJSON *want, char *why, size_t cap)
{
    char *text = have && len && !memchr(have, '\0', len) ? strndup(have, len) : NULL;
    cJSON *h = text ? cJSON_ParseWithOpts(text, NULL, 1) : NULL;
    free(text);
    const cJSON *ho = cJSON_GetObjectItemCaseSensitive(h, "options");
    const cJSON *hv = cJSON_GetObjectItemCaseSensitive(h, "corral_batch_manifest");
    const cJSON *hd = cJSON_GetObjectItemCaseSensitive(h, "task_digests");
    if (!cJSON_IsObject(ho) || !cJSON_IsNumber(hv) || !cJSON_IsArray(hd)) {
        snprintf(why, cap, "not a corral batch manifest");
        cJSON_Delete(h);
        return -1;
    }
    int rc = 0;
    if (hv->valuedouble != MANIFEST_FORMAT) {
        snprintf(why, cap, "manifest format %.0f, this corral writes %d", hv->valuedouble, MANIFEST_FORMAT);
        rc = 1;
    }
    const cJSON *wo = cJSON_GetObjectItemCaseSensitive(want, "options"), *w;
    cJSON_ArrayForEach(w, wo)
    {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(ho, w->string);
        if (!rc && (v ? !cJSON_Compare(v, w, 1) : !unset(w))) {
            char was[128], now[128];
            shown(v, was, sizeof was), shown(w, now, sizeof now);
            snprintf(why, cap, "option %s was %s, is now %s", w->string, was, now);
            rc = 1;
        }
    }
    const cJSON *wd = cJSON_GetObjectItemCaseSensitive(want, "task_digests");
    if (!rc && !cJSON_Compare(hd, wd, 1)) {
        const cJSON *d, *x = NULL;
        cJSON_ArrayForEach(d, wd)
        {
            int found = 0;
            cJSON_ArrayForEach(x, hd) found |= cJSON_Compare(x, d, 1);
            if (!found)
                break;
        }
        snprintf(why, cap, "the tasks changed (%d digests then, %d now%s%.80s)", cJSON_GetArraySize(hd),
                 cJSON_GetArraySize(wd), d ? "; new: " : "", d && cJSON_IsString(d) ? d->valuestring : "");
        rc = 1;
    }
    cJSON_Delete(h);
    return rc;
}
