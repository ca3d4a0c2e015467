/*
 * Reassembly of a same-dialect upstream's SSE answer into the dialect's
 * unstreamed response object, so the transcript's "response" (and ATIF)
 * reads a streamed call like any other (docs/gate-dialects.md,
 * "Same-dialect upstreams").  The SSE framing follows the HTML living
 * standard's event-stream rules: lines end in LF, CRLF or CR; "event:" names
 * the event, "data:" lines join with LF, a blank line dispatches, ":"
 * starts a comment.  Events that are not JSON, or not of the expected
 * shape, are skipped.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <corral/gate.h>

#include "crl_common.h"
#include "gate/gate_sse.h"

#define MAX_BLOCKS 1024

/* ---- the event-stream framing ---------------------------------------- */

typedef void (*on_event)(void *ud, const char *event, const char *data, size_t len);

/* Call fn for each dispatched event of sse[0..len); -1 when out of memory. */
static int sse_each(const char *sse, size_t len, on_event fn, void *ud)
{
    struct crl_buf data = {0};
    char event[64] = "";
    int have = 0, rc = 0;
    size_t i = 0;
    while (i < len && rc == 0) {
        size_t e = i;
        while (e < len && sse[e] != '\n' && sse[e] != '\r')
            e++;
        const char *line = sse + i;
        size_t ll = e - i;
        if (e < len && sse[e] == '\r' && e + 1 < len && sse[e + 1] == '\n')
            e++;
        i = e + 1;
        if (ll == 0) {
            if (have)
                fn(ud, event, data.p ? data.p : "", data.len);
            data.len = 0;
            if (data.p)
                data.p[0] = 0;
            event[0] = 0;
            have = 0;
            continue;
        }
        if (line[0] == ':')
            continue;
        const char *colon = memchr(line, ':', ll);
        size_t nl = colon ? (size_t)(colon - line) : ll;
        const char *v = colon ? colon + 1 : line + ll;
        size_t vl = (size_t)(line + ll - v);
        if (vl && *v == ' ')
            v++, vl--;
        if (nl == 5 && memcmp(line, "event", 5) == 0) {
            size_t n = vl < sizeof event - 1 ? vl : sizeof event - 1;
            memcpy(event, v, n);
            event[n] = 0;
        } else if (nl == 4 && memcmp(line, "data", 4) == 0) {
            if ((have && crl_buf_add(&data, "\n", 1) != 0) || crl_buf_add(&data, v, vl) != 0)
                rc = -1;
            have = 1;
        }
    }
    crl_buf_free(&data);
    return rc; /* an event without its blank line was cut off: not dispatched */
}

