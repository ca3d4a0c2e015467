/*
 * The gate's wire formats: parsing the agent's chat request and
 * normalizing a response in any accepted form (gate.h); gate_render.c
 * renders what the agent gets.
 *
 * Pure functions of their inputs (no gate state), so the fuzz target can
 * drive them directly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "gate/gate_internal.h"
#include "base/json_scan.h"

/* nbytes random bytes as hex into out (2*nbytes+1 chars). */
/* Randomness is drawn from OpenSSL in blocks per thread (one RAND_bytes
 * call per ~30 ids instead of one per id); a forked child refills. */
static _Thread_local unsigned char rnd_pool[512];
static _Thread_local size_t rnd_left;
static _Thread_local pid_t rnd_pid;

void gate_random_hex(char *out, size_t nbytes)
{
    static const char hexd[] = "0123456789abcdef";
    if (nbytes > 64)
        nbytes = 64;
    pid_t pid = getpid();
    if (rnd_left < nbytes || rnd_pid != pid) {
        if (RAND_bytes(rnd_pool, (int)sizeof rnd_pool) != 1)
            abort(); /* no randomness: refusing to make guessable ids */
        rnd_left = sizeof rnd_pool;
        rnd_pid = pid;
    }
    const unsigned char *raw = rnd_pool + sizeof rnd_pool - rnd_left;
    for (size_t i = 0; i < nbytes; i++) {
        out[2 * i] = hexd[raw[i] >> 4];
        out[2 * i + 1] = hexd[raw[i] & 15];
    }
    OPENSSL_cleanse((void *)raw, nbytes);
    rnd_left -= nbytes;
    out[2 * nbytes] = 0;
}

/* Parse exactly one JSON value filling text[0..len) (whitespace around it
 * allowed): trailing bytes would otherwise be ignored by cJSON and then
 * forwarded verbatim to trainers. */
cJSON *gate_json_parse_exact(const char *text, size_t len)
{
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!j)
        return NULL;
    for (const char *p = end; p && p < text + len; p++)
        if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
            cJSON_Delete(j);
            return NULL;
        }
    return j;
}

static void seterr(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
}

/* The first byte of a scanned value tells its type. */
static char kind_of(const struct crl_json_span *v)
{
    return v->p ? v->p[0] : 0;
}

/* The top-level members a chat request is judged by (first occurrence). */
struct chat_fields {
    struct crl_json_span messages, stream, model, stream_options, include_usage, tools, max_tokens,
        max_completion_tokens;
};

/* The members of the first message that say whether it is a system prompt. */
struct first_message {
    struct crl_json_span role, content;
};

static void keep_first(struct crl_json_span *slot, const struct crl_json_span *v)
{
    if (!slot->p)
        *slot = *v;
}

static void chat_member(const struct crl_json_span *k, const struct crl_json_span *v, void *ud)
{
    struct chat_fields *f = ud;
    if (crl_json_key_is(k, "messages"))
        keep_first(&f->messages, v);
    else if (crl_json_key_is(k, "stream"))
        keep_first(&f->stream, v);
    else if (crl_json_key_is(k, "model"))
        keep_first(&f->model, v);
    else if (crl_json_key_is(k, "stream_options"))
        keep_first(&f->stream_options, v);
    else if (crl_json_key_is(k, "tools"))
        keep_first(&f->tools, v);
    else if (crl_json_key_is(k, "max_tokens"))
        keep_first(&f->max_tokens, v);
    else if (crl_json_key_is(k, "max_completion_tokens"))
        keep_first(&f->max_completion_tokens, v);
}

static void message_member(const struct crl_json_span *k, const struct crl_json_span *v, void *ud)
{
    struct first_message *m = ud;
    if (crl_json_key_is(k, "role"))
        keep_first(&m->role, v);
    else if (crl_json_key_is(k, "content"))
        keep_first(&m->content, v);
}

/* A scanned role string (quotes included) says "system" or "developer". */
static int role_is_system(const struct crl_json_span *role)
{
    if (kind_of(role) != '"')
        return 0;
    struct crl_json_span raw = {role->p + 1, role->n - 2};
    return crl_json_key_is(&raw, "system") || crl_json_key_is(&raw, "developer");
}

