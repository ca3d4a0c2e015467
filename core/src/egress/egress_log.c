/* The egress decision log: the first entries kept whole, later ones
 * counted per (phase, host, port, decision, rule), bounded both ways.
 * See docs/egress.md ("The record"). */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crl_common.h"
#include "egress/egress_proxy.h"

int crl_egress_log_init(struct crl_egress_log *l, size_t cap, size_t cap_agg)
{
    memset(l, 0, sizeof *l);
    l->cap = cap;
    l->cap_agg = cap_agg;
    return pthread_mutex_init(&l->mu, NULL) == 0 ? 0 : -1;
}

static int same_key(const struct crl_egress_entry *a, const struct crl_egress_entry *b)
{
    return a->phase == b->phase && a->port == b->port && strcmp(a->decision, b->decision) == 0 &&
           strcmp(a->host, b->host) == 0 && strcmp(a->rule, b->rule) == 0;
}

void crl_egress_log_add(struct crl_egress_log *l, const struct crl_egress_entry *e)
{
    pthread_mutex_lock(&l->mu);
    if (l->n < l->cap) {
        if (!l->e && !(l->e = calloc(l->cap, sizeof *l->e)))
            goto out;
        struct crl_egress_entry *d = &l->e[l->n];
        *d = *e;
        d->path = e->path ? strdup(e->path) : NULL;
        l->n++;
        goto out;
    }
    for (size_t i = 0; i < l->n_agg; i++)
        if (same_key(&l->agg[i].key, e)) {
            l->agg[i].count++;
            l->agg[i].key.bytes += e->bytes;
            goto out;
        }
    if (l->n_agg < l->cap_agg) {
        if (!l->agg && !(l->agg = calloc(l->cap_agg, sizeof *l->agg)))
            goto out;
        struct crl_egress_aggregate *a = &l->agg[l->n_agg++];
        a->key = *e;
        a->key.path = NULL;
        a->key.method[0] = '\0';
        a->count = 1;
        goto out;
    }
    l->dropped++;
out:
    pthread_mutex_unlock(&l->mu);
}

static void add_common(cJSON *o, const struct crl_egress_entry *e)
{
    const char *ph = crl_egress_phase_name((enum crl_egress_phase)e->phase);
    if (ph)
        cJSON_AddStringToObject(o, "phase", ph);
    else
        cJSON_AddNullToObject(o, "phase");
    cJSON_AddStringToObject(o, "host", e->host);
    cJSON_AddNumberToObject(o, "port", e->port);
    cJSON_AddStringToObject(o, "decision", e->decision);
    cJSON_AddStringToObject(o, "rule", e->rule);
}

cJSON *crl_egress_log_json(struct crl_egress_log *l)
{
    cJSON *a = cJSON_CreateArray();
    if (!a)
        return NULL;
    pthread_mutex_lock(&l->mu);
    for (size_t i = 0; i < l->n; i++) {
        const struct crl_egress_entry *e = &l->e[i];
        cJSON *o = cJSON_CreateObject();
        char t[32];
        crl_time_rfc3339_ms((int64_t)e->time_ms, t);
        cJSON_AddStringToObject(o, "time", t);
        add_common(o, e);
        cJSON_AddStringToObject(o, "method", e->method);
        if (e->path)
            cJSON_AddStringToObject(o, "path", e->path);
        cJSON_AddNumberToObject(o, "bytes", (double)e->bytes);
        cJSON_AddItemToArray(a, o);
    }
    for (size_t i = 0; i < l->n_agg; i++) {
        cJSON *o = cJSON_CreateObject();
        add_common(o, &l->agg[i].key);
        cJSON_AddNumberToObject(o, "count", (double)l->agg[i].count);
        cJSON_AddNumberToObject(o, "bytes", (double)l->agg[i].key.bytes);
        cJSON_AddItemToArray(a, o);
    }
    if (l->dropped) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "dropped", (double)l->dropped);
        cJSON_AddItemToArray(a, o);
    }
    pthread_mutex_unlock(&l->mu);
    return a;
}

void crl_egress_log_free(struct crl_egress_log *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->e[i].path);
    free(l->e);
    free(l->agg);
    pthread_mutex_destroy(&l->mu);
    memset(l, 0, sizeof *l);
}
