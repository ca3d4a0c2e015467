/* Wall-clock times as text (crl_common.h). */
#include <stdio.h>
#include <time.h>

#include "crl_common.h"

void crl_time_rfc3339_ms(int64_t unix_ms, char out[32])
{
    if (unix_ms < 0)
        unix_ms = 0;
    time_t s = (time_t)(unix_ms / 1000);
    struct tm tm;
    size_t k = gmtime_r(&s, &tm) ? strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm) : 0;
    if (k == 0)
        k = (size_t)snprintf(out, 32, "1970-01-01T00:00:00");
    snprintf(out + k, 32 - k, ".%03dZ", (int)(unix_ms % 1000));
}

int64_t crl_time_now_unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
