/* libFuzzer: results JSONL (untrusted: agent output and model text inside)
 * made into corral view's page, with small caps so that cutting runs.  The
 * page must be whole: every data block is JSON holding no '<' (so neither
 * "</script" nor "<!--"), one block per result and the index, and the
 * template's end after them.  The input is also the compared base. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <corral/view.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_page(const char *html, size_t len, size_t results)
{
    if (strlen(html) != len)
        abort();
    static const char open[] = "<script type=\"application/json\" id=\"";
    size_t blocks = 0;
    for (const char *p = strstr(html, open); p; p = strstr(p, open)) {
        const char *body = strchr(p + sizeof open - 1, '>');
        const char *end = body ? strstr(body, "</script>") : NULL;
        if (!end)
            abort();
        body++;
        char *text = strndup(body, (size_t)(end - body));
        if (!text || strchr(text, '<') || strstr(text, "<!--"))
            abort();
        cJSON *j = cJSON_Parse(text);
        if (!j)
            abort();
        cJSON_Delete(j);
        free(text);
        blocks++;
        p = end;
    }
    if (blocks != results + 1)
        abort();
    if (len < 8 || strcmp(html + len - 8, "</html>\n") != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    corral_report *r = corral_report_new();
    if (!r)
        return 0;
    struct corral_call call;
    corral_call_init(&call, 0);
    if (corral_report_add(r, "a", (const char *)data, size, &call) == 0) {
        struct corral_view_options o = {
            .struct_size = sizeof o, .run_name = (const char *)"</script>", .base = r, .base_name = "<!--",
            .text_max = 64, .rollout_max = 2048, .total_max = 16384};
        char *html = NULL;
        size_t len = 0;
        if (corral_view_html(r, &o, &html, &len, &call) == 0)
            check_page(html, len, corral_report_count(r));
        free(html);
    }
    corral_report_free(r);
    return 0;
}
