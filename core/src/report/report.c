/*
 * Reading RolloutResult JSONL and merging it: one row per (task digest,
 * attempt), the latest result winning (docs/report.md, "Merging").
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crl_common.h"
#include "report/report_internal.h"

corral_report *corral_report_new(void)
{
    return calloc(1, sizeof(corral_report));
}

static void input_free(struct crl_report_input *in)
{
    for (size_t i = 0; i < in->n_skipped; i++)
        free(in->skipped[i].why);
    free(in->skipped);
    free(in->name);
}

void corral_report_free(corral_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->rows[i].key);
        free(r->rows[i].json);
        cJSON_Delete(r->rows[i].doc);
    }
    for (size_t i = 0; i < r->n_inputs; i++)
        input_free(&r->inputs[i]);
    free(r->inputs);
    free(r->rows);
    free(r->slots);
    free(r);
}

size_t corral_report_count(const corral_report *r)
{
    return r ? r->n : 0;
}

const char *corral_report_result_json(const corral_report *r, size_t i)
{
    return r && i < r->n ? r->rows[i].json : NULL;
}

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* The slot of `key`: where it is, or the empty slot where it would go. */
static size_t *slot_of(const corral_report *r, const char *key)
{
    size_t i = (size_t)(hash(key) & (r->n_slots - 1));
    while (r->slots[i] && strcmp(r->rows[r->slots[i] - 1].key, key) != 0)
        i = (i + 1) & (r->n_slots - 1);
    return &r->slots[i];
}

static int grow_slots(corral_report *r)
{
    if (r->n_slots && (r->n + 1) * 2 <= r->n_slots)
        return 0;
    size_t ns = r->n_slots ? r->n_slots * 2 : 64;
    size_t *s = calloc(ns, sizeof *s);
    if (!s)
        return -1;
    free(r->slots);
    r->slots = s;
    r->n_slots = ns;
    for (size_t i = 0; i < r->n; i++)
        *slot_of(r, r->rows[i].key) = i + 1;
    return 0;
}

/* The merge key of a result (malloc'ed), or NULL when it is not a result. */
static char *row_key(const cJSON *doc, const char **why)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(doc, "rollout_id");
    if (!cJSON_IsObject(doc) || !cJSON_IsString(id)) {
        *why = "not a RolloutResult (a JSON object with a \"rollout_id\" string)";
        return NULL;
    }
    const cJSON *dg = cJSON_GetObjectItemCaseSensitive(doc, "task_digest");
    const cJSON *at = cJSON_GetObjectItemCaseSensitive(doc, "attempt");
    char *k = NULL;
    int n;
    if (cJSON_IsString(dg) && cJSON_IsNumber(at) && at->valuedouble >= 0 && at->valuedouble <= 1e9)
        n = asprintf(&k, "%s#%.0f", dg->valuestring, at->valuedouble);
    else
        n = asprintf(&k, "rollout:%s", id->valuestring);
    *why = "out of memory";
    return n < 0 ? NULL : k;
}

/* Add one parsed row; takes `key`, `json` and `doc`. */
static int add_row(corral_report *r, char *key, char *json, cJSON *doc)
{
    if (grow_slots(r)) {
        free(key), free(json), cJSON_Delete(doc);
        return CORRAL_ENOMEM;
    }
    size_t *slot = slot_of(r, key);
    if (*slot) {
        struct crl_report_row *old = &r->rows[*slot - 1];
        free(old->key), free(old->json), cJSON_Delete(old->doc);
        *old = (struct crl_report_row){key, json, doc};
        r->duplicates++;
        return 0;
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        struct crl_report_row *rows = realloc(r->rows, cap * sizeof *rows);
        if (!rows) {
            free(key), free(json), cJSON_Delete(doc);
            return CORRAL_ENOMEM;
        }
        r->rows = rows;
        r->cap = cap;
    }
    r->rows[r->n++] = (struct crl_report_row){key, json, doc};
    *slot = r->n;
    return 0;
}

/* Parsed lines of one input before they are merged (all or none). */
struct pending {
    char **keys, **json;
    cJSON **docs;
    size_t n, cap;
};

static void pending_free(struct pending *p, size_t from)
{
    for (size_t i = from; i < p->n; i++)
        free(p->keys[i]), free(p->json[i]), cJSON_Delete(p->docs[i]);
    free(p->keys), free(p->json), free(p->docs);
}

static int pending_push(struct pending *p, char *key, char *json, cJSON *doc)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        char **k = realloc(p->keys, cap * sizeof *k);
        if (k)
            p->keys = k;
        char **j = realloc(p->json, cap * sizeof *j);
        if (j)
            p->json = j;
        cJSON **d = realloc(p->docs, cap * sizeof *d);
        if (d)
            p->docs = d;
        if (!k || !j || !d)
            return -1;
        p->cap = cap;
    }
    p->keys[p->n] = key, p->json[p->n] = json, p->docs[p->n] = doc;
    p->n++;
    return 0;
}

/* The whole input as one JSON object when it is one spread over several
 * lines (`corral run` writes a lone rollout's result indented) and its first
 * line is not JSON on its own; else NULL (read line by line). */
