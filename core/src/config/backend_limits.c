/*
 * The keys the host reserves in every sandbox backend's section of the
 * configuration, next to "enabled": host-wide limits on what corral asks
 * of that backend (docs/batches.md "Shared limits"), enforced by
 * sandbox/sandbox_limits.c.  Plugins may not declare options of these names.
 */
#include <stdio.h>
#include <string.h>

#include "base/internal.h"

static const struct {
    const char *key;
    double min, max;
    int integer;
} keys[] = {
    {"max_concurrent", 1, 100000, 1},
    {"max_creates_per_second", 0.001, 100000, 0},
};

int crl_backend_limit_key(const char *key)
{
    for (size_t i = 0; i < CRL_ARRAY_LEN(keys); i++)
        if (strcmp(keys[i].key, key) == 0)
            return 1;
    return 0;
}

int crl_backend_limit_check(const cJSON *item, char *why, size_t cap)
{
    for (size_t i = 0; i < CRL_ARRAY_LEN(keys); i++) {
        if (strcmp(keys[i].key, item->string) != 0)
            continue;
        int64_t v;
        int ok = cJSON_IsNumber(item) && (keys[i].integer
                                              ? crl_number_i64(item->valuedouble, (int64_t)keys[i].min,
                                                               (int64_t)keys[i].max, &v) == 0 &&
                                                    (double)v == item->valuedouble
                                              : crl_number_in(item->valuedouble, keys[i].min, keys[i].max) == 0);
        if (!ok)
            snprintf(why, cap, "%s must be %s from %g to %g", keys[i].key, keys[i].integer ? "an integer" : "a number",
                     keys[i].min, keys[i].max);
        return ok ? 0 : -1;
    }
    snprintf(why, cap, "%s is not a backend limit", item->string);
    return -1;
}
