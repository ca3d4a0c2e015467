/* libFuzzer: any bytes through the TOML parser (common/toml.c), which
 * reads task.toml files from datasets nobody vetted.  A document it
 * accepts is walked whole, so every node it built is read. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crl_toml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t walk(const struct crl_toml *v)
{
    size_t n = 1 + (v->s ? strlen(v->s) : 0) + (v->key ? strlen(v->key) : 0);
    for (size_t i = 0; i < v->n; i++)
        n += walk(v->items[i]);
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    struct crl_toml *t = crl_toml_parse((const char *)data, size, err, sizeof err);
    if (t) {
        volatile size_t n = walk(t);
        (void)n;
        crl_toml_free(t);
    } else if (strncmp(err, "line ", 5) != 0) {
        abort(); /* every refusal says where */
    }
    return 0;
}