/* A scanned JSON number's value, or -1 when v is not a number. */
static double span_number(const struct crl_json_span *v)
{
    char num[72];
    if (!v->p || !(v->p[0] == '-' || (v->p[0] >= '0' && v->p[0] <= '9')) || v->n >= sizeof num)
        return -1;
    memcpy(num, v->p, v->n);
    num[v->n] = 0;
    return crl_strtod_c(num, NULL);
}

static void options_member(const struct crl_json_span *k, const struct crl_json_span *v, void *ud)
{
    if (crl_json_key_is(k, "include_usage"))
        keep_first(&((struct chat_fields *)ud)->include_usage, v);
}

int gate_parse_chat_request(const char *text, size_t len, struct gate_chat_request *out,
                            char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!text || len == 0) {
        seterr(err, errlen, "request body is empty");
        return CORRAL_EINVAL;
    }
    struct chat_fields f = {0};
    if (!crl_json_scan(text, len, chat_member, &f)) {
        seterr(err, errlen, "request body is not valid JSON");
        return CORRAL_EINVAL;
    }
    size_t lead = strspn(text, " \t\r\n");
    if (text[lead] != '{') {
        seterr(err, errlen, "request body must be a JSON object");
        return CORRAL_EINVAL;
    }
    if (kind_of(&f.messages) != '[' || f.messages.p[1 + strspn(f.messages.p + 1, " \t\r\n")] == ']') {
        seterr(err, errlen, "\"messages\" must be a non-empty array");
        return CORRAL_EINVAL;
    }
    char stream = kind_of(&f.stream);
    if (stream && stream != 't' && stream != 'f' && stream != 'n') {
        seterr(err, errlen, "\"stream\" must be a boolean");
        return CORRAL_EINVAL;
    }
    char model = kind_of(&f.model);
    if (model && model != '"' && model != 'n') {
        seterr(err, errlen, "\"model\" must be a string");
        return CORRAL_EINVAL;
    }
    if (model == '"') {
        struct crl_json_span raw = {f.model.p + 1, f.model.n - 2};
        out->model = crl_json_string_decode(&raw);
        if (!out->model) {
            seterr(err, errlen, "out of memory");
            return CORRAL_ENOMEM;
        }
        if (!out->model[0]) {
            free(out->model);
            out->model = NULL;
        }
    }
    out->stream = stream == 't';
    if (kind_of(&f.stream_options) == '{')
        crl_json_scan(f.stream_options.p, f.stream_options.n, options_member, &f);
    out->include_usage = kind_of(&f.include_usage) == 't';
    out->has_tools = kind_of(&f.tools) == '[' && f.tools.p[1 + strspn(f.tools.p + 1, " \t\r\n")] != ']';
    out->max_tokens = span_number(f.max_tokens.p ? &f.max_tokens : &f.max_completion_tokens);
    struct crl_json_span first;
    struct first_message m = {{0}, {0}};
    if (crl_json_array_first(&f.messages, &first) && first.p[0] == '{' &&
        crl_json_scan(first.p, first.n, message_member, &m) && kind_of(&m.content) == '"' && role_is_system(&m.role)) {
        struct crl_json_span raw = {m.content.p + 1, m.content.n - 2};
        out->system = crl_json_string_decode(&raw);
        if (!out->system) {
            gate_chat_request_clear(out);
            seterr(err, errlen, "out of memory");
            return CORRAL_ENOMEM;
        }
    }
    return 0;
}

