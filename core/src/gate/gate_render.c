/*
 * Rendering answers: a normalized response (struct gate_completion) as the
 * chat.completion object and as the SSE stream the agent asked for.
 *
 * Most of an answer is the same on every call that gets it (a replay line
 * is answered in every rollout of a batch), so it is rendered once, by
 * gate_prepare(), into templates: literal text with holes for what varies
 * per call (the id, the time, the model, fresh tool-call ids).  A call
 * then only fills the holes: two mallocs and memcpys, no JSON tree.
 *
 * The text is byte for byte what cJSON_PrintUnformatted() printed for the
 * trees the gate used to build (same member order, string escapes and
 * number forms), which both agent CLIs were measured against;
 * tests/fuzz/fuzz_gate_render.c checks it against those trees.
 */
#include <float.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gate/gate_internal.h"
#include "base/internal.h"

/* ---- a growing buffer ----------------------------------------------------- */

/* Append s[0..n); on allocation failure set oom and ignore the rest. */
void gate_sb_add(struct gate_sbuf *b, const char *s, size_t n)
{
    if (!b->oom && crl_buf_add(&b->buf, s, n) != 0)
        b->oom = 1;
}

void gate_sb_lit(struct gate_sbuf *b, const char *s)
{
    gate_sb_add(b, s, strlen(s));
}

/* s as a JSON string, escaped as cJSON escapes: ", \ and the control
 * characters (\b \f \n \r \t by name, the others as \u00xx); every other
 * byte, UTF-8 or not, as it is. */
void gate_sb_json_string(struct gate_sbuf *b, const char *s)
{
    static const char hexd[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s, *run = p;
    gate_sb_add(b, "\"", 1);
    for (; *p; p++) {
        if (*p >= 32 && *p != '"' && *p != '\\')
            continue;
        gate_sb_add(b, (const char *)run, (size_t)(p - run));
        char e[6] = {'\\', 'u', '0', '0', hexd[*p >> 4], hexd[*p & 15]};
        size_t n = 2;
        switch (*p) {
        case '"': e[1] = '"'; break;
        case '\\': e[1] = '\\'; break;
        case '\b': e[1] = 'b'; break;
        case '\f': e[1] = 'f'; break;
        case '\n': e[1] = 'n'; break;
        case '\r': e[1] = 'r'; break;
        case '\t': e[1] = 't'; break;
        default: n = 6; break;
        }
        gate_sb_add(b, e, n);
        run = p + 1;
    }
    gate_sb_add(b, (const char *)run, (size_t)(p - run));
    gate_sb_add(b, "\"", 1);
}

static double dabs(double d)
{
    return d < 0 ? -d : d;
}

/* d as cJSON prints a number: an int when it is one, else %1.15g, or
 * %1.17g when that does not read back as d (within cJSON's tolerance). */
void gate_sb_json_number(struct gate_sbuf *b, double d)
{
    char buf[32];
    if (d != d || d - d != 0) {
        gate_sb_lit(b, "null");
        return;
    }
    int vi = d >= (double)INT_MAX ? INT_MAX : d <= (double)INT_MIN ? INT_MIN : (int)d;
    if (d == (double)vi) {
        snprintf(buf, sizeof buf, "%d", vi);
    } else {
        snprintf(buf, sizeof buf, "%1.15g", d);
        double back = 0;
        int ok = sscanf(buf, "%lg", &back) == 1;
        double max = dabs(d) > dabs(back) ? dabs(d) : dabs(back);
        if (!ok || !(dabs(back - d) <= max * DBL_EPSILON))
            snprintf(buf, sizeof buf, "%1.17g", d);
    }
    gate_sb_lit(b, buf);
}

void gate_sb_int(struct gate_sbuf *b, long long n)
{
    char d[24];
    snprintf(d, sizeof d, "%lld", n);
    gate_sb_lit(b, d);
}

char *gate_tool_input_json(const struct gate_tool_call *tc)
{
    cJSON *j = cJSON_Parse(tc->arguments);
    char *s = cJSON_IsObject(j) ? cJSON_PrintUnformatted(j) : strdup("{}");
    cJSON_Delete(j);
    return s;
}

int gate_prepare_with_inputs(const struct gate_completion *c, gate_inputs_tmpl_fn whole, gate_inputs_tmpl_fn stream,
                             struct gate_tmpl *json, struct gate_tmpl *sse)
{
    char *small[8] = {0}, **inputs = small;
    if (c->n_tool_calls > 8 && !(inputs = calloc(c->n_tool_calls, sizeof *inputs)))
        return -1;
    int bad = 0;
    for (size_t i = 0; i < c->n_tool_calls && !bad; i++)
        bad = !(inputs[i] = gate_tool_input_json(&c->tool_calls[i]));
    struct gate_tb t = {0}, s = {0};
    if (!bad) {
        whole(&t, c, inputs);
        stream(&s, c, inputs);
        bad = gate_tb_finish(&t, json);
        if (gate_tb_finish(&s, sse))
            bad = 1;
    }
    for (size_t i = 0; i < c->n_tool_calls; i++)
        free(inputs[i]);
    if (inputs != small)
        free(inputs);
    return bad ? -1 : 0;
}

/* ---- building a template ---------------------------------------------------- */

static void tb_push(struct gate_tb *t, struct gate_part p)
{
    if (t->text.oom)
        return;
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        struct gate_part *np = realloc(t->parts, cap * sizeof *np);
        if (!np) {
            t->text.oom = 1;
            return;
        }
        t->parts = np;
        t->cap = cap;
    }
    t->parts[t->n++] = p;
}

