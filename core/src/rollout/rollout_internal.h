/* Inside libcorral: the rollout's working state, its plan and its record,
 * shared by the files of core/src/rollout/ (the lifecycle in rollout.c,
 * the phases in phases.c and agent_phase.c, the record in result.c, the
 * batch runner in batch.c).  See docs/rollout.md. */
#ifndef CRL_ROLLOUT_INTERNAL_H
#define CRL_ROLLOUT_INTERNAL_H

#include <limits.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include <corral/rollout.h>
#include <corral/sandbox_host.h>

#include "base/internal.h"
#include "egress/egress_proxy.h"
#include "gate/private_gate.h"
#include "rollout/agent_spec.h"

/* ---- task.c ---------------------------------------------------------------- */

/* Open the task's directory rel ("workspace", "tests", ...) as an fd the
 * caller closes, refusing (naming it) a symlink or a non-directory, so
 * that hydrating walks the task's own tree and nothing it points to. */
int crl_task_open_dir(const struct corral_task *t, const char *rel, int *fd, struct corral_call *call);
/* Parse task.json's text (NUL-terminated; path names it in messages) into
 * t's fields (image, workdir, env, setup, verify, timeouts, resources,
 * network), every value checked.  On failure t may hold some fields; the
 * caller frees t with corral_task_free either way. */
int crl_task_parse_json(struct corral_task *t, const char *text, const char *path, struct corral_call *call);
/* Harbor's `artifacts` entries: at most this many, each checked by
 * crl_task_artifact_check: a non-empty source without ".." components, not
 * "/" nor under /proc, /sys or /dev; a destination (NULL or "": the
 * source's own path) relative, '/'-separated, without "..".  0, or -1 with
 * the reason in why. */
#define CRL_TASK_MAX_ARTIFACTS 64
int crl_task_artifact_check(const char *source, const char *dest, char *why, size_t wl);
/* A task's MCP servers (task_mcp.c): `arr`, the JSON form of task.json's
 * "mcp_servers" or task.toml's [[environment.mcp_servers]], checked (Harbor's
 * fields name, transport, command, args, url, plus env and headers; names
 * unique, "corral" reserved) and normalized into *out (JSON array text the
 * caller frees; NULL when the array is empty).  `where` names file and field
 * in the one-line errors. */
#define CRL_TASK_MAX_MCP_SERVERS 32
int crl_task_mcp_servers(const cJSON *arr, const char *where, char **out, struct corral_call *call);
/* The same for Harbor's task.toml (task_toml.c): text[0..len) onto t's
 * fields, warnings for keys read but not honoured into t->warnings. */
int crl_task_parse_toml(struct corral_task *t, const char *text, size_t len, const char *path,
                        struct corral_call *call);

/* ---- The plan: every setting a rollout runs with, resolved once ------------- */

/* Resolved by crl_rollout_plan_resolve() at load; later phases read only
 * this, never the options', task's or spec's own fields for these. */
struct crl_rollout_plan {
    const char *backend;               /* sandbox backend */
    const char *image;                 /* NULL = the backend's default */
    const char *workdir;               /* the task's working directory in the sandbox */
    int network;                       /* enum corral_network */
    const char *model_name;            /* the model name the agent asks for */
    int64_t setup_s, agent_s, verify_s;/* per-command (setup, verify) and agent deadlines */
    int64_t install_s;                 /* one attempt of the agent's install in the sandbox */
    int64_t ttl_s;                     /* the sandbox's lifetime: the deadlines plus slack */
    int verify_sandbox;                /* enum corral_verify_sandbox, never 0 */
};

/* Fill *plan from the options (the command line), the task and the agent
 * spec, in that order of precedence, then the built-in defaults.  The
 * strings point into o, t and s, which must outlive the plan. */
void crl_rollout_plan_resolve(const struct corral_rollout_options *o, const struct corral_task *t,
                              const struct crl_agent_spec *s, struct crl_rollout_plan *plan);
/* The model name a rollout with options `o` asks for (also the name a
 * batch's shared gate reports). */
const char *crl_rollout_model_name(const struct corral_rollout_options *o);

/* ---- The record: what the result reports ------------------------------------ */

/* One setup or verify command as run. */
struct crl_command_record {
    char *command;                     /* the shell string, or NULL when argv */
    char **argv;                       /* NULL-terminated, or NULL when command */
    int exit_code, timed_out;
    int64_t duration_ms;
    char *out_tail, *err_tail;         /* the last bytes of stdout and stderr */
};

struct crl_command_log {
    struct crl_command_record *items;
    size_t n, cap;
};

#define CRL_ROLLOUT_MAX_PHASES 16

