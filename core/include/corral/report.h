/*
 * libcorral reports: read RolloutResult JSONL files (one result a line, as
 * `corral run` writes them), merge shards deduplicated by (task digest,
 * attempt), and summarize them.  The summary's fields, its JSON shape and
 * the dedup rule are in docs/report.md.
 */
#ifndef CORRAL_REPORT_H
#define CORRAL_REPORT_H

#include <corral/corral.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct corral_report corral_report;

/* An empty report, owned by the caller (corral_report_free); NULL when out
 * of memory. */
corral_report *corral_report_new(void);
void corral_report_free(corral_report *r);

/* Add the results of one JSONL file; `name` is what messages call it (a
 * path).  A last line without its newline that is not complete JSON is a
 * torn write: it is skipped and listed in the summary's "inputs".  Any
 * other line that is not a JSON object with a "rollout_id" string is
 * refused: CORRAL_EINVAL with "NAME:LINE: why" in `call`, and nothing of
 * this input is added.  A result whose (task_digest, attempt) was added
 * before replaces it (later inputs, and later lines, win).  The caller
 * keeps `data`. */
int corral_report_add(corral_report *r, const char *name, const char *data, size_t len, struct corral_call *call);
/* corral_report_add() over the contents of the file at `path`. */
int corral_report_add_file(corral_report *r, const char *path, struct corral_call *call);

/* The merged results: how many, and the i-th one's RolloutResult JSON
 * (owned by the report, valid until the next add or free; NULL past the end). */
size_t corral_report_count(const corral_report *r);
const char *corral_report_result_json(const corral_report *r, size_t i);

/* The summary as JSON (docs/report.md "JSON shape") or as text for people;
 * malloc'ed, the caller frees; NULL when out of memory. */
char *corral_report_summary_json(const corral_report *r);
char *corral_report_summary_text(const corral_report *r);

/* The unbiased pass@k estimate for a task with n attempts of which c passed:
 * 1 - C(n-c, k) / C(n, k), computed as a product (no large binomials);
 * NaN when k is 0 or greater than n, or c > n. */
double corral_report_pass_at_k(unsigned n, unsigned c, unsigned k);

#ifdef __cplusplus
}
#endif

#endif
