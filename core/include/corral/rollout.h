/*
 * libcorral rollouts: tasks, the agent driver and `corral run`.
 *
 * A rollout runs these phases in order (their names are the keys of
 * "timings_ms" and the values of "error.phase"): load (the task, the
 * agent, the plan of timeouts and images) -> gate (register with a gate
 * when the agent calls a model) -> create the sandbox (installing the
 * agent on the host first when the backend mounts host directories) ->
 * hydrate the task's workspace -> setup commands (stop at the first
 * failure) -> agent (install inside the sandbox when the backend cannot
 * mount, write the instruction, start the agent with its model calls
 * through the gate, wait with a deadline, killing the agent's process
 * group on timeout, and map its stdout to events) -> verify (clear the
 * reward file, run the tests, read the reward) -> destroy the sandbox
 * (always, also on error and when cancelled).  The outcome is one
 * struct corral_rollout_result and its RolloutResult JSON.
 */
#ifndef CORRAL_ROLLOUT_H
#define CORRAL_ROLLOUT_H

#include <corral/corral.h>
#include <corral/gate.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Tasks -------------------------------------------------------------------- */

/* A task directory (Harbor-compatible):
 *   instruction.md       the prompt (required)
 *   task.json            optional: image, env, setup, verify, timeouts, resources
 *   workspace/           optional: hydrated into the sandbox workdir
 *   tests/test.sh        optional: run after the agent; reward from
 *                        /logs/verifier/reward.txt if written, else 1.0 on exit 0
 *   solution/solve.sh    optional: the reference solution (agent "oracle")
 * task.json keys: "image" (string), "workdir" (string, default /workspace),
 * "env" ({"K": "V"}), "setup" and "verify" (arrays of shell command strings),
 * "timeouts" ({"setup_s", "agent_s", "verify_s"}), "resources" ({"cpus",
 * "memory_mb", "pids", "storage_mb"}), "network" ("none" | "full"), "verify_sandbox"
 * ("fresh" | "same": where the tests run, see docs/rollout.md). */
struct corral_task {
    char *dir;                   /* absolute path of the task directory */
    char *name;                  /* its base name */
    char *instruction;           /* instruction.md contents */
    size_t instruction_len;
    char *image;                 /* NULL = backend default */
    char *workdir;               /* default "/workspace" */
    char **env;                  /* "K=V", NULL-terminated */
    char **setup;                /* shell commands, NULL-terminated */
    char **verify;               /* shell commands, NULL-terminated */
    int64_t setup_timeout_s, agent_timeout_s, verify_timeout_s; /* 0 = defaults */
    double cpus;
    int64_t memory_bytes, pids;
    int network;                 /* enum corral_network */
    int has_workspace, has_tests, has_solution;
    int64_t storage_bytes;       /* resources.storage_mb (Harbor's name); 0 = backend default */
    int verify_sandbox;          /* enum corral_verify_sandbox; 0 = not set */
    /* Appended for task.toml (Harbor's format, docs/harbor.md): */
    char *version;               /* [task] version, or NULL */
    char *metadata_json;         /* [metadata] (and [task] under "task") as JSON text, or NULL */
    char **warnings;             /* "FILE: [table] key ..." for fields read but not honoured; NULL-terminated or NULL */
    int harbor;                  /* loaded from task.toml: Harbor's reward files apply (docs/harbor.md) */
    char **verifier_env;         /* [verifier] env: "K=V" for the tests' commands only; NULL-terminated or NULL */
    char **solution_env;         /* [solution] env: "K=V" for agents that run solution/ (the oracle); or NULL */
    char *agent_user;            /* [agent] user: the agent runs as this user (name or uid), or NULL */
    char *verifier_user;         /* [verifier] user: the tests run as this user, or NULL */
    /* Appended for egress policies (docs/egress.md): */
    char *egress_json;           /* task.json "egress" / task.toml [egress], checked, as JSON text; or NULL */
    /* task.toml `artifacts`: sandbox paths `corral run --artifacts` also
     * copies, and where under DIR/<id>/files/ ("" = the source's own path);
     * checked (crl_task_artifact_check), the same length, NULL-terminated or
     * NULL. */
    char **artifact_sources, **artifact_dests;
    /* Appended for image builds (docs/harbor.md, docs/backends/docker.md): */
    int has_dockerfile;          /* task.toml task with environment/Dockerfile: its image is built from it
                                    when no docker_image (or --image) names one */
    int64_t build_timeout_s;     /* [environment] build_timeout_sec; 0 = Harbor's default (600 s) */
    /* Appended for MCP (docs/harbor.md, "MCP servers"): task.json
     * "mcp_servers" / task.toml [[environment.mcp_servers]], checked, as a
     * JSON array of {name, transport, command, args, env | url, headers};
     * NULL when the task declares none. */
    char *mcp_servers_json;
};

