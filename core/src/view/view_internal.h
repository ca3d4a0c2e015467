/*
 * Inside the view subsystem: view_data.c makes the documents the page
 * embeds, view.c assembles the page around them.  See docs/view.md.
 */
#ifndef CRL_VIEW_INTERNAL_H
#define CRL_VIEW_INTERNAL_H

#include <stddef.h>

#include <cjson/cJSON.h>
#include <corral/view.h>

#include "crl_common.h"
#include "report/report_internal.h"

/* Defaults of the size caps (docs/view.md "Limits"). */
#define CRL_VIEW_TEXT_MAX ((size_t)64 * 1024)
#define CRL_VIEW_ROLLOUT_MAX ((size_t)2 * 1024 * 1024)
#define CRL_VIEW_TOTAL_MAX ((size_t)256 * 1024 * 1024)
/* An error message in the index (the task table) is cut to this many bytes. */
#define CRL_VIEW_INDEX_MESSAGE_MAX 240

/* The caps in effect: the options' or the defaults. */
struct crl_view_limits {
    size_t text_max, rollout_max, total_max;
};

/* The index document: names, summaries, the phases and one compact row per
 * result in key order (fields in docs/view.md "Embedded data"), its texts
 * cut to lim->text_max.  `rows` are the run's rows in that order
 * (crl_report_sorted_rows()).  The caller's; NULL when out of memory. */
cJSON *crl_view_index(const corral_report *run, struct crl_report_row **rows, const struct corral_view_options *o,
                      const struct crl_view_limits *lim);

/* One result's detail {"r": result, "cut": {...}} with texts past
 * text_max and calls and events past rollout_max cut, what was cut counted
 * in "cut"; once *total (what details used so far) would pass total_max,
 * {"r": null, "cut": {"omitted": true}}.  Adds its size to *total.  The
 * caller's; NULL when out of memory. */
cJSON *crl_view_detail(const cJSON *result, const struct crl_view_limits *lim, size_t *total);

/* Append `j` printed compactly with '<', '>', '&', U+2028 and U+2029
 * written as \u escapes, so that the text can sit inside a <script> element
 * (it can then hold neither "</script" nor "<!--").  0 or CORRAL_ENOMEM. */
int crl_view_put_json(struct crl_buf *b, const cJSON *j);

/* The embedded assets (view_assets.c, made by embed.cmake). */
extern const char crl_view_asset_view_html[], crl_view_asset_view_css[], crl_view_asset_view_js[];
extern const size_t crl_view_asset_view_html_len, crl_view_asset_view_css_len, crl_view_asset_view_js_len;

#endif
