/*
 * The summary of a merged report: counts, errors by class and phase,
 * rewards, pass@k and timing percentiles, as JSON or text.  Fields and
 * definitions: docs/report.md.  Rows are summarized in key order, so the
 * summary does not depend on the order results were added in.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crl_common.h"
#include "report/report_internal.h"

double corral_report_pass_at_k(unsigned n, unsigned c, unsigned k)
{
    if (k == 0 || k > n || c > n)
        return NAN;
    if (n - c < k)
        return 1.0;
    /* C(n-c, k) / C(n, k) = prod_{i=n-c+1}^{n} (1 - k/i) */
    double fail = 1.0;
    for (unsigned i = n - c + 1; i <= n; i++)
        fail *= 1.0 - (double)k / (double)i;
    return 1.0 - fail;
}

double crl_report_percentile(const double *sorted, size_t n, double p)
{
    if (!n)
        return 0;
    double rank = ceil(p / 100.0 * (double)n);
    size_t i = rank < 1 ? 0 : (size_t)rank - 1;
    return sorted[i < n ? i : n - 1];
}

static int cmp_rows(const void *a, const void *b)
{
    return strcmp((*(const struct crl_report_row *const *)a)->key, (*(const struct crl_report_row *const *)b)->key);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

struct crl_report_fact crl_report_fact_of(const cJSON *d)
{
    struct crl_report_fact f = {0};
    const cJSON *task = cJSON_GetObjectItemCaseSensitive(d, "task");
    const cJSON *dg = cJSON_GetObjectItemCaseSensitive(d, "task_digest");
    const cJSON *dir = cJSON_GetObjectItemCaseSensitive(task, "dir");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(task, "name");
    f.task = cJSON_IsString(dg) ? dg->valuestring : cJSON_IsString(dir) ? dir->valuestring : "";
    f.name = cJSON_IsString(name) ? name->valuestring : cJSON_IsString(dir) ? dir->valuestring : "";
    const cJSON *rw = cJSON_GetObjectItemCaseSensitive(d, "reward");
    f.has_reward = cJSON_IsNumber(rw) && isfinite(rw->valuedouble);
    f.reward = f.has_reward ? rw->valuedouble : 0;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(d, "error");
    f.errored = e && !cJSON_IsNull(e);
    if (f.errored) {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "class");
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(e, "phase");
        f.err_class = cJSON_IsString(c) ? c->valuestring : "unknown";
        f.err_phase = cJSON_IsString(p) ? p->valuestring : "unknown";
    }
    f.passed = !f.errored && f.has_reward && f.reward >= CRL_REPORT_PASS_REWARD;
    return f;
}

static void count_into(cJSON *obj, const char *key)
{
    cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (it)
        cJSON_SetNumberValue(it, it->valuedouble + 1);
    else
        cJSON_AddNumberToObject(obj, key, 1);
}

/* {"n", "mean", "p50", "p90", "p99", "max"} of `v` (sorted here). */
static cJSON *stats(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "n", (double)n);
    cJSON_AddNumberToObject(o, "mean", n ? sum / (double)n : 0);
    cJSON_AddNumberToObject(o, "p50", crl_report_percentile(v, n, 50));
    cJSON_AddNumberToObject(o, "p90", crl_report_percentile(v, n, 90));
    cJSON_AddNumberToObject(o, "p99", crl_report_percentile(v, n, 99));
    cJSON_AddNumberToObject(o, "max", n ? v[n - 1] : 0);
    return o;
}

/* Per-phase timings: each phase's values gathered in row order. */
static cJSON *timings(struct crl_report_row **rows, size_t n)
{
    cJSON *out = cJSON_CreateObject();
    double *v = malloc((n ? n : 1) * sizeof *v);
    struct crl_strv phases = {0};
    for (size_t i = 0; i < n; i++) {
        const cJSON *t, *ph = cJSON_GetObjectItemCaseSensitive(rows[i]->doc, "timings_ms");
        if (!cJSON_IsObject(ph))
            continue;
        cJSON_ArrayForEach(t, ph)
        {
            int seen = 0;
            for (size_t j = 0; j < phases.n && !seen; j++)
                seen = strcmp(phases.v[j], t->string) == 0;
            if (!seen && crl_strv_push(&phases, t->string))
                break;
        }
    }
    for (size_t j = 0; v && out && j < phases.n; j++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            const cJSON *ph = cJSON_GetObjectItemCaseSensitive(rows[i]->doc, "timings_ms");
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(ph, phases.v[j]);
            if (cJSON_IsNumber(t) && isfinite(t->valuedouble))
                v[m++] = t->valuedouble;
        }
        cJSON_AddItemToObject(out, phases.v[j], stats(v, m));
    }
    crl_strv_free(&phases);
    free(v);
    return out;
}