/* Where verification runs: a fresh sandbox of the same image with the
 * agent's final workdir copied in (the default), or the agent's own. */
enum corral_verify_sandbox { CORRAL_VERIFY_FRESH = 1, CORRAL_VERIFY_SAME = 2 };

/* Load and validate the task at `dir`.  Errors name the file and field.
 * On success *out is owned by the caller (corral_task_free). */
int corral_task_load(const char *dir, struct corral_task **out, struct corral_call *call);
void corral_task_free(struct corral_task *task);

/* "sha256:" and 64 hex digits, with the NUL. */
#define CORRAL_TASK_DIGEST_LEN 72
/* The content digest of the task directory `dir` (RolloutResult
 * "task_digest"): sha256 over its entries in a defined order and framing
 * (docs/report.md, "Task digest"), the same whatever order the files were
 * created in.  Writes "sha256:<hex>" into the caller's `out`; on error `out`
 * is "" and `call` says why (unreadable entry, a device or socket). */
int corral_task_digest(const char *dir, char out[CORRAL_TASK_DIGEST_LEN], struct corral_call *call);

/* ---- Rollouts ------------------------------------------------------------------ */

struct corral_dataset; /* <corral/dataset.h> */

/* What to run.  Caller-owned; read during corral_rollout_run(). */
struct corral_rollout_options {
    size_t struct_size;
    const char *task_dir;              /* required */
    const char *agent;                 /* agent plugin name, required */
    const char *sandbox;               /* sandbox backend, default "local" */
    const char *image;                 /* overrides the task's image */
    /* The model: "replay:FILE", "upstream:URL" (with model_name and
     * api_key_env), or "trainer" (requests go to gate's trainer queue). */
    const char *model;
    const char *model_name;            /* name the agent asks for; default "corral" */
    const char *api_key_env;           /* upstream key by env-var NAME */
    corral_gate *gate;                 /* an existing gate (trainer mode), or NULL: start one */
    const char *gate_socket;           /* that gate's unix socket path (for sandboxes without network) */
    const char *gate_listen;           /* "ADDR:PORT" for the rollout's own gate (default 127.0.0.1:0) */
    const char *gate_url;              /* URL the sandbox uses to reach the gate
                                          (cloud backends); NULL: the unix-socket route */
    const char *rollout_id;            /* NULL: generated */
    int64_t agent_timeout_s;           /* overrides task and agent defaults when > 0 */
    const volatile int *cancel;        /* set (e.g. from SIGINT) to stop and clean up; copied into the
                                          run's corral_call when that has no cancel flag of its own */
    int keep_sandbox;                  /* debugging: do not destroy the sandbox */
    /* Progress lines, or NULL: the running phase (a name of "timings_ms")
     * and a message ("create", "sandbox local-1234... created"). */
    void (*progress)(void *ud, const char *phase, const char *message);
    void *progress_ud;
    /* Names of variables of this process passed to the agent install step
     * inside sandboxes without host mounts (NULL-terminated, or NULL), on
     * top of the configuration's "install_env"; never to the agent run or
     * verification.  Unset names are skipped. */
    const char *const *install_env;
    /* Caps on what the agent asks an upstream for with the operator's key
     * (0: the configuration's "limits", else the gate's defaults: n 1,
     * max_tokens 32768; upstream_max_tokens -1: no cap).  Rollouts of a
     * batch that share a gate must agree on them. */
    int64_t upstream_max_tokens;
    unsigned upstream_max_n;
    /* enum corral_verify_sandbox, over the task's "verify_sandbox"; 0: the
     * task's, else fresh. */
    int verify_sandbox;
    /* Which attempt at this task the rollout is, counted from 0 (RolloutResult
     * "attempt"; `corral run --attempts K` numbers them 0..K-1). */
    unsigned attempt;
    /* Harbor's --timeout-multiplier: the setup, agent and verify timeouts,
     * however they were chosen (also agent_timeout_s), are multiplied by it
     * and rounded up to whole seconds; 0: 1 (docs/rollout.md, "The plan"). */
    double timeout_multiplier;
    /* The dataset task_dir was taken from (corral_dataset_open(); RolloutResult
     * "dataset" records its source, name, version and commit), or NULL.
     * Caller-owned, read during the run. */
    const struct corral_dataset *dataset;
    /* Copy Harbor's /logs/agent, /logs/artifacts and /logs/verifier out of
     * the sandboxes into ARTIFACTS_DIR/<rollout id>/ before they are
     * destroyed (RolloutResult "artifacts"); NULL: not collected. */
    const char *artifacts_dir;
    /* An egress policy file (JSON, docs/egress.md) for every phase, over the
     * task's "egress"; NULL: the task's, if any. */
    const char *egress_file;
    /* vLLM's "cache_salt" for every call this rollout forwards upstream
     * (docs/gate.md, "RL capture"), or NULL. */
    const char *upstream_cache_salt;
    /* Harbor's per-phase multipliers (--agent-timeout-multiplier,
     * --verifier-timeout-multiplier, --agent-setup-timeout-multiplier): each,
     * when above 0, replaces timeout_multiplier for its phase (the agent, the
     * verify commands, the agent's install); 0: timeout_multiplier
     * (docs/harbor.md, "Timeouts"). */
    double agent_timeout_multiplier, verifier_timeout_multiplier, agent_setup_timeout_multiplier;
    /* The API an upstream:/vllm: model speaks (enum corral_gate_dialect of
     * <corral/gate.h>; 0: chat completions, every call translated). */
    int upstream_dialect;
};

