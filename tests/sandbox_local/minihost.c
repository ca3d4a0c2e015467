#include "minihost.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int64_t mh_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void mh_vlog(const struct corral_host *h, int level, const char *fmt, va_list ap)
{
    (void)h;
    if (level > CORRAL_LOG_WARN)
        return;
    fprintf(stderr, "plugin: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

static void mh_log(const struct corral_host *h, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    mh_vlog(h, level, fmt, ap);
    va_end(ap);
}

static int mh_fail(corral_call *call, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    call->status = code;
    vsnprintf(call->message, sizeof(call->message), fmt, ap);
    va_end(ap);
    return code;
}

static int64_t mh_remaining(const corral_call *call)
{
    if (!call || call->deadline_ms == 0)
        return INT64_MAX;
    return call->deadline_ms - mh_now();
}

static int mh_cancelled(const corral_call *call)
{
    return call && call->cancel && *call->cancel;
}

static const char *mh_config_string(const corral_config *cfg, const char *key)
{
    const struct minihost_config *c = (const void *)cfg;
    if (!strcmp(key, "bwrap"))
        return c->bwrap ? c->bwrap : "bwrap";
    if (!strcmp(key, "state_dir"))
        return c->state_dir;
    return NULL;
}

static int64_t mh_config_int(const corral_config *cfg, const char *key)
{
    const struct minihost_config *c = (const void *)cfg;
    if (!strcmp(key, "default_ttl_s"))
        return c->default_ttl_s;
    return 0;
}

static const struct corral_host mh_host = {
    .struct_size = sizeof(struct corral_host),
    .abi_version = CORRAL_ABI(1, 0),
    .log = mh_log,
    .vlog = mh_vlog,
    .fail = mh_fail,
    .remaining_ms = mh_remaining,
    .cancelled = mh_cancelled,
    .now_ms = mh_now,
    .config_string = mh_config_string,
    .config_int = mh_config_int,
};

void minihost_call(struct corral_call *call, int64_t timeout_ms)
{
    memset(call, 0, sizeof(*call));
    if (timeout_ms > 0)
        call->deadline_ms = mh_now() + timeout_ms;
}

int minihost_open(struct minihost *mh, const char *plugin_path, const struct minihost_config *cfg)
{
    memset(mh, 0, sizeof(*mh));
    mh->dl = dlopen(plugin_path, RTLD_NOW | RTLD_LOCAL);
    if (!mh->dl) {
        fprintf(stderr, "dlopen %s: %s\n", plugin_path, dlerror());
        return -1;
    }
    corral_plugin_entry_fn entry = (corral_plugin_entry_fn)dlsym(mh->dl, CORRAL_PLUGIN_ENTRY_SYMBOL);
    static const uint32_t majors[] = {1};
    struct corral_host_offer offer = {sizeof(offer), majors, 1, &mh_host};
    mh->desc = entry ? entry(&offer) : NULL;
    if (!mh->desc || mh->desc->kind != CORRAL_PLUGIN_SANDBOX) {
        fprintf(stderr, "%s: no sandbox descriptor\n", plugin_path);
        return -1;
    }
    mh->ops = mh->desc->ops;
    struct corral_call call;
    minihost_call(&call, 0);
    if (mh->desc->init && mh->desc->init((const corral_config *)cfg, &mh->state, &call) != 0) {
        fprintf(stderr, "init: %s\n", call.message);
        return -1;
    }
    return 0;
}

void minihost_close(struct minihost *mh)
{
    if (mh->desc && mh->desc->fini)
        mh->desc->fini(mh->state);
    if (mh->dl)
        dlclose(mh->dl);
    memset(mh, 0, sizeof(*mh));
}
