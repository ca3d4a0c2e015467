/*
 * The host-services table (struct corral_host) handed to each plugin.  Each
 * loaded plugin gets its own copy embedded in its loader record, so log
 * lines can name the plugin without the plugin passing its name around.
 */
#include <stdarg.h>
#include <stddef.h>

#include "archive/archive_internal.h"
#include "base/internal.h"

/* The loader record that embeds `host`. */
static const struct crl_plugin *record_of(const struct corral_host *host)
{
    return (const struct crl_plugin *)((const char *)host - offsetof(struct crl_plugin, host));
}

const char *crl_host_tag(const struct corral_host *host)
{
    return host ? record_of(host)->tag : "";
}

static void host_vlog(const struct corral_host *host, int level, const char *fmt, va_list ap)
{
    corral_vlog(level, crl_host_tag(host), fmt, ap);
}

static void host_log(const struct corral_host *host, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    host_vlog(host, level, fmt, ap);
    va_end(ap);
}

void crl_host_init(struct corral_host *host, uint32_t abi_version)
{
    *host = (struct corral_host){
        .struct_size = sizeof *host,
        .abi_version = abi_version,
        .log = host_log,
        .vlog = host_vlog,
        .fail = corral_call_fail,
        .remaining_ms = corral_call_remaining_ms,
        .cancelled = corral_call_cancelled,
        .now_ms = corral_now_ms,
        .config_string = crl_config_string,
        .config_int = crl_config_int,
        .config_bool = crl_config_bool,
        .config_double = crl_config_double,
        .config_strings = crl_config_strings,
        .secret = crl_secret,
        .http = crl_http,
        .http_response_free = crl_http_response_free,
        .archive_extract_at = crl_archive_extract_at,
        .archive_tree_at = crl_archive_tree_at,
    };
}