/* Check an egress policy file (JSON, docs/egress.md) as --egress reads it:
 * 0, or CORRAL_EINVAL with `call` naming the file and the rule. */
int corral_egress_check_file(const char *path, struct corral_call *call);

struct corral_sandbox_create_opts;
struct corral_sandbox_spec;
struct corral_sandbox; /* corral_sandbox of <corral/sandbox_host.h> */
/* `corral sandbox create --egress FILE` (docs/egress.md, "Sandboxes made by
 * hand"): check FILE, then create as corral_sandbox_create does.  A backend
 * with host mounts gets no network, the relay and a directory for the
 * proxy's socket bound in, the policy kept beside its registry entry (each
 * corral_egress_session_open enforces it; removed with the registry entry,
 * corral_registry_del); one with native host rules gets
 * the policy at create; any other is refused (CORRAL_ENOTSUP).  On failure
 * no sandbox and no directory is left and call names the file and rule. */
int corral_sandbox_create_egress(corral_ctx *ctx, const struct corral_sandbox_create_opts *opts,
                                 const struct corral_sandbox_spec *spec, const char *egress_file, struct corral_sandbox **out,
                                 struct corral_call *call);
/* The proxy and relay of one command in a sandbox made with --egress. */
typedef struct corral_egress_session corral_egress_session;
/* Start them for sb when it was created with a policy (*out NULL and 0
 * when not): the agent phase's policy applies, refusals are printed on
 * stderr.  The caller closes *out after the command, keeping sb open. */
int corral_egress_session_open(struct corral_sandbox *sb, corral_egress_session **out, struct corral_call *call);
/* The proxy variables ("K=V", NULL-terminated, owned by s) to add to the
 * command's environment; NULL for a NULL session. */
const char *const *corral_egress_session_env(const corral_egress_session *s);
/* Stop the relay and the proxy and free s (NULL is a no-op). */
void corral_egress_session_close(corral_egress_session *s);

/* Whose failure ended a rollout: RolloutResult "error.class". */
enum corral_rollout_error {
    CORRAL_ROLLOUT_OK = 0,             /* no error ("error": null) */
    CORRAL_ROLLOUT_ERR_TASK,           /* "task": the task's files, its setup commands, its reward file */
    CORRAL_ROLLOUT_ERR_AGENT,          /* "agent": the agent failed or timed out */
    CORRAL_ROLLOUT_ERR_INFRA,          /* "infrastructure": sandbox, gate, install, the run's options */
    CORRAL_ROLLOUT_ERR_CANCELLED       /* the cancel flag cut the rollout short; the JSON keeps saying
                                          class "infrastructure" with message "cancelled" */
};

/* How long one phase took. */
struct corral_rollout_timing {
    const char *phase;                 /* "load", "gate", "create", "hydrate", "setup", "agent",
                                          "verify", "destroy" (static strings) */
    int64_t ms;
};

/* One try of a rollout that a batch may run again (RolloutResult
 * "attempts", docs/batches.md "Retries"); owned like the result. */
