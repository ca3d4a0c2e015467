/*
 * corral_view_html(): the page.  The template (assets/view.html) has four
 * slots filled in order: the Content-Security-Policy, which allows only the
 * page's own script and style by their SHA-256; the CSS; the data (the
 * index and one detail per result, each in a <script type="application/json">
 * that crl_view_put_json() makes safe); the JavaScript.  See docs/view.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "view/view_internal.h"

/* "'sha256-BASE64'" of text, into b. */
static int put_hash(struct crl_buf *b, const char *text, size_t len)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!EVP_Digest(text, len, md, &mdlen, EVP_sha256(), NULL))
        return CORRAL_ENOMEM;
    char *b64 = crl_b64_encode(md, mdlen);
    int bad = !b64 || crl_buf_addf(b, "'sha256-%s'", b64);
    free(b64);
    return bad ? CORRAL_ENOMEM : 0;
}

static int put_csp(struct crl_buf *b)
{
    int bad = crl_buf_puts(b, "default-src 'none'; script-src ");
    bad |= put_hash(b, crl_view_asset_view_js, crl_view_asset_view_js_len);
    bad |= crl_buf_puts(b, "; style-src ");
    bad |= put_hash(b, crl_view_asset_view_css, crl_view_asset_view_css_len);
    bad |= crl_buf_puts(b, "; base-uri 'none'; form-action 'none'");
    return bad ? CORRAL_ENOMEM : 0;
}

static int put_block(struct crl_buf *b, const char *id, const cJSON *j)
{
    int bad = crl_buf_addf(b, "<script type=\"application/json\" id=\"%s\">", id);
    bad |= crl_view_put_json(b, j);
    bad |= crl_buf_puts(b, "</script>\n");
    return bad ? CORRAL_ENOMEM : 0;
}

/* The index block, then one detail block per row ("d0", "d1", ...). */
static int put_data(struct crl_buf *b, const corral_report *run, const struct corral_view_options *o)
{
    struct crl_view_limits lim = {
        .text_max = o->text_max ? o->text_max : CRL_VIEW_TEXT_MAX,
        .rollout_max = o->rollout_max ? o->rollout_max : CRL_VIEW_ROLLOUT_MAX,
        .total_max = o->total_max ? o->total_max : CRL_VIEW_TOTAL_MAX,
    };
    struct crl_report_row **rows = crl_report_sorted_rows(run);
    cJSON *ix = rows ? crl_view_index(run, rows, o, &lim) : NULL;
    int st = ix ? put_block(b, "corral-index", ix) : CORRAL_ENOMEM;
    cJSON_Delete(ix);
    size_t total = 0;
    for (size_t i = 0; !st && i < corral_report_count(run); i++) {
        cJSON *d = crl_view_detail(rows[i]->doc, &lim, &total);
        char id[32];
        snprintf(id, sizeof id, "d%zu", i);
        st = d ? put_block(b, id, d) : CORRAL_ENOMEM;
        cJSON_Delete(d);
    }
    free(rows);
    return st;
}

int corral_view_html(const corral_report *run, const struct corral_view_options *o, char **html, size_t *len,
                     struct corral_call *call)
{
    if (!run || !o || o->struct_size < sizeof *o || !html)
        return corral_call_fail(call, CORRAL_EINVAL, "view: no report, options or output");
    *html = NULL;
    static const char *const slots[] = {"{{CSP}}", "{{CSS}}", "{{DATA}}", "{{JS}}"};
    struct crl_buf b = {0};
    const char *t = crl_view_asset_view_html;
    int st = 0;
    for (size_t i = 0; !st && i < sizeof slots / sizeof slots[0]; i++) {
        const char *at = strstr(t, slots[i]);
        if (!at)
            return crl_buf_free(&b), corral_call_fail(call, CORRAL_EINVAL, "view: the page template has no %s", slots[i]);
        st = crl_buf_add(&b, t, (size_t)(at - t));
        if (!st && i == 0)
            st = put_csp(&b);
        else if (!st && i == 1)
            st = crl_buf_add(&b, crl_view_asset_view_css, crl_view_asset_view_css_len);
        else if (!st && i == 2)
            st = put_data(&b, run, o);
        else if (!st)
            st = crl_buf_add(&b, crl_view_asset_view_js, crl_view_asset_view_js_len);
        t = at + strlen(slots[i]);
    }
    if (!st)
        st = crl_buf_puts(&b, t);
    if (st) {
        crl_buf_free(&b);
        return corral_call_fail(call, CORRAL_ENOMEM, "view: out of memory");
    }
    *html = b.p;
    if (len)
        *len = b.len;
    return 0;
}
