/*
 * Internal interfaces of the e2b sandbox plugin.
 *   e2b_plugin.c  descriptor, config, ops table, lifecycle ops (create/attach/list/...)
 *   e2b_api.c     control-plane REST calls and error classification
 *   e2b_envd.c    envd data plane: process streams, /files, filesystem RPCs
 *   e2b_exec.c    exec/spawn/job ops built on envd (process groups, timeouts)
 *   e2b_util.c    URL encoding, random ids, formatting
 *   e2b_network.c egress policies as E2B network rules (allowOut/denyOut)
 */
#ifndef E2B_H
#define E2B_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <corral/sandbox.h>

#include "crl_common.h"

/* Plugin state, allocated by the host (ABI 1.1 state_size).  The bound
 * options are filled and range-checked by the host before init and
 * borrowed from it until fini. */
struct e2b {
    const struct corral_host *host;
    /* bound options */
    const char *api_key_env;
    const char *api_url_cfg, *domain_cfg, *envd_url_cfg; /* or NULL: environment, then defaults */
    const char *template_id;
    int64_t default_ttl_s;
    int64_t request_timeout_ms;
    int64_t max_attempts;
    int64_t backoff_ms;
    int secure;
    /* resolved by init (owned) */
    char *api_url;        /* control plane base, no trailing slash */
    char *domain;
    char *envd_url;       /* override for every envd call, or NULL */
};

struct corral_sbx {
    struct e2b *p;
    char *sandbox_id;
    char *corral_id;
    char *token;          /* envdAccessToken (secret: memory only), or NULL */
    char *envd_base;      /* resolved envd base URL */
    char *workdir;        /* or NULL (envd default) */
    char *user;           /* or NULL (envd default user) */
    char *envd_version;
    int64_t ttl_s;
    int64_t deadline;     /* corral.deadline (epoch seconds), 0 when unknown */
};

struct corral_job {
    char *id;             /* random hex naming the job */
    char *dir;            /* its directory inside: <exec dir>/job-<id> */
    int killed;           /* job_kill was called */
    int timed_out_hint;
};

/* ---- util ---- */
/* Percent-encode everything except unreserved characters. */
char *e2b_url_encode(const char *s);
/* n random bytes as 2n lowercase hex chars (malloc'ed). */
char *e2b_random_hex(size_t n);
char *e2b_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- control plane ---- */
/* Perform a control-plane request.  body may be NULL.  On success (2xx)
 * returns 0 with *out_json parsed (NULL for an empty body) and *status set.
 * Non-2xx: classified status with a message on call ("<what>: <code>: <msg>");
 * *status still set (0 when no response). attempts = 0: the configured policy. */
int e2b_api(struct e2b *p, const char *method, const char *path, const cJSON *body, int attempts,
            const char *what, cJSON **out_json, long *status, char **out_headers, corral_call *call);
/* Map an HTTP status of the control plane to a corral status. */
int e2b_api_classify(long status);

/* ---- egress (e2b_network.c) ---- */
/* Map a policy in the host's native form (docs/plugin-abi.md) onto E2B's
 * {"allowOut": [...], "denyOut": [...]} into *network (the caller owns
 * it); -1 with a one-line reason naming the rule in err when E2B cannot
 * express it. */
int e2b_network_from_policy(const char *policy_json, cJSON **network, char *err, size_t n);

/* ---- envd ---- */
/* Unary Connect call (JSON).  Returns 0 with *out (may be NULL) or a
 * classified error (not_found -> ENOTFOUND, ...). */
int e2b_envd_unary(corral_sbx *s, const char *rpc, const cJSON *req, cJSON **out, corral_call *call);

/* Process stream events. */
struct proc_events {
    const struct corral_sink *out, *err;
    int64_t pid;
    int started, ended;           /* start / end events seen */
    int exit_code, exited;
    char status[64];
    char rpc_error_code[48];      /* from the end-of-stream envelope, "" on success */
    char rpc_error_msg[256];
    int stop_after_start;         /* abort the transfer after the start event (background) */
};
/* Start a process and follow its stream.  timeout_ms > 0 sends
 * Connect-Timeout-Ms (envd kills the process then); 0 = unlimited.
 * http_timeout_ms bounds the transfer (0 = call deadline).  Returns 0 when
 * the stream ended with an end-of-stream envelope (check ev->rpc_error_code),
 * CORRAL_ETIMEDOUT when http_timeout_ms expired, else an error. */
int e2b_envd_start(corral_sbx *s, const char *const *argv, const char *const *env, const char *cwd,
               const char *user, int64_t timeout_ms, int64_t http_timeout_ms, struct proc_events *ev,
               corral_call *call);
/* Run argv to completion capturing stdout (up to cap bytes) into *out
 * (malloc'ed, NUL-terminated).  *exit_code set.  For small helper scripts. */
int e2b_envd_run(corral_sbx *s, const char *const *argv, char **out, int *exit_code, corral_call *call);
/* GET /files to sink (status on 404 -> ENOTFOUND). */
int e2b_envd_download(corral_sbx *s, const char *path, const struct corral_sink *sink, long *status,
                  corral_call *call);
/* POST /files (multipart, parents created) from a source or a buffer. */
int e2b_envd_upload(corral_sbx *s, const char *path, const struct corral_source *src, const void *data,
                size_t len, corral_call *call);
/* Build the envd headers list (NULL-terminated, malloc'ed strings; free
 * with crl_strv_wipe_array: it carries the access token). */
char **e2b_envd_headers(corral_sbx *s, const char *content_type, const char *user, int64_t timeout_ms);

/* ---- exec ops ---- */
/* Resume a sandbox that E2B paused behind our back (auto-pause): returns 0
 * when it was paused and is running again, else non-zero (the caller keeps
 * its own error). */
int e2b_revive(corral_sbx *s, corral_call *call);
int e2b_exec(corral_sbx *sbx, const struct corral_exec_request *req, struct corral_exec_result *res,
             corral_call *call);
int e2b_spawn(corral_sbx *sbx, const struct corral_exec_request *req, corral_job **job, corral_call *call);
int e2b_job_wait(corral_sbx *sbx, corral_job *job, int64_t timeout_ms, struct corral_exec_result *res,
                 corral_call *call);
int e2b_job_kill(corral_sbx *sbx, corral_job *job, corral_call *call);
void e2b_job_free(corral_sbx *sbx, corral_job *job);
int e2b_read_file(corral_sbx *sbx, const char *path, const struct corral_sink *sink, corral_call *call);
int e2b_write_file(corral_sbx *sbx, const char *path, const struct corral_source *src, uint32_t mode,
                   corral_call *call);

#endif
