/*
 * libcorral internals shared between its source files.  Internal names use
 * the crl_ prefix; only corral_* symbols are exported (libcorral.map).
 */
#ifndef CORRAL_INTERNAL_H
#define CORRAL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include <corral/corral.h>

#include "crl_common.h" /* crl_buf, crl_strv, crl_read_file, crl_random_hex, crl_is_env_name */

#define CRL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* A cancel flag (corral_call.cancel and friends) as set by a signal
 * handler or another thread: read with a relaxed atomic load. */
static inline int crl_flag_set(const volatile int *flag)
{
    return flag && __atomic_load_n(flag, __ATOMIC_RELAXED) != 0;
}

/* ---- config.c: layered configuration ---- */

struct crl_layer {
    char *file;     /* where it came from */
    cJSON *json;    /* parsed object */
};

struct crl_config {
    struct crl_layer *layers;
    size_t n_layers;
    cJSON *merged;              /* every layer merged, later wins per key */
    struct crl_buf errors;      /* one problem per line */
    struct crl_buf warnings;
};

/* Read every configuration layer (CORRAL_CONFIG_DIR's corral.json, its
 * conf.d/ *.json, $XDG_CONFIG_HOME/corral/config.json, explicit_file) and
 * merge them, later wins per key.  Problems are appended to cfg->errors;
 * returns 0 or CORRAL_ECONFIG. */
int crl_config_load(struct crl_config *cfg, const char *explicit_file);
void crl_config_free(struct crl_config *cfg);
/* Append one formatted problem line to cfg->errors. */
void crl_config_error(struct crl_config *cfg, const char *fmt, ...) CORRAL_PRINTF(2, 3);
/* The merged section for plugin kind/name ("sandbox"/"docker"), or NULL. */
const cJSON *crl_config_section(const struct crl_config *cfg, int kind, const char *name);
/* Whether the plugin is enabled (default true). */
int crl_config_plugin_enabled(const struct crl_config *cfg, int kind, const char *name);
/* The config file (last layer) that sets kind/name/key, for messages. */
const char *crl_config_origin(const struct crl_config *cfg, int kind, const char *name, const char *key);

/* ---- config/backend_limits.c: host keys in every sandbox backend's section ---- */

/* 1 when key is one the host reserves in a sandbox backend's section
 * (max_concurrent, max_creates_per_second: docs/batches.md). */
int crl_backend_limit_key(const char *key);
/* 0 when item (a reserved key's value) is in range, else -1 with why. */
int crl_backend_limit_check(const cJSON *item, char *why, size_t cap);

/* ---- config_schema.c: plugin sections against declared schemas ---- */

/* Validate the plugin's section against its schema (every layer, so that
 * messages name the file and the key): types, limits, required options.
 * Then build the accessor view with defaults.  Problems go to cfg->errors.
 * Returns 0, or CORRAL_ECONFIG with *out NULL. */
int crl_schema_bind(struct crl_config *cfg, const struct corral_plugin *desc,
                    struct corral_config **out);
void crl_schema_free(struct corral_config *c);
/* Write every bound option's value (ABI 1.1, CORRAL_OPT_BIND) into the
 * plugin's zeroed state block; strings point into `c`, which the caller
 * keeps until after the plugin's fini(). */
void crl_schema_fill(const struct corral_config *c, void *state);
/* Check a plugin's declared schema itself (names, types, defaults, bound
 * offsets, limits); on a problem writes why and returns CORRAL_EINVAL. */
int crl_schema_check(const struct corral_plugin *desc, char *why, size_t whylen);
/* The section with defaults applied and secret-env options annotated (for dumps). */
cJSON *crl_schema_effective(const struct corral_config *c);
/* Host accessors (installed in every struct corral_host). */
const char *crl_config_string(const struct corral_config *c, const char *key);
int64_t crl_config_int(const struct corral_config *c, const char *key);
int crl_config_bool(const struct corral_config *c, const char *key);
double crl_config_double(const struct corral_config *c, const char *key);
const char *const *crl_config_strings(const struct corral_config *c, const char *key);
/* The name of the secret-env option whose effective value is env_name
 * (the variable holds a credential the plugin uses), or NULL. */
const char *crl_schema_secret_option(const struct corral_config *c, const char *env_name);

/* ---- host.c: the services table given to each plugin ---- */