/* The rollout's outcome as it grows; owns every string below.  `pub` is
 * filled from it by crl_record_finish() (pointers into this record). */
struct crl_rollout_record {
    struct corral_rollout_result pub;
    char id[64];
    char *task_dir, *task_name, *agent, *agent_version, *backend, *sandbox_id;
    char *verify_sandbox_id;           /* the fresh verifier sandbox, or NULL */
    const char *agent_status;          /* static; NULL until the agent ran to its end */
    int agent_exit_code, agent_timed_out;
    size_t events_truncated;           /* agent events past the "limits", not kept */
    char *agent_stderr_tail;
    int has_reward;
    double reward;
    const char *reward_source;         /* static */
    int error_class;                   /* enum corral_rollout_error */
    const char *error_phase;           /* static (a phase name) */
    char *error_message;
    int error_status;
    int status;                        /* the infrastructure status returned */
    struct corral_rollout_timing timings[CRL_ROLLOUT_MAX_PHASES];
    size_t n_timings;
    int64_t total_ms;
    struct crl_command_log setup, verify;
    cJSON *events;                     /* array of the agent's normalized events (agent-defined JSON) */
    char *transcript;                  /* the gate's transcript (JSON array text), or NULL */
    char *json;
    unsigned attempt;                  /* the options' attempt */
    char *task_digest;                 /* "sha256:..." once the task loaded, or NULL */
    char *task_version;                /* task.toml's [task] version, or NULL */
    cJSON *task_metadata;              /* its [metadata] (object), or NULL */
    cJSON *task_warnings;              /* array of strings: fields read but not honoured, or NULL */
    cJSON *rewards;                    /* reward.json's named metrics (object), or NULL */
    char *dataset_source, *dataset_name, *dataset_version, *dataset_commit; /* the options' dataset, or NULL */
    char *artifacts_dir;               /* where the collect phase copied /logs to, or NULL */
    int64_t timeouts_s[4];             /* the plan's setup, agent install, agent, verify (0: not planned) */
    char *artifacts_error;             /* what it could not copy, or NULL */
    cJSON *artifacts_missing;          /* task.toml artifacts absent from the sandbox (strings), or NULL */
    cJSON *egress;                     /* the egress proxy's decisions (array), or NULL without a policy */
    char *egress_text;                 /* egress rendered for pub.egress, or NULL */
    struct corral_rollout_try *tries;  /* a retrying batch's tries (strings owned here), or NULL */
    size_t n_tries;
};

/* Start a record: id, task dir, agent name and backend (any may be NULL,
 * read as ""); 0 or CORRAL_ENOMEM. */
int crl_record_init(struct crl_rollout_record *rec, const char *id, const char *task_dir, const char *agent,
                    const char *backend);
/* Record the error (the first one wins: returns 0 when one was recorded
 * already, 1 when this one was). */
int crl_record_error(struct crl_rollout_record *rec, int error_class, const char *phase, int status,
                     const char *message);
/* Append a command run (argv, or the shell string `command`) and the
 * tails of its output. */
void crl_record_command(struct crl_command_log *log, const char *const *argv, const char *command,
                        const struct corral_exec_output *out);
/* Free the commands of a log and zero it. */
void crl_command_log_free(struct crl_command_log *log);
/* Add `ms` to the timing of `phase` (a static name). */
void crl_record_timing(struct crl_rollout_record *rec, const char *phase, int64_t ms);
/* Copy a string into *dst (freeing what was there); NULL stays NULL. */
void crl_record_set(char **dst, const char *s);
/* The last CRL_OUTPUT_KEEP bytes of a capture (never NULL; in the capture). */
const char *crl_capture_tail(const struct corral_capture *c);
/* Render the RolloutResult JSON (the one place it is written) into
 * rec->json and point rec->pub's fields into the record.  0 or
 * CORRAL_ENOMEM. */
int crl_record_finish(struct crl_rollout_record *rec, int pretty);
/* The JSON name of an error class (enum corral_rollout_error). */
const char *crl_rollout_error_name(int cls);
/* Append a summary of `done` (a finished record: id, sandbox, error,
 * time) with the backoff waited after it to rec's tries (rec may be done
 * itself).  0 or CORRAL_ENOMEM. */
int crl_record_add_try(struct crl_rollout_record *rec, const struct crl_rollout_record *done, int64_t backoff_ms);
/* Free what the record owns (not the record itself). */
void crl_record_free(struct crl_rollout_record *rec);

#define CRL_OUTPUT_KEEP 4096           /* stdout/stderr bytes kept per command in the result */

/* ---- The running rollout ---------------------------------------------------- */

