/* Retrying a cleanup while its failure is transient, so that a service
 * refusing for a few seconds (503s, resets) does not leave a sandbox
 * running that nothing knows of.  The one backoff schedule of both the
 * plugins' create cleanups and the rollout's destroy phase. */
#include <time.h>

#include "crl_common.h"

int crl_retry_transient_with(const struct crl_retry_clock *clk, int (*op)(void *ud, corral_call *call), void *ud,
                             corral_call *call)
{
    for (int64_t wait_ms = 250;; wait_ms *= 2) {
        int rc = op(ud, call);
        if (rc == 0 || !corral_status_is_transient(rc) || wait_ms > 4000 || clk->cancelled(call) ||
            clk->remaining_ms(call) <= wait_ms)
            return rc;
        if (clk->before_wait)
            clk->before_wait(ud, call, wait_ms);
        struct timespec ts = {(time_t)(wait_ms / 1000), (long)(wait_ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0)
            ;
    }
}

int crl_retry_transient(const struct corral_host *h, int (*op)(void *ud, corral_call *call), void *ud,
                        corral_call *call)
{
    struct crl_retry_clock clk = {.cancelled = h->cancelled, .remaining_ms = h->remaining_ms};
    return crl_retry_transient_with(&clk, op, ud, call);
}