struct corral_rollout_try {
    const char *rollout_id;            /* the try's own rollout id */
    const char *sandbox_id;            /* its sandbox (destroyed), or NULL when none was created */
    int error_class;                   /* enum corral_rollout_error; CORRAL_ROLLOUT_OK when it had none */
    const char *error_phase;           /* NULL without error */
    const char *error_message;         /* NULL without error */
    int error_status;                  /* the CORRAL_E* status behind the error */
    int64_t total_ms;                  /* how long it ran */
    int64_t backoff_ms;                /* how long the batch waited after it before the next; 0 for the last */
};

/* The outcome of one rollout, typed.  Owned by the library: valid during
 * on_rollout_result, or until corral_rollout_result_free().  Every string
 * is NUL-terminated; those that may be NULL say so.  Fields are only ever
 * appended (check struct_size before reading a newer one). */
struct corral_rollout_result {
    size_t struct_size;
    const char *rollout_id;            /* "rollout_id" */
    const char *task_dir;              /* "task.dir" as given in the options ("" if none) */
    const char *task_name;             /* "task.name"; NULL when the task did not load */
    const char *agent;                 /* "agent.name" as given in the options ("" if none) */
    const char *agent_version;         /* "agent.version"; NULL when the agent was not found */
    const char *agent_status;          /* "agent.status": "success", "failed" or "timeout"; NULL when
                                          the agent did not run to its end */
    int agent_exit_code;               /* "agent.exit_code" (124 on timeout); valid with agent_status */
    const char *sandbox_backend;       /* "sandbox.backend" */
    const char *sandbox_id;            /* "sandbox.id"; NULL when no sandbox was created */
    int has_reward;                    /* 1 when "reward" is a number, 0 when it is null */
    double reward;                     /* "reward" when has_reward */
    const char *reward_source;         /* "reward_source": "reward.txt" or "exit_status"; NULL without reward */
    int error_class;                   /* enum corral_rollout_error; CORRAL_ROLLOUT_OK: "error" is null */
    const char *error_phase;           /* "error.phase": the phase that failed; NULL without error */
    const char *error_message;         /* "error.message"; NULL without error */
    int error_status;                  /* the CORRAL_E* status behind the error ("error.status" names it) */
    int status;                        /* corral_rollout_run()'s return value: 0 unless an infrastructure
                                          failure or a cancel ended the rollout, else its status */
    const struct corral_rollout_timing *timings; /* "timings_ms": the phases that ran, in order */
    size_t n_timings;
    int64_t total_ms;                  /* "timings_ms.total" */
    const char *json;                  /* the RolloutResult JSON document (see README), rendered once
                                          from these fields and the records of commands, events and
                                          the transcript */
    size_t json_len;
    unsigned attempt;                  /* "attempt": the options' attempt, from 0 */
    const char *task_digest;           /* "task_digest" (corral_task_digest()); NULL when the task did
                                          not load */
    const char *dataset_source;        /* "dataset.source" as given; NULL when not from a dataset */
    const char *dataset_name;          /* "dataset.name" (registry datasets); may be NULL */
    const char *dataset_version;       /* "dataset.version" (registry datasets); may be NULL */
    const char *dataset_commit;        /* "dataset.commit" (git datasets); may be NULL */
    const char *artifacts_dir;         /* "artifacts.dir": where /logs was copied; NULL when not asked */
    const char *artifacts_error;       /* "artifacts.error": what could not be copied; may be NULL */
    const char *egress;                /* "egress": the egress proxy's decisions as a JSON array
                                          (docs/egress.md); NULL when the rollout had no policy */
    /* "attempts": every try of this rollout when its batch retries
     * (corral_batch_options.retries > 0), the last one being this result;
     * NULL and 0 otherwise. */
    const struct corral_rollout_try *tries;
    size_t n_tries;
};

/* Run one rollout.  Always returns a RolloutResult JSON document in
 * *result_json (malloc'ed; caller frees), also when the rollout failed: its
 * "error" says what failed and its class ("infrastructure", "agent",
 * "task").  The return value is 0 when the rollout ran to the end (whatever
 * the reward), or the status of the infrastructure failure
 * (CORRAL_ECANCELED when cancelled).  Cancellation: options->cancel, or
 * call->cancel when set (it wins); both are read through `call`. */
int corral_rollout_run(corral_ctx *ctx, const struct corral_rollout_options *options, char **result_json,
                       struct corral_call *call);

/* corral_rollout_run() with the typed outcome: *result is the caller's to
 * free with corral_rollout_result_free(); its json is the document
 * corral_rollout_run() would return (NULL only when out of memory).
 * *result is NULL when the options are unusable or memory ran out (the
 * status and `call` say which).  Same return value. */