/* End the open literal part, if it has any text. */
static void tb_close(struct gate_tb *t)
{
    if (t->text.buf.len > t->lit_from)
        tb_push(t, (struct gate_part){.off = (uint32_t)t->lit_from, .len = (uint32_t)(t->text.buf.len - t->lit_from),
                                      .hole = GATE_HOLE_NONE, .usage_only = (uint16_t)t->usage_only});
    t->lit_from = t->text.buf.len;
}

void gate_tb_hole(struct gate_tb *t, enum gate_hole h, size_t arg)
{
    tb_close(t);
    tb_push(t, (struct gate_part){.hole = (uint16_t)h, .usage_only = (uint16_t)t->usage_only, .arg = (uint32_t)arg});
}

static void tb_usage_only(struct gate_tb *t, int on)
{
    tb_close(t);
    t->usage_only = on;
}

/* Move the finished template into out (text and parts trimmed to size).
 * Returns 0, or -1 out of memory with t freed and out untouched.
 * Templates are limited to 4 GiB of text by their 32-bit offsets. */
int gate_tb_finish(struct gate_tb *t, struct gate_tmpl *out)
{
    tb_close(t);
    if (t->text.oom || !t->text.buf.p || t->text.buf.len > UINT32_MAX) {
        free(t->text.buf.p);
        free(t->parts);
        return -1;
    }
    char *p = realloc(t->text.buf.p, t->text.buf.len + 1);
    out->text = p ? p : t->text.buf.p;
    struct gate_part *pp = realloc(t->parts, t->n * sizeof *pp);
    out->parts = pp ? pp : t->parts;
    out->n = t->n;
    return 0;
}

/* The id of tool call i: its own, or the next fresh-id hole. */
void gate_tb_call_id(struct gate_tb *t, const struct gate_tool_call *tc, size_t *fresh)
{
    if (tc->id)
        gate_sb_json_string(&t->text, tc->id);
    else
        gate_tb_hole(t, GATE_HOLE_CALL_ID, (*fresh)++);
}

/* ---- the two forms ------------------------------------------------------------ */

