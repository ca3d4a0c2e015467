/*
 * libcorral: the host side of corral, for the corral CLI and for programs
 * (trainers, harnesses) that embed it.  Plugins never include this header;
 * they see only <corral/plugin.h>, <corral/sandbox.h> and <corral/agent.h>.
 *
 * Error model: functions return 0 or a negative CORRAL_E* status and put a
 * message into the struct corral_call they were given.
 */
#ifndef CORRAL_CORRAL_H
#define CORRAL_CORRAL_H

#include <stdio.h>
#include <corral/plugin.h>
#include <corral/sandbox.h>
#include <corral/agent.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CORRAL_VERSION_STRING "0.1.0"

/* ---- Calls: deadline, cancellation and the error message ----------------- */

/* The per-operation context.  Plugins see it as an opaque type; the host
 * allocates it (usually on the stack) with corral_call_init(). */
struct corral_call {
    int64_t deadline_ms;            /* monotonic deadline, 0 = none */
    const volatile int *cancel;     /* when non-NULL and *cancel != 0 the call is cancelled; read with
                                       a relaxed atomic load: from another thread or a signal handler, set
                                       it with __atomic_store_n(flag, 1, __ATOMIC_RELAXED) */
    int status;                     /* the last failure recorded, or 0 */
    char message[1024];             /* its message ("" when none) */
};

/* Reset `call` and give it a deadline timeout_ms from now (0 = none). */
void corral_call_init(struct corral_call *call, int64_t timeout_ms);
/* Record a failure on `call` and return `code` (the host's fail service). */
int corral_call_fail(struct corral_call *call, int code, const char *fmt, ...) CORRAL_PRINTF(3, 4);
/* Milliseconds left before the call's deadline (INT64_MAX if none). */
int64_t corral_call_remaining_ms(const struct corral_call *call);
/* Non-zero once the call's cancel flag is set. */
int corral_call_cancelled(const struct corral_call *call);
/* Monotonic clock in milliseconds. */
int64_t corral_now_ms(void);
/* A static, human name for a status ("transient failure", ...). */
const char *corral_strerror(int status);

/* ---- Logging ---------------------------------------------------------------- */

/* Set the process-wide log threshold (enum corral_log_level) and, when
 * stream is not NULL, the stream (stderr until set).  Not thread-safe
 * against concurrent logging; call early. */
void corral_log_setup(int level, FILE *stream);
/* Log a line "corral[<tag>]: <level>: <message>" if level passes the threshold. */
void corral_log(int level, const char *tag, const char *fmt, ...) CORRAL_PRINTF(3, 4);
void corral_vlog(int level, const char *tag, const char *fmt, va_list ap);

/* ---- The context: configuration and plugins ---------------------------------- */

typedef struct corral_ctx corral_ctx;

/* How to open a context.  Caller-owned; read only during corral_open(). */
struct corral_options {
    size_t struct_size;
    const char *config_file;          /* --config FILE (applied last), or NULL */
    const char *const *plugin_dirs;   /* --plugin-dir DIRs (searched first), NULL-terminated, or NULL */
    int no_plugins;                   /* 1: read config only, load nothing */
    const char *log_level;            /* "error".."debug" overriding config log_level, or NULL */
};

/* Read the configuration (in this order: CORRAL_CONFIG_DIR or
 * /etc/corral/corral.json, conf.d/ *.json, $XDG_CONFIG_HOME/corral/config.json,
 * options->config_file), then discover and load plugins.  Configuration
 * errors fail the call (the context is still returned when *out is set, so
 * `config check` can print every error); refused plugins do not.  The
 * caller owns *out and releases it with corral_close(). */
int corral_open(const struct corral_options *options, corral_ctx **out, struct corral_call *call);
/* Unload every plugin (fini, then dlclose) and free the context. */
void corral_close(corral_ctx *ctx);

enum corral_plugin_status {
    CORRAL_PLUGIN_LOADED = 0,
    CORRAL_PLUGIN_DISABLED = 1,     /* disabled in config: never dlopen'ed */
    CORRAL_PLUGIN_REFUSED = 2       /* see reason */
};

/* One plugin file the loader considered.  Owned by the context. */
struct corral_plugin_record {
    const char *path;               /* absolute path of the .so */
    const char *name;               /* from the file name */
    int kind;                       /* from the file name: enum corral_plugin_kind */
    int status;                     /* enum corral_plugin_status */
    const char *reason;             /* why refused, else NULL */
    const struct corral_plugin *desc; /* descriptor when loaded, else NULL */
    const struct corral_host *host; /* the services table given to it */
    void *state;                    /* the plugin's state: from init(), or host-allocated (ABI 1.1) */
};

/* Every plugin file considered, in discovery order; *n gets the count. */
const struct corral_plugin_record *corral_plugins(const corral_ctx *ctx, size_t *n);
/* The loaded plugin of `kind` named `name`, or NULL. */
const struct corral_plugin_record *corral_plugin_find(const corral_ctx *ctx, int kind, const char *name);
/* Human name of a plugin kind ("sandbox", "agent"). */
const char *corral_plugin_kind_name(int kind);

/* The effective configuration as JSON text (malloc'ed, caller frees),
 * secrets redacted.  Includes per-plugin sections with defaults applied. */
char *corral_config_dump(const corral_ctx *ctx);
/* Configuration problems found by corral_open(), one message per line
 * ("" when none).  Owned by the context. */
const char *corral_config_errors(const corral_ctx *ctx);
/* Configuration warnings (e.g. sections for plugins that were not found). */
const char *corral_config_warnings(const corral_ctx *ctx);

#ifdef __cplusplus
}
#endif
#endif /* CORRAL_CORRAL_H */
