/* libFuzzer: results JSONL (untrusted: files copied off clusters, written
 * by crashed processes) through the report library's reader, merge and
 * both summaries.  The input is added twice, as two shards, so that every
 * result is also a duplicate. */
#include <stdint.h>
#include <stdlib.h>

#include <corral/report.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    corral_report *r = corral_report_new();
    if (!r)
        return 0;
    struct corral_call call;
    corral_call_init(&call, 0);
    if (corral_report_add(r, "a", (const char *)data, size, &call) == 0) {
        corral_call_init(&call, 0);
        corral_report_add(r, "b", (const char *)data, size, &call);
    }
    for (size_t i = 0; i < corral_report_count(r); i++)
        if (!corral_report_result_json(r, i))
            abort();
    free(corral_report_summary_json(r));
    free(corral_report_summary_text(r));
    corral_report_free(r);
    return 0;
}
