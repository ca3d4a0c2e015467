/* The view library (docs/view.md): JSON made safe inside <script>, texts,
 * calls and events cut with a note and never silently, the page's slots
 * and the Content-Security-Policy hash of its script, and the index's rows
 * against the report they come from. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <openssl/evp.h>

#include "view/view_internal.h"

static char *put(const cJSON *j)
{
    struct crl_buf b = {0};
    assert_int_equal(crl_view_put_json(&b, j), 0);
    return b.p;
}

static void put_json_escapes_what_could_end_a_script(void **state)
{
    (void)state;
    const char *evil = "</script><!-- a&b > \xe2\x80\xa8 \xe2\x80\xa9 </SCRIPT \xe2\x80\xa7";
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, evil, evil);
    char *s = put(j);
    assert_null(strpbrk(s, "<>&"));
    assert_null(strstr(s, "\xe2\x80\xa8"));
    assert_null(strstr(s, "\xe2\x80\xa9"));
    assert_non_null(strstr(s, "\\u003c/script\\u003e\\u003c!-- a\\u0026b \\u003e \\u2028 \\u2029"));
    assert_non_null(strstr(s, "\xe2\x80\xa7")); /* a neighbour of U+2028 stays as it is */
    cJSON *back = cJSON_Parse(s); /* and it is the same JSON */
    assert_non_null(back);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(back, evil)->valuestring, evil);
    cJSON_Delete(back);
    cJSON_Delete(j);
    free(s);
}

/* A result whose one text is `text_len` bytes and with `calls` calls and
 * `events` events of about 1000 bytes each. */
static cJSON *big_result(size_t text_len, int calls, int events)
{
    char *text = malloc(text_len + 1);
    memset(text, 'x', text_len);
    text[text_len] = 0;
    text[text_len / 2] = (char)0xc3, text[text_len / 2 + 1] = (char)0xa9; /* a 2-byte character mid-way */
    char filler[1001];
    memset(filler, 'y', 1000);
    filler[1000] = 0;
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "rollout_id", "r1");
    cJSON_AddStringToObject(r, "note", text);
    cJSON *t = cJSON_AddArrayToObject(r, "transcript"), *e = cJSON_AddArrayToObject(r, "events");
    for (int i = 0; i < calls; i++)
        cJSON_AddItemToArray(t, cJSON_CreateString(filler));
    for (int i = 0; i < events; i++)
        cJSON_AddItemToArray(e, cJSON_CreateString(filler));
    free(text);
    return r;
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static void detail_cuts_long_texts_and_says_so(void **state)
{
    (void)state;
    cJSON *r = big_result(5001, 0, 0);
    struct crl_view_limits lim = {.text_max = 2501, .rollout_max = 1 << 20, .total_max = 1 << 30};
    size_t total = 0;
    cJSON *d = crl_view_detail(r, &lim, &total);
    const cJSON *cut = cJSON_GetObjectItemCaseSensitive(d, "cut");
    assert_int_equal((int)num(cut, "texts"), 1);
    assert_int_equal((int)num(cut, "text_max"), 2501);
    const char *note = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(d, "r"), "note")->valuestring;
    /* cut before the 2-byte character at 2500, not inside it */
    assert_int_equal(strspn(note, "x"), 2500);
    assert_string_equal(note + 2500, "\n[... 2501 more bytes cut by corral view]");
    assert_true(total > 2500 && total < 3000);
    /* the input is not changed */
    assert_int_equal(strlen(cJSON_GetObjectItemCaseSensitive(r, "note")->valuestring), 5001);
    cJSON_Delete(d);
    cJSON_Delete(r);
}

static void detail_drops_calls_then_events_past_the_rollout_cap(void **state)
{
    (void)state;
    cJSON *r = big_result(10, 30, 30);
    struct crl_view_limits lim = {.text_max = 1 << 20, .rollout_max = 35000, .total_max = 1 << 30};
    size_t total = 0;
    cJSON *d = crl_view_detail(r, &lim, &total);
    const cJSON *cut = cJSON_GetObjectItemCaseSensitive(d, "cut"), *dr = cJSON_GetObjectItemCaseSensitive(d, "r");
    /* every call fits (30 x 1003 bytes), then 4 events; the rest are counted */
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(dr, "transcript")), 30);
    int kept = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(dr, "events"));
    assert_int_equal(kept, 4);
    assert_int_equal((int)num(cut, "events"), 30 - kept);
    assert_int_equal((int)num(cut, "calls"), -1);
    assert_int_equal((int)num(cut, "rollout_max"), 35000);
    assert_true(total <= 35000);
    cJSON_Delete(d);
    /* past the total: the detail is left out, and said so */
    lim.total_max = total + 10;
    d = crl_view_detail(r, &lim, &total);
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(d, "r")));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(d, "cut"), "omitted")));
    cJSON_Delete(d);
    cJSON_Delete(r);
}