/* {"id","object","created","model","choices":[{"index","message","finish_reason"}],"usage"} */
static void object_template(struct gate_tb *t, const struct gate_completion *c)
{
    struct gate_sbuf *b = &t->text;
    gate_sb_lit(b, "{\"id\":");
    gate_tb_hole(t, GATE_HOLE_ID, 0);
    gate_sb_lit(b, ",\"object\":\"chat.completion\",\"created\":");
    gate_tb_hole(t, GATE_HOLE_CREATED, 0);
    gate_sb_lit(b, ",\"model\":");
    gate_tb_hole(t, GATE_HOLE_MODEL, 0);
    gate_sb_lit(b, ",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":");
    if (c->content)
        gate_sb_json_string(b, c->content);
    else
        gate_sb_lit(b, "null");
    if (c->reasoning) {
        gate_sb_lit(b, ",\"reasoning_content\":");
        gate_sb_json_string(b, c->reasoning);
    }
    if (c->n_tool_calls) {
        size_t fresh = 0;
        gate_sb_lit(b, ",\"tool_calls\":[");
        for (size_t i = 0; i < c->n_tool_calls; i++) {
            gate_sb_lit(b, i ? ",{\"id\":" : "{\"id\":");
            gate_tb_call_id(t, &c->tool_calls[i], &fresh);
            gate_sb_lit(b, ",\"type\":\"function\",\"function\":{\"name\":");
            gate_sb_json_string(b, c->tool_calls[i].name);
            gate_sb_lit(b, ",\"arguments\":");
            gate_sb_json_string(b, c->tool_calls[i].arguments);
            gate_sb_lit(b, "}}");
        }
        gate_sb_lit(b, "]");
    }
    gate_sb_lit(b, "},\"finish_reason\":");
    gate_sb_json_string(b, c->finish_reason ? c->finish_reason : "stop");
    gate_sb_lit(b, "}]");
    if (c->has_usage) {
        gate_sb_lit(b, ",\"usage\":{\"prompt_tokens\":");
        gate_sb_json_number(b, (double)c->prompt_tokens);
        gate_sb_lit(b, ",\"completion_tokens\":");
        gate_sb_json_number(b, (double)c->completion_tokens);
        gate_sb_lit(b, ",\"total_tokens\":");
        gate_sb_json_number(b, (double)c->total_tokens);
        gate_sb_lit(b, "}");
    }
    gate_sb_lit(b, "}");
}

/* An event's start up to its delta; chunk_end closes it. */
static void chunk_start(struct gate_tb *t)
{
    gate_tb_hole(t, GATE_HOLE_CHUNK, 0);
    gate_sb_lit(&t->text, "[{\"index\":0,\"delta\":");
}

static void chunk_end(struct gate_tb *t)
{
    gate_sb_lit(&t->text, "}]}\n\n");
}

/* One delta chunk {KEY value} with a text value, none for an empty one;
 * `open` is the delta's opening brace and key. */
static void text_chunk(struct gate_tb *t, const char *open, const char *value)
{
    if (!value || !value[0])
        return;
    chunk_start(t);
    gate_sb_lit(&t->text, open);
    gate_sb_json_string(&t->text, value);
    gate_sb_lit(&t->text, "}");
    chunk_end(t);
}

/* The role, the reasoning, the content, each tool call as a header (index,
 * id, type, name, empty arguments) then its arguments (the shape both
 * CLIs were measured to accept), the finish reason, the usage when asked
 * for, [DONE]. */
static void sse_template(struct gate_tb *t, const struct gate_completion *c)
{
    struct gate_sbuf *b = &t->text;
    chunk_start(t);
    gate_sb_lit(b, "{\"role\":\"assistant\"}");
    chunk_end(t);
    text_chunk(t, "{\"reasoning_content\":", c->reasoning);
    text_chunk(t, "{\"content\":", c->content);
    size_t fresh = 0;
    for (size_t i = 0; i < c->n_tool_calls; i++) {
        char idx[24];
        snprintf(idx, sizeof idx, "%zu", i);
        chunk_start(t);
        gate_sb_lit(b, "{\"tool_calls\":[{\"index\":");
        gate_sb_lit(b, idx);
        gate_sb_lit(b, ",\"id\":");
        gate_tb_call_id(t, &c->tool_calls[i], &fresh);
        gate_sb_lit(b, ",\"type\":\"function\",\"function\":{\"name\":");
        gate_sb_json_string(b, c->tool_calls[i].name);
        gate_sb_lit(b, ",\"arguments\":\"\"}}]}");
        chunk_end(t);
        if (c->tool_calls[i].arguments[0]) {
            chunk_start(t);
            gate_sb_lit(b, "{\"tool_calls\":[{\"index\":");
            gate_sb_lit(b, idx);
            gate_sb_lit(b, ",\"function\":{\"arguments\":");
            gate_sb_json_string(b, c->tool_calls[i].arguments);
            gate_sb_lit(b, "}}]}");
            chunk_end(t);
        }
    }
    chunk_start(t);
    gate_sb_lit(b, "{},\"finish_reason\":");
    gate_sb_json_string(b, c->finish_reason ? c->finish_reason : "stop");
    chunk_end(t);
    if (c->has_usage) {
        char u[160];
        snprintf(u, sizeof u,
                 "[],\"usage\":{\"prompt_tokens\":%lld,\"completion_tokens\":%lld,\"total_tokens\":%lld}}\n\n",
                 c->prompt_tokens, c->completion_tokens, c->total_tokens);
        tb_usage_only(t, 1);
        gate_tb_hole(t, GATE_HOLE_CHUNK, 0);
        gate_sb_lit(b, u);
        tb_usage_only(t, 0);
    }
    gate_sb_lit(b, "data: [DONE]\n\n");
}

void gate_prepared_clear(struct gate_prepared *p)
{
    free(p->error_message);
    free(p->error_type);
    free(p->json.text);
    free(p->json.parts);
    free(p->sse.text);
    free(p->sse.parts);
    free(p->msg_json.text);
    free(p->msg_json.parts);
    free(p->msg_sse.text);
    free(p->msg_sse.parts);
    free(p->resp_json.text);
    free(p->resp_json.parts);
    free(p->resp_sse.text);
    free(p->resp_sse.parts);
    free(p->gem_json.text);
    free(p->gem_json.parts);
    free(p->gem_sse.text);
    free(p->gem_sse.parts);
    for (size_t i = 0; i < p->n_calls; i++)
        free(p->call_names[i]);
    free(p->call_names);
    cJSON_Delete(p->token_ids);
    cJSON_Delete(p->logprobs);
    cJSON_Delete(p->prompt_token_ids);
    memset(p, 0, sizeof *p);
}

int gate_prepare(struct gate_completion *c, struct gate_prepared *out)
{
    memset(out, 0, sizeof *out);
    if (c->is_error) {
        out->is_error = 1;
        out->error_status = c->error_status;
        out->error_message = c->error_message;
        out->error_type = c->error_type;
        c->error_message = c->error_type = NULL;
        return 0;
    }
    struct gate_tb t = {0}, s = {0};
    object_template(&t, c);
    sse_template(&s, c);
    int bad = gate_tb_finish(&t, &out->json);
    bad |= gate_tb_finish(&s, &out->sse);
    if (!bad)
        bad = gate_prepare_messages(c, out);
    if (!bad)
        bad = gate_prepare_responses(c, out);
    if (!bad)
        bad = gate_prepare_gemini(c, out);
    if (!bad && c->n_tool_calls && !(out->call_names = calloc(c->n_tool_calls, sizeof *out->call_names)))
        bad = 1;
    for (size_t i = 0; !bad && i < c->n_tool_calls; i++, out->n_calls++)
        bad = !(out->call_names[i] = strdup(c->tool_calls[i].name ? c->tool_calls[i].name : ""));
    if (bad) {
        gate_prepared_clear(out);
        return CORRAL_ENOMEM;
    }
    for (size_t i = 0; i < c->n_tool_calls; i++)
        out->n_fresh_ids += !c->tool_calls[i].id;
    out->token_ids = c->token_ids;
    out->logprobs = c->logprobs;
    out->prompt_token_ids = c->prompt_token_ids;
    c->token_ids = c->logprobs = c->prompt_token_ids = NULL;
    return 0;
}

/* ---- one answer ------------------------------------------------------------------ */

struct span {
    const char *p;
    size_t n;
};

/* The text a part stands for. */
static struct span part_text(const struct gate_tmpl *t, const struct gate_part *p, const struct span *vals,
                             const struct span *ids, const struct span *names)
{
    if (p->hole == GATE_HOLE_NONE)
        return (struct span){t->text + p->off, p->len};
    return p->hole == GATE_HOLE_CALL_ID ? ids[p->arg] : p->hole == GATE_HOLE_CALL_NAME ? names[p->arg] : vals[p->hole];
}

/* The template with every hole filled from vals (by enum gate_hole), ids
 * (GATE_HOLE_CALL_ID) and names (GATE_HOLE_CALL_NAME), the usage_only
 * parts only when asked for.  Caller frees; NULL out of memory. */
static char *fill(const struct gate_tmpl *t, const struct span *vals, const struct span *ids,
                  const struct span *names, int with_usage, size_t *len_out)
{
    size_t total = 0;
    for (size_t i = 0; i < t->n; i++)
        if (with_usage || !t->parts[i].usage_only)
            total += part_text(t, &t->parts[i], vals, ids, names).n;
    char *out = malloc(total + 1), *w = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < t->n; i++)
        if (with_usage || !t->parts[i].usage_only) {
            struct span s = part_text(t, &t->parts[i], vals, ids, names);
            memcpy(w, s.p, s.n);
            w += s.n;
        }
    *w = 0;
    *len_out = total;
    return out;
}

