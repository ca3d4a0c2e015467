/* HF wire helpers: JobInfo, the sandbox server's exec reply, quoting.  No
 * host services, so the fuzz targets link this file alone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include <corral/plugin.h>

#include "hf.h"

int hf_parse_job(const char *body, size_t len, const void *obj, struct hf_job *out)
{
    memset(out, 0, sizeof *out);
    cJSON *owned = obj ? NULL : cJSON_ParseWithLength(body, len);
    const cJSON *j = obj ? obj : owned;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "status"), "stage");
    if (!cJSON_IsString(id) || !cJSON_IsString(st) || !id->valuestring[0]) {
        cJSON_Delete(owned);
        return -1;
    }
    out->id = strdup(id->valuestring);
    out->stage = strdup(st->valuestring);
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(j, "labels");
    size_t n = cJSON_IsObject(labels) ? (size_t)cJSON_GetArraySize(labels) : 0;
    out->labels = calloc(n + 1, sizeof *out->labels);
    size_t k = 0;
    for (const cJSON *l = n ? labels->child : NULL; l; l = l->next)
        if (cJSON_IsString(l) && l->string) {
            size_t sz = strlen(l->string) + strlen(l->valuestring) + 2;
            out->labels[k] = malloc(sz);
            snprintf(out->labels[k++], sz, "%s=%s", l->string, l->valuestring);
        }
    cJSON_Delete(owned);
    return 0;
}

void hf_job_free(struct hf_job *j)
{
    free(j->id);
    free(j->stage);
    for (char **l = j->labels; l && *l; l++)
        free(*l);
    free(j->labels);
    memset(j, 0, sizeof *j);
}

int hf_stage_done(const char *s)
{
    return strcmp(s, "COMPLETED") == 0 || strcmp(s, "CANCELED") == 0 || strcmp(s, "ERROR") == 0 ||
           strcmp(s, "DELETED") == 0;
}

int hf_parse_exec(const char *body, size_t len, struct hf_exec *out)
{
    memset(out, 0, sizeof *out);
    cJSON *j = cJSON_ParseWithLength(body, len);
    const cJSON *rc = cJSON_GetObjectItemCaseSensitive(j, "rc");
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(j, "stdout");
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "stderr");
    if (!cJSON_IsNumber(rc) || rc->valuedouble < -1e6 || rc->valuedouble > 1e6) {
        cJSON_Delete(j);
        return -1;
    }
    out->rc = (int)rc->valuedouble;
    out->out = strdup(cJSON_IsString(o) ? o->valuestring : "");
    out->err = strdup(cJSON_IsString(e) ? e->valuestring : "");
    cJSON_Delete(j);
    return 0;
}

void hf_exec_free(struct hf_exec *e)
{
    free(e->out);
    free(e->err);
    memset(e, 0, sizeof *e);
}

int hf_shquote_append(char **buf, size_t *len, const char *s)
{
    size_t extra = 2;
    for (const char *c = s; *c; c++)
        extra += *c == '\'' ? 4 : 1;
    char *n = realloc(*buf, *len + extra + 1);
    if (!n)
        return -1;
    char *w = n + *len;
    *w++ = '\'';
    for (const char *c = s; *c; c++) {
        if (*c == '\'') {
            memcpy(w, "'\\''", 4);
            w += 4;
        } else {
            *w++ = *c;
        }
    }
    *w++ = '\'';
    *w = '\0';
    *buf = n;
    *len = (size_t)(w - n);
    return 0;
}

int hf_env_name(const char *s, size_t n)
{
    if (n == 0 || (s[0] >= '0' && s[0] <= '9'))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '_'))
            return 0;
    return 1;
}

/* Call fn for each JSON object line of an NDJSON body. */
static int each_line(const char *body, size_t len, int (*fn)(const cJSON *, void *), void *ud)
{
    size_t i = 0;
    while (i < len) {
        const char *nl = memchr(body + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - body) : len;
        cJSON *j = cJSON_ParseWithLength(body + i, end - i);
        int r = cJSON_IsObject(j) ? fn(j, ud) : 0;
        cJSON_Delete(j);
        if (r)
            return r;
        i = end + 1;
    }
    return 0;
}

static int exit_cb(const cJSON *j, void *ud)
{
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(j, "event");
    if (!cJSON_IsString(ev) || strcmp(ev->valuestring, "exit") != 0)
        return 0;
    struct hf_exit *e = ud;
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "exit_code");
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "signal");
    e->exit_code = cJSON_IsNumber(c) && c->valuedouble >= 0 && c->valuedouble < 1e6 ? (int)c->valuedouble : -1;
    e->signal = cJSON_IsNumber(s) && s->valuedouble > 0 && s->valuedouble < 128 ? (int)s->valuedouble : 0;
    e->timed_out = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "timed_out"));
    return 1;
}

int hf_parse_ndjson_exit(const char *body, size_t len, struct hf_exit *out)
{
    memset(out, 0, sizeof *out);
    return body && each_line(body, len, exit_cb, out) == 1 ? 0 : -1;
}

struct out_ud {
    const struct corral_sink *out, *err;
    int rc;
};

static int out_cb(const cJSON *j, void *ud)
{
    struct out_ud *o = ud;
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(j, "event");
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "data");
    if (!cJSON_IsString(ev) || !cJSON_IsString(d))
        return 0;
    const struct corral_sink *s = strcmp(ev->valuestring, "stdout") == 0   ? o->out
                                  : strcmp(ev->valuestring, "stderr") == 0 ? o->err
                                                                           : NULL;
    if (s && d->valuestring[0]) {
        int r = s->write(s->ud, d->valuestring, strlen(d->valuestring));
        if (r < 0) {
            o->rc = r;
            return 1;
        }
    }
    return 0;
}

int hf_ndjson_output(const char *body, size_t len, const struct corral_sink *out, const struct corral_sink *err)
{
    struct out_ud o = {out, err, 0};
    if (body)
        each_line(body, len, out_cb, &o);
    return o.rc;
}