static const cJSON *get(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

/* ---- Anthropic Messages ---------------------------------------------- */

struct msg_block {
    cJSON *block;          /* in msg's content */
    const char *key;       /* "text", "thinking" or "input" (partial JSON) */
    struct crl_buf acc;
};

struct msg_state {
    cJSON *msg;
    struct msg_block *b;
    size_t nb;
    int complete, oom;
};

/* Write block k's accumulated text into its object (once, at its stop or
 * at the end of the stream). */
static void msg_flush(struct msg_block *k)
{
    if (!k->key)
        return;
    cJSON *v = NULL;
    if (strcmp(k->key, "input") == 0) {
        v = k->acc.len ? cJSON_ParseWithLength(k->acc.p, k->acc.len) : cJSON_CreateObject();
        if (!v) /* a cut or broken input stays visible as its text */
            v = cJSON_CreateString(k->acc.p);
    } else {
        v = cJSON_CreateString(k->acc.p ? k->acc.p : "");
    }
    if (v) {
        if (get(k->block, k->key))
            cJSON_ReplaceItemInObjectCaseSensitive(k->block, k->key, v);
        else
            cJSON_AddItemToObject(k->block, k->key, v);
    }
    k->key = NULL;
    crl_buf_free(&k->acc);
}

static struct msg_block *msg_block_at(struct msg_state *s, const cJSON *d)
{
    const cJSON *i = get(d, "index");
    if (!cJSON_IsNumber(i) || i->valuedouble < 0 || i->valuedouble >= (double)s->nb)
        return NULL;
    return &s->b[(size_t)i->valuedouble];
}

static void msg_delta_block(struct msg_state *s, const cJSON *d)
{
    struct msg_block *k = msg_block_at(s, d);
    const cJSON *delta = get(d, "delta"), *t = get(delta, "type");
    if (!k || !cJSON_IsString(t))
        return;
    static const char *const kinds[][3] = {{"text_delta", "text", "text"},
                                           {"thinking_delta", "thinking", "thinking"},
                                           {"input_json_delta", "partial_json", "input"}};
    for (size_t n = 0; n < sizeof kinds / sizeof kinds[0]; n++) {
        if (strcmp(t->valuestring, kinds[n][0]) != 0)
            continue;
        const cJSON *piece = get(delta, kinds[n][1]);
        if (!cJSON_IsString(piece))
            return;
        if (!k->key) { /* a block's first delta: start from what content_block_start gave */
            const cJSON *start = get(k->block, kinds[n][2]);
            k->key = kinds[n][2];
            if (cJSON_IsString(start) && crl_buf_puts(&k->acc, start->valuestring) != 0)
                s->oom = 1;
        }
        if (strcmp(k->key, kinds[n][2]) == 0 && crl_buf_puts(&k->acc, piece->valuestring) != 0)
            s->oom = 1;
        return;
    }
    const cJSON *sig = get(delta, "signature");
    if (strcmp(t->valuestring, "signature_delta") == 0 && cJSON_IsString(sig)) {
        cJSON *v = cJSON_CreateString(sig->valuestring);
        if (get(k->block, "signature"))
            cJSON_ReplaceItemInObjectCaseSensitive(k->block, "signature", v);
        else
            cJSON_AddItemToObject(k->block, "signature", v);
    }
}

/* Copy each member of from over to's same-named one, except those named
 * `keep` (NULL: none): a message_delta naming "content", or a Gemini chunk
 * naming "candidates" (twice), must not free what the stream's state
 * points into. */
static void merge_into(cJSON *to, const cJSON *from, const char *keep)
{
    const cJSON *m;
    cJSON_ArrayForEach(m, from)
    {
        if (keep && m->string && strcmp(m->string, keep) == 0)
            continue;
        cJSON *v = cJSON_Duplicate(m, 1);
        if (!v)
            continue;
        if (get(to, m->string))
            cJSON_ReplaceItemInObjectCaseSensitive(to, m->string, v);
        else
            cJSON_AddItemToObject(to, m->string, v);
    }
}

static void msg_event(void *ud, const char *event, const char *data, size_t len)
{
    (void)event; /* each data object carries its own "type" */
    struct msg_state *s = ud;
    cJSON *d = cJSON_ParseWithLength(data, len);
    const cJSON *t = get(d, "type");
    const char *type = cJSON_IsString(t) ? t->valuestring : "";
    if (strcmp(type, "message_start") == 0 && !s->msg && cJSON_IsObject(get(d, "message"))) {
        s->msg = cJSON_Duplicate(get(d, "message"), 1);
        if (s->msg && !cJSON_IsArray(get(s->msg, "content"))) {
            cJSON_DeleteItemFromObjectCaseSensitive(s->msg, "content");
            cJSON_AddArrayToObject(s->msg, "content");
        }
    } else if (!s->msg) {
        /* nothing before message_start counts */
    } else if (strcmp(type, "content_block_start") == 0) {
        const cJSON *i = get(d, "index"), *cb = get(d, "content_block");
        cJSON *content = cJSON_GetObjectItemCaseSensitive(s->msg, "content");
        /* blocks arrive in index order; another index is not ours to guess */
        if (cJSON_IsNumber(i) && i->valuedouble == (double)s->nb && cJSON_IsObject(cb) && s->nb < MAX_BLOCKS &&
            cJSON_GetArraySize(content) == (int)s->nb) {
            struct msg_block *nb = realloc(s->b, (s->nb + 1) * sizeof *nb);
            cJSON *copy = cJSON_Duplicate(cb, 1);
            if (nb)
                s->b = nb;
            if (!nb || !copy) {
                cJSON_Delete(copy);
                s->oom = 1;
            } else {
                cJSON_AddItemToArray(content, copy);
                memset(&s->b[s->nb], 0, sizeof s->b[s->nb]);
                s->b[s->nb++].block = copy;
            }
        }
    } else if (strcmp(type, "content_block_delta") == 0) {
        msg_delta_block(s, d);
    } else if (strcmp(type, "content_block_stop") == 0) {
        struct msg_block *k = msg_block_at(s, d);
        if (k)
            msg_flush(k);
    } else if (strcmp(type, "message_delta") == 0) {
        if (cJSON_IsObject(get(d, "delta")))
            merge_into(s->msg, get(d, "delta"), "content");
        cJSON *u = cJSON_GetObjectItemCaseSensitive(s->msg, "usage");
        if (cJSON_IsObject(get(d, "usage"))) {
            if (cJSON_IsObject(u))
                merge_into(u, get(d, "usage"), NULL);
            else if (!u)
                cJSON_AddItemToObject(s->msg, "usage", cJSON_Duplicate(get(d, "usage"), 1));
        }
    } else if (strcmp(type, "message_stop") == 0) {
        s->complete = 1;
    }
    cJSON_Delete(d);
}

static cJSON *assemble_messages(const char *sse, size_t len, int *complete)
{
    struct msg_state s = {0};
    if (sse_each(sse, len, msg_event, &s) != 0)
        s.oom = 1;
    for (size_t i = 0; i < s.nb; i++) {
        msg_flush(&s.b[i]);
        crl_buf_free(&s.b[i].acc);
    }
    free(s.b);
    if (s.oom) {
        cJSON_Delete(s.msg);
        return NULL;
    }
    *complete = s.complete;
    return s.msg;
}

/* ---- OpenAI Responses ------------------------------------------------- */

struct resp_state {
    cJSON *last;
    int complete;
};

static void resp_event(void *ud, const char *event, const char *data, size_t len)
{
    (void)event;
    struct resp_state *s = ud;
    cJSON *d = cJSON_ParseWithLength(data, len);
    const cJSON *t = get(d, "type");
    cJSON *r = cJSON_GetObjectItemCaseSensitive(d, "response");
    if (cJSON_IsString(t) && strncmp(t->valuestring, "response.", 9) == 0 && cJSON_IsObject(r)) {
        cJSON_Delete(s->last);
        s->last = cJSON_DetachItemViaPointer(d, r);
        const char *n = t->valuestring + 9;
        s->complete = strcmp(n, "completed") == 0 || strcmp(n, "incomplete") == 0 || strcmp(n, "failed") == 0;
    }
    cJSON_Delete(d);
}

static cJSON *assemble_responses(const char *sse, size_t len, int *complete)
{
    struct resp_state s = {0};
    if (sse_each(sse, len, resp_event, &s) != 0) {
        cJSON_Delete(s.last);
        return NULL;
    }
    *complete = s.complete;
    return s.last;
}

/* ---- Gemini ----------------------------------------------------------- */

struct gem_state {
    cJSON *whole;
    int complete, oom;
};

/* Append part p to parts, joining it to the last part when both are text
 * of the same kind (thought or not). */
static void gem_add_part(struct gem_state *s, cJSON *parts, const cJSON *p)
{
    int n = cJSON_GetArraySize(parts);
    cJSON *last = n ? cJSON_GetArrayItem(parts, n - 1) : NULL;
    const cJSON *lt = get(last, "text"), *pt = get(p, "text");
    if (cJSON_IsString(lt) && cJSON_IsString(pt) && cJSON_IsTrue(get(last, "thought")) == cJSON_IsTrue(get(p, "thought")) &&
        !get(p, "thoughtSignature")) {
        struct crl_buf b = {0};
        if (crl_buf_puts(&b, lt->valuestring) || crl_buf_puts(&b, pt->valuestring)) {
            crl_buf_free(&b);
            s->oom = 1;
            return;
        }
        cJSON_ReplaceItemInObjectCaseSensitive(last, "text", cJSON_CreateString(b.p));
        crl_buf_free(&b);
        return;
    }
    cJSON *copy = cJSON_Duplicate(p, 1);
    if (!copy)
        s->oom = 1;
    else
        cJSON_AddItemToArray(parts, copy);
}

/* A Gemini candidate's "index" (absent: 0); -1 when it is not a number
 * in [0, INT_MAX] (never cast out of range: the stream is the upstream's). */
static int cand_index(const cJSON *c)
{
    const cJSON *i = get(c, "index");
    if (!i)
        return 0;
    return cJSON_IsNumber(i) && i->valuedouble >= 0 && i->valuedouble <= (double)INT_MAX ? (int)i->valuedouble : -1;
}

static void gem_event(void *ud, const char *event, const char *data, size_t len)
{
    (void)event;
    struct gem_state *s = ud;
    cJSON *d = cJSON_ParseWithLength(data, len);
    if (!cJSON_IsObject(d) || !cJSON_IsArray(get(d, "candidates"))) {
        cJSON_Delete(d);
        return;
    }
    if (!s->whole) {
        s->whole = d;
        d = NULL;
    }
    cJSON *cands = cJSON_GetObjectItemCaseSensitive(s->whole, "candidates");
    const cJSON *c, *more = d ? get(d, "candidates") : NULL;
    cJSON_ArrayForEach(c, more)
    {
        int want = cand_index(c);
        cJSON *into = NULL, *w;
        cJSON_ArrayForEach(w, cands)
        {
            if (cand_index(w) == want)
                into = w;
        }
        if (!into) {
            cJSON_AddItemToArray(cands, cJSON_Duplicate(c, 1));
            continue;
        }
        cJSON *parts = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(into, "content"), "parts");
        const cJSON *p;
        if (cJSON_IsArray(parts))
            cJSON_ArrayForEach(p, get(get(c, "content"), "parts")) gem_add_part(s, parts, p);
        const cJSON *m, *members = cJSON_IsObject(c) ? c : NULL; /* an array's have no names */
        cJSON_ArrayForEach(m, members) /* finishReason, safetyRatings ...: the latest wins */
            if (strcmp(m->string, "content") != 0 && strcmp(m->string, "index") != 0) {
                cJSON *v = cJSON_Duplicate(m, 1);
                if (get(into, m->string))
                    cJSON_ReplaceItemInObjectCaseSensitive(into, m->string, v);
                else
                    cJSON_AddItemToObject(into, m->string, v);
            }
    }
    if (d) /* usageMetadata, modelVersion ...: the latest wins; never the candidates cands points at
            * (a chunk may name "candidates" twice) */
        merge_into(s->whole, d, "candidates");
    cJSON_Delete(d);
    const cJSON *w;
    s->complete = 0;
    cJSON_ArrayForEach(w, cands) if (get(w, "finishReason")) s->complete = 1;
}

static cJSON *assemble_gemini(const char *sse, size_t len, int *complete)
{
    struct gem_state s = {0};
    if (sse_each(sse, len, gem_event, &s) != 0 || s.oom) {
        cJSON_Delete(s.whole);
        return NULL;
    }
    *complete = s.complete;
    return s.whole;
}

cJSON *crl_gate_sse_assemble(int dialect, const char *sse, size_t len, int *complete)
{
    int done = 0;
    cJSON *r = !sse                                          ? NULL
               : dialect == CORRAL_GATE_DIALECT_MESSAGES  ? assemble_messages(sse, len, &done)
               : dialect == CORRAL_GATE_DIALECT_RESPONSES ? assemble_responses(sse, len, &done)
               : dialect == CORRAL_GATE_DIALECT_GEMINI    ? assemble_gemini(sse, len, &done)
                                                          : NULL;
    if (complete)
        *complete = r ? done : 0;
    return r;
}
