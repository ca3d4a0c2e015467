/* crl_retry_transient: a cleanup tried again while its failure is
 * transient, so that a service refusing for a few seconds (503s, resets)
 * does not leave a sandbox running that nothing knows of. */
#include <time.h>

#include "crl_common.h"

int crl_retry_transient(const struct corral_host *h, int (*op)(void *ud, corral_call *call), void *ud,
                        corral_call *call)
{
    for (int64_t wait_ms = 250;; wait_ms *= 2) {
        int rc = op(ud, call);
        if (rc == 0 || !corral_status_is_transient(rc) || wait_ms > 4000 || h->cancelled(call) ||
            h->remaining_ms(call) <= wait_ms)
            return rc;
        struct timespec ts = {(time_t)(wait_ms / 1000), (long)(wait_ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0)
            ;
    }
}
