/*
 * sandbox_islo internals: the plugin state, the HTTP client (token exchange,
 * two hosts, error classification), the wire JSON parsers (kept free of host
 * calls so the fuzz targets can drive them), gateway profiles and the
 * tar <-> tar.gz conversion.
 */
#ifndef CORRAL_ISLO_H
#define CORRAL_ISLO_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <corral/sandbox.h>

#include "crl_common.h"

/* ---- wire JSON (islo_json.c: pure, fuzzed) ---- */

/* The fields of a SandboxResponse we use.  Strings are malloc'ed. */
struct islo_sandbox_info {
    char *id, *name, *status, *workdir;
};
/* Parse a SandboxResponse object; 0 or -1 (missing name/status). */
int islo_parse_sandbox(const char *body, size_t len, struct islo_sandbox_info *out);
void islo_sandbox_info_free(struct islo_sandbox_info *i);

/* The fields of a GetExecResult. */
struct islo_exec_info {
    char *status;             /* running, completed, failed, timeout, ... */
    char *out, *err;          /* stdout, stderr (may contain NULs? no: JSON strings) */
    int has_exit;             /* exit_code was a number */
    int exit_code;
    int truncated;
};
int islo_parse_exec(const char *body, size_t len, struct islo_exec_info *out);
void islo_exec_info_free(struct islo_exec_info *e);
/* 1 if an exec status is terminal. */
int islo_exec_terminal(const char *status);

/* An ErrorResponse: code and message (either may be "" when absent).
 * Writes NUL-terminated, truncated strings. */
void islo_parse_error(const char *body, size_t len, char *code, size_t code_len, char *msg, size_t msg_len);

/* The inline egress policy (spec->egress_json), see README.md. */
struct islo_rule {
    char *host, *path, *action;   /* action: "allow" | "deny" */
    char **methods;               /* NULL-terminated or NULL */
    int64_t rate_limit_rpm;       /* 0 = none */
};
struct islo_policy {
    char *default_action;         /* "allow" | "deny" */
    int internet;                 /* internet_enabled */
    struct islo_rule *rules;
    size_t n_rules;
};
/* Parse and validate; 0, or -1 with a reason in err. */
int islo_policy_parse(const char *json, struct islo_policy *out, char *err, size_t err_len);
void islo_policy_free(struct islo_policy *p);
/* The JSON body of a gateway rule (priority given); malloc'ed. */
char *islo_rule_body(const struct islo_rule *r, int priority);

/* ---- plugin state ---- */

/* Plugin state, allocated by the host (ABI 1.1 state_size).  The bound
 * options are filled and range-checked by the host before islo_init and
 * borrowed from it until fini. */
struct islo {
    const struct corral_host *host;
    /* bound options */
    const char *control_url, *compute_url, *api_key_env, *image, *workdir, *gateway_profile, *init, *name_prefix;
    int64_t poll_ms, ready_timeout_s, attempts, backoff_ms, request_timeout_ms, profile_delete_timeout_s;
    int64_t orphan_profile_grace_s;
    /* derived by islo_init */
    int control_len, compute_len; /* the URLs without trailing slashes */
    int64_t ready_timeout_ms, profile_delete_timeout_ms;
    pthread_mutex_t lock;         /* guards the token cache */
    char *token;
    int64_t token_expires_ms;     /* monotonic: re-exchange at or after this */
};

struct corral_sbx {
    struct islo *p;
    char *name, *id, *workdir, *user;
    char *profile_id;             /* the gateway profile we made (owned), or NULL */
    pthread_mutex_t lock;         /* guards prev_out/prev_err (execs may run concurrently) */
    char *prev_out, *prev_err;    /* output files of a finished exec, removed by the next */
};

enum { ISLO_CONTROL = 0, ISLO_COMPUTE = 1 };

/* One request to Islo.  path includes the query, already URL-encoded. */
struct islo_req {
    int hostsel;                  /* ISLO_CONTROL or ISLO_COMPUTE */
    const char *method;
    const char *path;
    const char *json;             /* JSON body or NULL */
    const char *ctype;            /* content type for body/src (multipart) */
    const void *body;
    size_t body_len;
    const struct corral_source *src; /* streamed upload (resent only if it rewinds) */
    const struct corral_sink *sink;  /* stream a 2xx body here */
    int attempts;                 /* 0 = the configured default */
    int idempotent;               /* corral_http_request.idempotent (0: by method) */
};

/* Perform req with a bearer token (exchanged or re-exchanged as needed; one
 * retry after a 401 when the body can be resent).  Returns the transport
 * status; resp is filled and must be freed with host->http_response_free. */
int islo_http(struct islo *p, const struct islo_req *req, struct corral_http_response *resp,
              corral_call *call);
/* Classify a non-2xx answer into a corral status and record a message
 * "<what>: HTTP <n> <code>: <message>" on call. */
int islo_fail_http(struct islo *p, const struct corral_http_response *resp, const char *what, corral_call *call);
/* GET path from host hostsel and parse the 2xx answer: 0 with *out (the
 * caller's, cJSON_Delete; NULL when the body is not JSON), or the failure
 * recorded on call as "<what>: HTTP ...". */
int islo_get_json(struct islo *p, int hostsel, const char *path, const char *what, cJSON **out, corral_call *call);
/* Map a status (and error code) to a corral status. */
int islo_status_code(long status, const char *code, const char *msg);
/* Sleep ms (bounded by the call's deadline); ECANCELED/ETIMEDOUT if it ends first. */
int islo_sleep(struct islo *p, int64_t ms, corral_call *call);

/* ---- gateway profiles (islo_gateway.c) ---- */

/* Create a profile from policy_json for sandbox `name`, with its rules.  On
 * success *profile_id is malloc'ed; on any failure nothing is left behind. */
int islo_profile_create(struct islo *p, const char *name, const char *policy_json, char **profile_id,
                        int *internet, corral_call *call);
/* The name of the inline profile of sandbox `sandbox`: "corral-<name>". */
void islo_profile_name(char *buf, size_t cap, const char *sandbox);
/* The id of the profile named `name` (malloc'ed), or NULL (none, or the
 * list failed). */
char *islo_profile_find(struct islo *p, const char *name, corral_call *call);
/* Delete a profile we made, retrying while a sandbox teardown keeps it busy
 * (409).  Gone is success. */
int islo_profile_delete(struct islo *p, const char *profile_id, corral_call *call);
/* Replace the rules and default action of a profile we made by those of
 * policy_json (a phase change): default deny first, the old rules
 * deleted, the new ones added in order, then the new default, so the
 * profile is never wider than either policy on the way.  A failure leaves
 * it at deny with part of the new rules (the caller fails the rollout). */
int islo_profile_update(struct islo *p, const char *profile_id, const char *policy_json, corral_call *call);

/* ---- archives (islo_tar.c) ---- */

/* Read a plain tar stream from src and write it as tar.gz into fd
 * (constant memory).  Refuses absolute and ".." member names. */
int islo_tar_to_targz(struct islo *p, const struct corral_source *src, int fd, corral_call *call);
/* Read the tar.gz in fd and stream it as a plain tar to sink, names made
 * relative ("./" stripped, "." skipped). */
int islo_targz_to_tar(struct islo *p, int fd, const struct corral_sink *sink, corral_call *call);

#endif
