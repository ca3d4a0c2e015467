/*
 * Inside the report subsystem: the merged rows (report.c reads and merges
 * them, summary.c summarizes them).  See docs/report.md.
 */
#ifndef CRL_REPORT_INTERNAL_H
#define CRL_REPORT_INTERNAL_H

#include <stddef.h>

#include <cjson/cJSON.h>
#include <corral/report.h>

/* One merged result. */
struct crl_report_row {
    char *key;          /* "DIGEST#ATTEMPT", or "rollout:ID" for results without them */
    char *json;         /* the line as read */
    cJSON *doc;         /* parsed */
};

/* A torn line that was skipped. */
struct crl_report_skip {
    size_t line;
    char *why;
};

struct crl_report_input {
    char *name;
    size_t lines, results;
    struct crl_report_skip *skipped;
    size_t n_skipped;
};

struct corral_report {
    struct crl_report_row *rows;
    size_t n, cap;
    size_t *slots;      /* open-addressing table of row index + 1 over key; 0 = empty */
    size_t n_slots;
    size_t duplicates;  /* results replaced by a later one with the same key */
    struct crl_report_input *inputs;
    size_t n_inputs;
};

/* A rollout passes with no error and a reward of at least this. */
#define CRL_REPORT_PASS_REWARD 1.0

/* What a result says, read once (strings point into `doc`). */
struct crl_report_fact {
    const char *task;    /* digest, or the task dir for results without one */
    const char *name;
    int passed, has_reward, errored;
    double reward;
    const char *err_class, *err_phase; /* "unknown" when missing; NULL without error */
};
struct crl_report_fact crl_report_fact_of(const cJSON *doc);

/* The rows in key order (the order every summary uses): a malloc'ed array
 * of pointers into `r` the caller frees; NULL when out of memory. */
struct crl_report_row **crl_report_sorted_rows(const corral_report *r);

/* The summary document (docs/report.md "JSON shape"), the caller's; NULL
 * when out of memory.  With `task_of` (r->n entries), task_of[i] is set to
 * the index in "per_task" of the i-th row in key order. */
cJSON *crl_report_summarize(const corral_report *r, size_t *task_of);

/* The nearest-rank percentile p (0 < p <= 100) of n sorted values: the
 * ceil(p/100 * n)-th smallest; 0 when n is 0. */
double crl_report_percentile(const double *sorted, size_t n, double p);

#endif