static void page_has_its_parts_and_the_csp_hashes_its_script(void **state)
{
    (void)state;
    corral_report *r = corral_report_new();
    struct corral_call call;
    corral_call_init(&call, 0);
    const char *jsonl =
        "{\"rollout_id\":\"a\",\"task\":{\"dir\":\"/t\",\"name\":\"hello\"},\"attempt\":0,\"task_digest\":\"sha256:1\","
        "\"reward\":1,\"error\":null,\"timings_ms\":{\"agent\":5,\"total\":9},\"transcript\":[{},{}],\"events\":[]}\n"
        "{\"rollout_id\":\"b\",\"task\":{\"dir\":\"/t\",\"name\":\"hello\"},\"attempt\":1,\"task_digest\":\"sha256:1\","
        "\"reward\":null,\"error\":{\"class\":\"agent\",\"phase\":\"agent\",\"message\":\"</script>\"},"
        "\"timings_ms\":{\"total\":3}}\n";
    assert_int_equal(corral_report_add(r, "x", jsonl, strlen(jsonl), &call), 0);
    struct corral_view_options o = {.struct_size = sizeof o, .run_name = "<run>"};
    char *html = NULL;
    size_t len = 0;
    assert_int_equal(corral_view_html(r, &o, &html, &len, &call), 0);
    assert_int_equal(strlen(html), len);
    assert_null(strstr(html, "{{"));
    /* the script's hash is the one the CSP allows */
    const char *js = strstr(html, "<script>") + strlen("<script>");
    const char *end = strstr(js, "</script>");
    unsigned char md[32];
    unsigned int n = 0;
    assert_true(EVP_Digest(js, (size_t)(end - js), md, &n, EVP_sha256(), NULL));
    char *b64 = crl_b64_encode(md, n), want[128];
    snprintf(want, sizeof want, "script-src 'sha256-%s'", b64);
    free(b64);
    assert_non_null(strstr(html, want));
    assert_int_equal((size_t)(end - js), crl_view_asset_view_js_len);
    /* no data reaches the page as markup: the script never uses innerHTML */
    assert_null(strstr(crl_view_asset_view_js, "innerHTML"));
    assert_null(strstr(crl_view_asset_view_js, "insertAdjacentHTML"));
    assert_null(strstr(crl_view_asset_view_js, "document.write"));
    /* the index: two rows in key order, the second's error and no reward */
    const char *ix = strstr(html, "<script type=\"application/json\" id=\"corral-index\">");
    assert_non_null(ix);
    ix = strchr(ix, '>') + 1;
    char *text = strndup(ix, (size_t)(strstr(ix, "</script>") - ix));
    cJSON *doc = cJSON_Parse(text);
    assert_non_null(doc);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "run"), "name")->valuestring,
                        "<run>");
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(doc, "rows");
    assert_int_equal(cJSON_GetArraySize(rows), 2);
    char *row1 = cJSON_PrintUnformatted(cJSON_GetArrayItem(rows, 1));
    assert_string_equal(row1, "[0,1,null,0,\"agent\",\"agent\",\"</script>\",0,0,[null,3],\"b\",null]");
    char *row0 = cJSON_PrintUnformatted(cJSON_GetArrayItem(rows, 0));
    assert_string_equal(row0, "[0,0,1,1,null,null,null,2,0,[5,9],\"a\",null]");
    free(row0), free(row1), free(text);
    cJSON_Delete(doc);
    assert_non_null(strstr(html, "id=\"d0\""));
    assert_non_null(strstr(html, "id=\"d1\""));
    assert_null(strstr(html, "id=\"d2\""));
    assert_null(strstr(html, "\"base\":"));
    free(html);
    /* a name past text_max is cut in the index too */
    o.text_max = 4, o.run_name = "<run>xx";
    assert_int_equal(corral_view_html(r, &o, &html, &len, &call), 0);
    assert_non_null(strstr(html, "\"name\":\"\\u003crun\\n[... 3 more bytes cut by corral view]\""));
    free(html);
    o.text_max = 0;
    /* refusals */
    assert_int_equal(corral_view_html(NULL, &o, &html, &len, &call), CORRAL_EINVAL);
    o.struct_size = 4;
    assert_int_equal(corral_view_html(r, &o, &html, &len, &call), CORRAL_EINVAL);
    corral_report_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(put_json_escapes_what_could_end_a_script),
        cmocka_unit_test(detail_cuts_long_texts_and_says_so),
        cmocka_unit_test(detail_drops_calls_then_events_past_the_rollout_cap),
        cmocka_unit_test(page_has_its_parts_and_the_csp_hashes_its_script),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