struct rollout {
    corral_ctx *ctx;
    const struct corral_rollout_options *o;
    struct corral_call *call;          /* the caller's; the one carrier of the rollout's cancel flag */
    const char *phase;                 /* name of the running phase-table row */
    struct corral_task *task;
    struct crl_agent_spec spec;
    const struct corral_plugin_record *agent;
    struct crl_rollout_plan plan;
    corral_gate *gate;
    int registered;
    char token[65];
    struct crl_private_gate own_gate;  /* when the options name no gate */
    char gate_socket[PATH_MAX + 16];   /* the gate's socket on the host, "" if none */
    char agent_dir[PATH_MAX];          /* host install dir of the agent, "" if none */
    char run[128], home[160], task_in[160], agent_mount[PATH_MAX];
    char base_url[512];
    corral_sandbox *sb;                /* the sandbox commands run in (the verifier's once made) */
    corral_sandbox *agent_sb;          /* the agent's, once a fresh verifier sandbox replaced it in sb */
    struct crl_rollout_record rec;
    int stopped;                       /* a phase returned non-zero: only PHASE_ALWAYS rows run now */
    struct crl_egress egress;          /* the policy (options' file over the task's); .present 0: none */
    crl_egress_proxy *proxy;           /* its proxy, when there is a policy */
    char egress_dir[96], egress_socket[128];
    corral_sandbox_job *egress_relay;  /* the running phase's relay to the proxy, in egress_relay_sb */
    corral_sandbox *egress_relay_sb;
    /* Native enforcement (a backend without host mounts): each phase's
     * policy as the backend gets it, and which of them r->egress_applied_sb
     * obeys now (a pointer into egress_native). */
    char *egress_native[CRL_EGRESS_NPHASES];
    const char *egress_applied;
    corral_sandbox *egress_applied_sb;
    const char *stop_signalled;        /* the phase in which a command or the agent died of SIGTERM,
                                          SIGINT or SIGHUP (crl_rollout_note_exit), or NULL */
    char *built_image;                 /* the tag built from the task's Dockerfile (plan.image), or NULL */
};

/* For a task with only environment/Dockerfile (and no --image): build its
 * image on the plan's backend (build_phase.c) and make it plan.image;
 * progress lines show the build.  Failures are recorded: a failed build
 * step, a backend that cannot build or a build past build_timeout_sec are
 * task errors, the rest infrastructure. */
int crl_rollout_build_image(struct rollout *r);

/* Note a command's or the agent's exit code: one of a process killed by a
 * signal that stops jobs (a scheduler's scancel signals every process of
 * the job, the sandbox's too) marks the rollout, so that crl_rollout_run
 * records a cancel that arrives right after as the cancel it is. */
void crl_rollout_note_exit(struct rollout *r, int exit_code);

/* Record the rollout's error of class `cls` (enum corral_rollout_error)
 * in the running phase (the first error wins) and return status.  A step
 * that failed with CORRAL_ECANCELED because the rollout was cancelled is
 * recorded as cancelled, whatever class the caller named. */
int crl_rollout_fail(struct rollout *r, int cls, int status, const char *fmt, ...) CORRAL_PRINTF(4, 5);
/* A progress line for the running phase (options.progress), if any. */
void crl_rollout_progress(struct rollout *r, const char *fmt, ...) CORRAL_PRINTF(2, 3);
/* Non-zero once the rollout's call is cancelled. */
int crl_rollout_cancelled(const struct rollout *r);
/* Run a command in the sandbox (argv, or a shell string when shell is
 * set) as `user` (NULL: the sandbox's), appending it to `log` (may be
 * NULL); *exit_code gets its status.  Returns the sandbox call's status
 * (message in r->call). */
int crl_rollout_exec_as(struct rollout *r, const char *user, const char *const *argv, const char *shell,
                        const char *cwd, const char *const *env, int64_t timeout_s, struct crl_command_log *log,
                        int *exit_code);
/* A task.toml [agent]/[verifier] `user` (named `table` in messages): the
 * paths (NULL-terminated) become that user's (`chown -R` as the sandbox's
 * user) so the phase can write where it must.  A chown that runs and fails
 * is the task's (class task); 0 or the failure recorded. */
int crl_rollout_give(struct rollout *r, const char *user, const char *const *paths, const char *table);
/* Whether the backend runs commands as `user` and the image knows it,
 * found out before the agent runs: class infrastructure when the backend
 * cannot (local), task when the image has no such user. */
int crl_rollout_user_probe(struct rollout *r, const char *user, const char *table);
/* crl_rollout_exec_as() as the sandbox's own user. */
int crl_rollout_exec(struct rollout *r, const char *const *argv, const char *shell, const char *cwd,
                     const char *const *env, int64_t timeout_s, struct crl_command_log *log, int *exit_code);

