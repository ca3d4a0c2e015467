/*
 * The documents the page embeds (docs/view.md "Embedded data"): the index,
 * read at load, and one detail per result, parsed only when its rollout is
 * opened; and the one writer that makes JSON safe inside <script>.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "view/view_internal.h"

/* The length of s cut to at most max bytes, not inside a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t max)
{
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    return max;
}

/* s cut to max bytes (malloc'ed), with a note of what was cut. */
static char *cut_text(const char *s, size_t len, size_t max)
{
    size_t keep = utf8_cut(s, max);
    char *out = NULL;
    if (asprintf(&out, "%.*s\n[... %zu more bytes cut by corral view]", (int)keep, s, len - keep) < 0)
        return NULL;
    return out;
}

static cJSON *str_or_null(const char *s)
{
    return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static size_t array_len(const cJSON *doc, const char *key)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(doc, key);
    return cJSON_IsArray(a) ? (size_t)cJSON_GetArraySize(a) : 0;
}

/* ["load", "gate", ...]: the keys of the summary's timings_ms, in its order. */
static cJSON *phases_of(const cJSON *summary)
{
    cJSON *a = cJSON_CreateArray(), *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(summary, "timings_ms"))
    {
        cJSON_AddItemToArray(a, cJSON_CreateString(it->string));
    }
    return a;
}

/* One compact row (field order: docs/view.md "Embedded data"). */
static cJSON *row_of(const cJSON *doc, size_t task, const cJSON *phases)
{
    struct crl_report_fact f = crl_report_fact_of(doc);
    cJSON *row = cJSON_CreateArray();
    const cJSON *at = cJSON_GetObjectItemCaseSensitive(doc, "attempt");
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(doc, "error");
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(e, "message");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(doc, "rollout_id");
    const cJSON *agent = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "agent"), "name");
    const cJSON *tm = cJSON_GetObjectItemCaseSensitive(doc, "timings_ms"), *ph;
    cJSON_AddItemToArray(row, cJSON_CreateNumber((double)task));
    cJSON_AddItemToArray(row, cJSON_IsNumber(at) && isfinite(at->valuedouble) ? cJSON_CreateNumber(at->valuedouble)
                                                                                : cJSON_CreateNull());
    cJSON_AddItemToArray(row, f.has_reward ? cJSON_CreateNumber(f.reward) : cJSON_CreateNull());
    cJSON_AddItemToArray(row, cJSON_CreateNumber(f.passed));
    cJSON_AddItemToArray(row, str_or_null(f.err_class));
    cJSON_AddItemToArray(row, str_or_null(f.err_phase));
    char *m = NULL;
    if (cJSON_IsString(msg) && strlen(msg->valuestring) > CRL_VIEW_INDEX_MESSAGE_MAX)
        m = cut_text(msg->valuestring, strlen(msg->valuestring), CRL_VIEW_INDEX_MESSAGE_MAX);
    cJSON_AddItemToArray(row, m ? cJSON_CreateString(m) : str_or_null(cJSON_IsString(msg) ? msg->valuestring : NULL));
    free(m);
    cJSON_AddItemToArray(row, cJSON_CreateNumber((double)array_len(doc, "transcript")));
    cJSON_AddItemToArray(row, cJSON_CreateNumber((double)array_len(doc, "events")));
    cJSON *t = cJSON_CreateArray();
    cJSON_ArrayForEach(ph, phases)
    {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(tm, ph->valuestring);
        cJSON_AddItemToArray(t, cJSON_IsNumber(v) && isfinite(v->valuedouble) ? cJSON_CreateNumber(v->valuedouble)
                                                                              : cJSON_CreateNull());
    }
    cJSON_AddItemToArray(row, t);
    cJSON_AddItemToArray(row, cJSON_CreateString(id->valuestring)); /* the report keeps only results with one */
    cJSON_AddItemToArray(row, str_or_null(cJSON_IsString(agent) ? agent->valuestring : NULL));
    return row;
}

static size_t cut_strings(cJSON *c, size_t max, int *oom);

cJSON *crl_view_index(const corral_report *run, struct crl_report_row **rows, const struct corral_view_options *o,
                      const struct crl_view_limits *lim)
{
    size_t n = corral_report_count(run);
    size_t *task_of = calloc(n ? n : 1, sizeof *task_of);
    cJSON *summary = task_of ? crl_report_summarize(run, task_of) : NULL;
    cJSON *ix = cJSON_CreateObject();
    if (!summary || !ix) {
        free(task_of), cJSON_Delete(summary), cJSON_Delete(ix);
        return NULL;
    }
    cJSON_AddNumberToObject(ix, "v", 1);
    cJSON *r = cJSON_AddObjectToObject(ix, "run");
    cJSON_AddStringToObject(r, "name", o->run_name ? o->run_name : "run");
    cJSON_AddItemToObject(r, "summary", summary);
    cJSON *phases = phases_of(summary);
    cJSON_AddItemToObject(ix, "phases", phases);
    cJSON *a = cJSON_AddArrayToObject(ix, "rows");
    for (size_t i = 0; a && i < n; i++)
        cJSON_AddItemToArray(a, row_of(rows[i]->doc, task_of[i], phases));
    free(task_of);
    if (o->base) {
        cJSON *b = cJSON_AddObjectToObject(ix, "base");
        cJSON_AddStringToObject(b, "name", o->base_name ? o->base_name : "base");
        cJSON_AddItemToObject(b, "summary", crl_report_summarize(o->base, NULL));
    }
    /* Names and ids come from the results too: no text of the index is
     * longer than a rollout's may be.  cJSON's adders report nothing: one
     * print shows whether all went in. */
    int oom = 0;
    cut_strings(ix, lim->text_max, &oom);
    char *probe = oom ? NULL : cJSON_PrintUnformatted(ix);
    if (!probe) {
        cJSON_Delete(ix);
        return NULL;
    }
    free(probe);
    return ix;
}