int gate_chat_request_from_tree(const cJSON *chat, struct gate_chat_request *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    const cJSON *messages = cJSON_GetObjectItemCaseSensitive(chat, "messages");
    if (!cJSON_IsArray(messages) || !messages->child) {
        seterr(err, errlen, "\"messages\" must be a non-empty array");
        return CORRAL_EINVAL;
    }
    const cJSON *stream = cJSON_GetObjectItemCaseSensitive(chat, "stream");
    if (stream && !cJSON_IsBool(stream) && !cJSON_IsNull(stream)) {
        seterr(err, errlen, "\"stream\" must be a boolean");
        return CORRAL_EINVAL;
    }
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(chat, "model");
    if (model && !cJSON_IsString(model) && !cJSON_IsNull(model)) {
        seterr(err, errlen, "\"model\" must be a string");
        return CORRAL_EINVAL;
    }
    out->stream = cJSON_IsTrue(stream);
    const cJSON *options = cJSON_GetObjectItemCaseSensitive(chat, "stream_options");
    out->include_usage = cJSON_IsObject(options) && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(options, "include_usage"));
    const cJSON *tools = cJSON_GetObjectItemCaseSensitive(chat, "tools");
    out->has_tools = cJSON_IsArray(tools) && tools->child;
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(chat, "max_tokens");
    if (!mt)
        mt = cJSON_GetObjectItemCaseSensitive(chat, "max_completion_tokens");
    out->max_tokens = -1;
    if (cJSON_IsNumber(mt)) {
        /* as printed: cJSON's shortest form may differ from valuedouble
         * in the last digits, and the printed request is what counts */
        char *num = cJSON_PrintUnformatted(mt);
        if (!num) {
            seterr(err, errlen, "out of memory");
            return CORRAL_ENOMEM;
        }
        struct crl_json_span v = {num, strlen(num)};
        out->max_tokens = span_number(&v);
        free(num);
    }
    const cJSON *first = cJSON_IsObject(messages->child) ? messages->child : NULL;
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(first, "role");
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(first, "content");
    int system = cJSON_IsString(role) && (strcmp(role->valuestring, "system") == 0 ||
                                          strcmp(role->valuestring, "developer") == 0);
    if ((cJSON_IsString(model) && model->valuestring[0] && !(out->model = strdup(model->valuestring))) ||
        (system && cJSON_IsString(content) && !(out->system = strdup(content->valuestring)))) {
        gate_chat_request_clear(out);
        seterr(err, errlen, "out of memory");
        return CORRAL_ENOMEM;
    }
    return 0;
}

int gate_call_is_auxiliary(const struct gate_aux_rule *rule, const struct gate_chat_request *q)
{
    if (!rule->no_tools && rule->max_tokens_below <= 0 && !rule->system_prefix)
        return 0;
    if (rule->no_tools && q->has_tools)
        return 0;
    if (rule->max_tokens_below > 0 && !(q->max_tokens >= 0 && q->max_tokens < rule->max_tokens_below))
        return 0;
    if (rule->system_prefix && !(q->system && strncmp(q->system, rule->system_prefix, strlen(rule->system_prefix)) == 0))
        return 0;
    return 1;
}

void gate_chat_request_clear(struct gate_chat_request *r)
{
    free(r->model);
    free(r->system);
    memset(r, 0, sizeof *r);
}

void gate_completion_clear(struct gate_completion *c)
{
    free(c->error_message);
    free(c->error_type);
    free(c->content);
    free(c->reasoning);
    for (size_t i = 0; i < c->n_tool_calls; i++) {
        free(c->tool_calls[i].id);
        free(c->tool_calls[i].name);
        free(c->tool_calls[i].arguments);
    }
    free(c->tool_calls);
    free(c->finish_reason);
    cJSON_Delete(c->token_ids);
    cJSON_Delete(c->logprobs);
    cJSON_Delete(c->prompt_token_ids);
    memset(c, 0, sizeof *c);
}

/* A string field, absent/null allowed.  -1 when present with another type. */
static int opt_string(const cJSON *obj, const char *key, char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v))
        return -1;
    *out = strdup(v->valuestring);
    return 0;
}

/* A token count: absent is 0; else a number from 0 to 2^53 (a double
 * outside long long's range is undefined behaviour to convert). */
static int usage_count(const cJSON *n, long long *out)
{
    int64_t v = 0;
    if (n && (!cJSON_IsNumber(n) || crl_number_i64(n->valuedouble, 0, INT64_C(1) << 53, &v) != 0))
        return -1;
    *out = (long long)v;
    return 0;
}

static int parse_usage(const cJSON *u, struct gate_completion *c)
{
    if (!u || cJSON_IsNull(u))
        return 0;
    if (!cJSON_IsObject(u))
        return -1;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(u, "total_tokens");
    if (usage_count(cJSON_GetObjectItemCaseSensitive(u, "prompt_tokens"), &c->prompt_tokens) ||
        usage_count(cJSON_GetObjectItemCaseSensitive(u, "completion_tokens"), &c->completion_tokens) ||
        usage_count(t, &c->total_tokens))
        return -1;
    c->has_usage = 1;
    if (!t)
        c->total_tokens = c->prompt_tokens + c->completion_tokens;
    return 0;
}