struct crl_report_row **crl_report_sorted_rows(const corral_report *r)
{
    struct crl_report_row **rows = malloc((r->n ? r->n : 1) * sizeof *rows);
    for (size_t i = 0; rows && i < r->n; i++)
        rows[i] = &r->rows[i];
    if (rows)
        qsort(rows, r->n, sizeof *rows, cmp_rows);
    return rows;
}

cJSON *crl_report_summarize(const corral_report *r, size_t *task_of)
{
    size_t n = r->n;
    struct crl_report_row **rows = crl_report_sorted_rows(r);
    struct crl_report_fact *f = malloc((n ? n : 1) * sizeof *f);
    cJSON *j = cJSON_CreateObject();
    if (!rows || !f || !j) {
        free(rows), free(f), cJSON_Delete(j);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        f[i] = crl_report_fact_of(rows[i]->doc);

    cJSON_AddNumberToObject(j, "rollouts", (double)n);
    cJSON_AddNumberToObject(j, "duplicates", (double)r->duplicates);
    cJSON *errors = cJSON_AddObjectToObject(j, "errors");
    cJSON *by_class = cJSON_CreateObject(), *by_phase = cJSON_CreateObject();
    size_t n_err = 0, rewarded = 0;
    double reward_sum = 0;
    for (size_t i = 0; i < n; i++) {
        if (f[i].errored) {
            n_err++;
            count_into(by_class, f[i].err_class);
            count_into(by_phase, f[i].err_phase);
        }
        if (f[i].has_reward)
            rewarded++, reward_sum += f[i].reward;
    }
    cJSON_AddNumberToObject(errors, "total", (double)n_err);
    cJSON_AddItemToObject(errors, "by_class", by_class);
    cJSON_AddItemToObject(errors, "by_phase", by_phase);
    cJSON *reward = cJSON_AddObjectToObject(j, "reward");
    cJSON_AddNumberToObject(reward, "rewarded", (double)rewarded);
    if (rewarded)
        cJSON_AddNumberToObject(reward, "mean", reward_sum / (double)rewarded);
    else
        cJSON_AddNullToObject(reward, "mean");

    /* Tasks: rows are sorted by key, whose prefix is the task digest, so a
     * task's rows are adjacent (results without a digest are one task per
     * directory: gathered by a scan). */
    cJSON *tasks = cJSON_CreateArray();
    unsigned min_attempts = 0;
    unsigned char *done = calloc(n ? n : 1, 1);
    unsigned *na = calloc(n ? n : 1, sizeof *na), *nc = calloc(n ? n : 1, sizeof *nc);
    size_t n_tasks = 0;
    for (size_t i = 0; done && na && nc && i < n; i++) {
        if (done[i])
            continue;
        unsigned att = 0, pass = 0, err = 0, rw = 0;
        double sum = 0;
        for (size_t k = i; k < n; k++) {
            if (done[k] || strcmp(f[k].task, f[i].task) != 0)
                continue;
            done[k] = 1;
            if (task_of)
                task_of[k] = n_tasks;
            att++, pass += (unsigned)f[k].passed, err += (unsigned)f[k].errored;
            if (f[k].has_reward)
                rw++, sum += f[k].reward;
        }
        na[n_tasks] = att, nc[n_tasks] = pass;
        n_tasks++;
        min_attempts = n_tasks == 1 || att < min_attempts ? att : min_attempts;
        cJSON *t = cJSON_CreateObject();
        cJSON_AddStringToObject(t, "name", f[i].name);
        cJSON_AddStringToObject(t, "digest", f[i].task);
        cJSON_AddNumberToObject(t, "attempts", att);
        cJSON_AddNumberToObject(t, "passed", pass);
        cJSON_AddNumberToObject(t, "errors", err);
        if (rw)
            cJSON_AddNumberToObject(t, "mean_reward", sum / rw);
        else
            cJSON_AddNullToObject(t, "mean_reward");
        cJSON_AddItemToArray(tasks, t);
    }
    cJSON_AddNumberToObject(j, "tasks", (double)n_tasks);
    cJSON *pk = cJSON_AddObjectToObject(j, "pass_at_k");
    for (unsigned k = 1; n_tasks && k <= min_attempts; k *= 2) {
        double s = 0;
        for (size_t t = 0; t < n_tasks; t++)
            s += corral_report_pass_at_k(na[t], nc[t], k);
        char key[16];
        snprintf(key, sizeof key, "%u", k);
        cJSON_AddNumberToObject(pk, key, s / (double)n_tasks);
    }
    cJSON_AddItemToObject(j, "per_task", tasks);
    free(done), free(na), free(nc);
    cJSON_AddItemToObject(j, "timings_ms", timings(rows, n));

    cJSON *inputs = cJSON_AddArrayToObject(j, "inputs");
    for (size_t i = 0; i < r->n_inputs; i++) {
        const struct crl_report_input *in = &r->inputs[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", in->name);
        cJSON_AddNumberToObject(o, "lines", (double)in->lines);
        cJSON_AddNumberToObject(o, "results", (double)in->results);
        cJSON *sk = cJSON_AddArrayToObject(o, "skipped");
        for (size_t s = 0; s < in->n_skipped; s++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddNumberToObject(e, "line", (double)in->skipped[s].line);
            cJSON_AddStringToObject(e, "why", in->skipped[s].why);
            cJSON_AddItemToArray(sk, e);
        }
        cJSON_AddItemToArray(inputs, o);
    }
    free(rows), free(f);
    return j;
}

char *corral_report_summary_json(const corral_report *r)
{
    cJSON *j = r ? crl_report_summarize(r, NULL) : NULL;
    char *s = j ? cJSON_Print(j) : NULL;
    cJSON_Delete(j);
    return s;
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static int counts_line(struct crl_buf *b, const char *label, const cJSON *obj)
{
    const cJSON *it;
    int bad = crl_buf_addf(b, "  %-9s", label), any = 0;
    cJSON_ArrayForEach(it, obj)
    {
        bad |= crl_buf_addf(b, " %s %.0f", it->string, it->valuedouble);
        any = 1;
    }
    return bad | crl_buf_puts(b, any ? "\n" : " none\n");
}

char *corral_report_summary_text(const corral_report *r)
{
    cJSON *j = r ? crl_report_summarize(r, NULL) : NULL;
    if (!j)
        return NULL;
    struct crl_buf b = {0};
    int bad = 0;
    const cJSON *errors = cJSON_GetObjectItemCaseSensitive(j, "errors");
    const cJSON *reward = cJSON_GetObjectItemCaseSensitive(j, "reward");
    const cJSON *mean = cJSON_GetObjectItemCaseSensitive(reward, "mean");
    bad |= crl_buf_addf(&b, "rollouts: %.0f over %.0f tasks (%.0f duplicates replaced by a later result)\n",
                 num(j, "rollouts"), num(j, "tasks"), num(j, "duplicates"));
    bad |= crl_buf_addf(&b, "errors: %.0f\n", num(errors, "total"));
    bad |= counts_line(&b, "by class", cJSON_GetObjectItemCaseSensitive(errors, "by_class"));
    bad |= counts_line(&b, "by phase", cJSON_GetObjectItemCaseSensitive(errors, "by_phase"));
    if (cJSON_IsNumber(mean))
        bad |= crl_buf_addf(&b, "mean reward: %.4f over %.0f rewarded rollouts\n", mean->valuedouble, num(reward, "rewarded"));
    else
        bad |= crl_buf_puts(&b, "mean reward: none (no rollout has a reward)\n");
    const cJSON *it;
    bad |= crl_buf_puts(&b, "pass@k:");
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "pass_at_k"))
    {
        bad |= crl_buf_addf(&b, "  pass@%s %.4f", it->string, it->valuedouble);
    }
    bad |= crl_buf_puts(&b, "\n\ntask                             attempts  passed  errors  mean reward\n");
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "per_task"))
    {
        const cJSON *mr = cJSON_GetObjectItemCaseSensitive(it, "mean_reward");
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(it, "name");
        char m[32] = "-";
        if (cJSON_IsNumber(mr))
            snprintf(m, sizeof m, "%.4f", mr->valuedouble);
        bad |= crl_buf_addf(&b, "%-32.32s %8.0f %7.0f %7.0f  %11s\n", nm->valuestring, num(it, "attempts"),
                     num(it, "passed"), num(it, "errors"), m);
    }
    bad |= crl_buf_puts(&b, "\ntimings (ms)            n       mean        p50        p90        p99        max\n");
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "timings_ms"))
    {
        bad |= crl_buf_addf(&b, "%-16.16s %8.0f %10.1f %10.0f %10.0f %10.0f %10.0f\n", it->string, num(it, "n"),
                     num(it, "mean"), num(it, "p50"), num(it, "p90"), num(it, "p99"), num(it, "max"));
    }
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "inputs"))
    {
        const cJSON *s;
        cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(it, "skipped"))
        {
            bad |= crl_buf_addf(&b, "skipped %s:%.0f: %s\n", cJSON_GetObjectItemCaseSensitive(it, "name")->valuestring,
                         num(s, "line"), cJSON_GetObjectItemCaseSensitive(s, "why")->valuestring);
        }
    }
    cJSON_Delete(j);
    if (bad) {
        crl_buf_free(&b);
        return NULL;
    }
    return b.p ? b.p : strdup("");
}