int corral_rollout_run_result(corral_ctx *ctx, const struct corral_rollout_options *options,
                              struct corral_rollout_result **result, struct corral_call *call);
/* Free a result of corral_rollout_run_result(); NULL is a no-op. */
void corral_rollout_result_free(struct corral_rollout_result *result);

/* ---- Batches: many rollouts in one process ------------------------------------- */

/* How a batch runs.  Caller-owned; read during corral_batch_run(). */
struct corral_batch_options {
    size_t struct_size;
    unsigned concurrency;              /* rollouts in flight at once; 0 = 1 */
    const volatile int *cancel;        /* set to stop: no new rollout starts, running ones
                                          are cancelled and cleaned up */
    int pretty;                        /* results as indented JSON; default one line each */
    /* Called once per rollout that ran, in the order they finish, never two
     * at once (from the worker thread that ran it): `index` into the
     * rollouts array, the RolloutResult JSON (owned by the batch, valid
     * during the call) and corral_rollout_run()'s return value. */
    void (*on_result)(void *ud, size_t index, const char *result_json, int status);
    void *ud;
    /* The same report typed (result owned by the batch, valid during the
     * call; result->json is what on_result gets).  When set, on_result is
     * not called. */
    void (*on_rollout_result)(void *ud, size_t index, const struct corral_rollout_result *result);
    /* Retries (docs/batches.md): a rollout whose error class is in
     * retry_on runs again, up to `retries` more times, after a backoff of
     * retry_backoff_ms (0: 1000) doubled for each try and jittered
     * (uniform in its upper half), at most 60 s; a cancel ends the wait.
     * retry_on is a mask of 1u << enum corral_rollout_error; 0 means
     * infrastructure only.  A cancelled rollout is never retried, and every
     * try's sandbox is destroyed (keep_sandbox with retries is refused).
     * The result reported is the last try's, with every try in "attempts". */
    unsigned retries;
    unsigned retry_on;
    int64_t retry_backoff_ms;
};

/* Run n rollouts, up to bo->concurrency at a time, on threads of this
 * process.  Every rollout that calls a model and names no gate of its own
 * (options.gate NULL) goes through one gate the batch starts (unix socket
 * in a private temp dir, and options.gate_listen when given) and stops at
 * the end: those rollouts must agree on model_name, gate_listen and
 * gate_url (else CORRAL_EINVAL before anything runs).  A rollout's own
 * `cancel` is replaced by the batch's when it has none.  The batch's
 * cancel flag is call->cancel when set, else bo->cancel: once set, no new
 * rollout starts.
 * Returns 0 when every rollout ran (whatever its result), CORRAL_ECANCELED
 * when a cancel left some unstarted (they get no result), or the status of
 * what kept the batch from starting (bad options, the gate), with a
 * message in `call`.  The caller owns `rollouts`. */
int corral_batch_run(corral_ctx *ctx, const struct corral_rollout_options *rollouts, size_t n,
                     const struct corral_batch_options *bo, struct corral_call *call);

/* ---- Shards: one slice of a batch split across processes ------------------------ */

/* The shard, from 0 to count-1, of the pair (task_digest, attempt) in a
 * batch split into `count` (docs/batches.md "Shards"): the first 8 bytes of
 * SHA-256 over "DIGEST#ATTEMPT" as a big-endian number, modulo count.  It
 * depends on the pair only, not on the order tasks were given in; a count
 * of 0 or 1 puts every pair in shard 0. */
unsigned corral_batch_shard_of(const char *task_digest, unsigned attempt, unsigned count);

/* The shard a process is, from `spec`: "I/N" (0 <= I < N <= 100000),
 * "auto" (Slurm's SLURM_ARRAY_TASK_ID with SLURM_ARRAY_TASK_COUNT, or with
 * SLURM_ARRAY_TASK_MIN/MAX) or "auto/N" (also Kubernetes Indexed Jobs'
 * JOB_COMPLETION_INDEX, whose count the environment does not hold).  Fills
 * *index, *count and `source` (cap bytes: where they came from, for a
 * progress line).  0, or CORRAL_EINVAL with a one-line reason in `call`. */
int corral_batch_shard_parse(const char *spec, unsigned *index, unsigned *count, char *source, size_t cap,
                             struct corral_call *call);

#ifdef __cplusplus
}
#endif
#endif /* CORRAL_ROLLOUT_H */