/* One tool call: short {"name","arguments","id"} or OpenAI
 * {"id","type","function":{"name","arguments"}}. */
static int parse_tool_call(const cJSON *tc, struct gate_tool_call *out, char *err, size_t errlen)
{
    if (!cJSON_IsObject(tc)) {
        seterr(err, errlen, "each tool call must be an object");
        return -1;
    }
    const cJSON *fn = cJSON_GetObjectItemCaseSensitive(tc, "function");
    const cJSON *src = cJSON_IsObject(fn) ? fn : tc;
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(src, "name");
    if (!cJSON_IsString(name) || !name->valuestring[0]) {
        seterr(err, errlen, "a tool call needs a non-empty string \"name\"");
        return -1;
    }
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(src, "arguments");
    char *argtext;
    if (!args || cJSON_IsNull(args))
        argtext = strdup("{}");
    else if (cJSON_IsString(args))
        argtext = strdup(args->valuestring);
    else if (cJSON_IsObject(args))
        argtext = cJSON_PrintUnformatted(args);
    else {
        seterr(err, errlen, "tool call \"arguments\" must be an object or a JSON string");
        return -1;
    }
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(tc, "id");
    if (id && !cJSON_IsString(id) && !cJSON_IsNull(id)) {
        free(argtext);
        seterr(err, errlen, "tool call \"id\" must be a string");
        return -1;
    }
    /* Without an id of its own it gets a fresh one per answer (gate_render.c). */
    int own_id = cJSON_IsString(id) && id->valuestring[0];
    out->id = own_id ? strdup(id->valuestring) : NULL;
    out->name = strdup(name->valuestring);
    out->arguments = argtext;
    if ((own_id && !out->id) || !out->name || !out->arguments) {
        seterr(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

static int parse_tool_calls(const cJSON *arr, struct gate_completion *c, char *err, size_t errlen)
{
    if (!arr || cJSON_IsNull(arr))
        return 0;
    if (!cJSON_IsArray(arr)) {
        seterr(err, errlen, "\"tool_calls\" must be an array");
        return -1;
    }
    int n = cJSON_GetArraySize(arr);
    if (n == 0)
        return 0;
    c->tool_calls = calloc((size_t)n, sizeof *c->tool_calls);
    if (!c->tool_calls) {
        seterr(err, errlen, "out of memory");
        return -1;
    }
    const cJSON *tc;
    cJSON_ArrayForEach(tc, arr) {
        if (parse_tool_call(tc, &c->tool_calls[c->n_tool_calls], err, errlen) != 0) {
            c->n_tool_calls++; /* free what was partly filled */
            return -1;
        }
        c->n_tool_calls++;
    }
    return 0;
}

/* "token_id:123" -> 123; -1 if not of that shape. */
static long long token_id_of(const char *s)
{
    if (!s || strncmp(s, "token_id:", 9) != 0 || !s[9])
        return -1;
    char *end;
    long long v = strtoll(s + 9, &end, 10);
    return *end || v < 0 ? -1 : v;
}

/* From an OpenAI choice's "logprobs" ({"content":[{"token","logprob"}]})
 * and vLLM's "token_ids": per-token logprobs and token ids. */
static void extract_logprobs(const cJSON *choice, struct gate_completion *c)
{
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(choice, "token_ids");
    if (cJSON_IsArray(ids))
        c->token_ids = cJSON_Duplicate(ids, 1);
    const cJSON *lp = cJSON_GetObjectItemCaseSensitive(choice, "logprobs");
    const cJSON *content = cJSON_IsObject(lp) ? cJSON_GetObjectItemCaseSensitive(lp, "content") : NULL;
    if (!cJSON_IsArray(content))
        return;
    cJSON *lps = cJSON_CreateArray();
    cJSON *tids = c->token_ids ? NULL : cJSON_CreateArray();
    const cJSON *e;
    cJSON_ArrayForEach(e, content) {
        const cJSON *l = cJSON_GetObjectItemCaseSensitive(e, "logprob");
        cJSON_AddItemToArray(lps, cJSON_CreateNumber(cJSON_IsNumber(l) ? l->valuedouble : 0.0));
        if (tids) {
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(e, "token");
            long long id = token_id_of(cJSON_IsString(t) ? t->valuestring : NULL);
            if (id < 0) {
                cJSON_Delete(tids);
                tids = NULL;
            } else {
                cJSON_AddItemToArray(tids, cJSON_CreateNumber((double)id));
            }
        }
    }
    c->logprobs = lps;
    if (tids && cJSON_GetArraySize(tids) > 0)
        c->token_ids = tids;
    else
        cJSON_Delete(tids);
}

/* vLLM's "prompt_token_ids" ("return_token_ids": true; top level of the
 * response and of its first stream chunk): kept for the transcript when
 * it is an array of non-negative integers, else ignored (an upstream's
 * extra field never fails the call). */
static void extract_prompt_ids(const cJSON *in, struct gate_completion *c)
{
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(in, "prompt_token_ids");
    if (!cJSON_IsArray(ids))
        return;
    const cJSON *e;
    cJSON_ArrayForEach(e, ids) {
        if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble > 9007199254740992.0 ||
            e->valuedouble != (double)(long long)e->valuedouble)
            return;
    }
    c->prompt_token_ids = cJSON_Duplicate(ids, 1);
}

static int parse_error_form(const cJSON *e, struct gate_completion *c, char *err, size_t errlen)
{
    c->is_error = 1;
    c->error_status = 400;
    if (cJSON_IsString(e)) {
        c->error_message = strdup(e->valuestring);
    } else if (cJSON_IsObject(e)) {
        if (opt_string(e, "message", &c->error_message) || opt_string(e, "type", &c->error_type)) {
            seterr(err, errlen, "\"error.message\" and \"error.type\" must be strings");
            return -1;
        }
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(e, "status");
        if (st) {
            if (!cJSON_IsNumber(st) || st->valuedouble < 400 || st->valuedouble > 599) {
                seterr(err, errlen, "\"error.status\" must be an HTTP status 400..599");
                return -1;
            }
            c->error_status = (int)st->valuedouble;
        }
    } else {
        seterr(err, errlen, "\"error\" must be an object or a string");
        return -1;
    }
    if (!c->error_message)
        c->error_message = strdup("error");
    if (!c->error_type)
        c->error_type = strdup("invalid_request_error");
    return 0;
}

static int parse_full_form(const cJSON *in, struct gate_completion *c, char *err, size_t errlen)
{
    const cJSON *choices = cJSON_GetObjectItemCaseSensitive(in, "choices");
    const cJSON *choice = cJSON_GetArrayItem(choices, 0);
    if (!cJSON_IsObject(choice)) {
        seterr(err, errlen, "\"choices\" must hold at least one choice object");
        return -1;
    }
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(choice, "message");
    if (!cJSON_IsObject(msg)) {
        seterr(err, errlen, "choice has no \"message\" object");
        return -1;
    }
    if (opt_string(msg, "content", &c->content)) {
        seterr(err, errlen, "\"message.content\" must be a string or null");
        return -1;
    }
    if (opt_string(msg, "reasoning_content", &c->reasoning) ||
        (!c->reasoning && opt_string(msg, "reasoning", &c->reasoning))) {
        seterr(err, errlen, "\"message.reasoning_content\" must be a string");
        return -1;
    }
    if (parse_tool_calls(cJSON_GetObjectItemCaseSensitive(msg, "tool_calls"), c, err, errlen))
        return -1;
    if (opt_string(choice, "finish_reason", &c->finish_reason)) {
        seterr(err, errlen, "\"finish_reason\" must be a string");
        return -1;
    }
    if (parse_usage(cJSON_GetObjectItemCaseSensitive(in, "usage"), c)) {
        seterr(err, errlen, "\"usage\" must be an object of token counts (0 to 2^53)");
        return -1;
    }
    extract_logprobs(choice, c);
    extract_prompt_ids(in, c);
    return 0;
}

static int parse_short_form(const cJSON *in, struct gate_completion *c, char *err, size_t errlen)
{
    static const char *const known[] = {"content", "reasoning_content", "tool_calls", "finish_reason",
                                        "usage", "token_ids", "logprobs", "prompt_token_ids", NULL};
    const cJSON *it;
    cJSON_ArrayForEach(it, in) {
        int ok = 0;
        for (size_t i = 0; known[i]; i++)
            ok |= strcmp(it->string, known[i]) == 0;
        if (!ok) {
            char m[256];
            snprintf(m, sizeof m, "unknown response key \"%.*s\" (expected content, reasoning_content, "
                     "tool_calls, finish_reason, usage, token_ids, logprobs, prompt_token_ids, or choices/error)",
                     gate_utf8_prec(it->string, 64), it->string);
            seterr(err, errlen, m);
            return -1;
        }
    }
    if (!cJSON_GetObjectItemCaseSensitive(in, "content") && !cJSON_GetObjectItemCaseSensitive(in, "tool_calls") &&
        !cJSON_GetObjectItemCaseSensitive(in, "reasoning_content")) {
        seterr(err, errlen, "a response needs \"content\", \"tool_calls\", \"choices\" or \"error\"");
        return -1;
    }
    if (opt_string(in, "content", &c->content) || opt_string(in, "reasoning_content", &c->reasoning)) {
        seterr(err, errlen, "\"content\" and \"reasoning_content\" must be strings");
        return -1;
    }
    if (parse_tool_calls(cJSON_GetObjectItemCaseSensitive(in, "tool_calls"), c, err, errlen))
        return -1;
    if (opt_string(in, "finish_reason", &c->finish_reason)) {
        seterr(err, errlen, "\"finish_reason\" must be a string");
        return -1;
    }
    if (parse_usage(cJSON_GetObjectItemCaseSensitive(in, "usage"), c)) {
        seterr(err, errlen, "\"usage\" must be an object of token counts (0 to 2^53)");
        return -1;
    }
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(in, "token_ids");
    const cJSON *lps = cJSON_GetObjectItemCaseSensitive(in, "logprobs");
    if ((ids && !cJSON_IsArray(ids)) || (lps && !cJSON_IsArray(lps))) {
        seterr(err, errlen, "\"token_ids\" and \"logprobs\" must be arrays");
        return -1;
    }
    if (ids)
        c->token_ids = cJSON_Duplicate(ids, 1);
    if (lps)
        c->logprobs = cJSON_Duplicate(lps, 1);
    const cJSON *pids = cJSON_GetObjectItemCaseSensitive(in, "prompt_token_ids");
    if (pids && !cJSON_IsArray(pids)) {
        seterr(err, errlen, "\"prompt_token_ids\" must be an array");
        return -1;
    }
    if (pids)
        c->prompt_token_ids = cJSON_Duplicate(pids, 1);
    return 0;
}

int gate_completion_from_json(const cJSON *in, struct gate_completion *c, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    if (!cJSON_IsObject(in)) {
        seterr(err, errlen, "a response must be a JSON object");
        return CORRAL_EINVAL;
    }
    int rc;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(in, "error");
    if (e && !cJSON_IsNull(e))
        rc = parse_error_form(e, c, err, errlen);
    else if (cJSON_GetObjectItemCaseSensitive(in, "choices"))
        rc = parse_full_form(in, c, err, errlen);
    else
        rc = parse_short_form(in, c, err, errlen);
    if (rc != 0) {
        gate_completion_clear(c);
        return CORRAL_EINVAL;
    }
    if (!c->is_error && !c->finish_reason)
        c->finish_reason = strdup(c->n_tool_calls ? "tool_calls" : "stop");
    return 0;
}

int gate_completion_from_text(const char *text, size_t len, struct gate_completion *out,
                              char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    cJSON *j = text ? gate_json_parse_exact(text, len) : NULL;
    if (!j) {
        seterr(err, errlen, "response is not valid JSON");
        return CORRAL_EINVAL;
    }
    int rc = gate_completion_from_json(j, out, err, errlen);
    cJSON_Delete(j);
    return rc;
}

char *gate_error_body(const char *message, const char *type, const char *code)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *e = cJSON_AddObjectToObject(o, "error");
    cJSON_AddStringToObject(e, "message", message ? message : "error");
    cJSON_AddStringToObject(e, "type", type ? type : "invalid_request_error");
    if (code)
        cJSON_AddStringToObject(e, "code", code);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}