/* A Responses function call's name member: "namespace":"<ns>","name":"<n>"
 * when name is the flat "<ns>__<n>" of one of the request's namespace
 * tools, else "name":"<name>". */
static void name_member(struct gate_sbuf *b, const char *name, const struct gate_resp_ns *ns)
{
    for (size_t i = 0; ns && i < ns->n; i++) {
        size_t l = strlen(ns->v[i].ns);
        if (strncmp(name, ns->v[i].ns, l) == 0 && name[l] == '_' && name[l + 1] == '_' &&
            strcmp(name + l + 2, ns->v[i].name) == 0) {
            gate_sb_lit(b, "\"namespace\":");
            gate_sb_json_string(b, ns->v[i].ns);
            gate_sb_lit(b, ",\"name\":");
            gate_sb_json_string(b, ns->v[i].name);
            return;
        }
    }
    gate_sb_lit(b, "\"name\":");
    gate_sb_json_string(b, name);
}

int gate_render_answer(const struct gate_prepared *p, const struct gate_answer_vars *v, char **json,
                       size_t *json_len, char **sse, size_t *sse_len)
{
    *json = NULL;
    if (sse)
        *sse = NULL;
    /* ids: the fresh ids, then (Responses) each call's name member */
    size_t n_names = v->dialect == GATE_DIALECT_RESPONSES ? p->n_calls : 0, n_ids = p->n_fresh_ids + n_names;
    struct span vals[GATE_HOLE_CALL_ID], ids_small[8], *ids = ids_small;
    if (n_ids > 8 && !(ids = malloc(n_ids * sizeof *ids)))
        return CORRAL_ENOMEM;
    /* Every hole's text, one after the other in b; spans once b has
     * stopped moving. */
    struct gate_sbuf b = {0};
    size_t off[GATE_HOLE_CALL_ID + 1];
    char created[24];
    snprintf(created, sizeof created, "%lld", v->created);
    off[GATE_HOLE_ID] = b.buf.len;
    gate_sb_json_string(&b, v->id);
    off[GATE_HOLE_CREATED] = b.buf.len;
    gate_sb_lit(&b, created);
    off[GATE_HOLE_MODEL] = b.buf.len;
    gate_sb_json_string(&b, v->model);
    off[GATE_HOLE_CHUNK] = b.buf.len;
    if (v->stream && v->dialect == GATE_DIALECT_CHAT) {
        gate_sb_lit(&b, "data: {\"id\":");
        gate_sb_json_string(&b, v->id);
        gate_sb_lit(&b, ",\"object\":\"chat.completion.chunk\",\"created\":");
        gate_sb_lit(&b, created);
        gate_sb_lit(&b, ",\"model\":");
        gate_sb_json_string(&b, v->model);
        gate_sb_lit(&b, ",\"choices\":");
    }
    off[GATE_HOLE_ID_TEXT] = b.buf.len; /* set below: inside the id's quotes */
    off[GATE_HOLE_CALL_ID] = b.buf.len;
    for (size_t i = 0; i < p->n_fresh_ids; i++) {
        ids[i].n = b.buf.len; /* its start, for now */
        if (v->call_ids) {
            gate_sb_json_string(&b, v->call_ids[i]);
        } else if (v->dialect == GATE_DIALECT_MESSAGES) {
            char id[32] = "\"toolu_";
            gate_random_hex(id + 7, 12);
            gate_sb_add(&b, id, 31);
            gate_sb_add(&b, "\"", 1);
        } else {
            char id[32] = "\"call_";
            gate_random_hex(id + 6, 12);
            gate_sb_add(&b, id, 30);
            gate_sb_add(&b, "\"", 1);
        }
    }
    for (size_t i = 0; i < n_names; i++) {
        ids[p->n_fresh_ids + i].n = b.buf.len;
        name_member(&b, p->call_names[i], v->ns);
    }
    if (b.oom) {
        if (ids != ids_small)
            free(ids);
        free(b.buf.p);
        return CORRAL_ENOMEM;
    }
    for (int h = 0; h < GATE_HOLE_CALL_ID; h++)
        vals[h] = (struct span){b.buf.p + off[h], off[h + 1] - off[h]};
    vals[GATE_HOLE_ID_TEXT] = (struct span){vals[GATE_HOLE_ID].p + 1, vals[GATE_HOLE_ID].n - 2};
    for (size_t i = 0; i < n_ids; i++) {
        size_t end = i + 1 < n_ids ? ids[i + 1].n : b.buf.len;
        ids[i] = (struct span){b.buf.p + ids[i].n, end - ids[i].n};
    }
    const struct gate_tmpl *tj = &p->json, *ts = &p->sse;
    if (v->dialect == GATE_DIALECT_MESSAGES)
        tj = &p->msg_json, ts = &p->msg_sse;
    else if (v->dialect == GATE_DIALECT_RESPONSES)
        tj = &p->resp_json, ts = &p->resp_sse;
    else if (v->dialect == GATE_DIALECT_GEMINI)
        tj = &p->gem_json, ts = &p->gem_sse;
    const struct span *names = ids + p->n_fresh_ids;
    *json = fill(tj, vals, ids, names, 0, json_len);
    if (*json && v->stream && sse && !(*sse = fill(ts, vals, ids, names, v->include_usage, sse_len))) {
        free(*json);
        *json = NULL;
    }
    if (ids != ids_small)
        free(ids);
    free(b.buf.p);
    return *json ? 0 : CORRAL_ENOMEM;
}