/* Fill `host`, which must be embedded in a struct crl_plugin (the log tag
 * is found through it).  abi_version is what the host speaks to that
 * plugin: 0 before its entry point answered, then the negotiated version. */
void crl_host_init(struct corral_host *host, uint32_t abi_version);
/* The plugin tag a host table was built for (for log lines). */
const char *crl_host_tag(const struct corral_host *host);

/* ---- http.c ---- */
int crl_http(const struct corral_http_request *req, struct corral_http_response *resp, struct corral_call *call);
/* crl_http, and a transfer that receives nothing for stall_ms (> 0; 0 =
 * no such limit) fails as stalled: for long downloads, where a whole-
 * transfer timeout cannot tell a slow server from a dead one. */
int crl_http_stall(const struct corral_http_request *req, struct corral_http_response *resp, int64_t stall_ms,
                   struct corral_call *call);
void crl_http_response_free(struct corral_http_response *resp);
/* Secret lookup by environment variable name (the host's secret service). */
int crl_secret(const char *env_name, char **out, struct corral_call *call);

/* ---- sandbox/sandbox_table.c: a sandbox plugin's completed table ---- */
struct crl_sandbox_table;
/* The completed table for ops (every optional slot set once: native,
 * emulated or not offered; CORRAL_SANDBOX_EMULATE read now), or NULL when
 * out of memory.  Freed with crl_sandbox_table_free. */
struct crl_sandbox_table *crl_sandbox_table_new(const struct corral_sandbox_ops *ops);
void crl_sandbox_table_free(struct crl_sandbox_table *t);

/* ---- loader.c ---- */
/* Whether the host reads what ABI minor `minor` appended to desc (the
 * plugin's version, capped at the host's own minor, is at least `minor`). */
int crl_desc_speaks(const struct corral_plugin *desc, uint32_t minor);
/* The plugin's state_size (ABI 1.1), or 0 when it declares none. */
size_t crl_desc_state_size(const struct corral_plugin *desc);

struct crl_plugin {
    struct corral_plugin_record rec;  /* public view; strings below back it */
    char *path, *name, *reason;
    void *dl;
    struct corral_host host;          /* this plugin's services table */
    char tag[80];                     /* "sandbox/docker" for log lines */
    struct corral_config *cfg;
    void *state_block;                /* host-allocated state (ABI 1.1 state_size), freed after fini */
    struct crl_sandbox_table *sbx;    /* sandbox plugins: the completed ops table */
    int initialized;
};

struct crl_plugins {
    struct crl_plugin **items;        /* each record is its own allocation: plugins hold &host */
    size_t n, cap;
    struct corral_plugin_record *recs; /* rebuilt view for corral_plugins() */
};

/* The completed ops table of the loaded sandbox plugin whose record (one
 * of corral_plugins(ctx)) is rec, or NULL. */
const struct crl_sandbox_table *crl_plugins_sandbox_table(const corral_ctx *ctx,
                                                         const struct corral_plugin_record *rec);
/* Discover and load plugins from dirs (NULL-terminated, searched in order). */
void crl_plugins_load(struct crl_plugins *ps, const char *const *dirs, struct crl_config *cfg);
void crl_plugins_unload(struct crl_plugins *ps);

/* ---- ctx.c ---- */
struct corral_ctx {
    struct crl_config config;
    struct crl_plugins plugins;
    struct crl_strv dirs;             /* the plugin search path actually used */
};

/* ---- config/install_env.c: host variables for in-sandbox agent installs ---- */

/* Whether name may be listed in install_env: an environment variable name
 * outside corral's own CORRAL_ namespace; else why says what is wrong. */
int crl_install_env_name_ok(const char *name, char *why, size_t wl);
/* After the plugins are loaded: a problem line in the config's errors for
 * each configured name that holds a credential a plugin uses. */
void crl_install_env_check(corral_ctx *ctx);
/* Append NAME=value to env for each name in the config's install_env and
 * in extra (NULL-terminated, may be NULL) that is set in this process;
 * unset names are skipped (logged at debug, by name).  Refuses, with
 * CORRAL_EINVAL and why, a name crl_install_env_name_ok refuses, one that
 * holds a plugin's credential or is secret_env (may be NULL), and one env
 * already sets.  Values go only into env. */
int crl_install_env_add(const corral_ctx *ctx, const char *const *extra, const char *secret_env,
                        struct crl_strv *env, char *why, size_t wl);

#endif
