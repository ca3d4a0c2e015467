/* Process-wide logging: one line per message, level-filtered. */
#include <stdarg.h>
#include <stdio.h>

#include "base/internal.h"

static int log_level = CORRAL_LOG_WARN;
static FILE *log_stream;

void corral_log_setup(int level, FILE *stream)
{
    log_level = level;
    if (stream)
        log_stream = stream;
}

static const char *level_name(int level)
{
    switch (level) {
    case CORRAL_LOG_ERROR: return "error";
    case CORRAL_LOG_WARN: return "warning";
    case CORRAL_LOG_INFO: return "info";
    default: return "debug";
    }
}

void corral_vlog(int level, const char *tag, const char *fmt, va_list ap)
{
    if (level > log_level)
        return;
    char line[2048];
    vsnprintf(line, sizeof line, fmt, ap);
    FILE *f = log_stream ? log_stream : stderr;
    /* One fprintf per line so concurrent threads do not interleave within it. */
    if (tag && *tag)
        fprintf(f, "corral[%s]: %s: %s\n", tag, level_name(level), line);
    else
        fprintf(f, "corral: %s: %s\n", level_name(level), line);
}

void corral_log(int level, const char *tag, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    corral_vlog(level, tag, fmt, ap);
    va_end(ap);
}