static cJSON *whole_document(const char *data, size_t len)
{
    size_t b = 0;
    while (b < len && (data[b] == ' ' || data[b] == '\t' || data[b] == '\r' || data[b] == '\n'))
        b++;
    const char *nl = b < len && data[b] == '{' ? memchr(data + b, '\n', len - b) : NULL;
    if (!nl || memchr(data, '\0', len))
        return NULL;
    char *first = strndup(data + b, (size_t)(nl - data - b));
    cJSON *alone = first ? cJSON_Parse(first) : NULL;
    free(first);
    if (alone) {
        cJSON_Delete(alone);
        return NULL;
    }
    const char *end = NULL;
    cJSON *doc = cJSON_ParseWithLengthOpts(data + b, len - b, &end, 0);
    while (doc && end < data + len && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
        end++;
    if (doc && (end != data + len || !cJSON_IsObject(doc))) {
        cJSON_Delete(doc);
        doc = NULL;
    }
    return doc;
}

int corral_report_add(corral_report *r, const char *name, const char *data, size_t len, struct corral_call *call)
{
    if (!r || (!data && len))
        return corral_call_fail(call, CORRAL_EINVAL, "report: no report or no data");
    name = name ? name : "-";
    struct crl_report_input in = {.name = strdup(name)};
    struct pending p = {0};
    int st = in.name ? 0 : corral_call_fail(call, CORRAL_ENOMEM, "report: out of memory");
    size_t line = 0;
    cJSON *whole = st ? NULL : whole_document(data, len);
    if (whole) {
        const char *why = NULL;
        char *key = row_key(whole, &why), *text = cJSON_PrintUnformatted(whole);
        if (!key || !text || pending_push(&p, key, text, whole)) {
            int oom = key != NULL || strcmp(why, "out of memory") == 0;
            free(key), free(text), cJSON_Delete(whole);
            st = oom ? corral_call_fail(call, CORRAL_ENOMEM, "report: out of memory")
                     : corral_call_fail(call, CORRAL_EINVAL, "%s:1: %s", name, why);
        } else {
            in.results++;
        }
        len = 0; /* read: no lines left */
        line = 1;
    }
    for (size_t off = 0; !st && off < len;) {
        const char *s = data + off, *nl = memchr(s, '\n', len - off);
        size_t n = nl ? (size_t)(nl - s) : len - off;
        off += n + (nl ? 1 : 0);
        line++;
        size_t b = 0;
        while (b < n && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r'))
            b++;
        if (b == n)
            continue; /* blank */
        char *text = strndup(s, n);
        if (!text) {
            st = corral_call_fail(call, CORRAL_ENOMEM, "report: out of memory");
            break;
        }
        const char *end = NULL;
        cJSON *doc = memchr(s, '\0', n) ? NULL : cJSON_ParseWithOpts(text, &end, 1);
        if (!doc && !nl) {
            struct crl_report_skip *sk = realloc(in.skipped, (in.n_skipped + 1) * sizeof *sk);
            char *why = strdup("torn last line: no newline at its end and not complete JSON");
            if (sk)
                in.skipped = sk;
            if (!sk || !why) {
                free(why), free(text);
                st = corral_call_fail(call, CORRAL_ENOMEM, "report: out of memory");
                break;
            }
            in.skipped[in.n_skipped++] = (struct crl_report_skip){line, why};
            free(text);
            continue;
        }
        if (!doc) {
            free(text);
            st = corral_call_fail(call, CORRAL_EINVAL, "%s:%zu: not JSON", name, line);
            break;
        }
        const char *why = NULL;
        char *key = row_key(doc, &why);
        if (!key || pending_push(&p, key, text, doc)) {
            int oom = key != NULL || strcmp(why, "out of memory") == 0;
            free(key), free(text), cJSON_Delete(doc);
            st = oom ? corral_call_fail(call, CORRAL_ENOMEM, "report: out of memory")
                     : corral_call_fail(call, CORRAL_EINVAL, "%s:%zu: %s", name, line, why);
            break;
        }
        in.results++;
    }
    in.lines = line;
    struct crl_report_input *ins = st ? NULL : realloc(r->inputs, (r->n_inputs + 1) * sizeof *ins);
    if (!st && !ins)
        st = corral_call_fail(call, CORRAL_ENOMEM, "report: out of memory");
    if (st) {
        pending_free(&p, 0);
        input_free(&in);
        return st;
    }
    r->inputs = ins;
    r->inputs[r->n_inputs++] = in;
    size_t i = 0;
    for (; !st && i < p.n; i++)
        st = add_row(r, p.keys[i], p.json[i], p.docs[i]);
    pending_free(&p, i);
    return st ? corral_call_fail(call, st, "report: out of memory") : 0;
}

int corral_report_add_file(corral_report *r, const char *path, struct corral_call *call)
{
    size_t len = 0;
    int err = 0;
    char *data = crl_read_file(path, &len, &err);
    if (!data)
        return corral_call_fail(call, CORRAL_EIO, "%s: %s", path, crl_file_strerror(err));
    int st = corral_report_add(r, path, data, len, call);
    free(data);
    return st;
}