/* ---- The relay into the sandbox (agent_phase.c, phases.c) ---------------- */

#define CRL_FORWARD_IN_SANDBOX "/opt/corral/bin/corral-forward"
/* The corral-forward binary on the host into buf; 0 or -1 when not found. */
int crl_find_forwarder(char *buf, size_t cap);
/* Start corral-forward in sb relaying a loopback port to the unix socket
 * sock (a path inside the sandbox), writing its port to port_file and its
 * errors to log (sandbox paths); polls until the port is there, giving up
 * when cancelled(ud) (may be NULL) says so (CORRAL_ECANCELED) or after
 * 5 s (CORRAL_ETIMEDOUT).  *job is the caller's to kill and free
 * (crl_rollout_relay_stop); call says why on failure. */
int crl_relay_start(corral_sandbox *sb, const char *sock, const char *port_file, const char *log,
                    int (*cancelled)(void *), void *ud, corral_sandbox_job **job, int *port, struct corral_call *call);
/* Start corral-forward in r->sb relaying a loopback port to the unix socket
 * sock (a path inside the sandbox); tag names its port and log files in
 * the run directory.  *job is the caller's to kill and free; *port the
 * port.  Failures are recorded (infrastructure). */
int crl_rollout_relay(struct rollout *r, const char *sock, const char *tag, corral_sandbox_job **job, int *port);
/* Kill a relay job, reap it and free it (NULL is a no-op). */
void crl_rollout_relay_stop(corral_sandbox *sb, corral_sandbox_job *job);

/* ---- Egress (egress_phase.c, docs/egress.md) -------------------------------- */

/* Choose the policy and start its proxy (no-op without one). */
int crl_egress_prepare(struct rollout *r);
/* Append to mounts (room for 2) the proxy's socket and, unless
 * have_forwarder, the relay binary (path in forwarder[cap]). */
int crl_egress_mounts(struct rollout *r, struct corral_mount *mounts, size_t *n, char *forwarder, size_t cap,
                      int have_forwarder);
/* Push onto env the proxy variables pointing at the relay on loopback
 * port `port` (docs/egress.md); the caller owns env. */
void crl_egress_proxy_env(struct crl_strv *env, int port);
/* Apply phase's policy: a relay in r->sb and the proxy variables pushed
 * onto env.  No-op without a policy. */
int crl_egress_enter(struct rollout *r, enum crl_egress_phase phase, struct crl_strv *env);
/* End the phase's relay; the proxy refuses everything until the next. */
void crl_egress_leave(struct rollout *r);
/* The policy a sandbox about to be created starts with (native
 * enforcement; NULL otherwise); remembered as applied to it once made. */
const char *crl_egress_native_first(struct rollout *r);
void crl_egress_native_created(struct rollout *r, corral_sandbox *sb, const char *json);
/* Stop the proxy, its decisions into rec.egress; free the policy. */
void crl_egress_finish(struct rollout *r);

/* The phases (each returns non-zero to end the lifecycle; a failure that
 * is only a result, such as the agent's, is recorded and returns 0). */
int crl_phase_load(struct rollout *r);
int crl_phase_gate(struct rollout *r);
int crl_phase_create(struct rollout *r);
int crl_phase_hydrate(struct rollout *r);
int crl_phase_setup(struct rollout *r);
int crl_phase_agent(struct rollout *r);
int crl_phase_verify_sandbox(struct rollout *r);
int crl_phase_verify(struct rollout *r);
int crl_phase_destroy(struct rollout *r);
/* collect.c: Harbor's /logs directories to --artifacts DIR/<id>, when asked
 * for and a sandbox exists (the phase row's `when`); never fails the rollout. */
int crl_phase_collect_wanted(const struct rollout *r);
int crl_phase_collect(struct rollout *r);

/* ---- Entry points shared with the batch runner ----------------------------- */

/* Copy caller options of any known struct_size into *out (fields the
 * caller's struct lacks are zero).  CORRAL_EINVAL for NULL or a struct_size
 * older than the first release's. */
int crl_rollout_options_copy(const struct corral_rollout_options *in, struct corral_rollout_options *out,
                             struct corral_call *call);

/* Run one rollout on options already copied (crl_rollout_options_copy);
 * its outcome goes into *rec (finished, JSON rendered: the caller frees it
 * with crl_record_free); `pretty` picks indented JSON over one line.  The
 * options' cancel is copied into `call` when the call has none, for the
 * run only.  Returns rec->status. */
int crl_rollout_run(corral_ctx *ctx, const struct corral_rollout_options *o, int pretty,
                    struct crl_rollout_record *rec, struct corral_call *call);

#endif
