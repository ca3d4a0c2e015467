/*
 * libcorral view: one self-contained HTML page over merged results (a
 * corral_report): a summary with charts, a task table, every rollout's
 * result, outputs, agent events and model calls, and optionally a
 * comparison with a second run.  The page needs nothing but a browser: its
 * CSS, JavaScript and data are inline and a Content-Security-Policy forbids
 * every fetch.  What it shows and its limits: docs/view.md.
 */
#ifndef CORRAL_VIEW_H
#define CORRAL_VIEW_H

#include <corral/report.h>

#ifdef __cplusplus
extern "C" {
#endif

struct corral_view_options {
    size_t struct_size;          /* sizeof(struct corral_view_options) */
    const char *run_name;        /* what the page calls the run (e.g. its file); NULL: "run" */
    /* With a baseline the page compares its tasks with the run's (reward
     * and pass deltas per task digest); NULL: no comparison. */
    const corral_report *base;
    const char *base_name;       /* NULL: "base" */
    /* Size caps, 0 for the defaults (docs/view.md "Limits"): one text in a
     * rollout (bytes), one rollout's embedded detail, all details together.
     * What is cut is said on the page, never cut silently. */
    size_t text_max, rollout_max, total_max;
};

/* The page for `run` as a malloc'ed NUL-terminated string in *html (the
 * caller frees) and its length in *len.  0, or CORRAL_EINVAL (no run, no
 * options) / CORRAL_ENOMEM with the reason in `call`. */
int corral_view_html(const corral_report *run, const struct corral_view_options *options, char **html, size_t *len,
                     struct corral_call *call);

#ifdef __cplusplus
}
#endif

#endif