/* Cut every string (and key) in `c` longer than max; returns how many. */
static size_t cut_strings(cJSON *c, size_t max, int *oom)
{
    size_t n = 0;
    if (c->string && strlen(c->string) > max) {
        char *s = cut_text(c->string, strlen(c->string), max);
        if (!s) {
            *oom = 1;
            return n;
        }
        if (!(c->type & cJSON_StringIsConst))
            free(c->string);
        c->string = s;
        c->type &= ~cJSON_StringIsConst;
        n++;
    }
    if (cJSON_IsString(c) && c->valuestring && strlen(c->valuestring) > max) {
        char *s = cut_text(c->valuestring, strlen(c->valuestring), max);
        if (!s) {
            *oom = 1;
            return n;
        }
        free(c->valuestring);
        c->valuestring = s;
        n++;
    }
    for (cJSON *k = c->child; k && !*oom; k = k->next)
        n += cut_strings(k, max, oom);
    return n;
}

/* Keep the leading entries of array `key` of `r` that fit in *budget (their
 * printed sizes), drop the rest; returns how many were dropped. */
static size_t keep_fitting(cJSON *r, const char *key, size_t *budget, int *oom)
{
    cJSON *a = cJSON_GetObjectItemCaseSensitive(r, key);
    if (!cJSON_IsArray(a))
        return 0;
    size_t kept = 0, dropped = 0, total = (size_t)cJSON_GetArraySize(a);
    for (cJSON *e = a->child; e; e = e->next, kept++) {
        char *p = cJSON_PrintUnformatted(e);
        if (!p) {
            *oom = 1;
            return 0;
        }
        size_t len = strlen(p) + 1;
        free(p);
        if (len > *budget)
            break;
        *budget -= len;
    }
    dropped = total - kept;
    for (size_t i = 0; i < dropped; i++)
        cJSON_DeleteItemFromArray(a, (int)kept);
    return dropped;
}

cJSON *crl_view_detail(const cJSON *result, const struct crl_view_limits *lim, size_t *total)
{
    cJSON *d = cJSON_CreateObject(), *cut = cJSON_CreateObject();
    if (!d || !cut) {
        cJSON_Delete(d), cJSON_Delete(cut);
        return NULL;
    }
    int oom = 0;
    cJSON *r = cJSON_Duplicate(result, 1);
    if (!r) {
        cJSON_Delete(d), cJSON_Delete(cut);
        return NULL;
    }
    size_t texts = cut_strings(r, lim->text_max, &oom);
    /* What is left for calls and events: the cap less the rest of the result. */
    cJSON *tr = cJSON_DetachItemFromObjectCaseSensitive(r, "transcript");
    cJSON *ev = cJSON_DetachItemFromObjectCaseSensitive(r, "events");
    char *rest = cJSON_PrintUnformatted(r);
    size_t budget = rest && strlen(rest) < lim->rollout_max ? lim->rollout_max - strlen(rest) : 0;
    oom |= !rest;
    free(rest);
    if (tr)
        cJSON_AddItemToObject(r, "transcript", tr);
    if (ev)
        cJSON_AddItemToObject(r, "events", ev);
    size_t calls = keep_fitting(r, "transcript", &budget, &oom);
    size_t events = keep_fitting(r, "events", &budget, &oom);
    char *all = oom ? NULL : cJSON_PrintUnformatted(r);
    if (!all) {
        cJSON_Delete(r), cJSON_Delete(d), cJSON_Delete(cut);
        return NULL;
    }
    size_t size = strlen(all);
    free(all);
    if (*total + size > lim->total_max) {
        cJSON_Delete(r);
        r = cJSON_CreateNull();
        cJSON_AddTrueToObject(cut, "omitted");
        cJSON_AddNumberToObject(cut, "total_max", (double)lim->total_max);
    } else {
        *total += size;
        if (texts)
            cJSON_AddNumberToObject(cut, "texts", (double)texts);
        if (calls)
            cJSON_AddNumberToObject(cut, "calls", (double)calls);
        if (events)
            cJSON_AddNumberToObject(cut, "events", (double)events);
        if (texts)
            cJSON_AddNumberToObject(cut, "text_max", (double)lim->text_max);
        if (calls || events)
            cJSON_AddNumberToObject(cut, "rollout_max", (double)lim->rollout_max);
    }
    cJSON_AddItemToObject(d, "r", r);
    cJSON_AddItemToObject(d, "cut", cut);
    return d;
}

int crl_view_put_json(struct crl_buf *b, const cJSON *j)
{
    char *s = cJSON_PrintUnformatted(j);
    if (!s)
        return CORRAL_ENOMEM;
    int bad = 0;
    const char *run = s;
    for (const char *p = s; *p && !bad; p++) {
        const char *esc = NULL;
        size_t skip = 1;
        if (*p == '<')
            esc = "\\u003c";
        else if (*p == '>')
            esc = "\\u003e";
        else if (*p == '&')
            esc = "\\u0026";
        else if ((unsigned char)p[0] == 0xE2 && (unsigned char)p[1] == 0x80 &&
                 ((unsigned char)p[2] == 0xA8 || (unsigned char)p[2] == 0xA9))
            esc = (unsigned char)p[2] == 0xA8 ? "\\u2028" : "\\u2029", skip = 3;
        if (!esc)
            continue;
        bad |= crl_buf_add(b, run, (size_t)(p - run)) | crl_buf_puts(b, esc);
        p += skip - 1;
        run = p + 1;
    }
    bad |= crl_buf_puts(b, run);
    free(s);
    return bad ? CORRAL_ENOMEM : 0;
}
