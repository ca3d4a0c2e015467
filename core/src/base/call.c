/* Per-call context: deadline, cancellation and the error message. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/internal.h"

int64_t corral_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void corral_call_init(struct corral_call *call, int64_t timeout_ms)
{
    memset(call, 0, sizeof *call);
    if (timeout_ms > 0)
        call->deadline_ms = corral_now_ms() + timeout_ms;
}

int corral_call_fail(struct corral_call *call, int code, const char *fmt, ...)
{
    if (!call)
        return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(call->message, sizeof call->message, fmt, ap);
    va_end(ap);
    call->status = code;
    return code;
}

int64_t corral_call_remaining_ms(const struct corral_call *call)
{
    if (!call || call->deadline_ms == 0)
        return INT64_MAX;
    return call->deadline_ms - corral_now_ms();
}

int corral_call_cancelled(const struct corral_call *call)
{
    return call && crl_flag_set(call->cancel);
}

const char *corral_strerror(int status)
{
    switch (status) {
    case CORRAL_OK: return "success";
    case CORRAL_EINVAL: return "invalid argument";
    case CORRAL_ENOMEM: return "out of memory";
    case CORRAL_ENOTFOUND: return "not found";
    case CORRAL_ENOTSUP: return "not supported";
    case CORRAL_EEXIST: return "already exists";
    case CORRAL_EAUTH: return "authentication failed";
    case CORRAL_ETRANSIENT: return "transient failure";
    case CORRAL_ETIMEDOUT: return "timed out";
    case CORRAL_ECANCELED: return "cancelled";
    case CORRAL_EIO: return "I/O error";
    case CORRAL_EPROTO: return "protocol error";
    case CORRAL_ESTATE: return "wrong state";
    case CORRAL_ECONFIG: return "configuration error";
    case CORRAL_EPERM: return "not permitted";
    case CORRAL_EINTERNAL: return "internal error";
    default: return "unknown error";
    }
}
