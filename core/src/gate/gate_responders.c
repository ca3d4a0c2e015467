/*
 * The gate's responders: a small vtable (struct gate_responder_ops) with
 * one instance per rollout.
 *
 *   trainer   queue the call for corral_gate_next_request() / the trainer API
 *   replay    answer at once from a JSONL script the gate loaded once (gate_scripts.c)
 *   upstream  hand the call to the upstream thread (gate_upstream.c)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gate/gate_internal.h"

/* ---- trainer ------------------------------------------------------------------ */

static void trainer_submit(struct corral_gate *g, struct gate_rollout *r, struct gate_conn *c)
{
    (void)r;
    gate_pending_add_locked(g, c);
    gate_queue_push_locked(g, c);
}

const struct gate_responder_ops gate_trainer_ops = {
    .name = "trainer",
    .submit = trainer_submit,
    .free = NULL,
};

/* ---- replay --------------------------------------------------------------------- */

struct replay_state {
    struct gate_script *script;        /* shared with the gate's other rollouts of it */
    size_t next;                       /* (L) */
};

static void replay_submit(struct corral_gate *g, struct gate_rollout *r, struct gate_conn *c)
{
    struct replay_state *s = r->state;
    const struct gate_replay *script = &s->script->replay;
    if (s->next >= script->n) {
        char m[160];
        snprintf(m, sizeof m, "corral gate: the replay script has no response left (it has %zu)", script->n);
        gate_fail_locked(g, c, 400, m, "invalid_request_error", "replay_exhausted");
        return;
    }
    gate_answer_locked(g, c, &script->lines[s->next++]);
}

static void replay_free(void *state)
{
    struct replay_state *s = state;
    if (!s)
        return;
    gate_script_release(s->script);
    free(s);
}

const struct gate_responder_ops gate_replay_ops = {
    .name = "replay",
    .submit = replay_submit,
    .free = replay_free,
};

/* ---- upstream -------------------------------------------------------------------- */

struct upstream_state {
    char *url;
    char *key_env;
    char *model;
    int token_ids;
    char *cache_salt;
    int dialect;       /* enum corral_gate_dialect the upstream speaks */
};

static void upstream_submit(struct corral_gate *g, struct gate_rollout *r, struct gate_conn *c)
{
    struct upstream_state *s = r->state;
    gate_pending_add_locked(g, c);
    c->state = GS_CLAIMED;
    if (s->dialect != GATE_DIALECT_CHAT) {
        gate_passthrough_submit_locked(g, c, s->url, s->key_env, s->model, s->dialect);
        return;
    }
    if (gate_upstream_submit_locked(g, c, s->url, s->key_env, s->model, s->token_ids, s->cache_salt) != 0)
        gate_fail_locked(g, c, 502, "corral gate: cannot start the upstream request", "server_error",
                         "upstream_unavailable");
}

static void upstream_free(void *state)
{
    struct upstream_state *s = state;
    if (!s)
        return;
    free(s->url);
    free(s->key_env);
    free(s->model);
    free(s->cache_salt);
    free(s);
}

const struct gate_responder_ops gate_upstream_ops = {
    .name = "upstream",
    .submit = upstream_submit,
    .free = upstream_free,
};

/* ---- construction ------------------------------------------------------------------ */

int gate_responder_make(struct corral_gate *g, const struct corral_gate_responder *spec,
                        const struct gate_responder_ops **ops, void **state, char *err, size_t errlen)
{
    *state = NULL;
    if (!spec || spec->struct_size < offsetof(struct corral_gate_responder, upstream_token_ids) + sizeof(int)) {
        snprintf(err, errlen, "responder spec missing or of unknown struct_size");
        return CORRAL_EINVAL;
    }
    switch (spec->kind) {
    case CORRAL_GATE_TRAINER:
        *ops = &gate_trainer_ops;
        return 0;
    case CORRAL_GATE_REPLAY: {
        struct replay_state *s = calloc(1, sizeof *s);
        if (!s) {
            snprintf(err, errlen, "out of memory");
            return CORRAL_ENOMEM;
        }
        char *owned = NULL;
        const char *text = spec->replay_jsonl;
        size_t len = text ? strlen(text) : 0;
        if (!text && spec->replay_path) {
            owned = gate_read_file(spec->replay_path, &len, err, errlen);
            if (!owned) {
                free(s);
                return CORRAL_EINVAL;
            }
            text = owned;
        }
        if (!text) {
            free(s);
            snprintf(err, errlen, "a replay responder needs replay_path or replay_jsonl");
            return CORRAL_EINVAL;
        }
        int rc = gate_script_acquire(&g->scripts, text, len, &s->script, err, errlen);
        free(owned);
        if (rc) {
            free(s);
            return rc;
        }
        *ops = &gate_replay_ops;
        *state = s;
        return 0;
    }
    case CORRAL_GATE_UPSTREAM: {
        const char *u = spec->upstream_url;
        if (!u || (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0)) {
            snprintf(err, errlen, "an upstream responder needs an http:// or https:// upstream_url");
            return CORRAL_EINVAL;
        }
        struct upstream_state *s = calloc(1, sizeof *s);
        if (!s || !(s->url = strdup(u)) ||
            (spec->upstream_api_key_env && !(s->key_env = strdup(spec->upstream_api_key_env))) ||
            (spec->upstream_model && !(s->model = strdup(spec->upstream_model))) ||
            (CORRAL_HAS_FIELD(spec, upstream_cache_salt) && spec->upstream_cache_salt &&
             !(s->cache_salt = strdup(spec->upstream_cache_salt)))) {
            upstream_free(s);
            snprintf(err, errlen, "out of memory");
            return CORRAL_ENOMEM;
        }
        /* Strip a trailing '/' so "{url}/chat/completions" is well formed. */
        size_t n = strlen(s->url);
        while (n > 0 && s->url[n - 1] == '/')
            s->url[--n] = 0;
        s->token_ids = spec->upstream_token_ids;
        s->dialect = CORRAL_HAS_FIELD(spec, upstream_dialect) ? spec->upstream_dialect : 0;
        if (s->dialect < GATE_DIALECT_CHAT || s->dialect > GATE_DIALECT_GEMINI) {
            upstream_free(s);
            snprintf(err, errlen, "upstream_dialect must be chat, messages, responses or gemini");
            return CORRAL_EINVAL;
        }
        if (gate_upstream_start(g) != 0) {
            upstream_free(s);
            snprintf(err, errlen, "cannot start the upstream thread");
            return CORRAL_EINTERNAL;
        }
        *ops = &gate_upstream_ops;
        *state = s;
        return 0;
    }
    default:
        snprintf(err, errlen, "unknown responder kind %d", spec->kind);
        return CORRAL_EINVAL;
    }
}
